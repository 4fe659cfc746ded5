/// Header versus profile: every difference named, and ioctl numbers checked
/// against every known version.
package enum ProfileCheck {
    /// What differs between the probed header and `profile` (LP64 against
    /// x86_64, ILP32 against i386 when those ABIs were probed).
    package static func mismatches(_ profile: Profile, scope: UapiScope, layouts: [ABILayout]) -> [Finding] {
        var out: [Finding] = []
        func miss(_ msg: String, _ s: String? = nil, _ f: String? = nil, _ abi: String? = nil) {
            out.append(Finding(rule: "profile-mismatch", severity: .error, struct: s, field: f, abi: abi,
                               message: "\(profile.name): \(msg)"))
        }
        guard let lp64 = layouts.first(where: { $0.abi.name == "x86_64" }) ?? layouts.first else { return out }
        let ilp32 = layouts.first { $0.abi.name == "i386" }
        let headerIoctls = Dictionary(lp64.ioctls.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for pi in profile.ioctls where pi.testOnly != true {
            guard let hi = headerIoctls[pi.name] else { miss("ioctl \(pi.name) (nr 0x\(hex(pi.nr))) is missing from "
                + "the header", pi.struct); continue }
            if hi.type != pi.type || hi.nr != pi.nr {
                miss("\(pi.name) is nr 0x\(hex(hi.nr)) in the header, 0x\(hex(pi.nr)) in the profile", pi.struct)
            }
            if let s = hi.structName, s != pi.struct {
                miss("\(pi.name) takes struct \(s) in the header, \(pi.struct) in the profile", s)
            }
        }
        let profileIoctls = Set(profile.ioctls.map(\.name))
        for hi in lp64.ioctls where !profileIoctls.contains(hi.name) {
            miss("the header defines \(hi.name) (nr 0x\(hex(hi.nr))), which the profile does not have", hi.structName)
        }
        for ps in profile.structs {
            // Selftest-only structs live in the kernel tree, not the installed headers.
            if profile.ioctls.contains(where: { $0.struct == ps.name && $0.testOnly == true }) { continue }
            guard let hl = lp64.layout(of: ps.name) else { miss("struct \(ps.name) is missing from the header",
                                                                ps.name); continue }
            compare(hl, ps.lp64, struct: ps.name, abi: lp64.abi.name, into: &out, profile: profile.name)
            if let ilp32, let hs = ilp32.layout(of: ps.name) {
                compare(hs, ps.ilp32, struct: ps.name, abi: ilp32.abi.name, into: &out, profile: profile.name)
            }
        }
        let profileStructs = Set(profile.structs.map(\.name))
        for hs in lp64.structs where !profileStructs.contains(hs.name) {
            miss("the header has struct \(hs.name), which the profile does not", hs.name)
        }
        for (name, value) in profile.enums.sorted(by: { $0.key < $1.key }) {
            guard scope.constants.contains(where: { $0.name == name }) || lp64.constants[name] != nil else {
                let testKernel = profile.ioctls.contains(where: { $0.testOnly == true })
                if testKernel && ProfileCompletion.isTestConstant(name) || name.hasPrefix("IOMMU_TEST_OP") {
                    continue
                }
                miss("constant \(name) = \(value) is missing from the header", nil, name); continue
            }
            if let hv = lp64.constants[name], hv != value {
                miss("\(name) is \(hv) in the header, \(value) in the profile", nil, name)
            }
        }
        for c in scope.constants where profile.enums[c.name] == nil && lp64.constants[c.name] != nil {
            miss("the header defines \(c.name), which the profile does not", nil, c.name)
        }
        return out
    }

    static func compare(_ h: StructLayout, _ p: StructShape, struct name: String, abi: String,
                        into out: inout [Finding], profile: String) {
        func miss(_ msg: String, _ f: String? = nil) {
            out.append(Finding(rule: "profile-mismatch", severity: .error, struct: name, field: f, abi: abi,
                               message: "\(profile): \(msg)"))
        }
        if h.size != p.size {
            miss("struct \(name) is \(h.size) bytes in the header, \(p.size) in the profile (\(abi))")
        }
        if h.align != p.align {
            miss("struct \(name) has alignment \(h.align) in the header, \(p.align) in the profile (\(abi))")
        }
        for pf in p.fields {
            guard let hf = h.field(pf.name) else { miss("\(name).\(pf.name) is missing from the header (\(abi))",
                                                        pf.name); continue }
            if hf.offset != pf.offset {
                miss("\(name).\(pf.name) moved: offset \(hf.offset) in the header, \(pf.offset) in the "
                    + "profile (\(abi))", pf.name)
            }
            if hf.size != pf.size {
                miss("\(name).\(pf.name) is \(hf.size) bytes in the header, \(pf.size) in the profile (\(abi))",
                     pf.name)
            }
        }
        for hf in h.fields where !p.fields.contains(where: { $0.name == hf.name }) {
            miss("\(name).\(hf.name) (offset \(hf.offset)) is in the header but not the profile (\(abi))", hf.name)
        }
    }

    /// Ioctls of the header (all, or `only`) whose number another version
    /// gives to a different ioctl or struct.
    package static func numberReuse(layouts: [ABILayout], store: ProfileStore, only: Set<String>? = nil) -> [Finding] {
        guard let ref = layouts.first(where: { $0.abi.name == "x86_64" }) ?? layouts.first else { return [] }
        // One finding per collision, naming every version that has it.
        struct Collision: Hashable {
            var ioctl: IoctlLayout; var other: String; var otherStruct: String; var released: Bool
        }
        var order: [Collision] = []
        var versions: [Collision: [String]] = [:]
        for name in store.names {
            guard let p = try? store.resolved(name) else { continue }
            for hi in ref.ioctls where only?.contains(hi.name) ?? true {
                for pi in p.ioctls where pi.family == hi.family && pi.type == hi.type && pi.nr == hi.nr
                    && (pi.name != hi.name || pi.struct != (hi.structName ?? pi.struct)) {
                    let c = Collision(ioctl: hi, other: pi.name, otherStruct: pi.struct, released: p.released)
                    if versions[c] == nil { order.append(c) }
                    versions[c, default: []].append(p.name)
                }
            }
        }
        return order.map { c in
            let hi = c.ioctl
            let where_ = (c.released ? "released " : "posted ") + (versions[c] ?? []).joined(separator: ", ")
            return Finding(rule: "ioctl-number-reuse", severity: c.released ? .error : .warning, struct: hi.structName,
                           field: hi.name,
                           message: "\(hi.name) (struct \(hi.structName ?? "?")) uses nr 0x\(hex(hi.nr)), which is "
                               + "\(c.other) (struct \(c.otherStruct)) in \(where_)")
        }
    }

    /// A profile's flag masks against the constants that name their bits:
    /// every name defined, the mask their OR, no bit named twice.
    package static func flagBitErrors(_ p: Profile) -> [String] {
        var out: [String] = []
        for s in p.structs {
            for (field, names) in (s.flagBits ?? [:]).sorted(by: { $0.key < $1.key }) {
                let values = names.map { p.enums[$0] }
                for (n, v) in zip(names, values) where v == nil {
                    out.append("\(s.name).\(field): \(n) is not defined")
                }
                let bits = values.compactMap { $0 }.map { UInt64(bitPattern: $0) }
                let mask = bits.reduce(0, |)
                if mask != s.flags?[field] {
                    let have = s.flags?[field].map(String.init) ?? "none"
                    out.append("\(s.name).\(field): mask \(have) but its constants give \(mask)")
                }
                if bits.reduce(0, +) != mask { out.append("\(s.name).\(field): two constants share a bit") }
            }
        }
        return out
    }

    package static func hex(_ n: Int) -> String { String(n, radix: 16) }
}
