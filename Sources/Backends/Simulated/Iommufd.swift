import Cases
import Layout

let ULONG_MAX = UInt64.max
let PAGE: UInt64 = 4096

extension SimulatedKernel {
    var skipFlags: Bool { mutations.contains(.skipFlagsChecks) }
    var skipReserved: Bool { mutations.contains(.skipReservedChecks) }
    /// The profile models a kernel built with CONFIG_IOMMUFD_TEST.
    var hasTestCmd: Bool { profile.ioctl("IOMMU_TEST_CMD") != nil }

    // MARK: Generic dispatch (contract §2, in order)

    func iommufdIoctl(_ ctx: IommufdContext, _ request: UInt64, _ arg: inout [UInt8]?, _ mem: UserMemory) -> SyscallResult {
        let nr = Int(request & 0xff)
        // 1. Outside the table: VFIO compat handler; the argument is never read.
        if nr < 0x80 || nr > tableEnd {
            if request == 0x3B00 | 100 { return .ok(0) }  // VFIO_GET_API_VERSION
            return .fail(Errno.ENOTTY)
        }
        // 2. Read the size word.
        guard let user = arg, user.count >= 4 else { return .fail(Errno.EFAULT) }
        let size = Int(StructCodec.load(user, 0, 4))
        // 3. Exact command match.
        guard let spec = table[nr], request == UInt64(0x3B00 | nr) else { return .fail(Errno.ENOTTY) }
        // 4. Minimum size.
        if size < spec.minSize && !mutations.contains(.skipMinSizeCheck) { return .fail(Errno.EINVAL) }
        // 5. copy_struct_from_user.
        let sz = spec.codec.size
        if size > user.count { return .fail(Errno.EFAULT) }
        if size > sz && !mutations.contains(.skipTailCheck) {
            var i = sz
            while i < size { if user[i] != 0 { return .fail(Errno.E2BIG) }; i += 1 }
        }
        let n = min(size, sz)
        // The kernel copy: user bytes, zero-extended to sizeof, in the reused scratch buffer.
        var k = scratch
        scratch = []
        k.removeAll(keepingCapacity: true)
        k.append(contentsOf: user[0..<n])
        if sz > n { k.append(contentsOf: repeatElement(0, count: sz - n)) }
        var cmd = Cmd(k: k, codec: spec.codec, userSize: size)
        // 6. Handler.
        let r = run(spec.handler, ctx, &cmd, mem)
        // 7. Response, limited to min(size, sizeof).
        switch r.respond {
        case .none: break
        case .full:
            copyOut(&arg, cmd.k, 0, n)
        case .fields(let names):
            for f in names {
                guard let fl = spec.codec.fields[f], fl.end <= n else { continue }
                copyOut(&arg, cmd.k, fl.offset, fl.end)
            }
        }
        scratch = cmd.k
        return r.errno.map { .fail($0) } ?? .ok(r.value)
    }

    /// arg[from..<to] = k[from..<to], element-wise (no slice temporaries).
    private func copyOut(_ arg: inout [UInt8]?, _ k: [UInt8], _ from: Int, _ to: Int) {
        guard var a = arg else { return }
        arg = nil  // keep `a` uniquely referenced while writing
        for i in from..<to { a[i] = k[i] }
        arg = a
    }

    func run(_ h: Handler, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        switch h {
        case .destroy: return destroy(ctx, &c)
        case .ioasAlloc: return ioasAlloc(ctx, &c)
        case .allowIovas: return allowIovas(ctx, &c, mem)
        case .ioasCopy: return ioasCopy(ctx, &c)
        case .iovaRanges: return iovaRanges(ctx, &c, mem)
        case .ioasMap: return ioasMap(ctx, &c, file: nil)
        case .mapFile: return mapFile(ctx, &c)
        case .ioasUnmap: return ioasUnmap(ctx, &c)
        case .option: return option(ctx, &c)
        case .vfioIoas: return vfioIoas(ctx, &c)
        case .hwptAlloc: return hwptAlloc(ctx, &c, mem)
        case .hwInfo: return hwInfo(ctx, &c, mem)
        case .setDirty: return setDirty(ctx, &c)
        case .getDirty: return getDirty(ctx, &c, mem)
        case .invalidate: return invalidate(ctx, &c, mem)
        case .faultAlloc: return faultAlloc(ctx, &c)
        case .viommuAlloc: return viommuAlloc(ctx, &c, mem)
        case .vdeviceAlloc: return vdeviceAlloc(ctx, &c)
        case .changeProcess: return changeProcess(ctx, &c)
        case .veventqAlloc: return veventqAlloc(ctx, &c)
        case .hwQueueAlloc: return hwQueueAlloc(ctx, &c)
        case .testCmd: return testCmd(ctx, &c)
        case .tsmOp: return tsmOp(ctx, &c)
        case .tsmReq: return tsmReq(ctx, &c, mem)
        case .tsmGuestRequestV2: return tsmGuestRequestV2(ctx, &c, mem)
        case .unknown: return .fail(Errno.EOPNOTSUPP)
        }
    }

