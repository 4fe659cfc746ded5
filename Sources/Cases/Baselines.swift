import Layout

/// The call that makes each ioctl otherwise valid, and its outcome: every
/// generated case changes exactly one thing against it.
package struct Baseline: Sendable {
    package var ioctl: String
    package var setup: [SetupStep]
    package var fields: [String: FieldValue]
    package var target: CallTarget = .iommufd
    package var expect: Outcome = .ok
    package var outputs: [Call.Output] = []
    package var consumes: String?
    /// Out-of-range enum values: field → errno.
    package var enumExpect: [String: Outcome] = [:]
    /// Id fields: field → (unknown id, wrong-type object and its result).
    package var ids: [String: IdRule] = [:]
    /// Only size cases (the selftest command).
    package var sizeOnly = false
    package var reference: String
    /// A second baseline of the same ioctl names its cases `prefix.variant.*`.
    package var variant: String?

    package struct IdRule: Sendable {
        package var unknown: Outcome
        package var wrongRef: String?
        package var wrongType: Outcome
        package var extraSetup: [SetupStep]
        package init(unknown: Outcome = .ENOENT, wrongRef: String? = "ioas", wrongType: Outcome = .ENOENT, extraSetup: [SetupStep] = []) {
            self.unknown = unknown; self.wrongRef = wrongRef; self.wrongType = wrongType; self.extraSetup = extraSetup
        }
        /// An IOAS field: the wrong-type object is a fault queue.
        package static let ioas = IdRule(wrongRef: "fault", extraSetup: [.fault])
    }

    package func call(_ fields: [String: FieldValue]? = nil) -> Call {
        Call(ioctl, fields ?? self.fields, target: target, expect: expect, consumes: consumes, outputs: outputs)
    }
}

