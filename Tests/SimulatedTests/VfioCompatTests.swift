import Cases
import Testing
@testable import SimulatedBackend

/// The type1 container ioctls on /dev/iommu (vfio_compat.c), each checked
/// against the value a wrong model would give.
@Suite struct VfioCompatTests {
    func compat(_ s: Sim) -> (fd: Int32, ioas: UInt64) {
        let fd = s.open("/dev/iommu")
        let ioas = UInt64(s.ioas(fd))
        let set = s.p.enums["IOMMU_VFIO_IOAS_SET"].map(UInt64.init)!
        #expect(s.call(fd, "IOMMU_VFIO_IOAS", ["op": set, "ioas_id": ioas]).r == .ok(0))
        return (fd, ioas)
    }

    @Test func everyContainerIoctlNeedsTheCompatIoas() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        #expect(s.call(fd, "VFIO_IOMMU_GET_INFO").r == .fail(Errno.ENODEV))
        #expect(s.call(fd, "VFIO_IOMMU_MAP_DMA", ["flags": 1, "size": 4096, "iova": 0x100000]).r == .fail(Errno.ENODEV))
        #expect(s.call(fd, "VFIO_IOMMU_UNMAP_DMA", ["size": 4096]).r == .fail(Errno.ENODEV))
    }

    @Test func getInfoReportsWhatTheCapsNeedAndWritesThemWhereThereIsRoom() {
        let s = Sim("linux-7.2")
        let (fd, _) = compat(s)
        let short = s.call(fd, "VFIO_IOMMU_GET_INFO")
        #expect(short.r == .ok(0))
        #expect(short.out["argsz"] == 72)          // 24 + dma_avail (16 aligned) + one IOVA range (32)
        #expect(short.out["cap_offset"] == 0)      // no room: no capability chain
        #expect(short.out["flags"] == 3)           // PGSIZES | CAPS
        let full = s.call(fd, "VFIO_IOMMU_GET_INFO", size: 72)
        #expect(full.out["cap_offset"] == 24)
        #expect(StructCodec.load(full.bytes, 24, 2) == 3)      // VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
        #expect(StructCodec.load(full.bytes, 28, 4) == 40)     // next: the IOVA range capability
        #expect(StructCodec.load(full.bytes, 32, 4) == 0xffff_ffff)
        #expect(StructCodec.load(full.bytes, 48, 4) == 1)      // nr_iovas
        #expect(StructCodec.load(full.bytes, 64, 8) == UInt64.max)
        #expect(s.call(fd, "VFIO_IOMMU_GET_INFO", ["argsz": 15]).r == .fail(Errno.EINVAL))
    }

    @Test func unmapOfNothingSucceedsWhereIoasUnmapSaysENOENT() {
        let s = Sim("linux-7.2")
        let (fd, ioas) = compat(s)
        let none = s.call(fd, "VFIO_IOMMU_UNMAP_DMA", ["iova": 0x100000, "size": 4096])
        #expect(none.r == .ok(0))
        #expect(none.out["size"] == 0)
        #expect(s.call(fd, "IOMMU_IOAS_UNMAP", ["ioas_id": ioas, "iova": 0x100000, "length": 4096]).r
                == .fail(Errno.ENOENT))
        #expect(s.call(fd, "VFIO_IOMMU_MAP_DMA", ["flags": 3, "vaddr": 0x1000, "iova": 0x100000, "size": 8192]).r
                == .ok(0))
        #expect(s.call(fd, "VFIO_IOMMU_UNMAP_DMA", ["iova": 0x100000, "size": 4096]).r == .fail(Errno.ENOENT))
        let all = s.call(fd, "VFIO_IOMMU_UNMAP_DMA", ["flags": 2, "size": 0])  // `size` is the length here
        #expect(all.r == .ok(0))
        #expect(all.out["size"] == 8192)
        #expect(s.call(fd, "VFIO_IOMMU_UNMAP_DMA", ["flags": 2, "iova": 4096, "size": 0]).r == .fail(Errno.EINVAL))
        #expect(s.call(fd, "VFIO_IOMMU_UNMAP_DMA", ["flags": 1, "size": 4096]).r == .fail(Errno.EINVAL))
    }

    @Test func anUnalignedFixedIovaIsRefusedOnlyOnceADomainIsAttached() {
        let s = Sim("linux-7.2")
        let (fd, ioas) = compat(s)
        let map: [String: UInt64] = ["flags": 1, "vaddr": 0x1000, "iova": 0x1000800, "size": 4096]
        #expect(s.call(fd, "VFIO_IOMMU_MAP_DMA", map).r == .ok(0))
        _ = s.mock(fd, UInt32(ioas))
        #expect(s.call(fd, "VFIO_IOMMU_MAP_DMA", map.merging(["iova": 0x1100400]) { _, n in n }).r
                == .fail(Errno.EINVAL))
    }

    @Test func hwQueueRangesThatWrapAreERangeNotATrap() {
        let s = Sim("linux-7.2")
        let st = s.mockStack()
        let type = s.p.enums["IOMMU_HW_QUEUE_TYPE_SELFTEST"].map { UInt64(UInt32(truncatingIfNeeded: $0)) }!
        for (iova, length) in [(UInt64(1), UInt64.max), (0, UInt64.max)] {
            let r = s.call(st.ifd, "IOMMU_HW_QUEUE_ALLOC", ["viommu_id": UInt64(st.viommu), "type": type,
                                                            "nesting_parent_iova": iova, "length": length])
            #expect(r.r == .fail(Errno.ERANGE))
        }
    }

    @Test func allowIovasLeavesMappingsOutsideTheNewSet() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = UInt64(s.ioas(fd))
        #expect(s.call(fd, "IOMMU_IOAS_MAP", ["flags": 7, "ioas_id": ioas, "user_va": 0x1000, "length": 4096,
                                              "iova": 0x1000000]).r == .ok(0))
        let ranges = s.mem.allocate(StructCodec.le64(0x100000) + StructCodec.le64(0x1fffff))
        #expect(s.call(fd, "IOMMU_IOAS_ALLOW_IOVAS", ["ioas_id": ioas, "num_iovas": 1, "allowed_iovas": ranges]).r
                == .ok(0))
    }
}