    // MARK: Object table

    /// Lowest free id ≥ 1 (xa_alloc semantics: destroyed ids are reused, tombstones are not).
    func newObject(_ ctx: IommufdContext, _ kind: ObjKind) -> SimObject {
        var id: UInt32 = 1
        while ctx.objects[id] != nil || (!ctx.tombstones.isEmpty && ctx.tombstones.contains(id)) { id += 1 }
        let o = SimObject(id: id, kind: kind)
        ctx.objects[id] = o
        return o
    }

    /// The object `id` if it is of one of the given kinds. Fixed arity rather
    /// than variadic: a variadic call allocates an array on every lookup.
    func lookup(_ ctx: IommufdContext, _ id: UInt32, _ k1: ObjKind, _ k2: ObjKind? = nil, _ k3: ObjKind? = nil) -> SimObject? {
        guard let o = ctx.objects[id] else { return nil }
        return o.kind == k1 || o.kind == k2 || o.kind == k3 ? o : nil
    }

    func hold(_ ctx: IommufdContext, _ holder: SimObject, _ target: SimObject) {
        target.users += 1
        holder.holds.append(target.id)
    }

    func attach(_ ctx: IommufdContext, _ dev: SimObject, _ hwpt: SimObject) {
        detach(ctx, dev)
        dev.attachedHwpt = hwpt.id
        hwpt.users += 1
        hwpt.attachCount += 1
    }

    func detach(_ ctx: IommufdContext, _ dev: SimObject) {
        guard dev.attachedHwpt != 0, let h = ctx.objects[dev.attachedHwpt] else { dev.attachedHwpt = 0; return }
        dev.attachedHwpt = 0
        h.users -= 1
        h.attachCount -= 1
        // Auto-created domains go away with their last device.
        if h.auto && h.attachCount == 0 && h.users == 0 { remove(ctx, h) }
    }

    /// Tear one object down (no users check), releasing what it holds.
    func remove(_ ctx: IommufdContext, _ o: SimObject, tombstone: Bool = false) {
        guard ctx.objects[o.id] === o else { return }
        switch o.kind {
        case .vdevice:
            if let d = ctx.objects[o.deviceId] {
                if let p = d.pci, p.boundVdevice === o { tsmUnbind(p) }
                d.vdeviceId = 0
            }
            ctx.objects[o.viommuId]?.virtIds[o.virtId] = nil
        case .device:
            detach(ctx, o)
            if o.vdeviceId != 0, let v = ctx.objects[o.vdeviceId] { remove(ctx, v, tombstone: true) }
            if let f = o.vfio, f.devId == o.id { f.devId = 0 }
        case .selftest:
            for h in o.holds { if let d = ctx.objects[h], d.kind == .device { d.users -= 1; remove(ctx, d) } }
            o.holds.removeAll()
        case .veventq:
            ctx.objects[o.viommuId]?.veventqTypes.remove(o.type)
        case .hwQueue:
            ctx.objects[o.viommuId]?.hwQueues.remove(UInt32(truncatingIfNeeded: o.virtId))
        default: break
        }
        ctx.objects[o.id] = nil
        if tombstone { ctx.tombstones.insert(o.id) }
        for h in o.holds {
            guard let t = ctx.objects[h] else { continue }
            t.users -= 1
        }
        o.holds.removeAll()
    }

    func destroyAll(_ ctx: IommufdContext) {
        for o in ctx.objects.values where o.kind == .vdevice {
            if let d = ctx.objects[o.deviceId], let p = d.pci, p.boundVdevice === o { tsmUnbind(p) }
        }
        for o in ctx.objects.values where o.kind == .device { o.vfio?.devId = 0 }
        ctx.objects.removeAll()
        ctx.tombstones.removeAll()
        ctx.closed = true
    }

    /// Drop a vfio file's iommufd device (vfio unbind / close).
    func unbindVfio(_ v: VfioFile) {
        if let ctx = v.ctx, v.devId != 0, let d = ctx.objects[v.devId] {
            d.users -= 1  // the driver's own reference
            remove(ctx, d)
        }
        v.devId = 0
        v.ctx = nil
    }

    // MARK: Handlers (contract §4)

