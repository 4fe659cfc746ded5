import Foundation

/// A small reader for the C subset uAPI headers use: struct/union/enum
/// definitions, object- and function-like #defines, kernel-doc comments.
/// It does not evaluate anything; the compiler probe does.
package struct HeaderParser {
    struct Token {
        enum Kind { case ident, number, punct, directive }
        let kind: Kind
        let text: String
        let line: Int
        /// The kernel-doc comment that ended right before this token, if any.
        let doc: String?
    }

    /// Deeper nesting is no uAPI header (7.2's deepest is 3); refusing it
    /// keeps a hostile header from overflowing the stack.
    static let maxNesting = 64

    package static func parse(text: String, file: String) throws -> HeaderDecls {
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].filter { $0 == UInt8(ascii: "\n") }.count + 1
            throw InputError("\(file):\(line): cannot parse header: a NUL byte; this is not a C header")
        }
        var p = HeaderParser(tokens: HeaderTokenizer(text).tokens(), file: file)
        // vfio.h names each ioctl's struct in a comment (`IOCTL - _IOxx(..., struct X)`).
        p.noteDocLink(text)
        return try p.parseTopLevel()
    }

    let tokens: [Token]
    let file: String
    var pos = 0
    var records: [RecordDecl] = []
    var enums: [EnumDecl] = []
    var macros: [MacroDecl] = []
    var docLinks: [String: String] = [:]
    var nesting = 0

    init(tokens: [Token], file: String) { self.tokens = tokens; self.file = file }

    // MARK: helpers

    var atEnd: Bool { pos >= tokens.count }
    func peek(_ k: Int = 0) -> Token? { pos + k < tokens.count ? tokens[pos + k] : nil }
    mutating func next() -> Token? { defer { pos += 1 }; return peek() }

    func loc(_ t: Token) -> SourceLocation { SourceLocation(file: file, line: t.line) }

    func fail(_ msg: String, _ t: Token?) -> InputError {
        InputError("\(file):\(t?.line ?? 0): cannot parse header: \(msg)")
    }

    /// Skip to the `;` that ends the current declaration, honouring brackets.
    mutating func skipDeclaration() {
        var depth = 0
        while let t = next() {
            if t.kind == .directive { handleDirective(t); continue }
            if t.text == "{" || t.text == "(" || t.text == "[" { depth += 1 }
            if t.text == "}" || t.text == ")" || t.text == "]" { depth -= 1 }
            if t.text == ";" && depth <= 0 { return }
        }
    }

    /// Tokens of one balanced `( ... )` group starting at the current `(`.
    mutating func balancedParens() -> [Token] {
        var depth = 0
        var out: [Token] = []
        while let t = next() {
            out.append(t)
            if t.text == "(" { depth += 1 }
            if t.text == ")" { depth -= 1; if depth == 0 { break } }
        }
        return out
    }

    static func join(_ toks: [Token]) -> String {
        var s = ""
        for t in toks {
            if let last = s.last, (last.isLetter || last.isNumber || last == "_"),
               let first = t.text.first, (first.isLetter || first.isNumber || first == "_") { s += " " }
            s += t.text
        }
        return s
    }

    // MARK: grammar

    mutating func parseTopLevel() throws -> HeaderDecls {
        while let t = peek() {
            switch t.kind {
            case .directive:
                pos += 1; handleDirective(t)
            case .ident where t.text == "struct" || t.text == "union":
                if peek(2)?.text == "{" || (peek(1)?.text == "{") {
                    let rec = try parseRecord()
                    skipAttributesAndDeclarators()
                    records.append(rec)
                } else { skipDeclaration() }
            case .ident where t.text == "enum":
                if peek(2)?.text == "{" || peek(1)?.text == "{" {
                    enums.append(try parseEnum())
                } else { skipDeclaration() }
            case .ident where t.text == "extern" && peek(1)?.text.hasPrefix("\"") == true:
                pos += 2
                if peek()?.text == "{" { pos += 1 }
            case .punct where t.text == "}" || t.text == ";":
                pos += 1
            default:
                skipDeclaration()
            }
        }
        return HeaderDecls(file: file, records: records, enums: enums, macros: macros, docLinks: docLinks)
    }

    mutating func handleDirective(_ t: Token) {
        let text = t.text.trimmingCharacters(in: .whitespaces)
        guard let r = text.range(of: #"^#\s*define\s+"#, options: .regularExpression) else { return }
        let rest = text[r.upperBound...]
        let nameEnd = rest.firstIndex { !($0.isLetter || $0.isNumber || $0 == "_") } ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        var params: [String]? = nil
        var bodyStart = nameEnd
        if nameEnd < rest.endIndex && rest[nameEnd] == "(" {
            let close = rest[nameEnd...].firstIndex(of: ")") ?? rest.endIndex
            params = rest[rest.index(after: nameEnd)..<close].split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
            bodyStart = close < rest.endIndex ? rest.index(after: close) : close
        }
        let body = rest[bodyStart...].trimmingCharacters(in: .whitespaces)
            .replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
        macros.append(MacroDecl(name: name, parameters: params, body: body, location: loc(t)))
    }

    /// Remember `IOCTL - _IOxx(..., struct X)` comments (vfio.h style).
    mutating func noteDocLink(_ doc: String) {
        let pattern = #"([A-Z][A-Z0-9_]+)\s*-\s*_IO[RW]*\s*\([^)]*?struct\s+([a-z_][a-z0-9_]*)"#
        guard let re = try? NSRegularExpression(pattern: pattern) else { return }
        let ns = doc as NSString
        for m in re.matches(in: doc, range: NSRange(location: 0, length: ns.length)) {
            docLinks[ns.substring(with: m.range(at: 1))] = ns.substring(with: m.range(at: 2))
        }
    }

    static func kernelDoc(_ raw: String?) -> KernelDoc? {
        guard let raw else { return nil }
        let lines = raw.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: #"^\s*\*? ?"#, with: "", options: .regularExpression)
        }
        var fieldDocs: [String: String] = [:]
        var current: String?
        for l in lines {
            if let r = l.range(of: #"^@([A-Za-z0-9_]+)\s*:"#, options: .regularExpression) {
                let name = String(l[l.index(after: r.lowerBound)..<r.upperBound].dropLast())
                    .trimmingCharacters(in: .whitespaces)
                current = name
                fieldDocs[name] = String(l[r.upperBound...]).trimmingCharacters(in: .whitespaces)
            } else if let c = current {
                if l.trimmingCharacters(in: .whitespaces).isEmpty { current = nil } else { fieldDocs[c,
                    default: ""] += " " + l.trimmingCharacters(in: .whitespaces) }
            }
        }
        var ioctl: String?
        let joined = lines.joined(separator: "\n")
        if let r = joined.range(of: #"ioctl\(([A-Z0-9_]+)\)"#, options: .regularExpression) {
            ioctl = String(joined[r].dropFirst(6).dropLast())
        }
        return KernelDoc(text: joined, ioctlName: ioctl, fieldDocs: fieldDocs)
    }

    mutating func parseRecord() throws -> RecordDecl {
        nesting += 1
        defer { nesting -= 1 }
        guard let kw = next() else { throw fail("expected struct or union", nil) }
        if nesting > HeaderParser.maxNesting {
            throw fail("structs nested more than \(HeaderParser.maxNesting) deep", kw)
        }
        let kind: RecordKind = kw.text == "union" ? .union : .struct
        var name: String?
        if peek()?.kind == .ident { name = next()?.text }
        guard next()?.text == "{" else { throw fail("expected '{' after \(kw.text)", peek()) }
        var members: [MemberDecl] = []
        while let t = peek(), t.text != "}" {
            if t.kind == .directive { pos += 1; handleDirective(t); continue }
            if t.text == ";" { pos += 1; continue }
            if (t.text == "struct" || t.text == "union") && (peek(1)?.text == "{" || peek(2)?.text == "{") {
                let nested = try parseRecord()
                let (attrs, decls) = declaratorTail()
                if decls.isEmpty {
                    members.append(MemberDecl(name: nil, type: nested.kind.rawValue, pointerDepth: 0, arrayDims: [],
                                              bitWidth: nil, attributes: attrs, nested: nested,
                                              location: nested.location))
                } else {
                    for d in decls {
                        members.append(MemberDecl(name: d.name,
                                                  type: nested.kind.rawValue + (nested.name.map { " " + $0 } ?? ""),
                                                  pointerDepth: d.pointers, arrayDims: d.dims, bitWidth: d.bits,
                                                  attributes: attrs + d.attrs, nested: nested,
                                                  location: nested.location))
                    }
                }
                continue
            }
            members.append(contentsOf: try parseMemberDeclaration())
        }
        guard next()?.text == "}" else { throw fail("unterminated \(kw.text) \(name ?? "")", kw) }
        let attrs = trailingAttributes()
        return RecordDecl(kind: kind, name: name, members: members, attributes: attrs, location: loc(kw),
                          doc: HeaderParser.kernelDoc(kw.doc))
    }

    static let attributeMacros: Set<String> = ["__packed", "__aligned", "__counted_by", "__counted_by_le",
                                               "__counted_by_be", "__attribute__", "__attribute", "__user",
                                               "__nonstring", "__attribute_const__", "__may_alias"]

    /// Attributes written right after a record's closing brace.
    mutating func trailingAttributes() -> [String] {
        var attrs: [String] = []
        while let t = peek(), t.kind == .ident, HeaderParser.attributeMacros.contains(t.text) {
            pos += 1
            if peek()?.text == "(" {
                attrs.append(t.text + HeaderParser.join(balancedParens()))
            } else {
                attrs.append(t.text)
            }
        }
        return attrs
    }

    struct Declarator {
        var name: String; var pointers: Int; var dims: [String]; var bits: String?; var attrs: [String]
    }

    /// After a nested record body: `[attrs] [declarators] ;`.
    mutating func declaratorTail() -> ([String], [Declarator]) {
        let attrs = trailingAttributes()
        var toks: [Token] = []
        while let t = next(), t.text != ";" { toks.append(t) }
        return (attrs, HeaderParser.splitDeclarators(toks).compactMap { HeaderParser.declarator($0) })
    }

    /// Top level after a record: skip attributes and any variable declarators.
    mutating func skipAttributesAndDeclarators() {
        _ = trailingAttributes()
        if peek()?.text == ";" { pos += 1 } else { skipDeclaration() }
    }

    static func splitDeclarators(_ toks: [Token]) -> [[Token]] {
        var out: [[Token]] = [[]]
        var depth = 0
        for t in toks {
            if t.text == "(" || t.text == "[" { depth += 1 }
            if t.text == ")" || t.text == "]" { depth -= 1 }
            if t.text == "," && depth == 0 { out.append([]); continue }
            out[out.count - 1].append(t)
        }
        return out.filter { !$0.isEmpty }
    }

    /// `* name [dim] : bits attrs` → Declarator.
    static func declarator(_ toks: [Token]) -> Declarator? {
        var d = Declarator(name: "", pointers: 0, dims: [], bits: nil, attrs: [])
        var i = 0
        while i < toks.count {
            let t = toks[i]
            if t.kind == .ident && attributeMacros.contains(t.text) {
                var j = i + 1
                var text = t.text
                if j < toks.count && toks[j].text == "(" {
                    var depth = 0
                    var group: [Token] = []
                    while j < toks.count {
                        group.append(toks[j])
                        if toks[j].text == "(" { depth += 1 }
                        if toks[j].text == ")" { depth -= 1; if depth == 0 { j += 1; break } }
                        j += 1
                    }
                    text += join(group)
                }
                d.attrs.append(text); i = j; continue
            }
            if t.text == "*" { d.pointers += 1 }
            else if t.kind == .ident && t.text != "const" && t.text != "volatile" { d.name = t.text }
            else if t.text == "[" {
                var j = i + 1
                var dim: [Token] = []
                while j < toks.count && toks[j].text != "]" { dim.append(toks[j]); j += 1 }
                d.dims.append(join(dim)); i = j + 1; continue
            } else if t.text == ":" {
                d.bits = join(Array(toks[(i + 1)...]).filter { !attributeMacros.contains($0.text) }); break
            }
            i += 1
        }
        return d.name.isEmpty ? nil : d
    }

    mutating func parseMemberDeclaration() throws -> [MemberDecl] {
        var toks: [Token] = []
        let first = peek()
        var depth = 0
        while let t = next() {
            if t.kind == .directive { handleDirective(t); continue }
            if t.text == "(" || t.text == "[" { depth += 1 }
            if t.text == ")" || t.text == "]" { depth -= 1 }
            if t.text == ";" && depth == 0 { break }
            if t.text == "}" && depth == 0 { pos -= 1; break }
            toks.append(t)
        }
        guard let first else { throw fail("unexpected end of file", nil) }
        let segments = HeaderParser.splitDeclarators(toks)
        guard let head = segments.first else { throw fail("empty member declaration", first) }
        // In the first declarator the name is the last identifier before any
        // `[`, `:` or attribute; everything before it (minus `*`) is the type.
        var nameIndex: Int?
        for (i, t) in head.enumerated() {
            if t.text == "[" || t.text == ":" || (t.kind == .ident && HeaderParser.attributeMacros.contains(t.text)) {
                break
            }
            if t.kind == .ident && !["const", "volatile"].contains(t.text) { nameIndex = i }
        }
        guard let nameIndex, nameIndex > 0 else { throw fail("cannot read member declaration", first) }
        let typeToks = head[..<nameIndex].filter { $0.kind == .ident && $0.text != "const" && $0.text != "volatile" }
        let type = HeaderParser.join(Array(typeToks))
        guard !type.isEmpty else { throw fail("cannot read member declaration", first) }
        let firstDecl = Array(head[nameIndex...])
        let pointerPrefix = head[..<nameIndex].filter { $0.text == "*" }
        let decls = [pointerPrefix + firstDecl] + segments.dropFirst()
        return decls.compactMap { HeaderParser.declarator(Array($0)) }.map {
            MemberDecl(name: $0.name, type: type, pointerDepth: $0.pointers, arrayDims: $0.dims, bitWidth: $0.bits,
                       attributes: $0.attrs, nested: nil, location: loc(first))
        }
    }

    mutating func parseEnum() throws -> EnumDecl {
        guard let kw = next() else { throw fail("expected enum", nil) }
        var name: String?
        if peek()?.kind == .ident { name = next()?.text }
        guard next()?.text == "{" else { throw fail("expected '{' after enum", kw) }
        var constants: [EnumConstantDecl] = []
        while let t = peek(), t.text != "}" {
            if t.kind == .directive { pos += 1; handleDirective(t); continue }
            if t.text == "," { pos += 1; continue }
            guard t.kind == .ident else { throw fail("unexpected '\(t.text)' in enum", t) }
            pos += 1
            var expr: [Token] = []
            if peek()?.text == "=" {
                pos += 1
                var depth = 0
                while let e = peek() {
                    if e.kind == .directive { pos += 1; handleDirective(e); continue }
                    if e.text == "(" { depth += 1 }
                    if e.text == ")" { depth -= 1 }
                    if depth == 0 && (e.text == "," || e.text == "}") { break }
                    expr.append(e); pos += 1
                }
            }
            constants.append(EnumConstantDecl(name: t.text, expression: expr.isEmpty ? nil : HeaderParser.join(expr),
                                              location: loc(t)))
        }
        guard next()?.text == "}" else { throw fail("unterminated enum", kw) }
        skipAttributesAndDeclarators()
        return EnumDecl(name: name, constants: constants, location: loc(kw))
    }
}
