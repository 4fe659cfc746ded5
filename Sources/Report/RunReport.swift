import Cases
import Foundation

/// Renders `run` results: text, JSON, KTAP (kselftest style) or JUnit.
package struct RunReportRenderer: ReportRendering {
    package let backend: String
    package let profile: String
    package let results: [CaseResult]
    package let elapsed: Double
    /// sim+live: cases whose outcome differs between the two kernels.
    package var disagreements: [(id: String, sim: String, live: String)] = []
    /// Lines about the run as a whole (what a result tests), in every format.
    package var notes: [String] = []
    /// The live kernel's release and machine (`run --backend live`), which
    /// name the kernel in KCIDB; the simulator is named by its profile.
    package var kernel: (release: String, machine: String)?
    package var started = Date()
    /// Bumped when a key changes meaning or goes; fixtures/schemas/run.schema.json.
    package static let schemaVersion = 1

    package init(backend: String, profile: String, results: [CaseResult], elapsed: Double) {
        self.backend = backend; self.profile = profile; self.results = results; self.elapsed = elapsed
    }

    var counts: (pass: Int, fail: Int, skip: Int) {
        var c = (0, 0, 0)
        for r in results {
            switch r.status { case .pass: c.0 += 1; case .fail: c.1 += 1; case .skip: c.2 += 1 }
        }
        return c
    }

    package var exitCode: Int32 { counts.fail > 0 ? 1 : 0 }


    package func jsonObject() -> [String: Any] {
        let c = counts
        return [
            "schema_version": RunReportRenderer.schemaVersion,
            "backend": backend,
            "profile": profile,
            "results": results.map { r -> [String: Any] in
                ["id": r.id, "status": r.status.rawValue, "errno": r.got ?? NSNull(), "expected": r.expected,
                 "reason": r.reason]
            },
            "summary": ["total": results.count, "pass": c.pass, "fail": c.fail, "skip": c.skip,
                        "disagreements": disagreements.count, "elapsed_s": (elapsed * 1000).rounded() / 1000],
            "disagreements": disagreements.map { ["id": $0.id, "sim": $0.sim, "live": $0.live] },
            "notes": notes,
        ]
    }

    package func text(colour: Bool) -> String {
        var out: [String] = notes.map { "note: " + $0 }
        // Every failure is listed; skips are summarised by reason below.
        for r in results where r.status == .fail {
            out.append("\(Output.paint("FAIL", "1;31", colour)) \(r.id): \(failureMessage(r))")
        }
        // Skips of one reason are summarised; every failure is listed.
        let c = counts
        let skipReasons = Dictionary(grouping: results.filter { $0.status == .skip }, by: \.reason).mapValues(\.count)
        if !skipReasons.isEmpty {
            let top = skipReasons.sorted { $0.value > $1.value }.prefix(5).map { "\($0.value)× \($0.key)" }
            out.append("skipped: " + top.joined(separator: "; "))
        }
        if backend.contains("+") { out.append("sim/live disagreements: \(disagreements.count)") }
        out.append("\(backend) backend, profile \(profile): \(results.count) cases, \(c.pass) passed, \(c.fail) "
            + "failed, \(c.skip) skipped")
        return out.joined(separator: "\n")
    }

    package func ktap() -> String {
        // The plan follows the version line; comments come after it.
        var out = ["KTAP version 1", "1..\(results.count)",
                   "# uapi-conform run --backend \(backend) --profile \(profile)"]
        out += notes.map { "# note: " + Output.ktapLine($0) }
        out.reserveCapacity(results.count * 2 + 4)
        for (i, r) in results.enumerated() {
            switch r.status {
            case .pass: out.append("ok \(i + 1) \(r.id)")
            case .skip: out.append("ok \(i + 1) \(r.id) # SKIP \(Output.ktapLine(r.reason))")
            case .fail:
                out.append("# \(r.id): " + Output.ktapLine(failureMessage(r)))
                out.append("not ok \(i + 1) \(r.id)")
            }
        }
        let c = counts
        out.append("# Totals: pass:\(c.pass) fail:\(c.fail) xfail:0 xpass:0 skip:\(c.skip) error:0")
        return out.joined(separator: "\n")
    }

    package func junit() -> String {
        let cases = results.map { r -> JUnit.TestCase in
            var c = JUnit.TestCase(id: r.id)
            switch r.status {
            case .pass: break
            case .skip: c.skipped = r.reason
            case .fail: c.failure = failureMessage(r)
            }
            return c
        }
        return JUnit.document(name: "uapi-conform run", suite: "\(backend).\(profile)", cases: cases, seconds: elapsed)
    }

    package func kcidbObject() -> [String: Any] {
        let name = kernel?.release ?? profile
        let what = kernel.map { "Linux \($0.release)" } ?? "the simulated kernel of \(profile)"
        var subject = Kcidb.Subject(name: name, kind: backend, profile: profile,
                                    comment: "uapi-conform run --backend \(backend) --profile \(profile) on \(what)",
                                    architecture: kernel?.machine)
        subject.misc = ["backend": backend, "notes": notes, "disagreements": disagreements.count]
        let tests = results.map { r -> Kcidb.Test in
            let status: Kcidb.Status = r.status == .pass ? .PASS : r.status == .fail ? .FAIL : .SKIP
            let excerpt = r.status == .fail ? failureMessage(r) : r.reason
            return Kcidb.Test(path: r.id, status: status, excerpt: excerpt,
                              misc: ["case_id": r.id, "expected": r.expected, "got": r.got ?? NSNull()])
        }
        return Kcidb.document(subject, tests: tests, started: started)
    }

    /// "expected X, got Y", then the reason when it says more than that.
    func failureMessage(_ r: CaseResult) -> String {
        // The outcome was right, something else failed (a kernel report, the teardown).
        if r.got == r.expected && !r.reason.isEmpty { return r.reason }
        let mismatch = "expected \(r.expected), got \(r.got ?? "nothing")"
        let extra = r.reason.replacingOccurrences(of: "; " + mismatch, with: "")
            .replacingOccurrences(of: mismatch, with: "")
            .trimmingCharacters(in: CharacterSet(charactersIn: " ;"))
        return extra.isEmpty ? mismatch : "\(mismatch) (\(extra))"
    }
}
