import Foundation
import Testing
import Layout
import Cases
import SimulatedBackend

func loadAll() throws -> [Profile] { try allProfiles.map { try profile($0) } }

func fileError(_ json: String) throws -> String? {
    do { _ = try CaseFile.parse(Data(json.utf8), name: "t.json", profiles: try loadAll()); return nil }
    catch let e as InputError { return e.message }
}

@Suite struct CaseFiles {
    @Test func exampleRunsAndReportsPerCase() throws {
        let cases = try CaseFile.load(path: fixtures() + "/cases/example.json", profiles: try loadAll())
        #expect(cases.count >= 6)
        let p = try profile("tsm-v5")
        let results = CaseRunner(backend: try SimulatedKernel(profile: p), profile: p).run(cases)
        #expect(results.map(\.id) == cases.map(\.id))
        for r in results { #expect(r.status == .pass, "\(r.id): \(r.reason)") }
        // On 7.2 the TSM cases skip, the rest pass.
        let old = try profile("linux-7.2")
        let r72 = CaseRunner(backend: try SimulatedKernel(profile: old), profile: old).run(cases)
        #expect(r72.filter { $0.status == .skip }.count == 2)
        #expect(r72.filter { $0.status == .fail }.isEmpty)
    }

    @Test func badFilesGiveOneLineErrors() throws {
        let unreadable = #"/nonexistent/x.json"#
        #expect(throws: InputError.self) { try CaseFile.load(path: unreadable, profiles: []) }
        let cases: [(String, String)] = [
            ("[{", "not valid JSON"),
            (#"{"id":"a"}"#, "expected a JSON array"),
            (#"[{"id":"a","ioctl":"IOMMU_NOPE","expect":"OK"}]"#, "case a: unknown ioctl IOMMU_NOPE"),
            (#"[{"id":"b","ioctl":"IOMMU_IOAS_ALLOC","fields":{"nope":1},"expect":"OK"}]"#, "case b: IOMMU_IOAS_ALLOC has no field 'nope'"),
            (#"[{"id":"c","ioctl":"IOMMU_IOAS_ALLOC","expect":"EWHAT"}]"#, "case c: unknown expectation"),
            (#"[{"id":"d","ioctl":"IOMMU_IOAS_ALLOC","setup":["bogus"],"expect":"OK"}]"#, "case d: unknown setup \"bogus\""),
            (#"[{"id":"e","ioctl":"IOMMU_DESTROY","fields":{"id":"$nothing"},"expect":"OK"}]"#, "case e: field id: unknown reference $nothing"),
            (#"[{"id":"f","ioctl":"IOMMU_DESTROY","fields":{"id":"$ioas"},"expect":"OK"}]"#, "case f: field id: $ioas needs setup \"ioas\""),
            (#"[{"id":"g","ioctl":"IOMMU_DESTROY","tail":"zz","expect":"OK"}]"#, "case g: \"tail\" must be a hex string"),
        ]
        for (json, want) in cases {
            let msg = try #require(try fileError(json), "no error for \(json)")
            #expect(msg.contains(want), "\(msg)")
            #expect(!msg.contains("\n"))
        }
    }
}

@Suite struct Explaining {
    @Test func rendersRequestBytesSetupExpectationAndReference() throws {
        let profiles = try loadAll()
        let v5 = profiles.first { $0.name == "tsm-v5" }!
        let text = try Explain.render(id: "iommufd.vdevice_tsm_req.reserved_nonzero", profile: v5, others: profiles)
        #expect(text.contains("0x3b96"))
        #expect(text.contains("__reserved"))
        #expect(text.contains("01 00 00 00"))
        #expect(text.contains("bound_vdevice"))
        #expect(text.contains("tsm-v5: EOPNOTSUPP"))
        #expect(text.contains("linux-7.2: SKIP"))
        #expect(text.contains("§10"))
        #expect(throws: InputError.self) { try Explain.render(id: "no.such.case", profile: v5) }
    }
}

@Suite struct Throughput {
    @Test func benchmarkRuns() throws {
        let p = try profile("tsm-v5")
        let b = try CaseRunner.benchmark(backend: SimulatedKernel(profile: p), profile: p, rounds: 1)
        #expect(try b.cases == Catalogue.cases(for: p).count)
    }
}

@Suite struct Report {
    @Test func printSummary() throws {
        guard ProcessInfo.processInfo.environment["CASES_REPORT"] != nil else { return }
        for n in allProfiles {
            let r = try runCatalogue(n)
            print("COUNT \(n) \(r.count) pass \(r.filter { $0.status == .pass }.count)")
        }
        let profiles = try loadAll()
        print(try Explain.render(id: "iommufd.vdevice_tsm_req.reserved_nonzero", profile: profiles[2], others: profiles))
        print(try Explain.render(id: "iommufd.hwpt_alloc.size.tail_nonzero_3", profile: profiles[0], others: profiles))
        let p = try profile("tsm-v5")
        let b = try CaseRunner.benchmark(backend: SimulatedKernel(profile: p), profile: p, rounds: 5)
        print("BENCH \(b)")
    }
}
