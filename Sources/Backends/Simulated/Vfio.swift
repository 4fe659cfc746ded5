import Cases
import Layout

/// The vfio cdev ioctls of the profile, by NR, with what each handler reads.
enum VfioHandler {
    case bind(VfioBindFields), attach(VfioAttachFields), detach(VfioDetachFields)
    case getInfo(VfioInfoFields), regionInfo(VfioRegionFields), feature(VfioFeatureFields)
    /// The RFC's VFIO_DEVICE_TSM_BIND / TSM_UNBIND (tsm-vfio-rfc only).
    case tsmBind(VfioTsmBindFields), tsmUnbind(VfioArgszFlags)
    /// The type1 container ioctls, answered on /dev/iommu (VfioCompat.swift).
    case compatInfo(CompatInfoFields), compatMap(CompatMapFields), compatUnmap(CompatUnmapFields)
    case unknown

    static func resolve(_ io: ProfileIoctl, profile: Profile) throws -> VfioHandler {
        let r = try FieldResolver(ioctl: io.name, structName: io.struct, profile: profile)
        switch io.name {
        case "VFIO_DEVICE_BIND_IOMMUFD": return .bind(try .init(r))
        case "VFIO_DEVICE_ATTACH_IOMMUFD_PT": return .attach(try .init(r))
        case "VFIO_DEVICE_DETACH_IOMMUFD_PT": return .detach(try .init(r))
        case "VFIO_DEVICE_GET_INFO": return .getInfo(try .init(r))
        case "VFIO_DEVICE_GET_REGION_INFO": return .regionInfo(try .init(r))
        case "VFIO_DEVICE_FEATURE": return .feature(try .init(r))
        case "VFIO_DEVICE_TSM_BIND": return .tsmBind(try .init(r))
        case "VFIO_DEVICE_TSM_UNBIND": return .tsmUnbind(try .init(r))
        case "VFIO_IOMMU_GET_INFO": return .compatInfo(try .init(r))
        case "VFIO_IOMMU_MAP_DMA": return .compatMap(try .init(r))
        case "VFIO_IOMMU_UNMAP_DMA": return .compatUnmap(try .init(r))
        default: return .unknown
        }
    }
}

/// What every vfio struct starts with, and its minimum (copy_from_user(minsz)).
struct VfioArgszFlags {
    let argsz, flags: FieldHandle
    let flagMask: UInt64
    init(_ r: FieldResolver) throws { argsz = try r("argsz"); flags = try r("flags"); flagMask = try r.flagMask() }
}

struct VfioBindFields {
    let head: VfioArgszFlags
    let iommufd, outDevid: FieldHandle
    /// VFIO_DEVICE_BIND_FLAG_TOKEN and the pointer it reads, where the version
    /// has the flag (7.2; not 6.12).
    let token: (flag: UInt64, uuidPtr: FieldHandle)?
    /// sizeof: copy_struct_from_user's ksize.
    let size: Int
    init(_ r: FieldResolver) throws {
        head = try .init(r); iommufd = try r("iommufd"); outDevid = try r("out_devid"); size = r.size
        token = try r.flagBit("VFIO_DEVICE_BIND_FLAG_TOKEN").map { ($0, try r("token_uuid_ptr")) }
    }
}

struct VfioAttachFields {
    let head: VfioArgszFlags
    let ptId: FieldHandle
    /// VFIO_DEVICE_ATTACH_PASID where the version has it (7.2; not 6.12).
    let pasid: UInt64
    init(_ r: FieldResolver) throws {
        head = try .init(r); ptId = try r("pt_id"); pasid = try r.flagBit("VFIO_DEVICE_ATTACH_PASID") ?? 0
    }
}

struct VfioDetachFields {
    let head: VfioArgszFlags
    /// VFIO_DEVICE_DETACH_PASID where the version has it (7.2; not 6.12).
    let pasid: UInt64
    init(_ r: FieldResolver) throws { head = try .init(r); pasid = try r.flagBit("VFIO_DEVICE_DETACH_PASID") ?? 0 }
}

