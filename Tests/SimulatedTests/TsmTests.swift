import Cases
import Testing
@testable import SimulatedBackend

@Suite struct TsmReqV5Tests {
    // One test per rule of §10, in handler order; each input also breaks every later rule.
    @Test func reservedFirst() {
        let s = Sim("tsm-v5"); let st = s.mockStack()
        #expect(s.tsmReq(st, scope: 9, reserved: 1, vdev: 77).r == .fail(Errno.EOPNOTSUPP))
    }
    @Test func scopeRangeSecond() {
        let s = Sim("tsm-v5"); let st = s.mockStack()
        #expect(s.tsmReq(st, scope: 4, vdev: 77).r == .fail(Errno.EINVAL))
    }
    @Test func lookupThird() {
        let s = Sim("tsm-v5"); let st = s.mockStack()
        #expect(s.tsmReq(st, scope: 2, vdev: 77).r == .fail(Errno.ENOENT))
        #expect(s.tsmReq(st, scope: 0, vdev: 0).r == .fail(Errno.ENOENT))
    }
    @Test func nonPciFourth() {
        let s = Sim("tsm-v5"); let st = s.mockStack()
        #expect(s.tsmReq(st, scope: 2).r == .fail(Errno.EINVAL))
        #expect(s.tsmReq(st, scope: 0).r == .fail(Errno.EINVAL))
    }
    @Test func debugScopesFifth() {
        let s = Sim("tsm-v5"); let st = s.stack()
        #expect(s.tsmReq(st, scope: 2).r == .fail(Errno.EINVAL))
        #expect(s.tsmReq(st, scope: 3).r == .fail(Errno.EINVAL))
        #expect(s.tsmOp(st, 1) == .ok(0))
        #expect(s.tsmReq(st, scope: 3).r == .fail(Errno.EINVAL))
    }
    @Test func unboundSixth() {
        let s = Sim("tsm-v5"); let st = s.stack()
        #expect(s.tsmReq(st, scope: 0).r == .fail(Errno.ENXIO))
    }
    @Test func boundForwardsWithResidueAndNoCopyBack() {
        let s = Sim("tsm-v5"); let st = s.stack()
        #expect(s.tsmOp(st, 1) == .ok(0))
        let r = s.tsmReq(st, scope: 0)
        #expect(r.r == .ok(64 - 32))
        #expect(r.out["req_len"] == 16)  // struct untouched
        // No response buffer: residue is unconsumed request bytes (none for 16).
        #expect(s.tsmReq(st, scope: 0, extra: ["resp_uptr": 0]).r == .ok(0))
        let big = s.mem.allocate([UInt8](repeating: 1, count: 300))
        #expect(s.tsmReq(st, scope: 0, extra: ["resp_uptr": 0, "req_uptr": big, "req_len": 300]).r == .ok(44))
        // Response content is deterministic.
        let resp = s.mem.allocate([UInt8](repeating: 0, count: 8))
        #expect(s.tsmReq(st, scope: 0, extra: ["resp_uptr": resp, "resp_len": 8]).r == .ok(0))
        #expect(s.mem.bytes(at: resp)! == SimulatedKernel.tsmResponse(code: 0, requestSum: 16 * 7, count: 8))
    }
    @Test func efaultOnBadBuffers() {
        let s = Sim("tsm-v5"); let st = s.stack()
        s.tsmOp(st, 1)
        #expect(s.tsmReq(st, extra: ["req_uptr": 0xdead0000]).r == .fail(Errno.EFAULT))
        #expect(s.tsmReq(st, extra: ["resp_uptr": 0xdead0000]).r == .fail(Errno.EFAULT))
    }
    @Test func sizeRules() {
        let s = Sim("tsm-v5"); let st = s.stack()
        #expect(s.call(st.ifd, "IOMMU_VDEVICE_TSM_REQ", [:], size: 39).r == .fail(Errno.EINVAL))
        var b = s.codec("IOMMU_VDEVICE_TSM_REQ").encode(["size": 48, "vdevice_id": 77], count: 48)
        #expect(s.raw(st.ifd, s.req("IOMMU_VDEVICE_TSM_REQ"), b).0 == .fail(Errno.ENOENT))
        b[47] = 1
        #expect(s.raw(st.ifd, s.req("IOMMU_VDEVICE_TSM_REQ"), b).0 == .fail(Errno.E2BIG))
    }
}

