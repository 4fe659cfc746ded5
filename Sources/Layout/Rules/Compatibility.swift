/// Patch mode: what a patch changes in existing uAPI, judged by what old
/// binaries would see.
package struct Compatibility {
    package let base: (scope: UapiScope, layouts: [ABILayout])
    package let patched: (scope: UapiScope, layouts: [ABILayout])

    package init(base: (UapiScope, [ABILayout]), patched: (UapiScope, [ABILayout])) {
        self.base = (base.0, base.1); self.patched = (patched.0, patched.1)
    }

    /// Structs the patch adds or changes; the design rules run on these.
    package var touchedStructs: Set<String> {
        var out = Set<String>()
        for r in patched.scope.records {
            guard let n = r.name else { continue }
            guard let old = base.scope.record(named: n) else { out.insert(n); continue }
            let sig: (RecordDecl) -> String = { r in
                let members = r.leafMembers.map { m in
                    "\(m.type)|\(m.pointerDepth)|\(m.name ?? "")|\(m.arrayDims)|\(m.attributes)"
                }
                return members.joined(separator: ";") + "\(r.attributes)"
            }
            if sig(old) != sig(r) { out.insert(n) }
        }
        return out
    }

    package var newIoctls: Set<String> {
        Set(patched.scope.ioctls.map(\.name)).subtracting(base.scope.ioctls.map(\.name))
    }

    package func findings() -> [Finding] {
        var out: [Finding] = []
        for pl in patched.layouts {
            guard let bl = base.layouts.first(where: { $0.abi == pl.abi }) else { continue }
            out += structChanges(base: bl, patched: pl)
        }
        // One finding per change, listing the ABIs it shows on.
        var merged: [Finding] = []
        for f in out {
            let same = { (g: Finding) in
                g.rule == f.rule && g.struct == f.struct && g.field == f.field && g.message == f.message
            }
            if let i = merged.firstIndex(where: same) {
                merged[i].abi = [merged[i].abi, f.abi].compactMap { $0 }.joined(separator: ", ")
            } else { merged.append(f) }
        }
        merged = merged.map { f in
            var f = f
            if f.abi?.split(separator: ",").count == patched.layouts.count { f.abi = nil }
            return f
        }
        return merged + ioctlChanges() + constantChanges()
    }

    func structChanges(base bl: ABILayout, patched pl: ABILayout) -> [Finding] {
        var out: [Finding] = []
        for old in bl.structs {
            let loc = patched.scope.record(named: old.name)?.location
            guard let new = pl.layout(of: old.name) else {
                out.append(Finding(rule: "struct-changed-incompatibly", severity: .error, struct: old.name,
                                   abi: pl.abi.name, message: "struct \(old.name) was removed",
                                   location: base.scope.record(named: old.name)?.location))
                continue
            }
            let fields = fieldChanges(old, new, abi: pl.abi.name, location: loc)
            out += fields
            let incompatible = fields.contains { $0.rule == "struct-changed-incompatibly" }
            if new.size < old.size {
                out.append(Finding(rule: "struct-changed-incompatibly", severity: .error, struct: old.name,
                                   abi: pl.abi.name, message: "sizeof shrank from \(old.size) to \(new.size)",
                                   location: loc))
            } else if new.size > old.size && !incompatible {
                let added = new.fields.filter { old.field($0.name) == nil && $0.offset >= old.size }.map(\.name)
                out.append(Finding(rule: "struct-extended", severity: .info, struct: old.name, abi: pl.abi.name,
                                   message: "grew from \(old.size) to \(new.size) bytes by appending "
                                       + "\(added.joined(separator: ", ")) (compatible)", location: loc))
            }
        }
        return out
    }

    /// Each field of `old` in `new`: moved, resized, retyped, gone, or a
    /// reserved field put to use.
    func fieldChanges(_ old: StructLayout, _ new: StructLayout, abi: String, location: SourceLocation?) -> [Finding] {
        let oldDecl = base.scope.record(named: old.name)?.leafMembers ?? []
        let newDecl = patched.scope.record(named: old.name)?.leafMembers ?? []
        func broken(_ field: String, _ message: String) -> Finding {
            Finding(rule: "struct-changed-incompatibly", severity: .error, struct: old.name, field: field, abi: abi,
                    message: message, location: location)
        }
        var out: [Finding] = []
        for of in old.fields {
            if let nf = new.field(of.name) {
                let ot = oldDecl.first { $0.name == of.name }, nt = newDecl.first { $0.name == of.name }
                if nf.offset != of.offset {
                    out.append(broken(of.name, "'\(of.name)' moved from offset \(of.offset) to \(nf.offset)"))
                } else if nf.size != of.size {
                    out.append(broken(of.name, "'\(of.name)' changed size from \(of.size) to \(nf.size)"))
                } else if let ot, let nt, ot.type != nt.type || ot.pointerDepth != nt.pointerDepth {
                    out.append(broken(of.name, "'\(of.name)' changed type from \(ot.type) to \(nt.type)"))
                }
            } else if let reuse = new.fields.first(where: { nf in
                          nf.offset == of.offset && nf.size == of.size && old.field(nf.name) == nil
                      }),
                      ProfileBuilder.isMustBeZero(of.name, doc: base.scope.record(named: old.name)?.doc) {
                out.append(Finding(rule: "reserved-put-to-use", severity: .info, struct: old.name, field: reuse.name,
                                   abi: abi,
                                   message: "reserved '\(of.name)' became '\(reuse.name)' at offset \(of.offset) "
                                       + "(compatible if the kernel rejected non-zero values before)",
                                   location: location))
            } else {
                out.append(broken(of.name, "'\(of.name)' (offset \(of.offset)) was removed or renamed"))
            }
        }
        return out
    }

    func ioctlChanges() -> [Finding] {
        guard let b = base.layouts.first(where: { $0.abi.name == "x86_64" }) ?? base.layouts.first,
              let p = patched.layouts.first(where: { $0.abi == b.abi }) else { return [] }
        var out: [Finding] = []
        for old in b.ioctls {
            let loc = patched.scope.ioctl(named: old.name)?.location
            guard let new = p.ioctl(old.name) else {
                out.append(Finding(rule: "ioctl-number-changed", severity: .error, field: old.name,
                                   message: "\(old.name) was removed",
                                   location: base.scope.ioctl(named: old.name)?.location))
                continue
            }
            if new.request != old.request {
                out.append(Finding(rule: "ioctl-number-changed", severity: .error, struct: new.structName,
                                   field: old.name,
                                   message: "\(old.name) changed from 0x\(String(old.request, radix: 16)) to "
                                       + "0x\(String(new.request, radix: 16))", location: loc))
            }
            if let os = old.structName, let ns = new.structName, os != ns {
                out.append(Finding(rule: "ioctl-number-changed", severity: .error, struct: ns, field: old.name,
                                   message: "\(old.name) now takes struct \(ns) instead of \(os)", location: loc))
            }
        }
        return out
    }

    func constantChanges() -> [Finding] {
        guard let b = base.layouts.first(where: { $0.abi.name == "x86_64" }) ?? base.layouts.first,
              let p = patched.layouts.first(where: { $0.abi == b.abi }) else { return [] }
        var out: [Finding] = []
        for (name, old) in b.constants.sorted(by: { $0.key < $1.key }) {
            guard let new = p.constants[name], new != old else { continue }
            // Sentinels such as *_LAST / *_MAX are meant to move when a value is added.
            let sentinel = name.hasSuffix("_LAST") || name.hasSuffix("_MAX") || name.hasSuffix("_NUM")
            out.append(Finding(rule: "constant-changed", severity: sentinel ? .info : .error, field: name,
                               message: "\(name) changed from \(old) to \(new)",
                               location: patched.scope.constants.first { $0.name == name }?.location))
        }
        return out
    }
}
