import Foundation
import Testing
@testable import Cases
@testable import Layout
@testable import Report

/// `--format kcidb` must be what KernelCI's own kcidb-io accepts: validated
/// with it (scripts/validate-kcidb.py in .deps/kcidb-venv, which
/// scripts/install-deps.sh and `make check` set up). A missing validator
/// fails these tests rather than skipping them.
enum KcidbValidator {
    static let python = Repo.root + "/.deps/kcidb-venv/bin/python3"

    /// nil when valid, else kcidb-io's complaint.
    static func check(_ text: String) throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return "no \(python): run scripts/kcidb-venv.sh (scripts/install-deps.sh does)"
        }
        let file = try Repo.tempDir() + "/report.kcidb.json"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let script = Repo.root + "/scripts/validate-kcidb.py"
        let r = try ChildProcess.run([python, script, file], limits: .init(timeout: 60))
        return r.status == 0 ? nil : r.stdout + r.stderr
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}

struct KcidbTests {
    func run(live: Bool) -> RunReportRenderer {
        let results = [
            CaseResult(id: "iommufd.a.pass", status: .pass, got: "OK", expected: "OK", reason: ""),
            CaseResult(id: "iommufd.a.fail", status: .fail, got: "EINVAL", expected: "EOPNOTSUPP", reason: ""),
            CaseResult(id: "iommufd.a.skip", status: .skip, got: nil, expected: "ENOENT",
                       reason: "needs a TSM-capable PCI device"),
            CaseResult(id: "odd id+with:chars", status: .pass, got: "OK", expected: "OK", reason: ""),
        ]
        var r = RunReportRenderer(backend: live ? "live" : "sim", profile: "tsm-v5", results: results, elapsed: 0.5)
        if live { r.kernel = ("7.2.13-uc", "x86_64") }
        return r
    }

    @Test func simRunIsValidAndNamedByItsProfile() throws {
        let text = run(live: false).render(.kcidb)
        #expect(try KcidbValidator.check(text) == nil)
        let o = try KcidbValidator.object(text)
        #expect(o["version"] as? [String: Int] == ["major": 5, "minor": 0])
        let checkout = try #require((o["checkouts"] as? [[String: Any]])?.first)
        #expect(checkout["id"] as? String == "uapi_conform:tsm-v5")
        let tests = try #require(o["tests"] as? [[String: Any]])
        #expect(tests.map { $0["status"] as? String } == ["PASS", "FAIL", "SKIP", "PASS"])
        #expect(tests.map { $0["path"] as? String }
                == ["iommufd.a.pass", "iommufd.a.fail", "iommufd.a.skip", "odd_id_with_chars"])
        #expect(tests[1]["log_excerpt"] as? String == "expected EOPNOTSUPP, got EINVAL")
        #expect(tests[2]["log_excerpt"] as? String == "needs a TSM-capable PCI device")
        #expect(tests.allSatisfy { ($0["id"] as? String)?.hasPrefix("uapi_conform:tsm-v5:sim:tsm-v5:") == true })
    }

    @Test func liveRunIsNamedByTheKernelsRelease() throws {
        let text = run(live: true).render(.kcidb)
        #expect(try KcidbValidator.check(text) == nil)
        let o = try KcidbValidator.object(text)
        let build = try #require((o["builds"] as? [[String: Any]])?.first)
        #expect(build["id"] as? String == "uapi_conform:7.2.13-uc:live:tsm-v5")
        #expect(build["architecture"] as? String == "x86_64")
        #expect(build["checkout_id"] as? String == "uapi_conform:7.2.13-uc")
    }

    /// The validator bites: what kcidb-io refuses is reported.
    @Test func invalidOutputIsRefused() throws {
        let good = run(live: false).render(.kcidb)
        let edits = [("\"SKIP\"", "\"MAYBE\""), ("\"origin\" : \"uapi_conform\"", "\"origin\" : \"uapi-conform\""),
                     ("\"major\" : 5", "\"major\" : 9"),
                     ("\"path\" : \"iommufd.a.pass\"", "\"path\" : \"iommufd..pass\"")]
        for (from, to) in edits {
            let bad = good.replacingOccurrences(of: from, with: to)
            #expect(bad != good, "\(from) is not in the output")
            #expect(try KcidbValidator.check(bad) != nil, "\(to) was accepted")
        }
    }

    @Test func pathsKeepDotsAndLoseWhatTheSchemaRefuses() {
        #expect(Kcidb.path("iommufd.vdevice_tsm_req.reserved_nonzero") == "iommufd.vdevice_tsm_req.reserved_nonzero")
        #expect(Kcidb.path("rule.implicit-hole") == "rule.implicit-hole")
        #expect(Kcidb.path("a..b*") == "a._.b_")
    }

    @Test(.enabled(if: Repo.haveHeaders, "needs the Linux 7.2 headers: run `make deps`"))
    func abiReportIsValidAndNamedByTheMatchedProfile() throws {
        let report = try AbiCheck.run(.init(headers: Repo.headers, abis: ["x86_64", "i386"], fixtures: Repo.fixtures))
        let text = AbiReportRenderer(report).render(.kcidb)
        #expect(try KcidbValidator.check(text) == nil)
        let o = try KcidbValidator.object(text)
        #expect((o["checkouts"] as? [[String: Any]])?.first?["id"] as? String == "uapi_conform:linux-7.2")
        let paths = (o["tests"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(paths.contains("abi.x86_64.probe") && paths.contains("rule.implicit-hole"))
    }
}
