import Cases

/// A minimised disagreement, with the case that replays it.
package struct FuzzFinding: Sendable {
    package var seed: UInt64
    package var sequence: Int
    package var calls: [FuzzCall]
    package var disagreement: Disagreement
    package var originalLength: Int
    /// An entry in the README's case-file format: `run --cases` replays it.
    package var caseJSON: JSONValue

    /// Disagreements taken for the same bug: the op that disagreed and how
    /// (the first word of the detail, and the kind without its ids).
    static func signature(_ d: Disagreement) -> String {
        let op = d.detail.split(separator: " ").first.map(String.init) ?? ""
        switch d.kind {
        case .table: return op + " table"
        case .invariant: return "invariant " + String(d.detail.map { $0.isNumber ? "#" : $0 })
        default: return "\(op) \(d.kind)"
        }
    }
}

/// Writes a finding's calls as a case: every call but the last is a
/// `before` call expecting what the reference did; the last is the checked
/// call, with `written` for the fields and buffers that differed. A table
/// difference gets the probe of that id as its checked call.
struct CaseWriter {
    let vocabulary: Vocabulary
    let profile: String

    func caseJSON(_ seq: FuzzSequence, run: SequenceRun, _ d: Disagreement, originalLength: Int) -> JSONValue {
        let records = run.outcomes
        var names = Names()
        names.assign(records.map(\.call), ok: records.map { !($0.b ?? $0.a).result.failed })
        var calls = records.map { call(names, $0.call, outcome: $0.b ?? $0.a) }
        if case .table(let id, let expected) = d.kind, let probe = TableProbe(vocabulary) {
            let p = probe.call(id: id, serial: records.count)
            let r = expected == 0 ? SyscallResult.ok() : SyscallResult.fail(Errno(rawValue: expected))
            calls.append(call(names, p, outcome: SideOutcome(result: r, sent: nil, back: nil, buffers: [])))
        } else if let last = records.last, var checked = calls.popLast() {
            checked += written(d.kind, last.call, last.b ?? last.a)
            calls.append(checked)
        }
        guard let checked = calls.popLast() else { return .null }
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string("fuzz.\(profile).s\(String(seq.seed, radix: 16)).n\(seq.index)")),
            ("summary", .string("fuzz: " + d.detail)),
            ("reference", .string("uapi-conform fuzz --profile \(profile) --seed \(seq.seed): sequence \(seq.index), "
                                  + "\(originalLength) calls minimised to \(records.count)")),
            ("profiles", .array([.string(profile)])),
        ]
        if seq.opensVfio { members.append(("setup", .array([.string("vfio")]))) }
        if records.contains(where: { vocabulary.ops[$0.call.op].isTestCommand }) {
            members.append(("requires", .array([.string("mock_device")])))
        }
        if !calls.isEmpty { members.append(("before", .array(calls.map { .object($0) }))) }
        return .object(members + checked)
    }

    typealias Members = [(key: String, value: JSONValue)]

    /// One call's keys; `expect` is what `outcome` got.
    func call(_ names: Names, _ c: FuzzCall, outcome: SideOutcome) -> Members {
        let op = vocabulary.ops[c.op]
        var out: Members = [("ioctl", .string(op.name))]
        var fields: Members = []
        for (i, f) in op.fields.enumerated() where f.kind != .sizeWord {
            if let p = c.patch(for: i) {
                fields.append((f.name, value(names, p, f)))
                continue
            }
            let v = CompiledCall.load(c.bytes, at: f.offset, width: f.width)
            if f.kind == .fd && v == 0xffff_ffff { fields.append((f.name, .number("-1"))) }
            else if v != 0 { fields.append((f.name, number(v))) }
        }
        if c.null { out.append(("null", .bool(true))) }
        if !fields.isEmpty { out.append(("fields", .object(fields))) }
        if c.bytes.count > op.size { out.append(("tail", .string(CaseFile.hex(Array(c.bytes[op.size...]))))) }
        if Int(c.sizeWord) != c.bytes.count { out.append(("size", .number(String(c.sizeWord)))) }
        let outputs = names.outputs(c, op)
        if !outputs.isEmpty { out.append(("outputs", .array(outputs))) }
        out.append(("expect", .string(expect(outcome.result))))
        return out
    }

    func value(_ names: Names, _ s: Symbol, _ f: FuzzField) -> JSONValue {
        switch s {
        case .iommufd: return .string("$iommufd")
        case .output(let call, let field, let literal):
            return names.name(call, field).map { .string("$" + $0) } ?? number(literal)
        case .fd(let call, let field): return names.name(call, field).map { .string("$" + $0) } ?? .number("-1")
        case .buffer(let b):
            var m: Members = [("buffer", .number(String(b.size)))]
            var bytes = b.bytes
            while bytes.last == 0 { bytes.removeLast() }
            if !bytes.isEmpty { m.append(("bytes", .string(CaseFile.hex(bytes)))) }
            if b.offset != 0 { m.append(("offset", .number(String(b.offset)))) }
            return .object(m)
        }
    }

    /// `written` for what differed: the reference's field values, or its buffer bytes.
    func written(_ kind: Disagreement.Kind, _ c: FuzzCall, _ o: SideOutcome) -> Members {
        let op = vocabulary.ops[c.op]
        var w: Members = []
        switch kind {
        case .written(let fields):
            for i in fields where op.fields[i].kind != .sizeWord {
                let f = op.fields[i]
                w.append((f.name, number(CompiledCall.load(o.back ?? [], at: f.offset, width: f.width))))
            }
        case .buffers(let indexes):
            let buffers = c.patches.compactMap { p -> (Int, UserBytes)? in
                if case .buffer(let b) = p.symbol { return (p.field, b) }
                return nil
            }
            for k in indexes where k < buffers.count && k < o.buffers.count {
                let (field, b) = buffers[k]
                let bytes = Array(o.buffers[k].dropFirst(b.offset))
                w.append((op.fields[field].name, .object([("bytes", .string(CaseFile.hex(bytes)))])))
            }
        default: break
        }
        return w.isEmpty ? [] : [("written", .object(w))]
    }

    func number(_ v: UInt64) -> JSONValue { v > 0xffff ? .string("0x" + String(v, radix: 16)) : .number(String(v)) }

    func expect(_ r: SyscallResult) -> String { r.failed ? r.errno.name : (r.value == 0 ? "OK" : "OK(\(r.value))") }
}

