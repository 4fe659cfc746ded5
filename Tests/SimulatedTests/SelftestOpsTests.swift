import Cases
import Testing
@testable import SimulatedBackend

/// The mock's access, replace and event ops and the event queues' files,
/// each checked against what a wrong model would give.
@Suite struct SelftestOpsTests {
    func op(_ s: Sim, _ name: String) -> UInt64 { UInt64(s.p.enums[name]!) }

    @Test func anAccessHoldsItsIoasUntilItsFileCloses() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = UInt64(s.ioas(fd))
        let a = s.call(fd, "IOMMU_TEST_CMD", ["op": op(s, "IOMMU_TEST_OP_CREATE_ACCESS"), "id": ioas])
        #expect(a.r == .ok(0))
        let afd = Int32(a.out["create_access.out_access_fd"]!)
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": ioas]).r == .fail(Errno.EBUSY))
        let rw: [String: UInt64] = ["op": op(s, "IOMMU_TEST_OP_ACCESS_RW"), "id": UInt64(afd),
                                    "access_rw.iova": 0x100_0000, "access_rw.length": 8,
                                    "access_rw.uptr": s.mem.allocate([UInt8](repeating: 0, count: 8))]
        #expect(s.call(fd, "IOMMU_TEST_CMD", rw).r == .fail(Errno.ENOENT))  // nothing mapped there
        #expect(s.call(fd, "IOMMU_TEST_CMD", rw.merging(["id": UInt64(fd)]) { _, n in n }).r == .fail(Errno.EBADFD))
        #expect(s.k.close(afd) == .ok())
        #expect(s.call(fd, "IOMMU_DESTROY", ["id": ioas]).r == .ok(0))
    }

    @Test func faultQueueReadsWholeFaultsAndAnswersEachCookieOnce() {
        let s = Sim("linux-7.2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        let (_, _, idev) = s.mock(fd, ioas)
        let q = s.call(fd, "IOMMU_FAULT_QUEUE_ALLOC")
        let qfd = Int32(q.out["out_fault_fd"]!)
        let flags = UInt64(s.p.enums["IOMMU_HWPT_FAULT_ID_VALID"]!)
        let h = s.call(fd, "IOMMU_HWPT_ALLOC", ["dev_id": UInt64(idev), "pt_id": UInt64(ioas), "flags": flags,
                                                "fault_id": q.out["out_fault_id"]!])
        let (_, _, idev2) = s.mock(fd, UInt32(h.out["out_hwpt_id"]!))
        #expect(s.k.read(qfd, count: 40) == .ok(0))
        let iopf = ["op": op(s, "IOMMU_TEST_OP_TRIGGER_IOPF"), "trigger_iopf.dev_id": UInt64(idev2)]
        #expect(s.call(fd, "IOMMU_TEST_CMD", iopf).r == .ok(0))
        #expect(s.call(fd, "IOMMU_TEST_CMD", iopf).r == .ok(0))
        #expect(s.k.read(qfd, count: 0) == .fail(Errno.EINVAL))   // the first fault does not fit
        #expect(s.k.read(qfd, count: 41) == .fail(Errno.ESPIPE))
        #expect(s.k.read(qfd, count: 40) == .ok(40))               // one of two
        #expect(s.k.read(qfd, count: 80) == .ok(40))               // the other
        let answer = StructCodec.le32(1) + StructCodec.le32(0)
        #expect(s.k.write(qfd, answer + answer) == .ok(8))         // cookie 1 once, then refused
        #expect(s.k.write(qfd, StructCodec.le32(2) + StructCodec.le32(2)) == .fail(Errno.EINVAL))  // bad code
        #expect(s.k.write(qfd, StructCodec.le32(2) + StructCodec.le32(1)) == .ok(8))
    }

    /// One event past the depth leaves one lost-events header at the tail, which takes each newer sequence number.
    @Test func aFullVeventqLosesEventsBehindOneHeader() {
        let q = EventQueue(.vevent(depth: 1))
        let s = Sim("linux-7.2")
        let data: [UInt8] = [0x99, 0, 0, 0]
        for _ in 0..<3 { s.k.deliverVevent(q, data: data) }
        #expect(q.vevents.map(\.data) == [data, nil] && q.vevents.map(\.sequence) == [0, 2])
        s.k.deliverVevent(q, data: data)
        #expect(q.vevents.map(\.data) == [data, nil] && q.vevents.map(\.sequence) == [0, 3])
        // Read back: header (flags, sequence) and the data; then the lost-events header alone.
        var out: [UInt8] = []
        #expect(s.k.readVevents(q, 64, &out) == .ok(20))
        #expect(out == StructCodec.le32(0) + StructCodec.le32(0) + data + StructCodec.le32(1) + StructCodec.le32(3))
    }
}