    func destroy(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        guard let o = ctx.objects[c.u32("id")] else { return .fail(Errno.ENOENT) }
        if o.users > 0 && !mutations.contains(.destroyIgnoresUsers) { return .fail(Errno.EBUSY) }
        remove(ctx, o)
        return .ok(respond: .none)
    }

    func ioasAlloc(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["flags"] != 0 && !skipFlags && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let o = newObject(ctx, .ioas)
        c["out_ioas_id"] = UInt64(o.id)
        return .ok()
    }

    /// The usable IOVA ranges of an IOAS: its allowed list, else the aperture
    /// (the mock aperture once a selftest device is attached through it).
    func ranges(_ ctx: IommufdContext, _ ioas: SimObject) -> [(UInt64, UInt64)] {
        var ap: (UInt64, UInt64) = (0, ULONG_MAX)
        for d in ctx.objects.values where d.kind == .device && d.pci == nil && d.attachedHwpt != 0 {
            if ctx.objects[d.attachedHwpt]?.ioasId == ioas.id { ap = (1 << 24, (1 << 31) - 1); break }
        }
        if ioas.allowed.isEmpty { return [ap] }
        return ioas.allowed.compactMap { r in
            let s = max(r.0, ap.0), l = min(r.1, ap.1)
            return s <= l ? (s, l) : nil
        }
    }

    func allowIovas(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        guard let ioas = lookup(ctx, c.u32("ioas_id"), .ioas) else { return .fail(Errno.ENOENT) }
        let n = Int(c.u32("num_iovas"))
        var list: [(UInt64, UInt64)] = []
        if n > 0 {
            guard let raw = mem.read(c["allowed_iovas"], n * 16) else { return .fail(Errno.EFAULT) }
            for i in 0..<n {
                let s = StructCodec.load(raw, i * 16, 8), l = StructCodec.load(raw, i * 16 + 8, 8)
                if s >= l { return .fail(Errno.EINVAL) }
                if list.contains(where: { s <= $0.1 && $0.0 <= l }) { return .fail(Errno.EINVAL) }
                list.append((s, l))
            }
        }
        // Existing mappings must stay inside the new allowed set.
        if !list.isEmpty {
            for m in ioas.mappings where !list.contains(where: { m.iova >= $0.0 && m.iova &+ m.length &- 1 <= $0.1 }) {
                return .fail(Errno.EADDRINUSE)
            }
        }
        ioas.allowed = list
        return .ok(respond: .none)
    }

    func iovaRanges(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        guard let ioas = lookup(ctx, c.u32("ioas_id"), .ioas) else { return .fail(Errno.ENOENT) }
        let r = ranges(ctx, ioas)
        let room = Int(c.u32("num_iovas"))
        c["num_iovas"] = UInt64(r.count)
        c["out_iova_alignment"] = PAGE
        if room < r.count { return .init(value: -1, errno: Errno.EMSGSIZE, respond: .full) }
        var out: [UInt8] = []
        for x in r { out += StructCodec.le64(x.0) + StructCodec.le64(x.1) }
        if !out.isEmpty && !mem.write(c["allowed_iovas"], out) { return .fail(Errno.EFAULT) }
        return .ok()
    }

    /// Place [iova, iova+length) in an IOAS: fixed or allocated. Returns the iova or an errno.
    func place(_ ctx: IommufdContext, _ ioas: SimObject, fixed: Bool, iova: UInt64, length: UInt64) -> Result<UInt64, SimErr> {
        let rs = ranges(ctx, ioas)
        func free(_ s: UInt64, _ l: UInt64) -> Bool {
            !ioas.mappings.contains { s <= $0.iova &+ $0.length &- 1 && $0.iova <= l }
        }
        if fixed {
            if iova % PAGE != 0 { return .failure(SimErr(Errno.EINVAL)) }
            let (last, o) = iova.addingReportingOverflow(length - 1)
            if o { return .failure(SimErr(Errno.EOVERFLOW)) }
            // Outside the usable ranges is a reserved region.
            if !rs.contains(where: { iova >= $0.0 && last <= $0.1 }) { return .failure(SimErr(Errno.EINVAL)) }
            if !free(iova, last) { return .failure(SimErr(Errno.EEXIST)) }
            return .success(iova)
        }
        for r in rs {
            var s = (r.0 + PAGE - 1) / PAGE * PAGE
            if s < r.0 { continue }
            while true {
                let (last, o) = s.addingReportingOverflow(length - 1)
                if o || last > r.1 { break }
                if let hit = ioas.mappings.first(where: { s <= $0.iova &+ $0.length &- 1 && $0.iova <= last }) {
                    let next = hit.iova &+ hit.length
                    let aligned = (next &+ PAGE &- 1) / PAGE * PAGE
                    if next == 0 || aligned <= s { break }
                    s = aligned
                    continue
                }
                return .success(s)
            }
        }
        return .failure(SimErr(Errno.ENOSPC))
    }

