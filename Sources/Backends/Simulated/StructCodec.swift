import Layout

/// Little-endian encoding and decoding of a uAPI struct by field name, using
/// a profile's LP64 layout. Lookups scan the field list: uAPI structs have a
/// dozen fields at most and their names are small inline strings, so `==` is
/// cheaper than hashing the name for a dictionary probe on every access.
/// Fields wider than 8 bytes (arrays) read as their first 8 bytes.
package struct StructCodec: Sendable {
    package let name: String
    /// sizeof on LP64.
    package let size: Int
    package let fields: [String: FieldLayout]
    /// The same fields, first occurrence of each name, in layout order.
    private let list: [FieldLayout]

    package init(_ s: ProfileStruct) {
        name = s.name
        size = s.lp64.size
        var map: [String: FieldLayout] = [:]
        var list: [FieldLayout] = []
        for f in s.lp64.fields where map[f.name] == nil { map[f.name] = f; list.append(f) }
        fields = map
        self.list = list
    }

    @inline(__always)
    private func find(_ field: String) -> FieldLayout? {
        for f in list where f.name == field { return f }
        return nil
    }

    package init?(profile: Profile, structName: String) {
        guard let s = profile.structure(structName) else { return nil }
        self.init(s)
    }

    package func has(_ field: String) -> Bool { find(field) != nil }
    package func offset(_ field: String) -> Int? { find(field)?.offset }

    /// A zeroed struct of `sizeof` bytes.
    package func zeroed() -> [UInt8] { [UInt8](repeating: 0, count: size) }

    /// Encode the named fields (others zero) into `sizeof` bytes, or `count` bytes if given.
    package func encode(_ values: [String: UInt64], count: Int? = nil) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count ?? size)
        for (k, v) in values { set(&b, k, v) }
        return b
    }

    /// Every scalar field as a dictionary (flexible arrays omitted).
    package func decode(_ b: [UInt8]) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for (k, f) in fields where f.size > 0 { out[k] = get(b, k) }
        return out
    }

    /// The field's value; 0 when the field is unknown or lies past the buffer.
    package func get(_ b: [UInt8], _ field: String) -> UInt64 {
        guard let f = find(field) else { return 0 }
        return StructCodec.load(b, f.offset, min(f.size, 8))
    }

    /// Store `value` truncated to the field width; ignored for unknown fields.
    package func set(_ b: inout [UInt8], _ field: String, _ value: UInt64) {
        guard let f = find(field) else { return }
        StructCodec.store(&b, f.offset, min(f.size, 8), value)
    }

    /// True when any byte of the field is non-zero (wide reserved arrays too).
    package func nonZero(_ b: [UInt8], _ field: String) -> Bool {
        guard let f = find(field) else { return false }
        var i = f.offset
        while i < f.offset + f.size && i < b.count { if b[i] != 0 { return true }; i += 1 }
        return false
    }

    package static func load(_ b: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = width - 1
        while i >= 0 {
            let p = offset + i
            v = (v << 8) | UInt64(p < b.count ? b[p] : 0)
            i -= 1
        }
        return v
    }

    package static func store(_ b: inout [UInt8], _ offset: Int, _ width: Int, _ value: UInt64) {
        var v = value
        for i in 0..<width {
            let p = offset + i
            if p < b.count { b[p] = UInt8(truncatingIfNeeded: v) }
            v >>= 8
        }
    }

    package static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    package static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
