import Cases

/// Shrinks a sequence that disagrees: the shortest prefix, then every
/// earlier call that is not needed dropped, then every field that need not
/// be non-zero zeroed, each step kept only while a disagreement remains.
struct Minimiser {
    let engine: FuzzEngine
    /// Replays are bounded so a slow reference cannot stall the run.
    var budget = 2_000

    func finding(_ seq: FuzzSequence, _ d: Disagreement) throws -> FuzzFinding {
        let original = seq.calls.count
        let (small, last) = try minimise(seq, d)
        let (_, run) = try engine.replay(small)
        let writer = CaseWriter(vocabulary: engine.vocabulary, profile: engine.profile)
        let json = writer.caseJSON(small, run: run, last, originalLength: original)
        return FuzzFinding(seed: seq.seed, sequence: seq.index, calls: small.calls, disagreement: last,
                       originalLength: original, caseJSON: json)
    }

    func minimise(_ seq: FuzzSequence, _ d: Disagreement) throws -> (FuzzSequence, Disagreement) {
        var best = truncated(seq, d)
        var current = d
        var left = budget
        func attempt(_ t: FuzzSequence) throws -> Bool {
            guard left > 0, !t.calls.isEmpty else { return false }
            left -= 1
            guard let e = try engine.replay(t).0, e.index >= 0 else { return false }
            best = truncated(t, e)
            current = e
            return true
        }
        var i = best.calls.count - 2
        while i >= 0 {
            var t = best
            t.calls.remove(at: i)
            _ = try attempt(t)
            i = min(i - 1, best.calls.count - 2)
        }
        for c in best.calls.indices.reversed() where c < best.calls.count {
            for f in engine.vocabulary.ops[best.calls[c].op].fields.indices where c < best.calls.count {
                if let t = zeroed(best, call: c, field: f) { _ = try attempt(t) }
            }
            if c < best.calls.count, let t = untailed(best, call: c) { _ = try attempt(t) }
        }
        return (best, current)
    }

    /// The calls up to the one that disagreed.
    func truncated(_ s: FuzzSequence, _ d: Disagreement) -> FuzzSequence {
        var t = s
        if d.index >= 0 && d.index + 1 < t.calls.count { t.calls.removeLast(t.calls.count - d.index - 1) }
        return t
    }

    /// `s` with field `field` of call `call` zero, nil if it already is.
    func zeroed(_ s: FuzzSequence, call c: Int, field: Int) -> FuzzSequence? {
        var t = s
        let op = engine.vocabulary.ops[t.calls[c].op]
        let f = op.fields[field]
        guard f.kind != .sizeWord else { return nil }
        let patched = t.calls[c].patches.contains { $0.field == field }
        let value = CompiledCall.load(t.calls[c].bytes, at: f.offset, width: f.width)
        guard patched || value != 0 || t.calls[c].bytes[f.offset..<f.offset + f.size].contains(where: { $0 != 0 })
        else { return nil }
        t.calls[c].patches.removeAll { $0.field == field }
        for i in f.offset..<f.offset + f.size { t.calls[c].bytes[i] = 0 }
        // A descriptor field's "nothing" is -1: 0 is a real descriptor, and not the same one everywhere.
        if f.kind == .fd {
            if value == 0xffff_ffff && !patched { return nil }
            CompiledCall.store(0xffff_ffff, into: &t.calls[c].bytes, at: f.offset, width: f.width)
        }
        return t
    }

    /// `s` without the bytes past sizeof in call `call` (size word sizeof), nil if it has none.
    func untailed(_ s: FuzzSequence, call c: Int) -> FuzzSequence? {
        let op = engine.vocabulary.ops[s.calls[c].op]
        guard s.calls[c].bytes.count > op.size else { return nil }
        var t = s
        t.calls[c].bytes.removeLast(t.calls[c].bytes.count - op.size)
        CompiledCall.store(UInt64(op.size), into: &t.calls[c].bytes, at: 0, width: 4)
        return t
    }
}
