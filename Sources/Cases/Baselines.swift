import Layout

/// The call that makes each ioctl otherwise valid, and its outcome: every
/// generated case changes exactly one thing against it.
package struct Baseline: Sendable {
    package var ioctl: String
    package var setup: [SetupStep]
    package var fields: [String: FieldValue]
    package var target: CallTarget = .iommufd
    package var expect: Outcome = .ok
    /// What the call creates; nil = what the profile's struct says it creates
    /// (`Call.Output.created`).
    package var outputs: [Call.Output]?
    package var consumes: String?
    /// Out-of-range enum values: field → errno.
    package var enumExpect: [String: Outcome] = [:]
    /// Id fields (the profile's `id_fields`) whose result differs from the
    /// rule for their object type (`IdRule.forObject`).
    package var ids: [String: IdRule] = [:]
    /// Id fields that get no id cases, each for a reason given where it is set.
    package var noIdCases: Set<String> = []
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
        package init(unknown: Outcome = .ENOENT, wrongRef: String? = "ioas", wrongType: Outcome = .ENOENT,
                     extraSetup: [SetupStep] = []) {
            self.unknown = unknown; self.wrongRef = wrongRef; self.wrongType = wrongType; self.extraSetup = extraSetup
        }
        /// An IOAS field: the wrong-type object is a fault queue.
        package static let ioas = IdRule(wrongRef: "fault", extraSetup: [.fault])

        /// The rule for a field naming an object of `type` (profile `id_fields`):
        /// unknown → ENOENT; an IOAS field is given a fault queue, one that
        /// takes any object (IOMMU_DESTROY) has no wrong type, others an IOAS.
        /// A field naming one of several types (`a_or_b`) is looked up as any
        /// object and its type checked next: the wrong type is EINVAL.
        package static func forObject(_ type: String) -> IdRule {
            switch type {
            case "ioas": return .ioas
            case "any": return IdRule(wrongRef: nil)
            default: return IdFieldType(type).checkedAfterLookup ? IdRule(wrongType: .EINVAL) : IdRule()
            }
        }
    }

    package func call(_ fields: [String: FieldValue]? = nil, profile: Profile) -> Call {
        let outs = outputs ?? Call.Output.created(by: ioctl, profile: profile)
        return Call(ioctl, fields ?? self.fields, target: target, expect: expect, consumes: consumes, outputs: outs)
    }
}

/// Sizes of the buffers TSM requests carry in the catalogue.
package enum TsmBuffers {
    package static let request = 16, response = 64

    /// req/resp lengths and buffers of a TSM request.
    package static var fields: [String: FieldValue] {
        ["req_len": .int(UInt64(request)), "req_uptr": .buffer(request),
         "resp_len": .int(UInt64(response)), "resp_uptr": .buffer(response)]
    }
}

