import Foundation
import Testing

/// `uapi-conform fuzz` as a user runs it: bad input is one line and exit 2;
/// a finding is exit 1 and a findings.json that `run --cases` replays.
@Suite(.enabled(if: Tool.binary != nil, "needs the built uapi-conform (swift build)"))
struct FuzzCLI {
    @Test func badInputIsOneLine() throws {
        expectBadInput(try Tool.run(["fuzz", "--seconds", "1", "--calls", "5"]), "not both")
        expectBadInput(try Tool.run(["fuzz", "--seed", "xyz"]), "--seed must be a whole number")
        expectBadInput(try Tool.run(["fuzz", "--sim-mutation", "nope"]), "unknown mutation 'nope'")
        expectBadInput(try Tool.run(["fuzz", "--calls", "0"]), "--calls must be positive")
    }

    /// A mutant against the reference simulator: found, written, replayed (fails on the
    /// mutant, passes on the original); the unmutated pair finds nothing.
    @Test func findingReplaysWithRunCases() throws {
        let dir = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let found = try Tool.run(["fuzz", "--backend", "sim+sim", "--sim-mutation", "skipTailCheck", "--calls", "3000",
                                  "--seed", "1", "--out", dir])
        #expect(found.status == 1, "\(found.stdout)\(found.stderr)")
        #expect(found.stdout.hasPrefix("fuzz: --backend sim+sim --profile linux-7.2 --seed 1"))
        try expectReplays(dir + "/findings.json", mutation: "skipTailCheck")
        let clean = try Tool.run(["fuzz", "--backend", "sim+sim", "--calls", "3000", "--seed", "1", "--out", dir])
        #expect(clean.status == 0, "\(clean.stdout)")
        #expect(clean.stdout.contains(" 0 findings"))
    }
}

/// The findings' cases fail on the mutated simulator and pass on the original one.
func expectReplays(_ cases: String, mutation: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let mutant = try Tool.run(["run", "--backend", "sim", "--profile", "linux-7.2", "--sim-mutation", mutation,
                               "--cases", cases])
    #expect(mutant.status == 1, "\(mutant.stdout)", sourceLocation: sourceLocation)
    let original = try Tool.run(["run", "--backend", "sim", "--profile", "linux-7.2", "--cases", cases])
    #expect(original.status == 0, "\(original.stdout)", sourceLocation: sourceLocation)
}
