import Layout

/// The setup steps, one record each: what a step builds on, what it needs,
/// the `$names` it defines and the calls it makes.
extension SetupStep {
    package var definition: Definition {
        switch self {
        case .ioas:
            // IOMMU_IOAS_ALLOC → $ioas
            return Definition(after: [], needs: .nothing, defines: ["ioas"]) { _ in
                [.call(Call("IOMMU_IOAS_ALLOC", outputs: [.init("out_ioas_id", .object, name: "ioas")]))]
            }
        case .map:
            // IOMMU_IOAS_MAP of one page at Fixed.iova in $ioas (FIXED_IOVA|READABLE|WRITEABLE)
            return Definition(after: [.ioas], needs: .nothing, defines: []) { p in
                let flags = try p.constants("IOMMU_IOAS_MAP_FIXED_IOVA", "IOMMU_IOAS_MAP_READABLE",
                                            "IOMMU_IOAS_MAP_WRITEABLE")
                return [.call(Call("IOMMU_IOAS_MAP", ["flags": .int(flags), "ioas_id": .ref("ioas"),
                                                      "user_va": .buffer(Int(Fixed.page)), "length": .int(Fixed.page),
                                                      "iova": .int(Fixed.iova)]))]
            }
        case .compatIoas:
            // IOMMU_VFIO_IOAS SET($ioas): the IOAS the type1 container ioctls on /dev/iommu use
            return Definition(after: [.ioas], needs: .nothing, defines: []) { p in
                [.call(Call("IOMMU_VFIO_IOAS", ["op": .int(try p.constant("IOMMU_VFIO_IOAS_SET")),
                                                "ioas_id": .ref("ioas")]))]
            }
        case .fault:
            // IOMMU_FAULT_QUEUE_ALLOC → $fault (an object of a type no other field takes), $fault_fd
            return Definition(after: [], needs: .nothing, defines: ["fault", "fault_fd"]) { _ in
                [.call(Call("IOMMU_FAULT_QUEUE_ALLOC", outputs: [.init("out_fault_id", .object, name: "fault"),
                                                                 .init("out_fault_fd", .fd, name: "fault_fd")]))]
            }
        case .idev:
            // IOMMU_TEST_CMD MOCK_DOMAIN(id=$ioas) → $stdev, $mock_hwpt, $idev
            return Definition(after: [.ioas], needs: .mockDevice, defines: ["stdev", "mock_hwpt", "idev"]) { p in
                let op = try p.constant("IOMMU_TEST_OP_MOCK_DOMAIN")
                return [.call(Call("IOMMU_TEST_CMD", ["op": .int(op), "id": .ref("ioas")],
                                   outputs: [.init("out_stdev_id", .object, name: "stdev"),
                                             .init("out_hwpt_id", .implicit, name: "mock_hwpt"),
                                             .init("out_idev_id", .implicit, name: "idev")]))]
            }
        case .hwpt:
            // IOMMU_HWPT_ALLOC(dev=$idev, pt=$ioas, NEST_PARENT) → $hwpt
            return Definition(after: [.idev], needs: .mockDevice, defines: ["hwpt"]) { p in
                [.call(try Make.hwpt(p, "IOMMU_HWPT_ALLOC_NEST_PARENT", dev: "idev", name: "hwpt"))]
            }
        case .dirtyHwpt:
            // IOMMU_HWPT_ALLOC(dev=$idev, pt=$ioas, DIRTY_TRACKING) → $dirty_hwpt
            return Definition(after: [.idev], needs: .mockDevice, defines: ["dirty_hwpt"]) { p in
                [.call(try Make.hwpt(p, "IOMMU_HWPT_ALLOC_DIRTY_TRACKING", dev: "idev", name: "dirty_hwpt"))]
            }
        case .dirtyTracking:
            // IOMMU_HWPT_SET_DIRTY_TRACKING($dirty_hwpt, ENABLE): 6.12's mock reads no dirty bits while it is off
            return Definition(after: [.dirtyHwpt], needs: .mockDevice, defines: []) { p in
                [.call(Call("IOMMU_HWPT_SET_DIRTY_TRACKING",
                            ["hwpt_id": .ref("dirty_hwpt"),
                             "flags": .int(try p.constant("IOMMU_HWPT_DIRTY_TRACKING_ENABLE"))]))]
            }
        case .nestedHwpt:
            // IOMMU_HWPT_ALLOC(dev=$idev, pt=$hwpt, data SELFTEST, 4 zero bytes) → $nested_hwpt
            return Definition(after: [.hwpt], needs: .mockDevice, defines: ["nested_hwpt"]) { p in
                [.call(Call("IOMMU_HWPT_ALLOC", ["dev_id": .ref("idev"), "pt_id": .ref("hwpt"),
                                                 "data_type": .int(try p.constant("IOMMU_HWPT_DATA_SELFTEST")),
                                                 "data_len": .int(Selftest.hwptData),
                                                 "data_uptr": .buffer(Int(Selftest.hwptData))],
                            outputs: [.init("out_hwpt_id", .object, name: "nested_hwpt")]))]
            }
        case .viommu:
            // IOMMU_VIOMMU_ALLOC(dev=$idev, hwpt=$hwpt, SELFTEST) → $viommu
            return Definition(after: [.hwpt], needs: .mockDevice, defines: ["viommu"]) { p in
                [.call(try Make.viommu(p, dev: "idev", hwpt: "hwpt", name: "viommu"))]
            }
        case .vdevice:
            // IOMMU_VDEVICE_ALLOC(viommu=$viommu, dev=$idev, virt_id=0x99) → $vdevice
            return Definition(after: [.viommu], needs: .mockDevice, defines: ["vdevice"]) { _ in
                [.call(Make.vdevice(viommu: "viommu", dev: "idev", virt: Fixed.mockVirtId, name: "vdevice"))]
            }
        case .vfio:
            // open(/dev/vfio/devices/vfio0) → $vfio (device fd, not yet bound)
            return Definition(after: [], needs: .pciDevice, defines: ["vfio"]) { _ in
                [.open(path: DeviceNodes.tsmDevice, target: .vfio)]
            }
        case .pciIdev:
            // VFIO_DEVICE_BIND_IOMMUFD → $pci_idev
            return Definition(after: [.vfio], needs: .pciDevice, defines: ["pci_idev"]) { _ in
                [.call(Make.bind(.vfio, name: "pci_idev"))]
            }
        case .pciAttach:
            // VFIO_DEVICE_ATTACH_IOMMUFD_PT(pt=$ioas)
            return Definition(after: [.ioas, .pciIdev], needs: .pciDevice, defines: []) { _ in
                [.call(Make.attach(.vfio))]
            }
        case .pciHwpt:
            // IOMMU_HWPT_ALLOC(dev=$pci_idev, pt=$ioas, NEST_PARENT) → $pci_hwpt
            return Definition(after: [.pciAttach], needs: .tsmDevice, defines: ["pci_hwpt"]) { p in
                [.call(try Make.hwpt(p, "IOMMU_HWPT_ALLOC_NEST_PARENT", dev: "pci_idev", name: "pci_hwpt"))]
            }
        case .pciViommu:
            // IOMMU_VIOMMU_ALLOC(dev=$pci_idev, hwpt=$pci_hwpt) → $pci_viommu
            return Definition(after: [.pciHwpt], needs: .tsmDevice, defines: ["pci_viommu"]) { p in
                [.call(try Make.viommu(p, dev: "pci_idev", hwpt: "pci_hwpt", name: "pci_viommu"))]
            }
        case .pciVdevice:
            // IOMMU_VDEVICE_ALLOC on vfio0 → $pci_vdevice
            return Definition(after: [.pciViommu], needs: .tsmDevice, defines: ["pci_vdevice"]) { _ in
                [.call(Make.vdevice(viommu: "pci_viommu", dev: "pci_idev", virt: Fixed.pciVirtId, name: "pci_vdevice"))]
            }
        case .boundVdevice:
            // IOMMU_VDEVICE_TSM_OP BIND on $pci_vdevice (alias $bound_vdevice); v2 names the field `op`
            return Definition(after: [.pciVdevice], needs: .tsmDevice, defines: ["bound_vdevice"]) { p in
                let lp64 = p.structure("iommu_vdevice_tsm_op")?.lp64
                let opField = lp64?.fields.contains { $0.name == "type" } == true ? "type" : "op"
                return [.call(Call("IOMMU_VDEVICE_TSM_OP", [opField: .int(try p.constant("IOMMU_VDEVICE_TSM_BIND")),
                                                            "vdevice_id": .ref("pci_vdevice")],
                                   outputs: [.init("vdevice_id", .implicit, name: "bound_vdevice")]))]
            }
        case .nokvmVdevice:
            // The same chain on vfio1 (PCI + TSM, no KVM) → $nokvm_vdevice
            let names = ["vfio1", "nokvm_idev", "nokvm_hwpt", "nokvm_viommu", "nokvm_vdevice"]
            return Definition(after: [.ioas], needs: .tsmDevice, defines: names) { p in
                [.open(path: DeviceNodes.tsmDeviceNoKvm, target: .vfio1),
                 .call(Make.bind(.vfio1, name: "nokvm_idev")),
                 .call(Make.attach(.vfio1)),
                 .call(try Make.hwpt(p, "IOMMU_HWPT_ALLOC_NEST_PARENT", dev: "nokvm_idev", name: "nokvm_hwpt")),
                 .call(try Make.viommu(p, dev: "nokvm_idev", hwpt: "nokvm_hwpt", name: "nokvm_viommu")),
                 .call(Make.vdevice(viommu: "nokvm_viommu", dev: "nokvm_idev", virt: Fixed.pciVirtId,
                                    name: "nokvm_vdevice"))]
            }
        }
    }
}