package enum Baselines {
    static let i = FieldValue.int
    static let r = FieldValue.ref
    static let C = "iommufd-contract.md §4"
    /// The type1 container ioctls on /dev/iommu, on the compat IOAS (vfio_compat.c).
    static func compat(_ p: Profile) throws -> [Baseline] {
        let page = Fixed.page, iova = Fixed.iova, ref = "vfio_compat.c "
        return try on(p, "VFIO_IOMMU_GET_INFO") {
            Baseline(ioctl: $0, setup: [.compatIoas], fields: [:], reference: ref + "iommufd_vfio_iommu_get_info")
        } + on(p, "VFIO_IOMMU_MAP_DMA") {
            Baseline(ioctl: $0, setup: [.compatIoas],
                     fields: ["flags": i(try p.constants("VFIO_DMA_MAP_FLAG_READ", "VFIO_DMA_MAP_FLAG_WRITE")),
                              "vaddr": .buffer(Int(page)), "iova": i(iova), "size": i(page)],
                     reference: ref + "iommufd_vfio_map_dma")
        } + on(p, "VFIO_IOMMU_UNMAP_DMA") {
            // The page IOAS_MAP put at Fixed.iova, unmapped through the container.
            Baseline(ioctl: $0, setup: [.map, .compatIoas], fields: ["iova": i(iova), "size": i(page)],
                     reference: ref + "iommufd_vfio_unmap_dma")
        }
    }

    static let V = "vfio-contract.md"
    static let H = "tsm-uapi-history.md "

    /// The baseline table for `profile`, family by family; ioctls the profile
    /// lacks are dropped.
    package static func table(for p: Profile) throws -> [Baseline] {
        let t = try ioas(p) + hwpt(p) + viommu(p) + selftest() + vfio(p) + compat(p) + tsm(p)
            + tsmVariants(p)
        return t.filter { p.ioctl($0.ioctl) != nil }
    }

    /// `make(ioctl)` when the profile has the ioctl, else nothing: a baseline
    /// reads constants only a kernel with its ioctl defines (6.12 has no
    /// vIOMMU type).
    static func on(_ p: Profile, _ ioctl: String, _ make: (String) throws -> Baseline) rethrows -> [Baseline] {
        p.ioctl(ioctl) == nil ? [] : [try make(ioctl)]
    }

    /// IOAS ioctls (0x80-0x88, 0x8f).
    static func ioas(_ p: Profile) throws -> [Baseline] {
        let map = try p.constants("IOMMU_IOAS_MAP_FIXED_IOVA", "IOMMU_IOAS_MAP_READABLE", "IOMMU_IOAS_MAP_WRITEABLE")
        let copy = try p.constants("IOMMU_IOAS_MAP_READABLE", "IOMMU_IOAS_MAP_WRITEABLE")
        let page = Fixed.page, iova = Fixed.iova
        return [
            Baseline(ioctl: "IOMMU_DESTROY", setup: [.ioas], fields: ["id": r("ioas")], consumes: "ioas",
                     reference: C + " (0x80); §2.9"),
            Baseline(ioctl: "IOMMU_IOAS_ALLOC", setup: [], fields: [:], reference: C + " (0x81)"),
            Baseline(ioctl: "IOMMU_IOAS_ALLOW_IOVAS", setup: [.ioas], fields: ["ioas_id": r("ioas"), "num_iovas": i(0)],
                     reference: C + " (0x82)"),
            Baseline(ioctl: "IOMMU_IOAS_COPY", setup: [.ioas, .map],
                     fields: ["flags": i(copy), "dst_ioas_id": r("ioas"), "src_ioas_id": r("ioas"), "length": i(page),
                              "src_iova": i(iova)],
                     reference: C + " (0x83)"),
            Baseline(ioctl: "IOMMU_IOAS_IOVA_RANGES", setup: [.ioas],
                     fields: ["ioas_id": r("ioas"), "num_iovas": i(4), "allowed_iovas": .buffer(64)],
                     reference: C + " (0x84)"),
            Baseline(ioctl: "IOMMU_IOAS_MAP", setup: [.ioas],
                     fields: ["flags": i(map), "ioas_id": r("ioas"), "user_va": .buffer(Int(page)), "length": i(page),
                              "iova": i(iova)],
                     reference: C + " (0x85)"),
            Baseline(ioctl: "IOMMU_IOAS_MAP_FILE", setup: [.ioas],
                     fields: ["flags": i(map), "ioas_id": r("ioas"), "fd": .neg(-1), "length": i(page),
                              "iova": i(iova)],
                     expect: .EBADF, reference: C + " (0x8f): IOAS lookup before the fd"),
            Baseline(ioctl: "IOMMU_IOAS_UNMAP", setup: [.ioas, .map],
                     fields: ["ioas_id": r("ioas"), "iova": i(iova), "length": i(page)], reference: C + " (0x86)"),
            Baseline(ioctl: "IOMMU_OPTION", setup: [.ioas],
                     fields: ["option_id": i(try p.constant("IOMMU_OPTION_HUGE_PAGES")),
                              "op": i(try p.constant("IOMMU_OPTION_OP_GET")), "object_id": r("ioas")],
                     enumExpect: ["option_id": .EOPNOTSUPP, "op": .EOPNOTSUPP], reference: C + " (0x87)"),
            Baseline(ioctl: "IOMMU_VFIO_IOAS", setup: [.ioas],
                     fields: ["ioas_id": r("ioas"), "op": i(try p.constant("IOMMU_VFIO_IOAS_SET"))],
                     enumExpect: ["op": .EOPNOTSUPP], reference: C + " (0x88)"),
        ]
    }

    /// HWPT ioctls and fault queues (0x89-0x8e).
    static func hwpt(_ p: Profile) throws -> [Baseline] {
        let page = Fixed.page
        return [
            // fault_id is only read with FAULT_ID_VALID, which the baseline does not set.
            Baseline(ioctl: "IOMMU_HWPT_ALLOC", setup: [.idev], fields: ["dev_id": r("idev"), "pt_id": r("ioas")],
                     enumExpect: ["data_type": .EINVAL],
                     ids: ["pt_id": .init(unknown: .EINVAL, wrongRef: "idev", wrongType: .EINVAL)],
                     noIdCases: ["fault_id"], reference: C + " (0x89); §5.2 pt_id → EINVAL"),
            Baseline(ioctl: "IOMMU_GET_HW_INFO", setup: [.idev], fields: ["dev_id": r("idev")],
                     reference: C + " (0x8a)"),
            Baseline(ioctl: "IOMMU_HWPT_SET_DIRTY_TRACKING", setup: [.dirtyHwpt], fields: ["hwpt_id": r("dirty_hwpt")],
                     reference: C + " (0x8b)"),
            // Tracking on, the mapped page: 6.12's mock reads no dirty bits while tracking is off
            // (selftest.c mock_domain_read_and_clear_dirty: EINVAL), and 6.12 refuses a range the
            // IOAS does not map (iommu_read_and_clear_dirty returns the area walk's error).
            Baseline(ioctl: "IOMMU_HWPT_GET_DIRTY_BITMAP", setup: [.dirtyTracking, .map],
                     fields: ["hwpt_id": r("dirty_hwpt"), "iova": i(Fixed.iova), "length": i(page),
                              "page_size": i(page), "data": .buffer(8)],
                     reference: C + " (0x8c); tracking on, the mapped page (linux-6.12 refuses a read while tracking "
                        + "is off and one of an unmapped range: EINVAL)"),
            try invalidate(p),
            Baseline(ioctl: "IOMMU_FAULT_QUEUE_ALLOC", setup: [], fields: [:], reference: C + " (0x8e)"),
        ]
    }

    /// An empty array of the selftest type: the kernel still looks the id up
    /// and checks the type, then the mock accepts it (7.2 selftest.c). On the
    /// vIOMMU where the id field may name one (7.2); else on a nested HWPT of
    /// the mock (6.12, whose hwpt_id names only those).
    static func invalidate(_ p: Profile) throws -> Baseline {
        let types = p.structure("iommu_hwpt_invalidate")?.idFields?["hwpt_id"].map(IdFieldType.init)
        let data = try p.constant("IOMMU_HWPT_INVALIDATE_DATA_SELFTEST")
        guard types?.names("viommu") == false else {
            return Baseline(ioctl: "IOMMU_HWPT_INVALIDATE", setup: [.viommu],
                            fields: ["hwpt_id": r("viommu"), "data_type": i(data), "entry_num": i(0),
                                     "entry_len": i(Selftest.viommuInvalidateEntry),
                                     "data_uptr": .buffer(Int(Selftest.viommuInvalidateEntry))],
                            reference: C + " (0x8d); §5.2")
        }
        return Baseline(ioctl: "IOMMU_HWPT_INVALIDATE", setup: [.nestedHwpt],
                        fields: ["hwpt_id": r("nested_hwpt"), "data_type": i(data), "entry_num": i(0),
                                 "entry_len": i(Selftest.hwptInvalidateEntry),
                                 "data_uptr": .buffer(Int(Selftest.hwptInvalidateEntry))],
                        reference: C + " (0x8d); linux-6.12: on a nested HWPT (no vIOMMU), looked up as one, so "
                            + "another object type is ENOENT (6.12 hw_pagetable.c iommufd_get_hwpt_nested)")
    }

    /// 0x90-0x94: vIOMMU, vDEVICE, CHANGE_PROCESS, vEVENTQ and hardware queues, on the selftest driver.
    static func viommu(_ p: Profile) throws -> [Baseline] {
        try on(p, "IOMMU_VIOMMU_ALLOC") {
            Baseline(ioctl: $0, setup: [.hwpt],
                     fields: ["type": i(try p.viommuType()), "dev_id": r("idev"), "hwpt_id": r("hwpt")],
                     enumExpect: ["type": .EOPNOTSUPP], reference: C + " (0x90)")
        } + on(p, "IOMMU_VDEVICE_ALLOC") {
            Baseline(ioctl: $0, setup: [.viommu],
                     fields: ["viommu_id": r("viommu"), "dev_id": r("idev"), "virt_id": i(Fixed.mockVirtId)],
                     reference: C + " (0x91)")
        } + on(p, "IOMMU_IOAS_CHANGE_PROCESS") {
            Baseline(ioctl: $0, setup: [], fields: [:], reference: C + " (0x92)")
        } + on(p, "IOMMU_VEVENTQ_ALLOC") {
            Baseline(ioctl: $0, setup: [.viommu],
                     fields: ["viommu_id": r("viommu"), "type": i(try p.constant("IOMMU_VEVENTQ_TYPE_SELFTEST")),
                              "veventq_depth": i(2)],
                     reference: C + " (0x93)")
        } + on(p, "IOMMU_HW_QUEUE_ALLOC") {
            Baseline(ioctl: $0, setup: [.viommu, .map],
                     fields: ["viommu_id": r("viommu"), "type": i(try p.constant("IOMMU_HW_QUEUE_TYPE_SELFTEST")),
                              "index": i(0), "nesting_parent_iova": i(Fixed.iova), "length": i(Fixed.page)],
                     enumExpect: ["type": .EOPNOTSUPP], reference: C + " (0x94)")
        }
    }

    /// The selftest command: only its size rules, with an op it does not define.
    static func selftest() -> [Baseline] {
        [Baseline(ioctl: "IOMMU_TEST_CMD", setup: [], fields: ["op": i(Selftest.undefinedOp)], expect: .EOPNOTSUPP,
                  sizeOnly: true, reference: "iommufd-contract.md §7 (unknown op → EOPNOTSUPP)")]
    }

    /// VFIO device fd (vfio0): every ioctl but BIND needs a bound device (vfio §2).
    static func vfio(_ p: Profile) throws -> [Baseline] {
        return [
            Baseline(ioctl: "VFIO_DEVICE_GET_INFO", setup: [.pciIdev], fields: [:], target: .vfio,
                     reference: V + " §5"),
            Baseline(ioctl: "VFIO_DEVICE_GET_REGION_INFO", setup: [.pciIdev], fields: ["index": i(0)], target: .vfio,
                     enumExpect: ["index": .EINVAL], reference: V + " §5"),
            try feature(p),
            Baseline(ioctl: "VFIO_DEVICE_BIND_IOMMUFD", setup: [.ioas, .vfio], fields: ["iommufd": r("iommufd")],
                     target: .vfio, reference: V + " §3"),
            Baseline(ioctl: "VFIO_DEVICE_ATTACH_IOMMUFD_PT", setup: [.ioas, .pciIdev], fields: ["pt_id": r("ioas")],
                     target: .vfio, ids: ["pt_id": .init(unknown: .ENOENT, wrongRef: "pci_idev", wrongType: .EINVAL)],
                     reference: V + " §3"),
            Baseline(ioctl: "VFIO_DEVICE_DETACH_IOMMUFD_PT", setup: [.pciAttach], fields: [:], target: .vfio,
                     reference: V + " §3"),
            // Yilun's RFC (tsm-vfio-rfc only; dropped elsewhere by the filter): argsz/flags
            // convention, no tail check (the handler copies minsz and never reads pad).
            Baseline(ioctl: "VFIO_DEVICE_TSM_BIND", setup: [.pciVdevice], fields: ["vdevice_id": r("pci_vdevice")],
                     target: .vfio, reference: H + "§5 (VFIO validation); seed 000"),
            Baseline(ioctl: "VFIO_DEVICE_TSM_UNBIND", setup: [.pciIdev], fields: [:], target: .vfio,
                     reference: H + "§5 (unbind of an unbound device → 0); seed 001"),
        ]
    }

    /// VFIO_DEVICE_FEATURE's baseline: PROBE of the dma-buf export where the
    /// profile defines it (7.2), else PROBE of LOW_POWER_ENTRY, which every
    /// vfio-pci device answers (6.12 has no dma-buf feature).
    static func feature(_ p: Profile) throws -> Baseline {
        let dmaBuf = p.enums["VFIO_DEVICE_FEATURE_DMA_BUF"] != nil
        let probe = dmaBuf ? try p.constants("VFIO_DEVICE_FEATURE_PROBE", "VFIO_DEVICE_FEATURE_GET",
                                             "VFIO_DEVICE_FEATURE_DMA_BUF")
            : try p.constants("VFIO_DEVICE_FEATURE_PROBE", "VFIO_DEVICE_FEATURE_SET",
                              "VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY")
        return Baseline(ioctl: "VFIO_DEVICE_FEATURE", setup: [.pciIdev], fields: ["flags": i(probe)], target: .vfio,
                        reference: V + (dmaBuf ? " §4 (PROBE of DMA_BUF → 0)"
                            : " §4 (PROBE of LOW_POWER_ENTRY → 0; linux-6.12 has no DMA_BUF feature)"))
    }

    /// The TSM ioctls on the PCI vDEVICE, per profile.
    static func tsm(_ p: Profile) throws -> [Baseline] {
        switch p.name {
        case "tsm-v2":
            var req = TsmBuffers.fields
            req["vdevice_id"] = r("pci_vdevice"); req["scope"] = i(0)
            return [
                Baseline(ioctl: "IOMMU_VDEVICE_TSM_OP", setup: [.vdevice],
                         fields: ["op": i(try p.constant("IOMMU_VDEVICE_TSM_BIND")), "vdevice_id": r("vdevice")],
                         expect: .ENODEV, enumExpect: ["op": .ENODEV],
                         reference: H + "§8 (no KVM → ENODEV before the op check)"),
                Baseline(ioctl: "IOMMU_VDEVICE_TSM_GUEST_REQUEST", setup: [.pciVdevice], fields: req,
                         expect: .ENXIO, enumExpect: ["scope": .EINVAL],
                         reference: H + "§8 (unbound → ENXIO; scope > 1 → EINVAL)"),
            ]
        case "tsm-v5", "tsm-post-v5":
            let bind = try p.constant("IOMMU_VDEVICE_TSM_BIND")
            let op = Baseline(ioctl: "IOMMU_VDEVICE_TSM_OP", setup: [.pciVdevice],
                              fields: ["type": i(bind), "vdevice_id": r("pci_vdevice")],
                              enumExpect: ["type": .EINVAL], reference: H + "§10 (TSM_OP handler order)")
            var req = try tsmRequest(p)
            req["vdevice_id"] = r("bound_vdevice")
            let v5 = p.name == "tsm-v5"
            return [op, Baseline(ioctl: "IOMMU_VDEVICE_TSM_REQ", setup: [.boundVdevice], fields: req, expect: .okAny,
                                 enumExpect: v5 ? ["scope": .EINVAL] : ["op": .EINVAL, "tvm_arch": .EINVAL],
                                 reference: v5 ? H + "§10; seed 003 lines 96-120" : H + "§11")]
        default:
            return []
        }
    }

    /// A valid v5 or post-v5 TSM_REQ without its vDEVICE: scope INFO, or
    /// post-v5's OBJECT_INFO on the simulated TSM's arch.
    static func tsmRequest(_ p: Profile) throws -> [String: FieldValue] {
        var req = TsmBuffers.fields
        if p.name == "tsm-post-v5" {
            req["op"] = i(try p.constant("TSM_REQ_OBJECT_INFO")); req["tvm_arch"] = i(try PostV5.arch(p))
        } else {
            req["scope"] = i(0)
        }
        return req
    }

    package enum PostV5 {
        /// The tvm_arch of the TSM behind vfio0: the simulated TSM is SEV.
        package static func arch(_ p: Profile) throws -> UInt64 { try p.constant("IOMMU_VDEVICE_TSM_TVM_ARCH_SEV") }
    }
}

