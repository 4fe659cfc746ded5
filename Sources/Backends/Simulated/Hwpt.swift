import Cases
import Layout

struct HwptAllocFields {
    let reserved, flags, devId, ptId, faultId, dataType, dataLen, dataUptr, outHwptId: FieldHandle
    let flagMask, nestParent, dirtyTracking, faultIdValid: UInt64
    /// The flags a paging HWPT (pt_id an IOAS) and a nested one take
    /// (`path_flag_bits`): 6.12's paging path refuses FAULT_ID_VALID, 7.2's takes it.
    let pagingFlags, nestedFlags: UInt64
    let dataNone, dataSelftest: UInt64
    /// MOCK_IOMMUPT_DEFAULT and _HUGE where the mock takes a page-table type for a paging HWPT (7.2); without
    /// them driver data on an IOAS is EOPNOTSUPP.
    let iommupt: (normal: UInt64, huge: UInt64)?
    /// IOMMU_HWPT_ALLOC_PASID where the version has it: the HWPT is PASID-compatible.
    let allocPasid: UInt64
    init(_ r: FieldResolver) throws {
        allocPasid = r.profile.enums["IOMMU_HWPT_ALLOC_PASID"].map { UInt64($0) } ?? 0
        iommupt = r.profile.enums["MOCK_IOMMUPT_HUGE"] == nil ? nil
            : (try r.constant("MOCK_IOMMUPT_DEFAULT"), try r.constant("MOCK_IOMMUPT_HUGE"))
        reserved = try r("__reserved"); flags = try r("flags"); devId = try r("dev_id"); ptId = try r("pt_id")
        faultId = try r("fault_id"); dataType = try r("data_type"); dataLen = try r("data_len")
        dataUptr = try r("data_uptr"); outHwptId = try r("out_hwpt_id")
        flagMask = try r.flagMask()
        nestParent = try r.constant("IOMMU_HWPT_ALLOC_NEST_PARENT")
        dirtyTracking = try r.constant("IOMMU_HWPT_ALLOC_DIRTY_TRACKING")
        faultIdValid = try r.constant("IOMMU_HWPT_FAULT_ID_VALID")
        pagingFlags = try r.pathFlagMask("paging"); nestedFlags = try r.pathFlagMask("nested")
        dataNone = try r.constant("IOMMU_HWPT_DATA_NONE"); dataSelftest = try r.constant("IOMMU_HWPT_DATA_SELFTEST")
    }
}

struct HwInfoFields {
    let flags, reserved, devId, dataLen, dataUptr: FieldHandle
    let outDataType, outMaxPasidLog2, outCapabilities: FieldHandle
    let flagMask, typeSelftest, capDirtyTracking: UInt64
    /// IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED where the version has it (7.2 reports it for the mock).
    let capNoAts: UInt64
    /// IOMMU_HW_INFO_FLAG_INPUT_TYPE with in_data_type and the DEFAULT type it
    /// stands for, where the version has the flag (7.2; not 6.12).
    let input: (flag: UInt64, field: FieldHandle, typeDefault: UInt64)?
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); reserved = try r("__reserved"); devId = try r("dev_id"); dataLen = try r("data_len")
        dataUptr = try r("data_uptr"); outDataType = try r("out_data_type")
        outMaxPasidLog2 = try r("out_max_pasid_log2"); outCapabilities = try r("out_capabilities")
        flagMask = try r.flagMask()
        typeSelftest = try r.constant("IOMMU_HW_INFO_TYPE_SELFTEST")
        capDirtyTracking = try r.constant("IOMMU_HW_CAP_DIRTY_TRACKING")
        capNoAts = r.profile.enums["IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED"].map { UInt64(bitPattern: $0) } ?? 0
        input = try r.flagBit("IOMMU_HW_INFO_FLAG_INPUT_TYPE").map {
            ($0, try r("in_data_type"), try r.constant("IOMMU_HW_INFO_TYPE_DEFAULT"))
        }
    }
}

struct SetDirtyFields {
    let flags, hwptId: FieldHandle
    let flagMask, enable: UInt64
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); hwptId = try r("hwpt_id"); flagMask = try r.flagMask()
        enable = try r.constant("IOMMU_HWPT_DIRTY_TRACKING_ENABLE")
    }
}

