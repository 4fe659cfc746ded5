import Cases
import Layout

/// VFIO_IOMMU_GET_INFO: argsz/flags/iova_pgsizes/cap_offset, and the two
/// capabilities iommufd fills past the struct (dma_avail, then the IOVA ranges).
struct CompatInfoFields {
    let argsz, flags, pgsizes, capOffset: FieldHandle
    let size: Int
    let infoPgsizes, infoCaps, capDmaAvail, capIovaRange: UInt64
    init(_ r: FieldResolver) throws {
        argsz = try r("argsz"); flags = try r("flags"); pgsizes = try r("iova_pgsizes")
        capOffset = try r("cap_offset"); size = r.size
        infoPgsizes = try r.constant("VFIO_IOMMU_INFO_PGSIZES"); infoCaps = try r.constant("VFIO_IOMMU_INFO_CAPS")
        capDmaAvail = try r.constant("VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL")
        capIovaRange = try r.constant("VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE")
    }
}

/// The compat requests whose argument is a number, not a struct, and the numbers they know (vfio_compat.c).
struct CompatNumbers {
    let checkExtension, setIommu, type1, type1v2, unmapAll: UInt64
    init(_ p: Profile) throws {
        func k(_ name: String) throws -> UInt64 { try FieldResolver.constant(name, in: p, for: "vfio compat") }
        checkExtension = try k("VFIO_CHECK_EXTENSION"); setIommu = try k("VFIO_SET_IOMMU")
        type1 = try k("VFIO_TYPE1_IOMMU"); type1v2 = try k("VFIO_TYPE1v2_IOMMU"); unmapAll = try k("VFIO_UNMAP_ALL")
    }
}

/// VFIO_IOMMU_MAP_DMA: a fixed-IOVA map of user memory into the compat IOAS.
struct CompatMapFields {
    let head: VfioArgszFlags
    let vaddr, iova, size: FieldHandle
    let read, write: UInt64
    init(_ r: FieldResolver) throws {
        head = try .init(r); vaddr = try r("vaddr"); iova = try r("iova"); size = try r("size")
        read = try r.constant("VFIO_DMA_MAP_FLAG_READ"); write = try r.constant("VFIO_DMA_MAP_FLAG_WRITE")
    }
}

/// VFIO_IOMMU_UNMAP_DMA: a range, or everything with VFIO_DMA_UNMAP_FLAG_ALL.
struct CompatUnmapFields {
    let head: VfioArgszFlags
    let iova, size: FieldHandle
    let all: UInt64
    init(_ r: FieldResolver) throws {
        head = try .init(r); iova = try r("iova"); size = try r("size"); all = try r.constant("VFIO_DMA_UNMAP_FLAG_ALL")
    }
}

/// struct vfio_info_cap_header { u16 id; u16 version; u32 next; }, and the
/// sizes of the two capabilities (vfio_iommu_type1_info_dma_avail is 12 bytes,
/// cap_iova_range 16 plus 16 per range).
private enum CompatCaps {
    static let dmaAvailSize = 12
    static let iovaRangeHead = 16
    static let iovaRangeEntry = 16
    static func aligned(_ n: Int) -> Int { (n + 7) & ~7 }
}

/// The type1 container ioctls iommufd answers on /dev/iommu (vfio_compat.c):
/// each works on the compat IOAS (IOMMU_VFIO_IOAS SET), ENODEV without one.
/// They copy `minsz` with copy_from_user, so bytes past it are never read.
extension SimulatedKernel {
    func compatIoctl(_ ctx: IommufdContext, _ spec: VfioSpec, _ arg: inout [UInt8]?,
                     _ mem: UserMemory) -> SyscallResult? {
        switch spec.handler {
        case .compatInfo(let f): return compatGetInfo(f, spec.minSize, ctx, &arg)
        case .compatMap(let f): return compatMap(f, spec.minSize, ctx, arg)
        case .compatUnmap(let f): return compatUnmap(f, spec.minSize, ctx, &arg)
        default: return nil
        }
    }

    func compatIoas(_ ctx: IommufdContext) -> IoasObject? { ctx.ioas(ctx.vfioCompatIoas) }

    /// ioctl(fd, request, n) with the number n for argument: VFIO_CHECK_EXTENSION (type1, type1v2 and
    /// unmap-all are there; DMA_CC and the rest answer 0 without a coherent domain) and VFIO_SET_IOMMU
    /// (type1 turns large pages off) on an iommufd. nil: `request` takes a struct, or `fd` is no iommufd.
    package func ioctl(_ fd: Int32, _ request: UInt64, number n: UInt64) -> SyscallResult? {
        guard case .iommufd(let ctx)? = files[fd] else { return nil }
        let k = compatNumbers
        switch request {
        case k.checkExtension: return .ok([k.type1, k.type1v2, k.unmapAll].contains(n) ? 1 : 0)
        case k.setIommu:
            if n != k.type1 && n != k.type1v2 { return .fail(.EINVAL) }
            guard let ioas = compatIoas(ctx) else { return .fail(.ENODEV) }
            if n == k.type1, let e = disableLargePages(ctx, ioas) { return .fail(e) }
            return .ok()
        default: return nil
        }
    }

