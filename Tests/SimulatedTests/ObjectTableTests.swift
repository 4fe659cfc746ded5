import Cases
import Testing
@testable import SimulatedBackend

@Suite struct ObjectTableTests {
    @Test func idsStartAtOneAndZeroIsNeverValid() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        #expect(s.ioas(fd) == 1)
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": 0]).r == .fail(Errno.ENOENT))
    }

    @Test func usersGiveEBUSYAndReverseOrderTeardownWorks() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        let m = s.mock(fd, ioas)
        #expect(s.k.liveObjectCount == 4)
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": UInt64(ioas)]).r == .fail(Errno.EBUSY))
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": UInt64(m.hwpt)]).r == .fail(Errno.EBUSY))
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": UInt64(m.idev)]).r == .fail(Errno.EBUSY))
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": UInt64(m.stdev)]).r == .ok(0))
        // The auto HWPT went with its last device; the IOAS is free now.
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": UInt64(m.hwpt)]).r == .fail(Errno.ENOENT))
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": UInt64(ioas)]).r == .ok(0))
        #expect(s.k.liveObjectCount == 0)
    }

    @Test func viommuHeldByVdeviceAndTombstone() {
        let s = Sim("linux-7.2")
        let st = s.mockStack()
        #expect(s.call(st.ifd, "IOMMU_DESTROY", ["id": UInt64(st.viommu)]).r == .fail(Errno.EBUSY))
        // Destroying the selftest object unbinds the device and tombstones its vDEVICE.
        let stdev = UInt64(st.dev - 1)
        #expect(s.call(st.ifd, "IOMMU_DESTROY", ["id": stdev]).r == .ok(0))
        #expect(s.call(st.ifd, "IOMMU_DESTROY", ["id": UInt64(st.vdev)]).r == .fail(Errno.ENOENT))
        #expect(s.call(st.ifd, "IOMMU_DESTROY", ["id": UInt64(st.viommu)]).r == .ok(0))
        // The tombstoned id is not reused.
        let next = s.ioas(st.ifd)
        #expect(next != st.vdev)
    }

    @Test func failedCreationLeavesNoId() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        let before = s.k.liveObjectCount
        #expect(s.call(fd, "IOMMU_TEST_CMD", ["op": 2, "id": 42]).r == .fail(Errno.ENOENT))
        #expect(s.call(fd, "IOMMU_TEST_CMD", ["op": 99, "id": UInt64(ioas)]).r == .fail(Errno.EOPNOTSUPP))
        #expect(s.k.liveObjectCount == before)
        #expect(s.ioas(fd) == 2)
    }

    @Test func closeDestroysEverything() {
        let s = Sim()
        let st = s.stack()
        #expect(s.k.liveObjectCount(fd: st.ifd) >= 6)
        #expect(s.k.close(st.ifd) == .ok(0))
        #expect(s.k.liveObjectCount == 0)
        #expect(s.k.close(st.vfd) == .ok(0))
    }

    @Test func vdeviceEEXIST() {
        let s = Sim("linux-7.2")
        let st = s.mockStack()
        // Same device again.
        #expect(s.call(st.ifd, "IOMMU_VDEVICE_ALLOC", ["viommu_id": UInt64(st.viommu), "dev_id": UInt64(st.dev), "virt_id": 5]).r == .fail(Errno.EEXIST))
        // Same virt_id for another device.
        let m2 = s.mock(st.ifd, st.ioas)
        #expect(s.call(st.ifd, "IOMMU_VDEVICE_ALLOC", ["viommu_id": UInt64(st.viommu), "dev_id": UInt64(m2.idev), "virt_id": 0x99]).r == .fail(Errno.EEXIST))
        #expect(s.call(st.ifd, "IOMMU_VDEVICE_ALLOC", ["viommu_id": UInt64(st.viommu), "dev_id": UInt64(m2.idev), "virt_id": 0x9a]).r == .ok(0))
        #expect(s.call(st.ifd, "IOMMU_VDEVICE_ALLOC", ["viommu_id": 0, "dev_id": UInt64(m2.idev)]).r == .fail(Errno.ENOENT))
    }

    @Test func veventqSameTypeTwice() {
        let s = Sim("linux-7.2")
        let st = s.mockStack()
        let f: [String: UInt64] = ["viommu_id": UInt64(st.viommu), "type": 0xbeefbeef, "veventq_depth": 4]
        let r = s.call(st.ifd, "IOMMU_VEVENTQ_ALLOC", f)
        #expect(r.r == .ok(0))
        #expect(r.out["out_veventq_fd"]! > 2)
        #expect(s.call(st.ifd, "IOMMU_VEVENTQ_ALLOC", f).r == .fail(Errno.EEXIST))
        #expect(s.call(st.ifd, "IOMMU_VEVENTQ_ALLOC", f, size: 28).r == .fail(Errno.EEXIST))
        #expect(s.call(st.ifd, "IOMMU_VEVENTQ_ALLOC", ["viommu_id": UInt64(st.viommu), "type": 0xbeefbeef]).r == .fail(Errno.EINVAL))
    }

    @Test func hwptPtIdWrongTypeIsEINVAL() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        let m = s.mock(fd, ioas)
        #expect(s.call(fd, "IOMMU_HWPT_ALLOC", ["dev_id": UInt64(m.idev), "pt_id": 99]).r == .fail(Errno.EINVAL))
        #expect(s.call(fd, "IOMMU_HWPT_ALLOC", ["dev_id": UInt64(m.idev), "pt_id": UInt64(m.idev)]).r == .fail(Errno.EINVAL))
        #expect(s.call(fd, "IOMMU_HWPT_ALLOC", ["dev_id": 99, "pt_id": UInt64(ioas)]).r == .fail(Errno.ENOENT))
    }
}
