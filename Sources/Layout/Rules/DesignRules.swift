import Foundation

/// Runs the design rules over probed layouts and parsed declarations.
package struct DesignRules {
    package let scope: UapiScope
    package let layouts: [ABILayout]
    package let rejected: [LayoutProbe.Rejected]
    /// Restrict struct rules to these names (patch mode: new or changed structs).
    package let onlyStructs: Set<String>?
    /// Restrict macro rules to these macro / enum constant names (patch mode: new ones).
    package let onlyMacros: Set<String>?

    package init(scope: UapiScope, layouts: [ABILayout], rejected: [LayoutProbe.Rejected],
                 onlyStructs: Set<String>? = nil, onlyMacros: Set<String>? = nil) {
        self.scope = scope; self.layouts = layouts; self.rejected = rejected
        self.onlyStructs = onlyStructs; self.onlyMacros = onlyMacros
    }

    /// Every #define and enum constant the headers declare.
    package static func definedNames(_ headers: [HeaderDecls]) -> Set<String> {
        Set(headers.flatMap { $0.macros.map(\.name) + $0.enums.flatMap { $0.constants.map(\.name) } })
    }

    /// x86_64 when probed: the ABI others are compared against.
    var reference: ABILayout? { layouts.first { $0.abi.name == "x86_64" } ?? layouts.first }

    static let bareU64Types: Set<String> = ["__u64", "__s64", "u64", "s64", "uint64_t", "int64_t",
                                            "unsigned long long", "long long", "__le64", "__be64"]
    static let nonFixedTypes: Set<String> = ["bool", "_Bool", "int", "unsigned", "unsigned int", "signed int", "long",
                                             "unsigned long", "signed long", "long int", "unsigned long int",
                                             "size_t", "ssize_t", "short", "unsigned short", "ptrdiff_t", "uintptr_t"]
    static let kernelOnlyMacros = ["BIT", "BIT_ULL", "GENMASK", "GENMASK_ULL", "FIELD_PREP", "FIELD_GET",
                                   "ARRAY_SIZE", "sizeof_field", "BUILD_BUG_ON", "BIT_MASK", "SZ_4K"]

    package func findings() -> [Finding] {
        var out: [Finding] = []
        let ioctlStructs = Dictionary(scope.ioctls.compactMap { i in i.structName.map { ($0, i) } },
                                      uniquingKeysWith: { a, _ in a })
        for r in scope.records {
            guard let name = r.name, onlyStructs?.contains(name) ?? true else { continue }
            out += structFindings(r, name: name, ioctl: ioctlStructs[name])
        }
        out += macroFindings()
        out += headerNumberReuse()
        return out
    }

    func structFindings(_ r: RecordDecl, name: String, ioctl: UapiScope.Ioctl?) -> [Finding] {
        guard let refABI = reference, let ref = refABI.layout(of: name) else { return [] }
        let perABI = layouts.compactMap { l in l.layout(of: name).map { (l.abi.name, $0) } }
        let s = StructRules(r: r, name: name, ioctl: ioctl, perABI: perABI, ref: ref, refABI: refABI.abi.name)
        return s.padding() + s.packed() + s.members() + s.sizeMultipleOf8() + s.firstMember() + s.layoutDiffers()
    }

    /// Kernel-only helpers in macro bodies and enum initialisers, by text and
    /// by the compiler refusing the expansion.
    func macroFindings() -> [Finding] {
        var out: [Finding] = []
        var seen = Set<String>()
        let pattern = "\\b(" + DesignRules.kernelOnlyMacros.joined(separator: "|") + ")\\s*\\("
        func scan(_ name: String, _ text: String, _ loc: SourceLocation) {
            guard onlyMacros?.contains(name) ?? true, let r = text.range(of: pattern, options: .regularExpression),
                  seen.insert(name).inserted else { return }
            let used = text[r].prefix { $0 != "(" }.trimmingCharacters(in: .whitespaces)
            out.append(Finding(rule: "kernel-only-macro", severity: .error, field: name,
                               message: "\(name) uses \(used)(), which only the kernel defines; "
                                   + "userspace including this header cannot expand it",
                               location: loc))
        }
        for h in scope.headers {
            for m in h.macros where !m.body.isEmpty { scan(m.name, m.body, m.location) }
            for e in h.enums { for c in e.constants { if let x = c.expression { scan(c.name, x, c.location) } } }
        }
        for r in rejected {
            guard case .constant(let name) = r.entry, !seen.contains(name), onlyMacros?.contains(name) ?? true,
                  let loc = scope.constants.first(where: { $0.name == name })?.location else { continue }
            seen.insert(name)
            out.append(Finding(rule: "kernel-only-macro", severity: .error, field: name,
                               message: "\(name) does not expand in userspace: \(r.message)", location: loc))
        }
        return out
    }

    /// Two ioctls of one family with the same number inside this header.
    func headerNumberReuse() -> [Finding] {
        guard let ref = reference else { return [] }
        var out: [Finding] = []
        var byNumber: [String: [IoctlLayout]] = [:]
        // vfio reuses numbers across fd types by design (container vs device);
        // only iommufd's single-fd namespace must be unique.
        for i in ref.ioctls where i.family == .iommufd { byNumber["\(i.type)/\(i.nr)", default: []].append(i) }
        for (_, list) in byNumber.sorted(by: { $0.key < $1.key }) where list.count > 1 {
            guard let first = list.first, let last = list.last else { continue }
            if let onlyStructs, !list.contains(where: { onlyStructs.contains($0.structName ?? "") }) { continue }
            let names = list.map(\.name).joined(separator: " and ")
            let number = "0x\(String(first.request, radix: 16)) (nr 0x\(String(first.nr, radix: 16)))"
            out.append(Finding(rule: "ioctl-number-reuse", severity: .error, struct: last.structName, field: last.name,
                               message: "\(names) share number \(number)",
                               location: scope.ioctl(named: last.name)?.location))
        }
        return out
    }
}

