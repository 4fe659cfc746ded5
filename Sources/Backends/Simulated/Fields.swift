import Cases
import Layout

/// One struct field resolved against the profile's LP64 layout when the
/// simulated kernel is created. Handlers read and write by offset and width,
/// so a name the profile's struct lacks fails at load, never as a silent 0.
struct FieldHandle: Sendable {
    let name: String
    let offset: Int
    /// Bytes in the layout; loads and stores use the first 8 of a wider field.
    let size: Int
    var width: Int { min(size, 8) }
    var end: Int { offset + size }

    /// Little-endian value of the field in `b` (bytes past the buffer read as 0).
    func load(_ b: [UInt8]) -> UInt64 { StructCodec.load(b, offset, width) }
    func load32(_ b: [UInt8]) -> UInt32 { UInt32(truncatingIfNeeded: load(b)) }
    /// Store `v` truncated to the field width (bytes past the buffer are dropped).
    func store(_ v: UInt64, into b: inout [UInt8]) { StructCodec.store(&b, offset, width, v) }
    /// True when any byte of the field is non-zero (wide reserved arrays too).
    func nonZero(_ b: [UInt8]) -> Bool { (offset..<min(end, b.count)).contains { b[$0] != 0 } }
}

/// Resolves what one handler reads: fields of the ioctl's struct (or of a
/// struct it points into), flag masks and enum constants of the profile.
/// Every miss is an `InputError` naming the ioctl, so it shows at load.
struct FieldResolver {
    let ioctl: String
    let structName: String
    let shape: StructShape
    let profile: Profile

    init(ioctl: String, structName: String, profile: Profile) throws {
        guard let s = profile.structure(structName) else {
            throw InputError("profile \(profile.name): \(ioctl) needs struct \(structName), which it lacks")
        }
        self.ioctl = ioctl; self.structName = structName; self.shape = s.lp64; self.profile = profile
    }

    /// The resolver for another struct the same handler reads (a feature payload).
    func nested(_ name: String) throws -> FieldResolver {
        try FieldResolver(ioctl: ioctl, structName: name, profile: profile)
    }

    var size: Int { shape.size }

    func has(_ name: String) -> Bool { shape.fields.contains { $0.name == name } }

    func callAsFunction(_ name: String) throws -> FieldHandle {
        guard let f = shape.fields.first(where: { $0.name == name }) else {
            throw InputError("profile \(profile.name): struct \(structName) has no field '\(name)' "
                             + "(the simulator's \(ioctl) handler reads it)")
        }
        return FieldHandle(name: f.name, offset: f.offset, size: f.size)
    }

    /// A field only some versions have, present when the profile says the
    /// feature exists (`present`); a feature without its field is an error.
    func field(_ name: String, if present: Bool) throws -> FieldHandle? { present ? try self(name) : nil }

    /// The one field of `names` this version has (a field renamed between versions).
    func oneOf(_ names: String...) throws -> FieldHandle {
        let found = names.filter(has)
        guard found.count == 1 else {
            throw InputError("profile \(profile.name): struct \(structName) must have exactly one of "
                             + "\(names.joined(separator: ", ")) (the simulator's \(ioctl) handler reads it)")
        }
        return try self(found[0])
    }

    /// The bits the profile defines for a flag field.
    func flagMask(_ field: String = "flags") throws -> UInt64 {
        guard let m = profile.structure(structName)?.flags?[field] else {
            throw InputError("profile \(profile.name): struct \(structName) lists no flag mask for '\(field)'")
        }
        return m
    }

    /// The value of flag `constant` when the profile's struct defines it for
    /// `field` (its `flag_bits`), nil when this version has no such flag.
    func flagBit(_ constant: String, field: String = "flags") throws -> UInt64? {
        guard profile.structure(structName)?.flagBits?[field]?.contains(constant) == true else { return nil }
        return try self.constant(constant)
    }

    /// The bits one path of the handler takes (`path_flag_bits`).
    func pathFlagMask(_ path: String, field: String = "flags") throws -> UInt64 {
        guard let names = profile.structure(structName)?.pathFlagBits?[field]?[path] else {
            throw InputError("profile \(profile.name): struct \(structName) lists no flags the \(path) path of "
                             + "\(ioctl) takes for '\(field)' (path_flag_bits)")
        }
        return try names.reduce(0) { try $0 | constant($1) }
    }

    /// The object type an id field names (`id_fields`): one type is a typed
    /// lookup (another type is ENOENT), `a_or_b` a lookup of any object whose
    /// type is then checked (EINVAL).
    func idType(_ field: String) throws -> IdFieldType {
        guard let t = profile.structure(structName)?.idFields?[field] else {
            throw InputError("profile \(profile.name): struct \(structName) lists no object type for '\(field)'")
        }
        return IdFieldType(t)
    }

    /// An enum or #define value of the profile, as the kernel's unsigned field holds it.
    func constant(_ name: String) throws -> UInt64 { try FieldResolver.constant(name, in: profile, for: ioctl) }

    /// The values of the constants an enum field takes (profile `enum_fields`).
    func enumValues(_ field: String) throws -> Set<UInt64> {
        guard let names = profile.structure(structName)?.enumFields?[field], !names.isEmpty else {
            throw InputError("profile \(profile.name): struct \(structName) lists no enum values for '\(field)'")
        }
        return Set(try names.map(constant))
    }

    static func constant(_ name: String, in profile: Profile, for user: String) throws -> UInt64 {
        guard let v = profile.enums[name] else {
            throw InputError("profile \(profile.name) has no constant \(name) "
                             + "(the simulator's \(user) handler uses it)")
        }
        return UInt64(truncatingIfNeeded: v)
    }
}

/// The kernel's copy of the struct plus the caller's size, passed to handlers.
struct Cmd {
    var k: [UInt8]
    let userSize: Int
    subscript(_ f: FieldHandle) -> UInt64 {
        get { f.load(k) }
        set { f.store(newValue, into: &k) }
    }
    func u32(_ f: FieldHandle) -> UInt32 { f.load32(k) }
    func nonZero(_ f: FieldHandle) -> Bool { f.nonZero(k) }
}

/// What of the kernel copy is written back: nothing, all of it, or named
/// fields (the copy-back quirks of OPTION and INVALIDATE).
enum Respond { case none, full, fields([FieldHandle]) }

/// Result of a handler: return value or errno, and what is written back.
struct HandlerResult {
    var value: Int
    var errno: Errno?
    var respond: Respond
    static func ok(_ v: Int = 0, respond: Respond = .full) -> HandlerResult {
        .init(value: v, errno: nil, respond: respond)
    }
    static func fail(_ e: Errno) -> HandlerResult { .init(value: -1, errno: e, respond: .none) }
}

struct SimErr: Error { let errno: Errno; init(_ e: Errno) { errno = e } }
