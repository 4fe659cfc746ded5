import Layout

/// Cases a generator cannot derive: TSM semantics per profile, check order
/// (two violations at once, only where the notes give the order), object
/// life cycle and VFIO behaviour.
package enum Handwritten {
    static let i = FieldValue.int
    static let r = FieldValue.ref
    static let H = "tsm-uapi-history.md "
    static let U64MAX = UInt64.max

    static func c(_ id: String, _ summary: String, profiles: Set<String>? = nil, setup: [SetupStep] = [], before: [Call] = [],
                  _ call: Call, _ ref: String) -> ConformanceCase {
        ConformanceCase(id: id, requirements: Requirements(profiles: profiles), setup: setup, before: before, call: call,
                        reference: ref, summary: summary)
    }

    package static func cases(for profile: Profile) -> [ConformanceCase] {
        iommufd() + vfio() + tsmV5Op() + tsmV5Req() + tsmV2() + tsmPostV5() + tsmVfioRfc()
    }

    // MARK: iommufd 7.2

    static func iommufd() -> [ConformanceCase] {
        let C = "iommufd-contract.md "
        let mapFields: [String: FieldValue] = ["flags": i(7), "user_va": .buffer(4096), "length": i(4096), "iova": i(Fixed.iova)]
        return [
            c("iommufd.ioas_map.precedence.overflow_before_lookup", "length = U64_MAX and ioas_id 0: overflow is checked first",
              Call("IOMMU_IOAS_MAP", mapFields.merging(["ioas_id": i(0), "length": i(U64MAX)]) { $1 }, expect: .EOVERFLOW), C + "§5.6"),
            c("iommufd.ioas_unmap.precedence.lookup_before_overflow", "length = U64_MAX and ioas_id 0: UNMAP looks the IOAS up first",
              Call("IOMMU_IOAS_UNMAP", ["ioas_id": i(0), "iova": i(Fixed.iova), "length": i(U64MAX)], expect: .ENOENT), C + "§5.6"),
            c("iommufd.ioas_unmap.overflow", "length = U64_MAX with iova ≠ 0 on a real IOAS", setup: [.ioas],
              Call("IOMMU_IOAS_UNMAP", ["ioas_id": r("ioas"), "iova": i(Fixed.iova), "length": i(U64MAX)], expect: .EOVERFLOW), C + "§4 (0x86)"),
            c("iommufd.ioas_unmap.nothing_mapped", "unmap of a range with nothing mapped", setup: [.ioas],
              Call("IOMMU_IOAS_UNMAP", ["ioas_id": r("ioas"), "iova": i(Fixed.iova), "length": i(4096)], expect: .ENOENT), C + "§4 (0x86)"),
            c("iommufd.ioas_copy.precedence.overflow_before_lookup", "length = U64_MAX and unknown IOAS ids",
              Call("IOMMU_IOAS_COPY", ["flags": i(6), "dst_ioas_id": i(0), "src_ioas_id": i(0), "length": i(U64MAX), "src_iova": i(Fixed.iova)],
                   expect: .EOVERFLOW), C + "§5.6"),
            c("iommufd.ioas_map.no_access", "neither READABLE nor WRITEABLE", setup: [.ioas],
              Call("IOMMU_IOAS_MAP", mapFields.merging(["ioas_id": r("ioas"), "flags": i(1)]) { $1 }, expect: .EINVAL), C + "§4 (0x85)"),
            c("iommufd.ioas_iova_ranges.too_small", "num_iovas 0: EMSGSIZE with the count written back", setup: [.ioas],
              Call("IOMMU_IOAS_IOVA_RANGES", ["ioas_id": r("ioas"), "num_iovas": i(0)], expect: .errno(Errno.EMSGSIZE)), C + "§4 (0x84)"),
            c("iommufd.hwpt_alloc.precedence.reserved_before_lookup", "__reserved ≠ 0 and dev_id 0",
              Call("IOMMU_HWPT_ALLOC", ["__reserved": i(1), "dev_id": i(0), "pt_id": i(0)], expect: .EOPNOTSUPP), C + "§4 (0x89), §5.7"),
            c("iommufd.hwpt_alloc.size_min_fault_id_valid", "size 24 with FAULT_ID_VALID: fault_id reads as 0", setup: [.idev],
              Call("IOMMU_HWPT_ALLOC", ["flags": i(4), "dev_id": r("idev"), "pt_id": r("ioas")], size: 24, expect: .ENOENT), C + "§5.1"),
            c("iommufd.viommu_alloc.not_nest_parent", "hwpt_id names the mock's auto (non-nest-parent) HWPT", setup: [.idev],
              Call("IOMMU_VIOMMU_ALLOC", ["type": i(Fixed.viommuTypeSelftest), "dev_id": r("idev"), "hwpt_id": r("mock_hwpt")], expect: .EINVAL),
              C + "§5.2"),
            c("iommufd.viommu_alloc.type_default", "type DEFAULT", setup: [.hwpt],
              Call("IOMMU_VIOMMU_ALLOC", ["type": i(0), "dev_id": r("idev"), "hwpt_id": r("hwpt")], expect: .EOPNOTSUPP), C + "§4 (0x90)"),
            c("iommufd.vdevice_alloc.twice", "a second vDEVICE for the same device", setup: [.vdevice],
              Call("IOMMU_VDEVICE_ALLOC", ["viommu_id": r("viommu"), "dev_id": r("idev"), "virt_id": i(0x100)], expect: .EEXIST), C + "§4 (0x91)"),
            c("iommufd.veventq_alloc.type_default", "type DEFAULT", setup: [.viommu],
              Call("IOMMU_VEVENTQ_ALLOC", ["viommu_id": r("viommu"), "type": i(0), "veventq_depth": i(2)], expect: .EOPNOTSUPP), C + "§4 (0x93)"),
            c("iommufd.veventq_alloc.depth_zero", "veventq_depth 0", setup: [.viommu],
              Call("IOMMU_VEVENTQ_ALLOC", ["viommu_id": r("viommu"), "type": i(0xbeef_beef), "veventq_depth": i(0)], expect: .EINVAL), C + "§4 (0x93)"),
            c("iommufd.hw_queue_alloc.length_zero", "length 0", setup: [.viommu],
              Call("IOMMU_HW_QUEUE_ALLOC", ["viommu_id": r("viommu"), "type": i(0xdead_beef), "nesting_parent_iova": i(Fixed.iova), "length": i(0)],
                   expect: .EINVAL), C + "§4 (0x94)"),
            c("iommufd.destroy.busy.ioas_held_by_hwpt", "IOAS referenced by a HWPT", setup: [.hwpt],
              Call("IOMMU_DESTROY", ["id": r("ioas")], expect: .EBUSY), C + "§2.9"),
            c("iommufd.destroy.busy.hwpt_held_by_viommu", "HWPT referenced by a vIOMMU", setup: [.viommu],
              Call("IOMMU_DESTROY", ["id": r("hwpt")], expect: .EBUSY), C + "§2.9"),
            c("iommufd.destroy.busy.viommu_held_by_vdevice", "vIOMMU referenced by a vDEVICE", setup: [.vdevice],
              Call("IOMMU_DESTROY", ["id": r("viommu")], expect: .EBUSY), C + "§2.9"),
            c("iommufd.destroy.twice", "destroying an id twice", setup: [.ioas],
              before: [Call("IOMMU_DESTROY", ["id": r("ioas")], consumes: "ioas")],
              Call("IOMMU_DESTROY", ["id": r("ioas")], expect: .ENOENT), C + "§2.9"),
        ]
    }

    // MARK: VFIO

    static func vfio() -> [ConformanceCase] {
        let V = "vfio-contract.md "
        let probeGet: UInt64 = 0x40000 | 0x10000
        func dmaBuf(region: UInt64 = 0, flags: UInt64 = 0, ranges: [(UInt64, UInt64)] = [(0, 4096)]) -> [UInt8] {
            var p = [UInt8](repeating: 0, count: 16 + 16 * ranges.count)
            CompiledCall.store(region, into: &p, at: 0, width: 4)
            CompiledCall.store(flags, into: &p, at: 8, width: 4)
            CompiledCall.store(UInt64(ranges.count), into: &p, at: 12, width: 4)
            for (k, rg) in ranges.enumerated() {
                CompiledCall.store(rg.0, into: &p, at: 16 + 16 * k, width: 8)
                CompiledCall.store(rg.1, into: &p, at: 24 + 16 * k, width: 8)
            }
            return p
        }
        func feature(_ flags: UInt64, _ payload: [UInt8] = [], expect: Outcome, outputs: [Call.Output] = []) -> Call {
            Call("VFIO_DEVICE_FEATURE", ["flags": i(flags)], payload: payload, target: .vfio, expect: expect, outputs: outputs)
        }
        return [
            c("vfio.device_bind_iommufd.second", "binding a bound device again", setup: [.pciIdev],
              Call("VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": r("iommufd")], target: .vfio, expect: .EINVAL), V + "§3 rule 6"),
            c("vfio.device_bind_iommufd.negative_fd", "iommufd = -1", setup: [.vfio],
              Call("VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": .neg(-1)], target: .vfio, expect: .EINVAL), V + "§3 rule 4"),
            c("vfio.device_get_info.before_bind", "GET_INFO on an unbound cdev", setup: [.vfio],
              Call("VFIO_DEVICE_GET_INFO", target: .vfio, expect: .EINVAL), V + "§2 step 2"),
            c("vfio.device_feature.get_and_set", "GET|SET without PROBE", setup: [.pciIdev],
              feature(0x30000 | 11, expect: .EINVAL), V + "§4 core rule 4"),
            c("vfio.device_feature.unknown_index", "GET of feature 0xfff", setup: [.pciIdev],
              feature(0x10000 | 0xfff, expect: .ENOTTY), V + "§4 core rule 6"),
            c("vfio.device_feature.dma_buf.probe", "PROBE|GET of DMA_BUF", setup: [.pciIdev], feature(probeGet | 11, expect: .ok), V + "§4"),
            c("vfio.device_feature.dma_buf.get", "DMA_BUF of BAR0 page 0 returns a new fd", setup: [.pciIdev],
              feature(0x10000 | 11, dmaBuf(), expect: .okAny, outputs: [.init("", .returnedFd)]), V + "§4 DMA_BUF step 10"),
            c("vfio.device_feature.dma_buf.set", "SET of DMA_BUF (GET only)", setup: [.pciIdev],
              feature(0x20000 | 11, dmaBuf(), expect: .EINVAL), V + "§4 DMA_BUF step 2"),
            c("vfio.device_feature.dma_buf.no_ranges", "nr_ranges 0", setup: [.pciIdev],
              feature(0x10000 | 11, dmaBuf(ranges: []), expect: .EINVAL), V + "§4 DMA_BUF step 4"),
            c("vfio.device_feature.dma_buf.flags", "dma_buf.flags ≠ 0", setup: [.pciIdev],
              feature(0x10000 | 11, dmaBuf(flags: 1), expect: .EINVAL), V + "§4 DMA_BUF step 4"),
            c("vfio.device_feature.dma_buf.rom_region", "region_index 6 (ROM)", setup: [.pciIdev],
              feature(0x10000 | 11, dmaBuf(region: 6), expect: .ENODEV), V + "§4 DMA_BUF step 5"),
            c("vfio.device_feature.dma_buf.zero_length", "a range of length 0", setup: [.pciIdev],
              feature(0x10000 | 11, dmaBuf(ranges: [(0, 0)]), expect: .EINVAL), V + "§4 DMA_BUF step 7"),
            c("vfio.device_feature.dma_buf.short_argsz", "argsz 8 + 15 (payload below 16)", setup: [.pciIdev],
              { var x = feature(0x10000 | 11, dmaBuf(), expect: .EINVAL); x.size = 23; return x }(), V + "§4 vfio_check_feature rule 4"),
            c("vfio.device_attach_iommufd_pt.replace", "a second ATTACH is a replace", setup: [.pciAttach],
              Call("VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": r("ioas")], target: .vfio), V + "§3 ATTACH"),
        ]
    }

    // MARK: TSM v5 (and post-v5, which keeps TSM_OP)

    static func tsmV5Op() -> [ConformanceCase] {
        let ps: Set<String> = ["tsm-v5", "tsm-post-v5"]
        let R = H + "§10 TSM_OP"
        func op(_ type: UInt64, _ vdev: FieldValue, flags: UInt64 = 0, expect: Outcome, consumes: String? = nil) -> Call {
            Call("IOMMU_VDEVICE_TSM_OP", ["type": i(type), "vdevice_id": vdev, "flags": i(flags)], expect: expect, consumes: consumes)
        }
        let p = "iommufd.vdevice_tsm_op."
        return [
            c(p + "bind", "BIND a TSM-capable PCI vDEVICE with a KVM", profiles: ps, setup: [.pciVdevice], op(1, r("pci_vdevice"), expect: .ok), R + " step 6"),
            c(p + "unbind", "UNBIND a bound vDEVICE", profiles: ps, setup: [.boundVdevice], op(2, r("bound_vdevice"), expect: .ok), R + " step 6"),
            c(p + "flags_nonzero", "flags = 1 on a valid vDEVICE", profiles: ps, setup: [.pciVdevice], op(1, r("pci_vdevice"), flags: 1, expect: .EOPNOTSUPP), R + " step 1"),
            c(p + "precedence.flags_before_lookup", "flags = 1 and vdevice_id 0", profiles: ps, op(1, i(0), flags: 1, expect: .EOPNOTSUPP), R + " steps 1-2"),
            c(p + "unknown_vdevice", "vdevice_id 0", profiles: ps, op(1, i(0), expect: .ENOENT), R + " step 2"),
            c(p + "mock_vdevice_no_kvm", "the mock's vDEVICE has no KVM", profiles: ps, setup: [.vdevice], op(1, r("vdevice"), expect: .ENODEV),
              R + " step 3; §15"),
            c(p + "no_kvm", "vfio1 (PCI + TSM, no KVM)", profiles: ps, setup: [.nokvmVdevice], op(1, r("nokvm_vdevice"), expect: .ENODEV), R + " step 3"),
            c(p + "precedence.kvm_before_type", "type 3 on a vDEVICE without KVM", profiles: ps, setup: [.nokvmVdevice],
              op(3, r("nokvm_vdevice"), expect: .ENODEV), R + " steps 3-4"),
            c(p + "type_zero", "type 0", profiles: ps, setup: [.pciVdevice], op(0, r("pci_vdevice"), expect: .EINVAL), R + " step 4"),
            c(p + "type_3", "type 3", profiles: ps, setup: [.pciVdevice], op(3, r("pci_vdevice"), expect: .EINVAL), R + " step 4"),
            c(p + "destroy_bound_vdevice", "IOMMU_DESTROY of a bound vDEVICE succeeds (teardown unbinds)", profiles: ps, setup: [.boundVdevice],
              Call("IOMMU_DESTROY", ["id": r("bound_vdevice")], consumes: "pci_vdevice"), R + " (teardown calls tsm_unbind)"),
            c(p + "destroy_unbinds", "after destroying a bound vDEVICE, a new vDEVICE of the device is unbound", profiles: ["tsm-v5"],
              setup: [.boundVdevice],
              before: [Call("IOMMU_DESTROY", ["id": r("pci_vdevice")], consumes: "pci_vdevice"),
                       Call("IOMMU_VDEVICE_ALLOC", ["viommu_id": r("pci_viommu"), "dev_id": r("pci_idev"), "virt_id": i(Fixed.pciVirtId)],
                            outputs: [.init("out_vdevice_id", .object, name: "vdevice2")])],
              Call("IOMMU_VDEVICE_TSM_REQ", ["vdevice_id": r("vdevice2"), "scope": i(0)], expect: .ENXIO), R + " (teardown unbinds); §10 TSM_REQ step 5"),
            c(p + "second_bind", "BIND of an already bound vDEVICE returns 0 and changes nothing", profiles: ps, setup: [.boundVdevice],
              op(1, r("bound_vdevice"), expect: .ok), R + " step 5 (tsm_bind result passed through); seed 001 (repeated bind handled safely)"),
            c(p + "unbind_unbound", "UNBIND of a never-bound vDEVICE", profiles: ps, setup: [.pciVdevice],
              op(2, r("pci_vdevice"), expect: .ok), H + "§5 (unbind of an unbound device → 0); seed 001"),
            c("vfio.device_feature.dma_buf.while_bound", "DMA_BUF export of a TSM-bound device's BAR", profiles: ps, setup: [.boundVdevice],
              Call("VFIO_DEVICE_FEATURE", ["flags": i(0x10000 | 11)], payload: dmaBufPayload(), target: .vfio, expect: .EBUSY),
              "seed 000 (bind claims the regions exclusively); contract §5.7 state conflict → EBUSY (inferred)"),
            c(p + "rebind_after_unbind", "BIND, UNBIND, BIND again", profiles: ps, setup: [.boundVdevice],
              before: [op(2, r("bound_vdevice"), expect: .ok)], op(1, r("pci_vdevice"), expect: .ok), R),
        ]
    }

    static func tsmV5Req() -> [ConformanceCase] {
        let ps: Set<String> = ["tsm-v5"]
        let R = H + "§10 TSM_REQ; seed 003 lines 96-120"
        func req(_ vdev: FieldValue, scope: UInt64 = 0, reserved: UInt64 = 0, expect: Outcome) -> Call {
            Call("IOMMU_VDEVICE_TSM_REQ", ["vdevice_id": vdev, "scope": i(scope), "__reserved": i(reserved),
                                           "req_len": i(16), "req_uptr": .buffer(16), "resp_len": i(64), "resp_uptr": .buffer(64)], expect: expect)
        }
        let p = "iommufd.vdevice_tsm_req."
        let bound = r("bound_vdevice")
        return [
            c(p + "reserved_nonzero", "__reserved = 1 on a bound vDEVICE", profiles: ps, setup: [.boundVdevice], req(bound, reserved: 1, expect: .EOPNOTSUPP), R + " step 1"),
            // Seed 001: D3hot (here LOW_POWER_ENTRY, feature 3) unbinds the TDI first; leaving
            // low power (feature 5) does not bind it again, so the request finds no bound TDI.
            c(p + "unbound_after_d3hot", "LOW_POWER_ENTRY on a bound device unbinds its TDI", profiles: ps, setup: [.boundVdevice],
              before: [Call("VFIO_DEVICE_FEATURE", ["flags": i(0x20000 | 3)], target: .vfio, expect: .ok)],
              req(bound, expect: .ENXIO), "seed 001 (D3hot unbinds first); " + R + " step 5"),
            c(p + "no_rebind_after_d3hot_exit", "LOW_POWER_ENTRY then LOW_POWER_EXIT: the TDI stays unbound", profiles: ps, setup: [.boundVdevice],
              before: [Call("VFIO_DEVICE_FEATURE", ["flags": i(0x20000 | 3)], target: .vfio, expect: .ok),
                       Call("VFIO_DEVICE_FEATURE", ["flags": i(0x20000 | 5)], target: .vfio, expect: .ok)],
              req(bound, expect: .ENXIO), "seed 001 (no automatic re-bind); " + R + " step 5"),
            c(p + "scope_4", "scope 4 (past SCOPE_PCI_LAST), vdevice_id 0: the range check comes before the lookup",
              profiles: ps, req(i(0), scope: 4, expect: .EINVAL), R + " steps 2-3"),
            c(p + "scope_ffffffff", "scope 0xffffffff, vdevice_id 0", profiles: ps, req(i(0), scope: 0xffff_ffff, expect: .EINVAL), R + " steps 2-3"),
            c(p + "scope_4_bound", "scope 4 on a bound vDEVICE", profiles: ps, setup: [.boundVdevice], req(bound, scope: 4, expect: .EINVAL), R + " step 2"),
            c(p + "precedence.reserved_before_scope", "__reserved = 1 and scope 4", profiles: ps, req(i(0), scope: 4, reserved: 1, expect: .EOPNOTSUPP),
              R + " steps 1-2"),
            c(p + "unknown_vdevice", "vdevice_id 0 (scope INFO)", profiles: ps, req(i(0), expect: .ENOENT), R + " step 3"),
            c(p + "unknown_vdevice_large", "vdevice_id 0x7ffffff0", profiles: ps, req(i(Fixed.largeId), expect: .ENOENT), R + " step 3"),
            c(p + "wrong_type_id", "vdevice_id names the vIOMMU", profiles: ps, setup: [.boundVdevice], req(r("pci_viommu"), expect: .ENOENT), R + " step 3"),
            c(p + "mock_vdevice", "the mock's vDEVICE is not PCI", profiles: ps, setup: [.vdevice], req(r("vdevice"), expect: .EINVAL), R + " step 4; §15"),
            c(p + "debug_read", "scope DEBUG_READ on a bound vDEVICE", profiles: ps, setup: [.boundVdevice], req(bound, scope: 2, expect: .EINVAL), R + " step 5"),
            c(p + "debug_write", "scope DEBUG_WRITE on a bound vDEVICE", profiles: ps, setup: [.boundVdevice], req(bound, scope: 3, expect: .EINVAL), R + " step 5"),
            c(p + "unbound", "INFO on a vDEVICE whose TDI is not bound", profiles: ps, setup: [.pciVdevice], req(r("pci_vdevice"), expect: .ENXIO), R + " step 5"),
            c(p + "bound_info", "INFO on a bound vDEVICE: 0 or the positive residue", profiles: ps, setup: [.boundVdevice], req(bound, expect: .okAny), R + " step 6"),
            c(p + "bound_state_change", "STATE_CHANGE on a bound vDEVICE", profiles: ps, setup: [.boundVdevice], req(bound, scope: 1, expect: .okAny), R + " step 6"),
            c(p + "after_unbind", "INFO after TSM_OP UNBIND", profiles: ps, setup: [.boundVdevice],
              before: [Call("IOMMU_VDEVICE_TSM_OP", ["type": i(2), "vdevice_id": bound])], req(bound, expect: .ENXIO), R + " step 5"),
            c(p + "nokvm_unbound", "INFO on vfio1's vDEVICE (never bound)", profiles: ps, setup: [.nokvmVdevice], req(r("nokvm_vdevice"), expect: .ENXIO), R + " step 5"),
        ]
    }

    static func dmaBufPayload() -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 32)
        CompiledCall.store(1, into: &p, at: 12, width: 4)
        CompiledCall.store(4096, into: &p, at: 24, width: 8)
        return p
    }

    // MARK: TSM v2

    static func tsmV2() -> [ConformanceCase] {
        let ps: Set<String> = ["tsm-v2"]
        let R = H + "§8"
        let p = "iommufd.vdevice_tsm_op."
        let g = "iommufd.vdevice_tsm_guest_request."
        func gr(_ vdev: FieldValue, scope: UInt64 = 0, expect: Outcome) -> Call {
            Call("IOMMU_VDEVICE_TSM_GUEST_REQUEST", ["vdevice_id": vdev, "scope": i(scope), "req_len": i(16), "req_uptr": .buffer(16),
                                                     "resp_len": i(64), "resp_uptr": .buffer(64)], expect: expect)
        }
        return [
            c(p + "flags_nonzero", "flags = 1", profiles: ps, setup: [.vdevice],
              Call("IOMMU_VDEVICE_TSM_OP", ["op": i(1), "flags": i(1), "vdevice_id": r("vdevice")], expect: .EOPNOTSUPP), R + " TSM_OP"),
            c(p + "unknown_vdevice", "vdevice_id 0", profiles: ps,
              Call("IOMMU_VDEVICE_TSM_OP", ["op": i(1), "vdevice_id": i(0)], expect: .ENOENT), R + " TSM_OP"),
            c(p + "mock_vdevice_no_kvm", "the mock's vIOMMU has no KVM", profiles: ps, setup: [.vdevice],
              Call("IOMMU_VDEVICE_TSM_OP", ["op": i(1), "vdevice_id": r("vdevice")], expect: .ENODEV), R + " TSM_OP; §15"),
            c(g + "unknown_vdevice", "vdevice_id 0", profiles: ps, gr(i(0), expect: .ENOENT), R + " GUEST_REQUEST"),
            c(g + "mock_vdevice", "non-PCI vDEVICE", profiles: ps, setup: [.vdevice], gr(r("vdevice"), expect: .EINVAL), R + " TSM_OP: non-PCI → EINVAL"),
            c(g + "unbound", "INFO on an unbound PCI vDEVICE", profiles: ps, setup: [.pciVdevice], gr(r("pci_vdevice"), expect: .ENXIO), R + " GUEST_REQUEST"),
            c(g + "debug_read", "scope 2 on a PCI vDEVICE", profiles: ps, setup: [.pciVdevice], gr(r("pci_vdevice"), scope: 2, expect: .EINVAL), R + " GUEST_REQUEST"),
        ]
    }

    // MARK: post-v5 draft

    static func tsmPostV5() -> [ConformanceCase] {
        let ps: Set<String> = ["tsm-post-v5"]
        let R = H + "§11"
        let p = "iommufd.vdevice_tsm_req."
        let bound = r("bound_vdevice")
        func req(_ vdev: FieldValue, op: UInt64 = 3, arch: UInt64 = 2, expect: Outcome) -> Call {
            Call("IOMMU_VDEVICE_TSM_REQ", ["vdevice_id": vdev, "op": i(op), "tvm_arch": i(arch), "req_len": i(16), "req_uptr": .buffer(16),
                                           "resp_len": i(64), "resp_uptr": .buffer(64)], expect: expect)
        }
        return [
            c(p + "tvm_arch_zero", "tvm_arch 0", profiles: ps, setup: [.boundVdevice], req(bound, arch: 0, expect: .EINVAL), R),
            c(p + "op_zero", "op 0", profiles: ps, setup: [.boundVdevice], req(bound, op: 0, expect: .EINVAL), R),
            c(p + "sev_op_not_sev", "SEV_ENABLE_DMA with a non-SEV tvm_arch", profiles: ps, setup: [.boundVdevice],
              req(bound, op: 6, arch: 3, expect: .EINVAL), R + " (SEV ops only with SEV)"),
            c(p + "unknown_vdevice", "vdevice_id 0", profiles: ps, req(i(0), expect: .ENOENT), R),
            c(p + "mock_vdevice", "non-PCI vDEVICE", profiles: ps, setup: [.vdevice], req(r("vdevice"), expect: .EINVAL), R),
            c(p + "unbound", "unbound PCI vDEVICE", profiles: ps, setup: [.pciVdevice], req(r("pci_vdevice"), expect: .ENXIO), R),
            c(p + "bound_ok", "OBJECT_INFO on a bound vDEVICE", profiles: ps, setup: [.boundVdevice], req(bound, expect: .okAny), R),
        ]
    }

    // MARK: VFIO TSM bind/unbind RFC (Yilun, 2025-05-29)

    static func tsmVfioRfc() -> [ConformanceCase] {
        let ps: Set<String> = ["tsm-vfio-rfc"]
        let R = H + "§5 (VFIO validation)"
        let p = "vfio.device_tsm_bind.", u = "vfio.device_tsm_unbind."
        func bind(_ vdev: FieldValue = r("pci_vdevice"), pad: UInt64 = 0, target: CallTarget = .vfio, expect: Outcome = .ok) -> Call {
            Call("VFIO_DEVICE_TSM_BIND", ["vdevice_id": vdev, "pad": i(pad)], target: target, expect: expect)
        }
        func unbind(expect: Outcome = .ok) -> Call { Call("VFIO_DEVICE_TSM_UNBIND", target: .vfio, expect: expect) }
        return [
            c(p + "ok", "bind vfio0's PCI vDEVICE (TDI → CONFIG_LOCKED)", profiles: ps, setup: [.pciVdevice], bind(), R + "; seed 000"),
            c(p + "twice", "a second bind of a bound device returns 0 and changes nothing", profiles: ps, setup: [.pciVdevice],
              before: [bind()], bind(), R + "; seed 001 (repeated bind handled safely); sim choice vfio_tsm.bind_unbind"),
            c(p + "unknown_vdevice", "vdevice_id 0x7ffffff0 (no such object)", profiles: ps, setup: [.pciVdevice],
              bind(i(Fixed.largeId), expect: .ENOENT), R + "; iommufd vdevice lookup → ENOENT (inferred for bind)"),
            c(p + "wrong_type_id", "vdevice_id names the vIOMMU", profiles: ps, setup: [.pciVdevice],
              bind(r("pci_viommu"), expect: .ENOENT), R + "; iommufd vdevice lookup → ENOENT (inferred for bind)"),
            c(p + "other_device_vdevice", "vdevice_id names the selftest mock's vDEVICE, not this device's", profiles: ps,
              setup: [.pciVdevice, .vdevice], bind(r("vdevice"), expect: .ENOENT), R + "; sim choice vfio_tsm.bind_unbind (inferred)"),
            c(p + "no_kvm", "vfio1 (PCI + TSM, no KVM)", profiles: ps, setup: [.nokvmVdevice],
              bind(r("nokvm_vdevice"), target: .vfio1, expect: .ENODEV), R + "; sim choice vfio_tsm.bind_unbind (as TSM_OP)"),
            c(p + "pad_nonzero", "pad = 0xffffffff is accepted: the RFC never reads it (defect: \"Unchecked pad\")", profiles: ps,
              setup: [.pciVdevice], bind(pad: 0xffff_ffff), H + "§5 (pad is never read); §14 Unchecked pad/reserved"),
            c(p + "before_bind_iommufd", "TSM_BIND on a cdev not yet bound to iommufd", profiles: ps, setup: [.vfio],
              bind(i(1), expect: .EINVAL), "vfio-contract.md §2 step 2; " + R),
            c(p + "dma_buf_while_bound", "DMA_BUF export after VFIO TSM bind", profiles: ps, setup: [.pciVdevice], before: [bind()],
              Call("VFIO_DEVICE_FEATURE", ["flags": i(0x10000 | 11)], payload: dmaBufPayload(), target: .vfio, expect: .EBUSY),
              "seed 000 (bind claims the regions exclusively); sim choice dmabuf.while_bound"),
            c(p + "dma_buf_after_unbind", "DMA_BUF export after bind then unbind (regions released)", profiles: ps, setup: [.pciVdevice],
              before: [bind(), unbind()],
              Call("VFIO_DEVICE_FEATURE", ["flags": i(0x10000 | 11)], payload: dmaBufPayload(), target: .vfio, expect: .okAny,
                   outputs: [.init("", .returnedFd)]), H + "§5 unbind; seed 000"),
            c(p + "rebind_after_unbind", "bind, unbind, bind again", profiles: ps, setup: [.pciVdevice], before: [bind(), unbind()], bind(), R),
            c(u + "bound", "unbind a bound device", profiles: ps, setup: [.pciVdevice], before: [bind()], unbind(), R),
            c(u + "unbound", "unbind of a never-bound device returns 0", profiles: ps, setup: [.pciIdev], unbind(),
              H + "§5 (unbind of an unbound device → 0); sim choice tsm_op.unbind_unbound"),
            c(u + "twice", "unbind twice after a bind", profiles: ps, setup: [.pciVdevice], before: [bind(), unbind()], unbind(), R),
            c(u + "before_bind_iommufd", "TSM_UNBIND on a cdev not yet bound to iommufd", profiles: ps, setup: [.vfio],
              unbind(expect: .EINVAL), "vfio-contract.md §2 step 2"),
        ]
    }
}
