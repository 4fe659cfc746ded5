import Cases
import Testing
@testable import SimulatedBackend

@Suite struct IoasTests {
    @Test func mapUnmapSemantics() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = UInt64(s.ioas(fd))
        let map: [String: UInt64] = ["flags": 7, "ioas_id": ioas, "user_va": 0x1000, "length": 0x4000, "iova": 0x100000]
        #expect(s.call(fd, "IOMMU_IOAS_MAP", map).r == .ok(0))
        #expect(s.call(fd, "IOMMU_IOAS_MAP", map).r == .fail(Errno.EEXIST))
        #expect(s.call(fd, "IOMMU_IOAS_MAP", map.merging(["flags": 1]) { _, n in n }).r == .fail(Errno.EINVAL))
        #expect(s.call(fd, "IOMMU_IOAS_MAP", map.merging(["flags": 8]) { _, n in n }).r == .fail(Errno.EOPNOTSUPP))
        #expect(s.call(fd, "IOMMU_IOAS_MAP", map.merging(["__reserved": 1]) { _, n in n }).r == .fail(Errno.EOPNOTSUPP))
        // EOVERFLOW before lookup on MAP; UNMAP looks up first.
        #expect(s.call(fd, "IOMMU_IOAS_MAP", map.merging(["ioas_id": 99, "length": UInt64.max]) { _, n in n }).r == .fail(Errno.EOVERFLOW))
        #expect(s.call(fd, "IOMMU_IOAS_UNMAP", ["ioas_id": 99, "iova": 0x100000, "length": UInt64.max - 1 + 1]).r == .fail(Errno.ENOENT))
        // Allocated IOVA is written back.
        let a = s.call(fd, "IOMMU_IOAS_MAP", ["flags": 6, "ioas_id": ioas, "user_va": 0x1000, "length": 0x1000])
        #expect(a.r == .ok(0))
        #expect(a.out["iova"]! % 4096 == 0)
        // Split → ENOENT; whole area → length written back.
        #expect(s.call(fd, "IOMMU_IOAS_UNMAP", ["ioas_id": ioas, "iova": 0x101000, "length": 0x1000]).r == .fail(Errno.ENOENT))
        #expect(s.call(fd, "IOMMU_IOAS_UNMAP", ["ioas_id": ioas, "iova": 0x900000, "length": 0x1000]).r == .fail(Errno.ENOENT))
        let u = s.call(fd, "IOMMU_IOAS_UNMAP", ["ioas_id": ioas, "iova": 0x100000, "length": 0x4000])
        #expect(u.r == .ok(0))
        #expect(u.out["length"] == 0x4000)
        let all = s.call(fd, "IOMMU_IOAS_UNMAP", ["ioas_id": ioas, "iova": 0, "length": UInt64.max])
        #expect(all.r == .ok(0))
        #expect(all.out["length"] == 0x1000)
        #expect(s.call(fd, "IOMMU_IOAS_UNMAP", ["ioas_id": ioas, "iova": 0, "length": UInt64.max]).r == .ok(0))
    }

    @Test func iovaRangesEMSGSIZEWritesCount() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = UInt64(s.ioas(fd))
        let ranges = s.mem.allocate(StructCodec.le64(0x1000) + StructCodec.le64(0x1fff) + StructCodec.le64(0x10000) + StructCodec.le64(0x1ffff))
        #expect(s.call(fd, "IOMMU_IOAS_ALLOW_IOVAS", ["ioas_id": ioas, "num_iovas": 2, "allowed_iovas": ranges]).r == .ok(0))
        // IOVA_RANGES reports the holes of the reserved ranges: the allowed list only steers allocation.
        let r = s.call(fd, "IOMMU_IOAS_IOVA_RANGES", ["ioas_id": ioas, "num_iovas": 0])
        #expect(r.r == .fail(Errno.EMSGSIZE))
        #expect(r.out["num_iovas"] == 1)
        let out = s.mem.allocate([UInt8](repeating: 0, count: 32))
        let ok = s.call(fd, "IOMMU_IOAS_IOVA_RANGES", ["ioas_id": ioas, "num_iovas": 2, "allowed_iovas": out])
        #expect(ok.r == .ok(0))
        #expect(ok.out["num_iovas"] == 1)
        #expect(StructCodec.load(s.mem.bytes(at: out)!, 8, 8) == UInt64.max)
        #expect(s.call(fd, "IOMMU_IOAS_IOVA_RANGES", ["ioas_id": ioas, "__reserved": 1]).r == .fail(Errno.EOPNOTSUPP))
        // Overlapping allowed ranges → EINVAL.
        let bad = s.mem.allocate(StructCodec.le64(0x1000) + StructCodec.le64(0x2fff) + StructCodec.le64(0x2000) + StructCodec.le64(0x3fff))
        #expect(s.call(fd, "IOMMU_IOAS_ALLOW_IOVAS", ["ioas_id": ioas, "num_iovas": 2, "allowed_iovas": bad]).r == .fail(Errno.EINVAL))
    }

    @Test func copyMapFileAndChangeProcess() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let a = UInt64(s.ioas(fd)), b = UInt64(s.ioas(fd))
        #expect(s.call(fd, "IOMMU_IOAS_MAP_FILE", ["flags": 7, "ioas_id": a, "fd": 1, "start": 0, "length": 0x2000, "iova": 0x10000]).r == .ok(0))
        #expect(s.call(fd, "IOMMU_IOAS_MAP_FILE", ["flags": 6, "ioas_id": a, "fd": 555, "length": 0x1000]).r == .fail(Errno.EBADF))
        // Past the file's end: nothing pins it without a domain (7.2, seen by the fuzzer).
        #expect(s.call(fd, "IOMMU_IOAS_MAP_FILE", ["flags": 6, "ioas_id": a, "fd": 0, "start": 1 << 30, "length": 0x1000]).r == .ok(0))
        #expect(s.call(fd, "IOMMU_IOAS_CHANGE_PROCESS").r == .ok(0))
        let c = s.call(fd, "IOMMU_IOAS_COPY", ["flags": 6, "dst_ioas_id": b, "src_ioas_id": a, "length": 0x2000, "src_iova": 0x10000])
        #expect(c.r == .ok(0))
        // Part of an area copies (7.2, seen by the fuzzer); a range no area covers is ENOENT.
        #expect(s.call(fd, "IOMMU_IOAS_COPY", ["flags": 6, "dst_ioas_id": b, "src_ioas_id": a, "length": 0x1000,
                                               "src_iova": 0x11000]).r == .ok(0))
        #expect(s.call(fd, "IOMMU_IOAS_COPY", ["flags": 6, "dst_ioas_id": b, "src_ioas_id": a, "length": 0x1000,
                                               "src_iova": 0x40000]).r == .fail(Errno.ENOENT))
        #expect(s.call(fd, "IOMMU_IOAS_MAP", ["flags": 6, "ioas_id": a, "user_va": 0x1000, "length": 0x1000]).r == .ok(0))
        #expect(s.call(fd, "IOMMU_IOAS_CHANGE_PROCESS").r == .fail(Errno.EINVAL))
        #expect(s.call(fd, "IOMMU_IOAS_CHANGE_PROCESS", ["__reserved": 1]).r == .fail(Errno.EOPNOTSUPP))
    }

    @Test func optionRules() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        #expect(s.call(fd, "IOMMU_OPTION", ["option_id": 0, "op": 0, "val64": 2]).r == .fail(Errno.EINVAL))
        #expect(s.call(fd, "IOMMU_OPTION", ["option_id": 0, "op": 0, "val64": 1]).r == .ok(0))
        _ = s.ioas(fd)
        #expect(s.call(fd, "IOMMU_OPTION", ["option_id": 0, "op": 0, "val64": 0]).r == .fail(Errno.EBUSY))
        #expect(s.call(fd, "IOMMU_OPTION", ["option_id": 0, "op": 1, "object_id": 1]).r == .fail(Errno.EOPNOTSUPP))
        #expect(s.call(fd, "IOMMU_OPTION", ["option_id": 9]).r == .fail(Errno.EOPNOTSUPP))
        #expect(s.call(fd, "IOMMU_VFIO_IOAS", ["op": 0]).r == .fail(Errno.ENODEV))
        #expect(s.call(fd, "IOMMU_VFIO_IOAS", ["op": 3]).r == .fail(Errno.EOPNOTSUPP))
    }
}
