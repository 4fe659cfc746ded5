import Cases
import Testing
@testable import SimulatedBackend

/// Each mutation must change the outcome of the case that names its rule.
@Suite struct MutationTests {
    /// The probe: a result under the real kernel vs. under the mutation.
    static func probe(_ m: SimMutation, _ s: Sim) -> SyscallResult {
        switch m {
        case .skipTailCheck:
            let fd = s.open("/dev/iommu")
            var b = s.codec("IOMMU_IOAS_ALLOC").encode(["size": 16], count: 16)
            b[14] = 1
            return s.raw(fd, s.req("IOMMU_IOAS_ALLOC"), b).0
        case .skipMinSizeCheck:
            let fd = s.open("/dev/iommu")
            return s.call(fd, "IOMMU_IOAS_ALLOC", size: 8, count: 12).r
        case .skipReservedChecks:
            let fd = s.open("/dev/iommu")
            return s.call(fd, "IOMMU_IOAS_CHANGE_PROCESS", ["__reserved": 1]).r
        case .skipFlagsChecks:
            let fd = s.open("/dev/iommu")
            return s.call(fd, "IOMMU_FAULT_QUEUE_ALLOC", ["flags": 1]).r
        case .tsmReqSkipReserved:
            let st = s.mockStack()
            return s.tsmReq(st, reserved: 1, vdev: 77).r
        case .tsmReqSkipScopeRange:
            let st = s.mockStack()
            return s.tsmReq(st, scope: 4, vdev: 77).r
        case .tsmReqSkipVdeviceLookup:
            let st = s.mockStack()
            return s.tsmReq(st, scope: 0, vdev: 77).r
        case .tsmReqSkipPciCheck:
            let st = s.mockStack()
            return s.tsmReq(st, scope: 0).r
        case .tsmReqAllowDebugScopes:
            let st = s.stack()
            s.tsmOp(st, 1)
            return s.tsmReq(st, scope: 2).r
        case .tsmReqSkipBoundCheck:
            let st = s.stack()
            return s.tsmReq(st, scope: 0).r
        case .tsmOpSkipFlagsCheck:
            let st = s.stack()
            return s.tsmOp(st, 1, flags: 1)
        case .tsmOpSkipKvmCheck:
            let st = s.stack("/dev/vfio/devices/vfio1")
            return s.tsmOp(st, 1)
        case .tsmOpSkipTypeCheck:
            let st = s.stack()
            return s.tsmOp(st, 3)
        case .destroyIgnoresUsers:
            let fd = s.open("/dev/iommu")
            let ioas = s.ioas(fd)
            _ = s.mock(fd, ioas)
            return s.call(fd, "IOMMU_DESTROY", ["id": UInt64(ioas)]).r
        }
    }

    static let expected: [SimMutation: (SyscallResult, SyscallResult)] = [
        .skipTailCheck: (.fail(Errno.E2BIG), .ok(0)),
        .skipMinSizeCheck: (.fail(Errno.EINVAL), .ok(0)),
        .skipReservedChecks: (.fail(Errno.EOPNOTSUPP), .ok(0)),
        .skipFlagsChecks: (.fail(Errno.EOPNOTSUPP), .ok(0)),
        .tsmReqSkipReserved: (.fail(Errno.EOPNOTSUPP), .fail(Errno.ENOENT)),
        .tsmReqSkipScopeRange: (.fail(Errno.EINVAL), .fail(Errno.ENOENT)),
        .tsmReqSkipVdeviceLookup: (.fail(Errno.ENOENT), .fail(Errno.ENXIO)),
        .tsmReqSkipPciCheck: (.fail(Errno.EINVAL), .fail(Errno.ENXIO)),
        .tsmReqAllowDebugScopes: (.fail(Errno.EINVAL), .ok(32)),
        .tsmReqSkipBoundCheck: (.fail(Errno.ENXIO), .ok(32)),
        .tsmOpSkipFlagsCheck: (.fail(Errno.EOPNOTSUPP), .ok(0)),
        .tsmOpSkipKvmCheck: (.fail(Errno.ENODEV), .ok(0)),
        .tsmOpSkipTypeCheck: (.fail(Errno.EINVAL), .ok(0)),
        .destroyIgnoresUsers: (.fail(Errno.EBUSY), .ok(0)),
    ]

    @Test(arguments: SimMutation.allCases)
    func mutationChangesItsOutcome(_ m: SimMutation) {
        let (want, mutated) = Self.expected[m]!
        #expect(Self.probe(m, Sim("tsm-v5")) == want)
        #expect(Self.probe(m, Sim("tsm-v5", [m])) == mutated)
    }
}

@Suite struct SpeedTests {
    /// Not a timing assertion: just a realistic loop that must finish.
    @Test func manyCallsStayCorrect() {
        let s = Sim("tsm-v5")
        let st = s.stack()
        s.tsmOp(st, 1)
        let c = s.codec("IOMMU_VDEVICE_TSM_REQ")
        let bytes = c.encode(["size": 40, "vdevice_id": UInt64(st.vdev), "scope": 4])
        for _ in 0..<20_000 {
            var a: [UInt8]? = bytes
            precondition(s.k.ioctl(st.ifd, s.req("IOMMU_VDEVICE_TSM_REQ"), &a, memory: s.mem) == .fail(Errno.EINVAL))
        }
        #expect(s.k.liveObjectCount == 6)
    }
}
