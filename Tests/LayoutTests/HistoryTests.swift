import Foundation
import Testing
@testable import Layout
@testable import Report

/// `abi --history`: each kind of change, found from profiles alone, with a
/// twin that must not be reported; the exit status counts only changes
/// between released kernels.
struct HistoryTests {
    /// A store holding linux-7.2 as `a` and its edited copy as `b`.
    static func store(released: Bool = true, _ edit: (inout Profile) -> Void) throws -> (ProfileStore, String) {
        let dir = try Repo.tempDir()
        var a = try Repo.store().resolved("linux-7.2")
        a.name = "a"
        var b = a
        b.name = "b"; b.released = released
        edit(&b)
        for p in [a, b] {
            try ProfileDump.json(p).write(toFile: "\(dir)/\(p.name).json", atomically: true, encoding: .utf8)
        }
        return (try ProfileStore(directory: dir), dir)
    }

    static func history(released: Bool = true, _ edit: (inout Profile) -> Void) throws -> AbiHistory {
        let (s, dir) = try store(released: released, edit)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try AbiHistory.run(store: s, names: ["a", "b"])
    }

    static func edit(_ p: inout Profile, _ name: String, _ f: (inout ProfileStruct) -> Void) {
        guard let i = p.structs.firstIndex(where: { $0.name == name }) else { return }
        f(&p.structs[i])
    }

    func kinds(_ h: AbiHistory) -> [AbiHistory.Kind] { h.steps.flatMap(\.entries).map(\.kind) }

    @Test func identicalProfilesHaveNoHistory() throws {
        let h = try Self.history { _ in }
        #expect(h.steps.count == 1 && h.steps[0].entries.isEmpty)
        #expect(h.exitCode == 0)
    }

    @Test func anAppendedMemberIsCompatibleGrowth() throws {
        let h = try Self.history { p in
            Self.edit(&p, "iommu_ioas_alloc") { s in
                s.lp64.size = 16; s.lp64.fields.append(FieldLayout(name: "out_extra", offset: 12, size: 4))
            }
        }
        #expect(kinds(h) == [.grown])
        #expect(h.steps[0].entries[0].detail.contains("appending out_extra"))
        #expect(h.exitCode == 0)
    }

    @Test func aMovedMemberBetweenReleasesIsExitOne() throws {
        let h = try Self.history { p in
            Self.edit(&p, "iommu_ioas_map") { s in
                s.lp64.fields[1].offset = 8; s.ilp32.fields[1].offset = 8
            }
        }
        let e = try #require(h.steps[0].entries.first)
        #expect(e.kind == .changedIncompatibly && e.name == "iommu_ioas_map" && e.abis.isEmpty)
        #expect(h.exitCode == 1)
    }

    @Test func theSameBreakInAPostedSeriesIsReportedButExitZero() throws {
        let h = try Self.history(released: false) { p in
            Self.edit(&p, "iommu_ioas_map") { s in s.lp64.fields[1].offset = 8 }
        }
        #expect(kinds(h) == [.changedIncompatibly])
        #expect(h.steps[0].entries[0].abis == ["x86_64"])
        #expect(h.exitCode == 0)
    }

    @Test func aNumberGivenToAnotherIoctlIsReuse() throws {
        let h = try Self.history { p in
            let i = p.ioctls.firstIndex { $0.name == "IOMMU_HW_QUEUE_ALLOC" }!
            p.ioctls[i].name = "IOMMU_OTHER_ALLOC"
        }
        #expect(Set(kinds(h)) == [.added, .removed, .ioctlNumberReused])
        #expect(h.exitCode == 1)
        // Twin: the same ioctl renumbered to a free nr reuses nothing.
        let twin = try Self.history { p in
            let i = p.ioctls.firstIndex { $0.name == "IOMMU_HW_QUEUE_ALLOC" }!
            p.ioctls[i].nr = 0x9f
        }
        #expect(kinds(twin) == [.changedIncompatibly])
    }

    @Test func aFlagBitThatMeansSomethingElseIsReuse() throws {
        let h = try Self.history { p in
            p.enums["IOMMU_HWPT_ALLOC_PASID"] = nil
            p.enums["IOMMU_HWPT_ALLOC_OTHER"] = 8
            Self.edit(&p, "iommu_hwpt_alloc") { s in
                s.flagBits = ["flags": ["IOMMU_HWPT_ALLOC_NEST_PARENT", "IOMMU_HWPT_ALLOC_DIRTY_TRACKING",
                                        "IOMMU_HWPT_FAULT_ID_VALID", "IOMMU_HWPT_ALLOC_OTHER"]]
            }
        }
        let reuse = h.steps[0].entries.filter { $0.kind == .flagBitReused }
        #expect(reuse.count == 1 && reuse[0].detail.contains("meant IOMMU_HWPT_ALLOC_PASID"))
        #expect(h.exitCode == 1)
        // Twin: a new flag on a bit nobody used is growth.
        let twin = try Self.history { p in
            p.enums["IOMMU_HWPT_ALLOC_NEW"] = 16
            Self.edit(&p, "iommu_hwpt_alloc") { s in s.flagBits?["flags"]?.append("IOMMU_HWPT_ALLOC_NEW") }
        }
        #expect(Set(kinds(twin)) == [.added, .grown])
        #expect(twin.exitCode == 0)
    }

    @Test func badListsAreBadInput() throws {
        let s = try Repo.store()
        #expect(throws: InputError.self) { try AbiHistory.run(store: s, names: ["linux-7.2"]) }
        #expect(throws: InputError.self) { try AbiHistory.run(store: s, names: ["linux-7.2", "linux-0.1"]) }
        #expect(throws: InputError.self) { try AbiHistory.run(store: s, names: ["linux-7.2", "linux-7.2"]) }
    }

    /// What 7.2 added to 6.12, and that it broke nothing.
    @Test func from612To72() throws {
        let h = try AbiHistory.run(store: try Repo.store(), names: ["linux-6.12", "linux-7.2"])
        let added = h.steps[0].entries.filter { $0.kind == .added && $0.item == .ioctl }.map(\.name)
        #expect(added == ["IOMMU_IOAS_MAP_FILE", "IOMMU_VIOMMU_ALLOC", "IOMMU_VDEVICE_ALLOC",
                          "IOMMU_IOAS_CHANGE_PROCESS", "IOMMU_VEVENTQ_ALLOC", "IOMMU_HW_QUEUE_ALLOC"])
        #expect(h.steps[0].incompatible.isEmpty, "\(h.steps[0].incompatible.map(\.detail))")
        #expect(h.steps[0].betweenReleases && h.exitCode == 0)
        let grownStructs = h.steps[0].entries.filter { $0.kind == .grown && $0.item == .struct && $0.field == nil }
        let grown = Set(grownStructs.map(\.name))
        #expect(grown == ["vfio_device_bind_iommufd", "vfio_device_attach_iommufd_pt", "vfio_device_detach_iommufd_pt"])
    }

    @Test(.enabled(if: Validators.available, "needs python3 jsonschema"))
    func jsonValidatesAndTheSchemaBites() throws {
        let h = try AbiHistory.run(store: try Repo.store(), names: ["linux-6.12", "linux-7.2", "tsm-v2", "tsm-v5"])
        let json = Output.json(HistoryReportRenderer(h).jsonObject())
        #expect(try Validators.check(json, schema: "history.schema.json") == nil)
        let bad = json.replacingOccurrences(of: "\"ioctl-number-reused\"", with: "\"number-reused\"")
        #expect(bad != json)
        #expect(try Validators.check(bad, schema: "history.schema.json") != nil)
    }
}
