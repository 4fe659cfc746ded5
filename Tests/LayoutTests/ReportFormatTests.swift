import Foundation
import Testing
@testable import Cases
@testable import Layout
@testable import Report

/// Every report the tool writes must be valid for its consumers: JSON for
/// the published schemas, JUnit for the junit-10 shape Jenkins and pytest
/// read, KTAP for kselftest's parsers (plan right after the version line).
enum Validators {
    static let schemas = Repo.fixtures + "/schemas"
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/xmllint")
            && ((try? run(["python3", "-c", "import jsonschema"]).status) == 0)
    }

    static func run(_ argv: [String]) throws -> ChildProcess.Result {
        try ChildProcess.run(["/usr/bin/env"] + argv, limits: .init(timeout: 60))
    }

    /// nil when valid, else the validator's complaint.
    static func check(_ text: String, schema: String) throws -> String? {
        let file = try Repo.tempDir() + "/report" + (schema.hasSuffix(".xsd") ? ".xml" : ".json")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let r = schema.hasSuffix(".xsd")
            ? try run(["xmllint", "--noout", "--schema", schemas + "/" + schema, file])
            : try run(["python3", Repo.root + "/scripts/validate-report.py", schemas + "/" + schema, file])
        return r.status == 0 ? nil : r.stdout + r.stderr
    }
}

@Suite(.enabled(if: Validators.available, "needs xmllint (libxml2-utils) and python3 jsonschema: scripts/install-deps.sh"))
struct ReportFormatTests {
    /// A run with every kind of result: pass, fail with and without a
    /// reason, skip, a disagreement, a note, characters XML must escape.
    func sampleRun() -> RunReportRenderer {
        let results = [
            CaseResult(id: "iommufd.a.pass", status: .pass, got: "OK", expected: "OK", reason: ""),
            CaseResult(id: "iommufd.a.fail", status: .fail, got: "EINVAL", expected: "EOPNOTSUPP", reason: "expected EOPNOTSUPP, got EINVAL"),
            CaseResult(id: "iommufd.a.disagree", status: .fail, got: "OK(5)", expected: "OK(*)",
                       reason: "sim/live disagree: sim ENOENT, live OK(5) <&\">"),
            CaseResult(id: "iommufd.a.skip", status: .skip, got: nil, expected: "ENOENT", reason: "needs a TSM-capable PCI device"),
            CaseResult(id: "live.no_leftovers", status: .pass, got: "none", expected: "no open descriptors", reason: ""),
        ]
        var r = RunReportRenderer(backend: "sim+live", profile: "tsm-v5", results: results, elapsed: 1.23456789)
        r.disagreements = [("iommufd.a.disagree", "ENOENT", "OK(5)")]
        r.notes = ["IOMMU_VDEVICE_TSM_OP results test a reconstruction"]
        return r
    }

    @Test func runJsonAndJunitValidate() throws {
        let r = sampleRun()
        #expect(try Validators.check(r.render(.json), schema: "run.schema.json") == nil)
        #expect(try Validators.check(r.render(.junit), schema: "junit.xsd") == nil)
        // The schema bites: an unknown status and a bad id are refused.
        let bad = r.render(.json).replacingOccurrences(of: "\"SKIP\"", with: "\"MAYBE\"")
        #expect(try Validators.check(bad, schema: "run.schema.json") != nil)
        let junitWithSkippedOnRoot = r.render(.junit).replacingOccurrences(of: "<testsuites name", with: "<testsuites skipped=\"1\" name")
        #expect(try Validators.check(junitWithSkippedOnRoot, schema: "junit.xsd") != nil)
        #expect(r.render(.junit).contains(#"time="1.235""#))
    }

    @Test func runKtapHasThePlanFirstAndCountsThatAddUp() {
        let lines = sampleRun().render(.ktap).split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(2)) == ["KTAP version 1", "1..5"])
        let results = lines.filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }
        #expect(results.count == 5)
        #expect(results.enumerated().allSatisfy { i, l in l.split(separator: " ").contains(Substring("\(i + 1)")) })
        #expect(lines.last == "# Totals: pass:2 fail:2 xfail:0 xpass:0 skip:1 error:0")
        // Expected/got is said once, with the reason only when it adds something.
        #expect(lines.contains("# iommufd.a.fail: expected EOPNOTSUPP, got EINVAL"))
        #expect(lines.contains { $0.hasPrefix("# iommufd.a.disagree: expected OK(*), got OK(5) (sim/live disagree") })
    }

    @Test(.enabled(if: Repo.haveHeaders, "needs the Linux 7.2 headers: run `make deps`"))
    func abiJsonAndJunitValidate() throws {
        let report = try AbiCheck.run(.init(headers: Repo.headers, abis: ["x86_64", "i386"], profile: "linux-7.2",
                                            fixtures: Repo.fixtures))
        let r = AbiReportRenderer(report)
        #expect(try Validators.check(r.render(.json), schema: "abi.schema.json") == nil)
        #expect(try Validators.check(r.render(.junit), schema: "junit.xsd") == nil)
        let ktap = r.render(.ktap).split(separator: "\n")
        #expect(ktap.first == "KTAP version 1" && ktap.dropFirst().first?.hasPrefix("1..") == true)
    }
}
