import Cases
import Layout

/// Facts of the selftest mock (drivers/iommu/iommufd/iommufd_test.h,
/// selftest.c): not in the installed headers, so not in the profile.
enum Selftest {
    /// struct iommu_test_hw_info { u32 flags; u32 test_reg; }, test_reg =
    /// IOMMU_HW_INFO_SELFTEST_REGVAL.
    static let hwInfo: [UInt8] = StructCodec.le32(0) + StructCodec.le32(0xdead_beef)
    /// MOCK_PASID_WIDTH: out_max_pasid_log2 of a mock device with PASID.
    static let pasidWidth: UInt64 = 20
    /// Accepted lengths of the IOMMU_HWPT_DATA_SELFTEST payload.
    static let hwptDataLengths: ClosedRange<UInt64> = 4...8
    /// struct iommu_hwpt_invalidate_selftest { u32 flags; u32 iotlb_id; }.
    static let hwptInvalidateSize: UInt32 = 8
    /// struct iommu_viommu_invalidate_selftest { u32 flags; u32 vdev_id; u32 cache_id; }.
    static let viommuInvalidateSize: UInt32 = 12
    /// KMALLOC_MAX_SIZE on x86-64 (MAX_PAGE_ORDER 10): a larger kzalloc fails.
    static let kmallocMax: UInt64 = 4 << 20
    /// IOMMU_TEST_INVALIDATE_FLAG_ALL, the one defined invalidation flag.
    static let invalidateFlagAll: UInt64 = 1
    /// MOCK_DEV_CACHE_ID_MAX.
    static let cacheIdMax: UInt64 = 3
    /// Largest vIOMMU driver data the mock reads (struct iommu_viommu_selftest and room to grow).
    static let viommuDataMax: UInt64 = 24
    /// The least of it the mock takes: offsetofend(struct iommu_viommu_selftest, out_data).
    static let viommuDataMin: UInt64 = 8
    /// MOCK_NESTED_DOMAIN_IOTLB_NUM; IOMMU_TEST_DEV_CACHE_DEFAULT.
    static let iotlbEntries = 4
    static let devCacheDefault: UInt32 = 0xbaddad
    /// The least SET_TEMP_MEMORY_LIMIT takes: one batch element (sizeof(unsigned long) + sizeof(u32)).
    static let memoryLimitMin: UInt64 = 12
    /// The mock's invalidation of an IOTLB or a device cache: entry `id`, or all of them.
    static func invalidate(_ entries: inout [UInt32], _ id: Int, all: Bool) {
        if all {
            for i in entries.indices { entries[i] = 0 }
        } else {
            entries[id] = 0
        }
    }
    /// The mock's hardware queues per vIOMMU.
    static let hwQueues: UInt32 = 2
}

/// MOCK_FLAGS_DEVICE_* of IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS.
enum MockFlags {
    static let noDirty: UInt32 = 1 << 0
    static let pasid: UInt32 = 1 << 2
    static let all: UInt32 = noDirty | pasid
}

/// A class: the handler table hands it out on every selftest ioctl, and its many dotted field names would
/// each be retained in a copy of a struct.
final class TestCmdFields {
    let op, id, devFlags, outStdevId, outHwptId, outIdevId: FieldHandle
    let mockDomain, mockDomainFlags: UInt64
    let access: AccessFields
    let events: MockEventFields
    let checks: MockCheckFields
    let dirty: MockDirtyFields?
    let dmabuf: MockDmabufFields?
    let pasid: MockPasidFields?
    init(_ r: FieldResolver) throws {
        pasid = try MockPasidFields(r)
        dmabuf = try MockDmabufFields(r)
        access = try AccessFields(r); events = try MockEventFields(r); checks = try MockCheckFields(r)
        dirty = try MockDirtyFields(r)
        op = try r("op"); id = try r("id"); devFlags = try r("dev_flags")
        outStdevId = try r("out_stdev_id"); outHwptId = try r("out_hwpt_id"); outIdevId = try r("out_idev_id")
        mockDomain = try r.constant("IOMMU_TEST_OP_MOCK_DOMAIN")
        mockDomainFlags = try r.constant("IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS")
    }
}

