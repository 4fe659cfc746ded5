import Cases

/// One sequence on the simulator under test and, when there is one, the
/// reference (the kernel, or a second simulator standing in for it), call
/// by call: each call is judged before the next is made.
final class Lockstep {
    let vocabulary: Vocabulary
    let probe: TableProbe?
    let a: SideRun
    let b: SideRun?
    var state = FuzzState()
    /// What each call did on each side, in order.
    private(set) var outcomes: [(call: FuzzCall, a: SideOutcome, b: SideOutcome?)] = []
    /// Probe ioctls sent (both sides).
    private(set) var probes = 0
    private let descriptorsBefore: (Int, Int)

    init(_ vocabulary: Vocabulary, subject: FuzzSide, reference: FuzzSide?) {
        self.vocabulary = vocabulary
        probe = TableProbe(vocabulary)
        a = SideRun(subject, ops: vocabulary.ops)
        b = reference.map { SideRun($0, ops: vocabulary.ops) }
        descriptorsBefore = (subject.sim?.openDescriptors.count ?? 0, reference?.sim?.openDescriptors.count ?? 0)
    }

    var labels: (String, String) { (a.side.label, b?.side.label ?? "") }

    /// Opens the descriptors on both sides; a failure is a disagreement at call 0.
    func open(vfio: Bool) -> Disagreement? {
        let ea = a.open(vfio: vfio), eb = b?.open(vfio: vfio)
        guard ea != nil || eb != nil else { return nil }
        return Disagreement(index: -1, kind: .invariant, detail: "setup: \(ea ?? "ok") / \(eb ?? "ok")")
    }

    func step(_ call: FuzzCall, index: Int) -> Disagreement? {
        let oa = a.run(call)
        let ob = b?.run(call)
        outcomes.append((call, oa, ob))
        if let ob, let d = Oracle(op: vocabulary.ops[call.op]).compare(oa, ob, index: index, labels: labels) {
            return d
        }
        if !oa.result.failed, let sent = oa.sent, let back = oa.back {
            Effects(vocabulary: vocabulary).apply(call, sent: sent, back: back, to: &state)
        }
        if let d = invariants(index) { return d }
        guard !oa.result.failed, vocabulary.roles[call.op].changesTable else { return nil }
        return tables(index, after: vocabulary.ops[call.op].name)
    }

    /// The simulator's bookkeeping after a call: its own invariants.
    func invariants(_ index: Int) -> Disagreement? {
        guard let sim = a.side.sim else { return nil }
        let broken = sim.invariantViolations()
        guard let first = broken.first else { return nil }
        return Disagreement(index: index, kind: .invariant, detail: "\(a.side.label) invariant: \(first)")
    }

    /// The object tables after a call: probed on both sides and compared;
    /// alone, the simulator's probe must match its own table.
    func tables(_ index: Int, after: String) -> Disagreement? {
        guard let probe else { return nil }
        let upTo = state.maxId + 2
        let ta = probe.snapshot(a, upTo: upTo)
        probes += ta.count
        if let b {
            let tb = probe.snapshot(b, upTo: upTo)
            probes += tb.count
            if let d = TableProbe.firstDifference(ta, tb) {
                return Disagreement(index: index, kind: .table(id: d.id, reference: d.b),
                                    detail: "\(after): object \(d.id) afterwards: \(labels.0) \(d.a.probeText), "
                                        + "\(labels.1) \(d.b.probeText)")
            }
        } else if let d = selfTable(ta, index, after: after) {
            return d
        }
        let alive = TableProbe.alive(ta)
        state.keep(alive: alive)
        state.maxId = max(state.maxId, alive.max() ?? 0)
        return nil
    }

    /// Alone: every id the simulator's table holds must probe alive, every other one ENOENT.
    func selfTable(_ snapshot: [Int32], _ index: Int, after: String) -> Disagreement? {
        guard let table = a.side.sim?.objectTable(fd: a.iommufd) else { return nil }
        let ids = Set(table.map(\.id))
        for (i, r) in snapshot.enumerated() {
            let id = UInt32(i + 1), listed = ids.contains(id)
            guard listed == (r == Errno.ENOENT.rawValue) else { continue }
            return Disagreement(index: index, kind: .table(id: id, reference: r),
                                detail: "\(after): object \(id): table says \(listed ? "alive" : "gone"), "
                                    + "probe \(r.probeText)")
        }
        return nil
    }

    /// Closes both sides after a disagreement.
    func abandon() {
        _ = a.close()
        _ = b?.close()
    }

    /// The end of the sequence: a last table comparison, then close both
    /// sides; closing must work alike and leave the simulators no descriptor.
    func finish(index: Int) -> Disagreement? {
        let d = tables(index, after: outcomes.last.map { vocabulary.ops[$0.call.op].name } ?? "open")
        let ca = a.close(), cb = b?.close() ?? ca
        if let d { return d }
        if ca != cb || (b == nil && !ca.isEmpty) {
            return Disagreement(index: index, kind: .invariant, detail: "close: \(ca) / \(cb)")
        }
        if let sim = a.side.sim, sim.openDescriptors.count != descriptorsBefore.0 {
            return Disagreement(index: index, kind: .invariant, detail: "\(a.side.label) leaks "
                                + "\(sim.openDescriptors.count - descriptorsBefore.0) descriptors after close")
        }
        return nil
    }
}
