import Foundation
import Testing
@testable import Layout

/// Every rule has a synthetic patch that must trip it and a twin that must
/// not (fixtures/patches/rules/manifest.json says which is which).
struct ManifestEntry: Decodable, Sendable, CustomTestStringConvertible {
    let patch: String
    let trips: [String]
    let mustNotTrip: [String]
    let severity: String?
    let clean: Bool?
    let why: String
    var testDescription: String { patch }

    static func load() -> [ManifestEntry] {
        let path = Repo.fixtures + "/patches/rules/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return (try? d.decode([ManifestEntry].self, from: data)) ?? []
    }
}

@Suite("design rules on synthetic patches", .enabled(if: Repo.haveHeaders, Comment(rawValue: Repo.noHeaders)))
struct RuleFixtureTests {
    /// A handful of ABIs that disagree with each other (i386 and m68k
    /// alignment, 32-bit pointers, big-endian) keeps the run short.
    static let abis = ["x86_64", "i386", "arm-eabi", "powerpc", "s390x"]

    static func check(_ patch: String) throws -> AbiCheck.Report {
        try AbiCheck.run(.init(headers: Repo.headers, abis: abis, patches: [Repo.fixtures + "/patches/rules/" + patch], fixtures: Repo.fixtures))
    }

    @Test func manifestCoversEveryStaticRule() {
        let entries = ManifestEntry.load()
        let tripped = Set(entries.flatMap(\.trips))
        for rule in ["implicit-hole", "trailing-padding", "unaligned-u64", "pointer-member", "packed-struct",
                     "non-fixed-width-member", "size-not-multiple-of-8", "first-member-not-size", "unsigned-fd",
                     "ioctl-number-reuse", "kernel-only-macro", "abi-layout-differs", "struct-changed-incompatibly",
                     "ioctl-number-changed"] {
            #expect(tripped.contains(rule), "no fixture trips \(rule)")
            #expect(entries.contains { $0.mustNotTrip.contains(rule) }, "no twin for \(rule)")
        }
    }

