import Cases
import Layout

/// `flags` and a driver `type`: DEFAULT is refused, SELFTEST is the one type
/// the simulated driver takes (documentedChoices["iommu.driver"]).
struct TypedAlloc {
    let flags, type: FieldHandle
    let flagMask, typeDefault, typeSelftest: UInt64
    /// `types`: the constants' prefix, e.g. IOMMU_VIOMMU_TYPE.
    init(_ r: FieldResolver, types: String) throws {
        flags = try r("flags"); type = try r("type"); flagMask = try r.flagMask()
        typeDefault = try r.constant(types + "_DEFAULT"); typeSelftest = try r.constant(types + "_SELFTEST")
    }
}

struct ViommuAllocFields {
    let alloc: TypedAlloc
    let devId, hwptId, dataLen, dataUptr, outViommuId: FieldHandle
    /// tsm-v2: the KVM comes from IOMMU_VIOMMU_KVM_FD and `kvm_vm_fd`; a
    /// profile with that flag must have the field, one without has neither.
    let kvmFd: (flag: UInt64, field: FieldHandle)?
    init(_ r: FieldResolver) throws {
        alloc = try .init(r, types: "IOMMU_VIOMMU_TYPE")
        devId = try r("dev_id"); hwptId = try r("hwpt_id")
        dataLen = try r("data_len"); dataUptr = try r("data_uptr"); outViommuId = try r("out_viommu_id")
        let kvmFlag = r.profile.enums["IOMMU_VIOMMU_KVM_FD"] != nil
        kvmFd = kvmFlag ? (try r.constant("IOMMU_VIOMMU_KVM_FD"), try r("kvm_vm_fd")) : nil
    }
}

struct VdeviceAllocFields {
    let viommuId, devId, virtId, outVdeviceId: FieldHandle
    init(_ r: FieldResolver) throws {
        viommuId = try r("viommu_id"); devId = try r("dev_id"); virtId = try r("virt_id")
        outVdeviceId = try r("out_vdevice_id")
    }
}

struct VeventqAllocFields {
    let alloc: TypedAlloc
    let reserved, depth, viommuId, outVeventqId, outVeventqFd: FieldHandle
    init(_ r: FieldResolver) throws {
        alloc = try .init(r, types: "IOMMU_VEVENTQ_TYPE")
        reserved = try r("__reserved"); depth = try r("veventq_depth"); viommuId = try r("viommu_id")
        outVeventqId = try r("out_veventq_id"); outVeventqFd = try r("out_veventq_fd")
    }
}

struct HwQueueAllocFields {
    let alloc: TypedAlloc
    let length, base, viommuId, index, outHwQueueId: FieldHandle
    init(_ r: FieldResolver) throws {
        alloc = try .init(r, types: "IOMMU_HW_QUEUE_TYPE")
        length = try r("length"); base = try r("nesting_parent_iova"); viommuId = try r("viommu_id")
        index = try r("index"); outHwQueueId = try r("out_hw_queue_id")
    }
}

