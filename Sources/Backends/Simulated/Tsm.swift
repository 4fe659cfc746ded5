import Cases
import Layout

struct TsmOpFields {
    let flags, vdeviceId: FieldHandle
    /// v2 calls it `op`, v5 `type`.
    let op: FieldHandle
    let flagMask, bind, unbind: UInt64
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); vdeviceId = try r("vdevice_id"); op = try r.oneOf("type", "op")
        flagMask = try r.flagMask()
        bind = try r.constant("IOMMU_VDEVICE_TSM_BIND"); unbind = try r.constant("IOMMU_VDEVICE_TSM_UNBIND")
    }
}

/// The request and response buffers every TSM request flavour carries.
struct TsmBuffers {
    let reqLen, respLen, reqUptr, respUptr: FieldHandle
    init(_ r: FieldResolver) throws {
        reqLen = try r("req_len"); respLen = try r("resp_len")
        reqUptr = try r("req_uptr"); respUptr = try r("resp_uptr")
    }
}

/// The three TSM request flavours, each with only the fields it has.
enum TsmReqFields {
    /// tsm-v2 IOMMU_VDEVICE_TSM_GUEST_REQUEST (§8).
    case v2(GuestRequestFields)
    /// tsm-v5 IOMMU_VDEVICE_TSM_REQ (§10): scope and __reserved.
    case v5(TsmReqV5Fields)
    /// post-v5 IOMMU_VDEVICE_TSM_REQ (§11): op, tvm_arch and tsm_code.
    case postV5(TsmReqPostV5Fields)

    /// IOMMU_VDEVICE_TSM_REQ: the post-v5 layout is the one with `tvm_arch`.
    static func resolve(_ r: FieldResolver) throws -> TsmReqFields {
        r.has("tvm_arch") ? .postV5(try .init(r)) : .v5(try .init(r))
    }
}

struct GuestRequestFields {
    let vdeviceId, scope: FieldHandle
    let buffers: TsmBuffers
    init(_ r: FieldResolver) throws { vdeviceId = try r("vdevice_id"); scope = try r("scope"); buffers = try .init(r) }
}

struct TsmReqV5Fields {
    let reserved, vdeviceId, scope: FieldHandle
    let buffers: TsmBuffers
    let scopeLast: UInt64
    init(_ r: FieldResolver) throws {
        reserved = try r("__reserved"); vdeviceId = try r("vdevice_id"); scope = try r("scope"); buffers = try .init(r)
        scopeLast = try r.constant("IOMMU_VDEVICE_TSM_REQ_SCOPE_PCI_LAST")
    }
}

struct TsmReqPostV5Fields {
    let vdeviceId, op, tvmArch, tsmCode: FieldHandle
    let buffers: TsmBuffers
    let ops, archs, sevOps: Set<UInt64>
    let sev, setTdiState: UInt64
    init(_ r: FieldResolver) throws {
        vdeviceId = try r("vdevice_id"); op = try r("op"); tvmArch = try r("tvm_arch"); tsmCode = try r("tsm_code")
        buffers = try .init(r)
        ops = try r.enumValues("op"); archs = try r.enumValues("tvm_arch")
        sevOps = [try r.constant("TSM_REQ_SEV_ENABLE_DMA"), try r.constant("TSM_REQ_SEV_DISABLE_DMA")]
        sev = try r.constant("IOMMU_VDEVICE_TSM_TVM_ARCH_SEV"); setTdiState = try r.constant("TSM_REQ_SET_TDI_STATE")
    }
}

/// Scopes of pci_tsm_guest_req() (the PCI layer, not the uAPI): INFO and
/// STATE_CHANGE are forwarded, the DEBUG ones refused.
enum PciTsmScope {
    static let stateChange: UInt32 = 1
    static let lastForwarded: UInt32 = stateChange
}

