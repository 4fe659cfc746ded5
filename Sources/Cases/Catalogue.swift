import Layout

/// The generated catalogue: per-ioctl perturbations of the baseline, from
/// the profile's layouts and behavioural data, plus the hand-written TSM,
/// precedence and VFIO cases.
package enum Catalogue {
    /// Stable id prefix: `iommufd.ioas_map`, `vfio.device_bind_iommufd`.
    package static func prefix(_ ioctl: String) -> String {
        if ioctl.hasPrefix("VFIO_") { return "vfio." + ioctl.dropFirst(5).lowercased() }
        if ioctl.hasPrefix("IOMMU_") { return "iommufd." + ioctl.dropFirst(6).lowercased() }
        return ioctl.lowercased()
    }

    package static func cases(for profile: Profile) -> [ConformanceCase] {
        var out: [ConformanceCase] = []
        for b in Baselines.table(for: profile) { out += generated(b, profile: profile) }
        out += Handwritten.cases(for: profile)
        return out.filter { c in c.requirements.profiles.map { $0.contains(profile.name) } ?? true }
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// The perturbations of one baseline.
    static func generated(_ b: Baseline, profile: Profile) -> [ConformanceCase] {
        guard let io = profile.ioctl(b.ioctl), let ps = profile.structure(io.struct) else { return [] }
        let layout = ps.lp64
        let pre = prefix(b.ioctl) + (b.variant.map { "." + $0 } ?? "")
        let iommufd = io.family == .iommufd
        let tailChecked = iommufd || b.ioctl == "VFIO_DEVICE_BIND_IOMMUFD"
        let minSize = io.minSize ?? io.last.flatMap { l in layout.fields.first { $0.name == l }?.end } ?? layout.size
        let ref = b.reference
        var out: [ConformanceCase] = []

        func add(_ name: String, _ summary: String, fields: [String: FieldValue]? = nil, size: Int? = nil, tail: [UInt8] = [],
                 nullArg: Bool = false, expect: Outcome, setup extra: [SetupStep] = [], reference: String? = nil) {
            var call = b.call(fields)
            call.size = size; call.tail = tail; call.nullArg = nullArg; call.expect = expect
            if !expect.succeeds { call.outputs = []; call.consumes = nil }
            out.append(ConformanceCase(id: "\(pre).\(name)", setup: b.setup + extra, call: call,
                                       reference: reference ?? ref, summary: summary))
        }

        // Size (contract §2.4-5, §6; vfio §1 for argsz).
        let sizeRef = iommufd ? "iommufd-contract.md §2.4-5, §6" : "vfio-contract.md §1" + (tailChecked ? ", §3 (copy_struct_from_user)" : "")
        add("size.zero", "size word 0", size: 0, expect: .EINVAL, reference: sizeRef)
        add("size.min_minus_1", "size = min - 1 = \(minSize - 1)", size: minSize - 1, expect: .EINVAL, reference: sizeRef)
        // min..<sizeof zero-extends; only when the baseline sets nothing there.
        let setPastMin = b.fields.contains { name, v in
            guard let f = layout.fields.first(where: { $0.name == name }), f.end > minSize else { return false }
            if case .int(0) = v { return false }
            return true
        }
        if !setPastMin {
            var s = minSize
            while s < layout.size {
                add(s == minSize ? "size.min" : "size.short_\(s)", "size = \(s) (zero-extended)", size: s, expect: b.expect, reference: sizeRef)
                s += 4
            }
        }
        add("size.sizeof", "size = sizeof = \(layout.size)", size: layout.size, expect: b.expect, reference: sizeRef)
        add("size.tail_zero", "size = sizeof + 8, zero tail", tail: [UInt8](repeating: 0, count: 8), expect: b.expect, reference: sizeRef)
        for k in 0..<8 {
            var t = [UInt8](repeating: 0, count: 8); t[k] = 0x5a
            add("size.tail_nonzero_\(k)", "size = sizeof + 8, byte \(layout.size + k) non-zero", tail: t,
                expect: tailChecked ? .E2BIG : b.expect, reference: sizeRef)
        }
        add("size.null_arg", "NULL argument", nullArg: true, expect: .EFAULT, reference: iommufd ? "iommufd-contract.md §2.2" : "vfio-contract.md §1")
        if b.sizeOnly { return out }

        // Flags: every undefined bit, one case each.
        for (field, mask) in (ps.flags ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let f = layout.fields.first(where: { $0.name == field }) else { continue }
            let base: UInt64 = { if case .int(let v) = b.fields[field] { return v }; return 0 }()
            for bit in 0..<(min(f.size, 4) * 8) where mask & (1 << UInt64(bit)) == 0 {
                var fs = b.fields; fs[field] = .int(base | 1 << UInt64(bit))
                add("flags.\(field).bit\(bit)", "\(field) bit \(bit) (undefined; defined mask \(hex(mask)))", fields: fs,
                    expect: iommufd ? .EOPNOTSUPP : .EINVAL,
                    reference: iommufd ? "iommufd-contract.md §3 (unknown flag → EOPNOTSUPP)" : "vfio-contract.md §1 rule 4")
                // CONFIG_IOMMUFD_TEST kernels take IOAS_COPY flag bit 16 (MOCK_FLAGS_ACCESS_SYZ) for a
                // syzkaller hook before the flags check: the bit is cleared and the copy then finds no
                // source mapping (seen on the 7.2 VM; ioas.c iommufd_test_syz_conv_iova_id()).
                if b.ioctl == "IOMMU_IOAS_COPY" && bit == 16 {
                    out[out.count - 1].expectOnTestKernel = .ENOENT
                    out[out.count - 1].reference += "; with CONFIG_IOMMUFD_TEST: ENOENT (bit 16 is the syzkaller hook MOCK_FLAGS_ACCESS_SYZ; 7.2 VM)"
                }
            }
        }
        // Must-be-zero fields (iommufd): low bit and top bit.
        if iommufd {
            let unchecked = Set(ps.unchecked ?? [])
            for field in ps.mustBeZero where ps.flags?[field] == nil {
                guard let f = layout.fields.first(where: { $0.name == field }), f.size > 0 else { continue }
                let exp: Outcome = unchecked.contains(field) ? b.expect : .EOPNOTSUPP
                let why = unchecked.contains(field) ? " (not checked: contract deviation, §5.3)" : ""
                let top = UInt64(1) << UInt64(min(f.size, 8) * 8 - 1)
                for (tag, v) in [("low", UInt64(1)), ("high", top)] {
                    var fs = b.fields; fs[field] = .int(v)
                    add("reserved.\(field).\(tag)", "\(field) = \(hex(v))\(why)", fields: fs, expect: exp,
                        reference: unchecked.contains(field) ? "iommufd-contract.md §5.3" : "iommufd-contract.md §3, §4")
                }
            }
            // Implicit holes are not validated (tsm-uapi-history §8, §14).
            for hole in layout.layout(named: ps.name).gaps.holes {
                out.append(ConformanceCase(id: "\(pre).hole.\(hole.lowerBound)", setup: b.setup,
                                           before: [], call: holeCall(b, hole: hole, layout: layout),
                                           reference: "tsm-uapi-history.md §8, §14 (implicit hole, unvalidated)",
                                           summary: "non-zero byte in the implicit hole at \(hole.lowerBound)..<\(hole.upperBound)"))
            }
        }
        // Ids: unknown (0 and a large id) and the wrong object type.
        for (field, rule) in b.ids.sorted(by: { $0.key < $1.key }) where layout.fields.contains(where: { $0.name == field }) {
            for (tag, v) in [("zero", UInt64(0)), ("large", Fixed.largeId)] {
                var fs = b.fields; fs[field] = .int(v)
                add("id.\(field).unknown_\(tag)", "\(field) = \(v) (no such object)", fields: fs, expect: rule.unknown,
                    reference: rule.unknown == .EINVAL ? "iommufd-contract.md §5.2" : "iommufd-contract.md §2.8")
            }
            if let w = rule.wrongRef {
                var fs = b.fields; fs[field] = .ref(w)
                add("id.\(field).wrong_type", "\(field) = $\(w) (an object of another type)", fields: fs, expect: rule.wrongType,
                    setup: rule.extraSetup, reference: rule.wrongType == .EINVAL ? "iommufd-contract.md §5.2" : "iommufd-contract.md §2.8")
            }
        }
        // Enums: one past the last value, and 0xffffffff.
        for (field, names) in (ps.enumFields ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let exp = b.enumExpect[field], layout.fields.contains(where: { $0.name == field }) else { continue }
            let values = Set(names.compactMap { profile.enums[$0] }.map { UInt64(bitPattern: $0) & 0xffff_ffff })
            let small = values.filter { $0 < 0x1000_0000 }
            var probes: [(String, UInt64)] = []
            if let m = small.max(), !values.contains(m + 1) { probes.append(("past_last", m + 1)) }
            if !values.contains(0xffff_ffff) { probes.append(("all_ones", 0xffff_ffff)) }
            for (tag, v) in probes {
                var fs = b.fields; fs[field] = .int(v)
                add("enum.\(field).\(tag)", "\(field) = \(hex(v)) (valid: \(names.joined(separator: ", ")))", fields: fs, expect: exp)
            }
        }
        return out
    }

    /// The baseline with the first byte of an implicit hole set.
    static func holeCall(_ b: Baseline, hole: Range<Int>, layout: StructShape) -> Call {
        var call = b.call()
        call.rawBytes = [hole.lowerBound: 0x5a]
        return call
    }
}
