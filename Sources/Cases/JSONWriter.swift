/// Writes a `JSONValue` back as text, keys in their order: case files the
/// tools write (fuzz findings) read like the hand-written ones.
extension JSONValue {
    /// One line for scalars, arrays of scalars and small objects; nested ones indented.
    package func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .object(let members):
            let inner = members.map { "\(JSONValue.quoted($0.key)): \($0.value.rendered(indent: indent + 2))" }
            let flat = "{" + inner.joined(separator: ", ") + "}"
            if flat.count + indent <= 100 && !flat.contains("\n") { return flat }
            let lines = members.map { "\(pad)  \(JSONValue.quoted($0.key)): \($0.value.rendered(indent: indent + 2))" }
            return "{\n" + lines.joined(separator: ",\n") + "\n\(pad)}"
        case .array(let items):
            let inner = items.map { $0.rendered(indent: indent + 2) }
            let flat = "[" + inner.joined(separator: ", ") + "]"
            if flat.count + indent <= 100 && !flat.contains("\n") { return flat }
            return "[\n" + inner.map { "\(pad)  \($0)" }.joined(separator: ",\n") + "\n\(pad)]"
        case .string(let s): return JSONValue.quoted(s)
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
