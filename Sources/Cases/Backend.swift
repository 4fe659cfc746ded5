/// The syscall boundary every backend implements. A case builds its struct
/// as bytes and sends `(request, bytes)`; the simulated kernel decodes the
/// same bytes the live kernel would receive.
package protocol Backend: AnyObject {
    /// A short name for reports: "sim", "live".
    var name: String { get }
    /// open(2). Returns a descriptor or an errno.
    func open(_ path: String) -> SyscallResult
    /// ioctl(2) on `fd`. `arg` is the argument buffer; the kernel may write it
    /// back. `arg == nil` passes a NULL pointer. Pointers inside the struct
    /// (`*_uptr`) refer to `UserMemory` buffers the case owns.
    func ioctl(_ fd: Int32, _ request: UInt64, _ arg: inout [UInt8]?, memory: UserMemory) -> SyscallResult
    /// close(2).
    func close(_ fd: Int32) -> SyscallResult
    /// read(2) of `count` bytes into a buffer the backend owns; the byte count read.
    func read(_ fd: Int32, count: Int) -> SyscallResult
    /// write(2) of `bytes`; the byte count written.
    func write(_ fd: Int32, _ bytes: [UInt8]) -> SyscallResult
    /// True when `*_uptr` fields must hold real addresses (a real kernel
    /// reads them); the simulator resolves its own fake ones.
    var needsRealUserMemory: Bool { get }
}

extension Backend {
    package var needsRealUserMemory: Bool { false }
    /// A backend without files to read answers as for a descriptor it has not opened.
    package func read(_ fd: Int32, count: Int) -> SyscallResult { .fail(.EBADF) }
    package func write(_ fd: Int32, _ bytes: [UInt8]) -> SyscallResult { .fail(.EBADF) }
}

/// Return value or errno, as the C shim captures them.
package struct SyscallResult: Sendable, Equatable, CustomStringConvertible {
    package var value: Int
    /// Meaningful only when `failed`; `Errno(rawValue: 0)` on success.
    package var errno: Errno

    package init(value: Int, errno: Errno) { self.value = value; self.errno = errno }
    package static func ok(_ v: Int = 0) -> SyscallResult { SyscallResult(value: v, errno: Errno(rawValue: 0)) }
    package static func fail(_ e: Errno) -> SyscallResult { SyscallResult(value: -1, errno: e) }

    package var failed: Bool { value < 0 }
    package var description: String { failed ? errno.name : "OK(\(value))" }
}

/// User buffers a case hands to the kernel through `*_uptr` fields. The
/// simulated backend resolves addresses here; for a live backend the buffers
/// are real memory and the addresses real pointers, so the kernel reads and
/// writes the same bytes.
package final class UserMemory {
    package private(set) var buffers: [(base: UInt64, bytes: [UInt8])] = []
    /// Simulated buffers get page-aligned addresses from here up, a guard page apart.
    private var nextBase: UInt64 = 0x7f00_0000_0000
    private var real: [UnsafeMutableRawPointer] = []
    package let isReal: Bool

    package init(real: Bool = false) { isReal = real }

    deinit { for p in real { p.deallocate() } }

    /// Allocate a buffer; returns its (simulated or real) user address.
    package func allocate(_ bytes: [UInt8]) -> UInt64 {
        if isReal {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 4096)
            bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) } }
            real.append(p)
            let base = UInt64(UInt(bitPattern: p))
            buffers.append((base, bytes))
            return base
        }
        let base = nextBase
        nextBase += UInt64((bytes.count + 0xfff) & ~0xfff) + 0x1000
        buffers.append((base, bytes))
        return base
    }

    /// The current bytes of buffer `i`: for real memory, what the kernel left there.
    private func contents(_ i: Int) -> [UInt8] {
        guard isReal, let p = UnsafeRawPointer(bitPattern: UInt(buffers[i].base)) else { return buffers[i].bytes }
        return Array(UnsafeRawBufferPointer(start: p, count: buffers[i].bytes.count))
    }

    /// Index of the buffer holding [addr, addr+count), if one does.
    private func owner(_ addr: UInt64, _ count: Int) -> Int? {
        buffers.indices.first { i in
            addr >= buffers[i].base && addr + UInt64(count) <= buffers[i].base + UInt64(buffers[i].bytes.count)
        }
    }

    /// Bytes at [addr, addr+count) if they lie inside one buffer, else nil (EFAULT).
    package func read(_ addr: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0 else { return nil }
        guard let i = owner(addr, count) else { return count == 0 && addr != 0 ? [] : nil }
        let o = Int(addr - buffers[i].base)
        return Array(contents(i)[o..<o + count])
    }

    /// Write into a buffer; false (EFAULT) if the range is not owned.
    @discardableResult
    package func write(_ addr: UInt64, _ data: [UInt8]) -> Bool {
        guard let i = owner(addr, data.count) else { return data.isEmpty }
        let o = Int(addr - buffers[i].base)
        if isReal, let p = UnsafeMutableRawPointer(bitPattern: UInt(addr)) {
            data.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: data.count) } }
        } else {
            buffers[i].bytes.replaceSubrange(o..<o + data.count, with: data)
        }
        return true
    }

    /// The buffer's current bytes (for real memory, what the kernel left there).
    package func bytes(at base: UInt64) -> [UInt8]? {
        buffers.indices.first { buffers[$0].base == base }.map(contents)
    }
}

