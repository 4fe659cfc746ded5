#if canImport(Glibc)
import Glibc
#endif

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
///
/// Both kinds are laid out alike, so a kernel sees the same thing in either:
/// each buffer starts on a 2 MiB boundary (the IOVA iommufd picks follows the
/// address's alignment), the pages it covers are readable and writable (bytes
/// past its end up to the page boundary read as 0), and the page after them
/// is not mapped (a real buffer is followed by a PROT_NONE guard).
package final class UserMemory {
    /// Each buffer's address, its size as asked, and its mapped bytes (whole pages).
    package private(set) var buffers: [(base: UInt64, size: Int, bytes: [UInt8])] = []
    /// Simulated buffers get addresses from here up, a guard page apart.
    /// The low 32 bits are not 0, as a real address's mostly are not: a pointer that lands in a 32-bit
    /// field of another union member reads as a value there too (seen by the fuzzer on 7.2).
    private var nextBase: UInt64 = 0x7f3a_5c00_0000
    /// Real buffers: the whole mapping (guard and alignment slack included).
    private var real: [(start: UnsafeMutableRawPointer, length: Int)] = []
    package let isReal: Bool
    /// A whole address space is the user's memory (sim-exec's preload: the process's own): any mapped address
    /// is valid, and an unmapped one is EFAULT, not a crash.
    package let space: AddressSpace?

    /// Buffer starts are aligned to this (the largest IOVA alignment iommufd keeps).
    package static let alignment: UInt64 = 1 << 21
    package static let page = 4096

    package init(real: Bool = false) { isReal = real; space = nil }
    package init(space: AddressSpace) { isReal = true; self.space = space }

    deinit { for r in real { _ = munmap(r.start, r.length) } }

    /// The mapped extent of a buffer of `count` bytes: whole pages.
    static func extent(_ count: Int) -> Int { max((count + page - 1) / page * page, page) }

    /// Allocate a buffer; returns its (simulated or real) user address.
    package func allocate(_ bytes: [UInt8]) -> UInt64 {
        let mapped = UserMemory.extent(bytes.count)
        if isReal {
            guard let p = UserMemory.map(mapped) else { return 0 }
            bytes.withUnsafeBytes { if let b = $0.baseAddress { p.base.copyMemory(from: b, byteCount: bytes.count) } }
            real.append((p.start, p.length))
            let base = UInt64(UInt(bitPattern: p.base))
            buffers.append((base, bytes.count, bytes + [UInt8](repeating: 0, count: mapped - bytes.count)))
            return base
        }
        let base = nextBase
        let next = base + UInt64(mapped) + UInt64(UserMemory.page)
        nextBase = (next + UserMemory.alignment - 1) / UserMemory.alignment * UserMemory.alignment
        buffers.append((base, bytes.count, bytes + [UInt8](repeating: 0, count: mapped - bytes.count)))
        return base
    }

    /// Where a real buffer reserved at `start` begins: the next 2 MiB boundary, but never one whose low 32 bits
    /// are 0, as for simulated buffers (nextBase): a pointer read through another union member (a flags word,
    /// an id) must not be 0 on one side only (uapi-fuzz-exec's reserve() does the same).
    package static func base(from start: UInt64) -> UInt64 {
        let aligned = (start + alignment - 1) / alignment * alignment
        return aligned & 0xffff_ffff == 0 ? aligned + alignment : aligned
    }

    /// `mapped` bytes, read-write, at a 2 MiB boundary, followed by an
    /// unmapped page: reserve it all PROT_NONE, then open up the buffer.
    private static func map(_ mapped: Int) -> (base: UnsafeMutableRawPointer, start: UnsafeMutableRawPointer,
                                                length: Int)? {
        let length = mapped + page + 2 * Int(alignment)
        guard let start = mmap(nil, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              start != MAP_FAILED else { return nil }
        let aligned = UInt(base(from: UInt64(UInt(bitPattern: start))))
        guard let base = UnsafeMutableRawPointer(bitPattern: aligned),
              mprotect(base, mapped, PROT_READ | PROT_WRITE) == 0 else {
            _ = munmap(start, length)
            return nil
        }
        return (base, start, length)
    }

    /// The current bytes of buffer `i` (its asked size): for real memory, what the kernel left there.
    private func contents(_ i: Int) -> [UInt8] {
        guard isReal, let p = UnsafeRawPointer(bitPattern: UInt(buffers[i].base)) else {
            return Array(buffers[i].bytes.prefix(buffers[i].size))
        }
        return Array(UnsafeRawBufferPointer(start: p, count: buffers[i].size))
    }

    /// Index of the buffer holding [addr, addr+count), if one does.
    private func owner(_ addr: UInt64, _ count: Int) -> Int? {
        buffers.indices.first { i in
            addr >= buffers[i].base && addr - buffers[i].base <= UInt64(buffers[i].bytes.count)
                && UInt64(count) <= UInt64(buffers[i].bytes.count) - (addr - buffers[i].base)
        }
    }

    /// Bytes at [addr, addr+count) if they lie inside one buffer, else nil (EFAULT).
    /// Whether [addr, addr+count) lies in one buffer (no copy is made: count may be huge).
    package func owns(_ addr: UInt64, _ count: UInt64) -> Bool {
        if let space { return space.mapped(addr, count) }
        return count <= UInt64(Int.max) && owner(addr, Int(count)) != nil
    }

    package func read(_ addr: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0 else { return nil }
        if let space { return space.read(addr, count) }
        guard let i = owner(addr, count) else { return count == 0 && addr != 0 ? [] : nil }
        let o = Int(addr - buffers[i].base)
        if isReal, let p = UnsafeRawPointer(bitPattern: UInt(addr)) {
            return Array(UnsafeRawBufferPointer(start: p, count: count))
        }
        return Array(buffers[i].bytes[o..<o + count])
    }

    /// Write into a buffer, as copy_to_user does: false (EFAULT) if the range is not owned, after writing the
    /// part of it that is (x86's copy_to_user copies up to the faulting byte; seen by the fuzzer on 7.2).
    @discardableResult
    package func write(_ addr: UInt64, _ data: [UInt8]) -> Bool {
        if let space { return space.write(addr, data) }
        guard !data.isEmpty else { return true }
        guard let i = owner(addr, 1) else { return false }
        let o = Int(addr - buffers[i].base), n = min(data.count, buffers[i].bytes.count - o)
        if isReal, let p = UnsafeMutableRawPointer(bitPattern: UInt(addr)) {
            data.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: n) } }
        } else {
            buffers[i].bytes.replaceSubrange(o..<o + n, with: data.prefix(n))
        }
        return n == data.count
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
    package static let EMFILE = Errno(rawValue: 24)

    /// The spelling of every static member above, as reports print it.
    package static let known: [Errno: String] = [
        .EPERM: "EPERM", .ENOENT: "ENOENT", .EINTR: "EINTR", .EIO: "EIO", .ENXIO: "ENXIO", .E2BIG: "E2BIG",
        .EBADF: "EBADF", .ENOMEM: "ENOMEM", .EACCES: "EACCES", .EFAULT: "EFAULT", .EBUSY: "EBUSY", .EEXIST: "EEXIST",
        .ENODEV: "ENODEV", .EINVAL: "EINVAL", .ENOTTY: "ENOTTY", .ENOSPC: "ENOSPC", .ERANGE: "ERANGE",
        .EOVERFLOW: "EOVERFLOW", .EBADFD: "EBADFD", .EMSGSIZE: "EMSGSIZE", .EOPNOTSUPP: "EOPNOTSUPP",
        .EADDRINUSE: "EADDRINUSE", .EBADE: "EBADE", .ESPIPE: "ESPIPE", .EMFILE: "EMFILE",
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
