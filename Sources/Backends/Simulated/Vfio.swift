import Cases
import Layout

/// VFIO cdev ioctls (vfio-contract.md): argsz/flags convention, bind/attach/
/// detach, GET_INFO, GET_REGION_INFO, RESET, DEVICE_FEATURE (LOW_POWER, DMA_BUF),
/// and the RFC's TSM_BIND/TSM_UNBIND when the profile has them (tsm-vfio-rfc).
extension SimulatedKernel {
    static let featureGet: UInt32 = 1 << 16, featureSet: UInt32 = 1 << 17, featureProbe: UInt32 = 1 << 18

    func vfioIoctl(_ v: VfioFile, _ request: UInt64, _ arg: inout [UInt8]?, _ mem: UserMemory) -> SyscallResult {
        guard request & ~0xff == 0x3B00 else { return .fail(Errno.ENOTTY) }
        let nr = Int(request & 0xff)
        if nr == 118 { return vfioBind(v, &arg, mem) }
        // Before BIND_IOMMUFD every other ioctl is EINVAL, known or not.
        guard v.everBound else { return .fail(Errno.EINVAL) }
        switch nr {
        case 107: return vfioGetInfo(v, &arg)
        case 108: return vfioRegionInfo(v, &arg)
        case 111:  // VFIO_DEVICE_RESET: FLR unbinds the TDI first, no re-bind.
            tsmUnbind(v.device)
            return .ok()
        case 117: return vfioFeature(v, &arg, mem)
        case 119: return vfioAttach(v, &arg)
        case 120: return vfioDetach(v, &arg)
        // The RFC's TSM bind/unbind (tsm-vfio-rfc), only when the profile has them.
        case 122 where vfioMin[122] != nil: return vfioTsmBind(v, arg)
        case 123 where vfioMin[123] != nil: return vfioTsmUnbind(v, arg)
        default: return .fail(Errno.ENOTTY)
        }
    }

    /// copy_from_user(minsz) then argsz < minsz → EINVAL. Returns (bytes, argsz) or an errno.
    func vfioHeader(_ arg: [UInt8]?, minsz: Int) -> Result<([UInt8], Int), SimErr> {
        guard let u = arg, u.count >= minsz else { return .failure(SimErr(Errno.EFAULT)) }
        let argsz = Int(StructCodec.load(u, 0, 4))
        if argsz < minsz { return .failure(SimErr(Errno.EINVAL)) }
        return .success((u, argsz))
    }

    func vfioBind(_ v: VfioFile, _ arg: inout [UInt8]?, _ mem: UserMemory) -> SyscallResult {
        guard let u = arg, u.count >= 4 else { return .fail(Errno.EFAULT) }
        let argsz = Int(StructCodec.load(u, 0, 4))
        if argsz < (vfioMin[118] ?? 16) { return .fail(Errno.EINVAL) }
        if argsz > u.count { return .fail(Errno.EFAULT) }
        // copy_struct_from_user(ksize 24): non-zero tail → E2BIG.
        if argsz > 24 && !mutations.contains(.skipTailCheck) {
            for i in 24..<argsz where u[i] != 0 { return .fail(Errno.E2BIG) }
        }
        var k = [UInt8](repeating: 0, count: 24)
        let n = min(argsz, 24)
        k.replaceSubrange(0..<n, with: u[0..<n])
        let flags = StructCodec.load(k, 4, 4)
        let iommufd = Int32(truncatingIfNeeded: StructCodec.load(k, 8, 4))
        if iommufd < 0 || (flags & ~1 != 0 && !skipFlags) { return .fail(Errno.EINVAL) }
        if v.everBound { return .fail(Errno.EINVAL) }
        if flags & 1 != 0 {
            // A PF without a VF token: the UUID is read, then refused.
            if mem.read(StructCodec.load(k, 16, 8), 16) == nil { return .fail(Errno.EFAULT) }
            return .fail(Errno.EINVAL)
        }
        guard let f = files[iommufd] else { return .fail(Errno.EBADF) }
        guard case .iommufd(let ctx) = f else { return .fail(Errno.EBADFD) }
        let dev = newObject(ctx, .device)
        dev.pci = v.device
        dev.vfio = v
        dev.users = 1  // the vfio driver's reference until unbind
        v.ctx = ctx
        v.devId = dev.id
        v.everBound = true
        StructCodec.store(&arg!, 12, 4, UInt64(dev.id))
        return .ok()
    }