struct VfioTsmBindFields {
    let head: VfioArgszFlags
    let vdeviceId: FieldHandle
    init(_ r: FieldResolver) throws { head = try .init(r); vdeviceId = try r("vdevice_id") }
}

struct VfioInfoFields {
    let argsz, flags, numRegions, numIrqs: FieldHandle
    let size: Int
    /// What the simulated PCI function reports: PCI | RESET, its regions and IRQs.
    let deviceFlags, regions, irqs: UInt64
    init(_ r: FieldResolver) throws {
        argsz = try r("argsz"); flags = try r("flags"); numRegions = try r("num_regions"); numIrqs = try r("num_irqs")
        size = r.size
        deviceFlags = try r.constant("VFIO_DEVICE_FLAGS_PCI") | r.constant("VFIO_DEVICE_FLAGS_RESET")
        regions = try r.constant("VFIO_PCI_NUM_REGIONS"); irqs = try r.constant("VFIO_PCI_NUM_IRQS")
    }
}

struct VfioRegionFields {
    let flags, index, capOffset, size, offset: FieldHandle
    let regions, romIndex, configIndex: UInt64
    let read, write, mmap: UInt64
    init(_ r: FieldResolver) throws {
        flags = try r("flags"); index = try r("index"); capOffset = try r("cap_offset"); size = try r("size")
        offset = try r("offset")
        regions = try r.constant("VFIO_PCI_NUM_REGIONS"); romIndex = try r.constant("VFIO_PCI_ROM_REGION_INDEX")
        configIndex = try r.constant("VFIO_PCI_CONFIG_REGION_INDEX")
        read = try r.constant("VFIO_REGION_INFO_FLAG_READ"); write = try r.constant("VFIO_REGION_INFO_FLAG_WRITE")
        mmap = try r.constant("VFIO_REGION_INFO_FLAG_MMAP")
    }
}

/// vfio-pci's region offsets: index << VFIO_PCI_OFFSET_SHIFT (vfio_pci_core.h).
let vfioPciOffsetShift: UInt64 = 40
/// PCIe configuration space.
let pciConfigSpaceSize: UInt64 = 4096
/// A VF token is a UUID.
let vfTokenSize = 16

/// VFIO cdev ioctls (vfio-contract.md): argsz/flags convention, bind/attach/
/// detach, GET_INFO, GET_REGION_INFO, RESET, DEVICE_FEATURE (VfioFeature.swift),
/// and the RFC's TSM_BIND/TSM_UNBIND when the profile has them (tsm-vfio-rfc).
extension SimulatedKernel {
    func vfioIoctl(_ v: VfioFile, _ request: UInt64, _ arg: inout [UInt8]?, _ mem: UserMemory) -> SyscallResult {
        guard request & ~iocNrMask == vfio.type << 8 else { return .fail(.ENOTTY) }
        let nr = Int(request & iocNrMask)
        let spec = vfio.table[nr]
        if let spec, case .bind(let f) = spec.handler { return vfioBind(f, spec, v, &arg, mem) }
        // Before BIND_IOMMUFD every other ioctl is EINVAL, known or not.
        guard v.everBound else { return .fail(.EINVAL) }
        if request == vfio.reset {  // FLR unbinds the TDI first, no re-bind.
            tsmUnbind(v.device)
            return .ok()
        }
        guard let spec else { return .fail(.ENOTTY) }
        let minsz = spec.minSize
        switch spec.handler {
        case .getInfo(let f): return vfioGetInfo(f, minsz, &arg)
        case .regionInfo(let f): return vfioRegionInfo(f, minsz, &arg)
        case .feature(let f): return vfioFeature(f, minsz, v, arg, mem)
        case .attach(let f): return vfioAttach(f, minsz, v, &arg)
        case .detach(let f): return vfioDetach(f, minsz, v, arg)
        case .tsmBind(let f): return vfioTsmBind(f, minsz, v, arg)
        case .tsmUnbind(let f): return vfioTsmUnbind(f, minsz, v, arg)
        // A device fd has no container ioctls; their numbers there are other
        // device ioctls (112 is GET_PCI_HOT_RESET_INFO), not modelled.
        case .bind, .unknown, .compatInfo, .compatMap, .compatUnmap: return .fail(.ENOTTY)
        }
    }

