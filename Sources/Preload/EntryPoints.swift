import CPreload
#if canImport(Glibc)
import Glibc
#endif
import Cases
import Foundation
import SimulatedBackend

// The C interposer's calls into the simulator (CShims/preload/uc_preload.c), under its lock. Each returns
// -1 with *err set on failure, as the syscall would.

/// At library load: the session, made before the program forks (0; a profile that does not load says so once).
@_cdecl("ucsim_init")
public func ucsimInit() -> Int32 {
    if ProcessInfo.processInfo.environment["UAPI_SIM_PROFILE"] == nil { return 0 }
    return Session.get() == nil ? -1 : 0
}

/// Whether `path` names a node the simulator serves (no state is touched: any thread may ask).
@_cdecl("ucsim_claims")
public func ucsimClaims(_ path: UnsafePointer<CChar>) -> Int32 {
    let p = String(cString: path)
    return p == DeviceNodes.iommu || p == DeviceNodes.tsmDevice || p == DeviceNodes.tsmDeviceNoKvm ? 1 : 0
}

@_cdecl("ucsim_open")
public func ucsimOpen(_ path: UnsafePointer<CChar>, _ cloexec: Int32, _ err: UnsafeMutablePointer<Int32>) -> Int32 {
    guard let s = Session.get() else { err.pointee = Errno.ENOENT.rawValue; return -1 }
    let r = s.kernel.open(String(cString: path), cloexec: cloexec != 0)
    if r.failed { err.pointee = r.errno.rawValue; return -1 }
    return Int32(r.value)
}

@_cdecl("ucsim_close")
public func ucsimClose(_ fd: Int32) -> Int32 {
    guard let s = Session.current else { return 0 }
    _ = s.kernel.close(fd)
    s.signalled.remove(fd)
    s.syncReadiness()
    return 0
}

@_cdecl("ucsim_dup")
public func ucsimDup(_ fd: Int32, _ newfd: Int32) -> Int32 {
    guard let s = Session.current else { return 0 }
    s.kernel.duplicate(fd, as: newfd)
    if s.signalled.contains(fd) { s.signalled.insert(newfd) }  // the eventfd's counter came with the dup
    return 0
}

@_cdecl("ucsim_ioctl")
public func ucsimIoctl(_ fd: Int32, _ request: UInt, _ arg: UnsafeMutableRawPointer?,
                       _ err: UnsafeMutablePointer<Int32>) -> Int {
    guard let s = Session.current else { err.pointee = Errno.EBADF.rawValue; return -1 }
    let addr = UInt64(UInt(bitPattern: arg))
    let r: SyscallResult
    if let n = s.kernel.ioctl(fd, UInt64(request), number: addr) {
        r = n
    } else {
        var bytes = IoctlArgument.copyIn(addr, s.own)
        let before = bytes
        r = s.kernel.ioctl(fd, UInt64(request), &bytes, memory: s.memory)
        if let b = bytes, let before, !IoctlArgument.copyOut(addr, before, b, s.own) {
            err.pointee = Errno.EFAULT.rawValue
            return -1
        }
    }
    s.syncReadiness()
    if s.trace { s.log("ioctl(\(fd), 0x\(String(request, radix: 16))) = \(r)") }
    if r.failed { err.pointee = r.errno.rawValue; return -1 }
    return r.value
}

@_cdecl("ucsim_read")
public func ucsimRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer?, _ count: Int,
                      _ err: UnsafeMutablePointer<Int32>) -> Int {
    guard let s = Session.current else { err.pointee = Errno.EBADF.rawValue; return -1 }
    var out: [UInt8] = []
    let r = s.kernel.read(fd, into: &out, count: count)
    s.syncReadiness()
    if r.failed { err.pointee = r.errno.rawValue; return -1 }
    if !out.isEmpty && s.memory.space?.write(UInt64(UInt(bitPattern: buf)), out) != true {
        err.pointee = Errno.EFAULT.rawValue
        return -1
    }
    return r.value
}

