import Foundation
import Testing
import Layout
import Cases
import SimulatedBackend

/// Each v5 TSM_REQ/TSM_OP rule has a named case that must fail when the
/// simulator drops exactly that rule.
let namedMutationCases: [SimMutation: [String]] = [
    .tsmReqSkipReserved: ["iommufd.vdevice_tsm_req.reserved_nonzero", "iommufd.vdevice_tsm_req.on_unknown.reserved.__reserved.low",
                          "iommufd.vdevice_tsm_req.on_mock.reserved.__reserved.high"],
    .tsmReqSkipScopeRange: ["iommufd.vdevice_tsm_req.scope_4", "iommufd.vdevice_tsm_req.scope_ffffffff",
                            "iommufd.vdevice_tsm_req.on_unknown.enum.scope.past_last"],
    .tsmReqSkipVdeviceLookup: ["iommufd.vdevice_tsm_req.unknown_vdevice", "iommufd.vdevice_tsm_req.on_unknown.size.sizeof"],
    .tsmReqSkipPciCheck: ["iommufd.vdevice_tsm_req.mock_vdevice", "iommufd.vdevice_tsm_req.on_mock.size.sizeof"],
    .tsmReqAllowDebugScopes: ["iommufd.vdevice_tsm_req.debug_read", "iommufd.vdevice_tsm_req.debug_write"],
    .tsmReqSkipBoundCheck: ["iommufd.vdevice_tsm_req.unbound"],
    .tsmOpSkipFlagsCheck: ["iommufd.vdevice_tsm_op.flags_nonzero", "iommufd.vdevice_tsm_op.on_unknown.flags.flags.bit0",
                           "iommufd.vdevice_tsm_op.on_mock.flags.flags.bit31"],
    .tsmOpSkipKvmCheck: ["iommufd.vdevice_tsm_op.no_kvm", "iommufd.vdevice_tsm_op.on_mock.enum.type.past_last"],
    .tsmOpSkipTypeCheck: ["iommufd.vdevice_tsm_op.type_3"],
    .skipTailCheck: ["iommufd.vdevice_tsm_req.size.tail_nonzero_0"],
    .skipMinSizeCheck: ["iommufd.vdevice_tsm_req.size.min_minus_1", "iommufd.vdevice_tsm_req.on_unknown.size.min_minus_1"],
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
        #expect(try Catalogue.cases(for: try profile("tsm-v5")).count >= 1000)
    }

    @Test(arguments: allProfiles)
    func idsAreUniqueAndDotted(_ name: String) throws {
        let cases = try Catalogue.cases(for: try profile(name))
        #expect(Set(cases.map(\.id)).count == cases.count)
        #expect(cases.allSatisfy { $0.id.split(separator: ".").count >= 3 && !$0.reference.isEmpty })
    }

    /// Every ioctl with a struct gets size cases, flag or reserved cases when
    /// it has such fields, id cases for its id fields and enum cases for its
    /// enum fields.
    @Test(arguments: allProfiles)
    func everyIoctlIsCovered(_ name: String) throws {
        let p = try profile(name)
        let cases = try Catalogue.cases(for: p)
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
        let cases = try Catalogue.cases(for: try profile("linux-7.2"))
        for id in ["iommufd.hwpt_alloc.reserved.__reserved2.low", "iommufd.hwpt_set_dirty_tracking.reserved.__reserved.low",
                   "iommufd.viommu_alloc.reserved.__reserved.low"] {
            let c = try #require(cases.first { $0.id == id })
            #expect(c.call.expect.succeeds)
        }
    }
}

