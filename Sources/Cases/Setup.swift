import Layout

/// Device nodes the setup opens.
package enum DeviceNodes {
    package static let iommu = "/dev/iommu"
    /// PCI device with a TSM and a KVM association.
    package static let tsmDevice = "/dev/vfio/devices/vfio0"
    /// PCI device with a TSM but no KVM.
    package static let tsmDeviceNoKvm = "/dev/vfio/devices/vfio1"

    /// The node a call target's descriptor was opened on.
    package static func path(of target: CallTarget) -> String {
        switch target {
        case .iommufd: return iommu
        case .vfio: return tsmDevice
        case .vfio1: return tsmDeviceNoKvm
        }
    }
}

/// Constants the setup and the catalogue use (contract §7).
package enum Fixed {
    package static let iova: UInt64 = 0x100_0000          // mock aperture starts at 1<<24
    package static let page: UInt64 = 4096
    package static let mockVirtId: UInt64 = 0x99
    package static let pciVirtId: UInt64 = 0x42
    package static let largeId: UInt64 = 0x7fff_fff0
}

extension Profile {
    /// A named constant (enum value or #define) as the kernel's field holds it.
    package func constant(_ name: String) throws -> UInt64 {
        guard let v = enums[name] else { throw InputError("profile \(self.name) has no constant \(name)") }
        return UInt64(truncatingIfNeeded: v)
    }

    /// The bitwise or of named constants.
    package func constants(_ names: String...) throws -> UInt64 {
        try names.reduce(0) { try $0 | constant($1) }
    }

    /// vIOMMU type for the setup chains. The simulator puts every device
    /// behind one selftest-modelled IOMMU driver, so this is the SELFTEST type;
    /// a live run on real hardware sets the driver's type here.
    package func viommuType() throws -> UInt64 { try constant("IOMMU_VIOMMU_TYPE_SELFTEST") }
}

/// Objects a case creates before its call, through the same ioctls a live
/// run uses. Each step is one record (`definition`): what it builds on, what
/// it needs of the system, the names it defines and the calls it makes.
package enum SetupStep: String, Sendable, Hashable, CaseIterable, Codable {
    case ioas, map, fault, idev, hwpt
    case compatIoas = "compat_ioas"
    case dirtyHwpt = "dirty_hwpt"
    case dirtyTracking = "dirty_tracking"
    case nestedHwpt = "nested_hwpt"
    case viommu, vdevice, vfio
    case pciIdev = "pci_idev"
    case pciAttach = "pci_attach"
    case pciHwpt = "pci_hwpt"
    case pciViommu = "pci_viommu"
    case pciVdevice = "pci_vdevice"
    case boundVdevice = "bound_vdevice"
    case nokvmVdevice = "nokvm_vdevice"

    /// What a step needs of the system under test.
    package enum Need: Sendable { case nothing, mockDevice, pciDevice, tsmDevice }

    package struct Definition: Sendable {
        /// The steps this one builds on directly (their own come first).
        package let after: [SetupStep]
        package let needs: Need
        /// Names it defines for `$name` references.
        package let defines: [String]
        /// The calls it makes, as data, with the profile's constants.
        package let actions: @Sendable (Profile) throws -> [SetupAction]
    }


    /// Steps `self` depends on, in creation order (not including self).
    package var prerequisites: [SetupStep] { SetupStep.chain(definition.after) }

    /// The setup a list of steps expands to, dependencies first, each once.
    package static func chain(_ steps: [SetupStep]) -> [SetupStep] {
        var out: [SetupStep] = []
        for s in steps { for d in s.prerequisites + [s] where !out.contains(d) { out.append(d) } }
        return out
    }

    package var needsMock: Bool { definition.needs == .mockDevice }
    /// A PCI device bound to vfio-pci (any: the lane gives QEMU's `edu`).
    package var needsPciDevice: Bool { definition.needs == .pciDevice }
    /// A PCI device with a TSM behind it: the vIOMMU/vDEVICE chain on it.
    package var needsTsmDevice: Bool { definition.needs == .tsmDevice }
    package var defines: [String] { definition.defines }
    /// Every name a `$ref` may use; `iommufd` is the case's /dev/iommu fd.
    package static let referenceNames: Set<String> = Set(allCases.flatMap(\.defines) + extraNames
                                                         + outputObjectNames + outputFdNames)
    /// Names a case's own calls may give what they create (`outputs`).
    static let extraNames = ["iommufd", "vdevice2", "ioas2", "hwpt2", "access", "stdev2", "idev2", "veventq",
                             "veventq_fd", "viommu2", "nested2"]
    /// `o1`...`o32` and `fd1`...`fd4` name what `before` calls create (fuzz findings).
    package static let outputObjectNames = (1...32).map { "o\($0)" }
    package static let outputFdNames = (1...4).map { "fd\($0)" }
    /// The step that defines a name.
    package static func defining(_ name: String) -> SetupStep? { allCases.first { $0.defines.contains(name) } }

    /// The calls of this step for `profile`.
    package func actions(profile: Profile) throws -> [SetupAction] { try definition.actions(profile) }

    /// The ioctls this step issues (a kernel lacking one cannot run it).
    package func ioctls(profile: Profile) -> [String] {
        let calls = (try? actions(profile: profile)) ?? []
        return calls.compactMap { if case .call(let c) = $0 { return c.ioctl } else { return nil } }
    }
}

package enum SetupAction: Sendable {
    case open(path: String, target: CallTarget)
    case call(Call)
}