    func ioasMap(_ ctx: IommufdContext, _ c: inout Cmd, file: UInt64?) -> HandlerResult {
        let flags = c["flags"]
        if flags & ~7 != 0 && !skipFlags { return .fail(Errno.EOPNOTSUPP) }
        if file == nil && c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let iova = c["iova"], length = c["length"]
        if iova >= ULONG_MAX || length >= ULONG_MAX { return .fail(Errno.EOVERFLOW) }
        if flags & 6 == 0 { return .fail(Errno.EINVAL) }
        guard let ioas = lookup(ctx, c.u32("ioas_id"), .ioas) else { return .fail(Errno.ENOENT) }
        if let fileSize = file {
            let fd = Int32(truncatingIfNeeded: c["fd"])
            guard fd >= 0 && fd <= 2 || files[fd] != nil else { return .fail(Errno.EBADF) }
            let size: UInt64
            if case .dmabuf(let l)? = files[fd] { size = l } else { size = fileSize }
            let (end, o) = c["start"].addingReportingOverflow(length)
            if o || end > size { return .fail(Errno.EINVAL) }
        }
        if length == 0 { return .fail(Errno.EINVAL) }
        switch place(ctx, ioas, fixed: flags & 1 != 0, iova: iova, length: length) {
        case .failure(let e): return .fail(e.errno)
        case .success(let at):
            ioas.mappings.append(Mapping(iova: at, length: length, file: file != nil))
            c["iova"] = at
            return .ok()
        }
    }

    func mapFile(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        ioasMap(ctx, &c, file: 1 << 30)
    }

    func ioasUnmap(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        guard let ioas = lookup(ctx, c.u32("ioas_id"), .ioas) else { return .fail(Errno.ENOENT) }
        let iova = c["iova"], length = c["length"]
        if iova == 0 && length == UInt64.max {
            let total = ioas.mappings.reduce(UInt64(0)) { $0 &+ $1.length }
            ioas.mappings.removeAll()
            c["length"] = total
            return .ok()
        }
        if iova >= ULONG_MAX || length >= ULONG_MAX { return .fail(Errno.EOVERFLOW) }
        if length == 0 { return .fail(Errno.EINVAL) }
        let (last, o) = iova.addingReportingOverflow(length - 1)
        if o { return .fail(Errno.EOVERFLOW) }
        let hit = ioas.mappings.indices.filter { iova <= ioas.mappings[$0].iova &+ ioas.mappings[$0].length &- 1 && ioas.mappings[$0].iova <= last }
        if hit.isEmpty { return .fail(Errno.ENOENT) }
        // Unmapping part of an area would split it.
        for i in hit where ioas.mappings[i].iova < iova || ioas.mappings[i].iova &+ ioas.mappings[i].length &- 1 > last {
            return .fail(Errno.ENOENT)
        }
        var total: UInt64 = 0
        for i in hit.reversed() { total &+= ioas.mappings[i].length; ioas.mappings.remove(at: i) }
        c["length"] = total
        return .ok()
    }

    func ioasCopy(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        // A kernel with CONFIG_IOMMUFD_TEST (the profile has IOMMU_TEST_CMD)
        // takes flag bit 16 (MOCK_FLAGS_ACCESS_SYZ) for syzkaller before the
        // flags check: the bit is cleared and src_iova, read as {u32 nth_area,
        // u32 offset}, becomes that area's iova + offset, or 0.
        if hasTestCmd && c["flags"] & (1 << 16) != 0 {
            c["flags"] = c["flags"] & ~(1 << 16)
            if let ioas = lookup(ctx, c.u32("src_ioas_id"), .ioas) {
                let v = c["src_iova"], nth = Int(v & 0xffff_ffff), off = v >> 32
                let areas = ioas.mappings.sorted { $0.iova < $1.iova }
                c["src_iova"] = nth < areas.count ? areas[nth].iova &+ off : 0
            }
        }
        let flags = c["flags"]
        if flags & ~7 != 0 && !skipFlags { return .fail(Errno.EOPNOTSUPP) }
        let length = c["length"], src = c["src_iova"], dst = c["dst_iova"]
        if length >= ULONG_MAX || src >= ULONG_MAX || dst >= ULONG_MAX { return .fail(Errno.EOVERFLOW) }
        if flags & 6 == 0 { return .fail(Errno.EINVAL) }
        guard let sIoas = lookup(ctx, c.u32("src_ioas_id"), .ioas) else { return .fail(Errno.ENOENT) }
        // The source range must be exactly covered by whole, contiguous areas.
        var cursor = src
        let end = src &+ length
        let areas = sIoas.mappings.sorted { $0.iova < $1.iova }.filter { $0.iova >= src && $0.iova < end }
        for a in areas where a.iova == cursor { cursor = a.iova &+ a.length }
        if length == 0 || cursor != end || areas.first?.iova != src { return .fail(Errno.ENOENT) }
        guard let dIoas = lookup(ctx, c.u32("dst_ioas_id"), .ioas) else { return .fail(Errno.ENOENT) }
        switch place(ctx, dIoas, fixed: flags & 1 != 0, iova: dst, length: length) {
        case .failure(let e): return .fail(e.errno)
        case .success(let at):
            dIoas.mappings.append(Mapping(iova: at, length: length, file: areas.allSatisfy(\.file)))
            c["dst_iova"] = at
            return .ok()
        }
    }

