import Cases

/// One step the reference is asked to take, in the order the simulator took it.
package enum ReferenceStep: Sendable {
    case call(FuzzCall)
    /// The object table, ids 1...upTo (`TableProbe`).
    case probe(upTo: UInt32)
}

/// One sequence as the reference runs it: open, the steps, close.
package struct ReferenceScript: Sendable {
    package var opensVfio: Bool
    package var steps: [ReferenceStep] = []
}

/// What the reference did with one script.
package struct ReferenceReport {
    /// Opening /dev/iommu (or vfio0) failed: how.
    var openError: String?
    /// One per `.call` step, in order.
    var outcomes: [SideOutcome] = []
    /// One per `.probe` step.
    var snapshots: [[Int32]] = []
    /// What closing the sequence's descriptors reported.
    var closeErrors: [String] = []
}

/// What the simulator is judged against: a kernel or a second simulator.
/// Scripts go in batches, so a reference in a guest costs one round trip per
/// batch rather than per call; `submit` may return before they ran.
package protocol FuzzReference: AnyObject {
    var label: String { get }
    /// Starts `scripts`; the ticket collects their reports.
    func submit(_ scripts: [ReferenceScript], vocabulary: Vocabulary) throws -> Int
    func collect(_ ticket: Int) throws -> [ReferenceReport]
    /// The run is over (an executor is told to stop).
    func finish(_ vocabulary: Vocabulary)
}

extension FuzzReference {
    package func finish(_ vocabulary: Vocabulary) {}
}

/// A reference in this process: the kernel's /dev/iommu through the live
/// backend, or a second simulator. Runs each script as it is submitted.
package final class LocalReference: FuzzReference {
    package let side: FuzzSide
    private var done: [Int: [ReferenceReport]] = [:]
    private var next = 0

    package init(_ side: FuzzSide) { self.side = side }

    package var label: String { side.label }

    package func submit(_ scripts: [ReferenceScript], vocabulary: Vocabulary) throws -> Int {
        next += 1
        done[next] = scripts.map { run($0, vocabulary) }
        return next
    }

    package func collect(_ ticket: Int) throws -> [ReferenceReport] { done.removeValue(forKey: ticket) ?? [] }

    func run(_ script: ReferenceScript, _ vocabulary: Vocabulary) -> ReferenceReport {
        let run = SideRun(side, ops: vocabulary.ops)
        var report = ReferenceReport()
        if let e = run.open(vfio: script.opensVfio) {
            report.openError = e
            _ = run.close()
            return report
        }
        let probe = TableProbe(vocabulary)
        for step in script.steps {
            switch step {
            case .call(let c): report.outcomes.append(run.run(c))
            case .probe(let upTo): report.snapshots.append(probe?.snapshot(run, upTo: upTo) ?? [])
            }
        }
        report.closeErrors = run.close()
        return report
    }
}