    @Test(arguments: ManifestEntry.load())
    func entry(_ e: ManifestEntry) throws {
        let report = try Self.check(e.patch)
        let rules = Set(report.findings.map(\.rule))
        for r in e.trips {
            let hits = report.findings.filter { $0.rule == r }
            #expect(!hits.isEmpty, "\(e.patch) should trip \(r): \(e.why)")
            if e.severity == "warning" { #expect(hits.allSatisfy { $0.severity == .warning }, "\(e.patch): \(r) should be a warning") }
            if e.severity == "error", e.trips.first == r { #expect(hits.contains { $0.severity == .error }, "\(e.patch): \(r) should be an error") }
        }
        for r in e.mustNotTrip { #expect(!rules.contains(r), "\(e.patch) must not trip \(r): \(report.findings.filter { $0.rule == r }.map(\.message))") }
        if e.clean == true { #expect(report.errors == 0, "\(e.patch): \(report.findings.filter { $0.severity == .error }.map { "\($0.rule): \($0.message)" })") }
        // Findings point at the header under test.
        for f in report.findings where e.trips.contains(f.rule) && f.rule != "ioctl-number-reuse" {
            #expect(f.location?.hasPrefix("linux/") == true, "\(f.rule) has no file:line")
        }
    }

    @Test func compatibleChangesAreReportedAsSuch() throws {
        let ext = try Self.check("struct-changed-incompatibly.twin-extended.patch")
        #expect(ext.findings.contains { $0.rule == "struct-extended" && $0.struct == "iommu_hwpt_alloc" })
        let res = try Self.check("struct-changed-incompatibly.twin-reserved.patch")
        #expect(res.findings.contains { $0.rule == "reserved-put-to-use" && $0.struct == "iommu_hwpt_set_dirty_tracking" })
        #expect(ext.errors == 0 && res.errors == 0)
    }

    /// The posted series, restated as fixtures, against their profiles.
    @Test func tsmSeriesMatchTheirProfiles() throws {
        func run(_ p: String, profile: String) throws -> AbiCheck.Report {
            try AbiCheck.run(.init(headers: Repo.headers, abis: ["x86_64", "i386"], profile: profile,
                                   patches: [Repo.fixtures + "/patches/" + p], fixtures: Repo.fixtures))
        }
        let v5 = try run("tsm-v5-series.mbox", profile: "tsm-v5")
        #expect(v5.profileMatches == ["tsm-v5"])
        #expect(v5.errors == 0)
        #expect(v5.minSizes.contains { $0.ioctl == "IOMMU_VDEVICE_TSM_REQ" && $0.min == 40 })
        // 0x96 was the v2 guest request: a posting, so a warning.
        #expect(v5.findings.contains { $0.rule == "ioctl-number-reuse" && $0.severity == .warning && $0.message.contains("tsm-v2") })
        let post = try run("tsm-post-v5-series.mbox", profile: "tsm-post-v5")
        #expect(post.profileMatches == ["tsm-post-v5"] && post.errors == 0)
        let v2 = try run("guest-request-v2-hole.patch", profile: "tsm-v2")
        #expect(v2.profileMatches == ["tsm-v2"])
        #expect(v2.findings.contains { $0.rule == "implicit-hole" && $0.struct == "iommu_vdevice_tsm_guest_request" && $0.field == "req_uptr" })
        #expect(v2.findings.contains { $0.rule == "kernel-only-macro" && $0.field == "IOMMU_VIOMMU_KVM_FD" })
        // v5 checked against the v2 profile names what differs.
        let cross = try run("tsm-v5-series.mbox", profile: "tsm-v2")
        #expect(cross.exitCode == 1)
        #expect(cross.findings.contains { $0.rule == "profile-mismatch" && $0.message.contains("IOMMU_VDEVICE_TSM_GUEST_REQUEST") })
    }

    /// The patch lane's own TSM_OP base: on the 7.2 headers it adds exactly
    /// what tsm-v5 has of TSM_OP, so against tsm-v5 only TSM_REQ is missing.
    @Test(.enabled(if: Repo.haveHeaders, "needs the Linux 7.2 headers: run `make deps`"))
    func prerequisiteGivesTheV5TsmOp() throws {
        let r = try AbiCheck.run(.init(headers: Repo.headers, abis: ["x86_64", "i386"], profile: "tsm-v5",
                                       patches: [Repo.fixtures + "/kernel/tsm-v5-prereq.patch"], fixtures: Repo.fixtures))
        #expect(r.minSizes.map { "\($0.ioctl) \($0.min ?? -1)" } == ["IOMMU_VDEVICE_TSM_OP 16"])
        let mismatches = r.findings.filter { $0.rule == "profile-mismatch" }
        #expect(!mismatches.isEmpty && mismatches.allSatisfy { $0.message.contains("TSM_REQ") || $0.message.contains("tsm_req") })
        #expect(!r.findings.contains { $0.severity == .error && $0.rule != "profile-mismatch" })
    }

    @Test func garbageAndNonApplyingPatchesAreBadInput() throws {
        let dir = try Repo.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "hello, this is not a patch\n".write(toFile: dir + "/garbage.patch", atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) {
            try AbiCheck.run(.init(headers: Repo.headers, abis: ["x86_64"], patches: [dir + "/garbage.patch"], fixtures: Repo.fixtures))
        }
        let v5 = try String(contentsOfFile: Repo.fixtures + "/patches/tsm-v5-series.mbox", encoding: .utf8)
        // Patch 2/2 alone: its context needs TSM_OP from 1/2.
        let second = String(v5[v5.range(of: "\nFrom ", options: .backwards)!.upperBound...])
        try ("From " + second).write(toFile: dir + "/second.patch", atomically: true, encoding: .utf8)
        let e = #expect(throws: InputError.self) {
            try AbiCheck.run(.init(headers: Repo.headers, abis: ["x86_64"], patches: [dir + "/second.patch"], fixtures: Repo.fixtures))
        }
        #expect(e?.message.contains("does not apply") == true)
    }
}
