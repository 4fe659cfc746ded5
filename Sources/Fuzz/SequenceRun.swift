import Cases

/// One sequence: run on the simulator under test as it is generated, then,
/// when there is a reference (the kernel, or a second simulator standing in
/// for it), judged step by step against what the reference did with the same
/// script. The generator only ever reads the simulator's state, so running
/// the reference afterwards (in a batch, in a guest) changes nothing up to
/// the first disagreement, and nothing after it counts.
final class SequenceRun {
    let vocabulary: Vocabulary
    let probe: TableProbe?
    let a: SideRun
    let hasReference: Bool
    var state = FuzzState()
    /// What the reference is to do: the steps the simulator took.
    private(set) var script: ReferenceScript
    /// The simulator's outcome of each call.
    private var ran: [(call: FuzzCall, a: SideOutcome)] = []
    /// The simulator's snapshot of each probe, and the call it followed.
    private var snapshots: [(table: [Int32], index: Int, after: String)] = []
    /// After judging: what each call did on each side, up to the disagreement.
    private(set) var outcomes: [(call: FuzzCall, a: SideOutcome, b: SideOutcome?)] = []
    /// Probe ioctls sent (both sides).
    private(set) var probes = 0
    /// Judging stopped at a known difference (`Explained.endsJudging`).
    private(set) var explainedStop = false
    /// Where the simulator stopped by itself: its invariants, its own table, a leak.
    private(set) var stop: Disagreement?
    private var openError: String?
    private var closeErrors: [String]?
    private let descriptorsBefore: Int

    init(_ vocabulary: Vocabulary, subject: FuzzSide, hasReference: Bool) {
        self.vocabulary = vocabulary
        probe = TableProbe(vocabulary)
        a = SideRun(subject, ops: vocabulary.ops)
        self.hasReference = hasReference
        script = ReferenceScript(opensVfio: false)
        descriptorsBefore = subject.sim?.openDescriptors.count ?? 0
    }

    var label: String { a.side.label }
    var stopped: Bool { stop != nil }

    /// Opens the simulator's descriptors; false (and `stop`) if that fails.
    func open(vfio: Bool) -> Bool {
        script.opensVfio = vfio
        openError = a.open(vfio: vfio)
        guard let e = openError else { return true }
        if !hasReference { stop = Disagreement(index: -1, kind: .invariant, detail: "setup: \(e) / ok") }
        _ = a.close()
        return false
    }

    /// Runs one call on the simulator; false once the sequence cannot go on.
    func step(_ call: FuzzCall, index: Int) -> Bool {
        let oa = a.run(call)
        ran.append((call, oa))
        script.steps.append(.call(call))
        if !oa.result.failed, let sent = oa.sent, let back = oa.back {
            Effects(vocabulary: vocabulary).apply(call, sent: sent, back: back, to: &state)
        }
        if let sim = a.side.sim, let first = sim.invariantViolations().first {
            return halt(Disagreement(index: index, kind: .invariant, detail: "\(label) invariant: \(first)"))
        }
        guard !oa.result.failed, vocabulary.roles[call.op].changesTable else { return true }
        return tables(index, after: vocabulary.ops[call.op].name)
    }

    private func halt(_ d: Disagreement) -> Bool {
        stop = d
        _ = a.close()
        return false
    }

    /// The simulator's table after a call, probed; alone, it must match the
    /// simulator's own table. The reference probes the same ids later.
    func tables(_ index: Int, after: String) -> Bool {
        guard let probe else { return true }
        // Ids past the limit are not probed: a simulator (or kernel) that hands out a wild id must not
        // make the probe walk four billion of them.
        let upTo = min(state.maxId, TableProbe.limit) + 2
        let ta = probe.snapshot(a, upTo: upTo)
        probes += ta.count
        if hasReference {
            snapshots.append((ta, index, after))
            script.steps.append(.probe(upTo: upTo))
        } else if let d = selfTable(ta, index, after: after) {
            return halt(d)
        }
        let alive = TableProbe.alive(ta)
        state.keep(alive: alive)
        state.maxId = max(state.maxId, alive.max() ?? 0)
        return true
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

    /// The end of the sequence: a last table probe, then close; closing must
    /// leave the simulator no descriptor (and, alone, report no error).
    func finish(index: Int) {
        guard !stopped, openError == nil else { return }
        guard tables(index, after: ran.last.map { vocabulary.ops[$0.call.op].name } ?? "open") else { return }
        let errors = a.close()
        closeErrors = errors
        if !hasReference && !errors.isEmpty {
            stop = Disagreement(index: index, kind: .invariant, detail: "close: \(errors) / \(errors)")
        } else if let sim = a.side.sim, sim.openDescriptors.count != descriptorsBefore {
            stop = Disagreement(index: index, kind: .invariant, detail: "\(label) leaks "
                                + "\(sim.openDescriptors.count - descriptorsBefore) descriptors after close")
        }
    }

    /// Without a reference: the simulator's own verdict.
    func alone() -> Disagreement? {
        outcomes = ran.map { ($0.call, $0.a, nil) }
        return stop
    }

    /// The first step where the reference did otherwise, else where the
    /// simulator stopped by itself, else how closing went.
    func judge(_ r: ReferenceReport, label other: String) -> Disagreement? {
        let labels = (label, other)
        if openError != nil || r.openError != nil {
            return Disagreement(index: -1, kind: .invariant,
                                detail: "setup: \(openError ?? "ok") / \(r.openError ?? "ok")")
        }
        var calls = 0, tables = 0
        for step in script.steps {
            switch step {
            case .call:
                let (call, oa) = ran[calls]
                guard calls < r.outcomes.count else {
                    return Disagreement(index: calls, kind: .invariant, detail: "\(other) ran only \(calls) calls")
                }
                let ob = r.outcomes[calls]
                outcomes.append((call, oa, ob))
                calls += 1
                if let d = Oracle(op: vocabulary.ops[call.op]).compare(oa, ob, index: calls - 1, labels: labels) {
                    if Explained.endsJudging(vocabulary.ops[call.op], oa.result, ob.result) {
                        explainedStop = true
                        return nil
                    }
                    return d
                }
            case .probe:
                let (ta, index, after) = snapshots[tables]
                let tb = tables < r.snapshots.count ? r.snapshots[tables] : []
                tables += 1
                probes += tb.count
                if let d = TableProbe.firstDifference(ta, tb) ?? TableProbe.shorter(ta, tb) {
                    return Disagreement(index: index, kind: .table(id: d.id, reference: d.b),
                                        detail: "\(after): object \(d.id) afterwards: \(label) \(d.a.probeText), "
                                            + "\(other) \(d.b.probeText)")
                }
            }
        }
        if let stop { return stop }
        if let ca = closeErrors, ca != r.closeErrors {
            return Disagreement(index: ran.count - 1, kind: .invariant, detail: "close: \(ca) / \(r.closeErrors)")
        }
        return nil
    }
}
