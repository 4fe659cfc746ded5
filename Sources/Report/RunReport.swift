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
            let tag = Output.paint("FAIL", "1;31", colour)
            let mismatch = "expected \(r.expected), got \(r.got ?? "nothing")"
            let failure = r.reason.isEmpty || r.reason == mismatch ? mismatch : "\(mismatch); \(r.reason)"
            let detail = r.status == .fail ? failure : r.reason
            out.append("\(tag) \(r.id): \(detail)")
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
                out.append("# \(r.id): expected \(r.expected), got "
                    + "\(r.got ?? "nothing")\(r.reason.isEmpty ? "" : " (\(Output.ktapLine(r.reason)))")")
                out.append("not ok \(i + 1) \(r.id)")
            }
        }
        let c = counts
        out.append("# Totals: pass:\(c.pass) fail:\(c.fail) xfail:0 xpass:0 skip:\(c.skip) error:0")
        return out.joined(separator: "\n")
    }

    package func junit() -> String {
        let c = counts
        var out = [#"<?xml version="1.0" encoding="UTF-8"?>"#,
                   #"<testsuites name="uapi-conform run" tests="\#(results.count)" failures="\#(c.fail)" "#
                       + #"skipped="\#(c.skip)" time="\#(elapsed)">"#,
                   #"  <testsuite name="\#(Output.xml(backend)).\#(Output.xml(profile))" tests="\#(results.count)" "#
                       + #"failures="\#(c.fail)" skipped="\#(c.skip)">"#]
        for r in results {
            let dot = r.id.lastIndex(of: ".")
            let cls = dot.map { String(r.id[..<$0]) } ?? r.id
            let name = dot.map { String(r.id[r.id.index(after: $0)...]) } ?? r.id
            switch r.status {
            case .pass: out.append(#"    <testcase classname="\#(Output.xml(cls))" name="\#(Output.xml(name))"/>"#)
            case .skip:
                out.append(#"    <testcase classname="\#(Output.xml(cls))" name="\#(Output.xml(name))">"#
                           + #"<skipped message="\#(Output.xml(r.reason))"/></testcase>"#)
            case .fail:
                let msg = "expected \(r.expected), got "
                    + "\(r.got ?? "nothing")" + (r.reason.isEmpty ? "" : "; \(r.reason)")
                out.append(#"    <testcase classname="\#(Output.xml(cls))" name="\#(Output.xml(name))">"#
                           + #"<failure message="\#(Output.xml(msg))"/></testcase>"#)
            }
        }
        out += ["  </testsuite>", "</testsuites>"]
        return out.joined(separator: "\n")
    }
}