package enum Baselines {
    static let i = FieldValue.int
    static let r = FieldValue.ref
    static let C = "iommufd-contract.md §4"
    static let V = "vfio-contract.md"

    /// The baseline table for `profile` (ioctls it lacks are dropped later).
    package static func table(for profile: Profile) -> [Baseline] {
        var t: [Baseline] = [
            Baseline(ioctl: "IOMMU_DESTROY", setup: [.ioas], fields: ["id": r("ioas")], consumes: "ioas",
                     ids: ["id": .init(wrongRef: nil)], reference: C + " (0x80); §2.9"),
            Baseline(ioctl: "IOMMU_IOAS_ALLOC", setup: [], fields: [:], outputs: [.init("out_ioas_id", .object)], reference: C + " (0x81)"),
            Baseline(ioctl: "IOMMU_IOAS_ALLOW_IOVAS", setup: [.ioas], fields: ["ioas_id": r("ioas"), "num_iovas": i(0)],
                     ids: ["ioas_id": .ioas], reference: C + " (0x82)"),
            Baseline(ioctl: "IOMMU_IOAS_COPY", setup: [.ioas, .map],
                     fields: ["flags": i(6), "dst_ioas_id": r("ioas"), "src_ioas_id": r("ioas"), "length": i(Fixed.page), "src_iova": i(Fixed.iova)],
                     ids: ["dst_ioas_id": .ioas, "src_ioas_id": .ioas], reference: C + " (0x83)"),
            Baseline(ioctl: "IOMMU_IOAS_IOVA_RANGES", setup: [.ioas], fields: ["ioas_id": r("ioas"), "num_iovas": i(4), "allowed_iovas": .buffer(64)],
                     ids: ["ioas_id": .ioas], reference: C + " (0x84)"),
            Baseline(ioctl: "IOMMU_IOAS_MAP", setup: [.ioas],
                     fields: ["flags": i(7), "ioas_id": r("ioas"), "user_va": .buffer(Int(Fixed.page)), "length": i(Fixed.page), "iova": i(Fixed.iova)],
                     ids: ["ioas_id": .ioas], reference: C + " (0x85)"),
            Baseline(ioctl: "IOMMU_IOAS_MAP_FILE", setup: [.ioas],
                     fields: ["flags": i(7), "ioas_id": r("ioas"), "fd": .neg(-1), "length": i(Fixed.page), "iova": i(Fixed.iova)],
                     expect: .EBADF, ids: ["ioas_id": .ioas], reference: C + " (0x8f): IOAS lookup before the fd"),
            Baseline(ioctl: "IOMMU_IOAS_UNMAP", setup: [.ioas, .map], fields: ["ioas_id": r("ioas"), "iova": i(Fixed.iova), "length": i(Fixed.page)],
                     ids: ["ioas_id": .ioas], reference: C + " (0x86)"),
            Baseline(ioctl: "IOMMU_OPTION", setup: [.ioas], fields: ["option_id": i(1), "op": i(1), "object_id": r("ioas")],
                     enumExpect: ["option_id": .EOPNOTSUPP, "op": .EOPNOTSUPP], ids: ["object_id": .ioas], reference: C + " (0x87)"),
            Baseline(ioctl: "IOMMU_VFIO_IOAS", setup: [.ioas], fields: ["ioas_id": r("ioas"), "op": i(1)],
                     enumExpect: ["op": .EOPNOTSUPP], ids: ["ioas_id": .ioas], reference: C + " (0x88)"),
            Baseline(ioctl: "IOMMU_HWPT_ALLOC", setup: [.idev], fields: ["dev_id": r("idev"), "pt_id": r("ioas")],
                     outputs: [.init("out_hwpt_id", .object)], enumExpect: ["data_type": .EINVAL],
                     ids: ["dev_id": .init(), "pt_id": .init(unknown: .EINVAL, wrongRef: "idev", wrongType: .EINVAL)],
                     reference: C + " (0x89); §5.2 pt_id → EINVAL"),
            Baseline(ioctl: "IOMMU_GET_HW_INFO", setup: [.idev], fields: ["dev_id": r("idev")], ids: ["dev_id": .init()], reference: C + " (0x8a)"),
            Baseline(ioctl: "IOMMU_HWPT_SET_DIRTY_TRACKING", setup: [.dirtyHwpt], fields: ["hwpt_id": r("dirty_hwpt")],
                     ids: ["hwpt_id": .init()], reference: C + " (0x8b)"),
            Baseline(ioctl: "IOMMU_HWPT_GET_DIRTY_BITMAP", setup: [.dirtyHwpt],
                     fields: ["hwpt_id": r("dirty_hwpt"), "iova": i(Fixed.iova), "length": i(Fixed.page * 8), "page_size": i(Fixed.page), "data": .buffer(8)],
                     ids: ["hwpt_id": .init()], reference: C + " (0x8c)"),
            // An empty array of the selftest type: the kernel still looks the id
            // up and checks the type, then the mock accepts it (7.2 selftest.c).
            Baseline(ioctl: "IOMMU_HWPT_INVALIDATE", setup: [.viommu], fields: ["hwpt_id": r("viommu"), "data_type": i(0xdead_beef), "entry_num": i(0), "entry_len": i(12), "data_uptr": .buffer(12)],
                     ids: ["hwpt_id": .init(wrongType: .EINVAL)], reference: C + " (0x8d); §5.2"),
            Baseline(ioctl: "IOMMU_FAULT_QUEUE_ALLOC", setup: [], fields: [:],
                     outputs: [.init("out_fault_id", .object), .init("out_fault_fd", .fd)], reference: C + " (0x8e)"),
            Baseline(ioctl: "IOMMU_VIOMMU_ALLOC", setup: [.hwpt], fields: ["type": i(Fixed.viommuTypeSelftest), "dev_id": r("idev"), "hwpt_id": r("hwpt")],
                     outputs: [.init("out_viommu_id", .object)], enumExpect: ["type": .EOPNOTSUPP],
                     ids: ["dev_id": .init(), "hwpt_id": .init()], reference: C + " (0x90)"),
            Baseline(ioctl: "IOMMU_VDEVICE_ALLOC", setup: [.viommu], fields: ["viommu_id": r("viommu"), "dev_id": r("idev"), "virt_id": i(Fixed.mockVirtId)],
                     outputs: [.init("out_vdevice_id", .object)], ids: ["viommu_id": .init(), "dev_id": .init()], reference: C + " (0x91)"),
            Baseline(ioctl: "IOMMU_IOAS_CHANGE_PROCESS", setup: [], fields: [:], reference: C + " (0x92)"),
            Baseline(ioctl: "IOMMU_VEVENTQ_ALLOC", setup: [.viommu], fields: ["viommu_id": r("viommu"), "type": i(0xbeef_beef), "veventq_depth": i(2)],
                     outputs: [.init("out_veventq_id", .object), .init("out_veventq_fd", .fd)], ids: ["viommu_id": .init()], reference: C + " (0x93)"),
            Baseline(ioctl: "IOMMU_HW_QUEUE_ALLOC", setup: [.viommu, .map],
                     fields: ["viommu_id": r("viommu"), "type": i(0xdead_beef), "index": i(0), "nesting_parent_iova": i(Fixed.iova), "length": i(Fixed.page)],
                     outputs: [.init("out_hw_queue_id", .object)], enumExpect: ["type": .EOPNOTSUPP], ids: ["viommu_id": .init()], reference: C + " (0x94)"),
            Baseline(ioctl: "IOMMU_TEST_CMD", setup: [], fields: ["op": i(0)], expect: .EOPNOTSUPP, sizeOnly: true,
                     reference: "iommufd-contract.md §7 (unknown op → EOPNOTSUPP)"),
            // VFIO device fd (vfio0): every ioctl but BIND needs a bound device (vfio §2).
            Baseline(ioctl: "VFIO_DEVICE_GET_INFO", setup: [.pciIdev], fields: [:], target: .vfio, reference: V + " §5"),
            Baseline(ioctl: "VFIO_DEVICE_GET_REGION_INFO", setup: [.pciIdev], fields: ["index": i(0)], target: .vfio,
                     enumExpect: ["index": .EINVAL], reference: V + " §5"),
            Baseline(ioctl: "VFIO_DEVICE_FEATURE", setup: [.pciIdev], fields: ["flags": i(0x40000 | 0x10000 | 11)], target: .vfio,
                     reference: V + " §4 (PROBE of DMA_BUF → 0)"),
            Baseline(ioctl: "VFIO_DEVICE_BIND_IOMMUFD", setup: [.ioas, .vfio], fields: ["iommufd": r("iommufd")], target: .vfio,
                     reference: V + " §3"),
            Baseline(ioctl: "VFIO_DEVICE_ATTACH_IOMMUFD_PT", setup: [.ioas, .pciIdev], fields: ["pt_id": r("ioas")], target: .vfio,
                     ids: ["pt_id": .init(unknown: .ENOENT, wrongRef: "pci_idev", wrongType: .EINVAL)], reference: V + " §3"),
            Baseline(ioctl: "VFIO_DEVICE_DETACH_IOMMUFD_PT", setup: [.pciAttach], fields: [:], target: .vfio, reference: V + " §3"),
            // Yilun's RFC (tsm-vfio-rfc only; dropped elsewhere by the filter below): argsz/flags
            // convention, no tail check (the handler copies minsz and never reads pad).
            Baseline(ioctl: "VFIO_DEVICE_TSM_BIND", setup: [.pciVdevice], fields: ["vdevice_id": r("pci_vdevice")], target: .vfio,
                     ids: ["vdevice_id": .init()], reference: "tsm-uapi-history.md §5 (VFIO validation); seed 000"),
            Baseline(ioctl: "VFIO_DEVICE_TSM_UNBIND", setup: [.pciIdev], fields: [:], target: .vfio,
                     reference: "tsm-uapi-history.md §5 (unbind of an unbound device → 0); seed 001"),
        ]
        let H = "tsm-uapi-history.md "
        switch profile.name {
        case "tsm-v2":
            t.append(Baseline(ioctl: "IOMMU_VDEVICE_TSM_OP", setup: [.vdevice], fields: ["op": i(1), "vdevice_id": r("vdevice")],
                              expect: .ENODEV, enumExpect: ["op": .ENODEV], ids: ["vdevice_id": .init()],
                              reference: H + "§8 (no KVM → ENODEV before the op check)"))
            t.append(Baseline(ioctl: "IOMMU_VDEVICE_TSM_GUEST_REQUEST", setup: [.pciVdevice],
                              fields: ["vdevice_id": r("pci_vdevice"), "scope": i(0), "req_len": i(16), "req_uptr": .buffer(16),
                                       "resp_len": i(64), "resp_uptr": .buffer(64)],
                              expect: .ENXIO, enumExpect: ["scope": .EINVAL], ids: ["vdevice_id": .init()],
                              reference: H + "§8 (unbound → ENXIO; scope > 1 → EINVAL)"))
        case "tsm-v5", "tsm-post-v5":
            t.append(Baseline(ioctl: "IOMMU_VDEVICE_TSM_OP", setup: [.pciVdevice], fields: ["type": i(1), "vdevice_id": r("pci_vdevice")],
                              enumExpect: ["type": .EINVAL], ids: ["vdevice_id": .init()], reference: H + "§10 (TSM_OP handler order)"))
            if profile.name == "tsm-v5" {
                t.append(Baseline(ioctl: "IOMMU_VDEVICE_TSM_REQ", setup: [.boundVdevice],
                                  fields: ["vdevice_id": r("bound_vdevice"), "scope": i(0), "req_len": i(16), "req_uptr": .buffer(16),
                                           "resp_len": i(64), "resp_uptr": .buffer(64)],
                                  expect: .okAny, enumExpect: ["scope": .EINVAL], ids: ["vdevice_id": .init()],
                                  reference: H + "§10; seed 003 lines 96-120"))
            } else {
                t.append(Baseline(ioctl: "IOMMU_VDEVICE_TSM_REQ", setup: [.boundVdevice],
                                  fields: ["vdevice_id": r("bound_vdevice"), "op": i(3), "tvm_arch": i(PostV5.arch),
                                           "req_len": i(16), "req_uptr": .buffer(16), "resp_len": i(64), "resp_uptr": .buffer(64)],
                                  expect: .okAny, enumExpect: ["op": .EINVAL, "tvm_arch": .EINVAL], ids: ["vdevice_id": .init()],
                                  reference: H + "§11"))
            }
        default: break
        }
        t += tsmVariants(for: profile)
        return t.filter { profile.ioctl($0.ioctl) != nil }
    }

    /// What a TSM ioctl answers on the two vDEVICE ids every kernel with the
    /// ioctl can offer, no TSM device needed: an unknown id (`on_unknown`:
    /// only the rules checked before the lookup can fire) and the selftest
    /// mock's vDEVICE (`on_mock`: not PCI, no KVM). Per profile: the result
    /// of the otherwise valid call, and of an out-of-range enum field.
    struct TsmVariant {
        var ioctl: String
        var fields: [String: FieldValue]
        var unknown: (expect: Outcome, enums: [String: Outcome])
        /// nil where the profile's main baseline is the mock's vDEVICE already.
        var mock: (expect: Outcome, enums: [String: Outcome])?
        var reference: String
    }

    static func tsmVariants(for profile: Profile) -> [Baseline] {
        let H = "tsm-uapi-history.md "
        let req: [String: FieldValue] = ["scope": i(0), "req_len": i(16), "req_uptr": .buffer(16), "resp_len": i(64), "resp_uptr": .buffer(64)]
        var postV5 = req
        postV5["scope"] = nil
        postV5["op"] = i(3); postV5["tvm_arch"] = i(PostV5.arch)
        let op = TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_OP", fields: ["type": i(1)], unknown: (.ENOENT, ["type": .ENOENT]),
                            mock: (.ENODEV, ["type": .ENODEV]), reference: H + "§10 TSM_OP (flags, lookup, KVM, type); §15")
        var variants: [TsmVariant]
        switch profile.name {
        case "tsm-v2":
            variants = [
                TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_OP", fields: ["op": i(1)], unknown: (.ENOENT, ["op": .ENOENT]),
                           mock: nil, reference: H + "§8 TSM_OP"),
                TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_GUEST_REQUEST", fields: req, unknown: (.ENOENT, ["scope": .ENOENT]),
                           mock: (.EINVAL, ["scope": .EINVAL]), reference: H + "§8 GUEST_REQUEST (no iommufd field checks; scope in the PCI layer)"),
            ]
        case "tsm-v5":
            variants = [op, TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_REQ", fields: req, unknown: (.ENOENT, ["scope": .EINVAL]),
                                       mock: (.EINVAL, ["scope": .EINVAL]),
                                       reference: H + "§10 TSM_REQ (reserved, scope, lookup, non-PCI); §15; seed 003 lines 96-120")]
        case "tsm-post-v5":
            variants = [op, TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_REQ", fields: postV5,
                                       unknown: (.ENOENT, ["op": .EINVAL, "tvm_arch": .EINVAL]),
                                       mock: (.EINVAL, ["op": .EINVAL, "tvm_arch": .EINVAL]), reference: H + "§11")]
        default: variants = []
        }
        return variants.flatMap { v -> [Baseline] in
            var unknown = v.fields, mock = v.fields
            unknown["vdevice_id"] = i(Fixed.largeId)
            mock["vdevice_id"] = r("vdevice")
            var out = [Baseline(ioctl: v.ioctl, setup: [], fields: unknown, expect: v.unknown.expect, enumExpect: v.unknown.enums,
                                reference: v.reference + "; on an unknown vDEVICE id", variant: "on_unknown")]
            if let m = v.mock {
                out.append(Baseline(ioctl: v.ioctl, setup: [.vdevice], fields: mock, expect: m.expect, enumExpect: m.enums,
                                    ids: ["vdevice_id": .init()], reference: v.reference + "; on the selftest mock's vDEVICE",
                                    variant: "on_mock"))
            }
            return out
        }
    }

    package enum PostV5 {
        /// The tvm_arch of the TSM behind vfio0 (the simulator's is SEV = 2).
        package static let arch: UInt64 = 2
    }
}
