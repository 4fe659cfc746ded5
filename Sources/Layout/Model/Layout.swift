/// Layout facts as the compiler reports them for one ABI.
package struct FieldLayout: Codable, Sendable, Hashable {
    package var name: String
    package var offset: Int
    /// Bytes; for a flexible array member, 0 (see `elementSize`).
    package var size: Int
    package var elementSize: Int?

    package init(name: String, offset: Int, size: Int, elementSize: Int? = nil) {
        self.name = name; self.offset = offset; self.size = size; self.elementSize = elementSize
    }
    package var end: Int { offset + size }
}

package struct StructLayout: Codable, Sendable, Hashable {
    package var name: String
    package var size: Int
    package var align: Int
    package var fields: [FieldLayout]

    package init(name: String, size: Int, align: Int, fields: [FieldLayout]) {
        self.name = name; self.size = size; self.align = align; self.fields = fields
    }

    package func field(_ name: String) -> FieldLayout? { fields.first { $0.name == name } }

    /// offsetofend(struct, member): the kernel's minimum size for an ioctl
    /// whose IOCTL_OP names `member` last.
    package func offsetOfEnd(_ member: String) -> Int? { field(member).map { $0.end } }

    /// Byte ranges inside `size` that no field covers, before the last field
    /// (holes) and after it (trailing padding).
    package var gaps: (holes: [Range<Int>], trailing: Range<Int>?) {
        var covered = [Bool](repeating: false, count: max(size, 0))
        for f in fields where f.size > 0 {
            for b in f.offset..<min(f.end, size) { covered[b] = true }
        }
        let lastEnd = fields.map { $0.size > 0 ? $0.end : $0.offset }.max() ?? 0
        var holes: [Range<Int>] = []
        var start: Int?
        for b in 0..<min(lastEnd, size) {
            if !covered[b] { if start == nil { start = b } } else if let s = start { holes.append(s..<b); start = nil }
        }
        if let s = start { holes.append(s..<min(lastEnd, size)) }
        return (holes, lastEnd < size ? lastEnd..<size : nil)
    }
}

package enum IoctlFamily: String, Codable, Sendable { case iommufd, vfio }

package struct IoctlLayout: Codable, Sendable, Hashable {
    package var name: String
    package var request: UInt64
    package var type: Int
    package var nr: Int
    /// The size field of the encoding (0 for `_IO`).
    package var encodedSize: Int
    package var family: IoctlFamily
    package var structName: String?
}

/// Everything the probe learned for one ABI.
package struct ABILayout: Sendable {
    package var abi: ABI
    package var structs: [StructLayout]
    package var ioctls: [IoctlLayout]
    package var constants: [String: Int64]

    package func layout(of name: String) -> StructLayout? { structs.first { $0.name == name } }
    package func ioctl(_ name: String) -> IoctlLayout? { ioctls.first { $0.name == name } }
}
