import Cases
import Layout

/// The mock's checks of what the kernel did to memory and caches (selftest.c): MD_CHECK_MAP (a mock domain
/// maps IOVA to the user's pages), MD_CHECK_REFS (how often each user page is pinned), MD_CHECK_IOTLB and
/// DEV_CHECK_CACHE (what invalidation left), and SET_TEMP_MEMORY_LIMIT. Each only where the profile has it.
struct MockCheckFields {
    let map: (op: UInt64, iova: FieldHandle, length: FieldHandle, uptr: FieldHandle)?
    let refs: (op: UInt64, length: FieldHandle, uptr: FieldHandle, refs: FieldHandle)?
    let limit: (op: UInt64, limit: FieldHandle)?
    let iotlb: (op: UInt64, id: FieldHandle, value: FieldHandle)?
    let cache: (op: UInt64, id: FieldHandle, value: FieldHandle)?
    let reserve: (op: UInt64, start: FieldHandle, length: FieldHandle)?

    init(_ r: FieldResolver) throws {
        func op(_ name: String) throws -> UInt64? { r.profile.enums[name] == nil ? nil : try r.constant(name) }
        map = try op("IOMMU_TEST_OP_MD_CHECK_MAP").map {
            ($0, try r("check_map.iova"), try r("check_map.length"), try r("check_map.uptr"))
        }
        refs = try op("IOMMU_TEST_OP_MD_CHECK_REFS").map {
            ($0, try r("check_refs.length"), try r("check_refs.uptr"), try r("check_refs.refs"))
        }
        limit = try op("IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT").map { ($0, try r("memory_limit.limit")) }
        iotlb = try op("IOMMU_TEST_OP_MD_CHECK_IOTLB").map { ($0, try r("check_iotlb.id"), try r("check_iotlb.iotlb")) }
        reserve = try op("IOMMU_TEST_OP_ADD_RESERVED").flatMap { k in
            try r.has("add_reserved.start") ? (k, r("add_reserved.start"), r("add_reserved.length")) : nil
        }
        cache = try op("IOMMU_TEST_OP_DEV_CHECK_CACHE").map {
            ($0, try r("check_dev_cache.id"), try r("check_dev_cache.cache"))
        }
    }
}

extension SimulatedKernel {
    /// The ops of `MockCheckFields`; nil for another op.
    func mockCheckOp(_ f: MockCheckFields, op: UInt64, id: UInt32, _ ctx: IommufdContext, _ c: inout Cmd,
                     _ mem: UserMemory) -> HandlerResult? {
        if let m = f.map, op == m.op { return checkMap(ctx, hwpt: id, iova: c[m.iova], length: c[m.length],
                                                       uptr: c[m.uptr], mem) }
        if let r = f.refs, op == r.op { return checkRefs(uptr: c[r.uptr], length: c[r.length], refs: c[r.refs], mem) }
        if let l = f.limit, op == l.op {
            if c[l.limit] < Selftest.memoryLimitMin { return .fail(.EINVAL) }
            return .ok(respond: .none)  // the batch size only changes how the kernel works, not what it does
        }
        if let t = f.iotlb, op == t.op {
            guard let h = ctx.hwpt(id), h.kind == .hwptNested else { return .fail(.ENOENT) }
            let i = Int(c[t.id])
            return i < h.iotlb.count && UInt64(h.iotlb[i]) == c[t.value] ? .ok(respond: .none) : .fail(.EINVAL)
        }
        if let v = f.reserve, op == v.op { return addReserved(ctx, ioas: id, start: c[v.start], length: c[v.length]) }
        if let k = f.cache, op == k.op {
            guard let d = ctx.device(id) else { return .fail(.ENOENT) }
            let i = Int(min(c[k.id], UInt64(Int.max)))
            return i < d.cache.count && UInt64(d.cache[i]) == c[k.value] ? .ok(respond: .none) : .fail(.EINVAL)
        }
        return nil
    }

