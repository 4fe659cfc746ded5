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
    /// True when `*_uptr` fields must hold real addresses (a real kernel
    /// reads them); the simulator resolves its own fake ones.
    var needsRealUserMemory: Bool { get }
}

extension Backend {
    package var needsRealUserMemory: Bool { false }
}

/// Return value or errno, as the C shim captures them.
package struct SyscallResult: Sendable, Equatable, CustomStringConvertible {
    package var value: Int
    package var errno: Int32

    package init(value: Int, errno: Int32) { self.value = value; self.errno = errno }
    package static func ok(_ v: Int = 0) -> SyscallResult { SyscallResult(value: v, errno: 0) }
    package static func fail(_ e: Int32) -> SyscallResult { SyscallResult(value: -1, errno: e) }

    package var failed: Bool { value < 0 }
    package var description: String { failed ? Errno.name(errno) : "OK(\(value))" }
}

/// User buffers a case hands to the kernel through `*_uptr` fields. The
/// simulated backend resolves addresses here; for a live backend the buffers
/// are real memory and the addresses real pointers, so the kernel reads and
/// writes the same bytes.
package final class UserMemory {
    package private(set) var buffers: [(base: UInt64, bytes: [UInt8])] = []
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
        buffers.indices.first { addr >= buffers[$0].base && addr + UInt64(count) <= buffers[$0].base + UInt64(buffers[$0].bytes.count) }
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

/// Linux errno numbers (asm-generic; the ones the contract uses).
package enum Errno {
    package static let EPERM: Int32 = 1, ENOENT: Int32 = 2, EINTR: Int32 = 4, EIO: Int32 = 5, ENXIO: Int32 = 6
    package static let E2BIG: Int32 = 7, EBADF: Int32 = 9, ENOMEM: Int32 = 12, EACCES: Int32 = 13, EFAULT: Int32 = 14
    package static let EBUSY: Int32 = 16, EEXIST: Int32 = 17, ENODEV: Int32 = 19, EINVAL: Int32 = 22, ENOSPC: Int32 = 28
    package static let ENOTTY: Int32 = 25, ERANGE: Int32 = 34, EMSGSIZE: Int32 = 90, EOPNOTSUPP: Int32 = 95
    package static let EADDRINUSE: Int32 = 98, EOVERFLOW: Int32 = 75, EBADFD: Int32 = 77

    package static let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 9: "EBADF", 12: "ENOMEM",
        13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 25: "ENOTTY",
        28: "ENOSPC", 34: "ERANGE", 75: "EOVERFLOW", 77: "EBADFD", 90: "EMSGSIZE", 95: "EOPNOTSUPP", 98: "EADDRINUSE",
    ]
    package static func name(_ e: Int32) -> String { names[e] ?? "errno \(e)" }
    package static func number(_ name: String) -> Int32? { names.first { $0.value == name }?.key }
}