/// A Linux errno value (asm-generic numbering), like swift-system's `Errno`:
/// a typed wrapper so an errno cannot be mixed up with a return value or a
/// file descriptor. Unknown values are representable (a live kernel may
/// answer anything) and spell as `errno N`.
package struct Errno: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    package static let EPERM = Errno(rawValue: 1), ENOENT = Errno(rawValue: 2), EINTR = Errno(rawValue: 4)
    package static let EIO = Errno(rawValue: 5), ENXIO = Errno(rawValue: 6), E2BIG = Errno(rawValue: 7)
    package static let EBADF = Errno(rawValue: 9), ENOMEM = Errno(rawValue: 12), EACCES = Errno(rawValue: 13)
    package static let EFAULT = Errno(rawValue: 14), EBUSY = Errno(rawValue: 16), EEXIST = Errno(rawValue: 17)
    package static let ENODEV = Errno(rawValue: 19), EINVAL = Errno(rawValue: 22), ENOTTY = Errno(rawValue: 25)
    package static let ENOSPC = Errno(rawValue: 28), ERANGE = Errno(rawValue: 34), EOVERFLOW = Errno(rawValue: 75)
    package static let EBADFD = Errno(rawValue: 77), EMSGSIZE = Errno(rawValue: 90), EOPNOTSUPP = Errno(rawValue: 95)
    package static let EADDRINUSE = Errno(rawValue: 98), EBADE = Errno(rawValue: 52), ESPIPE = Errno(rawValue: 29)

    /// The spelling of every static member above, as reports print it.
    package static let known: [Errno: String] = [
        .EPERM: "EPERM", .ENOENT: "ENOENT", .EINTR: "EINTR", .EIO: "EIO", .ENXIO: "ENXIO", .E2BIG: "E2BIG",
        .EBADF: "EBADF", .ENOMEM: "ENOMEM", .EACCES: "EACCES", .EFAULT: "EFAULT", .EBUSY: "EBUSY", .EEXIST: "EEXIST",
        .ENODEV: "ENODEV", .EINVAL: "EINVAL", .ENOTTY: "ENOTTY", .ENOSPC: "ENOSPC", .ERANGE: "ERANGE",
        .EOVERFLOW: "EOVERFLOW", .EBADFD: "EBADFD", .EMSGSIZE: "EMSGSIZE", .EOPNOTSUPP: "EOPNOTSUPP",
        .EADDRINUSE: "EADDRINUSE", .EBADE: "EBADE", .ESPIPE: "ESPIPE",
    ]

    /// "EINVAL", or "errno 123" for a value the table does not name.
    package var name: String { Errno.known[self] ?? "errno \(rawValue)" }
    package var description: String { name }

    /// The errno spelt `name` ("EINVAL"); nil for a name the table lacks.
    package init?(name: String) {
        guard let e = Errno.known.first(where: { $0.value == name })?.key else { return nil }
        self = e
    }
}
