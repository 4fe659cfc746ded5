import Foundation
import Testing

/// `fuzz --executor`: the reference is an uapi-fuzz-exec serving a folder, as in the VM lane. Here the
/// executor runs under `sim-exec`, so an unmutated simulator in another process stands in for the kernel
/// and the whole path (wire format, batches, minimising over round trips) is tested without a VM.
@Suite(.enabled(if: Tool.binary != nil, "needs the built uapi-conform (swift build)"))
struct FuzzExecutor {
    static var executor: String? {
        Tool.binary.map { ($0 as NSString).deletingLastPathComponent + "/uapi-fuzz-exec" }
    }

    /// The executor under sim-exec, serving `dir`, in the background.
    func serve(_ dir: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(Tool.binary))
        p.arguments = ["sim-exec", "--profile", "linux-7.2", "--", try #require(FuzzExecutor.executor), dir, "60"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func fuzz(_ dir: String, _ out: String, _ extra: [String]) throws -> Tool.Run {
        let p = try serve(dir)
        defer { if p.isRunning { p.terminate() } }
        let r = try Tool.run(["fuzz", "--backend", "sim+live", "--executor", dir, "--seed", "1", "--out", out] + extra)
        p.waitUntilExit()
        // The fuzzer's last request tells the executor to stop: it is gone, cleanly.
        #expect(p.terminationStatus == 0, "executor exit \(p.terminationStatus)")
        return r
    }

    @Test func mutantIsFoundThroughTheExecutorAndReplays() throws {
        let dir = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let found = try fuzz(dir, dir + "/out", ["--sim-mutation", "skipTailCheck", "--calls", "3000"])
        #expect(found.status == 1, "\(found.stdout)\(found.stderr)")
        try expectReplays(dir + "/out/findings.json", mutation: "skipTailCheck")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("r") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func unmutatedSimulatorAgreesThroughTheExecutor() throws {
        let dir = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clean = try fuzz(dir, dir + "/out", ["--calls", "20000"])
        #expect(clean.status == 0 && clean.stdout.contains(" 0 findings"), "\(clean.stdout)\(clean.stderr)")
    }

    @Test func badExecutorInputIsOneLine() throws {
        let dir = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        expectBadInput(try Tool.run(["fuzz", "--backend", "sim", "--executor", dir]), "--executor needs --backend sim+live")
        expectBadInput(try Tool.run(["fuzz", "--backend", "sim+live", "--executor", dir + "/none"]), "is not a folder")
        // A request that is not one: the executor says why in its answer and exits 2.
        try Data("UCFQ\u{1}\0\0\0garbage".utf8).write(to: URL(fileURLWithPath: dir + "/req-00000000"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(FuzzExecutor.executor))
        p.arguments = [dir, "5"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 2)
        let answer = FileManager.default.contents(atPath: dir + "/rsp-00000000") ?? Data()
        #expect(answer.starts(with: Data("UCFE".utf8)), "\(answer)")
    }
}
