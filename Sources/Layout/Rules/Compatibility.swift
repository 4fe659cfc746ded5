/// What a change does to existing uAPI, judged by what old binaries would
/// see: patch mode (base headers against patched ones) and `abi --history`
/// (one version profile against the next) both ask it.
package struct Compatibility {
    package let base: (scope: UapiScope, layouts: [ABILayout])
    package let patched: (scope: UapiScope, layouts: [ABILayout])

    package init(base: (UapiScope, [ABILayout]), patched: (UapiScope, [ABILayout])) {
        self.base = (base.0, base.1); self.patched = (patched.0, patched.1)
    }

    /// One difference an old binary could notice (or, when compatible, not).
    package struct Change: Sendable, Hashable {
        package enum Kind: String, Sendable, CaseIterable {
            case structRemoved, fieldMoved, fieldResized, fieldRetyped, fieldRemoved, shrunk
            case extended, reservedPutToUse
            case ioctlRemoved, ioctlRenumbered, ioctlStructChanged
            case constantChanged, sentinelMoved
        }
        package var kind: Kind
        package var structName: String?
        /// The member, ioctl or constant the change is about.
        package var field: String?
        /// ABIs it shows on; empty when it shows on every ABI compared.
        package var abis: [String]
        package var message: String
        package var location: SourceLocation?

        package var isCompatible: Bool { [.extended, .reservedPutToUse, .sentinelMoved].contains(kind) }

        var rule: String {
            switch kind {
            case .extended: return "struct-extended"
            case .reservedPutToUse: return "reserved-put-to-use"
            case .ioctlRemoved, .ioctlRenumbered, .ioctlStructChanged: return "ioctl-number-changed"
            case .constantChanged, .sentinelMoved: return "constant-changed"
            default: return "struct-changed-incompatibly"
            }
        }

        package var finding: Finding {
            Finding(rule: rule, severity: isCompatible ? .info : .error, struct: structName, field: field,
                    abi: abis.isEmpty ? nil : abis.joined(separator: ", "), message: message, location: location)
        }
    }

    /// Structs the patch adds or changes; the design rules run on these.
    package var touchedStructs: Set<String> {
        var out = Set<String>()
        for r in patched.scope.records {
            guard let n = r.name else { continue }
            guard let old = base.scope.record(named: n) else { out.insert(n); continue }
            let sig: (RecordDecl) -> String = { r in
                r.leafMembers.map { "\($0.type)|\($0.pointerDepth)|\($0.name ?? "")|\($0.arrayDims)|\($0.attributes)" }
                    .joined(separator: ";") + "\(r.attributes)"
            }
            if sig(old) != sig(r) { out.insert(n) }
        }
        return out
    }

    package var newIoctls: Set<String> {
        Set(patched.scope.ioctls.map(\.name)).subtracting(base.scope.ioctls.map(\.name))
    }

    package func findings() -> [Finding] { changes().map(\.finding) }

    /// Every change, struct changes once each with the ABIs they show on.
    package func changes() -> [Change] {
        var merged: [Change] = []
        for pl in patched.layouts {
            guard let bl = base.layouts.first(where: { $0.abi == pl.abi }) else { continue }
            for c in structChanges(base: bl, patched: pl) {
                if let i = merged.firstIndex(where: { $0.kind == c.kind && $0.structName == c.structName
                                                        && $0.field == c.field && $0.message == c.message }) {
                    merged[i].abis += c.abis
                } else { merged.append(c) }
            }
        }
        for i in merged.indices where merged[i].abis.count == patched.layouts.count { merged[i].abis = [] }
        return merged + ioctlChanges() + constantChanges()
    }

    func structChanges(base bl: ABILayout, patched pl: ABILayout) -> [Change] {
        var out: [Change] = []
        for old in bl.structs {
            let loc = patched.scope.record(named: old.name)?.location
            func add(_ k: Change.Kind, _ field: String?, _ msg: String, _ at: SourceLocation? = nil) {
                out.append(Change(kind: k, structName: old.name, field: field, abis: [pl.abi.name], message: msg,
                                  location: at ?? loc))
            }
            guard let new = pl.layout(of: old.name) else {
                add(.structRemoved, nil, "struct \(old.name) was removed", base.scope.record(named: old.name)?.location)
                continue
            }
            let oldDecl = base.scope.record(named: old.name)?.leafMembers ?? []
            let newDecl = patched.scope.record(named: old.name)?.leafMembers ?? []
            var incompatible = false
            for of in old.fields {
                if let nf = new.field(of.name) {
                    let ot = oldDecl.first { $0.name == of.name }, nt = newDecl.first { $0.name == of.name }
                    if nf.offset != of.offset {
                        incompatible = true
                        add(.fieldMoved, of.name, "'\(of.name)' moved from offset \(of.offset) to \(nf.offset)")
                    } else if nf.size != of.size {
                        incompatible = true
                        add(.fieldResized, of.name, "'\(of.name)' changed size from \(of.size) to \(nf.size)")
                    } else if let ot, let nt, ot.type != nt.type || ot.pointerDepth != nt.pointerDepth {
                        incompatible = true
                        add(.fieldRetyped, of.name, "'\(of.name)' changed type from \(ot.type) to \(nt.type)")
                    }
                } else if let reuse = new.fields.first(where: { nf in
                              nf.offset == of.offset && nf.size == of.size && old.field(nf.name) == nil
                          }),
                          ProfileBuilder.isMustBeZero(of.name, doc: base.scope.record(named: old.name)?.doc) {
                    out.append(Change(kind: .reservedPutToUse, structName: old.name, field: reuse.name,
                                      abis: [pl.abi.name],
                                      message: "reserved '\(of.name)' became '\(reuse.name)' at offset \(of.offset) "
                                          + "(compatible if the kernel rejected non-zero values before)",
                                      location: loc))
                } else {
                    incompatible = true
                    add(.fieldRemoved, of.name, "'\(of.name)' (offset \(of.offset)) was removed or renamed")
                }
            }
            if new.size < old.size {
                add(.shrunk, nil, "sizeof shrank from \(old.size) to \(new.size)")
            } else if new.size > old.size && !incompatible {
                let added = new.fields.filter { old.field($0.name) == nil && $0.offset >= old.size }.map(\.name)
                let list = added.joined(separator: ", ")
                add(.extended, nil, "grew from \(old.size) to \(new.size) bytes by appending \(list) (compatible)")
            }
        }
        return out
    }

    /// The reference ABI's layouts (x86_64 when compared): ioctl numbers and
    /// constants are the same fact on every ABI.
    var referencePair: (ABILayout, ABILayout)? {
        guard let b = base.layouts.first(where: { $0.abi.name == "x86_64" }) ?? base.layouts.first,
              let p = patched.layouts.first(where: { $0.abi == b.abi }) else { return nil }
        return (b, p)
    }

    func ioctlChanges() -> [Change] {
        guard let (b, p) = referencePair else { return [] }
        var out: [Change] = []
        for old in b.ioctls {
            let loc = patched.scope.ioctl(named: old.name)?.location
            guard let new = p.ioctl(old.name) else {
                out.append(Change(kind: .ioctlRemoved, field: old.name, abis: [], message: "\(old.name) was removed",
                                  location: base.scope.ioctl(named: old.name)?.location))
                continue
            }
            if new.request != old.request {
                out.append(Change(kind: .ioctlRenumbered, structName: new.structName, field: old.name, abis: [],
                                  message: "\(old.name) changed from 0x\(String(old.request, radix: 16)) "
                                      + "to 0x\(String(new.request, radix: 16))",
                                  location: loc))
            }
            if let os = old.structName, let ns = new.structName, os != ns {
                out.append(Change(kind: .ioctlStructChanged, structName: ns, field: old.name, abis: [],
                                  message: "\(old.name) now takes struct \(ns) instead of \(os)", location: loc))
            }
        }
        return out
    }

    /// Sentinels such as *_LAST, *_MAX or VFIO_PCI_NUM_REGIONS count the
    /// values before them: they are meant to move when a value is added.
    package static func isSentinel(_ name: String) -> Bool {
        name.hasSuffix("_LAST") || name.hasSuffix("_MAX") || name.hasSuffix("_NUM") || name.contains("_NUM_")
    }

    func constantChanges() -> [Change] {
        guard let (b, p) = referencePair else { return [] }
        var out: [Change] = []
        for (name, old) in b.constants.sorted(by: { $0.key < $1.key }) {
            guard let new = p.constants[name], new != old else { continue }
            let kind: Change.Kind = Compatibility.isSentinel(name) ? .sentinelMoved : .constantChanged
            out.append(Change(kind: kind, field: name, abis: [],
                              message: "\(name) changed from \(old) to \(new)",
                              location: patched.scope.constants.first { $0.name == name }?.location))
        }
        return out
    }
}