/// IOMMU_VDEVICE_TSM_OP and the three TSM request flavours (v2 guest request,
/// v5 TSM_REQ, post-v5 TSM_REQ), in the handler orders of
/// tsm-uapi-history §8, §10 and §11, plus the simulated SEV TSM behind them.
extension SimulatedKernel {
    /// TSM_OP (v2 field `op`, v5 field `type`). Order: flags → EOPNOTSUPP;
    /// vdevice lookup → ENOENT; no KVM → ENODEV; type ∉ {BIND, UNBIND} → EINVAL;
    /// non-PCI → EINVAL (tsm_bind error passed through); then bind/unbind.
    /// A second BIND and an UNBIND of an unbound vdevice both return 0: see
    /// `documentedChoices["tsm_op.second_bind"]` and `["tsm_op.unbind_unbound"]`.
    func tsmOp(_ f: TsmOpFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c[f.flags] & ~f.flagMask != 0 && !mutations.contains(.tsmOpSkipFlagsCheck) && !skipFlags {
            return .fail(.EOPNOTSUPP)
        }
        guard let v = ctx.vdevice(c.u32(f.vdeviceId)) else { return .fail(.ENOENT) }
        let kvm = ctx.viommu(v.viommuId)?.kvm ?? false
        if !kvm && !mutations.contains(.tsmOpSkipKvmCheck) { return .fail(.ENODEV) }
        let t = c[f.op]
        if t != f.bind && t != f.unbind {
            return mutations.contains(.tsmOpSkipTypeCheck) ? .ok() : .fail(.EINVAL)
        }
        guard let p = ctx.device(v.deviceId)?.pci else { return .fail(.EINVAL) }
        if t == f.bind {
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
        guard let v = ctx.vdevice(id) else {
            return mutations.contains(.tsmReqSkipVdeviceLookup) ? .success(nil) : .failure(SimErr(.ENOENT))
        }
        if let p = ctx.device(v.deviceId)?.pci { return .success(p) }
        return mutations.contains(.tsmReqSkipPciCheck) ? .success(nil) : .failure(SimErr(.EINVAL))
    }

    func tsmReq(_ f: TsmReqFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        switch f {
        case .v2(let g): return tsmGuestRequestV2(g, ctx, &c, mem)
        case .v5(let r): return tsmReqV5(r, ctx, &c, mem)
        case .postV5(let r): return tsmReqPostV5(r, ctx, &c, mem)
        }
    }

    /// v5 IOMMU_VDEVICE_TSM_REQ (§10): __reserved → EOPNOTSUPP; scope range
    /// → EINVAL; lookup → ENOENT; non-PCI → EINVAL; then the PCI layer.
    func tsmReqV5(_ f: TsmReqV5Fields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c[f.reserved] != 0 && !mutations.contains(.tsmReqSkipReserved) && !skipReserved { return .fail(.EOPNOTSUPP) }
        let scope = c.u32(f.scope)
        if UInt64(scope) > f.scopeLast && !mutations.contains(.tsmReqSkipScopeRange) { return .fail(.EINVAL) }
        let p: SimPciDevice?
        switch tsmTarget(ctx, c.u32(f.vdeviceId)) {
        case .failure(let e): return .fail(e.errno)
        case .success(let d): p = d
        }
        return pciGuestReq(p, scope: scope, f.buffers, c, mem)
    }

    /// v2 IOMMU_VDEVICE_TSM_GUEST_REQUEST (§8): iommufd checks no fields
    /// (the hole at 20..23 is never looked at); lookup → ENOENT; non-PCI →
    /// EINVAL; PCI layer: scope > 1 → EINVAL, unbound → ENXIO.
    func tsmGuestRequestV2(_ f: GuestRequestFields, _ ctx: IommufdContext, _ c: inout Cmd,
                           _ mem: UserMemory) -> HandlerResult {
        let p: SimPciDevice?
        switch tsmTarget(ctx, c.u32(f.vdeviceId)) {
        case .failure(let e): return .fail(e.errno)
        case .success(let d): p = d
        }
        return pciGuestReq(p, scope: c.u32(f.scope), f.buffers, c, mem)
    }

    /// pci_tsm_guest_req(): DEBUG scopes → EINVAL; no bound TDI → ENXIO; else the TSM.
    func pciGuestReq(_ p: SimPciDevice?, scope: UInt32, _ b: TsmBuffers, _ c: Cmd, _ mem: UserMemory) -> HandlerResult {
        if scope > PciTsmScope.lastForwarded && !mutations.contains(.tsmReqAllowDebugScopes) { return .fail(.EINVAL) }
        if !(p?.tsmBound ?? false) && !mutations.contains(.tsmReqSkipBoundCheck) { return .fail(.ENXIO) }
        guard let dev = p else { return .fail(.ENXIO) }  // no TSM behind a phantom/non-PCI device
        return tsmForward(dev, code: scope, stateChange: scope == PciTsmScope.stateChange, b, c, mem, respond: .none)
    }

    /// post-v5 TSM_REQ: tvm_arch/op ranges → EINVAL; SEV DMA ops need SEV;
    /// lookup → ENOENT; non-PCI → EINVAL; unbound → ENXIO; the SEV TSM
    /// rejects other arches → EINVAL. `tsm_code` is zeroed and the 48-byte
    /// struct is written back on every handler outcome.
    func tsmReqPostV5(_ f: TsmReqPostV5Fields, _ ctx: IommufdContext, _ c: inout Cmd,
                      _ mem: UserMemory) -> HandlerResult {
        c[f.tsmCode] = 0
        func fail(_ e: Errno) -> HandlerResult { .init(value: -1, errno: e, respond: .full) }
        let arch = UInt64(c.u32(f.tvmArch)), op = UInt64(c.u32(f.op))
        let skipRange = mutations.contains(.tsmReqSkipScopeRange)
        if !f.archs.contains(arch) && !skipRange { return fail(.EINVAL) }
        if !f.ops.contains(op) && !skipRange { return fail(.EINVAL) }
        if f.sevOps.contains(op) && arch != f.sev && !skipRange { return fail(.EINVAL) }
        let p: SimPciDevice?
        switch tsmTarget(ctx, c.u32(f.vdeviceId)) {
        case .failure(let e): return fail(e.errno)
        case .success(let d): p = d
        }
        if !(p?.tsmBound ?? false) && !mutations.contains(.tsmReqSkipBoundCheck) { return fail(.ENXIO) }
        guard let dev = p else { return fail(.ENXIO) }
        if arch != f.sev { return fail(.EINVAL) }  // documentedChoices["tsm.arch"]: the simulated TSM is SEV
        return tsmForward(dev, code: UInt32(op), stateChange: op == f.setTdiState, f.buffers, c, mem, respond: .full)
    }

    static let tsmMaxRequest = 256
    static let tsmResponseSize = 32

    /// The simulated TSM: consumes up to 256 request bytes, answers 32
    /// deterministic bytes, returns the residue (see documentedChoices["tsm.response"]).
    func tsmForward(_ p: SimPciDevice, code: UInt32, stateChange: Bool, _ b: TsmBuffers, _ c: Cmd, _ mem: UserMemory,
                    respond: Respond) -> HandlerResult {
        func fail(_ e: Errno) -> HandlerResult { .init(value: -1, errno: e, respond: respond) }
        let reqLen = Int(c.u32(b.reqLen)), respLen = Int(c.u32(b.respLen))
        let consumed = min(reqLen, SimulatedKernel.tsmMaxRequest)
        var sum = 0
        if consumed > 0 {
            guard let req = mem.read(c[b.reqUptr], consumed) else { return fail(.EFAULT) }
            for x in req { sum &+= Int(x) }
        }
        let residue: Int
        let respPtr = c[b.respUptr]
        if respPtr != 0 {
            let n = min(respLen, SimulatedKernel.tsmResponseSize)
            let out = SimulatedKernel.tsmResponse(code: code, requestSum: sum, count: n)
            if n > 0 && !mem.write(respPtr, out) { return fail(.EFAULT) }
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