/// The calls the setup chains share.
private enum Make {
    static func hwpt(_ p: Profile, _ flag: String, dev: String, name: String) throws -> Call {
        Call("IOMMU_HWPT_ALLOC", ["flags": .int(try p.constant(flag)), "dev_id": .ref(dev), "pt_id": .ref("ioas")],
             outputs: [.init("out_hwpt_id", .object, name: name)])
    }

    static func viommu(_ p: Profile, dev: String, hwpt: String, name: String) throws -> Call {
        Call("IOMMU_VIOMMU_ALLOC", ["type": .int(try p.viommuType()), "dev_id": .ref(dev), "hwpt_id": .ref(hwpt)],
             outputs: [.init("out_viommu_id", .object, name: name)])
    }

    static func vdevice(viommu: String, dev: String, virt: UInt64, name: String) -> Call {
        Call("IOMMU_VDEVICE_ALLOC", ["viommu_id": .ref(viommu), "dev_id": .ref(dev), "virt_id": .int(virt)],
             outputs: [.init("out_vdevice_id", .object, name: name)])
    }

    static func bind(_ target: CallTarget, name: String) -> Call {
        Call("VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": .ref("iommufd")], target: target,
             outputs: [.init("out_devid", .implicit, name: name)])
    }

    static func attach(_ target: CallTarget) -> Call {
        Call("VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": .ref("ioas")], target: target)
    }
}
