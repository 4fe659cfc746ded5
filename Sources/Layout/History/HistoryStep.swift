import Foundation

/// One step of the history: profile `from` against profile `to`.
struct HistoryStep {
    let from: Profile
    let to: Profile
    typealias Entry = AbiHistory.Entry

    func entries() -> [Entry] {
        added() + compatibility() + gained() + removedConstants() + numberReuse() + valueReuse()
    }

    /// What a profile says, as the probe would have seen it on x86_64 and i386.
    static func layouts(_ p: Profile) -> [ABILayout] {
        let ioctls = p.ioctls.map {
            IoctlLayout(name: $0.name, request: UInt64($0.type << 8 | $0.nr), type: $0.type, nr: $0.nr, encodedSize: 0,
                        family: $0.family, structName: $0.struct)
        }
        return [("x86_64", \ProfileStruct.lp64), ("i386", \ProfileStruct.ilp32)].map { abi, shape in
            ABILayout(abi: ABI.named(abi)!, structs: p.structs.map { $0[keyPath: shape].layout(named: $0.name) },
                      ioctls: ioctls, constants: p.enums)
        }
    }

    func added() -> [Entry] {
        var out: [Entry] = []
        for s in to.structs where from.structure(s.name) == nil {
            out.append(Entry(kind: .added, item: .struct, name: s.name, abis: [], detail: "\(s.lp64.size) bytes (LP64)",
                             incompatible: false))
        }
        for i in to.ioctls where from.ioctl(i.name) == nil {
            out.append(Entry(kind: .added, item: .ioctl, name: i.name, abis: [],
                             detail: "\(i.family.rawValue) nr 0x\(ProfileCheck.hex(i.nr)), struct \(i.struct)",
                             incompatible: false))
        }
        for (name, v) in to.enums.sorted(by: { $0.key < $1.key }) where from.enums[name] == nil {
            out.append(Entry(kind: .added, item: .constant, name: name, abis: [], detail: "= \(v)",
                             incompatible: false))
        }
        return out
    }

    /// Struct, ioctl and constant changes as patch mode judges them.
    func compatibility() -> [Entry] {
        let none = UapiScope(headers: [])
        let c = Compatibility(base: (none, Self.layouts(from)), patched: (none, Self.layouts(to)))
        return c.changes().map(Self.entry)
    }

    static func entry(_ c: Compatibility.Change) -> Entry {
        let kind: AbiHistory.Kind, item: AbiHistory.Item
        switch c.kind {
        case .structRemoved: (kind, item) = (.removed, .struct)
        case .ioctlRemoved: (kind, item) = (.removed, .ioctl)
        case .extended, .reservedPutToUse: (kind, item) = (.grown, .struct)
        case .sentinelMoved: (kind, item) = (.grown, .constant)
        case .constantChanged: (kind, item) = (.changedIncompatibly, .constant)
        case .ioctlRenumbered, .ioctlStructChanged: (kind, item) = (.changedIncompatibly, .ioctl)
        case .fieldMoved, .fieldResized, .fieldRetyped, .fieldRemoved, .shrunk:
            (kind, item) = (.changedIncompatibly, .struct)
        }
        let name = item == .struct ? c.structName ?? "" : c.field ?? ""
        return Entry(kind: kind, item: item, name: name, field: item == .struct ? c.field : nil, abis: c.abis,
                     detail: c.message, incompatible: !c.isCompatible)
    }

    /// A constant that went; when a reserved spelling of it keeps its value
    /// (`__VFIO_RESERVED_TYPE1_NESTING_IOMMU`), the number stays reserved.
    func removedConstants() -> [Entry] {
        from.enums.keys.sorted().filter { to.enums[$0] == nil }.map { name in
            let value = from.enums[name]!
            let keeper = to.enums.keys.sorted().first { n in
                from.enums[n] == nil && to.enums[n] == value && n.contains("RESERVED")
                    && n.replacingOccurrences(of: "RESERVED_", with: "").trimmingCharacters(in: ["_"]) == name
            }
            let fate = keeper.map { "renamed \($0), which keeps the value reserved" } ?? "is gone"
            return Entry(kind: .removed, item: .constant, name: name, abis: [],
                         detail: "\(name) (= \(value)) \(fate): programs that name it no longer build; "
                             + "binaries are unaffected",
                         incompatible: false)
        }
    }

    /// A number `from` gave one ioctl that `to` gives another.
    func numberReuse() -> [Entry] {
        var out: [Entry] = []
        for new in to.ioctls {
            for old in from.ioctls where old.family == new.family && old.type == new.type && old.nr == new.nr
                && old.name != new.name {
                out.append(Entry(kind: .ioctlNumberReused, item: .ioctl, name: new.name, abis: [],
                                 detail: "nr 0x\(ProfileCheck.hex(new.nr)) was \(old.name) (struct \(old.struct)) "
                                     + "in \(from.name), is \(new.name) (struct \(new.struct)) in \(to.name)",
                                 incompatible: true))
            }
        }
        return out
    }

    /// Flag and enum fields whose constants `to` adds: compatible growth
    /// (the kernel rejected those values before).
    func gained() -> [Entry] {
        var out: [Entry] = []
        for new in to.structs {
            guard let old = from.structure(new.name) else { continue }
            for (what, o, n) in [("flag", old.flagBits, new.flagBits), ("value", old.enumFields, new.enumFields)] {
                for (field, names) in (n ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let before = o?[field] else { continue }
                    let extra = names.filter { !before.contains($0) && from.enums[$0] == nil }
                    guard !extra.isEmpty else { continue }
                    let list = extra.map { "\($0) (0x\(to.enums[$0].map { String($0, radix: 16) } ?? "?"))" }
                    out.append(Entry(kind: .grown, item: .struct, name: new.name, field: field, abis: [],
                                     detail: "\(field) gained \(what) \(list.joined(separator: ", "))",
                                     incompatible: false))
                }
            }
        }
        return out
    }

    /// A flag bit or enum value that named one thing and now names another.
    func valueReuse() -> [Entry] {
        var out: [Entry] = []
        for new in to.structs {
            guard let old = from.structure(new.name) else { continue }
            let pairs: [(AbiHistory.Kind, [String: [String]]?, [String: [String]]?)] = [
                (.flagBitReused, old.flagBits, new.flagBits), (.enumValueReused, old.enumFields, new.enumFields)]
            for (kind, o, n) in pairs {
                for (field, newNames) in (n ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let oldNames = o?[field] else { continue }
                    out += reused(kind, struct: new.name, field: field, old: oldNames, new: newNames)
                }
            }
        }
        return out
    }

    func reused(_ kind: AbiHistory.Kind, struct s: String, field: String, old: [String], new: [String]) -> [Entry] {
        var out: [Entry] = []
        for o in old {
            guard let ov = from.enums[o], to.enums[o] != ov else { continue }   // still there, same value: no reuse
            for n in new where n != o {
                guard let nv = to.enums[n] else { continue }
                let clash = kind == .flagBitReused ? (UInt64(bitPattern: ov) & UInt64(bitPattern: nv)) != 0 : ov == nv
                guard clash else { continue }
                let shared = String(UInt64(bitPattern: ov) & UInt64(bitPattern: nv), radix: 16)
                let what = kind == .flagBitReused ? "bit(s) 0x\(shared)" : "value \(nv)"
                out.append(Entry(kind: kind, item: .struct, name: s, field: field, abis: [],
                                 detail: "\(s).\(field) \(what) meant \(o) in \(from.name), means \(n) in \(to.name)",
                                 incompatible: true))
            }
        }
        return out
    }
}
