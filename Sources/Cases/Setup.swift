import Layout

/// Device nodes the setup opens.
package enum DeviceNodes {
    package static let iommu = "/dev/iommu"
    /// PCI device with a TSM and a KVM association.
    package static let tsmDevice = "/dev/vfio/devices/vfio0"
    /// PCI device with a TSM but no KVM.
    package static let tsmDeviceNoKvm = "/dev/vfio/devices/vfio1"
}

/// Constants the setup and the catalogue use (contract §7).
package enum Fixed {
    package static let iova: UInt64 = 0x100_0000          // mock aperture starts at 1<<24
    package static let page: UInt64 = 4096
    package static let mockVirtId: UInt64 = 0x99
    package static let pciVirtId: UInt64 = 0x42
    package static let testOpMockDomain: UInt64 = 2
    package static let viommuTypeSelftest: UInt64 = 0xdead_beef
    /// vIOMMU type for the PCI chain. The simulator puts every device behind
    /// one selftest-modelled IOMMU driver, so this is the SELFTEST type; a
    /// live run on real hardware sets the driver's type here.
    package static let pciViommuType: UInt64 = 0xdead_beef
    package static let largeId: UInt64 = 0x7fff_fff0
}

package enum SetupAction: Sendable {
    case open(path: String, target: CallTarget)
    case call(Call)
}

extension SetupStep {
    /// The ioctls a step issues, as data.
    /// The ioctls this step issues (a kernel lacking one cannot run it).
    package func ioctls(profile: Profile) -> [String] {
        actions(profile: profile).compactMap { if case .call(let c) = $0 { return c.ioctl } else { return nil } }
    }

    package func actions(profile: Profile) -> [SetupAction] {
        let tsmOpField = profile.structure("iommu_vdevice_tsm_op")?.lp64.fields.contains { $0.name == "type" } == true ? "type" : "op"
        switch self {
        case .ioas:
            return [.call(Call("IOMMU_IOAS_ALLOC", outputs: [.init("out_ioas_id", .object, name: "ioas")]))]
        case .map:
            return [.call(Call("IOMMU_IOAS_MAP", ["flags": .int(7), "ioas_id": .ref("ioas"), "user_va": .buffer(Int(Fixed.page)),
                                                   "length": .int(Fixed.page), "iova": .int(Fixed.iova)]))]
        case .fault:
            return [.call(Call("IOMMU_FAULT_QUEUE_ALLOC", outputs: [.init("out_fault_id", .object, name: "fault"), .init("out_fault_fd", .fd)]))]
        case .idev:
            return [.call(Call("IOMMU_TEST_CMD", ["op": .int(Fixed.testOpMockDomain), "id": .ref("ioas")],
                               outputs: [.init("out_stdev_id", .object, name: "stdev"), .init("out_hwpt_id", .implicit, name: "mock_hwpt"),
                                         .init("out_idev_id", .implicit, name: "idev")]))]
        case .hwpt:
            return [.call(Call("IOMMU_HWPT_ALLOC", ["flags": .int(1), "dev_id": .ref("idev"), "pt_id": .ref("ioas")],
                               outputs: [.init("out_hwpt_id", .object, name: "hwpt")]))]
        case .dirtyHwpt:
            return [.call(Call("IOMMU_HWPT_ALLOC", ["flags": .int(2), "dev_id": .ref("idev"), "pt_id": .ref("ioas")],
                               outputs: [.init("out_hwpt_id", .object, name: "dirty_hwpt")]))]
        case .viommu:
            return [.call(Call("IOMMU_VIOMMU_ALLOC", ["type": .int(Fixed.viommuTypeSelftest), "dev_id": .ref("idev"), "hwpt_id": .ref("hwpt")],
                               outputs: [.init("out_viommu_id", .object, name: "viommu")]))]
        case .vdevice:
            return [.call(Call("IOMMU_VDEVICE_ALLOC", ["viommu_id": .ref("viommu"), "dev_id": .ref("idev"), "virt_id": .int(Fixed.mockVirtId)],
                               outputs: [.init("out_vdevice_id", .object, name: "vdevice")]))]
        case .vfio:
            return [.open(path: DeviceNodes.tsmDevice, target: .vfio)]
        case .pciIdev:
            return [.call(Call("VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": .ref("iommufd")], target: .vfio,
                               outputs: [.init("out_devid", .implicit, name: "pci_idev")]))]
        case .pciAttach:
            return [.call(Call("VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": .ref("ioas")], target: .vfio))]
        case .pciHwpt:
            return [.call(Call("IOMMU_HWPT_ALLOC", ["flags": .int(1), "dev_id": .ref("pci_idev"), "pt_id": .ref("ioas")],
                               outputs: [.init("out_hwpt_id", .object, name: "pci_hwpt")]))]
        case .pciViommu:
            return [.call(Call("IOMMU_VIOMMU_ALLOC", ["type": .int(Fixed.pciViommuType), "dev_id": .ref("pci_idev"), "hwpt_id": .ref("pci_hwpt")],
                               outputs: [.init("out_viommu_id", .object, name: "pci_viommu")]))]
        case .pciVdevice:
            return [.call(Call("IOMMU_VDEVICE_ALLOC", ["viommu_id": .ref("pci_viommu"), "dev_id": .ref("pci_idev"), "virt_id": .int(Fixed.pciVirtId)],
                               outputs: [.init("out_vdevice_id", .object, name: "pci_vdevice")]))]
        case .boundVdevice:
            return [.call(Call("IOMMU_VDEVICE_TSM_OP", [tsmOpField: .int(1), "vdevice_id": .ref("pci_vdevice")],
                               outputs: [.init("vdevice_id", .implicit, name: "bound_vdevice")]))]
        case .nokvmVdevice:
            return [.open(path: DeviceNodes.tsmDeviceNoKvm, target: .vfio1),
                    .call(Call("VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": .ref("iommufd")], target: .vfio1,
                               outputs: [.init("out_devid", .implicit, name: "nokvm_idev")])),
                    .call(Call("VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": .ref("ioas")], target: .vfio1)),
                    .call(Call("IOMMU_HWPT_ALLOC", ["flags": .int(1), "dev_id": .ref("nokvm_idev"), "pt_id": .ref("ioas")],
                               outputs: [.init("out_hwpt_id", .object, name: "nokvm_hwpt")])),
                    .call(Call("IOMMU_VIOMMU_ALLOC", ["type": .int(Fixed.pciViommuType), "dev_id": .ref("nokvm_idev"), "hwpt_id": .ref("nokvm_hwpt")],
                               outputs: [.init("out_viommu_id", .object, name: "nokvm_viommu")])),
                    .call(Call("IOMMU_VDEVICE_ALLOC", ["viommu_id": .ref("nokvm_viommu"), "dev_id": .ref("nokvm_idev"), "virt_id": .int(Fixed.pciVirtId)],
                               outputs: [.init("out_vdevice_id", .object, name: "nokvm_vdevice")]))]
        }
    }
}
