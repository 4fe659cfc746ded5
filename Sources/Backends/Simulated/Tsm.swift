import Cases
import Layout

/// IOMMU_VDEVICE_TSM_OP and the three TSM request flavours (v2 guest request,
/// v5 TSM_REQ, post-v5 TSM_REQ), in the handler orders of
/// tsm-uapi-history §8, §10 and §11, plus the simulated SEV TSM behind them.
extension SimulatedKernel {
    /// TSM_OP (v2 field `op`, v5 field `type`). Order: flags → EOPNOTSUPP;
    /// vdevice lookup → ENOENT; no KVM → ENODEV; type ∉ {1,2} → EINVAL;
    /// non-PCI → EINVAL (tsm_bind error passed through); then bind/unbind.
    /// A second BIND and an UNBIND of an unbound vdevice both return 0: see
    /// `documentedChoices["tsm_op.second_bind"]` and `["tsm_op.unbind_unbound"]`.
    func tsmOp(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["flags"] != 0 && !mutations.contains(.tsmOpSkipFlagsCheck) && !skipFlags { return .fail(Errno.EOPNOTSUPP) }
        guard let v = lookup(ctx, c.u32("vdevice_id"), .vdevice) else { return .fail(Errno.ENOENT) }
        let kvm = ctx.objects[v.viommuId]?.kvm ?? false
        if !kvm && !mutations.contains(.tsmOpSkipKvmCheck) { return .fail(Errno.ENODEV) }
        let t = c[tsmOpField]
        if t != 1 && t != 2 {
            return mutations.contains(.tsmOpSkipTypeCheck) ? .ok() : .fail(Errno.EINVAL)
        }
        guard let p = ctx.objects[v.deviceId]?.pci else { return .fail(Errno.EINVAL) }
        if t == 1 {
            if let e = tsmBind(p, through: v) { return .fail(e) }
        } else if p.boundVdevice === v {
            tsmUnbind(p)
        }
        return .ok()
    }

    /// Resolve the vdevice of a TSM request to its PCI device.
    /// `.failure` carries ENOENT / EINVAL; `.success(nil)` is the phantom
    /// unbound PCI device of `tsmReqSkipVdeviceLookup`.
    func tsmTarget(_ ctx: IommufdContext, _ id: UInt32) -> Result<SimPciDevice?, SimErr> {
        guard let v = lookup(ctx, id, .vdevice) else {
            return mutations.contains(.tsmReqSkipVdeviceLookup) ? .success(nil) : .failure(SimErr(Errno.ENOENT))
        }
        if let p = ctx.objects[v.deviceId]?.pci { return .success(p) }
        return mutations.contains(.tsmReqSkipPciCheck) ? .success(nil) : .failure(SimErr(Errno.EINVAL))
    }

    /// v5 IOMMU_VDEVICE_TSM_REQ (§10), or post-v5 (§11) by layout.
    func tsmReq(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if tsmReqFlavour == .postV5 { return tsmReqPostV5(ctx, &c, mem) }
        if c["__reserved"] != 0 && !mutations.contains(.tsmReqSkipReserved) && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let scope = c.u32("scope")
        if scope > 3 && !mutations.contains(.tsmReqSkipScopeRange) { return .fail(Errno.EINVAL) }
        let p: SimPciDevice?
        switch tsmTarget(ctx, c.u32("vdevice_id")) {
        case .failure(let e): return .fail(e.errno)
        case .success(let d): p = d
        }
        return pciGuestReq(p, scope: scope, c: c, mem)
    }

    /// v2 IOMMU_VDEVICE_TSM_GUEST_REQUEST (§8): iommufd checks no fields
    /// (the hole at 20..23 is never looked at); lookup → ENOENT; non-PCI →
    /// EINVAL; PCI layer: scope > 1 → EINVAL, unbound → ENXIO.
    func tsmGuestRequestV2(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let p: SimPciDevice?
        switch tsmTarget(ctx, c.u32("vdevice_id")) {
        case .failure(let e): return .fail(e.errno)
        case .success(let d): p = d
        }
        return pciGuestReq(p, scope: c.u32("scope"), c: c, mem)
    }

