import Layout

/// Little-endian encoding and decoding of a uAPI struct by field name, using
/// a profile's LP64 layout: a tool for tests and harnesses that build
/// arguments by hand. The simulator itself reads resolved `FieldHandle`s.
/// Fields wider than 8 bytes (arrays) read as their first 8 bytes.
package struct StructCodec: Sendable {
    package let name: String
    /// sizeof on LP64.
    package let size: Int
    /// First occurrence of each name, in layout order.
    private let list: [FieldLayout]

    package init(_ s: ProfileStruct) {
        name = s.name
        size = s.lp64.size
        var seen: Set<String> = []
        list = s.lp64.fields.filter { seen.insert($0.name).inserted }
    }

    package init?(profile: Profile, structName: String) {
        guard let s = profile.structure(structName) else { return nil }
        self.init(s)
    }

    package func has(_ field: String) -> Bool { list.contains { $0.name == field } }

    /// Encode the named fields (others zero) into `sizeof` bytes, or `count`
    /// bytes if given. A name the struct lacks is a programming error.
    package func encode(_ values: [String: UInt64], count: Int? = nil) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count ?? size)
        for (k, v) in values {
            guard let f = list.first(where: { $0.name == k }) else {
                preconditionFailure("\(name) has no field '\(k)'")
            }
            StructCodec.store(&b, f.offset, min(f.size, 8), v)
        }
        return b
    }

    /// Every scalar field as a dictionary (flexible arrays omitted).
    package func decode(_ b: [UInt8]) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for f in list where f.size > 0 { out[f.name] = StructCodec.load(b, f.offset, min(f.size, 8)) }
        return out
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
