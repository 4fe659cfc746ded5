import Cases
import Layout

let ULONG_MAX = UInt64.max
let PAGE: UInt64 = 4096

/// The selftest mock's aperture (iommufd selftest.c MOCK_APERTURE_START/LAST).
enum MockAperture {
    static let start: UInt64 = 1 << 24
    static let last: UInt64 = (1 << 31) - 1
    /// A MOCK_IOMMUPT_HUGE domain keeps the AMDv1 table's own aperture: 56 bits of IOVA.
    static let hugeLast: UInt64 = (1 << 56) - 1
    /// MOCK_HUGE_PAGE_SIZE: the entry such a domain maps with.
    static let hugePage: UInt64 = 512 * 2048
}

/// IOMMU_IOAS_MAP flag bits, shared by MAP, MAP_FILE and COPY.
struct MapFlags {
    let mask: UInt64
    let fixedIova: UInt64
    /// READABLE | WRITEABLE: a mapping needs at least one.
    let access, readable, writable: UInt64
    init(_ r: FieldResolver) throws {
        mask = try r.flagMask()
        fixedIova = try r.constant("IOMMU_IOAS_MAP_FIXED_IOVA")
        readable = try r.constant("IOMMU_IOAS_MAP_READABLE"); writable = try r.constant("IOMMU_IOAS_MAP_WRITEABLE")
        access = readable | writable
    }
}

struct DestroyFields {
    let id: FieldHandle
    init(_ r: FieldResolver) throws { id = try r("id") }
}

struct IoasAllocFields {
    let flags, outIoasId: FieldHandle
    let flagMask: UInt64
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); outIoasId = try r("out_ioas_id"); flagMask = try r.flagMask()
    }
}

/// ALLOW_IOVAS and IOVA_RANGES: an IOAS and an array of iommu_iova_range.
struct IovaListFields {
    let reserved, ioasId, numIovas, allowedIovas: FieldHandle
    /// IOVA_RANGES' out_iova_alignment.
    let outAlignment: FieldHandle?
    init(_ r: FieldResolver, alignment: Bool = false) throws {
        reserved = try r("__reserved"); ioasId = try r("ioas_id"); numIovas = try r("num_iovas")
        allowedIovas = try r("allowed_iovas"); outAlignment = try r.field("out_iova_alignment", if: alignment)
    }
}

struct MapFields {
    let flags, ioasId, iova, length: FieldHandle
    let bits: MapFlags
    /// IOAS_MAP's __reserved; MAP_FILE has none.
    let reserved: FieldHandle?
    /// MAP_FILE's file: its fd and the offset in it.
    let file: (fd: FieldHandle, start: FieldHandle)?
    /// IOAS_MAP's user address (the allocated IOVA keeps its alignment).
    let userVa: FieldHandle?
    init(_ r: FieldResolver, file isFile: Bool) throws {
        flags = try r("flags"); ioasId = try r("ioas_id"); iova = try r("iova"); length = try r("length")
        bits = try MapFlags(r)
        reserved = try r.field("__reserved", if: !isFile)
        userVa = try r.field("user_va", if: !isFile)
        file = isFile ? (try r("fd"), try r("start")) : nil
    }
}

struct UnmapFields {
    let ioasId, iova, length: FieldHandle
    init(_ r: FieldResolver) throws { ioasId = try r("ioas_id"); iova = try r("iova"); length = try r("length") }
}

struct CopyFields {
    let flags, srcIoasId, dstIoasId, srcIova, dstIova, length: FieldHandle
    let bits: MapFlags
    /// MOCK_FLAGS_ACCESS_SYZ: a CONFIG_IOMMUFD_TEST kernel (the profile has
    /// IOMMU_TEST_CMD) takes this flag bit for a syzkaller hook.
    let syzBit: UInt64?
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); srcIoasId = try r("src_ioas_id"); dstIoasId = try r("dst_ioas_id")
        srcIova = try r("src_iova"); dstIova = try r("dst_iova"); length = try r("length")
        bits = try MapFlags(r)
        syzBit = r.profile.ioctl("IOMMU_TEST_CMD") != nil ? 1 << 16 : nil
    }
}