    func compatGetInfo(_ f: CompatInfoFields, _ minsz: Int, _ ctx: IommufdContext,
                       _ arg: inout [UInt8]?) -> SyscallResult {
        guard var u = arg, u.count >= minsz else { return .fail(.EFAULT) }
        let argsz = Int(f.argsz.load(u))
        if argsz < minsz { return .fail(.EINVAL) }
        guard let ioas = compatIoas(ctx) else { return .fail(.ENODEV) }
        // No domain: every page size (ULONG_MAX, clipped to PAGE_MASK | PAGE_SIZE);
        // with the mock's domain, its 2 KiB pages round up to PAGE_SIZE.
        let pgsizes = hasDomain(ctx, ioas) ? PAGE : ~(PAGE - 1)
        let holes = [aperture(ctx, ioas)]
        let dmaAt = f.size, iovaAt = dmaAt + CompatCaps.aligned(CompatCaps.dmaAvailSize)
        let iovaSize = CompatCaps.iovaRangeHead + CompatCaps.iovaRangeEntry * holes.count
        let total = iovaAt + CompatCaps.aligned(iovaSize)
        // Each capability is written only where argsz has room for all of it;
        // the first one's `next` once argsz reaches the second's offset.
        var caps = [UInt8](repeating: 0, count: total)
        StructCodec.store(&caps, dmaAt, 2, f.capDmaAvail); StructCodec.store(&caps, dmaAt + 2, 2, 1)
        StructCodec.store(&caps, dmaAt + 8, 4, UInt64(UInt32.max))
        StructCodec.store(&caps, iovaAt, 2, f.capIovaRange); StructCodec.store(&caps, iovaAt + 2, 2, 1)
        StructCodec.store(&caps, iovaAt + 8, 4, UInt64(holes.count))
        for (i, r) in holes.enumerated() {
            let at = iovaAt + CompatCaps.iovaRangeHead + i * CompatCaps.iovaRangeEntry
            StructCodec.store(&caps, at, 8, r.0); StructCodec.store(&caps, at + 8, 8, r.1)
        }
        if argsz >= iovaAt { StructCodec.store(&caps, dmaAt + 4, 4, UInt64(iovaAt)) }
        let room = min(argsz, u.count)
        let dmaEnd = dmaAt + CompatCaps.dmaAvailSize
        if argsz >= dmaEnd { copyRange(&u, caps, dmaAt, min(room, dmaEnd)) }
        if argsz >= iovaAt + iovaSize { copyRange(&u, caps, iovaAt, min(room, iovaAt + iovaSize)) }
        var info = [UInt8](repeating: 0, count: f.size)
        f.argsz.store(UInt64(total), into: &info)
        f.flags.store(f.infoPgsizes | f.infoCaps, into: &info)
        f.pgsizes.store(pgsizes, into: &info)
        f.capOffset.store(argsz >= total ? UInt64(f.size) : 0, into: &info)
        copyRange(&u, info, 0, min(argsz, f.size, u.count))
        arg = u
        return .ok()
    }

    func compatMap(_ f: CompatMapFields, _ minsz: Int, _ ctx: IommufdContext, _ arg: [UInt8]?) -> SyscallResult {
        guard let u = arg, u.count >= minsz else { return .fail(.EFAULT) }
        if Int(f.head.argsz.load(u)) < minsz || badFlags(f.head, u) { return .fail(.EINVAL) }
        guard let ioas = compatIoas(ctx) else { return .fail(.ENODEV) }
        let iova = f.iova.load(u), length = f.size.load(u)
        if length == 0 { return .fail(.EINVAL) }
        switch place(ctx, ioas, fixed: true, iova: iova, length: length) {
        case .failure(let e): return .fail(e.errno)
        case .success(let at):
            let flags = f.head.flags.load(u)
            ioas.mappings.append(Mapping(iova: at, length: length, file: false, readable: flags & f.read != 0,
                                         writable: flags & f.write != 0, addr: f.vaddr.load(u), pages: newPages()))
            return .ok()
        }
    }

    func compatUnmap(_ f: CompatUnmapFields, _ minsz: Int, _ ctx: IommufdContext,
                     _ arg: inout [UInt8]?) -> SyscallResult {
        guard var u = arg, u.count >= minsz else { return .fail(.EFAULT) }
        if Int(f.head.argsz.load(u)) < minsz || badFlags(f.head, u) { return .fail(.EINVAL) }
        guard let ioas = compatIoas(ctx) else { return .fail(.ENODEV) }
        let iova = f.iova.load(u), length = f.size.load(u)
        let result: Result<UInt64, SimErr>
        if f.head.flags.load(u) & f.all != 0 {
            if iova != 0 || length != 0 { return .fail(.EINVAL) }
            result = unmapAll(ctx, ioas)
        } else {
            // Type1 (large pages off) may unmap part of a mapping: cut at both ends first (iopt_cut_iova).
            if ioas.hugePages == 0 {
                cut(ioas, after: iova &+ length &- 1)
                if iova != 0 { cut(ioas, after: iova - 1) }
            }
            result = unmapRange(ctx, ioas, iova: iova, length: length)
        }
        // The unmapped byte count goes back in `size`, on success and on ENOENT alike.
        f.size.store((try? result.get()) ?? 0, into: &u)
        arg = u
        if case .failure(let e) = result { return .fail(e.errno) }
        return .ok()
    }

    /// Split the area holding `at` so that `at` is its last byte (iopt_area_split); nothing there, nothing to do.
    func cut(_ ioas: IoasObject, after at: UInt64) {
        guard let i = ioas.mappingIndex(at: at) else { return }
        var head = ioas.mappings[i], tail = head
        head.length = at - head.iova + 1
        if head.length == tail.length { return }
        tail.iova = at + 1
        tail.length -= head.length
        tail.addr = head.addr &+ head.length
        ioas.mappings[i] = head
        ioas.mappings.insert(tail, at: i + 1)
    }

    private func copyRange(_ u: inout [UInt8], _ src: [UInt8], _ from: Int, _ to: Int) {
        var i = from
        while i < to { u[i] = src[i]; i += 1 }
    }
}