@Suite struct Skips {
    /// A mock that exists but cannot bind a device (6.12 beside a vIOMMU): its
    /// cases skip with the boot's reason; the vfio cases still run.
    @Test func aMockThatCannotBindSkipsItsCasesWithTheReason() throws {
        let p = try profile("linux-6.12")
        var probe = CapabilityProbe(mockDevice: false, pciDevice: true, tsmDevice: false, capabilities: ["root"])
        probe.mockUnusable = "the mock cannot bind here"
        let runner = CaseRunner(backend: try SimulatedKernel(profile: p), profile: p, probe: probe)
        let results = runner.run(try Catalogue.cases(for: p))
        let mockIds = Set(try Catalogue.cases(for: p).filter(\.requirements.mockDevice).map(\.id))
        let onMock = results.filter { mockIds.contains($0.id) }
        #expect(!onMock.isEmpty && onMock.allSatisfy { $0.status == .skip && $0.reason == "the mock cannot bind here" },
                "\(onMock.filter { $0.status != .skip }.prefix(3))")
        let vfio = results.filter { $0.id.hasPrefix("vfio.device_bind_iommufd.") }
        #expect(!vfio.isEmpty && vfio.allSatisfy { $0.status == .pass })
        #expect(!results.contains { $0.status == .fail }, "\(results.filter { $0.status == .fail }.prefix(3))")
    }

    @Test func unmetRequirementsSkipWithReasons() throws {
        let p = try profile("tsm-v5")
        let runner = CaseRunner(backend: try SimulatedKernel(profile: p), profile: p, probe: .nothing)
        let results = runner.run(try Catalogue.cases(for: p), filter: "iommufd.vdevice_tsm_req.*")
        #expect(results.contains { $0.status == .skip && $0.reason == "needs CONFIG_IOMMUFD_TEST (IOMMU_TEST_CMD)" })
        #expect(results.contains { $0.status == .skip && $0.reason == "needs a TSM-capable PCI device" })
        #expect(results.contains { $0.id == "iommufd.vdevice_tsm_req.scope_4" && $0.status == .pass })
        let old = try profile("linux-7.2")
        let r72 = CaseRunner(backend: try SimulatedKernel(profile: old), profile: old)
            .run(try Catalogue.cases(for: p), filter: "iommufd.vdevice_tsm_req.scope_4")
        #expect(r72.first?.status == .skip)
        #expect(r72.first?.reason == "ioctl IOMMU_VDEVICE_TSM_REQ not in profile linux-7.2")
    }

    @Test func brokenSetupIsAFailureNamedSetup() throws {
        let p = try profile("tsm-v5")
        // vfio0 can be opened once; a case that opens it while held breaks at setup.
        let sim = try SimulatedKernel(profile: p)
        let hold = sim.open(DeviceNodes.tsmDevice)
        #expect(!hold.failed)
        let r = CaseRunner(backend: sim, profile: p).run(try Catalogue.cases(for: p), filter: "iommufd.vdevice_tsm_req.unbound")
        #expect(r.first?.status == .fail)
        #expect(r.first?.reason.hasPrefix("setup: ") == true)
    }
}

/// What runs on a kernel that has the TSM ioctls and the selftest mock but no
/// TSM-capable device (the patch lane's): every family the v5 contract fixes
/// without one must run there, not skip.
@Suite struct WithoutATsmDevice {
    static let lane = CapabilityProbe(mockDevice: true, pciDevice: true, tsmDevice: false, capabilities: ["root"])

    func ran(_ name: String) throws -> Set<String> {
        let p = try profile(name)
        let runner = CaseRunner(backend: try SimulatedKernel(profile: p), profile: p, probe: Self.lane)
        return Set(runner.run(try Catalogue.cases(for: p)).filter { $0.status != .skip }.map(\.id))
    }

    @Test func tsmReqFamiliesRunOnUnknownAndMockIds() throws {
        let ran = try ran("tsm-v5")
        let r = "iommufd.vdevice_tsm_req."
        var must = ["scope_4", "scope_ffffffff", "precedence.reserved_before_scope", "unknown_vdevice", "mock_vdevice"].map { r + $0 }
        for v in ["on_unknown", "on_mock"] {
            must += ["size.zero", "size.min_minus_1", "size.sizeof", "size.tail_zero", "size.tail_nonzero_0", "size.tail_nonzero_7",
                     "size.null_arg", "reserved.__reserved.low", "reserved.__reserved.high", "enum.scope.past_last",
                     "enum.scope.all_ones"].map { r + v + "." + $0 }
        }
        must += ["id.vdevice_id.unknown_zero", "id.vdevice_id.unknown_large", "id.vdevice_id.wrong_type"].map { r + "on_mock." + $0 }
        for id in must { #expect(ran.contains(id), "\(id) would skip without a TSM device") }
    }

    @Test func tsmOpFamiliesRunOnUnknownAndMockIds() throws {
        let ran = try ran("tsm-v5")
        let o = "iommufd.vdevice_tsm_op."
        let must = [o + "mock_vdevice_no_kvm", o + "precedence.flags_before_lookup", o + "unknown_vdevice",
                    o + "on_unknown.size.min_minus_1", o + "on_unknown.flags.flags.bit0", o + "on_mock.flags.flags.bit31",
                    o + "on_mock.enum.type.past_last", o + "on_mock.enum.type.all_ones", o + "on_mock.id.vdevice_id.wrong_type"]
        for id in must { #expect(ran.contains(id), "\(id) would skip without a TSM device") }
    }

    /// Every case a planted kernel bug names exists and runs without a TSM device.
    @Test func kernelBugsNameCasesThatRun() throws {
        let ran = try ran("tsm-v5")
        let bugs = try KernelBugs.load(fixtures() + "/kernel/bugs.json")
        for b in bugs { for id in b.caughtBy { #expect(ran.contains(id), "bug \(b.name): \(id) does not run on the lane") } }
    }

    /// vfio cases on a plain PCI device run; only the TSM chain skips.
    @Test func vfioFamiliesNeedOnlyAPciDevice() throws {
        let ran = try ran("tsm-v5")
        for id in ["vfio.device_get_info.size.sizeof", "vfio.device_bind_iommufd.second", "vfio.device_feature.dma_buf.get",
                   "vfio.device_get_region_info.enum.index.past_last", "vfio.device_detach_iommufd_pt.size.sizeof"] {
            #expect(ran.contains(id), "\(id) would skip on a plain PCI device")
        }
        #expect(!ran.contains("iommufd.vdevice_tsm_op.bind"))
    }
}