/// IOAS ioctls (contract §4, 0x80-0x88, 0x8f, 0x92).
extension SimulatedKernel {
    func destroy(_ f: DestroyFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        guard let o = ctx.objects[c.u32(f.id)] else { return .fail(.ENOENT) }
        if o.users > 0 && !mutations.contains(.destroyIgnoresUsers) { return .fail(.EBUSY) }
        if o.id == ctx.vfioCompatIoas { ctx.vfioCompatIoas = 0 }  // the compat IOAS is gone with it
        remove(ctx, o)
        return .ok(respond: .none)
    }

    func ioasAlloc(_ f: IoasAllocFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c[f.flags] & ~f.flagMask != 0 && !skipFlags && !skipReserved { return .fail(.EOPNOTSUPP) }
        let o = newObject(ctx) { IoasObject(id: $0) }
        c[f.outIoasId] = UInt64(o.id)
        return .ok()
    }

    /// What the IOAS's reserved ranges leave usable: all of it, or the mock's
    /// aperture once a mock domain maps it.
    func aperture(_ ctx: IommufdContext, _ ioas: IoasObject) -> (UInt64, UInt64) {
        // Any mock domain of the IOAS reserves the rest, attached or not (iopt_table_add_domain).
        var ap = (UInt64(0), ULONG_MAX)
        for h in domains(ctx, ioas) {
            if domainPage(ctx, h) == SimulatedKernel.mockPage { return (MockAperture.start, MockAperture.last) }
            if h.hugeMock { ap.1 = min(ap.1, MockAperture.hugeLast) }
        }
        return ap
    }

    /// A paging domain maps the IOAS: its pages are pinned as they are mapped.
    func hasDomain(_ ctx: IommufdContext, _ ioas: IoasObject) -> Bool { !domains(ctx, ioas).isEmpty }

    func allowIovas(_ f: IovaListFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        guard let ioas = ctx.ioas(c.u32(f.ioasId)) else { return .fail(.ENOENT) }
        let n = Int(c.u32(f.numIovas))
        var list: [(UInt64, UInt64)] = []
        // One range at a time, each checked as it is read (a bad one stops before the rest is read).
        for i in 0..<n {
            guard let raw = mem.read(c[f.allowedIovas] &+ UInt64(i * 16), 16) else { return .fail(.EFAULT) }
            let s = StructCodec.load(raw, 0, 8), l = StructCodec.load(raw, 8, 8)
            if s >= l { return .fail(.EINVAL) }
            if list.contains(where: { s <= $0.1 && $0.0 <= l }) { return .fail(.EINVAL) }
            list.append((s, l))
        }
        // Only reserved ranges conflict (EADDRINUSE: outside an attached mock's aperture);
        // existing mappings outside the new set stay, as in iopt_set_allow_iova.
        let ap = aperture(ctx, ioas)
        if list.contains(where: { $0.0 < ap.0 || $0.1 > ap.1 }) { return .fail(.EADDRINUSE) }
        if list.contains(where: { r in ioas.reserved.contains { r.0 <= $0.1 && $0.0 <= r.1 } }) {
            return .fail(.EADDRINUSE)
        }
        ioas.allowed = list
        return .ok(respond: .none)
    }

    func iovaRanges(_ f: IovaListFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c[f.reserved] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        guard let ioas = ctx.ioas(c.u32(f.ioasId)) else { return .fail(.ENOENT) }
        // The holes of the reserved ranges: the allowed list only steers allocation (iommufd_ioas_iova_ranges).
        let r = SimulatedKernel.subtract(ioas.reserved, from: [aperture(ctx, ioas)])
        let room = Int(c.u32(f.numIovas))
        c[f.numIovas] = UInt64(r.count)
        if let a = f.outAlignment { c[a] = ioasAlignment(ctx, ioas) }
        // The ranges that fit are written even when some do not (EMSGSIZE after the copy).
        var out: [UInt8] = []
        for x in r.prefix(room) { out += StructCodec.le64(x.0) + StructCodec.le64(x.1) }
        if !out.isEmpty && !mem.write(c[f.allowedIovas], out) { return .fail(.EFAULT) }
        if room < r.count { return .init(value: -1, errno: .EMSGSIZE, respond: .full) }
        return .ok()
    }