@Suite struct TsmOpTests {
    @Test(arguments: ["tsm-v2", "tsm-v5", "tsm-post-v5"])
    func orderPerProfile(_ profile: String) {
        let s = Sim(profile)
        let st = s.stack()
        #expect(s.tsmOp(st, 9, flags: 1, vdev: 77) == .fail(Errno.EOPNOTSUPP))
        #expect(s.tsmOp(st, 9, vdev: 77) == .fail(Errno.ENOENT))
        #expect(s.tsmOp(st, 9) == .fail(Errno.EINVAL))
        #expect(s.tsmOp(st, 1) == .ok(0))
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .configLocked)
        let noKvm = s.stack("/dev/vfio/devices/vfio1")
        if profile == "tsm-v2" {
            // v2's KVM comes from IOMMU_VIOMMU_KVM_FD, which the harness passes.
            #expect(s.tsmOp(noKvm, 1) == .ok(0))
        } else {
            #expect(s.tsmOp(noKvm, 9) == .fail(Errno.ENODEV))
        }
        // The mock has no KVM in v5 (ENODEV); in v2 the harness gives its vIOMMU one, so non-PCI → EINVAL.
        let m = s.mockStack()
        #expect(s.tsmOp(m, 1) == .fail(profile == "tsm-v2" ? Errno.EINVAL : Errno.ENODEV))
    }

    @Test func v2KvmFdMustBeKvm() {
        let s = Sim("tsm-v2")
        let fd = s.open("/dev/iommu")
        let ioas = s.ioas(fd)
        let m = s.mock(fd, ioas)
        let parent = s.nestParent(fd, dev: m.idev, ioas: ioas)
        let r = s.call(fd, "IOMMU_VIOMMU_ALLOC", ["flags": 1, "type": 0xdeadbeef, "dev_id": UInt64(m.idev), "hwpt_id": UInt64(parent), "kvm_vm_fd": UInt64(fd)])
        #expect(r.r == .fail(Errno.EBADF))
        #expect(s.call(fd, "IOMMU_VIOMMU_ALLOC", ["flags": 2, "type": 0xdeadbeef, "dev_id": UInt64(m.idev), "hwpt_id": UInt64(parent)]).r == .fail(Errno.EOPNOTSUPP))
    }

    @Test func secondBindAndUnbindOfUnboundReturnZero() {
        let s = Sim("tsm-v5"); let st = s.stack()
        #expect(s.tsmOp(st, 2) == .ok(0))
        #expect(s.tsmOp(st, 1) == .ok(0))
        s.tsmReq(st, scope: 1)
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .run)
        #expect(s.tsmOp(st, 1) == .ok(0))
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .run)
        #expect(s.k.tsmBindCount(path: "/dev/vfio/devices/vfio0") == 1)
        #expect(SimulatedKernel.documentedChoices["tsm_op.second_bind"] != nil)
    }

    @Test func destroyingVdeviceUnbinds() {
        let s = Sim("tsm-v5"); let st = s.stack()
        s.tsmOp(st, 1)
        #expect(s.call(st.ifd, "IOMMU_DESTROY", ["id": UInt64(st.vdev)]).r == .ok(0))
        #expect(s.k.tdiState(path: "/dev/vfio/devices/vfio0") == .configUnlocked)
    }
}

@Suite struct TsmReqOtherFlavourTests {
    @Test func v2GuestRequest() {
        let s = Sim("tsm-v2"); let st = s.stack()
        let name = "IOMMU_VDEVICE_TSM_GUEST_REQUEST"
        #expect(s.codec(name).size == 40)
        // The hole at 20..23 is never checked.
        var b = s.codec(name).encode(["size": 40, "vdevice_id": UInt64(st.vdev), "scope": 0])
        b[21] = 0xff
        #expect(s.raw(st.ifd, s.req(name), b).0 == .fail(Errno.ENXIO))
        #expect(s.tsmReq(st, scope: 2).r == .fail(Errno.EINVAL))
        #expect(s.tsmReq(st, scope: 0, vdev: 77).r == .fail(Errno.ENOENT))
        s.tsmOp(st, 1)
        #expect(s.tsmReq(st, scope: 0).r == .ok(32))
        let m = s.mockStack()
        #expect(s.tsmReq(m, scope: 0).r == .fail(Errno.EINVAL))
    }