    /// pci_tsm_guest_req(): DEBUG scopes → EINVAL; no bound TDI → ENXIO; else the TSM.
    func pciGuestReq(_ p: SimPciDevice?, scope: UInt32, c: Cmd, _ mem: UserMemory) -> HandlerResult {
        if scope > 1 && !mutations.contains(.tsmReqAllowDebugScopes) { return .fail(Errno.EINVAL) }
        if !(p?.tsmBound ?? false) && !mutations.contains(.tsmReqSkipBoundCheck) { return .fail(Errno.ENXIO) }
        guard let dev = p else { return .fail(Errno.ENXIO) }  // no TSM behind a phantom/non-PCI device
        return tsmForward(dev, code: scope, stateChange: scope == 1, c: c, mem, respond: .none)
    }

    /// post-v5 TSM_REQ: tvm_arch/op ranges → EINVAL; SEV DMA ops need SEV;
    /// lookup → ENOENT; non-PCI → EINVAL; unbound → ENXIO; the SEV TSM
    /// rejects other arches → EINVAL. `tsm_code` is zeroed and the 48-byte
    /// struct is written back on every handler outcome.
    func tsmReqPostV5(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        c["tsm_code"] = 0
        func fail(_ e: Errno) -> HandlerResult { .init(value: -1, errno: e, respond: .full) }
        let arch = c.u32("tvm_arch"), op = c.u32("op")
        let skipRange = mutations.contains(.tsmReqSkipScopeRange)
        if !(1...3).contains(arch) && !skipRange { return fail(Errno.EINVAL) }
        if !(1...7).contains(op) && !skipRange { return fail(Errno.EINVAL) }
        if (op == 6 || op == 7) && arch != 2 && !skipRange { return fail(Errno.EINVAL) }
        let p: SimPciDevice?
        switch tsmTarget(ctx, c.u32("vdevice_id")) {
        case .failure(let e): return fail(e.errno)
        case .success(let d): p = d
        }
        if !(p?.tsmBound ?? false) && !mutations.contains(.tsmReqSkipBoundCheck) { return fail(Errno.ENXIO) }
        guard let dev = p else { return fail(Errno.ENXIO) }
        if arch != 2 { return fail(Errno.EINVAL) }  // the simulated TSM is SEV
        return tsmForward(dev, code: op, stateChange: op == 5, c: c, mem, respond: .full)
    }

    static let tsmMaxRequest = 256
    static let tsmResponseSize = 32

    /// The simulated TSM: consumes up to 256 request bytes, answers 32
    /// deterministic bytes, returns the residue (see documentedChoices["tsm.response"]).
    func tsmForward(_ p: SimPciDevice, code: UInt32, stateChange: Bool, c: Cmd, _ mem: UserMemory, respond: Respond) -> HandlerResult {
        func fail(_ e: Errno) -> HandlerResult { .init(value: -1, errno: e, respond: respond) }
        let reqLen = Int(c.u32("req_len")), respLen = Int(c.u32("resp_len"))
        let consumed = min(reqLen, SimulatedKernel.tsmMaxRequest)
        var sum = 0
        if consumed > 0 {
            guard let req = mem.read(c["req_uptr"], consumed) else { return fail(Errno.EFAULT) }
            for b in req { sum &+= Int(b) }
        }
        let residue: Int
        let respPtr = c["resp_uptr"]
        if respPtr != 0 {
            let n = min(respLen, SimulatedKernel.tsmResponseSize)
            let out = SimulatedKernel.tsmResponse(code: code, requestSum: sum, count: n)
            if n > 0 && !mem.write(respPtr, out) { return fail(Errno.EFAULT) }
            residue = respLen - n
        } else {
            residue = reqLen - consumed
        }
        if stateChange && p.tdi == .configLocked { p.tdi = .run }
        return .init(value: residue, errno: nil, respond: respond)
    }

    /// The TSM's response bytes, exposed so tests can predict them.
    package static func tsmResponse(code: UInt32, requestSum: Int, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(code) &+ requestSum) }
    }
}