    /// A descriptor whose pages IOAS_MAP_FILE can pin: fds 0-2 (files), a dma-buf.
    static func pinnable(_ f: OpenFile) -> Bool {
        if case .dmabuf = f { return true }
        return false
    }

    /// A file of IOAS_MAP_FILE: fds 0-2 and fds this kernel handed out are
    /// files of 1 GiB, a dma-buf has its export length (documentedChoices["map_file.fds"]).
    static let mapFileSize: UInt64 = 1 << 30

    func ioasMap(_ f: MapFields, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let flags = c[f.flags]
        if flags & ~f.bits.mask != 0 && !skipFlags { return .fail(.EOPNOTSUPP) }
        if let r = f.reserved, c[r] != 0 && !skipReserved { return .fail(.EOPNOTSUPP) }
        let iova = c[f.iova], length = c[f.length]
        if iova >= ULONG_MAX || length >= ULONG_MAX { return .fail(.EOVERFLOW) }
        if flags & f.bits.access == 0 { return .fail(.EINVAL) }
        guard let ioas = ctx.ioas(c.u32(f.ioasId)) else { return .fail(.ENOENT) }
        if length == 0 { return .fail(.EINVAL) }  // before the file is looked up (seen on 7.2)
        var unpinnable = false, tooBig = false, fileKey: FileKey?
        if let file = f.file {
            let fd = Int32(truncatingIfNeeded: c[file.fd])
            // iopt_map_file_pages: the range's last byte must not wrap, before the fd is looked up.
            if c[file.start].addingReportingOverflow(length - 1).overflow { return .fail(.EOVERFLOW) }
            let (end, o) = c[file.start].addingReportingOverflow(length)
            let size: UInt64
            if case .dmabuf(let d)? = files[fd] {
                // A dma-buf is sized (and a revoked one refused) as it is mapped (iopt_alloc_dmabuf_pages).
                if o || end > d.length { return .fail(.EINVAL) }
                if d.revoked { return .fail(.ENODEV) }
                size = d.length
            } else if files[fd] != nil {
                size = SimulatedKernel.mapFileSize
            } else {
                guard let real = foreignFile(fd) else { return .fail(.EBADF) }
                (size, fileKey) = real
            }
            // iopt_alloc_pages: a length the page count cannot hold (seen on 7.2 by the fuzzer). A range
            // ending at 2^64 exactly is taken: only its last byte must not wrap (seen on 7.2 too).
            if length > ULONG_MAX - Fixed.page { return .fail(.EINVAL) }
            unpinnable = files[fd].map { !SimulatedKernel.pinnable($0) } ?? false
            tooBig = o || end > size
        }
        if f.file == nil, let va = f.userVa {
            // iopt_alloc_user_pages, before any IOVA is looked for.
            if c[va].addingReportingOverflow(length).overflow { return .fail(.EOVERFLOW) }
            if length > ULONG_MAX - Fixed.page { return .fail(.EINVAL) }
        }
        let addr = f.file.map { c[$0.start] } ?? f.userVa.map { c[$0] } ?? 0
        switch place(ctx, ioas, fixed: flags & f.bits.fixedIova != 0, iova: iova, length: length, addr: addr) {
        case .failure(let e): return .fail(e.errno)
        case .success(let at):
            let userMapped = f.userVa.map { mem.owns(c[$0], length) } ?? true
            // Pages are pinned when mapped only with a domain, after the IOVA is found: the file
            // must hold them and pin (our queue, iommufd and device fds do not), the user range be there.
            if hasDomain(ctx, ioas) && (tooBig || unpinnable) { return .fail(.EINVAL) }
            if hasDomain(ctx, ioas) && !userMapped { return .fail(.EFAULT) }
            let w = flags & f.bits.writable != 0
            ioas.mappings.append(Mapping(iova: at, length: length, file: f.file != nil,
                                         readable: flags & f.bits.readable != 0, writable: w, pagesWritable: w,
                                         addr: addr, unpinnable: unpinnable, userMapped: userMapped,
                                         pages: newPages(), fileKey: fileKey))
            c[f.iova] = at
            return .ok()
        }
    }

