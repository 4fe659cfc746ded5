import Cases
import Layout

/// The mock domain's dirty bits: IOMMU_TEST_OP_DIRTY sets them on the page-table entries a user bitmap names
/// (as a device writing there would), IOMMU_HWPT_GET_DIRTY_BITMAP reads and clears them.
struct MockDirtyFields {
    let op: UInt64
    let flags, iova, length, pageSize, uptr, outNrDirty: FieldHandle
    init?(_ r: FieldResolver) throws {
        guard r.profile.enums["IOMMU_TEST_OP_DIRTY"] != nil else { return nil }
        op = try r.constant("IOMMU_TEST_OP_DIRTY")
        flags = try r("dirty.flags"); iova = try r("dirty.iova"); length = try r("dirty.length")
        pageSize = try r("dirty.page_size"); uptr = try r("dirty.uptr"); outNrDirty = try r("dirty.out_nr_dirty")
    }
}

extension SimulatedKernel {
    /// The mock's largest bitmap: 16 MiB of bits.
    static let dirtyBitsMax: UInt64 = 16 << 20 * 8

    /// The IOVA of the page-table entry holding `iova` in mock domain `h`.
    func dirtyEntry(_ ctx: IommufdContext, _ h: HwptObject, _ iova: UInt64) -> UInt64 {
        let pte = h.hugeMock ? MockAperture.hugePage : domainPage(ctx, h)
        return iova / pte * pte
    }

    /// IOMMU_TEST_OP_DIRTY: each set bit of the user bitmap dirties the entry of its page, where one is mapped;
    /// out_nr_dirty counts the set bits.
    func mockDirty(_ f: MockDirtyFields, _ ctx: IommufdContext, hwpt id: UInt32, _ c: inout Cmd,
                   _ mem: UserMemory) -> HandlerResult {
        let iova = c[f.iova], length = c[f.length], ps = c[f.pageSize], uptr = c[f.uptr]
        if ps == 0 || length == 0 || iova % ps != 0 || length % ps != 0 || uptr == 0 { return .fail(.EINVAL) }
        let bits = length / ps
        if bits > SimulatedKernel.dirtyBitsMax { return .fail(.EOVERFLOW) }
        guard let h = ctx.pagingHwpt(id) else { return .fail(.ENOENT) }
        if !h.dirtyEnabled { return .fail(.EINVAL) }  // MOCK_DIRTY_TRACK: dirty tracking is on
        guard let map = mem.read(uptr, Int((bits + 7) / 8)) else { return .fail(.EFAULT) }
        let ioas = ctx.ioas(h.ioasId)
        var count: UInt64 = 0
        for i in 0..<bits where map[Int(i / 8)] & (1 << (i % 8)) != 0 {
            count += 1
            let at = iova &+ i &* ps
            if let ioas, ioas.mappingIndex(at: at) != nil {
                h.dirty.insert(dirtyEntry(ctx, h, at))
            }
        }
        c[f.outNrDirty] = count
        return .ok()
    }

    /// Set the bitmap's bit of each page of [iova, iova+length) whose entry is dirty (bits already set stay),
    /// then clean those entries unless `clear` is false. False when the bitmap cannot be written.
    func readDirty(_ ctx: IommufdContext, _ h: HwptObject, iova: UInt64, length: UInt64, pageSize ps: UInt64,
                   bitmap: UInt64, clear: Bool, _ mem: UserMemory) -> Bool {
        let bits = length / ps, bytes = Int((bits + 7) / 8)
        guard !h.dirty.isEmpty else { return mem.owns(bitmap, UInt64(bytes)) }
        guard var map = mem.read(bitmap, bytes) else { return false }
        var read: Set<UInt64> = []
        for i in 0..<bits {
            let e = dirtyEntry(ctx, h, iova &+ i &* ps)
            if h.dirty.contains(e) { map[Int(i / 8)] |= 1 << (i % 8); read.insert(e) }
        }
        if clear { h.dirty.subtract(read) }
        return mem.write(bitmap, map)
    }
}
