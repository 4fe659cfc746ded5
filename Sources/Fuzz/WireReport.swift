import Cases

/// Little-endian input; any read past the end makes the whole response bad.
struct Reader {
    let data: [UInt8]
    var at = 0
    var bad = false

    mutating func take(_ n: Int) -> ArraySlice<UInt8> {
        guard !bad, n >= 0, n <= data.count - at else { bad = true; return [] }
        defer { at += n }
        return data[at..<at + n]
    }
    mutating func int(_ n: Int) -> UInt64 {
        let b = take(n)
        return b.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func u8() -> UInt8 { UInt8(int(1)) }
    mutating func u32() -> UInt32 { UInt32(int(4)) }
    mutating func u64() -> UInt64 { int(8) }
}

extension Wire {
    /// The reports of a response to `scripts`; nil if it is not one.
    static func reports(_ data: [UInt8], _ scripts: [ReferenceScript], _ v: Vocabulary) -> [ReferenceReport]? {
        var r = Reader(data: data)
        guard Array(r.take(4)) == Array("UCFR".utf8), r.u32() == UInt32(scripts.count) else { return nil }
        var out: [ReferenceReport] = []
        for s in scripts {
            out.append(report(&r, s, v))
            if r.bad { return nil }
        }
        return r.at == data.count ? out : nil
    }

    static func report(_ r: inout Reader, _ s: ReferenceScript, _ v: Vocabulary) -> ReferenceReport {
        var rep = ReferenceReport()
        let iommu = Int32(bitPattern: r.u32()), vfio = Int32(bitPattern: r.u32())
        if iommu != 0 { rep.openError = "open \(DeviceNodes.iommu) → \(Errno(rawValue: iommu).name)" }
        else if vfio != 0 { rep.openError = "open \(DeviceNodes.tsmDevice) → \(Errno(rawValue: vfio).name)" }
        guard r.u32() == UInt32(s.steps.count) else { r.bad = true; return rep }
        for step in s.steps {
            switch step {
            case .call(let c): rep.outcomes.append(outcome(&r, c, v))
            case .probe:
                let n = Int(r.u32())
                guard n <= 1 << 16 else { r.bad = true; return rep }
                rep.snapshots.append((0..<n).map { _ in Int32(bitPattern: r.u32()) })
            }
        }
        let closes = Int(r.u32())
        guard closes <= 1 << 13 else { r.bad = true; return rep }
        for _ in 0..<closes {
            let what = r.u32(), fd = Int32(bitPattern: r.u32()), errno = Int32(bitPattern: r.u32())
            switch what {
            case 0: rep.closeErrors.append("close \(fd) → \(Errno(rawValue: errno).name)")
            case 1: rep.closeErrors.append("close vfio → failed")
            default: rep.closeErrors.append("close iommufd → failed")
            }
        }
        if rep.openError != nil { rep.outcomes = []; rep.snapshots = []; rep.closeErrors = [] }
        return rep
    }

    /// One call's outcome: the struct as this side sent it (its own values
    /// patched in) and as the kernel left it, and its buffers afterwards.
    static func outcome(_ r: inout Reader, _ c: FuzzCall, _ v: Vocabulary) -> SideOutcome {
        let op = v.ops[c.op]
        let ret = Int64(bitPattern: r.u64())
        var sent = c.bytes
        for p in c.patches {
            let f = op.fields[p.field]
            CompiledCall.store(r.u64(), into: &sent, at: f.offset, width: f.width)
        }
        var back: [UInt8]?
        switch r.u8() {
        case 0: back = nil
        case 1: back = sent
        default: back = Array(r.take(c.bytes.count))
        }
        var buffers: [[UInt8]] = []
        for p in c.patches {
            guard case .buffer(let b) = p.symbol else { continue }
            buffers.append(r.u8() == 0 ? b.contents : Array(r.take(b.size)))
        }
        let result: SyscallResult = ret < 0 ? .fail(Errno(rawValue: Int32(truncatingIfNeeded: -ret)))
            : .ok(Int(ret))
        return SideOutcome(result: result, sent: c.null ? nil : sent, back: c.null ? nil : back,
                           buffers: c.null ? [] : buffers)
    }
}