    /// A fresh iopt_pages id for a new map.
    func newPages() -> UInt64 {
        nextPages += 1
        return nextPages
    }

    func ioasUnmap(_ f: UnmapFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        guard let ioas = ctx.ioas(c.u32(f.ioasId)) else { return .fail(.ENOENT) }
        let iova = c[f.iova], length = c[f.length]
        if iova == 0 && length == UInt64.max {
            switch unmapAll(ctx, ioas) {
            case .failure(let e): return .fail(e.errno)
            case .success(let total):
                c[f.length] = total
                return .ok()
            }
        }
        if iova >= ULONG_MAX || length >= ULONG_MAX { return .fail(.EOVERFLOW) }
        switch unmapRange(ctx, ioas, iova: iova, length: length) {
        case .failure(let e): return .fail(e.errno)
        case .success(0): return .fail(.ENOENT)  // IOAS_UNMAP's own rule; iopt_unmap_iova finds nothing fine
        case .success(let total):
            c[f.length] = total
            return .ok()
        }
    }

    func unmapAll(_ ctx: IommufdContext, _ ioas: IoasObject) -> Result<UInt64, SimErr> {
        removeAreas(ctx, ioas, 0, ULONG_MAX)
    }

    /// The mock's unmap callback: each access item on [iova, last] of `ioas` is unpinned and dropped.
    func unpinAccesses(_ ctx: IommufdContext, _ ioas: IoasObject, _ iova: UInt64, _ last: UInt64) {
        for case let a as AccessObject in ctx.objects.values where a.ioasId == ioas.id {
            a.items = a.items.filter { $0.value.iova > last || $0.value.iova &+ $0.value.length &- 1 < iova }
        }
    }

    /// iopt_unmap_iova: whole areas inside [iova, iova+length) go; an area the
    /// range cuts is ENOENT; nothing there unmaps 0 bytes, successfully.
    func unmapRange(_ ctx: IommufdContext, _ ioas: IoasObject, iova: UInt64,
                    length: UInt64) -> Result<UInt64, SimErr> {
        if length == 0 { return .failure(SimErr(.EINVAL)) }
        let (last, o) = iova.addingReportingOverflow(length - 1)
        if o { return .failure(SimErr(.EOVERFLOW)) }
        return removeAreas(ctx, ioas, iova, last)
    }

    /// iopt_unmap_iova_range: the areas on [start, last] in IOVA order, each removed in turn, until one
    /// a hardware queue's internal access holds (EBUSY) or one the range cuts (ENOENT); those before stay
    /// removed.
    func removeAreas(_ ctx: IommufdContext, _ ioas: IoasObject, _ start: UInt64,
                     _ last: UInt64) -> Result<UInt64, SimErr> {
        let queues = ctx.objects.values.compactMap { $0 as? HwQueueObject }.filter { $0.ioasId == ioas.id }
        var total: UInt64 = 0
        for m in ioas.mappings.sorted(by: { $0.iova < $1.iova }) {
            let mLast = m.iova &+ m.length &- 1
            guard m.iova <= last && start <= mLast else { continue }
            if queues.contains(where: { $0.base <= mLast && m.iova <= $0.base &+ $0.length &- 1 }) {
                return .failure(SimErr(.EBUSY))
            }
            if m.iova < start || mLast > last { return .failure(SimErr(.ENOENT)) }
            ioas.mappings.removeAll { $0.iova == m.iova }
            total &+= m.length
            unpinAccesses(ctx, ioas, m.iova, mLast)
        }
        return .success(total)
    }