    func vfioAttach(_ v: VfioFile, _ arg: inout [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: vfioMin[119] ?? 12) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        let flags = StructCodec.load(u, 4, 4)
        if flags & ~1 != 0 && !skipFlags { return .fail(Errno.EINVAL) }
        if flags & 1 != 0 { return .fail(Errno.EOPNOTSUPP) }  // no PASID support
        guard let ctx = v.ctx, let dev = ctx.objects[v.devId] else { return .fail(Errno.ENOENT) }
        let ptId = UInt32(StructCodec.load(u, 8, 4))
        guard let pt = ctx.objects[ptId] else { return .fail(Errno.ENOENT) }
        var hwpt: SimObject
        switch pt.kind {
        case .hwptPaging, .hwptNested: hwpt = pt
        case .ioas:
            if let h = ctx.objects.values.first(where: { $0.kind == .hwptPaging && $0.auto && $0.ioasId == pt.id }) {
                hwpt = h
            } else {
                hwpt = newObject(ctx, .hwptPaging)
                hwpt.ioasId = pt.id
                hwpt.auto = true
                hwpt.dirtyCapable = true
                hold(ctx, hwpt, pt)
            }
        default: return .fail(Errno.EINVAL)
        }
        if dev.attachedHwpt != hwpt.id { attach(ctx, dev, hwpt) }
        StructCodec.store(&arg!, 8, 4, UInt64(hwpt.id))
        return .ok()
    }

    func vfioDetach(_ v: VfioFile, _ arg: inout [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: vfioMin[120] ?? 8) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        let flags = StructCodec.load(u, 4, 4)
        if flags & ~1 != 0 && !skipFlags { return .fail(Errno.EINVAL) }
        if flags & 1 != 0 { return .fail(Errno.EOPNOTSUPP) }
        if let ctx = v.ctx, let dev = ctx.objects[v.devId] { detach(ctx, dev) }
        return .ok()
    }

    /// VFIO_DEVICE_TSM_BIND (tsm-uapi-history §5): copy minsz (12) → EFAULT;
    /// argsz < minsz or flags ≠ 0 → EINVAL; `pad` and any tail are never read.
    /// See documentedChoices["vfio_tsm.bind_unbind"].
    func vfioTsmBind(_ v: VfioFile, _ arg: [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: vfioMin[122] ?? 12) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        if StructCodec.load(u, 4, 4) != 0 && !skipFlags { return .fail(Errno.EINVAL) }
        guard let ctx = v.ctx, let dev = ctx.objects[v.devId], let p = dev.pci else { return .fail(Errno.EINVAL) }
        guard let vd = lookup(ctx, UInt32(StructCodec.load(u, 8, 4)), .vdevice), vd.deviceId == dev.id else {
            return .fail(Errno.ENOENT)
        }
        if !(ctx.objects[vd.viommuId]?.kvm ?? false) { return .fail(Errno.ENODEV) }
        if let e = tsmBind(p, through: vd) { return .fail(e) }
        return .ok()
    }

    /// VFIO_DEVICE_TSM_UNBIND: argsz < 8 or flags ≠ 0 → EINVAL; unbound → 0.
    func vfioTsmUnbind(_ v: VfioFile, _ arg: [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: vfioMin[123] ?? 8) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        if StructCodec.load(u, 4, 4) != 0 && !skipFlags { return .fail(Errno.EINVAL) }
        tsmUnbind(v.device)
        return .ok()
    }