    func option(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let op = c["op"], val = c["val64"]
        let ok = HandlerResult.ok(respond: .fields(["val64"]))
        switch c["option_id"] {
        case 0:  // RLIMIT_MODE
            if c["object_id"] != 0 { return .fail(Errno.EOPNOTSUPP) }
            if op == 1 { c["val64"] = ctx.rlimitMode; return ok }
            if op == 0 {
                // The simulated process has CAP_SYS_RESOURCE.
                if !ctx.objects.isEmpty { return .fail(Errno.EBUSY) }
                if val > 1 { return .fail(Errno.EINVAL) }
                ctx.rlimitMode = val
                return ok
            }
            return .fail(Errno.EOPNOTSUPP)
        case 1:  // HUGE_PAGES
            guard let ioas = lookup(ctx, c.u32("object_id"), .ioas) else { return .fail(Errno.ENOENT) }
            if op == 1 { c["val64"] = ioas.hugePages; return ok }
            if op == 0 {
                if val > 1 { return .fail(Errno.EINVAL) }
                ioas.hugePages = val
                return ok
            }
            return .fail(Errno.EOPNOTSUPP)
        default:
            return .fail(Errno.EOPNOTSUPP)
        }
    }

    func vfioIoas(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        switch c["op"] {
        case 0:
            guard ctx.vfioCompatIoas != 0, ctx.objects[ctx.vfioCompatIoas] != nil else { return .fail(Errno.ENODEV) }
            c["ioas_id"] = UInt64(ctx.vfioCompatIoas)
            return .ok()
        case 1:
            guard lookup(ctx, c.u32("ioas_id"), .ioas) != nil else { return .fail(Errno.ENOENT) }
            ctx.vfioCompatIoas = c.u32("ioas_id")
            return .ok(respond: .none)
        case 2:
            ctx.vfioCompatIoas = 0
            return .ok(respond: .none)
        default:
            return .fail(Errno.EOPNOTSUPP)
        }
    }

    /// Driver payload copy (`iommu_copy_struct_from_user`): type mismatch or a
    /// length outside [minLen, maxLen] → EINVAL; unreadable → EFAULT.
    func driverPayload(_ mem: UserMemory, type: UInt64, want: UInt64, len: UInt64, uptr: UInt64, minLen: UInt64, maxLen: UInt64) -> Errno? {
        if type != want { return Errno.EINVAL }
        if len < minLen || len > maxLen { return Errno.EINVAL }
        if uptr == 0 || mem.read(uptr, Int(len)) == nil { return Errno.EFAULT }
        return nil
    }

