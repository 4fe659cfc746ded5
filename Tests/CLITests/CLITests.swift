import Foundation
import Testing

/// The built `uapi-conform`, run as a user runs it: bad input is one line on
/// stderr and exit status 2, quickly, with nothing left behind.
enum Tool {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let binary: String? = {
        let fm = FileManager.default
        let dirs = ["debug", "release"].map { root + "/.build/" + $0 }
            + ((try? fm.contentsOfDirectory(atPath: root + "/.build")) ?? []).map { root + "/.build/" + $0 + "/debug" }
        return dirs.map { $0 + "/uapi-conform" }.first { fm.isExecutableFile(atPath: $0) }
    }()

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ args: [String], cwd: String? = nil, environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.executableURL = URL(fileURLWithPath: try #require(binary, "uapi-conform is not built"))
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? root)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "uc-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}

/// One line on stderr, starting `uapi-conform: error:`, and exit 2.
func expectBadInput(_ r: Tool.Run, _ contains: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == 2, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderr.hasPrefix("uapi-conform: error: "), sourceLocation: sourceLocation)
    #expect(r.stderr.contains(contains), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
}

@Suite(.enabled(if: Tool.binary != nil, "needs the built uapi-conform (swift build)"))
struct PatchLaneInput {
    func tree() throws -> String {
        let d = try Tool.tempDir()
        try FileManager.default.createDirectory(atPath: d + "/src/lib", withIntermediateDirectories: true)
        try "int a;\nint b;\nint c;\n".write(toFile: d + "/src/lib/x.c", atomically: true, encoding: .utf8)
        return d
    }

    @Test func vmRefusesBadPatchesBeforeAnyBuild() throws {
        let d = try tree()
        try "hello\nno diff here\n".write(toFile: d + "/mail.txt", atomically: true, encoding: .utf8)
        expectBadInput(try Tool.run(["vm", "--patch", d + "/nope.patch"]), "patch file \(d)/nope.patch does not exist")
        expectBadInput(try Tool.run(["vm", "--patch", d + "/mail.txt"]), "no diff found")
        expectBadInput(try Tool.run(["vm", "--timeout", "0"]), "--timeout must be more than 0 seconds")
        expectBadInput(try Tool.run(["vm", "--timeout=-5"]), "--timeout must be more than 0 seconds")
        expectBadInput(try Tool.run(["vm", "--kernel-bug", "req-lookup-errno"]), "--kernel-bug needs --patch")
        expectBadInput(try Tool.run(["vm", "--patch", d + "/mail.txt", "--kernel", "/bin/true"]), "exclude each other")
    }

    @Test func applyNamesWhatDidNotApply() throws {
        let d = try tree()
        let bad = "--- a/lib/x.c\n+++ b/lib/x.c\n@@ -1,2 +1,2 @@\n int a;\n-int q;\n+int r;\n"
        try bad.write(toFile: d + "/bad.patch", atomically: true, encoding: .utf8)
        expectBadInput(try Tool.run(["apply", "--source", d + "/src", "--patch", d + "/bad.patch"]),
                       "hunk #1 of lib/x.c (@@ -1,2 +1,2 @@) does not apply at line 1: patch line 5 '-int q;' matches no line there")
        let elsewhere = bad.replacingOccurrences(of: "lib/x.c", with: "lib/y.c")
        try elsewhere.write(toFile: d + "/other.patch", atomically: true, encoding: .utf8)
        expectBadInput(try Tool.run(["apply", "--source", d + "/src", "--patch", d + "/other.patch"]),
                       "changes lib/y.c, which the tree does not have")
        let good = "--- a/lib/x.c\n+++ b/lib/x.c\n@@ -1,2 +1,2 @@\n int a;\n-int b;\n+int r;\n"
        try good.write(toFile: d + "/good.patch", atomically: true, encoding: .utf8)
        let ok = try Tool.run(["apply", "--source", d + "/src", "--patch", d + "/good.patch"])
        #expect(ok.status == 0)
        #expect(ok.stdout == "diff --git a/lib/x.c b/lib/x.c\n--- a/lib/x.c\n+++ b/lib/x.c\n@@ -1,3 +1,3 @@\n int a;\n-int b;\n+int r;\n int c;\n")
        // The tree is only read.
        #expect(try String(contentsOfFile: d + "/src/lib/x.c", encoding: .utf8) == "int a;\nint b;\nint c;\n")
    }

    @Test func unknownKernelBugAndAutoProfileWithoutKernel() throws {
        let d = try tree()
        let good = "--- a/lib/x.c\n+++ b/lib/x.c\n@@ -1 +1 @@\n-int a;\n+int z;\n"
        try good.write(toFile: d + "/good.patch", atomically: true, encoding: .utf8)
        expectBadInput(try Tool.run(["apply", "--source", d + "/src", "--patch", d + "/good.patch", "--kernel-bug", "nope"]),
                       "unknown kernel bug 'nope'")
        expectBadInput(try Tool.run(["run", "--backend", "sim", "--profile", "auto"]), "--profile auto needs a live kernel")
    }
}

