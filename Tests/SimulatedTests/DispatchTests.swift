import Cases
import Testing
@testable import SimulatedBackend

@Suite struct DispatchTests {
    @Test func unknownNrIsENOTTYWithoutReadingArg() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        #expect(s.raw(fd, 0x3B7F, nil).0 == .fail(Errno.ENOTTY))
        #expect(s.raw(fd, 0x3BA1, nil).0 == .fail(Errno.ENOTTY))
        #expect(s.raw(fd, 0x3B64, nil).0 == .ok(0))  // VFIO_GET_API_VERSION via the compat handler
    }

    @Test func nullArgIsEFAULTBeforeCommandMatch() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        #expect(s.raw(fd, 0x3B81, nil).0 == .fail(Errno.EFAULT))
        // 0x95 is an empty slot inside the test-extended table: EFAULT with NULL, ENOTTY when readable.
        #expect(s.raw(fd, 0x3B95, nil).0 == .fail(Errno.EFAULT))
        #expect(s.raw(fd, 0x3B95, [16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).0 == .fail(Errno.ENOTTY))
        // Same NR with direction bits: ENOTTY after the size read.
        #expect(s.raw(fd, 0xC0103B81, [12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).0 == .fail(Errno.ENOTTY))
    }

    @Test func minSizeTailAndZeroExtension() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        #expect(s.call(fd, "IOMMU_IOAS_ALLOC", size: 11).r == .fail(Errno.EINVAL))
        var big = s.codec("IOMMU_IOAS_ALLOC").encode(["size": 16], count: 16)
        big[15] = 1
        #expect(s.raw(fd, s.req("IOMMU_IOAS_ALLOC"), big).0 == .fail(Errno.E2BIG))
        big[15] = 0
        let (r, out) = s.raw(fd, s.req("IOMMU_IOAS_ALLOC"), big)
        #expect(r == .ok(0))
        #expect(out![8] == 1)  // out_ioas_id written
        // HWPT_ALLOC min 24 < sizeof 48: size 24 zero-extends; bad dev → ENOENT, not EINVAL.
        #expect(s.call(fd, "IOMMU_HWPT_ALLOC", ["dev_id": 77], size: 24).r == .fail(Errno.ENOENT))
        #expect(s.call(fd, "IOMMU_HWPT_ALLOC", ["dev_id": 77], size: 23).r == .fail(Errno.EINVAL))
    }

    @Test func responseLimitedToCallerSize() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        let m = s.mock(fd, ioas)
        // GET_HW_INFO with size 32 must not receive out_capabilities (@32).
        let r = s.call(fd, "IOMMU_GET_HW_INFO", ["dev_id": UInt64(m.idev)], size: 32, count: 40)
        #expect(r.r == .ok(0))
        #expect(r.out["out_data_type"] == 0xfeedbeef)
        #expect(r.bytes[32..<40].allSatisfy { $0 == 0 })
        let full = s.call(fd, "IOMMU_GET_HW_INFO", ["dev_id": UInt64(m.idev)])
        #expect(full.out["out_capabilities"] == 9)  // DIRTY_TRACKING | PCI_ATS_NOT_SUPPORTED (the mock is no PCI device)
    }

    @Test func uncheckedReservedFieldsAccepted() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        let m = s.mock(fd, ioas)
        let h = s.call(fd, "IOMMU_HWPT_ALLOC", ["flags": 3, "dev_id": UInt64(m.idev), "pt_id": UInt64(ioas), "__reserved2": 5])
        #expect(h.r == .ok(0))
        let hwpt = h.out["out_hwpt_id"]!
        #expect(s.call(fd, "IOMMU_HWPT_SET_DIRTY_TRACKING", ["flags": 1, "hwpt_id": hwpt, "__reserved": 9]).r == .ok(0))
        #expect(s.call(fd, "IOMMU_VIOMMU_ALLOC", ["type": 0xdeadbeef, "dev_id": UInt64(m.idev), "hwpt_id": hwpt, "__reserved": 1]).r == .ok(0))
        #expect(s.call(fd, "IOMMU_HWPT_ALLOC", ["dev_id": UInt64(m.idev), "pt_id": UInt64(ioas), "__reserved": 1]).r == .fail(Errno.EOPNOTSUPP))
    }

    @Test func copyBackQuirks() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        // OPTION writes only val64.
        let o = s.call(fd, "IOMMU_OPTION", ["option_id": 1, "op": 1, "object_id": UInt64(ioas), "val64": 7])
        #expect(o.r == .ok(0))
        #expect(o.out["val64"] == 1)
        // INVALIDATE writes entry_num even on error (after the first two checks).
        let buf = s.mem.allocate([UInt8](repeating: 0, count: 16))
        let inv = s.call(fd, "IOMMU_HWPT_INVALIDATE", ["hwpt_id": 99, "data_uptr": buf, "entry_len": 8, "entry_num": 2, "data_type": 0xdeadbeef])
        #expect(inv.r == .fail(Errno.ENOENT))
        #expect(inv.out["entry_num"] == 0)
        // Object of the wrong kind → EINVAL (§5.2).
        let inv2 = s.call(fd, "IOMMU_HWPT_INVALIDATE", ["hwpt_id": UInt64(ioas), "data_uptr": buf, "entry_len": 8, "entry_num": 2])
        #expect(inv2.r == .fail(Errno.EINVAL))
    }

    @Test func unknownPathAndFd() {
        let s = Sim()
        #expect(s.k.open("/dev/nope") == .fail(Errno.ENOENT))
        #expect(s.k.close(1234) == .fail(Errno.EBADF))
        var a: [UInt8]? = nil
        #expect(s.k.ioctl(1234, 0x3B80, &a, memory: s.mem) == .fail(Errno.EBADF))
    }

    @Test func tsmNrsAreENOTTYOn72() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        #expect(s.raw(fd, 0x3B96, [UInt8](repeating: 0, count: 40)).0 == .fail(Errno.ENOTTY))
    }
}
