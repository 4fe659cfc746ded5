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

/// Case files are hostile input: every refusal is one line naming the case and the key.
@Suite struct CaseFileValidation {
    func refused(_ json: String, _ want: [String], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let msg = try #require(try fileError(json), "no error for \(json)", sourceLocation: sourceLocation)
        for w in want { #expect(msg.contains(w), "\(msg)", sourceLocation: sourceLocation) }
        #expect(!msg.contains("\n"), "\(msg)", sourceLocation: sourceLocation)
    }

    func accepted(_ json: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> [ConformanceCase] {
        try CaseFile.parse(Data(json.utf8), name: "t.json", profiles: try loadAll())
    }

    func one(_ fields: String, ioctl: String = "IOMMU_IOAS_ALLOC", extra: String = "") -> String {
        #"[{"id":"c1","ioctl":"\#(ioctl)","fields":{\#(fields)},"expect":"OK"\#(extra)}]"#
    }

    @Test func numbersMustFitTheirField() throws {
        // out_max_pasid_log2 is a __u8, flags a __u32.
        try refused(one(#""out_max_pasid_log2": 300"#, ioctl: "IOMMU_GET_HW_INFO"),
                    ["case c1", "field out_max_pasid_log2", "300", "1-byte", "0...255"])
        #expect(try accepted(one(#""out_max_pasid_log2": 255"#, ioctl: "IOMMU_GET_HW_INFO")).count == 1)
        try refused(one(#""flags": 4294967296"#), ["case c1", "field flags", "4294967296", "0...4294967295"])
        try refused(one(#""flags": "0x100000000""#), ["case c1", "field flags", "does not fit"])
        try refused(one(#""flags": 18446744073709551616"#), ["case c1", "field flags", "does not fit"])
        let max = try accepted(one(#""flags": 4294967295"#))
        #expect(max.first?.call.fields["flags"] == FieldValue.int(0xffff_ffff))
    }

    @Test func fractionsAreRefused() throws {
        for v in ["1.5", "1.0", "1e3", "-0.5"] {
            try refused(one(#""flags": \#(v)"#), ["case c1", "field flags", "\(v) is not a whole number"])
        }
    }

    @Test func negativeNumbersOnlyForFdFields() throws {
        try refused(one(#""flags": -1"#), ["case c1", "field flags", "-1 is negative", "unsigned"])
        let fd = try accepted(one(#""fd": -1, "ioas_id": 0"#, ioctl: "IOMMU_IOAS_MAP_FILE"))
        #expect(fd.first?.call.fields["fd"] == FieldValue.neg(-1))
        try refused(one(#""fd": -2147483649"#, ioctl: "IOMMU_IOAS_MAP_FILE"), ["case c1", "field fd", "does not fit"])
    }

    @Test func sizesAndByteCountsAreBounded() throws {
        let big = "4611686018427387904"  // 2^62: once an allocation abort
        try refused(one("", extra: #","size":\#(big)"#), ["case c1", "\"size\"", big, "__u32 size word"])
        try refused(one("", extra: #","size":4294967296"#), ["case c1", "\"size\"", "__u32 size word"])
        try refused(one("", extra: #","size":2000000"#), ["case c1", "\"size\" 2000000", "1 MiB"])
        try refused(one("", extra: #","size":-4"#), ["case c1", "\"size\" must be a non-negative whole number"])
        try refused(one("", extra: #","size":8.5"#), ["case c1", "\"size\" must be a non-negative whole number"])
        let huge = String(repeating: "00", count: CaseFile.maxBytes + 1)
        try refused(one("", extra: #","tail":"\#(huge)""#), ["case c1", "\"tail\" has 1048577 bytes", "1 MiB"])
        try refused(one("", extra: #","payload":"\#(huge)""#), ["case c1", "\"payload\" has 1048577 bytes"])
        let buf = #"[{"id":"c1","ioctl":"IOMMU_IOAS_MAP","fields":{"user_va":{"buffer":2000000}},"expect":"OK"}]"#
        try refused(buf, ["case c1", "field user_va", "buffer"])
        #expect(try accepted(one("", extra: #","size":1048576"#)).first?.call.size == 1 << 20)
    }

    @Test func theCompilerRefusesHugeCallsToo() throws {
        var call = Call("IOMMU_IOAS_ALLOC")
        call.size = 1 << 62
        #expect(throws: InputError.self) { try Compiler.compile(call, profile: try profile("linux-7.2"), context: "t") }
    }

    @Test func negativeSuccessIsNoExpectation() throws {
        try refused(one("", extra: "").replacingOccurrences(of: #""OK""#, with: #""OK(-5)""#),
                    ["case c1", "unknown expectation \"OK(-5)\""])
        #expect(Outcome("OK(-5)") == nil)
        #expect(Outcome("OK(+5)") == nil)
        #expect(Outcome("OK(5)") == .okValue(5))
    }

    @Test func idsAreRestricted() throws {
        for bad in ["a#b", "a\\nb", "a b", "a\\u0001b", "é"] {
            let json = #"[{"id":"\#(bad)","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK"}]"#
            try refused(json, ["case #1: id", "may use only letters, digits and _ . : -"])
        }
        #expect(try accepted(#"[{"id":"ok.ID_1:x-y","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK"}]"#).count == 1)
    }

    @Test func valuesGoOnlyWhereTheyFit() throws {
        try refused(one(#""flags": {"buffer": 8}"#), ["case c1", "field flags", "not a pointer field"])
        #expect(try accepted(one(#""data": {"buffer": 8}"#, ioctl: "IOMMU_HWPT_GET_DIRTY_BITMAP")).count == 1)
        // {"bytes": hex}: user memory with contents, for pointer fields only, as hex.
        #expect(try accepted(one(#""data": {"bytes": "01 02"}"#, ioctl: "IOMMU_HWPT_GET_DIRTY_BITMAP")).count == 1)
        try refused(one(#""flags": {"bytes": "01"}"#), ["case c1", "field flags", "not a pointer field"])
        try refused(one(#""data": {"bytes": "0x1g"}"#, ioctl: "IOMMU_HWPT_GET_DIRTY_BITMAP"), ["case c1", "hex"])
        try refused(one(#""flags": "NO_SUCH_CONSTANT""#), ["case c1", "field flags", "NO_SUCH_CONSTANT"])
        try refused(one(#""flags": "|""#), ["case c1", "field flags", "empty term"])
        try refused(one(#""flags": true"#), ["case c1", "field flags", "value must be"])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK","profiles":["tsm-v9"]}]"#,
                    ["case c1", "unknown profile \"tsm-v9\""])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":{"tsm-v9":"OK"}}]"#,
                    ["case c1", "\"expect\" names unknown profile \"tsm-v9\""])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK","requires":["root"]}]"#,
                    ["case c1", "unknown requirement \"root\""])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_DESTROY","fields":{"id":"$vdevice2"},"expect":"OK"}]"#,
                    ["case c1", "field id", "$vdevice2 is defined by neither the setup nor an earlier call"])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_DESTROY","consumes":"ioas","expect":"OK"}]"#,
                    ["case c1", "\"consumes\""])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK","before":[{"ioctl":"IOMMU_NOPE","expect":"OK"}]}]"#,
                    ["case c1", "before #1: unknown ioctl IOMMU_NOPE"])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK","before":[{"ioctl":"IOMMU_IOAS_ALLOC"}]}]"#,
                    ["case c1", "before #1: missing \"expect\""])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK","outputs":[{"field":"nope","kind":"object"}]}]"#,
                    ["case c1", "has no field 'nope'"])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK","outputs":[{"kind":"thing"}]}]"#,
                    ["case c1", "\"kind\""])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK"}, {"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK"}]"#,
                    ["case c1: duplicate id"])
        try refused(#"[{"id":"c1","ioctl":"IOMMU_IOAS_ALLOC","expect":"OK","expect":"EINVAL"}]"#,
                    ["not valid JSON", "key \"expect\" given twice", "line 1"])
        try refused(String(repeating: "[", count: 100), ["not valid JSON", "nesting"])
    }
}

/// The keys the project's own hand-written cases use, end to end on the simulator.
@Suite struct CaseFileFormat {
    static let file = #"""
    [
      {"id": "fmt.destroy_twice", "summary": "destroy twice", "setup": ["ioas"],
       "before": [{"ioctl": "IOMMU_DESTROY", "fields": {"id": "$ioas"}, "expect": "OK", "consumes": "ioas"}],
       "ioctl": "IOMMU_DESTROY", "fields": {"id": "$ioas"}, "expect": "ENOENT", "reference": "contract §2.9"},
      {"id": "fmt.second_vdevice", "profiles": ["tsm-v5"], "setup": ["bound_vdevice"],
       "before": [{"ioctl": "IOMMU_DESTROY", "fields": {"id": "$pci_vdevice"}, "expect": "OK", "consumes": "pci_vdevice"},
                  {"ioctl": "IOMMU_VDEVICE_ALLOC", "fields": {"viommu_id": "$pci_viommu", "dev_id": "$pci_idev", "virt_id": 66},
                   "expect": "OK", "outputs": [{"field": "out_vdevice_id", "kind": "object", "name": "vdevice2"}]}],
       "ioctl": "IOMMU_VDEVICE_TSM_REQ", "fields": {"vdevice_id": "$vdevice2", "scope": "IOMMU_VDEVICE_TSM_REQ_PCI_INFO"},
       "expect": "ENXIO"},
      {"id": "fmt.dma_buf", "setup": ["pci_idev"], "ioctl": "VFIO_DEVICE_FEATURE", "target": "vfio",
       "fields": {"flags": "VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF"},
       "payload": "00000000 00000000 00000000 01000000 00000000 00000000 00100000 00000000",
       "expect": "OK(*)", "outputs": [{"kind": "returned_fd"}]},
      {"id": "fmt.per_profile", "ioctl": "IOMMU_VDEVICE_TSM_OP", "fields": {"vdevice_id": 0, "flags": 1},
       "expect": {"tsm-v5": "EOPNOTSUPP", "tsm-post-v5": "EOPNOTSUPP", "*": "EOPNOTSUPP"}, "profiles": ["tsm-v5", "tsm-post-v5"]},
      {"id": "fmt.null", "ioctl": "IOMMU_IOAS_ALLOC", "null": true, "expect": "EFAULT", "requires": ["CAP_SYS_RESOURCE"]}
    ]
    """#

    @Test func everyKeyRunsOnTheSimulator() throws {
        let cases = try CaseFile.parse(Data(Self.file.utf8), name: "fmt.json", profiles: try loadAll())
        #expect(cases.map(\.id) == ["fmt.destroy_twice", "fmt.second_vdevice", "fmt.dma_buf", "fmt.per_profile", "fmt.null"])
        #expect(cases[0].summary == "destroy twice" && cases[0].reference == "contract §2.9")
        #expect(cases[2].call.target == .vfio && cases[2].call.payload.count == 32)
        #expect(cases[3].requirements.profiles == ["tsm-v5", "tsm-post-v5"])
        #expect(cases[4].requirements.capabilities == ["CAP_SYS_RESOURCE"] && cases[4].call.nullArg)
        let p = try profile("tsm-v5")
        let results = CaseRunner(backend: try SimulatedKernel(profile: p), profile: p).run(cases)
        for r in results { #expect(r.status == .pass, "\(r.id): \(r.reason)") }
    }

    /// The reproducers of kernel bugs (kept out of the catalogue: a live run would WARN or leak) still hold
    /// on the simulator, so its rules for them stay pinned.
    @Test func kernelFindingsPassOnTheSimulator() throws {
        let dir = fixtures() + "/kernel/findings"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }
        #expect(files.count >= 2)
        let p = try profile("linux-7.2")
        for f in files {
            let cases = try CaseFile.load(path: dir + "/" + f, profiles: try loadAll())
            let results = CaseRunner(backend: try SimulatedKernel(profile: p), profile: p).run(cases)
            #expect(!results.isEmpty, "\(f)")
            for r in results { #expect(r.status == .pass, "\(f): \(r.id): \(r.reason)") }
        }
    }

    @Test func expectationsPerProfile() throws {
        let json = #"[{"id":"pp","ioctl":"IOMMU_IOAS_ALLOC","fields":{"flags":1},"expect":{"linux-7.2":"EOPNOTSUPP","*":"EINVAL"}}]"#
        let c = try #require(try CaseFile.parse(Data(json.utf8), name: "t.json", profiles: try loadAll()).first)
        #expect(c.expected(for: "linux-7.2") == .EOPNOTSUPP)
        #expect(c.expected(for: "tsm-v5") == .EINVAL)
        // Without "*", the case applies to the profiles it names only.
        let only = #"[{"id":"pp","ioctl":"IOMMU_IOAS_ALLOC","expect":{"tsm-v5":"OK"}}]"#
        let o = try #require(try CaseFile.parse(Data(only.utf8), name: "t.json", profiles: try loadAll()).first)
        #expect(o.requirements.profiles == ["tsm-v5"])
        #expect(try CaseFile.parse(Data(only.utf8), name: "t.json", profiles: [try profile("linux-7.2")],
                                   knownProfiles: Set(allProfiles)).isEmpty)
    }

    /// The project's own cases are case files: each loads on every profile it names.
    @Test func handwrittenCasesAreCaseFiles() throws {
        let dir = fixtures() + "/cases/handwritten"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.count >= 7)
        var ids: [String] = []
        for f in files { ids += try CaseFile.load(path: dir + "/" + f, profiles: try loadAll()).map(\.id) }
        #expect(ids.count == 286)  // an id may recur for other profiles (v2 and v5 TSM_OP)
        var inCatalogue: Set<String> = []
        for n in allProfiles { inCatalogue.formUnion(try Catalogue.cases(for: try profile(n)).map(\.id)) }
        for id in ids { #expect(inCatalogue.contains(id), "\(id) is in no profile's catalogue") }
    }
}