/// vIOMMU, vDEVICE, vEVENTQ and hardware queue allocation (contract §4, 0x90-0x94).
extension SimulatedKernel {
    func viommuAlloc(_ f: ViommuAllocFields, _ ctx: IommufdContext, _ c: inout Cmd,
                     _ mem: UserMemory) -> HandlerResult {
        let a = f.alloc, flags = c[a.flags]
        if flags & ~a.flagMask != 0 && !skipFlags && !skipReserved { return .fail(.EOPNOTSUPP) }
        let type = c[a.type]
        if type == a.typeDefault { return .fail(.EOPNOTSUPP) }
        // __reserved is deliberately not checked (contract §5.3).
        guard let dev = ctx.device(c.u32(f.devId)) else { return .fail(.ENOENT) }
        if type != a.typeSelftest { return .fail(.EOPNOTSUPP) }
        guard let hwpt = ctx.pagingHwpt(c.u32(f.hwptId)) else { return .fail(.ENOENT) }
        if !hwpt.nestParent { return .fail(.EINVAL) }
        let dl = c[f.dataLen]
        var data: [UInt8]?
        if dl != 0 {
            // iommu_copy_struct_from_user: the length (offsetofend out_data ... sizeof) before the copy.
            switch driverPayload(mem, len: dl, uptr: c[f.dataUptr],
                                 lengths: Selftest.viommuDataMin...Selftest.viommuDataMax) {
            case .failure(let e): return .fail(e.errno)
            case .success(let d): data = d
            }
        }
        // documentedChoices["kvm.source"]: the device node's KVM, or (v2) the fd's.
        var kvm = dev.pci?.hasKVM ?? false
        if let kvmFd = f.kvmFd {
            kvm = false
            if flags & kvmFd.flag != 0 {
                guard case .kvm? = files[Int32(truncatingIfNeeded: c[kvmFd.field])] else { return .fail(.EBADF) }
                kvm = true
            }
        }
        let o = newObject(ctx) { ViommuObject(id: $0, kvm: kvm) }
        o.mockIommu = dev.pci == nil
        if let data, let e = viommuLoopback(ctx, o, data, uptr: c[f.dataUptr], mem) {
            remove(ctx, o)
            return .fail(e)
        }
        hold(o, hwpt)
        c[f.outViommuId] = UInt64(o.id)
        return .ok()
    }

    /// struct iommu_viommu_selftest: two pages to mmap whose first word is in_data; out_data = in_data and the
    /// region's offset and length go back to the user (iommu_copy_struct_to_user, as much as the user gave).
    func viommuLoopback(_ ctx: IommufdContext, _ o: ViommuObject, _ data: [UInt8], uptr: UInt64,
                        _ mem: UserMemory) -> Errno? {
        let inData = UInt32(StructCodec.load(data, 0, 4)), length = 2 * PAGE
        let offset = allocMmap(ctx, owner: o.id, length: length,
                               contents: StructCodec.le32(inData) + [UInt8](repeating: 0, count: Int(length) - 4))
        let out = StructCodec.le32(inData) + StructCodec.le32(inData)
            + StructCodec.le64(offset) + StructCodec.le64(length)
        return mem.write(uptr, Array(out.prefix(data.count))) ? nil : .EFAULT
    }

    func vdeviceAlloc(_ f: VdeviceAllocFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        guard let vi = ctx.viommu(c.u32(f.viommuId)) else { return .fail(.ENOENT) }
        guard let dev = ctx.device(c.u32(f.devId)) else { return .fail(.ENOENT) }
        if !vi.serves(dev) { return .fail(.EINVAL) }
        let virt = c[f.virtId]
        if dev.vdeviceId != 0 || vi.virtIds[virt] != nil { return .fail(.EEXIST) }
        let o = newObject(ctx) { VdeviceObject(id: $0, viommuId: vi.id, deviceId: dev.id, virtId: virt) }
        hold(o, vi)
        dev.vdeviceId = o.id
        vi.virtIds[virt] = o.id
        c[f.outVdeviceId] = UInt64(o.id)
        return .ok()
    }

    func veventqAlloc(_ f: VeventqAllocFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        let a = f.alloc
        if c[a.flags] & ~a.flagMask != 0 && !skipFlags && !skipReserved { return .fail(.EOPNOTSUPP) }
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        let type = c.u32(a.type)
        if type == a.typeDefault { return .fail(.EOPNOTSUPP) }
        // eventq.c's VEVENTQ_MAX_DEPTH (not in the uAPI): an arbitrary bound that fits every IOMMU.
        if c[f.depth] == 0 || c[f.depth] > 1 << 19 { return .fail(.EINVAL) }
        guard let vi = ctx.viommu(c.u32(f.viommuId)) else { return .fail(.ENOENT) }
        // Any type but DEFAULT is taken: the core does not ask the driver (seen on 7.2 by the fuzzer).
        if vi.veventqTypes.contains(type) { return .fail(.EEXIST) }
        let o = newObject(ctx) { VeventqObject(id: $0, viommuId: vi.id, type: type, depth: c[f.depth]) }
        hold(o, vi)
        vi.veventqTypes.insert(type)
        c[f.outVeventqId] = UInt64(o.id)
        o.users += 1  // the descriptor's reference (iommufd_eventq_init): destroy is EBUSY while it is open
        o.queue.object = o
        c[f.outVeventqFd] = UInt64(install(.eventq(o.queue)))
        return .ok()
    }