/// The struct rules for one record, one method per rule family.
struct StructRules {
    let r: RecordDecl
    let name: String
    let ioctl: UapiScope.Ioctl?
    /// (ABI name, layout) for every ABI that has the struct.
    let perABI: [(String, StructLayout)]
    /// The layout on the reference ABI (x86_64 when probed).
    let ref: StructLayout
    let refABI: String

    var leaves: [MemberDecl] { r.leafMembers }

    func abiList(_ names: [String]) -> String { names.joined(separator: ", ") }

    func loc(_ field: String?) -> SourceLocation { leaves.first { $0.name == field }?.location ?? r.location }

    /// implicit-hole and trailing-padding: one finding per gap, naming the ABIs that have it.
    func padding() -> [Finding] {
        guard r.kind == .struct else { return [] }
        var holes: [String: [String]] = [:]   // "a..b|field" -> abis
        var tails: [String: [String]] = [:]
        for (abi, l) in perABI {
            let g = l.gaps
            for h in g.holes {
                let after = l.fields.filter { $0.offset >= h.upperBound }.min { $0.offset < $1.offset }?.name ?? "?"
                holes["\(h.lowerBound)..\(h.upperBound - 1)|\(after)", default: []].append(abi)
            }
            if let t = g.trailing { tails["\(t.lowerBound)..\(t.upperBound - 1)", default: []].append(abi) }
        }
        var out: [Finding] = []
        for (k, abis) in holes.sorted(by: { $0.key < $1.key }) {
            let parts = k.split(separator: "|")
            let field = String(parts[1])
            let on = abis.count == perABI.count ? "" : "on \(abiList(abis)): "
            out.append(Finding(rule: "implicit-hole", severity: .error, struct: name, field: field, abi: abiList(abis),
                               message: "\(on)bytes \(parts[0]) before '\(field)' are compiler padding; "
                                   + "name them __reserved and check them",
                               location: loc(field)))
        }
        for (k, abis) in tails.sorted(by: { $0.key < $1.key }) {
            let only = abis.count == perABI.count ? "" : " on \(abiList(abis)) only"
            out.append(Finding(rule: "trailing-padding", severity: .error, struct: name, abi: abiList(abis),
                               message: "bytes \(k) at the end are padding\(only); "
                                   + "sizeof differs from the end of the last member",
                               location: r.location))
        }
        return out
    }

    func packed() -> [Finding] {
        guard r.isPacked else { return [] }
        return [Finding(rule: "packed-struct", severity: .error, struct: name,
                        message: "struct is packed (alignment \(ref.align)); "
                            + "lay it out naturally with explicit reserved fields",
                        location: r.location)]
    }

    /// pointer-member, unaligned-u64, non-fixed-width-member and unsigned-fd, member by member.
    func members() -> [Finding] {
        var out: [Finding] = []
        for m in leaves {
            guard let f = m.name else { continue }
            if m.isPointer {
                out.append(pointer(m, f))
            } else if DesignRules.bareU64Types.contains(m.type)
                        && !m.attributes.contains(where: { $0.contains("aligned") }) {
                out += unalignedU64(m, f)
            }
            let baseType = m.type.replacingOccurrences(of: "const ", with: "")
            if !m.isPointer && (DesignRules.nonFixedTypes.contains(baseType) || baseType.hasPrefix("enum ")) {
                out.append(Finding(rule: "non-fixed-width-member", severity: .error, struct: name, field: f,
                                   message: "'\(m.type) \(f)' has no fixed width or signedness across ABIs; "
                                       + "use __u32/__s32/__u64",
                                   location: m.location))
            }
            let unsigned = m.type.hasPrefix("__u") || m.type.hasPrefix("unsigned") || m.type.hasPrefix("u")
            if ProfileBuilder.isFdField(m) && !m.isPointer && unsigned {
                let output = f.hasPrefix("out_")
                out.append(Finding(rule: "unsigned-fd", severity: output ? .warning : .error, struct: name, field: f,
                                   message: "fd field '\(f)' is \(m.type); file descriptors are __s32"
                                       + (output ? " (output only)" : ""),
                                   location: m.location))
            }
        }
        return out
    }