    /// copy_from_user(minsz) then argsz < minsz → EINVAL. Returns (bytes, argsz) or an errno.
    func vfioHeader(_ arg: [UInt8]?, minsz: Int) -> Result<([UInt8], Int), SimErr> {
        guard let u = arg, u.count >= minsz else { return .failure(SimErr(.EFAULT)) }
        let argsz = Int(StructCodec.load(u, 0, 4))
        if argsz < minsz { return .failure(SimErr(.EINVAL)) }
        return .success((u, argsz))
    }

    /// Undefined flag bits → EINVAL (vfio-contract §1 rule 4).
    func badFlags(_ h: VfioArgszFlags, _ u: [UInt8]) -> Bool { h.flags.load(u) & ~h.flagMask != 0 && !skipFlags }

    func vfioBind(_ f: VfioBindFields, _ spec: VfioSpec, _ v: VfioFile, _ arg: inout [UInt8]?,
                  _ mem: UserMemory) -> SyscallResult {
        guard var u = arg, u.count >= 4 else { return .fail(.EFAULT) }
        let argsz = Int(f.head.argsz.load(u))
        if argsz < spec.minSize { return .fail(.EINVAL) }
        // copy_struct_from_user(ksize = sizeof): non-zero tail → E2BIG (7.2);
        // copy_from_user(minsz) reads nothing past minsz (6.12: the profile's tail_checked).
        if spec.tailChecked && argsz > u.count { return .fail(.EFAULT) }
        if !spec.tailChecked && u.count < spec.minSize { return .fail(.EFAULT) }
        if spec.tailChecked && argsz > f.size && !mutations.contains(.skipTailCheck) {
            for i in f.size..<argsz where u[i] != 0 { return .fail(.E2BIG) }
        }
        var k = [UInt8](repeating: 0, count: f.size)
        let n = spec.tailChecked ? min(argsz, f.size) : spec.minSize
        k.replaceSubrange(0..<n, with: u[0..<n])
        let flags = f.head.flags.load(k)
        let iommufd = Int32(truncatingIfNeeded: f.iommufd.load(k))
        if iommufd < 0 || badFlags(f.head, k) { return .fail(.EINVAL) }
        if v.everBound { return .fail(.EINVAL) }
        if let token = f.token, flags & token.flag != 0 {
            // A PF without a VF token: the UUID is read, then refused.
            if mem.read(token.uuidPtr.load(k), vfTokenSize) == nil { return .fail(.EFAULT) }
            return .fail(.EINVAL)
        }
        guard let file = files[iommufd] else { return .fail(.EBADF) }
        guard case .iommufd(let ctx) = file else { return .fail(.EBADFD) }
        let dev = newObject(ctx) { DeviceObject(id: $0, pci: v.device) }
        dev.vfio = v
        dev.users = 1  // the vfio driver's reference until unbind
        v.ctx = ctx
        v.devId = dev.id
        v.everBound = true
        f.outDevid.store(UInt64(dev.id), into: &u)
        arg = u
        return .ok()
    }

    func vfioAttach(_ f: VfioAttachFields, _ minsz: Int, _ v: VfioFile, _ arg: inout [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: minsz) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        if badFlags(f.head, u) { return .fail(.EINVAL) }
        if f.head.flags.load(u) & f.pasid != 0 { return .fail(.EOPNOTSUPP) }  // no PASID support
        guard let ctx = v.ctx, let dev = ctx.device(v.devId) else { return .fail(.ENOENT) }
        guard let pt = ctx.objects[f.ptId.load32(u)] else { return .fail(.ENOENT) }
        guard let hwpt = attachTarget(ctx, pt, dirtyCapable: true) else { return .fail(.EINVAL) }
        if dev.attachedHwpt != hwpt.id { attach(ctx, dev, hwpt) }
        var out = u
        f.ptId.store(UInt64(hwpt.id), into: &out)
        arg = out
        return .ok()
    }