    func hwptAlloc(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        // __reserved2 is deliberately not checked (contract §5.3).
        let dt = c["data_type"], dl = c["data_len"]
        if (dt == 0) != (dl == 0) { return .fail(Errno.EINVAL) }
        guard let dev = lookup(ctx, c.u32("dev_id"), .device) else { return .fail(Errno.ENOENT) }
        guard let pt = lookup(ctx, c.u32("pt_id"), .ioas, .hwptPaging, .viommu) else { return .fail(Errno.EINVAL) }
        let flags = c["flags"]
        if !skipFlags && (flags & ~0xF != 0 || (flags & 4 != 0 && flags & 1 != 0)) { return .fail(Errno.EOPNOTSUPP) }
        var fault: SimObject?
        if flags & 4 != 0 {
            guard let f = lookup(ctx, c.u32("fault_id"), .fault) else { return .fail(Errno.ENOENT) }
            fault = f
        }
        let o: SimObject
        if pt.kind == .ioas {
            if dt != 0 { return .fail(Errno.EOPNOTSUPP) }
            if flags & 2 != 0 && dev.mockFlags & 1 != 0 { return .fail(Errno.EOPNOTSUPP) }
            o = newObject(ctx, .hwptPaging)
            o.ioasId = pt.id
            o.nestParent = flags & 1 != 0
            o.dirtyCapable = flags & 2 != 0
            hold(ctx, o, pt)
        } else {
            if pt.kind == .hwptPaging && !pt.nestParent { return .fail(Errno.EINVAL) }
            if flags & ~0xC != 0 && !skipFlags { return .fail(Errno.EOPNOTSUPP) }
            if dt == 0 { return .fail(Errno.EOPNOTSUPP) }
            let e = driverPayload(mem, type: dt, want: 0xdead, len: dl, uptr: c["data_uptr"], minLen: 4, maxLen: 8)
            if let e { return .fail(e) }
            o = newObject(ctx, .hwptNested)
            o.ioasId = pt.kind == .hwptPaging ? pt.ioasId : (ctx.objects[pt.holds.first ?? 0]?.ioasId ?? 0)
            hold(ctx, o, pt)
        }
        if let f = fault { hold(ctx, o, f) }
        c["out_hwpt_id"] = UInt64(o.id)
        return .ok()
    }

    func hwInfo(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let flags = c["flags"]
        if flags & ~1 != 0 && !skipFlags { return .fail(Errno.EOPNOTSUPP) }
        if c.codec.nonZero(c.k, "__reserved") && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let inType: UInt64 = flags & 1 != 0 ? c["in_data_type"] : 0
        guard let dev = lookup(ctx, c.u32("dev_id"), .device) else { return .fail(Errno.ENOENT) }
        let selftest = profile.enums["IOMMU_HW_INFO_TYPE_SELFTEST"].map { UInt64(truncatingIfNeeded: $0) } ?? 0xfeedbeef
        if inType != 0 && inType != selftest { return .fail(Errno.EOPNOTSUPP) }
        // struct iommu_test_hw_info { u32 flags; u32 test_reg; }: 8 bytes.
        let info: [UInt8] = StructCodec.le32(0) + StructCodec.le32(0xdeadbeef)
        let len = Int(c.u32("data_len"))
        if len > 0 {
            var out = [UInt8](repeating: 0, count: len)
            let n = min(len, info.count)
            out.replaceSubrange(0..<n, with: info[0..<n])
            if !mem.write(c["data_uptr"], out) { return .fail(Errno.EFAULT) }
        }
        c["data_len"] = UInt64(info.count)
        c["out_data_type"] = selftest
        c["out_max_pasid_log2"] = dev.mockFlags & 4 != 0 ? 20 : 0
        c["out_capabilities"] = dev.mockFlags & 1 != 0 ? 0 : 1
        return .ok()
    }

    func setDirty(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["flags"] & ~1 != 0 && !skipFlags { return .fail(Errno.EOPNOTSUPP) }
        // __reserved is deliberately not checked (contract §5.3).
        guard let h = lookup(ctx, c.u32("hwpt_id"), .hwptPaging) else { return .fail(Errno.ENOENT) }
        if !h.dirtyCapable { return .fail(Errno.EINVAL) }
        h.dirtyEnabled = c["flags"] & 1 != 0
        return .ok(respond: .none)
    }

    func getDirty(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c["flags"] & ~1 != 0 && !skipFlags { return .fail(Errno.EOPNOTSUPP) }
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        guard let h = lookup(ctx, c.u32("hwpt_id"), .hwptPaging) else { return .fail(Errno.ENOENT) }
        let iova = c["iova"], length = c["length"], ps = c["page_size"]
        if iova.addingReportingOverflow(length).overflow { return .fail(Errno.EOVERFLOW) }
        if ps == 0 || iova % ps != 0 || length % ps != 0 { return .fail(Errno.EINVAL) }
        if !h.dirtyCapable { return .fail(Errno.EINVAL) }
        let bytes = Int(((length / ps) + 7) / 8)
        if bytes > 0 && !mem.write(c["data"], [UInt8](repeating: 0, count: bytes)) { return .fail(Errno.EFAULT) }
        return .ok(respond: .none)
    }

