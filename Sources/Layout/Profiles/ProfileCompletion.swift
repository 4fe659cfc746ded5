/// What `abi --dump-profile` adds to the probed layouts so that a released
/// kernel's profile is the same kind of data as linux-7.2's:
/// - from its source tree (`--kernel-source`): each ioctl's minimum
///   (iommufd's `IOCTL_OP` last member, vfio's `minsz`), the must-be-zero
///   fields its iommufd handler never reads (`unchecked`), and the selftest
///   command of `iommufd_test.h` (`test_only`);
/// - from an earlier profile (`--like`): the roles no header states (object
///   types of id fields, the constants of enum and flag fields). Constants
///   appended to the same enum after the last one the earlier profile used
///   join them; flag masks are recomputed from the constants.
package struct ProfileCompletion {
    package var like: Profile?
    package var source: KernelSource?
    /// The installed headers' scope; `probed` may add the selftest header.
    package var scope: UapiScope
    package var probed: UapiScope
    package var lp64: ABILayout

    package init(like: Profile?, source: KernelSource?, scope: UapiScope, probed: UapiScope, lp64: ABILayout) {
        self.like = like; self.source = source; self.scope = scope; self.probed = probed; self.lp64 = lp64
    }

    /// Names `iommufd_test.h` contributes that a profile keeps (its ops, the mock's MOCK_* values).
    static func isTestConstant(_ name: String) -> Bool {
        name.contains("SELFTEST") || name.hasPrefix("IOMMU_TEST_OP_") || name.hasPrefix("MOCK_")
    }

    package func apply(to p: inout Profile) throws {
        keepSelftest(&p)
        if let source { try minima(&p, source) }
        if let like { carryRoles(&p, like) }
        for i in p.structs.indices { p.structs[i].flags = masks(of: p.structs[i], enums: p.enums) }
        if let source { unchecked(&p, try source.ioctlOps(), source) }
        if let source { handlerPaths(&p, source) }
    }

    /// Handlers whose paths take fewer flags than their field defines: the
    /// flag field, the path's name and the function that holds its check.
    static let flagPaths: [(structName: String, field: String, path: String, function: String)] = [
        ("iommu_hwpt_alloc", "flags", "paging", "iommufd_hwpt_paging_alloc"),
        ("iommu_hwpt_alloc", "flags", "nested", "iommufd_hwpt_nested_alloc"),
    ]

    /// vfio handlers' tail rule (copy_struct_from_user or not), and each
    /// path's accepted flags (`flagPaths`) where the source has the function.
    func handlerPaths(_ p: inout Profile, _ source: KernelSource) {
        for i in p.ioctls.indices where p.ioctls[i].family == .vfio {
            p.ioctls[i].tailChecked = source.vfioChecksTail(of: p.ioctls[i].struct)
        }
        for i in p.ioctls.indices where p.ioctls[i].name == "IOMMU_HWPT_GET_DIRTY_BITMAP" {
            p.ioctls[i].needsMappedRange = source.dirtyReadNeedsMappedRange()
        }
        for fp in ProfileCompletion.flagPaths {
            guard let i = p.structs.firstIndex(where: { $0.name == fp.structName }),
                  let names = source.acceptedFlags(in: fp.function) else { continue }
            var paths = p.structs[i].pathFlagBits ?? [:]
            paths[fp.field, default: [:]][fp.path] = names.filter { p.enums[$0] != nil }
            p.structs[i].pathFlagBits = paths
        }
    }

    /// The probe saw the selftest header too: keep its ioctl (test_only),
    /// that ioctl's struct and the selftest constants, nothing else of it.
    func keepSelftest(_ p: inout Profile) {
        let installed = Set(scope.ioctls.map(\.name))
        for i in p.ioctls.indices where !installed.contains(p.ioctls[i].name) { p.ioctls[i].testOnly = true }
        let testStructs = Set(p.ioctls.filter { $0.testOnly == true }.map(\.struct))
        p.structs.removeAll { scope.record(named: $0.name) == nil && !testStructs.contains($0.name) }
        let constants = Set(scope.constants.map(\.name))
        p.enums = p.enums.filter { constants.contains($0.key) || ProfileCompletion.isTestConstant($0.key) }
        guard let like else { return }
        // A selftest struct keeps the members the earlier profile records.
        for i in p.structs.indices where testStructs.contains(p.structs[i].name) {
            guard let old = like.structure(p.structs[i].name) else { continue }
            let kept = Set(old.lp64.fields.map(\.name))
            p.structs[i].lp64.fields.removeAll { !kept.contains($0.name) }
            p.structs[i].ilp32.fields.removeAll { !kept.contains($0.name) }
            p.structs[i].mustBeZero.removeAll { !kept.contains($0) }
        }
        let oldTest = Set(like.enums.keys.filter(ProfileCompletion.isTestConstant))
        if !oldTest.isEmpty {
            p.enums = p.enums.filter { !ProfileCompletion.isTestConstant($0.key) || oldTest.contains($0.key) }
        }
    }

    func minima(_ p: inout Profile, _ source: KernelSource) throws {
        let ops = Dictionary(try source.ioctlOps().map { ($0.ioctl, $0) }, uniquingKeysWith: { a, _ in a })
        for i in p.ioctls.indices {
            let io = p.ioctls[i]
            let last = io.family == .iommufd ? ops[io.name]?.last : source.vfioMinimumMember(of: io.struct)
            guard let last else { continue }
            p.ioctls[i].last = last
            p.ioctls[i].minSize = p.structure(io.struct)?.lp64.layout(named: io.struct).offsetOfEnd(last)
        }
    }

    func unchecked(_ p: inout Profile, _ ops: [IoctlOpEntry], _ source: KernelSource) {
        for op in ops {
            guard let i = p.structs.firstIndex(where: { $0.name == op.structName }),
                  let unread = source.unread(p.structs[i].mustBeZero, handler: op.handler), !unread.isEmpty
            else { continue }
            p.structs[i].unchecked = unread
        }
    }

    /// Id, enum, flag and pointer roles of the earlier profile, for the fields
    /// that still exist; enum and flag constants follow the header's enums. A
    /// pointer the kernel-doc does not call one (dirty bitmap's `data`) stays one.
    func carryRoles(_ p: inout Profile, _ like: Profile) {
        for i in p.structs.indices {
            guard let old = like.structure(p.structs[i].name) else { continue }
            let fields = Set(p.structs[i].lp64.fields.map(\.name))
            let known = p.structs[i].pointerFields
            p.structs[i].pointerFields += old.pointerFields.filter { fields.contains($0) && !known.contains($0) }
            func keep<V>(_ m: [String: V]?) -> [String: V]? {
                let k = (m ?? [:]).filter { fields.contains($0.key) }
                return m == nil ? nil : k
            }
            p.structs[i].idFields = keep(old.idFields).map { $0.mapValues { creatable($0, in: p, like: like) } }
            p.structs[i].enumFields = keep(old.enumFields).map { $0.mapValues { follow($0, enums: p.enums) } }
            p.structs[i].flagBits = keep(old.flagBits).map { $0.mapValues { follow($0, enums: p.enums) } }
            p.structs[i].flags = keep(old.flags)
        }
    }

    /// An id field's object types less those this version cannot create:
    /// `IOMMU_<TYPE>_ALLOC` is in the earlier profile and not in this one
    /// (6.12's HWPT_INVALIDATE names no vIOMMU, as 6.12 has none).
    func creatable(_ type: String, in p: Profile, like: Profile) -> String {
        let kept = IdFieldType(type).types.filter { t in
            let alloc = "IOMMU_" + t.uppercased() + "_ALLOC"
            return like.ioctl(alloc) == nil || p.ioctl(alloc) != nil
        }
        return kept.isEmpty ? type : kept.joined(separator: "_or_")
    }

    /// `names` that this version defines, plus the constants its header
    /// appends to the same enum after the last of them (not a sentinel).
    func follow(_ names: [String], enums: [String: Int64]) -> [String] {
        var out = names.filter { enums[$0] != nil }
        for decl in probed.headers.flatMap(\.enums) {
            let members = decl.constants.map(\.name)
            guard let last = members.lastIndex(where: { out.contains($0) }) else { continue }
            let appended = members[(last + 1)...].filter { enums[$0] != nil && !Compatibility.isSentinel($0) }
            out += appended.filter { !out.contains($0) }
        }
        return out
    }

    /// Each flag field's mask: the OR of its constants where the struct
    /// names them, else what it had.
    func masks(of s: ProfileStruct, enums: [String: Int64]) -> [String: UInt64]? {
        guard let bits = s.flagBits else { return s.flags }
        var out = s.flags ?? [:]
        for (field, names) in bits {
            out[field] = names.compactMap { enums[$0] }.reduce(0) { $0 | UInt64(bitPattern: $1) }
        }
        return out
    }
}