struct GetDirtyFields {
    let flags, reserved, hwptId, iova, length, pageSize, data: FieldHandle
    let flagMask, noClear: UInt64
    /// A range the IOAS does not map in full is EINVAL (the profile's
    /// `needs_mapped_range`: 6.12), else read as clean (7.2).
    let needsMappedRange: Bool
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); reserved = try r("__reserved"); hwptId = try r("hwpt_id"); iova = try r("iova")
        length = try r("length"); pageSize = try r("page_size"); data = try r("data"); flagMask = try r.flagMask()
        noClear = try r.constant("IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR")
        needsMappedRange = r.profile.ioctl(r.ioctl)?.needsMappedRange ?? false
    }
}

struct InvalidateFields {
    let reserved, hwptId, dataType, entryNum, entryLen, dataUptr: FieldHandle
    let dataSelftest: UInt64
    /// What hwpt_id names: a nested HWPT or a vIOMMU (7.2: any object, then its
    /// type checked → EINVAL), or a nested HWPT only (6.12: a typed lookup → ENOENT).
    let target: IdFieldType
    init(_ r: FieldResolver) throws {
        reserved = try r("__reserved"); hwptId = try r("hwpt_id"); dataType = try r("data_type")
        entryNum = try r("entry_num"); entryLen = try r("entry_len"); dataUptr = try r("data_uptr")
        dataSelftest = try r.constant("IOMMU_HWPT_INVALIDATE_DATA_SELFTEST")
        target = try r.idType("hwpt_id")
    }
}

struct FaultAllocFields {
    let flags, outFaultId, outFaultFd: FieldHandle
    let flagMask: UInt64
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); outFaultId = try r("out_fault_id"); outFaultFd = try r("out_fault_fd")
        flagMask = try r.flagMask()
    }
}

/// How far 7.2 lets one IOMMU_HWPT_INVALIDATE go (hw_pagetable.c): an entry
/// of at most a page, at most 2^19 entries, so one call cannot pin the CPU.
enum InvalidateLimits {
    static let maxEntryLen: UInt32 = 4096
    static let maxEntries: UInt32 = 1 << 19
}

/// HWPT ioctls and fault queues (contract §4, 0x89-0x8e).
extension SimulatedKernel {
    /// Driver payload copy (`iommu_copy_struct_from_user`): a length outside `lengths` → EINVAL, unreadable →
    /// EFAULT; else the bytes. Its own type check (EINVAL) is never reached: the mock refuses another type
    /// first (EOPNOTSUPP), so callers check the type.
    func driverPayload(_ mem: UserMemory, len: UInt64, uptr: UInt64,
                       lengths: ClosedRange<UInt64>) -> Result<[UInt8], SimErr> {
        if !lengths.contains(len) { return .failure(SimErr(.EINVAL)) }
        guard uptr != 0, let bytes = mem.read(uptr, Int(len)) else { return .failure(SimErr(.EFAULT)) }
        return .success(bytes)
    }

    /// struct iommu_hwpt_selftest for a paging HWPT: its pagetable_type, true for MOCK_IOMMUPT_HUGE.
    func mockPagetable(_ f: HwptAllocFields, _ mem: UserMemory, type: UInt64, len: UInt64,
                       uptr: UInt64) -> Result<Bool, SimErr> {
        guard let kinds = f.iommupt, type == f.dataSelftest else { return .failure(SimErr(.EOPNOTSUPP)) }
        let raw: [UInt8]
        switch driverPayload(mem, len: len, uptr: uptr, lengths: Selftest.hwptDataLengths) {
        case .failure(let e): return .failure(e)
        case .success(let b): raw = b
        }
        let kind = raw.count >= 8 ? StructCodec.load(raw, 4, 4) : 0
        guard kind == kinds.normal || kind == kinds.huge else { return .failure(SimErr(.EOPNOTSUPP)) }
        return .success(kind == kinds.huge)
    }