    func invalidate(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let num = c.u32("entry_num"), elen = c.u32("entry_len"), uptr = c["data_uptr"]
        // 7.2 also bounds the array so one call cannot pin the CPU (hw_pagetable.c).
        if num != 0 && (uptr == 0 || elen == 0 || elen > 4096 || num > 1 << 19) { return .fail(Errno.EINVAL) }
        // From here on entry_num (entries handled) is written back even on error.
        func out(_ done: UInt32, _ e: Errno?) -> HandlerResult {
            c["entry_num"] = UInt64(done)
            return .init(value: e == nil ? 0 : -1, errno: e, respond: .fields(["entry_num"]))
        }
        // The id is looked up even for an empty array (seen on a 7.2 kernel).
        guard let o = ctx.objects[c.u32("hwpt_id")] else { return out(0, Errno.ENOENT) }
        guard o.kind == .hwptNested || o.kind == .viommu else { return out(0, Errno.EINVAL) }
        if c["data_type"] != 0xdeadbeef { return out(0, Errno.EINVAL) }
        // An empty array of the right type only validates the type.
        if num == 0 { return out(0, nil) }
        if o.kind == .hwptNested {
            // struct iommu_hwpt_invalidate_selftest { u32 flags; u32 iotlb_id; }.
            if elen < 8 { return out(0, Errno.EINVAL) }
            for i in 0..<num {
                guard mem.read(uptr &+ UInt64(i) &* UInt64(elen), Int(min(elen, 8))) != nil else { return out(i, Errno.EFAULT) }
            }
            return out(num, nil)
        }
        // vIOMMU: struct iommu_viommu_invalidate_selftest { u32 flags; u32 vdev_id;
        // u32 cache_id; }, shorter entries zero-extended; each entry names a
        // vDEVICE of this vIOMMU by virtual id.
        for i in 0..<num {
            guard let raw = mem.read(uptr &+ UInt64(i) &* UInt64(elen), Int(min(elen, 12))) else { return out(i, Errno.EFAULT) }
            let e = raw + [UInt8](repeating: 0, count: 12 - raw.count)
            let flags = StructCodec.load(e, 0, 4), vdev = StructCodec.load(e, 4, 4), cache = StructCodec.load(e, 8, 4)
            if flags & ~1 != 0 { return out(i, Errno.EOPNOTSUPP) }
            if cache > 3 { return out(i, Errno.EINVAL) }
            if o.virtIds[vdev] == nil { return out(i, Errno.EINVAL) }
        }
        return out(num, nil)
    }

    func faultAlloc(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["flags"] != 0 && !skipFlags && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let o = newObject(ctx, .fault)
        c["out_fault_id"] = UInt64(o.id)
        c["out_fault_fd"] = UInt64(install(.anon))
        return .ok()
    }

    func viommuAlloc(_ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let flags = c["flags"]
        let v2 = c.codec.has("kvm_vm_fd")
        let allowed: UInt64 = v2 ? 1 : 0
        if flags & ~allowed != 0 && !skipFlags && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let type = c["type"]
        if type == 0 { return .fail(Errno.EOPNOTSUPP) }
        // __reserved is deliberately not checked (contract §5.3).
        guard let dev = lookup(ctx, c.u32("dev_id"), .device) else { return .fail(Errno.ENOENT) }
        if type != 0xdeadbeef { return .fail(Errno.EOPNOTSUPP) }
        guard let hwpt = lookup(ctx, c.u32("hwpt_id"), .hwptPaging) else { return .fail(Errno.ENOENT) }
        if !hwpt.nestParent { return .fail(Errno.EINVAL) }
        let dl = c["data_len"]
        if dl != 0 {
            if c["data_uptr"] == 0 { return .fail(Errno.EFAULT) }
            if dl > 24 { return .fail(Errno.EINVAL) }
            if mem.read(c["data_uptr"], Int(dl)) == nil { return .fail(Errno.EFAULT) }
        }
        var kvm = dev.pci?.hasKVM ?? false
        if v2 {
            kvm = false
            if flags & 1 != 0 {
                guard case .kvm? = files[Int32(truncatingIfNeeded: c["kvm_vm_fd"])] else { return .fail(Errno.EBADF) }
                kvm = true
            }
        }
        let o = newObject(ctx, .viommu)
        o.kvm = kvm
        hold(ctx, o, hwpt)
        c["out_viommu_id"] = UInt64(o.id)
        return .ok()
    }

    func vdeviceAlloc(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        guard let vi = lookup(ctx, c.u32("viommu_id"), .viommu) else { return .fail(Errno.ENOENT) }
        guard let dev = lookup(ctx, c.u32("dev_id"), .device) else { return .fail(Errno.ENOENT) }
        let virt = c["virt_id"]
        if dev.vdeviceId != 0 || vi.virtIds[virt] != nil { return .fail(Errno.EEXIST) }
        let o = newObject(ctx, .vdevice)
        o.viommuId = vi.id
        o.deviceId = dev.id
        o.virtId = virt
        hold(ctx, o, vi)
        dev.vdeviceId = o.id
        vi.virtIds[virt] = o.id
        c["out_vdevice_id"] = UInt64(o.id)
        return .ok()
    }

