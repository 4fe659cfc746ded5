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
    package init(calls: Int? = nil, seconds: Double? = nil) { self.calls = calls; self.seconds = seconds }
}

/// What a run did.
package struct FuzzStats: Sendable {
    package var calls = 0
    package var sequences = 0
    package var probes = 0
    package var seconds = 0.0
    package var callsPerSecond: Double { seconds > 0 ? Double(calls) / seconds : 0 }
}

/// The differential fuzzer: sequences generated from one seed, run on the
/// simulator and the reference in lockstep; each disagreement minimised
/// into a finding.
package final class FuzzEngine {
    package let vocabulary: Vocabulary
    package let profile: String
    let generator: Generator
    package let subject: FuzzSide
    package let reference: FuzzSide?

    package init(_ vocabulary: Vocabulary, profile: String, subject: FuzzSide, reference: FuzzSide?) {
        self.vocabulary = vocabulary
        self.profile = profile
        generator = Generator(vocabulary)
        self.subject = subject
        self.reference = reference
    }

    func lockstep() -> Lockstep { Lockstep(vocabulary, subject: subject, reference: reference) }

    /// Sequence `index` of `seed`, generated call by call against the state both sides agreed on.
    func sequence(seed: UInt64, index: Int, maxLength: Int) -> (FuzzSequence, Disagreement?, Lockstep) {
        var rng = FuzzRandom(seed: FuzzRandom.sequenceSeed(seed, index))
        let length = 8 + rng.below(maxLength + 1)
        let run = lockstep()
        var seq = FuzzSequence(seed: seed, index: index, opensVfio: vocabulary.vfio, calls: [])
        if let d = run.open(vfio: seq.opensVfio) {
            run.abandon()
            return (seq, d, run)
        }
        for i in 0..<length {
            let call = generator.call(serial: i, state: run.state, rng: &rng)
            seq.calls.append(call)
            if let d = run.step(call, index: i) {
                run.abandon()
                return (seq, d, run)
            }
        }
        return (seq, run.finish(index: length - 1), run)
    }

    /// The calls sequence `index` of `seed` makes (run, as they depend on what the backends answer).
    package func generated(seed: UInt64, index: Int, maxLength: Int = 40) -> FuzzSequence {
        sequence(seed: seed, index: index, maxLength: maxLength).0
    }

    /// Runs fixed calls (a shortened sequence, a finding) the same way.
    func replay(_ seq: FuzzSequence) -> (Disagreement?, Lockstep) {
        let run = lockstep()
        if let d = run.open(vfio: seq.opensVfio) {
            run.abandon()
            return (d, run)
        }
        for (i, call) in seq.calls.enumerated() {
            if let d = run.step(call, index: i) {
                run.abandon()
                return (d, run)
            }
        }
        return (run.finish(index: seq.calls.count - 1), run)
    }

    /// Fuzzes until a limit; `found` gets each new finding, minimised.
    package func run(seed: UInt64, limits: FuzzLimits, found: (FuzzFinding) -> Void) -> FuzzStats {
        let clock = ContinuousClock()
        let start = clock.now
        let maxCalls = limits.calls ?? (limits.seconds == nil ? 10_000 : Int.max)
        var stats = FuzzStats()
        var signatures: Set<String> = []
        var index = 0
        while stats.calls < maxCalls && signatures.count < limits.maxFindings {
            if let s = limits.seconds, (clock.now - start) >= .milliseconds(Int64(s * 1000)) { break }
            let (seq, d, run) = sequence(seed: seed, index: index, maxLength: limits.sequenceLength)
            stats.calls += run.outcomes.count
            stats.probes += run.probes
            stats.sequences += 1
            index += 1
            guard let d, signatures.insert(FuzzFinding.signature(d)).inserted else { continue }
            found(Minimiser(engine: self).finding(seq, d))
        }
        let elapsed = clock.now - start
        stats.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return stats
    }
}