@Suite(.enabled(if: Tool.binary != nil, "needs the built uapi-conform (swift build)"))
struct HistoryInput {
    @Test func historyExitCodes() throws {
        let ok = try Tool.run(["abi", "--history", "linux-6.12,linux-7.2"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("added ioctl IOMMU_VIOMMU_ALLOC"))
        #expect(ok.stdout.hasSuffix("0 incompatible change(s) between released kernels\n"))
        // Posted series break things freely: reported, exit 0.
        let posted = try Tool.run(["abi", "--history", "linux-7.2,tsm-v2,tsm-v5", "--format", "json"])
        #expect(posted.status == 0)
        #expect(posted.stdout.contains("\"ioctl-number-reused\""))
        expectBadInput(try Tool.run(["abi", "--history", "linux-7.2"]), "at least two profiles")
        expectBadInput(try Tool.run(["abi", "--history", "linux-7.2,linux-0.1"]), "unknown profile 'linux-0.1'")
        expectBadInput(try Tool.run(["abi", "--history", "linux-6.12,linux-7.2", "--format", "ktap"]), "text or json")
    }

    /// Two released kernels with a moved member: exit 1.
    @Test func anIncompatibleReleaseIsExitOne() throws {
        let d = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try FileManager.default.createDirectory(atPath: d + "/profiles", withIntermediateDirectories: true)
        let path = Tool.root + "/fixtures/profiles/linux-6.12.json"
        try FileManager.default.copyItem(atPath: path, toPath: d + "/profiles/a.json")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var p = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        p["name"] = "b"
        var structs = try #require(p["structs"] as? [[String: Any]])
        let i = try #require(structs.firstIndex { $0["name"] as? String == "iommu_ioas_alloc" })
        var lp64 = try #require(structs[i]["lp64"] as? [String: Any])
        var fields = try #require(lp64["fields"] as? [[String: Any]])
        fields[2]["offset"] = 4
        lp64["fields"] = fields; structs[i]["lp64"] = lp64; p["structs"] = structs
        try JSONSerialization.data(withJSONObject: p).write(to: URL(fileURLWithPath: d + "/profiles/b.json"))
        let r = try Tool.run(["abi", "--history", "linux-6.12,b", "--fixtures", d])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("changed-incompatibly struct iommu_ioas_alloc.out_ioas_id"))
    }
}

@Suite(.enabled(if: Tool.binary != nil, "needs the built uapi-conform (swift build)"))
struct CrossCompilerInput {
    /// No cross gcc on the search path: alpha, parisc and sh4 are not checked, with why; alone, bad input.
    @Test func missingCrossCompilers() throws {
        let header = Tool.root + "/.deps/linux-libc-dev/usr/include/linux/iommufd.h"
        guard FileManager.default.fileExists(atPath: header) else { return }
        let env = ["UAPI_CONFORM_CROSS_PATH": ""]
        let all = try Tool.run(["abi", "--arch", "all"], environment: env)
        #expect(all.status == 0)
        #expect(all.stdout.contains("ABIs checked (21)"))
        let why = "ABI not checked: sh4 (no sh4-linux-gnu-gcc for sh4 (clang has no sh4 target): install gcc-sh4-linux-gnu"
        #expect(all.stdout.contains(why))
        expectBadInput(try Tool.run(["abi", "--arch", "alpha"], environment: env),
                       "no ABI could be checked (alpha: no alpha-linux-gnu-gcc")
    }
}

/// Values the parser checks itself: one line, exit 2.
@Suite(.enabled(if: Tool.binary != nil, "needs the built uapi-conform (swift build)"))
struct ArgumentValues {
    @Test func badEnumValuesAreOneLine() throws {
        expectBadInput(try Tool.run(["run", "--backend", "bogus"]), "'bogus' is invalid for '--backend <backend>'")
        expectBadInput(try Tool.run(["run", "--format", "xml"]), "'xml' is invalid for '--format <format>'")
        expectBadInput(try Tool.run(["probe", "--format", "yaml"]), "'yaml' is invalid for '--format <format>'")
        expectBadInput(try Tool.run(["list", "--profile", "auto"]), "'auto' is invalid for '--profile <profile>'")
        expectBadInput(try Tool.run(["list", "--profile", "nope"]), "unknown profile 'nope'")
        expectBadInput(try Tool.run(["explain", "x", "--profile", "tsm-v9"]), "unknown profile 'tsm-v9'")
        expectBadInput(try Tool.run(["run", "--profile", "nope"]), "unknown profile 'nope'")
        expectBadInput(try Tool.run(["vm", "--profile", "nope"]), "unknown profile 'nope'")
    }

    @Test func theDefaultProfileIsTsmV5() throws {
        let r = try Tool.run(["list"])
        #expect(r.status == 0)
        #expect(r.stderr.hasSuffix("cases in tsm-v5\n"))
    }

    @Test func doubleStarFiltersLikeOne() throws {
        let one = try Tool.run(["list", "--filter", "*"]), two = try Tool.run(["list", "--filter", "**"])
        #expect(one.status == 0 && two.status == 0)
        #expect(one.stdout == two.stdout && !one.stdout.isEmpty)
    }

    @Test func hostileCaseFilesAreOneLine() throws {
        let d = try Tool.tempDir()
        let path = d + "/hostile.json"
        try #"[{"id":"big","ioctl":"IOMMU_IOAS_ALLOC","size":4611686018427387904,"expect":"OK"}]"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        expectBadInput(try Tool.run(["run", "--cases", path]), "case big: \"size\" 4611686018427387904 does not fit")
        try #"[{"id":"bad id","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK"}]"#.write(toFile: path, atomically: true, encoding: .utf8)
        expectBadInput(try Tool.run(["run", "--cases", path]), "may use only letters")
    }
}