    /// The largest kvzalloc the simulator grants (a documented choice: the lane's guest has 1 GiB).
    static let kvzallocLimit: UInt64 = 512 << 20

    func hwQueueAlloc(_ f: HwQueueAllocFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        let a = f.alloc
        if c[a.flags] & ~a.flagMask != 0 && !skipFlags && !skipReserved { return .fail(.EOPNOTSUPP) }
        let type = c[a.type]
        if type == a.typeDefault { return .fail(.EOPNOTSUPP) }
        let length = c[f.length], base = c[f.base]
        if length == 0 { return .fail(.EINVAL) }
        if base.addingReportingOverflow(length - 1).overflow { return .fail(.EOVERFLOW) }
        guard let vi = ctx.viommu(c.u32(f.viommuId)) else { return .fail(.ENOENT) }
        if type != a.typeSelftest { return .fail(.EOPNOTSUPP) }
        // Whole pages from the page holding `base`: the offset into it plus the
        // length, rounded up, must not wrap (ERANGE, before any pinning).
        let (span, wrapped) = (base & (Fixed.page - 1)).addingReportingOverflow(length)
        if wrapped || span.addingReportingOverflow(Fixed.page - 1).overflow { return .fail(.ERANGE) }
        // iommufd_hw_queue_alloc_phys: the queue's id is taken, then an internal access (the next id,
        // visible in the table) pins those pages of the nest parent's IOAS for reading, before the
        // driver sees the index. On any failure both go again.
        let ioas = ctx.hwpt(vi.holds.first ?? 0).flatMap { ctx.ioas($0.ioasId) }
        let pages = (span + Fixed.page - 1) / Fixed.page * Fixed.page
        // Its page array is one kvzalloc (ENOMEM): kvmalloc refuses more than INT_MAX bytes, and the lane's
        // 1 GiB guest cannot give more than half of that (a 1 GiB array failed there, seen by the fuzzer; a
        // machine with more memory may: the fuzzer's Explained.guestMemory).
        if pages / Fixed.page > SimulatedKernel.kvzallocLimit / 8 { return .fail(.ENOMEM) }
        guard let ioas else { return .fail(.ENOENT) }
        if let e = pinRange(ioas, iova: base & ~(Fixed.page - 1), length: pages, write: false, pin: true) {
            return .fail(e)
        }
        // The pinned pages must be physically contiguous; user memory is taken as never so (a kernel's
        // answer depends on its page allocator: the fuzzer's Explained.physicalContiguity).
        if pages > Fixed.page { return .fail(.EFAULT) }
        let index = c.u32(f.index)
        if index >= Selftest.hwQueues { return .fail(.EINVAL) }
        if vi.hwQueues.contains(index) { return .fail(.EEXIST) }
        // The mock takes queues in order: each holds the one before it (iommufd_hw_queue_depend).
        let prev = ctx.objects.values.lazy.compactMap { $0 as? HwQueueObject }
            .first { $0.viommuId == vi.id && index > 0 && $0.index == index - 1 }
        if index > 0 && prev == nil { return .fail(.EIO) }
        let o = newObject(ctx) { HwQueueObject(id: $0, viommuId: vi.id, index: index) }
        o.ioasId = ioas.id; o.base = base; o.length = length
        let access = newObject(ctx) { SimObject(id: $0, kind: .access) }
        hold(o, vi)
        if let prev { hold(o, prev) }
        hold(o, access)  // destroyed with the queue; IOMMU_DESTROY of it is EBUSY
        o.accessId = access.id
        vi.hwQueues.insert(index)
        c[f.outHwQueueId] = UInt64(o.id)
        return .ok()
    }
}
