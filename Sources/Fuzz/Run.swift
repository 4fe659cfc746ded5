import Cases

/// Sequences the simulator has run, waiting for the reference's verdict.
private struct Batch {
    var ticket: Int?
    var runs: [(seq: FuzzSequence, run: SequenceRun)] = []
    var calls = 0
}

extension FuzzEngine {
    /// Fuzzes until a limit; `found` gets each new finding, minimised. The
    /// simulator generates batch n + 1 while the reference runs batch n.
    package func run(seed: UInt64, limits: FuzzLimits, found: (FuzzFinding) -> Void) throws -> FuzzStats {
        let clock = ContinuousClock()
        let start = clock.now
        let maxCalls = limits.calls ?? (limits.seconds == nil ? 10_000 : Int.max)
        let deadline = limits.seconds.map { start + .milliseconds(Int64($0 * 1000)) }
        var stats = FuzzStats()
        var signatures: Set<String> = []
        var index = 0, generated = 0, batches = 0
        var inFlight: Batch?
        repeat {
            var batch = Batch()
            // Small batches first, so the first verdicts come quickly; then the full size.
            let size = min(limits.batchCalls, 500 << min(batches, 10))
            batches += 1
            while (batch.runs.isEmpty || batch.calls < size) && generated < maxCalls
                && signatures.count < limits.maxFindings && deadline.map({ clock.now < $0 }) ?? true {
                let (seq, run) = sequence(seed: seed, index: index, maxLength: limits.sequenceLength)
                index += 1
                batch.calls += seq.calls.count
                generated += seq.calls.count
                batch.runs.append((seq, run))
            }
            if let reference, !batch.runs.isEmpty {
                batch.ticket = try reference.submit(batch.runs.map(\.run.script), vocabulary: vocabulary)
            }
            if let done = inFlight { try judge(done, &stats, &signatures, limits, found) }
            inFlight = batch.runs.isEmpty ? nil : batch
        } while inFlight != nil
        stats.seconds = (clock.now - start).seconds
        return stats
    }

    private func judge(_ batch: Batch, _ stats: inout FuzzStats, _ signatures: inout Set<String>,
                       _ limits: FuzzLimits, _ found: (FuzzFinding) -> Void) throws {
        let runs = batch.runs.map(\.run)
        let clock = ContinuousClock(), start = clock.now
        let reports = try batch.ticket.map { try reference?.collect($0) ?? [] } ?? []
        stats.waiting += (clock.now - start).seconds
        for ((seq, run), d) in zip(batch.runs, verdicts(runs, reports)) {
            stats.calls += run.outcomes.count
            stats.probes += run.probes
            stats.sequences += 1
            if run.explainedStop { stats.explainedStops += 1 }
            guard let d, signatures.count < limits.maxFindings, signatures.insert(FuzzFinding.signature(d)).inserted
            else { continue }
            found(try Minimiser(engine: self).finding(seq, d))
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
