/// The selftest command's struct is a union of per-op structs; the earlier
/// profile records the members the catalogue uses (`out_stdev_id`, ...) by
/// their plain names. They are found in the named union member that holds
/// the most of them, and probed as `member.field`.
extension ProfileDump {
    /// Wanted plain names → `member.field` paths in `record`.
    /// A wanted name already written as `member.field` (one of several union
    /// members naming a field alike: `access_rw.flags`) is its own path.
    static func nestedPaths(_ record: RecordDecl, wanted: Set<String>) -> [String: String] {
        let dotted = dottedPaths(record, wanted: wanted.filter { $0.contains(".") })
        return dotted.merging(plainPaths(record, wanted: wanted.filter { !$0.contains(".") })) { a, _ in a }
    }

    static func dottedPaths(_ record: RecordDecl, wanted: Set<String>) -> [String: String] {
        var out: [String: String] = [:]
        for w in wanted {
            let parts = w.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, let m = record.leafMembers.first(where: { $0.name == parts[0] }),
                  m.nested?.leafMembers.contains(where: { $0.name == parts[1] }) == true else { continue }
            out[w] = w
        }
        return out
    }

    static func plainPaths(_ record: RecordDecl, wanted: Set<String>) -> [String: String] {
        var best: (member: String, fields: [String])?
        for m in record.leafMembers {
            guard let name = m.name, let nested = m.nested else { continue }
            let fields = nested.leafMembers.compactMap(\.name).filter(wanted.contains)
            if fields.count > (best?.fields.count ?? 0) { best = (name, fields) }
        }
        guard let best else { return [:] }
        return Dictionary(uniqueKeysWithValues: best.fields.map { ($0, best.member + "." + $0) })
    }

    /// Adds to the selftest structs of `p` the members `like` records that
    /// sit inside one of their union members, with offsets from the compiler.
    static func addNestedSelftestFields(_ p: inout Profile, like: Profile?, tree: HeaderTree, scope: UapiScope) {
        guard let like else { return }
        let testStructs = Set(p.ioctls.filter { $0.testOnly == true }.map(\.struct))
        for i in p.structs.indices where testStructs.contains(p.structs[i].name) {
            let s = p.structs[i]
            guard let old = like.structure(s.name), let decl = scope.record(named: s.name) else { continue }
            let missing = Set(old.lp64.fields.map(\.name)).subtracting(s.lp64.fields.map(\.name))
            let paths = nestedPaths(decl, wanted: missing)
            guard !paths.isEmpty else { continue }
            let probe = { (abi: String) in Self.probe(s.name, paths, abi: abi, tree: tree, scope: scope) }
            p.structs[i].lp64.fields = merged(s.lp64.fields, probe("x86_64"))
            p.structs[i].ilp32.fields = merged(s.ilp32.fields, probe("i386"))
            // Roles of the members found (carryRoles ran before they were there).
            let names = Set(p.structs[i].lp64.fields.map(\.name))
            p.structs[i].pointerFields = Array(Set(s.pointerFields + old.pointerFields.filter(names.contains))).sorted()
            p.structs[i].fdFields = Array(Set(s.fdFields + old.fdFields.filter(names.contains))).sorted()
        }
    }

    static func merged(_ fields: [FieldLayout], _ extra: [FieldLayout]) -> [FieldLayout] {
        (fields + extra).sorted { ($0.offset, $0.name) < ($1.offset, $1.name) }
    }

    static func probe(_ structName: String, _ paths: [String: String], abi: String, tree: HeaderTree,
                      scope: UapiScope) -> [FieldLayout] {
        guard let pick = tree.availableABIs().first(where: { $0.abi.name == abi }) else { return [] }
        let tag = "struct \(structName)"
        let names = paths.keys.sorted()
        let entries = names.flatMap { [LayoutProbe.Entry.fieldOffset(tag, paths[$0]!), .fieldSize(tag, paths[$0]!)] }
        let probe = LayoutProbe(tree: tree, scope: scope)
        let c = probe.compile(abi: pick.abi, asmInclude: pick.asmInclude, entries: entries)
        return names.compactMap { n in
            let path = paths[n]!
            guard let off = c.values[.fieldOffset(tag, path)], let size = c.values[.fieldSize(tag, path)] else {
                return nil
            }
            return FieldLayout(name: n, offset: Int(off), size: Int(size))
        }
    }
}
