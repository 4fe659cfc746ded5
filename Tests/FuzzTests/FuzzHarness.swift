import Cases
import Foundation
import Fuzz
import Layout
import SimulatedBackend

/// Profiles from fixtures/profiles at the package root, found from this file.
enum Fixtures {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/FuzzTests/FuzzHarness.swift
        return parts.joined(separator: "/")
    }()
    static let store: ProfileStore = try! ProfileStore(directory: root + "/fixtures/profiles")
    static func profile(_ name: String) -> Profile { try! store.resolved(name) }
}

/// A differential run of the simulator (mutated or not) against a second,
/// unmutated simulator standing in for the kernel.
struct SimPair {
    let profile: Profile
    let engine: FuzzEngine

    init(_ profile: String = "tsm-v5", mutations: Set<SimMutation> = [], vfio: Bool = true, reference: Bool = true) {
        self.profile = Fixtures.profile(profile)
        let subject = FuzzSide(backend: try! SimulatedKernel(profile: self.profile, mutations: mutations), label: "sim")
        let ref = reference ? FuzzSide(backend: try! SimulatedKernel(profile: self.profile), label: "kernel") : nil
        let vocabulary = try! Vocabulary(profile: self.profile, vfio: vfio)
        engine = FuzzEngine(vocabulary, profile: profile, subject: subject, reference: ref)
    }

    /// Findings of a run from `seed`, stopping at the first.
    func findings(seed: UInt64, calls: Int, max: Int = 1) -> ([FuzzFinding], FuzzStats) {
        var limits = FuzzLimits(calls: calls)
        limits.maxFindings = max
        var out: [FuzzFinding] = []
        let stats = try! engine.run(seed: seed, limits: limits) { out.append($0) }
        return (out, stats)
    }

    /// The finding's case, read back through the case-file reader and run on
    /// a simulator with `mutations`: the verdicts.
    func replay(_ f: FuzzFinding, mutations: Set<SimMutation>) throws -> [CaseResult] {
        let text = JSONValue.array([f.caseJSON]).rendered()
        let cases = try CaseFile.parse(Data(text.utf8), name: "findings.json", profiles: [profile])
        let runner = CaseRunner(backend: try SimulatedKernel(profile: profile, mutations: mutations), profile: profile)
        return runner.run(cases)
    }
}
