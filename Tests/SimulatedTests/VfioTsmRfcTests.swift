import Cases
import Testing
@testable import SimulatedBackend

/// tsm-vfio-rfc: VFIO_DEVICE_TSM_BIND/UNBIND (tsm-uapi-history §5) share the
/// TDI state of the iommufd TSM_OP path.
@Suite struct VfioTsmRfcTests {
    static let vfio0 = "/dev/vfio/devices/vfio0"

    @Test func requestNumbers() {
        let s = Sim("tsm-vfio-rfc")
        #expect(s.req("VFIO_DEVICE_TSM_BIND") == 0x3B7A)
        #expect(s.req("VFIO_DEVICE_TSM_UNBIND") == 0x3B7B)
        #expect(s.codec("VFIO_DEVICE_TSM_BIND").size == 16)
        #expect(s.codec("VFIO_DEVICE_TSM_UNBIND").size == 8)
    }

    @Test func bindLocksUnbindUnlocks() {
        let s = Sim("tsm-vfio-rfc"); let st = s.stack()
        #expect(s.k.tdiState(path: Self.vfio0) == .configUnlocked)
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": UInt64(st.vdev)]).r == .ok(0))
        #expect(s.k.tdiState(path: Self.vfio0) == .configLocked)
        #expect(s.k.tdiState(fd: st.ifd, vdevice: st.vdev) == .configLocked)
        #expect(s.k.hostMMIOAccess(fd: st.vfd, bar: 0) == .fail(Errno.EINVAL))
        // Second bind: 0, no change, no second TSM bind.
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": UInt64(st.vdev)]).r == .ok(0))
        #expect(s.k.tsmBindCount(path: Self.vfio0) == 1)
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_UNBIND").r == .ok(0))
        #expect(s.k.tdiState(path: Self.vfio0) == .configUnlocked)
        #expect(s.k.hostMMIOAccess(fd: st.vfd, bar: 0) == .ok(0))
        // Unbind of an unbound device.
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_UNBIND").r == .ok(0))
    }

    @Test func argszFlagsAndPad() {
        let s = Sim("tsm-vfio-rfc"); let st = s.stack()
        let vd = UInt64(st.vdev)
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": vd], size: 11).r == .fail(Errno.EINVAL))
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": vd, "flags": 1]).r == .fail(Errno.EINVAL))
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_UNBIND", [:], size: 7).r == .fail(Errno.EINVAL))
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_UNBIND", ["flags": 1 << 31]).r == .fail(Errno.EINVAL))
        #expect(s.raw(st.vfd, 0x3B7A, [12, 0, 0, 0]).0 == .fail(Errno.EFAULT))  // shorter than the minsz copy
        #expect(s.raw(st.vfd, 0x3B7A, nil).0 == .fail(Errno.EFAULT))
        // pad is never read (tsm-uapi-history §14 "Unchecked pad").
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": vd, "pad": 0xffff_ffff]).r == .ok(0))
        #expect(s.k.tdiState(path: Self.vfio0) == .configLocked)
    }

    @Test func vdeviceRules() {
        let s = Sim("tsm-vfio-rfc"); let st = s.stack()
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": 0x7fff_fff0]).r == .fail(Errno.ENOENT))
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": UInt64(st.viommu)]).r == .fail(Errno.ENOENT))
        let n = s.stack("/dev/vfio/devices/vfio1")
        #expect(s.call(n.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": UInt64(n.vdev)]).r == .fail(Errno.ENODEV))
        #expect(s.k.tdiState(path: Self.vfio0) == .configUnlocked)
    }

    @Test func beforeBindIommufdAndOtherProfiles() {
        let s = Sim("tsm-vfio-rfc")
        let vfd = s.open(Self.vfio0)
        #expect(s.raw(vfd, 0x3B7A, [UInt8](repeating: 0, count: 16)).0 == .fail(Errno.EINVAL))
        // A profile without the RFC: ENOTTY once bound.
        for name in ["linux-7.2", "tsm-v5"] {
            let o = Sim(name); let st = o.stack()
            var b = [UInt8](repeating: 0, count: 16); b[0] = 16; b[8] = UInt8(st.vdev)
            #expect(o.raw(st.vfd, 0x3B7A, b).0 == .fail(Errno.ENOTTY))
            #expect(o.raw(st.vfd, 0x3B7B, [8, 0, 0, 0, 0, 0, 0, 0]).0 == .fail(Errno.ENOTTY))
        }
    }

    @Test func closeUnbinds() {
        let s = Sim("tsm-vfio-rfc"); let st = s.stack()
        #expect(s.call(st.vfd, "VFIO_DEVICE_TSM_BIND", ["vdevice_id": UInt64(st.vdev)]).r == .ok(0))
        #expect(s.k.close(st.vfd) == .ok(0))
        #expect(s.k.tdiState(path: Self.vfio0) == .configUnlocked)
    }
}
