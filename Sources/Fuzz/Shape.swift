import Cases
import Layout

/// What a field means to the generator, read off the profile.
package enum FieldKind: Sendable, Hashable {
    /// `size` / `argsz` at offset 0.
    case sizeWord
    /// A flag field: the profile's mask and the constants behind it.
    case flags(mask: UInt64, bits: [UInt64])
    /// Must be zero; `checked` false where this kernel does not look.
    case reserved(checked: Bool)
    /// An enum field: its constants (and the selftest one of the same family).
    case enumeration([UInt64])
    /// The selftest command's `op`: the ops the fuzzer drives, or values no kernel defines
    /// (`Explained.undescribedTestOps`).
    case testOp([UInt64])
    /// An object id of one of these kinds.
    case objectId(Set<ObjectKind>)
    /// An input file descriptor.
    case fd
    /// A user pointer (`pointer_fields`).
    case pointer
    /// A byte length or an element count.
    case length
    /// An I/O virtual address.
    case iova
    /// Written by the kernel: a new object's id, a new fd, or another result.
    case outputId, outputFd, output
    /// Anything else.
    case plain
}

package struct FuzzField: Sendable, Hashable {
    package let name: String
    package let offset: Int
    /// Bytes; values are stored in the first min(size, 8).
    package let size: Int
    package let kind: FieldKind
    package var width: Int { min(size, 8) }
}

/// One ioctl as the fuzzer drives it, resolved from the profile once.
package struct FuzzOp: Sendable {
    package let name: String
    package let request: UInt64
    package let target: CallTarget
    package let family: IoctlFamily
    /// sizeof (LP64) and the kernel's minimum.
    package let size: Int
    package let minSize: Int
    /// Fields in layout order, overlapping union members dropped.
    package let fields: [FuzzField]
    /// The selftest command (its `op` and `id` are typed here, not in the profile).
    package let isTestCommand: Bool

    package func field(_ name: String) -> Int? { fields.firstIndex { $0.name == name } }

    init(_ io: ProfileIoctl, profile: Profile) throws {
        guard let s = profile.structure(io.struct) else {
            throw InputError("profile \(profile.name): \(io.name) names struct \(io.struct), which it lacks")
        }
        name = io.name
        request = ioRequest(type: io.type, nr: io.nr)
        family = io.family
        target = io.family == .vfio ? .vfio : .iommufd
        size = s.lp64.size
        minSize = io.minSize ?? s.lp64.size
        isTestCommand = io.testOnly == true
        var covered = 0
        var out: [FuzzField] = []
        // Overlapping union members: the struct's own fields first (the selftest command's
        // mock_domain outputs), then the dotted members of its union.
        func rank(_ f: FieldLayout) -> (Int, Int) { (f.offset, f.name.contains(".") ? 1 : 0) }
        let ordered = s.lp64.fields.sorted { rank($0) < rank($1) }
        for f in ordered where f.size > 0 && f.offset >= covered {
            let kind = FuzzOp.kind(of: f.name, offset: f.offset, in: s, profile: profile, test: io.testOnly == true)
            out.append(FuzzField(name: f.name, offset: f.offset, size: f.size, kind: kind))
            covered = f.offset + f.size
        }
        fields = out
        unionFds = isTestCommand ? FuzzOp.unionFds(s, profile) : []
    }

    /// The selftest command's output descriptors in union members (`create_access.out_access_fd`):
    /// the op that writes each and where; the sequence closes them at its end.
    package let unionFds: [(op: UInt64, offset: Int)]

    static func unionFds(_ s: ProfileStruct, _ profile: Profile) -> [(op: UInt64, offset: Int)] {
        s.fdFields.compactMap { name in
            guard let dot = name.firstIndex(of: "."), let f = s.lp64.fields.first(where: { $0.name == name }),
                  let op = profile.enums["IOMMU_TEST_OP_" + name[..<dot].uppercased()] else { return nil }
            return (UInt64(bitPattern: op), f.offset)
        }
    }

    static func kind(of name: String, offset: Int, in s: ProfileStruct, profile: Profile, test: Bool) -> FieldKind {
        if offset == 0 && (name == "size" || name == "argsz") { return .sizeWord }
        if let mask = s.flags?[name] {
            let bits = (s.flagBits?[name] ?? []).compactMap { profile.enums[$0] }.map { UInt64(bitPattern: $0) }
            return .flags(mask: mask, bits: bits)
        }
        if s.mustBeZero.contains(name) { return .reserved(checked: !(s.unchecked ?? []).contains(name)) }
        if let names = s.enumFields?[name] { return .enumeration(enumValues(names, profile)) }
        if let type = s.idFields?[name] { return .objectId(ObjectKind.accepted(by: type)) }
        if s.fdFields.contains(name) { return name.hasPrefix("out_") ? .outputFd : .fd }
        if s.pointerFields.contains(name) { return .pointer }
        if test { return testKind(name, profile) }
        if name.hasPrefix("out_") { return name.hasSuffix("_id") || name == "out_devid" ? .outputId : .output }
        if name == "length" || name.hasSuffix("_len") || name.hasPrefix("num_") || name == "entry_num"
            || name.hasSuffix("_depth") || name == "page_size" { return .length }
        if name.contains("iova") || name == "start" { return .iova }
        return .plain
    }

    /// The selftest command: `op` takes the profile's IOMMU_TEST_OP_*,
    /// `id` an IOAS or a paging HWPT, the `out_*` ids are the mock's.
    static func testKind(_ name: String, _ profile: Profile) -> FieldKind {
        switch name {
        case "op":
            let ops = profile.enums.filter { k, _ in
                k.hasPrefix("IOMMU_TEST_OP_") && !Explained.untrackedOps.contains(k)
            }
            return .testOp(ops.values.map { UInt64($0) }.sorted())
        case "id": return .objectId([.ioas, .hwptPaging])
        case let n where n.hasPrefix("out_"): return .outputId
        default: return .plain
        }
    }

    /// An enum field's constants, plus the selftest constant of the same
    /// family (IOMMU_HWPT_DATA_SELFTEST next to IOMMU_HWPT_DATA_NONE): the
    /// mock driver takes only those.
    static func enumValues(_ names: [String], _ profile: Profile) -> [UInt64] {
        var values = names.compactMap { profile.enums[$0] }.map { UInt64(bitPattern: $0) & 0xffff_ffff }
        var common = Substring(names.first ?? "")
        for n in names.dropFirst() { while !n.hasPrefix(common) { common = common.dropLast() } }
        if let cut = common.lastIndex(of: "_") {
            let family = common[...cut]
            for (k, v) in profile.enums where k.hasPrefix(family) && k.hasSuffix("SELFTEST") {
                values.append(UInt64(bitPattern: v) & 0xffff_ffff)
            }
        }
        return Array(Set(values)).sorted()
    }
}
