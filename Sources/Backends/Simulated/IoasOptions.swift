import Cases
import Layout

struct OptionFields {
    let reserved, optionId, op, objectId, val64: FieldHandle
    let rlimitMode, hugePages, opSet, opGet: UInt64
    init(_ r: FieldResolver) throws {
        reserved = try r("__reserved"); optionId = try r("option_id"); op = try r("op")
        objectId = try r("object_id"); val64 = try r("val64")
        rlimitMode = try r.constant("IOMMU_OPTION_RLIMIT_MODE"); hugePages = try r.constant("IOMMU_OPTION_HUGE_PAGES")
        opSet = try r.constant("IOMMU_OPTION_OP_SET"); opGet = try r.constant("IOMMU_OPTION_OP_GET")
    }
}

struct VfioIoasFields {
    let reserved, op, ioasId: FieldHandle
    let get, set, clear: UInt64
    init(_ r: FieldResolver) throws {
        reserved = try r("__reserved"); op = try r("op"); ioasId = try r("ioas_id")
        get = try r.constant("IOMMU_VFIO_IOAS_GET"); set = try r.constant("IOMMU_VFIO_IOAS_SET")
        clear = try r.constant("IOMMU_VFIO_IOAS_CLEAR")
    }
}

/// IOMMU_OPTION, IOMMU_VFIO_IOAS and IOMMU_IOAS_CHANGE_PROCESS: what an IOAS is set to, not what it maps.
extension SimulatedKernel {
    func option(_ f: OptionFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        let op = c[f.op], val = c[f.val64]
        let ok = HandlerResult.ok(respond: .fields([f.val64]))
        switch c[f.optionId] {
        case f.rlimitMode:
            if c[f.objectId] != 0 { return .fail(.EOPNOTSUPP) }
            if op == f.opGet { c[f.val64] = ctx.rlimitMode; return ok }
            if op == f.opSet {
                // The simulated process has CAP_SYS_RESOURCE.
                if !ctx.objects.isEmpty { return .fail(.EBUSY) }
                if val > 1 { return .fail(.EINVAL) }
                ctx.rlimitMode = val
                return ok
            }
            return .fail(.EOPNOTSUPP)
        case f.hugePages:
            guard let ioas = ctx.ioas(c.u32(f.objectId)) else { return .fail(.ENOENT) }
            if op == f.opGet { c[f.val64] = ioas.hugePages; return ok }
            if op == f.opSet {
                if val > 1 { return .fail(.EINVAL) }
                // Large pages off raises the alignment to a page (iopt_calculate_iova_alignment).
                if val == 0, let e = disableLargePages(ctx, ioas) { return .fail(e) }
                ioas.hugePages = val
                return ok
            }
            return .fail(.EOPNOTSUPP)
        default:
            return .fail(.EOPNOTSUPP)
        }
    }

    /// iopt_disable_large_pages: not once domains have pages mapped (EINVAL), nor when an area does not
    /// suit the page alignment that follows (EADDRINUSE).
    func disableLargePages(_ ctx: IommufdContext, _ ioas: IoasObject) -> Errno? {
        guard ioas.hugePages != 0 else { return nil }
        if hasDomain(ctx, ioas) && !ioas.mappings.isEmpty { return .EINVAL }
        if !areasAligned(ioas, PAGE) { return .EADDRINUSE }
        ioas.hugePages = 0
        return nil
    }

    func vfioIoas(_ f: VfioIoasFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        switch c[f.op] {
        case f.get:
            guard ctx.vfioCompatIoas != 0, ctx.objects[ctx.vfioCompatIoas] != nil else { return .fail(.ENODEV) }
            c[f.ioasId] = UInt64(ctx.vfioCompatIoas)
            return .ok()
        case f.set:
            guard ctx.ioas(c.u32(f.ioasId)) != nil else { return .fail(.ENOENT) }
            ctx.vfioCompatIoas = c.u32(f.ioasId)
            return .ok(respond: .none)
        case f.clear:
            ctx.vfioCompatIoas = 0
            return .ok(respond: .none)
        default:
            return .fail(.EOPNOTSUPP)
        }
    }

    func changeProcess(_ f: ReservedOnly, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        for case let o as IoasObject in ctx.objects.values where o.mappings.contains(where: { !$0.file }) {
            return .fail(.EINVAL)
        }
        return .ok(respond: .none)
    }
}
