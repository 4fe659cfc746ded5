import Cases

/// Coherent values for the fields of one op that only make sense together
/// (a mapping's length and its buffer, a nested HWPT's parent and its
/// data): what a caller who means it would send. The generator applies them
/// on top of the per-field draws for most calls, so sequences get deep.
struct Hints {
    let c: Constants
    var page: UInt64 { Values.page }

    func object(_ kinds: Set<ObjectKind>, _ s: FuzzState, _ rng: inout FuzzRandom) -> Draw? {
        rng.pick(s.of(kinds)).map { .symbol($0.symbol) }
    }

    func apply(_ role: OpRole, _ b: inout CallBuilder, _ s: FuzzState, _ rng: inout FuzzRandom) {
        switch role {
        case .destroy(let id):
            if let o = rng.pick(s.objects) { b.set(id, o.symbol) }
        case .map(let ioas, let iova, let length, let user, let file):
            map(&b, ioas, iova, length, user, file, s, &rng)
        case .copy(let src, let dst, let srcIova, let dstIova, let length):
            guard let a = rng.pick(s.areas), let o = s.objects.first(where: { $0.id == a.ioas }) else { return }
            b.set(src, o.symbol); b.set(srcIova, a.iova); b.set(length, a.length)
            if let d = object([.ioas], s, &rng) { b.put(dst, d) }
            b.set(b.op.field("flags"), mapFlags(fixed: rng.chance(40), &rng))
            b.set(dstIova, Values.apertureStart + page * UInt64(rng.below(256)))
        case .unmap(let ioas, let iova, let length):
            if rng.chance(20), let o = object([.ioas], s, &rng) {
                b.put(ioas, o); b.set(iova, 0); b.set(length, .max)
            } else if let a = rng.pick(s.areas), let o = s.objects.first(where: { $0.id == a.ioas }) {
                b.set(ioas, o.symbol); b.set(iova, a.iova); b.set(length, a.length)
            }
        case .iovaList(let ioas, let num, let list, let output):
            iovaList(&b, ioas, num, list, output, s, &rng)
        case .option(let option, let op, let object, let value):
            let huge = rng.chance(60)
            b.set(option, c[huge ? "IOMMU_OPTION_HUGE_PAGES" : "IOMMU_OPTION_RLIMIT_MODE"])
            b.set(op, c[rng.chance(50) ? "IOMMU_OPTION_OP_GET" : "IOMMU_OPTION_OP_SET"])
            if huge, let o = self.object([.ioas], s, &rng) { b.put(object, o) } else { b.set(object, 0) }
            b.set(value, UInt64(rng.below(2)))
        case .vfioIoas(let op, let ioas):
            b.set(op, c[rng.pick(["IOMMU_VFIO_IOAS_GET", "IOMMU_VFIO_IOAS_SET", "IOMMU_VFIO_IOAS_CLEAR"]) ?? ""])
            if let o = object([.ioas], s, &rng) { b.put(ioas, o) }
        case .hwptAlloc(let h): hwpt(&b, h, s, &rng)
        case .hwInfo(let dev, let len, let data, let flags, let type):
            if let d = object([.device], s, &rng) { b.put(dev, d) }
            let n = rng.pick([0, 4, 8, 16, 64]) ?? 0
            b.set(len, UInt64(n)); b.buffer(data, [], size: n)
            let input = rng.chance(30)
            b.set(flags, input ? c["IOMMU_HW_INFO_FLAG_INPUT_TYPE"] : 0)
            b.set(type, input ? c[rng.chance(50) ? "IOMMU_HW_INFO_TYPE_SELFTEST" : "IOMMU_HW_INFO_TYPE_DEFAULT"] : 0)
        case .dirtyTracking(let hwpt, let flags):
            if let h = object([.hwptPaging], s, &rng) { b.put(hwpt, h) }
            b.set(flags, rng.chance(50) ? c["IOMMU_HWPT_DIRTY_TRACKING_ENABLE"] : 0)
        case .dirtyBitmap(let hwpt, let iova, let length, let ps, let data):
            if let h = object([.hwptPaging], s, &rng) { b.put(hwpt, h) }
            let a = rng.pick(s.areas)
            let len = a?.length ?? page * UInt64(1 + rng.below(8))
            b.set(iova, a?.iova ?? Values.apertureStart); b.set(length, len); b.set(ps, page)
            b.buffer(data, [], size: Int(((len / page + 7) / 8 + 7) / 8 * 8))
        case .invalidate(let hwpt, let type, let len, let num, let data):
            invalidate(&b, hwpt, type, len, num, data, s, &rng)
        case .viommuAlloc(let type, let dev, let hwpt, let len, let data):
            b.set(type, c["IOMMU_VIOMMU_TYPE_SELFTEST"])
            if let d = object([.device], s, &rng) { b.put(dev, d) }
            if let p = rng.pick(s.nestParents) { b.set(hwpt, p.symbol) }
            let n = rng.chance(70) ? 0 : rng.below(25)
            b.set(len, UInt64(n)); if n > 0 { b.buffer(data, [], size: n) } else { b.set(data, 0) }
        case .vdeviceAlloc(let viommu, let dev, let virt):
            if let v = object([.viommu], s, &rng) { b.put(viommu, v) }
            if let d = object([.device], s, &rng) { b.put(dev, d) }
            b.set(virt, rng.chance(20) ? (rng.pick(s.virtIds) ?? 0) : UInt64(rng.below(256)))
        case .veventqAlloc(let viommu, let type, let depth):
            if let v = object([.viommu], s, &rng) { b.put(viommu, v) }
            b.set(type, c["IOMMU_VEVENTQ_TYPE_SELFTEST"]); b.set(depth, UInt64(1 + rng.below(8)))
        case .hwQueueAlloc(let viommu, let type, let index, let iova, let length):
            if let v = object([.viommu], s, &rng) { b.put(viommu, v) }
            b.set(type, c["IOMMU_HW_QUEUE_TYPE_SELFTEST"]); b.set(index, UInt64(rng.below(3)))
            let a = rng.pick(s.areas)
            b.set(iova, a?.iova ?? Values.apertureStart); b.set(length, min(a?.length ?? page, page))
        case .testCommand(let op, let id, let flags): test(&b, op, id, flags, s, &rng)
        case .tsm(let vdevice, let buffers):
            if let v = object([.vdevice], s, &rng) { b.put(vdevice, v) }
            for (len, ptr) in buffers {
                let n = rng.pick([0, 8, 32, 64]) ?? 0
                b.set(len, UInt64(n)); b.buffer(ptr, (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
        case .vfioBind(let fd):
            b.set(fd, .iommufd); b.set(b.op.field("flags"), 0)
        case .vfioAttach(let pt):
            if let o = object([.ioas, .hwptPaging], s, &rng) { b.put(pt, o) }
            b.set(b.op.field("flags"), 0)
        case .ioasAlloc, .faultAlloc, .other: break
        }
    }

    func mapFlags(fixed: Bool, _ rng: inout FuzzRandom) -> UInt64 {
        let access = [c["IOMMU_IOAS_MAP_READABLE"], c["IOMMU_IOAS_MAP_WRITEABLE"],
                      c["IOMMU_IOAS_MAP_READABLE"] | c["IOMMU_IOAS_MAP_WRITEABLE"]]
        return (rng.pick(access) ?? 0) | (fixed ? c["IOMMU_IOAS_MAP_FIXED_IOVA"] : 0)
    }

    func map(_ b: inout CallBuilder, _ ioas: Int, _ iova: Int, _ length: Int, _ user: Int?,
             _ file: (fd: Int, start: Int)?, _ s: FuzzState, _ rng: inout FuzzRandom) {
        if let o = object([.ioas], s, &rng) { b.put(ioas, o) }
        let fixed = rng.chance(60)
        b.set(b.op.field("flags"), mapFlags(fixed: fixed, &rng))
        let pages = 1 + rng.below(rng.chance(80) ? 4 : 16)
        let len = page * UInt64(pages)
        b.set(length, len)
        let at = Values.apertureStart + page * UInt64(rng.below(256))
        b.set(iova, fixed ? (rng.chance(20) ? (rng.pick(s.areas)?.iova ?? at) : at) : 0)
        if let user { b.buffer(user, [], size: Int(len), offset: rng.chance(10) ? rng.below(Int(page)) : 0) }
        if let file {
            if let f = rng.pick(s.fds), rng.chance(50) { b.set(file.fd, f) } else { b.set(file.fd, .iommufd) }
            b.set(file.start, rng.chance(80) ? 0 : page * UInt64(rng.below(4)))
        }
    }

    func iovaList(_ b: inout CallBuilder, _ ioas: Int, _ num: Int, _ list: Int, _ output: Bool, _ s: FuzzState,
                  _ rng: inout FuzzRandom) {
        if let o = object([.ioas], s, &rng) { b.put(ioas, o) }
        let n = rng.below(4)
        b.set(num, UInt64(n))
        if output { b.buffer(list, [], size: 16 * n); return }
        var bytes: [UInt8] = []
        var start = Values.apertureStart / 2 + page * UInt64(rng.below(64))
        for _ in 0..<n {
            let last = rng.chance(85) ? start + page * UInt64(1 + rng.below(1 << 14)) - 1 : start &- 1
            bytes += le(start, 8) + le(last, 8)
            start = rng.chance(85) ? last &+ 1 + page * UInt64(rng.below(64)) : start
        }
        b.buffer(list, bytes)
    }

    func hwpt(_ b: inout CallBuilder, _ h: HwptRole, _ s: FuzzState, _ rng: inout FuzzRandom) {
        if let d = object([.device], s, &rng) { b.put(h.dev, d) }
        let parents = s.nestParents.map(\.symbol) + s.of([.viommu]).map(\.symbol)
        if parents.isEmpty || rng.chance(55) {
            if let o = object([.ioas], s, &rng) { b.put(h.pt, o) }
            var flags: UInt64 = rng.chance(50) ? c["IOMMU_HWPT_ALLOC_NEST_PARENT"] : 0
            if rng.chance(30) { flags |= c["IOMMU_HWPT_ALLOC_DIRTY_TRACKING"] }
            if flags & c["IOMMU_HWPT_ALLOC_NEST_PARENT"] == 0, rng.chance(30), let q = object([.fault], s, &rng) {
                flags |= c["IOMMU_HWPT_FAULT_ID_VALID"]; b.put(h.fault, q)
            }
            b.set(h.flags, flags); b.set(h.type, c["IOMMU_HWPT_DATA_NONE"]); b.set(h.len, 0); b.set(h.data, 0)
            return
        }
        if let p = rng.pick(parents) { b.set(h.pt, p) }
        b.set(h.flags, 0)
        if rng.chance(20), let q = object([.fault], s, &rng) {
            b.set(h.flags, c["IOMMU_HWPT_FAULT_ID_VALID"])
            b.put(h.fault, q)
        }
        b.set(h.type, c["IOMMU_HWPT_DATA_SELFTEST"])
        let n = rng.chance(85) ? 4 : rng.below(12)
        b.set(h.len, UInt64(n)); b.buffer(h.data, le(UInt64(rng.below(4)), min(n, 4)), size: n)
    }

    func invalidate(_ b: inout CallBuilder, _ hwpt: Int, _ type: Int, _ len: Int, _ num: Int, _ data: Int,
                    _ s: FuzzState, _ rng: inout FuzzRandom) {
        guard let o = rng.pick(s.of([.hwptNested, .viommu])) else { return }
        b.set(hwpt, o.symbol); b.set(type, c["IOMMU_HWPT_INVALIDATE_DATA_SELFTEST"])
        let viommu = o.kind == .viommu
        let entry = viommu ? 12 : 8
        let n = rng.below(4)
        b.set(len, UInt64(entry)); b.set(num, UInt64(n))
        var bytes: [UInt8] = []
        for _ in 0..<n {
            bytes += le(rng.chance(80) ? 0 : 1, 4)
            if viommu { bytes += le(rng.pick(s.virtIds) ?? UInt64(rng.below(4)), 4) }
            bytes += le(UInt64(rng.below(5)), 4)
        }
        b.buffer(data, bytes)
    }

    func test(_ b: inout CallBuilder, _ op: Int, _ id: Int, _ flags: Int, _ s: FuzzState, _ rng: inout FuzzRandom) {
        let which = rng.below(100)
        if which < 15 && c.has("IOMMU_TEST_OP_ADD_RESERVED") {
            b.set(op, c["IOMMU_TEST_OP_ADD_RESERVED"])
            if let o = object([.ioas], s, &rng) { b.put(id, o) }
            // add_reserved { u64 start; u64 length } overlays the mock's output ids.
            b.store(Values.apertureStart + page * UInt64(rng.below(512)), at: 16, width: 8)
            b.store(page * UInt64(1 + rng.below(16)), at: 24, width: 8)
            return
        }
        let flagged = which < 50
        b.set(op, c[flagged ? "IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS" : "IOMMU_TEST_OP_MOCK_DOMAIN"])
        let pt = rng.chance(85) ? object([.ioas], s, &rng) : object([.hwptPaging], s, &rng)
        if let pt { b.put(id, pt) }
        for f in b.op.fields.indices where b.op.fields[f].name.hasPrefix("out_") { b.set(f, 0) }
        b.set(flags, flagged ? (rng.pick([0, 1, 4, 5]) ?? 0) : 0)
    }
}