    func vfioDetach(_ f: VfioDetachFields, _ minsz: Int, _ v: VfioFile, _ arg: [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: minsz) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        if badFlags(f.head, u) { return .fail(.EINVAL) }
        if f.head.flags.load(u) & f.pasid != 0 { return .fail(.EOPNOTSUPP) }
        if let ctx = v.ctx, let dev = ctx.device(v.devId) { detach(ctx, dev) }
        return .ok()
    }

    /// VFIO_DEVICE_TSM_BIND (tsm-uapi-history §5): copy minsz (12) → EFAULT;
    /// argsz < minsz or flags ≠ 0 → EINVAL; `pad` and any tail are never read.
    /// See documentedChoices["vfio_tsm.bind_unbind"].
    func vfioTsmBind(_ f: VfioTsmBindFields, _ minsz: Int, _ v: VfioFile, _ arg: [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: minsz) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        if badFlags(f.head, u) { return .fail(.EINVAL) }
        guard let ctx = v.ctx, let dev = ctx.device(v.devId), let p = dev.pci else { return .fail(.EINVAL) }
        guard let vd = ctx.vdevice(f.vdeviceId.load32(u)), vd.deviceId == dev.id else { return .fail(.ENOENT) }
        if !(ctx.viommu(vd.viommuId)?.kvm ?? false) { return .fail(.ENODEV) }
        if let e = tsmBind(p, through: vd) { return .fail(e) }
        return .ok()
    }

    /// VFIO_DEVICE_TSM_UNBIND: argsz < minsz or flags ≠ 0 → EINVAL; unbound → 0.
    func vfioTsmUnbind(_ f: VfioArgszFlags, _ minsz: Int, _ v: VfioFile, _ arg: [UInt8]?) -> SyscallResult {
        switch vfioHeader(arg, minsz: minsz) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): if badFlags(f, h.0) { return .fail(.EINVAL) }
        }
        tsmUnbind(v.device)
        return .ok()
    }

    func vfioGetInfo(_ f: VfioInfoFields, _ minsz: Int, _ arg: inout [UInt8]?) -> SyscallResult {
        let u: [UInt8], argsz: Int
        switch vfioHeader(arg, minsz: minsz) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): (u, argsz) = h
        }
        var out = [UInt8](repeating: 0, count: f.size)
        f.argsz.store(UInt64(argsz), into: &out)
        f.flags.store(f.deviceFlags, into: &out)
        f.numRegions.store(f.regions, into: &out)
        f.numIrqs.store(f.irqs, into: &out)
        var a = u
        let n = min(argsz, f.size, a.count)
        a.replaceSubrange(0..<n, with: out[0..<n])
        arg = a
        return .ok()
    }

    func vfioRegionInfo(_ f: VfioRegionFields, _ minsz: Int, _ arg: inout [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: minsz) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        let index = f.index.load(u)
        guard index < f.regions else { return .fail(.EINVAL) }
        var size: UInt64 = 0, flags: UInt64 = 0
        if index < f.romIndex {
            let b = SimulatedKernel.bars[Int(index)]
            size = b.size
            flags = b.size > 0 ? f.read | f.write | f.mmap : 0
        } else if index == f.configIndex {
            size = pciConfigSpaceSize
            flags = f.read | f.write
        }
        var a = u
        f.flags.store(flags, into: &a)
        f.capOffset.store(0, into: &a)
        f.size.store(size, into: &a)
        f.offset.store(index << vfioPciOffsetShift, into: &a)
        arg = a
        return .ok()
    }
}

extension HwptObject {
    /// The paging domain an attach to IOAS `ioas` created and shares.
    func isAutoDomain(of ioas: UInt32) -> Bool { kind == .hwptPaging && auto && ioasId == ioas }
}
