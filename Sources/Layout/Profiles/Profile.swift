import Foundation

/// A uAPI version as data: which ioctls exist with which numbers and
/// structs, the struct layouts on LP64 (x86_64) and ILP32 (i386), enum
/// values, and the fields with a meaning a layout does not show. Stored as
/// JSON in fixtures/profiles/; a profile may name a `base` and list only
/// what it adds, replaces or removes.
package struct Profile: Codable, Sendable {
    package var name: String
    package var title: String
    package var date: String?
    /// A released kernel (true) or a posted series / draft (false). Number
    /// reuse against a released profile is an error, against a posting a warning.
    package var released: Bool
    package var base: String?
    /// Where the facts come from (note section, seed file and line).
    package var sources: [String]
    package var ioctls: [ProfileIoctl]
    package var removeIoctls: [String]?
    package var structs: [ProfileStruct]
    package var removeStructs: [String]?
    package var enums: [String: Int64]
    package var removeEnums: [String]?
    /// Behaviour this version documents that differs from the generic
    /// contract (what a second bind returns, say); free text for humans.
    package var behaviour: [String: String]?

    package func ioctl(_ name: String) -> ProfileIoctl? { ioctls.first { $0.name == name } }
    package func structure(_ name: String) -> ProfileStruct? { structs.first { $0.name == name } }
}

package struct ProfileIoctl: Codable, Sendable, Hashable {
    package var name: String
    package var family: IoctlFamily
    /// `_IOC_TYPE` and `_IOC_NR`; the request itself depends on the ABI's
    /// `_IOC` encoding, these do not.
    package var type: Int
    package var nr: Int
    package var `struct`: String
    /// The member IOCTL_OP() names; the kernel's minimum size is its offsetofend.
    package var last: String?
    package var minSize: Int?
    /// Not in the installed headers: the selftest command of a kernel built
    /// with CONFIG_IOMMUFD_TEST (drivers/iommu/iommufd/iommufd_test.h).
    package var testOnly: Bool?
    /// Whether bytes past sizeof must be zero (copy_struct_from_user: E2BIG)
    /// or are never read (copy_from_user of minsz). Recorded for vfio ioctls,
    /// whose handlers differ; nil: iommufd's dispatch, which always checks.
    package var tailChecked: Bool?
    /// IOMMU_HWPT_GET_DIRTY_BITMAP: whether a range the IOAS does not map in
    /// full is refused (EINVAL: the area walk's error reaches the caller, 6.12)
    /// or read as clean (7.2 drops that error). nil: not recorded, read as clean.
    package var needsMappedRange: Bool?

    /// Whether a non-zero byte past sizeof is refused (E2BIG).
    package var checksTail: Bool { tailChecked ?? (family == .iommufd) }
}

package struct StructShape: Codable, Sendable, Hashable {
    package var size: Int
    package var align: Int
    package var fields: [FieldLayout]

    package init(size: Int, align: Int,
                 fields: [FieldLayout]) { self.size = size; self.align = align; self.fields = fields }
    package init(_ l: StructLayout) { self.init(size: l.size, align: l.align, fields: l.fields) }
    package func layout(named name: String) -> StructLayout { StructLayout(name: name, size: size, align: align,
                                                                           fields: fields) }
}

package struct ProfileStruct: Codable, Sendable, Hashable {
    package var name: String
    package var lp64: StructShape
    package var ilp32: StructShape
    /// Fields the header documents as "must be 0" (reserved, pad).
    package var mustBeZero: [String]
    /// must-be-zero fields this version's kernel does not actually check.
    package var unchecked: [String]?
    /// Fields carrying user pointers (`*_uptr`) and file descriptors.
    package var pointerFields: [String]
    package var fdFields: [String]
    /// Flag fields and the bits this version defines for them.
    package var flags: [String: UInt64]?
    /// The constants (enum values or macros) whose bits make up each flag
    /// mask: what a bit means, so a bit that changes meaning is seen.
    package var flagBits: [String: [String]]?
    /// Flag fields whose handler takes fewer bits on one of its paths: field →
    /// path → the constants that path takes (iommu_hwpt_alloc: `paging` for an
    /// IOAS, `nested` for a HWPT), from the kernel source.
    package var pathFlagBits: [String: [String: [String]]]?
    /// Enum-typed fields and the enum (constant-name prefix) they take.
    package var enumFields: [String: [String]]?
    /// Fields naming iommufd objects, with the object type they must name.
    package var idFields: [String: String]?
}

