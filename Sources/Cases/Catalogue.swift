import Foundation
import Layout

/// The catalogue: per-ioctl perturbations of the baseline, generated from
/// the profile's layouts and behavioural data, plus the hand-written TSM,
/// precedence and VFIO cases, which are case files (fixtures/cases/handwritten).
package enum Catalogue {
    /// Stable id prefix: `iommufd.ioas_map`, `vfio.device_bind_iommufd`.
    package static func prefix(_ ioctl: String) -> String {
        if ioctl.hasPrefix("VFIO_") { return "vfio." + ioctl.dropFirst(5).lowercased() }
        if ioctl.hasPrefix("IOMMU_") { return "iommufd." + ioctl.dropFirst(6).lowercased() }
        return ioctl.lowercased()
    }

    /// The catalogue of `profile`. `fixtures`: the folder holding profiles/
    /// and cases/ (default: `ProfileStore.defaultFixtures()`).
    package static func cases(for profile: Profile, fixtures: String? = nil) throws -> [ConformanceCase] {
        var out: [ConformanceCase] = []
        for b in try Baselines.table(for: profile) { out += generated(b, profile: profile) }
        out += try handwritten(for: profile, fixtures: fixtures)
        return out.filter { c in
            (c.requirements.profiles.map { $0.contains(profile.name) } ?? true) && applies(c, to: profile)
        }
    }

    /// Whether the profile has what the case calls: its ioctl, its `before`
    /// calls' and its setup's (a setup step whose calls need a constant the
    /// profile lacks cannot be made). A case 6.12 cannot express is not part
    /// of its catalogue, as a case of an ioctl it lacks is not.
    static func applies(_ c: ConformanceCase, to p: Profile) -> Bool {
        let has = { (call: Call) in call.fileIO != nil || p.ioctl(call.ioctl) != nil }
        guard has(c.call), c.before.allSatisfy(has) else { return false }
        return SetupStep.chain(c.setup).allSatisfy { step in
            guard let calls = try? step.actions(profile: p) else { return false }
            return calls.allSatisfy { a in
                if case .call(let call) = a { return p.ioctl(call.ioctl) != nil }
                return true
            }
        }
    }

    /// The hand-written cases of `profile`: every case file of
    /// fixtures/cases/handwritten, in file-name order.
    package static func handwritten(for profile: Profile, fixtures: String? = nil) throws -> [ConformanceCase] {
        guard let root = fixtures ?? ProfileStore.defaultFixtures() else {
            throw InputError("no fixtures folder found for the hand-written cases; pass --fixtures DIR or set "
                             + "UAPI_CONFORM_FIXTURES")
        }
        let dir = root + "/cases/handwritten"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }
        guard !files.isEmpty else { throw InputError("no hand-written cases in \(dir)") }
        // Names a case's `profiles` may use: the fixtures' profiles and this one.
        let known = Set((try? ProfileStore(directory: root + "/profiles"))?.names ?? []).union([profile.name])
        var out: [ConformanceCase] = []
        var seen: Set<String> = []
        for f in files.sorted() {
            let path = dir + "/" + f
            for c in try CaseFile.load(path: path, profiles: [profile], knownProfiles: known, leaveOutGaps: true) {
                guard seen.insert(c.id).inserted else { throw InputError("\(path): case \(c.id): duplicate id") }
                out.append(c)
            }
        }
        return out
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// The perturbations of one baseline, family by family.
    static func generated(_ b: Baseline, profile: Profile) -> [ConformanceCase] {
        guard var g = CaseGenerator(b, profile: profile) else { return [] }
        g.sizes()
        if b.sizeOnly { return g.out }
        g.flags()
        if g.iommufd {
            g.reserved()
            g.holes()
        }
        g.ids()
        g.enums()
        return g.out
    }
}

/// Generates the cases of one baseline: each family changes one thing.
struct CaseGenerator {
    let b: Baseline
    let profile: Profile
    let ps: ProfileStruct
    let layout: StructShape
    /// `iommufd.ioas_map`, with the baseline's variant.
    let pre: String
    let iommufd: Bool
    /// copy_struct_from_user checks the tail (iommufd, vfio's BIND).
    let tailChecked: Bool
    let minSize: Int
    private(set) var out: [ConformanceCase] = []

    /// An enum field is a __u32: all ones is 0xffffffff.
    static let allOnes: UInt64 = 0xffff_ffff
    /// Enum values from here up are magic ids of a driver type, not a count.
    static let magicValues: UInt64 = 0x1000_0000