/// Selftest facts the catalogue needs (iommufd_test.h is not an installed header).
package enum Selftest {
    /// struct iommu_viommu_invalidate_selftest { u32 flags; u32 vdev_id; u32 cache_id; }.
    package static let viommuInvalidateEntry: UInt64 = 12
    /// struct iommu_hwpt_invalidate_selftest { u32 flags; u32 iotlb_id; }.
    package static let hwptInvalidateEntry: UInt64 = 8
    /// struct iommu_hwpt_selftest { u32 iotlb; }: the nested HWPT's data.
    package static let hwptData: UInt64 = 4
    /// An IOMMU_TEST_CMD op no selftest defines.
    package static let undefinedOp: UInt64 = 0
}

extension Baselines {
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

    static func tsmVariants(_ p: Profile) throws -> [Baseline] {
        return try variants(p).flatMap { v -> [Baseline] in
            var unknown = v.fields, mock = v.fields
            unknown["vdevice_id"] = i(Fixed.largeId)
            mock["vdevice_id"] = r("vdevice")
            // The unknown id is the one the call already carries: no id cases.
            var out = [Baseline(ioctl: v.ioctl, setup: [], fields: unknown, expect: v.unknown.expect,
                                enumExpect: v.unknown.enums, noIdCases: ["vdevice_id"],
                                reference: v.reference + "; on an unknown vDEVICE id", variant: "on_unknown")]
            if let m = v.mock {
                out.append(Baseline(ioctl: v.ioctl, setup: [.vdevice], fields: mock, expect: m.expect,
                                    enumExpect: m.enums, reference: v.reference + "; on the selftest mock's vDEVICE",
                                    variant: "on_mock"))
            }
            return out
        }
    }