@_cdecl("ucsim_write")
public func ucsimWrite(_ fd: Int32, _ buf: UnsafeRawPointer?, _ count: Int,
                       _ err: UnsafeMutablePointer<Int32>) -> Int {
    guard let s = Session.current else { err.pointee = Errno.EBADF.rawValue; return -1 }
    guard let bytes = s.memory.read(UInt64(UInt(bitPattern: buf)), count) else {
        err.pointee = Errno.EFAULT.rawValue
        return -1
    }
    let r = s.kernel.write(fd, bytes)
    s.syncReadiness()
    if r.failed { err.pointee = r.errno.rawValue; return -1 }
    return r.value
}

@_cdecl("ucsim_mmap")
public func ucsimMmap(_ fd: Int32, _ addr: UnsafeMutableRawPointer?, _ length: Int, _ prot: Int32, _ flags: Int32,
                      _ offset: Int, _ err: UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer? {
    guard let s = Session.current else { err.pointee = Errno.ENODEV.rawValue; return nil }
    let shared = flags & MAP_SHARED != 0, exec = prot & PROT_EXEC != 0
    switch s.kernel.mmapRegion(fd, offset: UInt64(offset), length: UInt64(length), shared: shared, exec: exec) {
    case .failed(let e):
        err.pointee = e.rawValue
        return nil
    case .region(let bytes, let hold):
        // Shared anonymous memory holds the region's bytes: what the program writes there stays there.
        let fixed = flags & MAP_FIXED
        guard let p = uc_real_mmap(addr, length, prot | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | fixed, -1, 0),
              p != MAP_FAILED else {
            hold.release()
            err.pointee = Errno.ENOMEM.rawValue
            return nil
        }
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: min($0.count, length)) }
        if prot & PROT_WRITE == 0 { mprotect(p, length, prot) }
        s.regions.append((UInt(bitPattern: p), length, hold))
        return p
    }
}

/// After munmap(2): a region wholly or partly unmapped releases its owner.
@_cdecl("ucsim_munmap")
public func ucsimMunmap(_ addr: UnsafeMutableRawPointer?, _ length: Int) {
    guard let s = Session.current, !s.regions.isEmpty else { return }
    let start = UInt(bitPattern: addr), end = start &+ UInt(length)
    s.regions.removeAll { r in
        let hit = r.start < end && start < r.start + UInt(r.length)
        if hit { r.hold.release() }
        return hit
    }
}

/// What the kernel would copy of an ioctl's argument. Every iommufd and vfio struct starts with its size
/// (`size`, `argsz`): the readable bytes of what it claims, or of a floor that covers every struct's fixed part
/// (vfio copies minsz whatever argsz says), at most a MiB (a larger claim reads as what is there, so the
/// simulator's copy fails where the kernel's would).
enum IoctlArgument {
    static let limit = 1 << 20, floor = 512

    static func copyIn(_ addr: UInt64, _ space: AddressSpace) -> [UInt8]? {
        guard addr != 0 else { return nil }
        let head = space.readPrefix(addr, 4)
        guard head.count == 4 else { return head }
        let size = Int(head[0]) | Int(head[1]) << 8 | Int(head[2]) << 16 | Int(head[3]) << 24
        return space.readPrefix(addr, max(floor, min(size, limit)))
    }

    /// Write back what the simulator changed, and only that (the floor may reach past the caller's struct).
    static func copyOut(_ addr: UInt64, _ before: [UInt8], _ after: [UInt8], _ space: AddressSpace) -> Bool {
        let n = min(before.count, after.count)
        guard let first = (0..<n).first(where: { before[$0] != after[$0] }) else { return true }
        let last = (0..<n).last { before[$0] != after[$0] }!
        return space.write(addr + UInt64(first), Array(after[first...last]))
    }
}
