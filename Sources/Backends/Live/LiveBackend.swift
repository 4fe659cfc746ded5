import CShims
import Cases
import Foundation

/// The real kernel: open/ioctl/close through the C shim, which captures
/// errno right after each call. Pointer fields carry real addresses
/// (`needsRealUserMemory`). It keeps count of what it opened so a run can
/// prove it left nothing behind, and it refuses vfio device nodes unless the
/// user allowed touching devices: cases on real devices could bind, reset or
/// power-manage hardware someone else uses.
package final class LiveBackend: Backend, CapabilityProviding {
    package var name: String { "live" }
    package var needsRealUserMemory: Bool { true }
    package let capabilityProbe: CapabilityProbe
    package let allowDevices: Bool
    package private(set) var openDescriptors: Set<Int32> = []

    package init(probe: KernelProbe, allowDevices: Bool) {
        self.allowDevices = allowDevices
        // vfio0 serves the vfio cases when the user allows opening it. No
        // kernel reports a TSM-capable device yet, so cases that need one stay skipped.
        let pci = allowDevices && probe.vfioDevices.contains("vfio0")
        var c = CapabilityProbe(mockDevice: probe.mockAvailable && probe.mockBindError == nil, pciDevice: pci,
                                tsmDevice: false, capabilities: probe.capabilities,
                                absentIoctls: Set(probe.ioctls.filter { !$0.present }.map(\.name)))
        c.mockUnusable = probe.mockAvailable ? probe.mockBindError.map(KernelProbe.mockUnusable) : nil
        capabilityProbe = c
    }

    package func open(_ path: String) -> SyscallResult {
        if path.hasPrefix("/dev/vfio/") && !allowDevices { return .fail(Errno.EACCES) }
        let r = uc_open(path, O_RDWR)
        if r.ret < 0 { return .fail(Errno(rawValue: r.err)) }
        openDescriptors.insert(Int32(r.ret))
        return .ok(Int(r.ret))
    }

    package func ioctl(_ fd: Int32, _ request: UInt64, _ arg: inout [UInt8]?, memory: UserMemory) -> SyscallResult {
        // The kernel writes the struct back in place; no argument is a NULL pointer.
        let r = arg?.withUnsafeMutableBytes { uc_ioctl(fd, UInt(request), $0.baseAddress) }
            ?? uc_ioctl(fd, UInt(request), nil)
        if r.ret < 0 { return .fail(Errno(rawValue: r.err)) }
        // Some ioctls return a new fd (dma-buf export, fault queue via the
        // struct); a positive value that is a descriptor is tracked by the
        // runner's cleanup, not here.
        return .ok(Int(r.ret))
    }

    package func read(_ fd: Int32, count: Int) -> SyscallResult {
        var buf = [UInt8](repeating: 0, count: max(count, 1))
        let r = buf.withUnsafeMutableBytes { uc_read(fd, $0.baseAddress, count) }
        return r.ret < 0 ? .fail(Errno(rawValue: r.err)) : .ok(Int(r.ret))
    }

    package func write(_ fd: Int32, _ bytes: [UInt8]) -> SyscallResult {
        let r = bytes.withUnsafeBytes { uc_write(fd, $0.baseAddress, bytes.count) }
        return r.ret < 0 ? .fail(Errno(rawValue: r.err)) : .ok(Int(r.ret))
    }

    package func close(_ fd: Int32) -> SyscallResult {
        let r = uc_close(fd)
        openDescriptors.remove(fd)
        return r.ret < 0 ? .fail(Errno(rawValue: r.err)) : .ok()
    }
}
