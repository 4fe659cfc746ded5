import Testing
import Layout
import Cases

@Suite struct SetupRecords {
    /// A step's `defines` are the names its own calls give (opens name their target).
    @Test(arguments: allProfiles)
    func definesAreWhatTheActionsName(_ name: String) throws {
        let p = try profile(name)
        for step in SetupStep.allCases {
            guard let actions = try? step.actions(profile: p) else { continue }
            let named = actions.flatMap { a -> [String] in
                switch a {
                case .open(_, let target): return [target.rawValue]
                case .call(let c): return c.outputs.compactMap(\.name)
                }
            }
            #expect(named == step.defines, "\(step) on \(name)")
        }
    }

    @Test func chainsComeInCreationOrder() {
        #expect(SetupStep.chain([.boundVdevice]).map(\.rawValue) ==
                ["ioas", "vfio", "pci_idev", "pci_attach", "pci_hwpt", "pci_viommu", "pci_vdevice", "bound_vdevice"])
        #expect(SetupStep.chain([.pciVdevice, .vdevice]).map(\.rawValue) ==
                ["ioas", "vfio", "pci_idev", "pci_attach", "pci_hwpt", "pci_viommu", "pci_vdevice", "idev", "hwpt",
                 "viommu", "vdevice"])
        #expect(SetupStep.vdevice.needsMock && SetupStep.pciAttach.needsPciDevice && SetupStep.nokvmVdevice.needsTsmDevice)
    }

    /// The setup's flag values are the profile's constants.
    @Test func setupUsesTheProfilesConstants() throws {
        let p = try profile("linux-7.2")
        guard case .call(let map)? = try SetupStep.map.actions(profile: p).first else { Issue.record("no map call"); return }
        #expect(map.fields["flags"] == .int(7))
        guard case .call(let hwpt)? = try SetupStep.dirtyHwpt.actions(profile: p).first else { return }
        #expect(hwpt.fields["flags"] == .int(2))
        var bare = p
        bare.enums["IOMMU_HWPT_ALLOC_NEST_PARENT"] = nil
        #expect(throws: InputError.self) { try SetupStep.hwpt.actions(profile: bare) }
    }
}