extension SimulatedKernel {
    /// IOMMU_TEST_CMD: MOCK_DOMAIN / MOCK_DOMAIN_FLAGS create a selftest
    /// object, a mock (non-PCI, no KVM) device and, for an IOAS, an auto HWPT.
    func testCmd(_ f: TestCmdFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let op = c[f.op]
        if let r = accessOp(f.access, op: op, id: c.u32(f.id), ctx, &c, mem) { return r }
        if let r = mockEventOp(f.events, op: op, id: c.u32(f.id), ctx, &c) { return r }
        if let r = mockCheckOp(f.checks, op: op, id: c.u32(f.id), ctx, &c, mem) { return r }
        if let d = f.dirty, op == d.op { return mockDirty(d, ctx, hwpt: c.u32(f.id), &c, mem) }
        if let d = f.dmabuf, let r = mockDmabufOp(d, op: op, &c) { return r }
        if let p = f.pasid, let r = mockPasidOp(p, op: op, stdev: c.u32(f.id), ctx, &c) { return r }
        guard op == f.mockDomain || op == f.mockDomainFlags else { return .fail(.EOPNOTSUPP) }
        let devFlags = op == f.mockDomainFlags ? c.u32(f.devFlags) : 0
        if devFlags & ~MockFlags.all != 0 { return .fail(.EINVAL) }
        // The selftest object and the device take their ids first; the device is bound (in the
        // table) when `id` is looked up, so naming it is EINVAL, not ENOENT (seen on 7.2).
        if c.u32(f.id) == freeId(ctx, after: freeId(ctx)) { return .fail(.EINVAL) }
        guard let pt = ctx.objects[c.u32(f.id)] else { return .fail(.ENOENT) }
        guard pt.kind == .ioas || pt.kind == .hwptPaging else { return .fail(.EINVAL) }
        // A new auto domain is added to the IOAS (Domains.swift); an existing one is shared.
        let reuse = ctx.objects.values.first { o in
            (o as? HwptObject)?.isAutoDomain(of: pt.id) == true && !ctx.objects.values.contains {
                ($0 as? DeviceObject)?.attachedHwpt == o.id && ($0 as? DeviceObject)?.pci != nil
            }
        } as? HwptObject
        if let ioas = pt as? IoasObject, reuse == nil, let e = addMockDomain(ctx, ioas) { return .fail(e) }
        // A device without dirty tracking cannot join a domain that has it (mock_domain_nop_attach).
        if let paging = pt as? HwptObject, paging.dirtyCapable, devFlags & MockFlags.noDirty != 0 {
            return .fail(.EINVAL)
        }
        let st = newObject(ctx) { SimObject(id: $0, kind: .selftest) }
        let dev = newObject(ctx) { DeviceObject(id: $0, pci: nil, mockFlags: devFlags) }
        hold(st, dev)
        let hwpt: HwptObject
        if let paging = pt as? HwptObject ?? reuse {
            hwpt = paging  // an IOAS's auto domain is shared (iommufd_device_auto_get_domain)
        } else {
            hwpt = newObject(ctx) { HwptObject(id: $0, nested: false, ioasId: pt.id) }
            hwpt.auto = true
            hwpt.dirtyCapable = false  // allocated without IOMMU_HWPT_ALLOC_DIRTY_TRACKING: no dirty_ops
            hold(hwpt, pt)
        }
        attach(ctx, dev, hwpt)
        c[f.outStdevId] = UInt64(st.id)
        c[f.outHwptId] = UInt64(hwpt.id)
        c[f.outIdevId] = UInt64(dev.id)
        return .ok()
    }
}
