import Foundation
import Testing

/// scripts/coverage-report.py on fixtures/coverage (a synthetic handler file,
/// hand-made gcov JSON for two runs): no kernel, no gcov binary.
/// Debian's python3: the report is written for it.
let debianPython = "/usr/bin/python3"

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: debianPython), "needs /usr/bin/python3"))
struct CoverageReport {
    static let fixtures = Tool.root + "/fixtures/coverage"

    func report(_ extra: [String] = []) throws -> (Tool.Run, String) {
        let out = try Tool.tempDir()
        let args = [Tool.root + "/scripts/coverage-report.py", "--src", Self.fixtures + "/src", "--out", out,
                    "--kernel", "synthetic"] + extra
        return (try run([debianPython] + args), out)
    }

    func run(_ argv: [String]) throws -> Tool.Run {
        let p = Process(), o = Pipe(), e = Pipe()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile(), err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Tool.Run(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                        stderr: String(decoding: err, as: UTF8.self))
    }

    var bothRuns: [String] {
        ["--run", "catalogue=\(Self.fixtures)/catalogue.json", "--run", "selftests=\(Self.fixtures)/selftests.json"]
    }

    @Test func findsEverySiteAndWhichRunReachedIt() throws {
        let (r, out) = try report(bothRuns)
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/coverage.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let sites = try #require(json["sites"] as? [[String: Any]])
        let got = sites.map { s in
            "\(s["line"]!) \(s["errno"]!) \(s["kind"]!) " + ((s["reached_by"] as? [String])?.joined(separator: "+") ?? "")
        }
        // Not sites: the comment and the string (13, 16), obj->err, cmd->rc, cmd->ret (31, 52, 116), the preset
        // overwritten at once (50), the presets themselves (65, 70). 41's own line has no count: the goto's
        // below it counts. 15 has none in the catalogue's data: the line below is another statement, so no count.
        // 12 has no line in either run's data: its if's branches tell (3 of 5 taken, 0 of 4).
        // 107 and 127 have no gcov data at all (their functions were compiled out of both runs);
        // 127 leaves past `if (!rc) rc = ...;`, which an error value skips.
        #expect(got == [
            "12 EOPNOTSUPP return catalogue", "15 EINVAL return selftests", "25 ENOENT err_ptr catalogue",
            "28 ENODEV err_ptr selftests", "41 EBUSY assign catalogue+selftests", "45 EFAULT assign selftests",
            "54 EMSGSIZE assign ", "69 EOPNOTSUPP preset catalogue", "74 ENOMEM preset selftests",
            "88 EPERM assign selftests", "94 EDOM assign ", "107 EAGAIN assign ", "127 EINVAL assign ",
        ])
        let from12 = sites.first { $0["line"] as? Int == 12 }?["count_from"] as? [String: String]
        #expect(from12 == ["catalogue": "branch", "selftests": "branch"])
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.map { $0["file"] as? String } == ["drivers/iommu/iommufd/main.c", "drivers/iommu/iommufd/pages.c"])
        let main = try #require(files.first)
        let counts = try #require(main["sites"] as? [String: Int])
        #expect(counts == ["sites": 13, "catalogue": 4, "selftests": 6, "neither": 2, "no_data": 2])
        let runs = try #require(main["runs"] as? [String: [String: Any]])
        #expect(runs["catalogue"]?["lines_hit"] as? Int == 30 && runs["catalogue"]?["lines"] as? Int == 47)
        #expect(runs["selftests"]?["branches_hit"] as? Int == 7 && runs["selftests"]?["branches"] as? Int == 10)
        #expect(files.last?["sites"] == nil, "pages.c is not an ioctl handler file")
        #expect(r.stdout.contains("main.c"))
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("total") && $0.contains("63.8%") && $0.contains("79.2%") })
        let index = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        #expect(index.contains("main.c:74") && index.contains("ENOMEM"))
        let page = try String(contentsOfFile: out + "/files/drivers_iommu_iommufd_main.c.html", encoding: .utf8)
        #expect(page.contains("pr_debug(&quot;return -ENOENT;"))
    }

    /// --reasons: every site the first run misses, with its reason; a listed
    /// errno that is not the site's, a site listed but reached, a bad row.
    @Test func everyUnreachedSiteIsListedWithItsReason() throws {
        let dir = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "drivers/iommu/iommufd/main.c"
        let tsv = dir + "/reasons.tsv"
        try ("# reasons\n\(file)\t15\tEINVAL\tneeds a second thread\n\(file)\t28\tEINVAL\twrong errno\n"
             + "\(file)\t12\tEOPNOTSUPP\treached now\n").write(toFile: tsv, atomically: true, encoding: .utf8)
        let (r, out) = try report(bothRuns + ["--reasons", tsv])
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("sites catalogue does not reach: 9"))
        #expect(r.stdout.contains("main.c:15 EINVAL [selftests] needs a second thread"))
        #expect(r.stdout.contains("main.c:28 ENODEV [selftests] (no reason recorded)"))
        #expect(r.stdout.contains("listed but reached or not a site: main.c:12"))
        #expect(r.stdout.contains("without a reason: 8; stale reasons: 1"))
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/coverage.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["unreached"] as? [String: Int] == ["sites": 9, "without_reason": 8, "stale_reasons": 1])
        try "main.c\tx\tEINVAL\twhy\n".write(toFile: tsv, atomically: true, encoding: .utf8)
        let (bad, badOut) = try report(bothRuns + ["--reasons", tsv])
        defer { try? FileManager.default.removeItem(atPath: badOut) }
        #expect(bad.status == 2 && bad.stderr.contains("reasons.tsv:1: want FILE<tab>LINE<tab>ERRNO<tab>REASON"))
    }

    @Test func badInputIsOneLineAndExit2() throws {
        for (args, says) in [
            ([String](), "no --run NAME=PATH given"),
            (["--run", "catalogue"], "--run wants NAME=PATH"),
            (["--run", "x=/nonexistent.json"], "does not exist"),
            (["--run", "x=\(Self.fixtures)/src/drivers/iommu/iommufd/main.c"], "cannot read gcov JSON"),
            (["--run", "x=\(Self.fixtures)/src"], "--gcno TAR is needed"),
            (["--bogus"], "unrecognized arguments"),
        ] {
            let (r, out) = try report(args)
            try? FileManager.default.removeItem(atPath: out)
            #expect(r.status == 2, "\(args): exit \(r.status)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("coverage-report: error: ")
                    && r.stderr.contains(says), "\(args): \(r.stderr)")
        }
    }
}
