import Cases

/// How long a fuzz run goes on and how it cuts its sequences.
package struct FuzzLimits: Sendable {
    /// Stop after this many generated calls (probes not counted) or seconds; both nil: 10,000 calls.
    package var calls: Int?
    package var seconds: Double?
    /// Sequences are 8 to 8 + this many calls long.
    package var sequenceLength = 40
    /// Stop once this many distinct findings are in.
    package var maxFindings = 10
    /// Calls per batch sent to the reference (one round trip each); a reference in a guest wants many.
    package var batchCalls = 1
    package init(calls: Int? = nil, seconds: Double? = nil) { self.calls = calls; self.seconds = seconds }
}

/// What a run did.
package struct FuzzStats: Sendable {
    package var calls = 0
    package var sequences = 0
    package var probes = 0
    package var seconds = 0.0
    /// Of those, waiting for the reference's reports (a batch not ready when the next one is).
    package var waiting = 0.0
    /// Sequences whose verdict stopped at a known difference (`Explained`).
    package var explainedStops = 0
    package var callsPerSecond: Double { seconds > 0 ? Double(calls) / seconds : 0 }
}

/// The differential fuzzer: sequences generated from one seed, run on the
/// simulator, judged against the reference's run of the same steps; each
/// disagreement minimised into a finding.
package final class FuzzEngine {
    package let vocabulary: Vocabulary
    package let profile: String
    let generator: Generator
    package let subject: FuzzSide
    package let reference: FuzzReference?

    package init(_ vocabulary: Vocabulary, profile: String, subject: FuzzSide, reference: FuzzReference?) {
        self.vocabulary = vocabulary
        self.profile = profile
        generator = Generator(vocabulary)
        self.subject = subject
        self.reference = reference
    }

    /// A reference in this process (a second simulator, or this kernel through the live backend).
    package convenience init(_ vocabulary: Vocabulary, profile: String, subject: FuzzSide, reference: FuzzSide?) {
        self.init(vocabulary, profile: profile, subject: subject, reference: reference.map(LocalReference.init))
    }

    func sequenceRun() -> SequenceRun { SequenceRun(vocabulary, subject: subject, hasReference: reference != nil) }

    /// Sequence `index` of `seed`, generated call by call on the simulator's state.
    func sequence(seed: UInt64, index: Int, maxLength: Int) -> (FuzzSequence, SequenceRun) {
        var rng = FuzzRandom(seed: FuzzRandom.sequenceSeed(seed, index))
        let length = 8 + rng.below(maxLength + 1)
        let run = sequenceRun()
        var seq = FuzzSequence(seed: seed, index: index, opensVfio: vocabulary.vfio, calls: [])
        guard run.open(vfio: seq.opensVfio) else { return (seq, run) }
        for i in 0..<length {
            let call = generator.call(serial: i, state: run.state, rng: &rng)
            seq.calls.append(call)
            guard run.step(call, index: i) else { return (seq, run) }
        }
        run.finish(index: length - 1)
        return (seq, run)
    }

    /// The calls sequence `index` of `seed` makes (run, as they depend on what the simulator answers).
    package func generated(seed: UInt64, index: Int, maxLength: Int = 40) -> FuzzSequence {
        sequence(seed: seed, index: index, maxLength: maxLength).0
    }

    /// Runs fixed calls (a shortened sequence, a finding) the same way, and judges them.
    func replay(_ seq: FuzzSequence) throws -> (Disagreement?, SequenceRun) {
        let run = sequenceRun()
        if run.open(vfio: seq.opensVfio) {
            for (i, call) in seq.calls.enumerated() where run.step(call, index: i) == false { break }
            run.finish(index: seq.calls.count - 1)
        }
        guard let reference else { return (run.alone(), run) }
        let ticket = try reference.submit([run.script], vocabulary: vocabulary)
        return (verdicts([run], try reference.collect(ticket)).first ?? nil, run)
    }

    func verdicts(_ runs: [SequenceRun], _ reports: [ReferenceReport]) -> [Disagreement?] {
        guard let reference else { return runs.map { $0.alone() } }
        return runs.indices.map { i in
            guard i < reports.count else {
                return Disagreement(index: -1, kind: .invariant, detail: "\(reference.label) sent no report")
            }
            return runs[i].judge(reports[i], label: reference.label)
        }
    }
}