    func hwptAlloc(_ f: HwptAllocFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        // __reserved2 is deliberately not checked (contract §5.3).
        let dt = c[f.dataType], dl = c[f.dataLen]
        if (dt == f.dataNone) != (dl == 0) { return .fail(.EINVAL) }
        guard let dev = ctx.device(c.u32(f.devId)) else { return .fail(.ENOENT) }
        guard let pt = ctx.objects[c.u32(f.ptId)], pt.kind == .ioas || pt.kind == .hwptPaging || pt.kind == .viommu
        else { return .fail(.EINVAL) }
        let flags = c[f.flags]
        let faultAndNest = flags & f.faultIdValid != 0 && flags & f.nestParent != 0
        if !skipFlags && (flags & ~f.flagMask != 0 || faultAndNest) { return .fail(.EOPNOTSUPP) }
        if !skipFlags && pt.kind == .ioas && flags & ~f.pagingFlags != 0 { return .fail(.EOPNOTSUPP) }
        // The fault queue is looked up once the HWPT is made (iommufd_hwpt_alloc), after the checks of either path.
        func fault() -> SimObject?? {
            guard flags & f.faultIdValid != 0 else { return .some(nil) }
            return ctx.fault(c.u32(f.faultId)).map { .some($0) }
        }
        let o: HwptObject
        var queue: SimObject?
        if pt.kind == .ioas {
            if flags & f.dirtyTracking != 0 && dev.mockFlags & MockFlags.noDirty != 0 { return .fail(.EOPNOTSUPP) }
            var huge = false
            if dt != f.dataNone {
                switch mockPagetable(f, mem, type: dt, len: dl, uptr: c[f.dataUptr]) {
                case .failure(let e): return .fail(e.errno)
                case .success(let h): huge = h
                }
            }
            if dev.pci == nil, let ioas = pt as? IoasObject, let e = addMockDomain(ctx, ioas, huge: huge) {
                return .fail(e)
            }
            guard let q = fault() else { return .fail(.ENOENT) }
            queue = q
            o = newObject(ctx) { HwptObject(id: $0, nested: false, ioasId: pt.id) }
            o.nestParent = flags & f.nestParent != 0
            o.dirtyCapable = flags & f.dirtyTracking != 0
            o.hugeMock = huge
            hold(o, pt)
        } else {
            // Through a vIOMMU, the device must be behind its IOMMU first (7.2 iommufd_hwpt_alloc); on a
            // parent HWPT, flags and the driver data come before the parent (6.12 and 7.2 iommufd_hwpt_nested_alloc).
            if let vi = pt as? ViommuObject, !vi.serves(dev) { return .fail(.EINVAL) }
            if flags & ~f.nestedFlags != 0 && !skipFlags { return .fail(.EOPNOTSUPP) }
            if dt == f.dataNone { return .fail(.EOPNOTSUPP) }
            if let paging = pt as? HwptObject, !paging.nestParent { return .fail(.EINVAL) }
            // The mock's domain_alloc_nested takes only its own data type.
            if dt != f.dataSelftest { return .fail(.EOPNOTSUPP) }
            let data: [UInt8]
            switch driverPayload(mem, len: dl, uptr: c[f.dataUptr], lengths: Selftest.hwptDataLengths) {
            case .failure(let e): return .fail(e.errno)
            case .success(let b): data = b
            }
            guard let q = fault() else { return .fail(.ENOENT) }
            queue = q
            // A nested HWPT maps its parent's IOAS (through a vIOMMU: the vIOMMU's nest parent).
            let ioasId = (pt as? HwptObject)?.ioasId ?? ctx.hwpt(pt.holds.first ?? 0)?.ioasId ?? 0
            o = newObject(ctx) { HwptObject(id: $0, nested: true, ioasId: ioasId) }
            // struct iommu_hwpt_selftest { u32 iotlb; }: every IOTLB entry starts with it.
            o.iotlb = [UInt32](repeating: UInt32(StructCodec.load(data, 0, 4)), count: Selftest.iotlbEntries)
            hold(o, pt)
        }
        if let q = queue { hold(o, q) }
        o.pasidCompat = flags & f.allocPasid != 0
        c[f.outHwptId] = UInt64(o.id)
        return .ok()
    }

    func hwInfo(_ f: HwInfoFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let flags = c[f.flags]
        if flags & ~f.flagMask != 0 && !skipFlags { return .fail(.EOPNOTSUPP) }
        if c.nonZero(f.reserved) && !skipReserved { return .fail(.EOPNOTSUPP) }
        guard let dev = ctx.device(c.u32(f.devId)) else { return .fail(.ENOENT) }
        if let input = f.input, flags & input.flag != 0 {
            let t = c[input.field]
            if t != input.typeDefault && t != f.typeSelftest { return .fail(.EOPNOTSUPP) }
        }
        let info = Selftest.hwInfo
        let len = Int(c.u32(f.dataLen))
        if len > 0 {
            // copy_to_user of the driver's data, then clear_user of the rest: each may fault (EFAULT),
            // the first having written its bytes.
            let n = min(len, info.count), uptr = c[f.dataUptr]
            if !mem.write(uptr, Array(info[0..<n])) { return .fail(.EFAULT) }
            if len > n {
                guard mem.owns(uptr &+ UInt64(n), UInt64(len - n)) else { return .fail(.EFAULT) }
                if !mem.write(uptr &+ UInt64(n), [UInt8](repeating: 0, count: len - n)) { return .fail(.EFAULT) }
            }
        }
        c[f.dataLen] = UInt64(info.count)
        c[f.outDataType] = f.typeSelftest
        c[f.outMaxPasidLog2] = dev.mockFlags & MockFlags.pasid != 0 ? Selftest.pasidWidth : 0
        c[f.outCapabilities] = (dev.mockFlags & MockFlags.noDirty != 0 ? 0 : f.capDirtyTracking)
            | (dev.pci == nil ? f.capNoAts : 0)
        return .ok()
    }