    init?(_ b: Baseline, profile: Profile) {
        guard let io = profile.ioctl(b.ioctl), let ps = profile.structure(io.struct) else { return nil }
        self.b = b; self.profile = profile; self.ps = ps; layout = ps.lp64
        pre = Catalogue.prefix(b.ioctl) + (b.variant.map { "." + $0 } ?? "")
        iommufd = io.family == .iommufd
        tailChecked = io.checksTail
        let last = io.last.flatMap { l in ps.lp64.fields.first { $0.name == l }?.end }
        minSize = io.minSize ?? last ?? ps.lp64.size
    }

    func field(_ name: String) -> FieldLayout? { layout.fields.first { $0.name == name } }

    mutating func add(_ name: String, _ summary: String, fields: [String: FieldValue]? = nil, size: Int? = nil,
                      tail: [UInt8] = [], nullArg: Bool = false, expect: Outcome, setup extra: [SetupStep] = [],
                      reference: String? = nil) {
        var call = b.call(fields, profile: profile)
        call.size = size; call.tail = tail; call.nullArg = nullArg; call.expect = expect
        if !expect.succeeds { call.outputs = []; call.consumes = nil }
        out.append(ConformanceCase(id: "\(pre).\(name)", setup: b.setup + extra, call: call,
                                   reference: reference ?? b.reference, summary: summary))
    }

    /// The baseline with `field` set to `v`.
    func with(_ field: String, _ v: FieldValue) -> [String: FieldValue] {
        var fs = b.fields
        fs[field] = v
        return fs
    }

    /// Size (contract §2.4-5, §6; vfio §1 for argsz): 0, min - 1, the
    /// zero-extended sizes, sizeof, and a zero or non-zero tail.
    mutating func sizes() {
        let ref = iommufd ? "iommufd-contract.md §2.4-5, §6"
            : "vfio-contract.md §1" + (tailChecked ? ", §3 (copy_struct_from_user)" : "")
        add("size.zero", "size word 0", size: 0, expect: .EINVAL, reference: ref)
        add("size.min_minus_1", "size = min - 1 = \(minSize - 1)", size: minSize - 1, expect: .EINVAL, reference: ref)
        // min..<sizeof zero-extends; only when the baseline sets nothing there.
        let setPastMin = b.fields.contains { name, v in
            guard let f = field(name), f.end > minSize else { return false }
            if case .int(0) = v { return false }
            return true
        }
        if !setPastMin {
            for s in stride(from: minSize, to: layout.size, by: 4) {
                add(s == minSize ? "size.min" : "size.short_\(s)", "size = \(s) (zero-extended)", size: s,
                    expect: b.expect, reference: ref)
            }
        }
        add("size.sizeof", "size = sizeof = \(layout.size)", size: layout.size, expect: b.expect, reference: ref)
        add("size.tail_zero", "size = sizeof + 8, zero tail", tail: [UInt8](repeating: 0, count: 8), expect: b.expect,
            reference: ref)
        // Where the vfio handler copies only minsz, the profile says so (6.12's
        // BIND_IOMMUFD: copy_from_user; 7.2's: copy_struct_from_user).
        let tailRef = iommufd || tailChecked ? ref
            : ref + "; \(profile.name): the handler copies minsz, bytes past it are never read"
        for k in 0..<8 {
            var t = [UInt8](repeating: 0, count: 8)
            t[k] = 0x5a
            add("size.tail_nonzero_\(k)", "size = sizeof + 8, byte \(layout.size + k) non-zero", tail: t,
                expect: tailChecked ? .E2BIG : b.expect, reference: tailRef)
        }
        add("size.null_arg", "NULL argument", nullArg: true, expect: .EFAULT,
            reference: iommufd ? "iommufd-contract.md §2.2" : "vfio-contract.md §1")
    }

    /// Flags: every bit the profile leaves undefined, one case each.
    mutating func flags() {
        for (name, mask) in (ps.flags ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let f = field(name) else { continue }
            let base: UInt64 = { if case .int(let v) = b.fields[name] { return v }; return 0 }()
            // The bits this profile defines, named: a bit another version defines is undefined here.
            let bits = ps.flagBits?[name] ?? []
            let defined = "; \(profile.name) defines " + (bits.isEmpty ? "no bit" : bits.joined(separator: " | "))
            for bit in 0..<(min(f.size, 4) * 8) where mask & (1 << UInt64(bit)) == 0 {
                add("flags.\(name).bit\(bit)", "\(name) bit \(bit) (undefined; defined mask \(Catalogue.hex(mask)))",
                    fields: with(name, .int(base | 1 << UInt64(bit))), expect: iommufd ? .EOPNOTSUPP : .EINVAL,
                    reference: (iommufd ? "iommufd-contract.md §3 (unknown flag → EOPNOTSUPP)"
                        : "vfio-contract.md §1 rule 4") + defined)
                // CONFIG_IOMMUFD_TEST kernels take IOAS_COPY flag bit 16 (MOCK_FLAGS_ACCESS_SYZ) for a
                // syzkaller hook before the flags check: the bit is cleared and the copy then finds no
                // source mapping (seen on the 7.2 VM; ioas.c iommufd_test_syz_conv_iova_id()).
                if b.ioctl == "IOMMU_IOAS_COPY" && bit == 16 {
                    out[out.count - 1].expectOnTestKernel = .ENOENT
                    out[out.count - 1].reference += "; with CONFIG_IOMMUFD_TEST: ENOENT (bit 16 is the syzkaller hook "
                        + "MOCK_FLAGS_ACCESS_SYZ; 7.2 VM)"
                }
            }
        }
    }