    func ioasCopy(_ f: CopyFields, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        // The syzkaller hook runs before the flags check: the bit is cleared
        // and src_iova, read as {u32 nth_area, u32 offset}, becomes that
        // area's iova + offset, or 0.
        if let syz = f.syzBit, c[f.flags] & syz != 0 {
            c[f.flags] = c[f.flags] & ~syz
            if let ioas = ctx.ioas(c.u32(f.srcIoasId)) {
                let v = c[f.srcIova], nth = Int(v & 0xffff_ffff), off = v >> 32
                let areas = ioas.mappings.sorted { $0.iova < $1.iova }
                c[f.srcIova] = nth < areas.count ? areas[nth].iova &+ off : 0
            }
        }
        let flags = c[f.flags]
        if flags & ~f.bits.mask != 0 && !skipFlags { return .fail(.EOPNOTSUPP) }
        let length = c[f.length], src = c[f.srcIova], dst = c[f.dstIova]
        if length >= ULONG_MAX || src >= ULONG_MAX || dst >= ULONG_MAX { return .fail(.EOVERFLOW) }
        if flags & f.bits.access == 0 { return .fail(.EINVAL) }
        guard let sIoas = ctx.ioas(c.u32(f.srcIoasId)) else { return .fail(.ENOENT) }
        // iopt_get_pages: the source range must be covered by contiguous areas, any part of them
        // (a copy of part of an area is fine: seen on 7.2 by the fuzzer).
        if length == 0 { return .fail(.EINVAL) }
        if src.addingReportingOverflow(length - 1).overflow { return .fail(.EOVERFLOW) }
        let end = src &+ length
        let areas = sIoas.mappings.sorted { $0.iova < $1.iova }
            .filter { $0.iova < end && $0.iova &+ $0.length > src }
        var cursor = src
        for a in areas where a.iova <= cursor { cursor = max(cursor, a.iova &+ a.length) }
        if cursor < end || areas.first.map({ $0.iova > src }) ?? true { return .fail(.ENOENT) }
        guard let dIoas = ctx.ioas(c.u32(f.dstIoasId)) else { return .fail(.ENOENT) }
        let addr = areas.first.map { $0.addr &+ (src &- $0.iova) } ?? 0
        // The pages are the source's: writable only if the first map was WRITEABLE; checked as each
        // area is inserted, after the IOVA is found (iopt_insert_area; seen on 7.2 by the fuzzer).
        let refused = flags & f.bits.writable != 0 && !areas.allSatisfy(\.pagesWritable)
        switch place(ctx, dIoas, fixed: flags & f.bits.fixedIova != 0, iova: dst, length: length, addr: addr,
                     writeRefused: refused) {
        case .failure(let e): return .fail(e.errno)
        case .success(let at):
            // The destination's domains pin the source's pages now, as a map would.
            if hasDomain(ctx, dIoas) && areas.contains(where: \.unpinnable) { return .fail(.EINVAL) }
            if hasDomain(ctx, dIoas) && !areas.allSatisfy(\.userMapped) { return .fail(.EFAULT) }
            dIoas.mappings.append(Mapping(iova: at, length: length, file: areas.allSatisfy(\.file),
                                          readable: flags & f.bits.readable != 0,
                                          writable: flags & f.bits.writable != 0,
                                          pagesWritable: areas.allSatisfy(\.pagesWritable), addr: addr,
                                          unpinnable: areas.contains(where: \.unpinnable),
                                          userMapped: areas.allSatisfy(\.userMapped),
                                          pages: areas.first?.pages ?? 0, fileKey: areas.first?.fileKey))
            c[f.dstIova] = at
            return .ok()
        }
    }
}
