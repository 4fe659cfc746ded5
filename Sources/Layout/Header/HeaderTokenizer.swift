import Foundation

/// Splits header text into the tokens `HeaderParser` reads: identifiers,
/// numbers (and character or string literals, kept as text), punctuation,
/// and whole preprocessor directives. A `/* */` comment is remembered as the
/// kernel-doc of the token after it.
struct HeaderTokenizer {
    typealias Token = HeaderParser.Token

    private let chars: [Unicode.Scalar]
    private var i = 0
    private var line = 1
    private var pendingDoc: String?
    private var atLineStart = true
    private var out: [Token] = []

    init(_ text: String) { chars = Array(text.unicodeScalars) }

    static func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || CharacterSet.letters.contains(c) }
    static func isIdent(_ c: Unicode.Scalar) -> Bool { c == "_" || CharacterSet.alphanumerics.contains(c) }

    func at(_ k: Int, _ c: Unicode.Scalar) -> Bool { k < chars.count && chars[k] == c }
    func text(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(chars[r])) }

    consuming func tokens() -> [Token] {
        while i < chars.count {
            let c = chars[i]
            if c == "\n" { line += 1; i += 1; atLineStart = true; continue }
            if c == " " || c == "\t" || c == "\r" || c == "\u{0C}" { i += 1; continue }
            if c == "/" && at(i + 1, "*") { blockComment(); continue }
            if c == "/" && at(i + 1, "/") {
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            }
            if c == "#" && atLineStart { directive(); continue }
            atLineStart = false
            if HeaderTokenizer.isIdentStart(c) { identifier(); continue }
            if CharacterSet.decimalDigits.contains(c) { number(); continue }
            if c == "\"" || c == "'" { quoted(c); continue }
            punct(c)
        }
        return out
    }

    /// `/* … */`: its text becomes the doc of the next token.
    private mutating func blockComment() {
        var j = i + 2
        var body = String.UnicodeScalarView()
        while j + 1 < chars.count && !(chars[j] == "*" && chars[j + 1] == "/") {
            if chars[j] == "\n" { line += 1 }
            body.append(chars[j]); j += 1
        }
        pendingDoc = String(body)
        i = min(j + 2, chars.count)
    }

    /// A directive runs to the end of the line, continuations joined;
    /// comments inside it are dropped.
    private mutating func directive() {
        let start = line
        var body = String.UnicodeScalarView()
        var j = i
        while j < chars.count {
            if chars[j] == "\\" && at(j + 1, "\n") {
                j += 2; line += 1; body.append(" "); continue
            }
            if chars[j] == "\n" { break }
            if chars[j] == "/" && at(j + 1, "*") {
                j += 2
                while j + 1 < chars.count && !(chars[j] == "*" && chars[j + 1] == "/") {
                    if chars[j] == "\n" { line += 1 }
                    j += 1
                }
                j += 2; body.append(" "); continue
            }
            if chars[j] == "/" && at(j + 1, "/") {
                while j < chars.count && chars[j] != "\n" { j += 1 }
                break
            }
            body.append(chars[j]); j += 1
        }
        out.append(Token(kind: .directive, text: String(body), line: start, doc: pendingDoc))
        pendingDoc = nil
        i = j
    }

    private mutating func identifier() {
        var j = i
        while j < chars.count && HeaderTokenizer.isIdent(chars[j]) { j += 1 }
        out.append(Token(kind: .ident, text: text(i..<j), line: line, doc: pendingDoc))
        pendingDoc = nil
        i = j
    }

    /// A number keeps its suffixes and dots as text; it does not take the doc.
    private mutating func number() {
        var j = i
        while j < chars.count && (HeaderTokenizer.isIdent(chars[j]) || chars[j] == ".") { j += 1 }
        out.append(Token(kind: .number, text: text(i..<j), line: line, doc: pendingDoc))
        i = j
    }

    /// A character or string literal, kept whole as a number token.
    private mutating func quoted(_ quote: Unicode.Scalar) {
        var j = i + 1
        while j < chars.count && chars[j] != quote { if chars[j] == "\\" { j += 1 }; j += 1 }
        out.append(Token(kind: .number, text: text(i..<min(j + 1, chars.count)), line: line, doc: nil))
        i = j + 1
    }

    /// Two-character operators matter only inside expressions kept as text.
    private mutating func punct(_ c: Unicode.Scalar) {
        let two = i + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[i + 1]])) : ""
        if ["<<", ">>", "->", "==", "!=", "<=", ">=", "&&", "||"].contains(two) {
            out.append(Token(kind: .punct, text: two, line: line, doc: nil))
            i += 2
            return
        }
        out.append(Token(kind: .punct, text: String(c), line: line, doc: pendingDoc))
        pendingDoc = nil
        i += 1
    }
}