    func pointer(_ m: MemberDecl, _ f: String) -> Finding {
        let differs = perABI.filter { $0.1.field(f)?.size != ref.field(f)?.size }.map(\.0)
        let detail = differs.isEmpty ? ""
            : " (\(ref.field(f)?.size ?? 0) bytes on \(refABI), different on \(abiList(differs)))"
        return Finding(rule: "pointer-member", severity: .error, struct: name, field: f,
                       abi: differs.isEmpty ? nil : abiList(differs),
                       message: "'\(m.type) *\(f)' is a raw pointer\(detail); use __aligned_u64", location: m.location)
    }

    func unalignedU64(_ m: MemberDecl, _ f: String) -> [Finding] {
        var layoutDiffers: [String] = [], alignDiffers: [String] = []
        for (abi, l) in perABI where abi != refABI {
            if l.field(f)?.offset != ref.field(f)?.offset || l.size != ref.size { layoutDiffers.append(abi) }
            else if l.align != ref.align { alignDiffers.append(abi) }
        }
        var out: [Finding] = []
        if !layoutDiffers.isEmpty {
            out.append(Finding(rule: "unaligned-u64", severity: .error, struct: name, field: f,
                               abi: abiList(layoutDiffers),
                               message: "'\(m.type) \(f)' is not __aligned_u64: offset or sizeof differ on "
                                   + abiList(layoutDiffers),
                               location: m.location))
        }
        if !alignDiffers.isEmpty || layoutDiffers.isEmpty {
            let on = alignDiffers.isEmpty ? "" : " on \(abiList(alignDiffers))"
            out.append(Finding(rule: "unaligned-u64", severity: .warning, struct: name, field: f,
                               abi: alignDiffers.isEmpty ? nil : abiList(alignDiffers),
                               message: "'\(m.type) \(f)' is not __aligned_u64: same offsets, but struct alignment "
                                   + "differs\(on)",
                               location: m.location))
        }
        return out
    }

    func sizeMultipleOf8() -> [Finding] {
        guard ref.size % 8 != 0 else { return [] }
        return [Finding(rule: "size-not-multiple-of-8", severity: .warning, struct: name,
                        message: "sizeof is \(ref.size); it cannot grow by an __aligned_u64 without padding",
                        location: r.location)]
    }

    /// An ioctl's struct starts with `__u32 size` (iommufd) or `__u32 argsz` (vfio).
    func firstMember() -> [Finding] {
        guard let ioctl, let first = leaves.first else { return [] }
        let want = ioctl.family == .iommufd ? "size" : "argsz"
        guard first.name != want || first.type != "__u32" else { return [] }
        return [Finding(rule: "first-member-not-size", severity: .error, struct: name, field: first.name,
                        message: "\(ioctl.name) struct starts with '\(first.type) \(first.name ?? "")', "
                            + "not '__u32 \(want)'",
                        location: first.location)]
    }

    /// Cross-ABI: one finding per struct naming the ABIs that differ.
    func layoutDiffers() -> [Finding] {
        var groups: [String: [String]] = [:]
        for (abi, l) in perABI {
            let sig = "\(l.size)|" + l.fields.map { "\($0.name)@\($0.offset)/\($0.size)" }.joined(separator: ",")
            groups[sig, default: []].append(abi)
        }
        guard groups.count > 1 else { return [] }
        let refABIs = groups.first { $0.value.contains(refABI) }?.value ?? []
        let others = perABI.filter { !refABIs.contains($0.0) }
        let detail = others.prefix(6).map { abi, l -> String in
            if l.size != ref.size { return "\(abi): sizeof \(l.size)" }
            let moved = l.fields.first { f in
                f.offset != ref.field(f.name)?.offset || f.size != ref.field(f.name)?.size
            }
            return "\(abi): '\(moved?.name ?? "?")' at \(moved?.offset ?? -1)"
        }.joined(separator: "; ")
        return [Finding(rule: "abi-layout-differs", severity: .error, struct: name, abi: abiList(others.map(\.0)),
                        message: "sizeof \(ref.size) on \(refABI) and \(refABIs.count - 1) other ABIs, but \(detail)",
                        location: r.location)]
    }
}