    static func variants(_ p: Profile) throws -> [TsmVariant] {
        guard ["tsm-v2", "tsm-v5", "tsm-post-v5"].contains(p.name) else { return [] }
        let bind = try p.constant("IOMMU_VDEVICE_TSM_BIND")
        if p.name == "tsm-v2" {
            var req = TsmBuffers.fields
            req["scope"] = i(0)
            return [
                TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_OP", fields: ["op": i(bind)], unknown: (.ENOENT, ["op": .ENOENT]),
                           mock: nil, reference: H + "§8 TSM_OP"),
                TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_GUEST_REQUEST", fields: req,
                           unknown: (.ENOENT, ["scope": .ENOENT]), mock: (.EINVAL, ["scope": .EINVAL]),
                           reference: H + "§8 GUEST_REQUEST (no iommufd field checks; scope in the PCI layer)"),
            ]
        }
        let op = TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_OP", fields: ["type": i(bind)],
                            unknown: (.ENOENT, ["type": .ENOENT]), mock: (.ENODEV, ["type": .ENODEV]),
                            reference: H + "§10 TSM_OP (flags, lookup, KVM, type); §15")
        let req = try tsmRequest(p)
        if p.name == "tsm-v5" {
            return [op, TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_REQ", fields: req, unknown: (.ENOENT, ["scope": .EINVAL]),
                                   mock: (.EINVAL, ["scope": .EINVAL]),
                                   reference: H + "§10 TSM_REQ (reserved, scope, lookup, non-PCI); §15; "
                                       + "seed 003 lines 96-120")]
        }
        let ranges: [String: Outcome] = ["op": .EINVAL, "tvm_arch": .EINVAL]
        return [op, TsmVariant(ioctl: "IOMMU_VDEVICE_TSM_REQ", fields: req, unknown: (.ENOENT, ranges),
                               mock: (.EINVAL, ranges), reference: H + "§11")]
    }
}
