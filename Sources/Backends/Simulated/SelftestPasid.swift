import Cases
import Layout

/// The mock's PASID ops (selftest.c PASID_ATTACH / _REPLACE / _DETACH / _CHECK_HWPT): a mock device's PASIDs
/// attached to HWPTs, as device.c's iommufd_hw_pagetable_attach and iommufd_device_do_replace keep them.
struct MockPasidFields {
    let attach, replace, detach, check: UInt64
    let pasid, ptId, detachPasid, checkPasid, checkHwpt: FieldHandle
    init?(_ r: FieldResolver) throws {
        guard r.profile.enums["IOMMU_TEST_OP_PASID_ATTACH"] != nil else { return nil }
        attach = try r.constant("IOMMU_TEST_OP_PASID_ATTACH"); replace = try r.constant("IOMMU_TEST_OP_PASID_REPLACE")
        detach = try r.constant("IOMMU_TEST_OP_PASID_DETACH"); check = try r.constant("IOMMU_TEST_OP_PASID_CHECK_HWPT")
        // PASID_REPLACE's member has PASID_ATTACH's layout.
        pasid = try r("pasid_attach.pasid"); ptId = try r("pasid_attach.pt_id")
        detachPasid = try r("pasid_detach.pasid")
        checkPasid = try r("pasid_check.pasid"); checkHwpt = try r("pasid_check.hwpt_id")
    }
}

extension SimulatedKernel {
    /// The mock fakes a driver failure on PASID 1024: every second change of its domain is ENOMEM.
    static let fakeErrorPasid: UInt32 = 1024

    /// The ops of `MockPasidFields`; nil for another op.
    func mockPasidOp(_ f: MockPasidFields, op: UInt64, stdev: UInt32, _ ctx: IommufdContext,
                     _ c: inout Cmd) -> HandlerResult? {
        guard [f.attach, f.replace, f.detach, f.check].contains(op) else { return nil }
        guard let dev = selftestDevice(ctx, stdev) else { return .fail(.ENOENT) }
        switch op {
        case f.detach:
            pasidDetach(ctx, dev, c.u32(f.detachPasid))
            return .ok(respond: .none)
        case f.check:
            let pasid = c.u32(f.checkPasid), want = c.u32(f.checkHwpt)
            let now = pasid == 0 ? dev.attachedHwpt : dev.pasids[pasid] ?? 0
            if want == 0 { return now == 0 ? .ok(respond: .none) : .fail(.EINVAL) }
            guard ctx.hwpt(want) != nil else { return .fail(.ENOENT) }
            return now == want ? .ok(respond: .none) : .fail(.EINVAL)
        default:
            // PASID 0 is IOMMU_NO_PASID: the device's own attachment (seen on 7.2).
            if c.u32(f.pasid) == 0 { return deviceChange(ctx, dev, pt: f.ptId, replace: op == f.replace, &c) }
            let e = pasidChange(ctx, dev, c.u32(f.pasid), pt: c.u32(f.ptId), replace: op == f.replace)
            return e.map { .fail($0) } ?? .ok()
        }
    }

    /// Attach (or replace) `pasid` of `dev` to HWPT `pt`. An IOAS's auto domains never allow a PASID: the
    /// domain found or made for it is not PASID-compatible (EINVAL).
    func pasidChange(_ ctx: IommufdContext, _ dev: DeviceObject, _ pasid: UInt32, pt: UInt32,
                     replace: Bool) -> Errno? {
        guard let o = ctx.objects[pt] else { return .ENOENT }
        if o.kind == .ioas { return .EINVAL }
        guard let h = o as? HwptObject else { return .EINVAL }
        let old = dev.pasids[pasid]
        if replace {
            guard let old else { return .EINVAL }  // nothing attached there to replace
            if old == h.id { return nil }
        } else if old != nil {
            return .EBUSY  // the device is in that PASID's attachment already (xa_insert)
        }
        if let e = pasidCompatible(ctx, dev, h) { return e }
        if dev.mockFlags & MockFlags.pasid == 0 { return .EINVAL }  // no PASID on this device
        if pasid == SimulatedKernel.fakeErrorPasid {
            dev.pasid1024Armed.toggle()
            if !dev.pasid1024Armed { return .ENOMEM }
        }
        if let old, let oh = ctx.hwpt(old) { oh.users -= 1 }
        dev.pasids[pasid] = h.id
        h.users += 1
        return nil
    }

    /// iommufd_hwpt_pasid_compat for a PASID: the HWPT takes PASIDs, and so does the device's PASID-0 one.
    func pasidCompatible(_ ctx: IommufdContext, _ dev: DeviceObject, _ h: HwptObject) -> Errno? {
        if !h.pasidCompat { return .EINVAL }
        if let base = ctx.hwpt(dev.attachedHwpt), !base.pasidCompat { return .EINVAL }
        return nil
    }

    /// Detach `pasid` (fine when nothing is attached); a blocked PASID 1024 disarms the fake error.
    func pasidDetach(_ ctx: IommufdContext, _ dev: DeviceObject, _ pasid: UInt32) {
        // PASID 0 is IOMMU_NO_PASID: the device's own attachment goes, an auto domain with it (seen on 7.2).
        if pasid == 0 { return detach(ctx, dev) }
        guard let id = dev.pasids.removeValue(forKey: pasid) else { return }
        ctx.hwpt(id)?.users -= 1
        if pasid == SimulatedKernel.fakeErrorPasid { dev.pasid1024Armed = false }
    }

    /// A change of the device's PASID-0 attachment: a HWPT without PASIDs while PASIDs are attached is EINVAL;
    /// a nested HWPT of a vIOMMU needs the device's vDEVICE there (ENOENT, the mock's attach_dev).
    func baseAttachAllowed(_ ctx: IommufdContext, _ dev: DeviceObject, _ h: HwptObject) -> Errno? {
        if !h.pasidCompat && !dev.pasids.isEmpty { return .EINVAL }
        if h.kind == .hwptNested, let vi = ctx.viommu(h.holds.first ?? 0) {
            guard let vd = ctx.vdevice(dev.vdeviceId), vd.viommuId == vi.id else { return .ENOENT }
        }
        return nil
    }
}
