import Foundation
import Testing
import Layout
import Cases
import SimulatedBackend

let allProfiles = ["linux-6.12", "linux-7.2", "tsm-v2", "tsm-v5", "tsm-post-v5", "tsm-vfio-rfc"]

func fixtures() -> String {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<4 {
        if FileManager.default.fileExists(atPath: dir.path + "/fixtures/profiles") { return dir.path + "/fixtures" }
        dir = dir.deletingLastPathComponent()
    }
    return "fixtures"
}

func profile(_ name: String) throws -> Profile {
    try ProfileStore(directory: fixtures() + "/profiles").resolved(name)
}

func runCatalogue(_ name: String, mutations: Set<SimMutation> = []) throws -> [CaseResult] {
    let p = try profile(name)
    let runner = CaseRunner(backend: try SimulatedKernel(profile: p, mutations: mutations), profile: p)
    return runner.run(try Catalogue.cases(for: p))
}

@Suite struct CatalogueOnSimulator {
    @Test(arguments: allProfiles)
    func catalogueUnmodifiedPasses(_ name: String) throws {
        let results = try runCatalogue(name)
        let failed = results.filter { $0.status == .fail }
        for f in failed.prefix(40) { Issue.record("\(name) \(f.id): \(f.reason)") }
        #expect(failed.isEmpty, "\(failed.count) of \(results.count) failed on \(name)")
        #expect(results.filter { $0.status == .skip }.isEmpty)
    }
}