    func post(_ s: Sim, _ st: Sim.Stack, op: UInt64, arch: UInt64, vdev: UInt32? = nil) -> (r: SyscallResult, out: [String: UInt64], bytes: [UInt8]) {
        s.tsmReq(st, vdev: vdev, extra: ["op": op, "tvm_arch": arch, "tsm_code": 0x5555])
    }

    @Test func postV5Order() {
        let s = Sim("tsm-post-v5"); let st = s.stack()
        let a = post(s, st, op: 1, arch: 4, vdev: 77)
        #expect(a.r == .fail(Errno.EINVAL))
        #expect(a.out["tsm_code"] == 0)  // zeroed and written back on error
        #expect(post(s, st, op: 8, arch: 2, vdev: 77).r == .fail(Errno.EINVAL))
        #expect(post(s, st, op: 6, arch: 1, vdev: 77).r == .fail(Errno.EINVAL))
        #expect(post(s, st, op: 6, arch: 2, vdev: 77).r == .fail(Errno.ENOENT))
        #expect(post(s, st, op: 1, arch: 2).r == .fail(Errno.ENXIO))
        s.tsmOp(st, 1)
        #expect(post(s, st, op: 1, arch: 3).r == .fail(Errno.EINVAL))  // the TSM is SEV
        #expect(post(s, st, op: 5, arch: 2).r == .ok(32))
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .run)
        let m = s.mockStack()
        #expect(post(s, m, op: 1, arch: 2).r == .fail(Errno.EINVAL))
    }
}

@Suite struct TdispTests {
    @Test func bindLockRunUnbind() {
        let s = Sim("tsm-v5"); let st = s.stack()
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .configUnlocked)
        s.tsmOp(st, 1)
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .configLocked)
        #expect(s.tsmReq(st, scope: 0).r.failed == false)
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .configLocked)
        #expect(s.tsmReq(st, scope: 1).r.failed == false)
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .run)
        s.tsmOp(st, 2)
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .configUnlocked)
        #expect(s.tsmReq(st, scope: 0).r == .fail(Errno.ENXIO))
    }

    @Test func resetMseD3AndCloseUnbindWithoutRebind() {
        let s = Sim("tsm-v5"); let st = s.stack()
        let path = "/dev/vfio/devices/vfio0"
        let events: [() -> Void] = [
            { _ = s.raw(st.vfd, 0x3B6F, nil) },  // VFIO_DEVICE_RESET
            { _ = s.k.configWriteCommand(fd: st.vfd, value: 0x4) },
            { _ = s.k.setPowerState(fd: st.vfd, d3hot: true) },
            { _ = s.call(st.vfd, "VFIO_DEVICE_FEATURE", ["flags": (1 << 17) | 3]) },
        ]
        for (i, ev) in events.enumerated() {
            #expect(s.tsmOp(st, 1) == .ok(0))
            #expect(s.k.tsmBindCount(path: path) == i + 1)
            ev()
            #expect(s.k.tdiState(path: path) == .configUnlocked)
            #expect(s.tsmReq(st, scope: 0).r == .fail(Errno.ENXIO))
            #expect(s.k.tsmBindCount(path: path) == i + 1)  // no automatic re-bind
            _ = s.k.configWriteCommand(fd: st.vfd, value: 0x6)
            _ = s.k.setPowerState(fd: st.vfd, d3hot: false)
        }
        s.tsmOp(st, 1)
        #expect(s.k.close(st.vfd) == .ok(0))
        #expect(s.k.tdiState(path: path) == .configUnlocked)
        // The device object is gone; its vDEVICE is a tombstone.
        #expect(s.tsmOp(st, 1) == .fail(Errno.ENOENT))
    }

    @Test func hostMmioRefusedWhileBound() {
        let s = Sim("tsm-v5"); let st = s.stack()
        #expect(s.k.hostMMIOAccess(fd: st.vfd, bar: 0) == .ok(0))
        #expect(s.k.hostMMIOAccess(fd: st.vfd, bar: 1) == .fail(Errno.EINVAL))
        s.tsmOp(st, 1)
        #expect(s.k.hostMMIOAccess(fd: st.vfd, bar: 0) == .fail(Errno.EINVAL))
        s.tsmOp(st, 2)
        #expect(s.k.hostMMIOAccess(fd: st.vfd, bar: 0) == .ok(0))
    }
}