    func vfioGetInfo(_ v: VfioFile, _ arg: inout [UInt8]?) -> SyscallResult {
        let argsz: Int
        switch vfioHeader(arg, minsz: vfioMin[107] ?? 16) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): argsz = h.1
        }
        var out = [UInt8](repeating: 0, count: 24)
        StructCodec.store(&out, 0, 4, UInt64(argsz))
        StructCodec.store(&out, 4, 4, 3)   // PCI | RESET
        StructCodec.store(&out, 8, 4, 9)   // VFIO_PCI_NUM_REGIONS
        StructCodec.store(&out, 12, 4, 5)  // VFIO_PCI_NUM_IRQS
        let n = min(argsz, 24, arg!.count)
        arg!.replaceSubrange(0..<n, with: out[0..<n])
        return .ok()
    }

    func vfioRegionInfo(_ v: VfioFile, _ arg: inout [UInt8]?) -> SyscallResult {
        let u: [UInt8]
        switch vfioHeader(arg, minsz: vfioMin[108] ?? 32) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): u = h.0
        }
        let index = Int(StructCodec.load(u, 8, 4))
        guard index < 9 else { return .fail(Errno.EINVAL) }
        var size: UInt64 = 0, flags: UInt64 = 0
        if index < 6 {
            let b = SimulatedKernel.bars[index]
            size = b.size
            flags = b.size > 0 ? 7 : 0  // READ | WRITE | MMAP
        } else if index == 7 {
            size = 4096
            flags = 3
        }
        StructCodec.store(&arg!, 4, 4, flags)
        StructCodec.store(&arg!, 12, 4, 0)
        StructCodec.store(&arg!, 16, 8, size)
        StructCodec.store(&arg!, 24, 8, UInt64(index) << 40)
        return .ok()
    }

    /// vfio_check_feature(): nil = go on; otherwise the result to return.
    func checkFeature(_ flags: UInt32, argsz: Int, supported: UInt32, minsz: Int) -> SyscallResult? {
        let gs = flags & (SimulatedKernel.featureGet | SimulatedKernel.featureSet)
        if gs & ~supported != 0 { return .fail(Errno.EINVAL) }
        if flags & SimulatedKernel.featureProbe != 0 { return .ok() }
        if gs == 0 { return .fail(Errno.EINVAL) }
        if argsz - 8 < minsz { return .fail(Errno.EINVAL) }
        return nil
    }

    func vfioFeature(_ v: VfioFile, _ arg: inout [UInt8]?, _ mem: UserMemory) -> SyscallResult {
        let u: [UInt8], argsz: Int
        switch vfioHeader(arg, minsz: vfioMin[117] ?? 8) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): (u, argsz) = h
        }
        let flags = UInt32(StructCodec.load(u, 4, 4))
        let known: UInt32 = 0xffff | SimulatedKernel.featureGet | SimulatedKernel.featureSet | SimulatedKernel.featureProbe
        if flags & ~known != 0 && !skipFlags { return .fail(Errno.EINVAL) }
        let both = SimulatedKernel.featureGet | SimulatedKernel.featureSet
        if flags & both == both && flags & SimulatedKernel.featureProbe == 0 { return .fail(Errno.EINVAL) }
        switch flags & 0xffff {
        case 3:  // LOW_POWER_ENTRY: D3hot unbinds the TDI first.
            if let r = checkFeature(flags, argsz: argsz, supported: SimulatedKernel.featureSet, minsz: 0) { return r }
            tsmUnbind(v.device)
            v.device.d3hot = true
            return .ok()
        case 5:  // LOW_POWER_EXIT
            if let r = checkFeature(flags, argsz: argsz, supported: SimulatedKernel.featureSet, minsz: 0) { return r }
            v.device.d3hot = false
            return .ok()
        case 11:
            return dmaBuf(v, flags, argsz, u)
        default:
            return .fail(Errno.ENOTTY)
        }
    }

    /// VFIO_DEVICE_FEATURE_DMA_BUF (vfio-contract §4) on the simulated BARs.
    func dmaBuf(_ v: VfioFile, _ flags: UInt32, _ argsz: Int, _ u: [UInt8]) -> SyscallResult {
        if let r = checkFeature(flags, argsz: argsz, supported: SimulatedKernel.featureGet, minsz: 16) { return r }
        guard u.count >= 24 else { return .fail(Errno.EFAULT) }
        let region = Int(StructCodec.load(u, 8, 4))
        let bflags = StructCodec.load(u, 16, 4)
        let nr = Int(StructCodec.load(u, 20, 4))
        if nr == 0 || (bflags != 0 && !skipFlags) { return .fail(Errno.EINVAL) }
        if region >= 6 { return .fail(Errno.ENODEV) }
        // The ranges are copied by nr_ranges, not bounded by argsz.
        guard u.count >= 24 + 16 * nr else { return .fail(Errno.EFAULT) }
        let bar = SimulatedKernel.bars[region]
        var total: UInt64 = 0
        for i in 0..<nr {
            let off = StructCodec.load(u, 24 + 16 * i, 8), len = StructCodec.load(u, 32 + 16 * i, 8)
            if len == 0 || off % PAGE != 0 || len % PAGE != 0 { return .fail(Errno.EINVAL) }
            let (t, o) = total.addingReportingOverflow(len)
            if o { return .fail(Errno.EINVAL) }
            total = t
            if !bar.mmio || bar.size == 0 { return .fail(Errno.EINVAL) }
            let (end, o2) = off.addingReportingOverflow(len)
            if o2 { return .fail(Errno.EOVERFLOW) }
            if end > bar.size { return .fail(Errno.EINVAL) }
        }
        if v.device.tsmBound { return .fail(Errno.EBUSY) }  // documentedChoices["dmabuf.while_bound"]
        return .ok(Int(install(.dmabuf(length: total))))
    }
}
