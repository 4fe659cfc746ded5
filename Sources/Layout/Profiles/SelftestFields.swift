/// The selftest command's struct is a union of per-op structs; the earlier
/// profile records the members the catalogue uses (`out_stdev_id`, ...) by
/// their plain names. They are found in the named union member that holds
/// the most of them, and probed as `member.field`.
extension ProfileDump {
    /// Wanted plain names → `member.field` paths in `record`.
    static func nestedPaths(_ record: RecordDecl, wanted: Set<String>) -> [String: String] {
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
        for i in p.structs.indices where p.ioctls.contains(where: { $0.testOnly == true && $0.struct == p.structs[i].name }) {
            let s = p.structs[i]
            guard let old = like.structure(s.name), let decl = scope.record(named: s.name) else { continue }
            let missing = Set(old.lp64.fields.map(\.name)).subtracting(s.lp64.fields.map(\.name))
            let paths = nestedPaths(decl, wanted: missing)
            guard !paths.isEmpty else { continue }
            p.structs[i].lp64.fields = merged(s.lp64.fields, probe(s.name, paths, abi: "x86_64", tree: tree, scope: scope))
            p.structs[i].ilp32.fields = merged(s.ilp32.fields, probe(s.name, paths, abi: "i386", tree: tree, scope: scope))
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
        let c = LayoutProbe(tree: tree, scope: scope).compile(abi: pick.abi, asmInclude: pick.asmInclude, entries: entries)
        return names.compactMap { n in
            guard let off = c.values[.fieldOffset(tag, paths[n]!)], let size = c.values[.fieldSize(tag, paths[n]!)] else {
                return nil
            }
            return FieldLayout(name: n, offset: Int(off), size: Int(size))
        }
    }
}