    /// Each mock page of [iova, iova+length) must map the user page at the same offset of uptr.
    func checkMap(_ ctx: IommufdContext, hwpt id: UInt32, iova: UInt64, length: UInt64, uptr: UInt64,
                  _ mem: UserMemory) -> HandlerResult {
        guard let h = ctx.pagingHwpt(id) else { return .fail(.ENOENT) }
        guard let ioas = ctx.ioas(h.ioasId) else { return .fail(.EINVAL) }
        let page = SimulatedKernel.mockPage
        if iova % page != 0 || length % page != 0 || uptr % page != 0 || uptr.addingReportingOverflow(length).overflow {
            return .fail(.EINVAL)
        }
        let maps = currentMappings()
        var at: UInt64 = 0
        while at < length {
            if !mem.owns((uptr + at) / PAGE * PAGE, PAGE) { return .fail(.EFAULT) }
            guard let io = identity(ofIova: iova &+ at, in: ioas, maps), io == identity(ofUser: uptr + at, maps) else {
                return .fail(.EINVAL)
            }
            at += page
        }
        return .ok(respond: .none)
    }

    /// Every page of [uptr, uptr+length) must be there and pinned `refs` times (each iopt_pages pins once).
    /// Pages are told apart as the mock does: the same file's page is one page, however it is mapped.
    func checkRefs(uptr: UInt64, length: UInt64, refs: UInt64, _ mem: UserMemory) -> HandlerResult {
        if length % PAGE != 0 || uptr % PAGE != 0 || uptr.addingReportingOverflow(length).overflow {
            return .fail(.EINVAL)
        }
        let maps = currentMappings(), spans = pinnedSpans(maps)
        var at: UInt64 = 0
        while at < length {
            let p = uptr + at
            if !mem.owns(p, PAGE) { return .fail(.EFAULT) }
            let (file, start): (FileKey?, UInt64)
            switch identity(ofUser: p, maps) {
            case .anonymous(let va): (file, start) = (nil, va)
            case .file(let k, let off): (file, start) = (k, off)
            }
            let pins = Set(spans.filter { $0.file == file && start < $0.end && $0.start < start + PAGE }.map(\.pages))
            if UInt64(pins.count) != refs { return .fail(.EIO) }
            at += PAGE
        }
        return .ok(respond: .none)
    }

    /// The pages pinned now, in every open iommufd: an area of an IOAS with a domain, or the part of an area an
    /// access has pinned; each as a range of a file's offsets or of anonymous user addresses.
    func pinnedSpans(_ maps: [UserMapping]) -> [(file: FileKey?, start: UInt64, end: UInt64, pages: UInt64)] {
        var out: [(file: FileKey?, start: UInt64, end: UInt64, pages: UInt64)] = []
        func add(_ m: Mapping, _ from: UInt64, _ to: UInt64) {
            let at = m.addr &+ (from - m.iova), n = to - from
            if m.file {
                if let k = m.fileKey { out.append((k, at, at &+ n, m.pages)) }
                return
            }
            switch identity(ofUser: at, maps) {
            case .anonymous(let va): out.append((nil, va, va &+ n, m.pages))
            case .file(let k, let off): out.append((k, off, off &+ n, m.pages))
            }
        }
        var seen: [ObjectIdentifier] = []
        for case .iommufd(let ctx) in files.values where !seen.contains(ObjectIdentifier(ctx)) {
            seen.append(ObjectIdentifier(ctx))
            let accesses = ctx.objects.values.compactMap { $0 as? AccessObject }
            for case let ioas as IoasObject in ctx.objects.values {
                let domain = hasDomain(ctx, ioas)
                let items = accesses.filter { $0.ioasId == ioas.id }.flatMap { Array($0.items.values) }
                for m in ioas.mappings {
                    if domain { add(m, m.iova, m.iova &+ m.length); continue }
                    for it in items where it.iova < m.iova &+ m.length && m.iova < it.iova &+ it.length {
                        add(m, max(it.iova, m.iova), min(it.iova &+ it.length, m.iova &+ m.length))
                    }
                }
            }
        }
        return out
    }
}