    func setDirty(_ f: SetDirtyFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c[f.flags] & ~f.flagMask != 0 && !skipFlags { return .fail(.EOPNOTSUPP) }
        // __reserved is deliberately not checked (contract §5.3).
        guard let h = ctx.pagingHwpt(c.u32(f.hwptId)) else { return .fail(.ENOENT) }
        if !h.dirtyCapable { return .fail(.EOPNOTSUPP) }  // no dirty_ops (iopt_set_dirty_tracking)
        h.dirtyEnabled = c[f.flags] & f.enable != 0
        return .ok(respond: .none)
    }

    func getDirty(_ f: GetDirtyFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c[f.flags] & ~f.flagMask != 0 && !skipFlags { return .fail(.EOPNOTSUPP) }
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        guard let h = ctx.pagingHwpt(c.u32(f.hwptId)) else { return .fail(.ENOENT) }
        let iova = c[f.iova], length = c[f.length], ps = c[f.pageSize]
        // iommufd_check_iova_range, masks and all (a page size that is no power of two slips through),
        // then the dirty ops (seen on 7.2 by the fuzzer).
        let (last, o) = iova.addingReportingOverflow(length &- 1)
        if o { return .fail(.EOVERFLOW) }
        let pg = ctx.ioas(h.ioasId).map { ioasAlignment(ctx, $0) } ?? 1
        if iova & (pg - 1) != 0 || (last &+ 1) & (pg - 1) != 0 { return .fail(.EINVAL) }
        if ps == 0 || iova & (ps - 1) != 0 || (last &+ 1) & (ps - 1) != 0 { return .fail(.EINVAL) }
        if !h.dirtyCapable { return .fail(.EOPNOTSUPP) }  // no dirty_ops (iommu_read_and_clear_dirty)
        // The bitmap must lie in user memory; checked before a copy is made (length / page_size may be huge).
        // Where the walk's errors do not reach the caller (7.2: iova_bitmap_for_each returns nothing), an
        // unreachable bitmap is simply not written (seen on 7.2 by the fuzzer).
        let bytes = ((length / ps) + 7) / 8
        let unreachable: HandlerResult = f.needsMappedRange ? .fail(.EFAULT) : .ok(respond: .none)
        guard bytes == 0 || mem.owns(c[f.data], bytes) else { return unreachable }
        if bytes > 0 && !readDirty(ctx, h, iova: iova, length: length, pageSize: ps, bitmap: c[f.data],
                                   clear: c[f.flags] & f.noClear == 0, mem) { return unreachable }
        // The walk over the IOAS's areas, after the bitmap is pinned (6.12 io_pagetable.c).
        if f.needsMappedRange && !mapped(ctx.ioas(h.ioasId)?.mappings ?? [], iova: iova, length: length) {
            return .fail(.EINVAL)
        }
        return .ok(respond: .none)
    }

    /// Whether `mappings` cover [iova, iova + length) without a hole.
    func mapped(_ mappings: [Mapping], iova: UInt64, length: UInt64) -> Bool {
        var next = iova
        for m in mappings.sorted(by: { $0.iova < $1.iova }) where m.iova <= next && m.iova + m.length > next {
            next = m.iova + m.length
        }
        return next >= iova + length
    }