/// The `$names` a finding's calls give what earlier calls created and later
/// ones use: `o1`... for ids and IOVAs, `fd1`... for descriptors.
struct Names {
    struct Key: Hashable {
        let call: Int
        let field: Int
    }
    private var table: [Key: String] = [:]

    /// Names for every output a later call uses, when the call that made it succeeded.
    mutating func assign(_ calls: [FuzzCall], ok: [Bool]) {
        var position: [Int: Int] = [:]
        for (i, c) in calls.enumerated() where position[c.serial] == nil { position[c.serial] = i }
        var objects = 0, fds = 0
        for c in calls {
            for p in c.patches {
                switch p.symbol {
                case .output(let call, let field, _):
                    let k = Key(call: call, field: field)
                    guard table[k] == nil, let i = position[call], ok[i], objects < Names.objectNames else { continue }
                    objects += 1
                    table[k] = "o\(objects)"
                case .fd(let call, let field):
                    let k = Key(call: call, field: field)
                    guard table[k] == nil, let i = position[call], ok[i], fds < SetupStep.outputFdNames.count
                    else { continue }
                    fds += 1
                    table[k] = "fd\(fds)"
                default: continue
                }
            }
        }
    }

    static let objectNames = SetupStep.outputObjectNames.count

    func name(_ call: Int, _ field: Int) -> String? { table[Key(call: call, field: field)] }

    /// A call's `outputs`: its `out_*` fields (descriptors closed at the
    /// end, objects released with the iommufd) and whatever a later call names.
    func outputs(_ c: FuzzCall, _ op: FuzzOp) -> [JSONValue] {
        op.fields.enumerated().compactMap { i, f in
            let name = self.name(c.serial, i)
            guard name != nil || f.kind == .outputId || f.kind == .outputFd else { return nil }
            var m: [(key: String, value: JSONValue)] = [("field", .string(f.name)),
                                                         ("kind", .string(f.kind == .outputFd ? "fd" : "implicit"))]
            if let name { m.append(("name", .string(name))) }
            return .object(m)
        }
    }
}
