import Cases
import Fuzz
import SimulatedBackend
import Testing

/// The fuzzer's promise: every mutation of the simulator is found from a
/// fixed seed against an unmutated simulator standing in for the kernel, and
/// the minimised case it writes fails on the mutant and passes on the original.
@Suite struct MutationFuzzTests {
    static let seed: UInt64 = 2
    /// Calls the search may take (a few seconds of a debug build).
    static let budget = 50_000

    @Test(arguments: SimMutation.allCases)
    func everyMutationIsFoundAndReplayed(_ m: SimMutation) throws {
        let pair = SimPair(mutations: [m])
        let (findings, _) = pair.findings(seed: MutationFuzzTests.seed, calls: MutationFuzzTests.budget)
        let f = try #require(findings.first, "no disagreement under \(m) in \(MutationFuzzTests.budget) calls")
        #expect(f.calls.count <= f.originalLength)
        let mutant = try pair.replay(f, mutations: [m])
        #expect(mutant.count == 1 && mutant.allSatisfy { $0.status == .fail }, "\(m): \(mutant)")
        let original = try pair.replay(f, mutations: [])
        #expect(original.count == 1 && original.allSatisfy { $0.status == .pass }, "\(m): \(original)")
    }

    /// The twin: two unmutated simulators never disagree, so a finding above is the mutation's.
    @Test func unmutatedSimulatorsAgree() {
        let (findings, stats) = SimPair().findings(seed: MutationFuzzTests.seed, calls: 20_000)
        #expect(stats.calls >= 20_000)
        #expect(findings.isEmpty, "\(findings.map(\.disagreement))")
    }
}