    func changeProcess(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        for o in ctx.objects.values where o.kind == .ioas && o.mappings.contains(where: { !$0.file }) {
            return .fail(Errno.EINVAL)
        }
        return .ok(respond: .none)
    }

    func veventqAlloc(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["flags"] != 0 && !skipFlags && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        if c["__reserved"] != 0 && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let type = c.u32("type")
        if type == 0 { return .fail(Errno.EOPNOTSUPP) }
        if c["veventq_depth"] == 0 { return .fail(Errno.EINVAL) }
        guard let vi = lookup(ctx, c.u32("viommu_id"), .viommu) else { return .fail(Errno.ENOENT) }
        if type != 0xbeefbeef { return .fail(Errno.EOPNOTSUPP) }
        if vi.veventqTypes.contains(type) { return .fail(Errno.EEXIST) }
        let o = newObject(ctx, .veventq)
        o.viommuId = vi.id
        o.type = type
        hold(ctx, o, vi)
        vi.veventqTypes.insert(type)
        c["out_veventq_id"] = UInt64(o.id)
        c["out_veventq_fd"] = UInt64(install(.anon))
        return .ok()
    }

    func hwQueueAlloc(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        if c["flags"] != 0 && !skipFlags && !skipReserved { return .fail(Errno.EOPNOTSUPP) }
        let type = c["type"]
        if type == 0 { return .fail(Errno.EOPNOTSUPP) }
        let length = c["length"], base = c["nesting_parent_iova"]
        if length == 0 { return .fail(Errno.EINVAL) }
        if base.addingReportingOverflow(length - 1).overflow { return .fail(Errno.EOVERFLOW) }
        guard let vi = lookup(ctx, c.u32("viommu_id"), .viommu) else { return .fail(Errno.ENOENT) }
        if type != 0xdeadbeef { return .fail(Errno.EOPNOTSUPP) }
        let index = c.u32("index")
        if index >= 2 { return .fail(Errno.EINVAL) }
        if vi.hwQueues.contains(index) { return .fail(Errno.EEXIST) }
        // The queue memory must be mapped in the nest parent's IOAS.
        let ioas = ctx.objects[vi.holds.first ?? 0].flatMap { ctx.objects[$0.ioasId] }
        let last = base + length - 1
        guard let m = ioas?.mappings, m.contains(where: { base >= $0.iova && last <= $0.iova &+ $0.length &- 1 }) else {
            return .fail(Errno.ENOENT)
        }
        let o = newObject(ctx, .hwQueue)
        o.viommuId = vi.id
        o.virtId = UInt64(index)
        hold(ctx, o, vi)
        vi.hwQueues.insert(index)
        c["out_hw_queue_id"] = UInt64(o.id)
        return .ok()
    }

    /// IOMMU_TEST_CMD: MOCK_DOMAIN / MOCK_DOMAIN_FLAGS create a selftest
    /// object, a mock (non-PCI, no KVM) device and, for an IOAS, an auto HWPT.
    func testCmd(_ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        let op = c["op"]
        guard op == 2 || op == 12 else { return .fail(Errno.EOPNOTSUPP) }
        let devFlags = op == 12 ? c.u32("dev_flags") : 0
        if devFlags & ~5 != 0 { return .fail(Errno.EINVAL) }
        guard let pt = ctx.objects[c.u32("id")] else { return .fail(Errno.ENOENT) }
        guard pt.kind == .ioas || pt.kind == .hwptPaging else { return .fail(Errno.EINVAL) }
        let st = newObject(ctx, .selftest)
        let dev = newObject(ctx, .device)
        dev.mockFlags = devFlags
        hold(ctx, st, dev)
        var hwpt = pt
        if pt.kind == .ioas {
            hwpt = newObject(ctx, .hwptPaging)
            hwpt.ioasId = pt.id
            hwpt.auto = true
            hwpt.dirtyCapable = devFlags & 1 == 0
            hold(ctx, hwpt, pt)
        }
        attach(ctx, dev, hwpt)
        c["out_stdev_id"] = UInt64(st.id)
        c["out_hwpt_id"] = UInt64(hwpt.id)
        c["out_idev_id"] = UInt64(dev.id)
        return .ok()
    }
}

struct SimErr: Error { let errno: Errno; init(_ e: Errno) { errno = e } }

enum Respond { case none, full, fields([String]) }
