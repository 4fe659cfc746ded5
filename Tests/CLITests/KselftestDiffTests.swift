import Foundation
import Testing

/// scripts/kselftest-diff.py on two small KTAP files: a difference with a reason passes, one without fails
/// (exit 1), a crash under the simulator is its own verdict, and a file that is no KTAP is broken input.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: debianPython), "needs /usr/bin/python3"))
struct KselftestDiff {
    func diff(_ live: String, _ sim: String, reasons: String) throws -> Tool.Run {
        let d = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try live.write(toFile: d + "/live.ktap", atomically: true, encoding: .utf8)
        try sim.write(toFile: d + "/sim.ktap", atomically: true, encoding: .utf8)
        try reasons.write(toFile: d + "/diff.tsv", atomically: true, encoding: .utf8)
        try "".write(toFile: d + "/kernel.tsv", atomically: true, encoding: .utf8)
        return try CoverageReport().run([debianPython, Tool.root + "/scripts/kselftest-diff.py", d + "/live.ktap",
                                         d + "/sim.ktap", "--differences", d + "/diff.tsv",
                                         "--kernel-failures", d + "/kernel.tsv"])
    }

    static let live = "TAP version 13\n1..2\nok 1 fx.v.one\nok 2 fx.v.two\n# Totals: pass:2 fail:0\n"
    static let sim = "TAP version 13\n1..2\nok 1 fx.v.one\n#  RUN           fx.v.two ...\n"
        + "# t.c:12:two:Expected 0 (0) == x (1)\nnot ok 2 fx.v.two\n# Totals: pass:1 fail:1\n"

    @Test func aDifferenceNeedsAReason() throws {
        let bare = try diff(Self.live, Self.sim, reasons: "# none\n")
        #expect(bare.status == 1, "\(bare.stdout)\(bare.stderr)")
        #expect(bare.stdout.contains("fx.v.two") && bare.stdout.contains("NO REASON"))
        let explained = try diff(Self.live, Self.sim, reasons: "fx.*.two\tthe simulator cannot do two\n")
        #expect(explained.status == 0, "\(explained.stdout)\(explained.stderr)")
        #expect(explained.stdout.contains("the simulator cannot do two"))
        #expect(explained.stdout.contains("1 pass simulated (50.0%)"))
    }

    @Test func aCrashIsItsOwnVerdict() throws {
        let crashed = "TAP version 13\n1..2\nok 1 fx.v.one\n#  RUN           fx.v.two ...\n"
            + "# two: Test terminated unexpectedly by signal 11\nnot ok 2 fx.v.two\n"
        let r = try diff(Self.live, crashed, reasons: "")
        #expect(r.status == 1)
        #expect(r.stdout.contains("crash"), "\(r.stdout)")
    }

    @Test func noKtapIsBrokenInput() throws {
        let r = try diff("hello\n", Self.sim, reasons: "")
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}