/// An id field's object types (`id_fields`: `ioas`, `hwpt_nested_or_viommu`).
/// One type is a typed lookup, so another type is ENOENT; several are a lookup
/// of any object whose type is checked next, so another type is EINVAL.
package struct IdFieldType: Sendable, Hashable {
    package let types: [String]
    package init(_ text: String) { types = text.components(separatedBy: "_or_") }
    package var checkedAfterLookup: Bool { types.count > 1 }
    package func names(_ type: String) -> Bool { types.contains(type) }
}

package struct ProfileStore: Sendable {
    package let directory: String
    package let profiles: [String: Profile]

    package init(directory: String) throws {
        self.directory = directory
        var map: [String: Profile] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard !files.isEmpty else { throw InputError("no profiles in \(directory)") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        for f in files.sorted() where f.hasSuffix(".json") {
            let path = directory + "/" + f
            guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read \(path)") }
            do {
                let p = try decoder.decode(Profile.self, from: data)
                map[p.name] = p
            } catch {
                throw InputError("\(path): not a valid profile: \(ProfileStore.describe(error))")
            }
        }
        profiles = map
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let k, let c): return "missing \(k.stringValue) at "
            + "\(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c),
             DecodingError.dataCorrupted(let c):
            return "\(c.debugDescription) at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }

    package var names: [String] { profiles.keys.sorted() }

    /// The profile with its base chain applied.
    package func resolved(_ name: String) throws -> Profile {
        try resolve(name, seen: [])
    }

    func resolve(_ name: String, seen: Set<String>) throws -> Profile {
        guard let p = profiles[name] else {
            throw InputError("unknown profile '\(name)'; known: \(names.joined(separator: ", "))")
        }
        guard let baseName = p.base else { return p }
        guard !seen.contains(name) else { throw InputError("profile \(name): base chain loops") }
        var out = try resolve(baseName, seen: seen.union([name]))
        out.name = p.name; out.title = p.title; out.date = p.date; out.released = p.released
        out.sources = p.sources; out.base = p.base; out.behaviour = p.behaviour
        let removedIoctls = Set(p.removeIoctls ?? [])
        out.ioctls.removeAll { removedIoctls.contains($0.name) || p.ioctl($0.name) != nil }
        out.ioctls += p.ioctls
        let removedStructs = Set(p.removeStructs ?? [])
        out.structs.removeAll { removedStructs.contains($0.name) || p.structure($0.name) != nil }
        out.structs += p.structs
        for e in p.removeEnums ?? [] { out.enums[e] = nil }
        out.enums.merge(p.enums) { _, new in new }
        out.removeIoctls = nil; out.removeStructs = nil; out.removeEnums = nil
        return out
    }

    /// fixtures/profiles: `$UAPI_CONFORM_FIXTURES`, ./fixtures, or the
    /// nearest fixtures/ above the executable (a SwiftPM build folder).
    package static func defaultFixtures() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["UAPI_CONFORM_FIXTURES"], !env.isEmpty { return env }
        if fm.fileExists(atPath: fm.currentDirectoryPath + "/fixtures/profiles") {
            return fm.currentDirectoryPath + "/fixtures"
        }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<6 {
            if fm.fileExists(atPath: dir.path + "/fixtures/profiles") { return dir.path + "/fixtures" }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