    /// Must-be-zero fields (iommufd) that are not flags: low bit and top bit.
    mutating func reserved() {
        let unchecked = Set(ps.unchecked ?? [])
        for name in ps.mustBeZero where ps.flags?[name] == nil {
            guard let f = field(name), f.size > 0 else { continue }
            let isUnchecked = unchecked.contains(name)
            let why = isUnchecked ? " (not checked: contract deviation, §5.3)" : ""
            let top = UInt64(1) << UInt64(min(f.size, 8) * 8 - 1)
            for (tag, v) in [("low", UInt64(1)), ("high", top)] {
                add("reserved.\(name).\(tag)", "\(name) = \(Catalogue.hex(v))\(why)", fields: with(name, .int(v)),
                    expect: isUnchecked ? b.expect : .EOPNOTSUPP,
                    reference: isUnchecked ? "iommufd-contract.md §5.3" : "iommufd-contract.md §3, §4")
            }
        }
    }

    /// Implicit holes are not validated (tsm-uapi-history §8, §14): the
    /// baseline with the first byte of each hole set.
    mutating func holes() {
        for hole in layout.layout(named: ps.name).gaps.holes {
            var call = b.call(profile: profile)
            call.rawBytes = [hole.lowerBound: 0x5a]
            out.append(ConformanceCase(id: "\(pre).hole.\(hole.lowerBound)", setup: b.setup, before: [], call: call,
                                       reference: "tsm-uapi-history.md §8, §14 (implicit hole, unvalidated)",
                                       summary: "non-zero byte in the implicit hole at "
                                           + "\(hole.lowerBound)..<\(hole.upperBound)"))
        }
    }

    /// Ids (the profile's `id_fields`): unknown (0 and a large id) and an
    /// object of the wrong type.
    mutating func ids() {
        for (name, type) in (ps.idFields ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard field(name) != nil, !b.noIdCases.contains(name) else { continue }
            let rule = b.ids[name] ?? .forObject(type)
            for (tag, v) in [("zero", UInt64(0)), ("large", Fixed.largeId)] {
                add("id.\(name).unknown_\(tag)", "\(name) = \(v) (no such object)", fields: with(name, .int(v)),
                    expect: rule.unknown,
                    reference: rule.unknown == .EINVAL ? "iommufd-contract.md §5.2" : "iommufd-contract.md §2.8")
            }
            // What the field names decides the errno (one type: a typed lookup, ENOENT; several:
            // any object, then a type check, EINVAL): 6.12's INVALIDATE names hwpt_nested only.
            if let w = rule.wrongRef {
                add("id.\(name).wrong_type", "\(name) = $\(w) (an object of another type)", fields: with(name, .ref(w)),
                    expect: rule.wrongType, setup: rule.extraSetup,
                    reference: (rule.wrongType == .EINVAL ? "iommufd-contract.md §5.2" : "iommufd-contract.md §2.8")
                        + "; \(profile.name): \(name) names \(type)")
            }
        }
    }

    /// Enums: one past the last value, and 0xffffffff.
    mutating func enums() {
        for (name, constants) in (ps.enumFields ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let exp = b.enumExpect[name], field(name) != nil else { continue }
            let values = Set(constants.compactMap { profile.enums[$0] }
                .map { UInt64(bitPattern: $0) & CaseGenerator.allOnes })
            // Magic type values (SELFTEST 0xdeadbeef) are not the end of a range.
            let small = values.filter { $0 < CaseGenerator.magicValues }
            var probes: [(String, UInt64)] = []
            if let m = small.max(), !values.contains(m + 1) { probes.append(("past_last", m + 1)) }
            if !values.contains(CaseGenerator.allOnes) { probes.append(("all_ones", CaseGenerator.allOnes)) }
            for (tag, v) in probes {
                let valid = constants.joined(separator: ", ")
                add("enum.\(name).\(tag)", "\(name) = \(Catalogue.hex(v)) (valid: \(valid))",
                    fields: with(name, .int(v)), expect: exp)
            }
        }
    }
}
