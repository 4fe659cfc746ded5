import Cases

/// The byte format `uapi-fuzz-exec` reads and writes (described in
/// CShims/fuzz-exec/include/uc_fuzz_exec.h): scripts out, reports back.
enum Wire {
    static let version: UInt32 = 1
    enum Step: UInt8 { case call = 1, probe = 2 }
    enum Patch: UInt8 { case iommufd = 1, output = 2, fd = 3, buffer = 4 }

    /// A request running `scripts`; `quit` ends the executor instead.
    static func request(_ scripts: [ReferenceScript], _ v: Vocabulary, quit: Bool = false) -> [UInt8] {
        var w = Writer()
        w.bytes(Array("UCFQ".utf8))
        w.u32(version)
        w.u32(quit ? .max : UInt32(scripts.count))
        table(v, &w)
        for s in scripts { script(s, v, &w) }
        return w.out
    }

    static func table(_ v: Vocabulary, _ w: inout Writer) {
        w.u32(UInt32(v.ops.count))
        for op in v.ops {
            let outs = op.fields.filter { $0.kind == .outputFd }.prefix(8)
            let unions = op.unionFds.prefix(8)
            w.u64(op.request)
            w.bytes([op.target == .iommufd ? 0 : 1, UInt8(outs.count), UInt8(unions.count), 0])
            for f in outs { w.u32(UInt32(f.offset)) }
            for u in unions { w.u32(UInt32(truncatingIfNeeded: u.op)); w.u32(UInt32(u.offset)) }
        }
        let probe = TableProbe(v)
        w.u32(probe.map { UInt32($0.index) } ?? .max)
        w.u32(UInt32(probe?.op.size ?? 0))
        w.u32(UInt32(probe?.idField.offset ?? 0))
        w.u32(UInt32(probe?.idField.width ?? 0))
    }

    static func script(_ s: ReferenceScript, _ v: Vocabulary, _ w: inout Writer) {
        w.u32(s.opensVfio ? 1 : 0)
        w.u32(UInt32(s.steps.count))
        var opOf: [Int: Int] = [:]
        for step in s.steps {
            switch step {
            case .probe(let upTo):
                w.bytes([Step.probe.rawValue])
                w.u32(upTo)
            case .call(let c):
                opOf[c.serial] = c.op
                call(c, v, opOf, &w)
            }
        }
    }

    static func call(_ c: FuzzCall, _ v: Vocabulary, _ opOf: [Int: Int], _ w: inout Writer) {
        let op = v.ops[c.op]
        w.bytes([Step.call.rawValue, c.null ? 1 : 0])
        w.u16(UInt16(c.patches.count))
        w.u32(UInt32(c.op))
        w.u32(UInt32(c.serial))
        w.u32(UInt32(c.bytes.count))
        w.bytes(c.bytes)
        for p in c.patches {
            let f = op.fields[p.field]
            w.u32(UInt32(f.offset))
            func origin(_ call: Int, _ field: Int) -> FuzzField? {
                guard let o = opOf[call], v.ops[o].fields.indices.contains(field) else { return nil }
                return v.ops[o].fields[field]
            }
            func source(_ kind: Patch, _ call: Int, _ field: Int, _ otherwise: UInt64) {
                w.bytes([UInt8(f.width), kind.rawValue, 0, 0])
                let o = origin(call, field)
                w.u32(o == nil ? .max : UInt32(call))
                w.u32(UInt32(o?.offset ?? 0))
                w.u32(UInt32(o?.width ?? 0))
                w.u64(otherwise)
            }
            switch p.symbol {
            case .iommufd: w.bytes([UInt8(f.width), Patch.iommufd.rawValue, 0, 0])
            case .output(let call, let field, let literal): source(.output, call, field, literal)
            case .fd(let call, let field): source(.fd, call, field, 0xffff_ffff)
            case .buffer(let b):
                w.bytes([UInt8(f.width), Patch.buffer.rawValue, 0, 0])
                let initial = Array(b.bytes.prefix(b.size))
                w.u32(UInt32(b.size))
                w.u32(UInt32(b.offset))
                w.u32(UInt32(initial.count))
                w.bytes(initial)
            }
        }
    }
}

/// Little-endian output.
struct Writer {
    var out: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { out.append(contentsOf: b) }
    mutating func u16(_ v: UInt16) { out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}
