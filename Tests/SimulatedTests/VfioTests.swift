import Cases
import Testing
@testable import SimulatedBackend

@Suite struct VfioTests {
    let v0 = "/dev/vfio/devices/vfio0"

    @Test func beforeBindEverythingIsEINVAL() {
        let s = Sim("linux-7.2")
        let vfd = s.open(v0)
        #expect(s.call(vfd, "VFIO_DEVICE_GET_INFO").r == .fail(Errno.EINVAL))
        #expect(s.raw(vfd, 0x3B7F, nil).0 == .fail(Errno.EINVAL))
        #expect(s.k.hostMMIOAccess(fd: vfd, bar: 0) == .fail(Errno.EINVAL))
    }

    @Test func bindRules() {
        let s = Sim("linux-7.2")
        let ifd = s.open("/dev/iommu")
        let vfd = s.open(v0)
        #expect(s.raw(vfd, s.req("VFIO_DEVICE_BIND_IOMMUFD"), nil).0 == .fail(Errno.EFAULT))
        #expect(s.call(vfd, "VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": UInt64(ifd)], size: 15).r == .fail(Errno.EINVAL))
        var big = s.codec("VFIO_DEVICE_BIND_IOMMUFD").encode(["argsz": 32, "iommufd": UInt64(ifd)], count: 32)
        big[30] = 1
        #expect(s.raw(vfd, s.req("VFIO_DEVICE_BIND_IOMMUFD"), big).0 == .fail(Errno.E2BIG))
        #expect(s.call(vfd, "VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": UInt64(ifd), "flags": 2]).r == .fail(Errno.EINVAL))
        #expect(s.call(vfd, "VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": 999]).r == .fail(Errno.EBADF))
        #expect(s.call(vfd, "VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": UInt64(vfd)]).r == .fail(Errno.EBADFD))
        let ok = s.call(vfd, "VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": UInt64(ifd)], size: 16)
        #expect(ok.r == .ok(0))
        #expect(ok.out["out_devid"] == 1)
        #expect(s.call(vfd, "VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": UInt64(ifd)]).r == .fail(Errno.EINVAL))
        #expect(s.call(ifd, "IOMMU_DESTROY", ["id": 1]).r == .fail(Errno.EBUSY))
    }

    @Test func attachDetach() {
        let s = Sim("linux-7.2")
        let ifd = s.open("/dev/iommu")
        let ioas = s.ioas(ifd)
        let (vfd, dev) = s.vfio(v0, ifd)
        #expect(s.call(vfd, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": 77]).r == .fail(Errno.ENOENT))
        #expect(s.call(vfd, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": UInt64(dev)]).r == .fail(Errno.EINVAL))
        #expect(s.call(vfd, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": UInt64(ioas), "flags": 2]).r == .fail(Errno.EINVAL))
        let a = s.call(vfd, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": UInt64(ioas)])
        #expect(a.r == .ok(0))
        #expect(a.out["pt_id"] != UInt64(ioas))  // the auto HWPT
        #expect(s.call(ifd, "IOMMU_DESTROY", ["id": UInt64(ioas)]).r == .fail(Errno.EBUSY))
        #expect(s.call(vfd, "VFIO_DEVICE_DETACH_IOMMUFD_PT").r == .ok(0))
        #expect(s.call(ifd, "IOMMU_DESTROY", ["id": UInt64(ioas)]).r == .ok(0))
    }

    @Test func featureCoreRules() {
        let s = Sim("linux-7.2")
        let ifd = s.open("/dev/iommu")
        let (vfd, _) = s.vfio(v0, ifd)
        let G: UInt64 = 1 << 16, S: UInt64 = 1 << 17, P: UInt64 = 1 << 18
        #expect(s.call(vfd, "VFIO_DEVICE_FEATURE", ["flags": G | 11], size: 7, count: 8).r == .fail(Errno.EINVAL))
        #expect(s.call(vfd, "VFIO_DEVICE_FEATURE", ["flags": (1 << 19) | 11]).r == .fail(Errno.EINVAL))
        #expect(s.call(vfd, "VFIO_DEVICE_FEATURE", ["flags": G | S | 11]).r == .fail(Errno.EINVAL))
        #expect(s.call(vfd, "VFIO_DEVICE_FEATURE", ["flags": P | G | 11]).r == .ok(0))
        #expect(s.call(vfd, "VFIO_DEVICE_FEATURE", ["flags": G | 200]).r == .fail(Errno.ENOTTY))
    }

    func dmaBuf(_ s: Sim, _ vfd: Int32, region: UInt64 = 0, flags: UInt64 = 0, ranges: [(UInt64, UInt64)]) -> SyscallResult {
        var b = StructCodec.le32(UInt32(24 + 16 * ranges.count)) + StructCodec.le32((1 << 16) | 11)
        b += StructCodec.le32(UInt32(region)) + StructCodec.le32(0) + StructCodec.le32(UInt32(flags)) + StructCodec.le32(UInt32(ranges.count))
        for r in ranges { b += StructCodec.le64(r.0) + StructCodec.le64(r.1) }
        return s.raw(vfd, s.req("VFIO_DEVICE_FEATURE"), b).0
    }

    @Test func dmaBufRules() {
        let s = Sim("tsm-v5")
        let st = s.stack()
        #expect(dmaBuf(s, st.vfd, region: 6, ranges: [(0, 4096)]) == .fail(Errno.ENODEV))
        #expect(dmaBuf(s, st.vfd, ranges: []) == .fail(Errno.EINVAL))
        #expect(dmaBuf(s, st.vfd, flags: 1, ranges: [(0, 4096)]) == .fail(Errno.EINVAL))
        #expect(dmaBuf(s, st.vfd, ranges: [(100, 4096)]) == .fail(Errno.EINVAL))
        #expect(dmaBuf(s, st.vfd, ranges: [(0, 0)]) == .fail(Errno.EINVAL))
        #expect(dmaBuf(s, st.vfd, ranges: [(0, 0x20000)]) == .fail(Errno.EINVAL))
        #expect(dmaBuf(s, st.vfd, region: 1, ranges: [(0, 4096)]) == .fail(Errno.EINVAL))
        let ok = dmaBuf(s, st.vfd, ranges: [(0, 0x10000)])
        #expect(!ok.failed && ok.value > 2)
        // The dma-buf maps through IOMMU_IOAS_MAP_FILE; beyond its length → EINVAL.
        #expect(s.call(st.ifd, "IOMMU_IOAS_MAP_FILE", ["flags": 6, "ioas_id": UInt64(st.ioas), "fd": UInt64(ok.value), "length": 0x10000]).r == .ok(0))
        #expect(s.call(st.ifd, "IOMMU_IOAS_MAP_FILE", ["flags": 6, "ioas_id": UInt64(st.ioas), "fd": UInt64(ok.value), "length": 0x11000]).r == .fail(Errno.EINVAL))
        s.tsmOp(st, 1)
        #expect(dmaBuf(s, st.vfd, ranges: [(0, 4096)]) == .fail(Errno.EBUSY))
    }

    @Test func regionAndDeviceInfo() {
        let s = Sim("linux-7.2")
        let ifd = s.open("/dev/iommu")
        let (vfd, _) = s.vfio(v0, ifd)
        let r = s.call(vfd, "VFIO_DEVICE_GET_REGION_INFO", ["index": 0])
        #expect(r.r == .ok(0))
        #expect(r.out["size"] == 0x10000)
        #expect(s.call(vfd, "VFIO_DEVICE_GET_REGION_INFO", ["index": 9]).r == .fail(Errno.EINVAL))
        #expect(s.call(vfd, "VFIO_DEVICE_GET_REGION_INFO", ["index": 0], size: 31, count: 32).r == .fail(Errno.EINVAL))
        let i = s.call(vfd, "VFIO_DEVICE_GET_INFO")
        #expect(i.out["num_regions"] == 9)
    }
}
