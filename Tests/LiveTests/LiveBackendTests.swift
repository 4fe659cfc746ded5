import Cases
import Foundation
import LiveBackend
import Testing

/// Real syscalls on device nodes every Linux machine has: they prove the
/// shim's errno reaches the case unchanged and the bookkeeping is right.
@Suite struct LiveBackendTests {
    static let probe = KernelProbe(release: "test", machine: "x86_64", iommuNode: false, openError: nil, ioctls: [],
                                   mockAvailable: false, capabilities: [], vfioDevices: [], tsmProfiles: [])

    @Test func errnoFromRealCallsReachesTheCase() {
        let b = LiveBackend(probe: Self.probe, allowDevices: false)
        #expect(b.open("/nonexistent/uapi-conform") == .fail(Errno.ENOENT))
        let fd = b.open("/dev/null")
        #expect(!fd.failed)
        var arg: [UInt8]? = [UInt8](repeating: 0, count: 8)
        // /dev/null has no ioctls: the kernel says ENOTTY, as for an absent iommufd ioctl.
        #expect(b.ioctl(Int32(fd.value), 0x3B80, &arg, memory: UserMemory(real: true)) == .fail(Errno.ENOTTY))
        #expect(b.openDescriptors == [Int32(fd.value)])
        #expect(b.close(Int32(fd.value)) == .ok())
        #expect(b.openDescriptors.isEmpty)
        #expect(b.close(Int32(fd.value)) == .fail(Errno.EBADF))
    }

    @Test func vfioNodesNeedExplicitPermission() {
        let b = LiveBackend(probe: Self.probe, allowDevices: false)
        #expect(b.open("/dev/vfio/devices/vfio0") == .fail(Errno.EACCES))
        #expect(!b.capabilityProbe.tsmDevice)
    }

    @Test func realUserMemoryHoldsRealBytes() throws {
        let m = UserMemory(real: true)
        let addr = m.allocate([1, 2, 3, 4])
        let p = try #require(UnsafeMutablePointer<UInt8>(bitPattern: UInt(addr)))
        #expect(p[2] == 3)
        p[2] = 9   // what a kernel writing the buffer would do
        #expect(m.bytes(at: addr) == [1, 2, 9, 4])
        #expect(m.read(addr + 1, 2) == [2, 9])
        #expect(m.write(addr + 3, [7]))
        #expect(p[3] == 7)
        // Past the buffer the rest of its page reads as 0, as a kernel sees it; the page after is not mapped.
        #expect(m.read(addr + 2, 4) == [9, 7, 0, 0])
        #expect(m.read(addr + 4094, 4) == nil)   // into the guard page: EFAULT
    }

    @Test func absentIoctlsBecomeENOTTYSkips() {
        var probe = Self.probe
        probe.iommuNode = true
        probe.ioctls = [.init(name: "IOMMU_VDEVICE_TSM_REQ", request: 0x3B96, present: false, errno: Errno.ENOTTY, minSize: nil)]
        let b = LiveBackend(probe: probe, allowDevices: false)
        #expect(b.capabilityProbe.absentIoctls == ["IOMMU_VDEVICE_TSM_REQ"])
    }

    @Test func probeOnThisMachineSaysWhatItFound() {
        let p = KernelProbe.run(profiles: [])
        if !p.iommuNode { #expect(p.summaryLine.hasPrefix("no /dev/iommu")) }
        #expect(!p.release.isEmpty)
    }
}
