import Foundation

/// A bug planted in a patched kernel to prove the catalogue catches it: a
/// few small edits applied after the series, and the cases that must fail.
/// Edits name code by short fragments matched with white space ignored, so
/// a bug is a line of data, not a copy of the code it breaks.
package struct KernelBug: Codable, Sendable, Equatable {
    package var name: String
    package var summary: String
    package var edits: [Edit]
    /// Case ids that fail on a kernel carrying the bug (sim/live disagree).
    package var caughtBy: [String]

    enum CodingKeys: String, CodingKey { case name, summary, edits, caughtBy = "caught_by" }

    package struct Edit: Codable, Sendable, Equatable {
        package var file: String
        /// Only inside the body of this C function.
        package var function: String?
        /// `replace` → `with`: the fragment must occur exactly once.
        package var replace: String?
        package var with: String?
        /// `move` (whole lines holding the fragment) to just after the line
        /// that ends `after`.
        package var move: String?
        package var after: String?
    }
}

package enum KernelBugs {
    package static func load(_ path: String) throws -> [KernelBug] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read \(path)") }
        let bugs: [KernelBug]
        do { bugs = try JSONDecoder().decode([KernelBug].self, from: data) } catch {
            throw InputError("\(path) is not a list of kernel bugs: \(error)")
        }
        for b in bugs where b.edits.isEmpty || b.caughtBy.isEmpty || b.edits.contains(where: { !$0.isWellFormed }) {
            throw InputError("\(path): bug \(b.name) needs edits (replace+with or move+after) and caught_by")
        }
        return bugs
    }

    /// The texts after planting `bug`; `text` gives a file's current text.
    package static func plant(_ bug: KernelBug, in text: (String) -> String?) throws -> [String: String] {
        var out: [String: String] = [:]
        for e in bug.edits {
            guard let before = out[e.file] ?? text(e.file) else {
                throw InputError("bug \(bug.name): the patched tree has no \(e.file)")
            }
            out[e.file] = try apply(e, to: before, bug: bug.name)
        }
        return out
    }

    static func apply(_ e: KernelBug.Edit, to text: String, bug: String) throws -> String {
        let scope = try e.function.map { f -> Range<String.Index> in
            guard let r = functionBody(f, in: text) else {
                throw InputError("bug \(bug): no function \(f) in \(e.file)")
            }
            return r
        } ?? text.startIndex..<text.endIndex
        func once(_ fragment: String) throws -> Range<String.Index> {
            let found = occurrences(fragment, in: text, within: scope)
            guard found.count == 1 else {
                throw InputError("bug \(bug): '\(fragment)' occurs \(found.count) times in "
                    + "\(e.function ?? e.file), not once")
            }
            return found[0]
        }
        var t = text
        if let r = e.replace, let w = e.with {
            var range = try once(r)
            // Deleting whole statements deletes their lines, not just their text.
            if w.isEmpty {
                let lo = text[..<range.lowerBound].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
                let hi = text[range.upperBound...].firstIndex(of: "\n").map { text.index(after: $0) } ?? text.endIndex
                if text[lo..<range.lowerBound].allSatisfy(\.isWhitespace)
                    && text[range.upperBound..<hi].allSatisfy(\.isWhitespace) {
                    range = lo..<hi
                }
            }
            t.replaceSubrange(range, with: w)
        } else if let m = e.move, let a = e.after {
            // By whole lines: the ones the fragment touches go after the line `after` ends on.
            func lineNumbers(_ r: Range<String.Index>) -> ClosedRange<Int> {
                let first = text[..<r.lowerBound].filter { $0 == "\n" }.count
                return first...(first + text[r].filter { $0 == "\n" }.count)
            }
            let from = lineNumbers(try once(m)), to = lineNumbers(try once(a)).upperBound
            guard !from.contains(to) else { throw InputError("bug \(bug): '\(m)' and '\(a)' overlap") }
            var lines = text.components(separatedBy: "\n")
            let moved = Array(lines[from])
            lines.removeSubrange(from)
            lines.insert(contentsOf: moved, at: to < from.lowerBound ? to + 1 : to + 1 - moved.count)
            t = lines.joined(separator: "\n")
        }
        return t
    }

    /// From `{` after the definition `name(...)` to its matching `}`.
    static func functionBody(_ name: String, in text: String) -> Range<String.Index>? {
        var search = text.startIndex..<text.endIndex
        while let r = text.range(of: name + "(", range: search) {
            search = r.upperBound..<text.endIndex
            let lineStart = text[..<r.lowerBound].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
            guard !text[lineStart..<r.lowerBound].contains(where: { "=(,;".contains($0) }) else { continue }
            guard let open = text[r.upperBound...].firstIndex(where: { $0 == "{" || $0 == ";" }),
                  text[open] == "{" else {
                continue
            }
            var depth = 0
            var i = open
            while i < text.endIndex {
                if text[i] == "{" {
                    depth += 1
                } else if text[i] == "}" {
                    depth -= 1
                    if depth == 0 { return open..<text.index(after: i) }
                }
                i = text.index(after: i)
            }
        }
        return nil
    }

    /// Where `fragment` occurs in `text[scope]`, white space ignored on both sides.
    static func occurrences(_ fragment: String, in text: String,
                            within scope: Range<String.Index>) -> [Range<String.Index>] {
        let want = Array(fragment.filter { !$0.isWhitespace })
        guard !want.isEmpty else { return [] }
        var chars: [(Character, String.Index)] = []
        var i = scope.lowerBound
        while i < scope.upperBound { if !text[i].isWhitespace { chars.append((text[i], i)) }; i = text.index(after: i) }
        var out: [Range<String.Index>] = []
        guard chars.count >= want.count else { return [] }
        for s in 0...(chars.count - want.count) where chars[s].0 == want[0] {
            if (0..<want.count).allSatisfy({ chars[s + $0].0 == want[$0] }) {
                out.append(chars[s].1..<text.index(after: chars[s + want.count - 1].1))
            }
        }
        return out
    }

}

extension KernelBug.Edit {
    var isWellFormed: Bool {
        (replace != nil && with != nil && move == nil) || (move != nil && after != nil && replace == nil)
    }
}
