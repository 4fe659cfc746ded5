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
        let ioctlStructs = Dictionary(scope.ioctls.compactMap { i in i.structName.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
        for r in scope.records {
            guard let name = r.name, onlyStructs?.contains(name) ?? true else { continue }
            out += structFindings(r, name: name, ioctl: ioctlStructs[name])
        }
        out += macroFindings()
        out += headerNumberReuse()
        return out
    }

    func abiList(_ names: [String]) -> String { names.joined(separator: ", ") }

    func structFindings(_ r: RecordDecl, name: String, ioctl: UapiScope.Ioctl?) -> [Finding] {
        var out: [Finding] = []
        let perABI = layouts.compactMap { l in l.layout(of: name).map { (l.abi.name, $0) } }
        guard let ref = reference?.layout(of: name) else { return out }
        let members = r.leafMembers
        func loc(_ field: String?) -> SourceLocation {
            members.first { $0.name == field }?.location ?? r.location
        }

        // Holes and tail padding, per ABI.
        if r.kind == .struct {
            var holes: [String: [String]] = [:]   // "a..b before f" -> abis
            var tails: [String: [String]] = [:]
            for (abi, l) in perABI {
                let g = l.gaps
                for h in g.holes {
                    let after = l.fields.filter { $0.offset >= h.upperBound }.min { $0.offset < $1.offset }?.name ?? "?"
                    holes["\(h.lowerBound)..\(h.upperBound - 1)|\(after)", default: []].append(abi)
                }
                if let t = g.trailing { tails["\(t.lowerBound)..\(t.upperBound - 1)", default: []].append(abi) }
            }
            for (k, abis) in holes.sorted(by: { $0.key < $1.key }) {
                let parts = k.split(separator: "|"); let field = String(parts[1])
                out.append(Finding(rule: "implicit-hole", severity: .error, struct: name, field: field, abi: abiList(abis),
                                   message: "\(abis.count == perABI.count ? "" : "on \(abiList(abis)): ")bytes \(parts[0]) before '\(field)' are compiler padding; name them __reserved and check them",
                                   location: loc(field)))
            }
            for (k, abis) in tails.sorted(by: { $0.key < $1.key }) {
                out.append(Finding(rule: "trailing-padding", severity: .error, struct: name, abi: abiList(abis),
                                   message: "bytes \(k) at the end are padding\(abis.count == perABI.count ? "" : " on \(abiList(abis)) only"); sizeof differs from the end of the last member",
                                   location: r.location))
            }
        }
        if r.isPacked {
            out.append(Finding(rule: "packed-struct", severity: .error, struct: name,
                               message: "struct is packed (alignment \(ref.align)); lay it out naturally with explicit reserved fields", location: r.location))
        }
        for m in members {
            guard let f = m.name else { continue }
            if m.isPointer {
                let differs = perABI.filter { $0.1.field(f)?.size != ref.field(f)?.size }.map(\.0)
                out.append(Finding(rule: "pointer-member", severity: .error, struct: name, field: f,
                                   abi: differs.isEmpty ? nil : abiList(differs),
                                   message: "'\(m.type) *\(f)' is a raw pointer\(differs.isEmpty ? "" : " (\(ref.field(f)?.size ?? 0) bytes on \(reference!.abi.name), different on \(abiList(differs)))"); use __aligned_u64",
                                   location: m.location))
            } else if DesignRules.bareU64Types.contains(m.type) && !m.attributes.contains(where: { $0.contains("aligned") }) {
                var layoutDiffers: [String] = [], alignDiffers: [String] = []
                for (abi, l) in perABI where abi != reference!.abi.name {
                    if l.field(f)?.offset != ref.field(f)?.offset || l.size != ref.size { layoutDiffers.append(abi) }
                    else if l.align != ref.align { alignDiffers.append(abi) }
                }
                if !layoutDiffers.isEmpty {
                    out.append(Finding(rule: "unaligned-u64", severity: .error, struct: name, field: f, abi: abiList(layoutDiffers),
                                       message: "'\(m.type) \(f)' is not __aligned_u64: offset or sizeof differ on \(abiList(layoutDiffers))", location: m.location))
                }
                if !alignDiffers.isEmpty || layoutDiffers.isEmpty {
                    out.append(Finding(rule: "unaligned-u64", severity: .warning, struct: name, field: f,
                                       abi: alignDiffers.isEmpty ? nil : abiList(alignDiffers),
                                       message: "'\(m.type) \(f)' is not __aligned_u64: same offsets, but struct alignment differs\(alignDiffers.isEmpty ? "" : " on \(abiList(alignDiffers))")",
                                       location: m.location))
                }
            }
            let baseType = m.type.replacingOccurrences(of: "const ", with: "")
            if !m.isPointer && (DesignRules.nonFixedTypes.contains(baseType) || baseType.hasPrefix("enum ")) {
                out.append(Finding(rule: "non-fixed-width-member", severity: .error, struct: name, field: f,
                                   message: "'\(m.type) \(f)' has no fixed width or signedness across ABIs; use __u32/__s32/__u64", location: m.location))
            }
            if ProfileBuilder.isFdField(m) && !m.isPointer && (m.type.hasPrefix("__u") || m.type.hasPrefix("unsigned") || m.type.hasPrefix("u")) {
                let output = f.hasPrefix("out_")
                out.append(Finding(rule: "unsigned-fd", severity: output ? .warning : .error, struct: name, field: f,
                                   message: "fd field '\(f)' is \(m.type); file descriptors are __s32\(output ? " (output only)" : "")", location: m.location))
            }
        }
        if ref.size % 8 != 0 {
            out.append(Finding(rule: "size-not-multiple-of-8", severity: .warning, struct: name,
                               message: "sizeof is \(ref.size); it cannot grow by an __aligned_u64 without padding", location: r.location))
        }
        if let ioctl, let first = members.first {
            let want = ioctl.family == .iommufd ? "size" : "argsz"
            if first.name != want || first.type != "__u32" {
                out.append(Finding(rule: "first-member-not-size", severity: .error, struct: name, field: first.name,
                                   message: "\(ioctl.name) struct starts with '\(first.type) \(first.name ?? "")', not '__u32 \(want)'", location: first.location))
            }
        }
        // Cross-ABI: one finding per struct naming the ABIs that differ.
        var groups: [String: [String]] = [:]
        for (abi, l) in perABI {
            let sig = "\(l.size)|" + l.fields.map { "\($0.name)@\($0.offset)/\($0.size)" }.joined(separator: ",")
            groups[sig, default: []].append(abi)
        }
        if groups.count > 1 {
            let refABIs = groups.first { $0.value.contains(reference!.abi.name) }?.value ?? []
            let others = perABI.filter { !refABIs.contains($0.0) }
            let detail = others.prefix(6).map { abi, l -> String in
                if l.size != ref.size { return "\(abi): sizeof \(l.size)" }
                let moved = l.fields.first { $0.offset != ref.field($0.name)?.offset || $0.size != ref.field($0.name)?.size }
                return "\(abi): '\(moved?.name ?? "?")' at \(moved?.offset ?? -1)"
            }.joined(separator: "; ")
            out.append(Finding(rule: "abi-layout-differs", severity: .error, struct: name, abi: abiList(others.map(\.0)),
                               message: "sizeof \(ref.size) on \(reference!.abi.name) and \(refABIs.count - 1) other ABIs, but \(detail)", location: r.location))
        }
        return out
    }

    /// Kernel-only helpers in macro bodies and enum initialisers, by text and
    /// by the compiler refusing the expansion.
    func macroFindings() -> [Finding] {
        var out: [Finding] = []
        var seen = Set<String>()
        let pattern = "\\b(" + DesignRules.kernelOnlyMacros.joined(separator: "|") + ")\\s*\\("
        func scan(_ name: String, _ text: String, _ loc: SourceLocation) {
            guard onlyMacros?.contains(name) ?? true,
                  let r = text.range(of: pattern, options: .regularExpression), seen.insert(name).inserted else { return }
            let used = text[r].prefix { $0 != "(" }.trimmingCharacters(in: .whitespaces)
            out.append(Finding(rule: "kernel-only-macro", severity: .error, field: name,
                               message: "\(name) uses \(used)(), which only the kernel defines; userspace including this header cannot expand it",
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
            let names = list.map(\.name)
            if let onlyStructs, !list.contains(where: { onlyStructs.contains($0.structName ?? "") }) { continue }
            out.append(Finding(rule: "ioctl-number-reuse", severity: .error, struct: list.last?.structName, field: names.last,
                               message: "\(names.joined(separator: " and ")) share number 0x\(String(list[0].request, radix: 16)) (nr 0x\(String(list[0].nr, radix: 16)))",
                               location: scope.ioctl(named: names.last!)?.location))
        }
        return out
    }
}
