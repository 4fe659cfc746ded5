import Cases
import Layout

struct VfioFeatureFields {
    let head: VfioArgszFlags
    /// sizeof(struct vfio_device_feature): the payload starts here.
    let headerSize: Int
    let get, set, probe, featureMask: UInt64
    let lowPowerEntry, lowPowerExit: UInt64
    /// VFIO_DEVICE_FEATURE_DMA_BUF and its payload, where the version has it (7.2; not 6.12).
    let dmaBuf: (feature: UInt64, fields: DmaBufFields)?
    init(_ r: FieldResolver) throws {
        head = try .init(r)
        headerSize = try r("data").offset
        get = try r.constant("VFIO_DEVICE_FEATURE_GET"); set = try r.constant("VFIO_DEVICE_FEATURE_SET")
        probe = try r.constant("VFIO_DEVICE_FEATURE_PROBE"); featureMask = try r.constant("VFIO_DEVICE_FEATURE_MASK")
        lowPowerEntry = try r.constant("VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY")
        lowPowerExit = try r.constant("VFIO_DEVICE_FEATURE_LOW_POWER_EXIT")
        let base = headerSize
        dmaBuf = try r.profile.enums["VFIO_DEVICE_FEATURE_DMA_BUF"].map { _ in
            (try r.constant("VFIO_DEVICE_FEATURE_DMA_BUF"),
             try DmaBufFields(r.nested("vfio_device_feature_dma_buf"), range: r.nested("vfio_region_dma_range"),
                              at: base))
        }
    }
}

/// struct vfio_device_feature_dma_buf and its vfio_region_dma_range array,
/// at their offsets in the whole VFIO_DEVICE_FEATURE argument.
struct DmaBufFields {
    let regionIndex, flags, nrRanges: FieldHandle
    let flagMask: UInt64
    /// Where the payload starts, its sizeof, and where the ranges start.
    let start, size, ranges: Int
    let rangeOffset, rangeLength: FieldHandle
    let rangeSize: Int
    init(_ r: FieldResolver, range: FieldResolver, at base: Int) throws {
        regionIndex = try r("region_index").shifted(base); flags = try r("flags").shifted(base)
        nrRanges = try r("nr_ranges").shifted(base); flagMask = try r.flagMask()
        start = base; size = r.size; ranges = base + (try r("dma_ranges")).offset
        rangeOffset = try range("offset"); rangeLength = try range("length"); rangeSize = range.size
    }
}

extension FieldHandle {
    /// The same field in a struct that starts `base` bytes into the argument.
    func shifted(_ base: Int) -> FieldHandle { FieldHandle(name: name, offset: offset + base, size: size) }
}

/// VFIO_DEVICE_FEATURE (vfio-contract §4): LOW_POWER_ENTRY/EXIT and DMA_BUF.
extension SimulatedKernel {
    /// vfio_check_feature(): nil = go on; otherwise the result to return.
    func checkFeature(_ f: VfioFeatureFields, _ flags: UInt64, argsz: Int, supported: UInt64,
                      minsz: Int) -> SyscallResult? {
        let gs = flags & (f.get | f.set)
        if gs & ~supported != 0 { return .fail(.EINVAL) }
        if flags & f.probe != 0 { return .ok() }
        if gs == 0 { return .fail(.EINVAL) }
        if argsz - f.headerSize < minsz { return .fail(.EINVAL) }
        return nil
    }

    func vfioFeature(_ f: VfioFeatureFields, _ minsz: Int, _ v: VfioFile, _ arg: [UInt8]?,
                     _ mem: UserMemory) -> SyscallResult {
        let u: [UInt8], argsz: Int
        switch vfioHeader(arg, minsz: minsz) {
        case .failure(let e): return .fail(e.errno)
        case .success(let h): (u, argsz) = h
        }
        let flags = f.head.flags.load(u)
        if badFlags(f.head, u) { return .fail(.EINVAL) }
        let both = f.get | f.set
        if flags & both == both && flags & f.probe == 0 { return .fail(.EINVAL) }
        switch flags & f.featureMask {
        case f.lowPowerEntry:  // D3hot unbinds the TDI first.
            if let r = checkFeature(f, flags, argsz: argsz, supported: f.set, minsz: 0) { return r }
            tsmUnbind(v.device)
            v.device.d3hot = true
            return .ok()
        case f.lowPowerExit:
            if let r = checkFeature(f, flags, argsz: argsz, supported: f.set, minsz: 0) { return r }
            v.device.d3hot = false
            return .ok()
        case let feature where feature == f.dmaBuf?.feature:
            guard let d = f.dmaBuf?.fields else { return .fail(.ENOTTY) }
            if let r = checkFeature(f, flags, argsz: argsz, supported: f.get, minsz: d.size) { return r }
            return dmaBuf(d, v, u)
        default:
            return .fail(.ENOTTY)
        }
    }

    /// VFIO_DEVICE_FEATURE_DMA_BUF (vfio-contract §4) on the simulated BARs.
    func dmaBuf(_ f: DmaBufFields, _ v: VfioFile, _ u: [UInt8]) -> SyscallResult {
        guard u.count >= f.start + f.size else { return .fail(.EFAULT) }
        let region = Int(f.regionIndex.load(u))
        let nr = Int(f.nrRanges.load(u))
        if nr == 0 || (f.flags.load(u) & ~f.flagMask != 0 && !skipFlags) { return .fail(.EINVAL) }
        if region >= SimulatedKernel.bars.count { return .fail(.ENODEV) }
        // The ranges are copied by nr_ranges, not bounded by argsz.
        guard u.count >= f.ranges + f.rangeSize * nr else { return .fail(.EFAULT) }
        let bar = SimulatedKernel.bars[region]
        var total: UInt64 = 0
        for i in 0..<nr {
            let at = f.ranges + f.rangeSize * i
            let off = f.rangeOffset.shifted(at).load(u), len = f.rangeLength.shifted(at).load(u)
            if len == 0 || off % PAGE != 0 || len % PAGE != 0 { return .fail(.EINVAL) }
            let (t, o) = total.addingReportingOverflow(len)
            if o { return .fail(.EINVAL) }
            total = t
            if !bar.mmio || bar.size == 0 { return .fail(.EINVAL) }
            let (end, o2) = off.addingReportingOverflow(len)
            if o2 { return .fail(.EOVERFLOW) }
            if end > bar.size { return .fail(.EINVAL) }
        }
        if v.device.tsmBound { return .fail(.EBUSY) }  // documentedChoices["dmabuf.while_bound"]
        return .ok(Int(install(.dmabuf(DmabufFile(length: total, selftest: false)))))
    }
}
