import Foundation
import Testing
import Layout
import Cases
import SimulatedBackend

/// Each v5 TSM_REQ/TSM_OP rule has a named case that must fail when the
/// simulator drops exactly that rule.
let namedMutationCases: [SimMutation: [String]] = [
    .tsmReqSkipReserved: ["iommufd.vdevice_tsm_req.reserved_nonzero"],
    .tsmReqSkipScopeRange: ["iommufd.vdevice_tsm_req.scope_4", "iommufd.vdevice_tsm_req.scope_ffffffff"],
    .tsmReqSkipVdeviceLookup: ["iommufd.vdevice_tsm_req.unknown_vdevice"],
    .tsmReqSkipPciCheck: ["iommufd.vdevice_tsm_req.mock_vdevice"],
    .tsmReqAllowDebugScopes: ["iommufd.vdevice_tsm_req.debug_read", "iommufd.vdevice_tsm_req.debug_write"],
    .tsmReqSkipBoundCheck: ["iommufd.vdevice_tsm_req.unbound"],
    .tsmOpSkipFlagsCheck: ["iommufd.vdevice_tsm_op.flags_nonzero"],
    .tsmOpSkipKvmCheck: ["iommufd.vdevice_tsm_op.no_kvm"],
    .tsmOpSkipTypeCheck: ["iommufd.vdevice_tsm_op.type_3"],
    .skipTailCheck: ["iommufd.vdevice_tsm_req.size.tail_nonzero_0"],
    .skipMinSizeCheck: ["iommufd.vdevice_tsm_req.size.min_minus_1"],
    .skipReservedChecks: ["iommufd.ioas_map.reserved.__reserved.low"],
    .skipFlagsChecks: ["iommufd.ioas_map.flags.flags.bit3"],
    .destroyIgnoresUsers: ["iommufd.destroy.busy.viommu_held_by_vdevice"],
]

@Suite struct Mutations {
    @Test(arguments: SimMutation.allCases)
    func everyMutationIsCaught(_ m: SimMutation) throws {
        let results = try runCatalogue("tsm-v5", mutations: [m])
        let failed = Set(results.filter { $0.status == .fail }.map(\.id))
        #expect(!failed.isEmpty, "no case fails under \(m)")
        for id in namedMutationCases[m] ?? [] {
            #expect(results.contains { $0.id == id }, "\(id) missing from the catalogue")
            #expect(failed.contains(id), "\(id) does not fail under \(m)")
        }
    }

    @Test func everyMutationHasANamedCase() {
        for m in SimMutation.allCases { #expect(namedMutationCases[m] != nil, "no named case for \(m)") }
    }
}

@Suite struct Counts {
    @Test func tsmV5HasAtLeastAThousand() throws {
        #expect(Catalogue.cases(for: try profile("tsm-v5")).count >= 1000)
    }

    @Test(arguments: allProfiles)
    func idsAreUniqueAndDotted(_ name: String) throws {
        let cases = Catalogue.cases(for: try profile(name))
        #expect(Set(cases.map(\.id)).count == cases.count)
        #expect(cases.allSatisfy { $0.id.split(separator: ".").count >= 3 && !$0.reference.isEmpty })
    }

    /// Every ioctl with a struct gets size cases, flag or reserved cases when
    /// it has such fields, id cases for its id fields and enum cases for its
    /// enum fields.
    @Test(arguments: allProfiles)
    func everyIoctlIsCovered(_ name: String) throws {
        let p = try profile(name)
        let cases = Catalogue.cases(for: p)
        var byIoctl: [String: [String]] = [:]
        for c in cases { byIoctl[c.ioctl, default: []].append(c.id) }
        for io in p.ioctls {
            let ids = byIoctl[io.name] ?? []
            let pre = Catalogue.prefix(io.name)
            #expect(ids.contains("\(pre).size.min_minus_1"), "\(io.name): no size cases")
            #expect(ids.contains("\(pre).size.tail_nonzero_7"), "\(io.name): no tail cases")
            guard io.name != "IOMMU_TEST_CMD", let st = p.structure(io.struct) else { continue }
            for (f, mask) in st.flags ?? [:] where mask != 0xffff_ffff {
                #expect(ids.contains { $0.hasPrefix("\(pre).flags.\(f).bit") }, "\(io.name): no flag cases for \(f)")
            }
            if io.family == .iommufd {
                for f in st.mustBeZero where st.flags?[f] == nil {
                    #expect(ids.contains("\(pre).reserved.\(f).low"), "\(io.name): no reserved case for \(f)")
                }
            }
            for f in (st.idFields ?? [:]).keys where f != "fault_id" {
                #expect(ids.contains { $0.hasPrefix("\(pre).id.\(f).") || ($0.contains("unknown_vdevice") && f == "vdevice_id") },
                        "\(io.name): no id cases for \(f)")
            }
            for f in (st.enumFields ?? [:]).keys where !(io.name == "IOMMU_VEVENTQ_ALLOC" && f == "type") {
                #expect(ids.contains { $0.hasPrefix("\(pre).enum.\(f).") }, "\(io.name): no enum cases for \(f)")
            }
        }
    }

    @Test func uncheckedReservedFieldsAreAcceptedCases() throws {
        let cases = Catalogue.cases(for: try profile("linux-7.2"))
        for id in ["iommufd.hwpt_alloc.reserved.__reserved2.low", "iommufd.hwpt_set_dirty_tracking.reserved.__reserved.low",
                   "iommufd.viommu_alloc.reserved.__reserved.low"] {
            let c = try #require(cases.first { $0.id == id })
            #expect(c.call.expect.succeeds)
        }
    }
}

@Suite struct Skips {
    @Test func unmetRequirementsSkipWithReasons() throws {
        let p = try profile("tsm-v5")
        let runner = CaseRunner(backend: SimulatedKernel(profile: p), profile: p, probe: .nothing)
        let results = runner.run(Catalogue.cases(for: p), filter: "iommufd.vdevice_tsm_req.*")
        #expect(results.contains { $0.status == .skip && $0.reason == "needs CONFIG_IOMMUFD_TEST (IOMMU_TEST_CMD)" })
        #expect(results.contains { $0.status == .skip && $0.reason == "needs a TSM-capable PCI device" })
        #expect(results.contains { $0.id == "iommufd.vdevice_tsm_req.scope_4" && $0.status == .pass })
        let old = try profile("linux-7.2")
        let r72 = CaseRunner(backend: SimulatedKernel(profile: old), profile: old)
            .run(Catalogue.cases(for: p), filter: "iommufd.vdevice_tsm_req.scope_4")
        #expect(r72.first?.status == .skip)
        #expect(r72.first?.reason == "ioctl IOMMU_VDEVICE_TSM_REQ not in profile linux-7.2")
    }

    @Test func brokenSetupIsAFailureNamedSetup() throws {
        let p = try profile("tsm-v5")
        // vfio0 can be opened once; a case that opens it while held breaks at setup.
        let sim = SimulatedKernel(profile: p)
        let hold = sim.open(DeviceNodes.tsmDevice)
        #expect(!hold.failed)
        let r = CaseRunner(backend: sim, profile: p).run(Catalogue.cases(for: p), filter: "iommufd.vdevice_tsm_req.unbound")
        #expect(r.first?.status == .fail)
        #expect(r.first?.reason.hasPrefix("setup: ") == true)
    }
}
