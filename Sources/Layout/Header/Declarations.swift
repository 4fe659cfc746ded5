/// Declarations read from a uAPI header's text. They carry what the compiler
/// does not report (spelled types, attributes, kernel-doc, line numbers); the
/// numbers themselves always come from the compiler probe.
package struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package init(file: String, line: Int) { self.file = file; self.line = line }
    package var description: String { "\(file):\(line)" }
}

package enum RecordKind: String, Sendable, Codable { case `struct`, union }

package final class RecordDecl: Sendable {
    package let kind: RecordKind
    /// nil for an anonymous struct/union nested in another record.
    package let name: String?
    package let members: [MemberDecl]
    package let attributes: [String]
    package let location: SourceLocation
    package let doc: KernelDoc?

    package init(kind: RecordKind, name: String?, members: [MemberDecl], attributes: [String],
                 location: SourceLocation, doc: KernelDoc?) {
        self.kind = kind; self.name = name; self.members = members
        self.attributes = attributes; self.location = location; self.doc = doc
    }

    package var isPacked: Bool {
        attributes.contains { $0.contains("packed") } || members.contains { $0.nested?.isPacked ?? false }
    }

    /// Members reachable by plain name (anonymous members flattened), with
    /// the record they sit in.
    package var leafMembers: [MemberDecl] {
        members.flatMap { m -> [MemberDecl] in
            if let nested = m.nested, m.name == nil { return nested.leafMembers }
            return [m]
        }
    }
}

package struct MemberDecl: Sendable {
    /// nil for an anonymous nested struct/union.
    package let name: String?
    /// The spelled type without pointer stars, e.g. `__u32`, `__aligned_u64`,
    /// `struct vfio_region_dma_range`.
    package let type: String
    package let pointerDepth: Int
    package let arrayDims: [String]
    package let bitWidth: String?
    package let attributes: [String]
    package let nested: RecordDecl?
    package let location: SourceLocation

    package var isFlexibleArray: Bool { arrayDims.last == "" }
    package var isPointer: Bool { pointerDepth > 0 }
    /// `struct foo` / `union foo` member type name, if any.
    package var recordTypeName: String? {
        let parts = type.split(separator: " ")
        guard parts.count == 2, parts[0] == "struct" || parts[0] == "union" else { return nil }
        return String(parts[1])
    }
}

package struct EnumConstantDecl: Sendable {
    package let name: String
    package let expression: String?
    package let location: SourceLocation
}

package struct EnumDecl: Sendable {
    package let name: String?
    package let constants: [EnumConstantDecl]
    package let location: SourceLocation
}

package struct MacroDecl: Sendable {
    package let name: String
    /// nil for object-like macros.
    package let parameters: [String]?
    package let body: String
    package let location: SourceLocation

    /// `_IO(...)`, `_IOR(...)`, `_IOW(...)`, `_IOWR(...)`.
    package var isIoctlDefinition: Bool {
        parameters == nil && body.range(of: #"^_IO(R|W|WR)?\s*\("#, options: .regularExpression) != nil
    }

    /// The `struct X` argument of an `_IOR/_IOW/_IOWR` definition.
    package var ioctlStructArgument: String? {
        guard isIoctlDefinition,
              let r = body.range(of: #"struct\s+([A-Za-z_][A-Za-z0-9_]*)"#, options: .regularExpression)
        else { return nil }
        return body[r].split(separator: " ", omittingEmptySubsequences: true).last.map(String.init)
    }
}

/// The kernel-doc comment above a declaration.
package struct KernelDoc: Sendable {
    package let text: String
    /// `struct X - ioctl(IOCTL)` or `IOCTL - _IOxx(..., struct X)`.
    package let ioctlName: String?
    package let fieldDocs: [String: String]

    package func fieldSaysMustBeZero(_ field: String) -> Bool {
        guard let doc = fieldDocs[field]?.lowercased() else { return false }
        return doc.contains("must be 0") || doc.contains("must be zero") || doc.contains("reserved")
    }
}

package struct HeaderDecls: Sendable {
    /// Path relative to the include root, e.g. `linux/iommufd.h`.
    package let file: String
    package let records: [RecordDecl]
    package let enums: [EnumDecl]
    package let macros: [MacroDecl]
    /// Comments that name an ioctl and a struct (`struct X - ioctl(Y)`).
    package let docLinks: [String: String]

    package func record(named name: String) -> RecordDecl? { records.first { $0.name == name } }
    package func macro(named name: String) -> MacroDecl? { macros.first { $0.name == name } }
}
