/// A JSON value as case files need it: numbers keep their text, so a loader
/// can tell `1` from `1.0` or `1.5` and parse 64-bit values exactly (a
/// Foundation parser turns `1.0` into a Bool and large numbers into doubles),
/// and objects keep their key order and refuse a key given twice.
package indirect enum JSONValue: Sendable, Equatable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number as written, e.g. "-1", "300", "1.5", "1e3".
    case number(String)
    case bool(Bool)
    case null

    package static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let x), .array(let y)): return x == y
        case (.string(let x), .string(let y)), (.number(let x), .number(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// What a value is, for error messages.
    package var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "true or false"
        case .null: return "null"
        }
    }

    package subscript(_ key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.key == key }?.value }
        return nil
    }

    /// Parses UTF-8 JSON text; the error names the line and column.
    package static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.at == bytes.count else { throw p.error("text after the end of the JSON value") }
        return v
    }
}

/// The parse error: a message with its position.
package struct JSONError: Error, Sendable {
    package let message: String
}

private struct JSONParser {
    let bytes: [UInt8]
    var at = 0
    /// Nesting limit: hostile input must not exhaust the stack.
    static let maxDepth = 64

    func error(_ what: String) -> JSONError {
        var line = 1, col = 1
        for b in bytes[0..<min(at, bytes.count)] {
            if b == 0x0a { line += 1; col = 1 } else { col += 1 }
        }
        return JSONError(message: "\(what) at line \(line), column \(col)")
    }

    var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 { at += 1 }
    }

    mutating func expect(_ word: String) throws {
        let w = Array(word.utf8)
        guard at + w.count <= bytes.count, Array(bytes[at..<at + w.count]) == w else { throw error("unexpected text") }
        at += w.count
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth)") }
        guard let c = peek else { throw error("unexpected end of the text") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
        }
    }

    mutating func object(depth: Int) throws -> JSONValue {
        at += 1
        var members: [(key: String, value: JSONValue)] = []
        skipSpace()
        if peek == UInt8(ascii: "}") { at += 1; return .object(members) }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a key in quotes") }
            let key = try string()
            if members.contains(where: { $0.key == key }) { throw error("key \"\(key)\" given twice") }
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':' after \"\(key)\"") }
            at += 1
            skipSpace()
            members.append((key, try value(depth: depth + 1)))
            skipSpace()
            if peek == UInt8(ascii: ",") { at += 1; continue }
            if peek == UInt8(ascii: "}") { at += 1; return .object(members) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws -> JSONValue {
        at += 1
        var items: [JSONValue] = []
        skipSpace()
        if peek == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            if peek == UInt8(ascii: ",") { at += 1; continue }
            if peek == UInt8(ascii: "]") { at += 1; return .array(items) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func string() throws -> String {
        at += 1
        var out: [UInt8] = []
        while let c = peek {
            at += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw error("a string that is not UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                out += try escape()
            case 0..<0x20:
                throw error("a control character inside a string")
            default:
                out.append(c)
            }
        }
        throw error("a string that does not end")
    }

    mutating func escape() throws -> [UInt8] {
        guard let c = peek else { throw error("a string that does not end") }
        at += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return [c]
        case UInt8(ascii: "n"): return [0x0a]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "r"): return [0x0d]
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "f"): return [0x0c]
        case UInt8(ascii: "u"):
            var code = try hex4()
            if (0xd800..<0xdc00).contains(code) {
                // A surrogate pair: the low half must follow.
                try expect("\\u")
                let low = try hex4()
                guard (0xdc00..<0xe000).contains(low) else { throw error("a broken surrogate pair") }
                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
            }
            guard let scalar = Unicode.Scalar(code) else { throw error("an invalid \\u escape") }
            return Array(String(Character(scalar)).utf8)
        default:
            throw error("an invalid escape '\\\(Character(Unicode.Scalar(c)))'")
        }
    }

    mutating func hex4() throws -> UInt32 {
        let hexDigit: (UInt8) -> Bool = { c in
            (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
        }
        guard at + 4 <= bytes.count, bytes[at..<at + 4].allSatisfy(hexDigit),
              let v = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16) else {
            throw error("an invalid \\u escape")
        }
        at += 4
        return v
    }

    /// JSON's number grammar, kept as text.
    mutating func number() throws -> String {
        let start = at
        func digits() -> Int {
            let s = at
            while let c = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { at += 1 }
            return at - s
        }
        if peek == UInt8(ascii: "-") { at += 1 }
        let intStart = at
        guard digits() > 0 else { throw error("a number without digits") }
        if bytes[intStart] == UInt8(ascii: "0") && at - intStart > 1 { throw error("a number with a leading zero") }
        if peek == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { throw error("a number without digits after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            at += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { throw error("a number without exponent digits") }
        }
        return String(decoding: bytes[start..<at], as: UTF8.self)
    }
}
