import Cases
import Layout

/// IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE and the two event triggers of the mock
/// (union members of iommu_test_cmd by their dotted names in the profile).
struct MockEventFields {
    let replacePt, iopfDev, veventDev: FieldHandle?
    /// trigger_iopf's pasid, grpid, perm and addr, with its dev_id.
    let iopfRest: (pasid: FieldHandle, grpid: FieldHandle, perm: FieldHandle, addr: FieldHandle)?
    let replace, iopf, vevent: UInt64?
    /// Each op only where the profile has it (6.12 has no vEVENTs).
    init(_ r: FieldResolver) throws {
        func op(_ name: String, _ field: String) throws -> (FieldHandle, UInt64)? {
            guard r.profile.enums[name] != nil else { return nil }
            return (try r(field), try r.constant(name))
        }
        let rp = try op("IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE", "mock_domain_replace.pt_id")
        let io = try op("IOMMU_TEST_OP_TRIGGER_IOPF", "trigger_iopf.dev_id")
        let ve = try op("IOMMU_TEST_OP_TRIGGER_VEVENT", "trigger_vevent.dev_id")
        replacePt = rp?.0; replace = rp?.1; iopfDev = io?.0; iopf = io?.1; veventDev = ve?.0; vevent = ve?.1
        iopfRest = io == nil ? nil : (try r("trigger_iopf.pasid"), try r("trigger_iopf.grpid"),
                                      try r("trigger_iopf.perm"), try r("trigger_iopf.addr"))
    }
}

extension SimulatedKernel {
    /// The ops of `MockEventFields`; nil for another op.
    func mockEventOp(_ f: MockEventFields, op: UInt64, id: UInt32, _ ctx: IommufdContext,
                     _ c: inout Cmd) -> HandlerResult? {
        if op == f.replace, let pt = f.replacePt { return mockReplace(ctx, stdev: id, pt: pt, &c) }
        if op == f.iopf, let d = f.iopfDev {
            // The fault is reported to whatever the device is attached to;
            // with no fault queue behind it, it is dropped. Either way 0.
            guard let dev = ctx.device(c.u32(d)) else { return .fail(.ENOENT) }
            guard dev.pci == nil else { return .fail(.EINVAL) }
            if let r = f.iopfRest {
                deliverFault(ctx, dev, .init(devId: dev.id, pasid: c.u32(r.pasid), grpid: c.u32(r.grpid),
                                             perm: c.u32(r.perm), addr: c[r.addr]))
            }
            return .ok(respond: .none)
        }
        if op == f.vevent, let d = f.veventDev {
            guard let dev = ctx.device(c.u32(d)) else { return .fail(.ENOENT) }
            return triggerVevent(ctx, dev)
        }
        return nil
    }

    /// iommufd_device_replace of the mock behind selftest object `stdev`.
    func mockReplace(_ ctx: IommufdContext, stdev: UInt32, pt ptField: FieldHandle,
                     _ c: inout Cmd) -> HandlerResult {
        guard let dev = selftestDevice(ctx, stdev) else { return .fail(.ENOENT) }
        return deviceChange(ctx, dev, pt: ptField, replace: true, &c)
    }

    /// iommufd_device_attach or _replace of the device itself (IOMMU_NO_PASID) to `pt`, answering the HWPT
    /// in `pt`. Attaching a device that is attached is EBUSY (its id is in the attachment already: xa_insert)
    /// whatever `pt` is; replacing the attachment of a device that has none is EINVAL (seen on 7.2).
    func deviceChange(_ ctx: IommufdContext, _ dev: DeviceObject, pt ptField: FieldHandle, replace: Bool,
                      _ c: inout Cmd) -> HandlerResult {
        guard let pt = ctx.objects[c.u32(ptField)] else { return .fail(.ENOENT) }
        guard pt is HwptObject || pt.kind == .ioas else { return .fail(.EINVAL) }
        if replace && dev.attachedHwpt == 0 { return .fail(.EINVAL) }
        if !replace && dev.attachedHwpt != 0 { return .fail(.EBUSY) }
        let dirty = dev.mockFlags & MockFlags.noDirty == 0
        if let h = pt as? HwptObject, dev.attachedHwpt != h.id, let e = baseAttachAllowed(ctx, dev, h) {
            return .fail(e)
        }
        guard let hwpt = attachTarget(ctx, pt, dirtyCapable: dirty) else { return .fail(.EINVAL) }
        if dev.attachedHwpt != hwpt.id { attach(ctx, dev, hwpt) }
        c[ptField] = UInt64(hwpt.id)
        return .ok()
    }

    /// The mock device a selftest object (`stdev`, MOCK_DOMAIN's out_stdev_id) owns.
    func selftestDevice(_ ctx: IommufdContext, _ stdev: UInt32) -> DeviceObject? {
        guard let st = ctx.objects[stdev], st.kind == .selftest else { return nil }
        return ctx.device(st.holds.first ?? 0)
    }

    /// The mock reports a vEVENT for its vDEVICE when it is attached to a
    /// nested HWPT of that vDEVICE's vIOMMU (ENOENT otherwise), into the
    /// vIOMMU's SELFTEST vEVENTQ (EOPNOTSUPP without one). A full queue
    /// loses the event, still 0.
    func triggerVevent(_ ctx: IommufdContext, _ dev: DeviceObject) -> HandlerResult {
        guard let h = ctx.hwpt(dev.attachedHwpt), h.kind == .hwptNested, let vi = ctx.viommu(h.holds.first ?? 0),
              let vd = ctx.vdevice(dev.vdeviceId), vd.viommuId == vi.id else { return .fail(.ENOENT) }
        let selftest = UInt32(truncatingIfNeeded: profile.enums["IOMMU_VEVENTQ_TYPE_SELFTEST"] ?? -1)
        let q = ctx.objects.values.lazy.compactMap { $0 as? VeventqObject }
            .first { $0.viommuId == vi.id && $0.type == selftest }
        guard let q else { return .fail(.EOPNOTSUPP) }
        // struct iommu_viommu_event_selftest { u32 virt_id; }: the vDEVICE's virtual id.
        deliverVevent(q.queue, data: StructCodec.le32(UInt32(truncatingIfNeeded: vd.virtId)))
        return .ok(respond: .none)
    }
}