    func invalidate(_ f: InvalidateFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        // entry_num (entries handled) is written back even on error (`goto out`; seen on 7.2 by the fuzzer).
        func out(_ done: UInt32, _ e: Errno?) -> HandlerResult {
            c[f.entryNum] = UInt64(done)
            return .init(value: e == nil ? 0 : -1, errno: e, respond: .fields([f.entryNum]))
        }
        if c[f.reserved] != 0 && !skipReserved { return out(0, .EOPNOTSUPP) }
        let num = c.u32(f.entryNum), elen = c.u32(f.entryLen), uptr = c[f.dataUptr]
        let tooMuch = elen == 0 || elen > InvalidateLimits.maxEntryLen || num > InvalidateLimits.maxEntries
        if num != 0 && (uptr == 0 || tooMuch) { return out(0, .EINVAL) }
        // The id is looked up even for an empty array (seen on a 7.2 kernel).
        guard let o = ctx.objects[c.u32(f.hwptId)] else { return out(0, .ENOENT) }
        let named = o.kind == .hwptNested || (o.kind == .viommu && f.target.names("viommu"))
        if !named { return out(0, f.target.checkedAfterLookup ? .EINVAL : .ENOENT) }
        // The mock's vIOMMU allocates its copy of the array first: kzalloc refuses more than
        // KMALLOC_MAX_SIZE (4 MiB) before the type is checked, and returns before it counts an entry: the
        // entry_num written back is the one asked (seen on 7.2 by the fuzzer).
        let entryBytes = UInt64(num) * UInt64(Selftest.viommuInvalidateSize)
        if o.kind == .viommu && num != 0 && entryBytes > Selftest.kmallocMax { return out(num, .ENOMEM) }
        if c[f.dataType] != f.dataSelftest { return out(0, .EINVAL) }
        // An empty array of the right type only validates the type.
        if num == 0 { return out(0, nil) }
        guard let viommu = o as? ViommuObject else {
            // struct iommu_hwpt_invalidate_selftest { u32 flags; u32 iotlb_id; }, copied by
            // iommu_copy_struct_from_user_array: an entry of exactly its size (iotlb_id is its last member).
            if elen != Selftest.hwptInvalidateSize { return out(0, .EINVAL) }
            let h = o as? HwptObject
            for i in 0..<num {
                guard let e = mem.read(uptr &+ UInt64(i) &* UInt64(elen), Int(elen)) else { return out(i, .EFAULT) }
                let flags = StructCodec.load(e, 0, 4), id = Int(StructCodec.load(e, 4, 4))
                if flags & ~Selftest.invalidateFlagAll != 0 { return out(i, .EOPNOTSUPP) }
                if id >= Selftest.iotlbEntries { return out(i, .EINVAL) }
                if let h { Selftest.invalidate(&h.iotlb, id, all: flags & Selftest.invalidateFlagAll != 0) }
            }
            return out(num, nil)
        }
        // Each entry names a vDEVICE of this vIOMMU by virtual id; shorter entries are zero-extended. The
        // whole array is copied before any entry is handled (iommu_copy_struct_from_full_user_array).
        let size = Int(Selftest.viommuInvalidateSize)
        var entries: [[UInt8]] = []
        for i in 0..<num {
            // copy_struct_from_user per entry when the sizes differ: a longer entry's tail must be zero (E2BIG).
            guard let whole = mem.read(uptr &+ UInt64(i) &* UInt64(elen), Int(elen)) else { return out(0, .EFAULT) }
            if whole.count > size && whole[size...].contains(where: { $0 != 0 }) { return out(0, .E2BIG) }
            entries.append(Array(whole.prefix(size)) + [UInt8](repeating: 0, count: max(0, size - whole.count)))
        }
        for (i, e) in zip(UInt32(0)..., entries) {
            let flags = StructCodec.load(e, 0, 4), vdev = StructCodec.load(e, 4, 4), cache = StructCodec.load(e, 8, 4)
            if flags & ~Selftest.invalidateFlagAll != 0 { return out(i, .EOPNOTSUPP) }
            if cache > Selftest.cacheIdMax { return out(i, .EINVAL) }
            guard let vd = viommu.virtIds[vdev] else { return out(i, .EINVAL) }
            if let dev = ctx.vdevice(vd).flatMap({ ctx.device($0.deviceId) }) {
                Selftest.invalidate(&dev.cache, Int(cache), all: flags & Selftest.invalidateFlagAll != 0)
            }
        }
        return out(num, nil)
    }

    func faultAlloc(_ f: FaultAllocFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c[f.flags] & ~f.flagMask != 0 && !skipFlags && !skipReserved { return .fail(.EOPNOTSUPP) }
        let o = newObject(ctx) { FaultObject(id: $0) }
        c[f.outFaultId] = UInt64(o.id)
        o.users += 1  // the descriptor's reference (iommufd_eventq_init): destroy is EBUSY while it is open
        o.queue.object = o
        c[f.outFaultFd] = UInt64(install(.eventq(o.queue)))
        return .ok()
    }
}
