import Foundation

/// One line of a hunk body.
package struct HunkLine: Sendable, Equatable {
    package enum Kind: Sendable, Equatable { case context, add, remove }
    package let kind: Kind
    package let text: String
    /// Followed by `\ No newline at end of file` in the patch.
    package var noNewlineAtEnd: Bool = false

    package init(_ kind: Kind, _ text: String, noNewlineAtEnd: Bool = false) {
        self.kind = kind; self.text = text; self.noNewlineAtEnd = noNewlineAtEnd
    }
}

package struct Hunk: Sendable, Equatable {
    package let oldStart: Int
    package let oldCount: Int
    package let newStart: Int
    package let newCount: Int
    /// Text after the second `@@` (usually the enclosing C declaration).
    package let section: String
    package var lines: [HunkLine]
    /// Line of the `@@` header in the patch file (1-based).
    package let patchLine: Int
    /// Archive text lines found inside the hunk that cannot be part of it
    /// (a reviewer's comment between added lines); they were skipped.
    package var skippedLines: Int = 0
    /// Context lines the header counts but the copy lacks (archives drop
    /// blank lines); the applier then lets blank lines of the tree go unmatched.
    package var missingContextLines: Int = 0

    package var oldLines: [HunkLine] { lines.filter { $0.kind != .add } }
    package var newLines: [HunkLine] { lines.filter { $0.kind != .remove } }
}

package struct FileDiff: Sendable, Equatable {
    /// Paths with `a/` / `b/` stripped; nil for `/dev/null`.
    package var oldPath: String?
    package var newPath: String?
    package var hunks: [Hunk] = []

    package var isNewFile: Bool { oldPath == nil && newPath != nil }
    package var isDeletion: Bool { newPath == nil && oldPath != nil }
    /// The path to report: the new one unless the file is deleted.
    package var path: String { newPath ?? oldPath ?? "" }
}

package struct PatchMessage: Sendable, Equatable {
    /// The subject line (without `Subject:`), e.g. `[PATCH v5 5/5] iommufd: ...`;
    /// empty for a plain diff.
    package var subject: String = ""
    package var files: [FileDiff] = []

    /// `(5, 5)` from `[PATCH v5 5/5]`.
    package var seriesPosition: (index: Int, total: Int)? {
        guard let tag = PatchMessage.bracketTag(subject) else { return nil }
        let parts = tag.split(whereSeparator: { $0 == " " || $0 == "\t" })
        for p in parts.reversed() {
            let nm = p.split(separator: "/")
            if nm.count == 2, let n = Int(nm[0]), let m = Int(nm[1]) { return (n, m) }
        }
        return nil
    }

    /// The subject without `Re:` prefixes and the `[PATCH ...]` tag.
    package var title: String {
        var s = Substring(subject)
        while true {
            s = s.drop(while: { $0 == " " })
            if s.lowercased().hasPrefix("re:") { s = s.dropFirst(3); continue }
            if s.hasPrefix("["), let close = s.firstIndex(of: "]") { s = s[s.index(after: close)...]; continue }
            break
        }
        return s.trimmingCharacters(in: .whitespaces)
    }

    static func bracketTag(_ subject: String) -> String? {
        guard let open = subject.firstIndex(of: "["),
              let close = subject[open...].firstIndex(of: "]") else { return nil }
        return String(subject[subject.index(after: open)..<close])
    }

}

/// A patch series read from `git format-patch` output, a concatenated mbox,
/// a mailing-list archive copy, or a plain unified diff.
package struct PatchSeries: Sendable, Equatable {
    /// Every message in file order, including ones without a diff (cover letters).
    package var messages: [PatchMessage]

    /// Messages that carry at least one file diff, in file (= series) order.
    package var patches: [PatchMessage] { messages.filter { !$0.files.isEmpty } }

    /// Errors name the patch-file line (`line N: ...`); callers add the file name.
    package static func parse(text: String) throws -> PatchSeries {
        var p = Parser(lines: splitLines(text))
        try p.run()
        let series = PatchSeries(messages: p.messages)
        guard series.messages.contains(where: { !$0.files.isEmpty }) else {
            throw InputError("no diff found (no 'diff --git', '---'/'+++' or '@@' lines)")
        }
        return series
    }

    /// Splits on LF only (bytes, so CRLF is not a single Character) and drops CRs.
    static func splitLines(_ text: String) -> [String] {
        var out = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { bytes -> String in
            var b = bytes
            if b.last == UInt8(ascii: "\r") { b = b.dropLast() }
            return String(decoding: b, as: UTF8.self)
        }
        if out.last == "" { out.removeLast() }
        return out
    }
}

/// Line-driven state machine. Hunk bodies are consumed by their header's line
/// counts, as `git apply` does, so `-- ` or `From ` inside a hunk stay hunk lines.
private struct Parser {
    enum State {
        case body        // commit message, diffstat, text between files
        case headers     // mail headers after a `From ` separator
        case trailer     // after the `-- ` signature, until the next message
    }

    let lines: [String]
    var i = 0
    var state = State.body
    var messages: [PatchMessage] = [PatchMessage()]
    var curHasHeaders = false
    /// A `[PATCH ...]` line seen in a trailer, used when the next message has no Subject:.
    var pendingSubject: String?
    /// The file diff being filled, and whether the line right after its last hunk is next.
    var inFile = false
    var justEndedHunk = false

    init(lines: [String]) { self.lines = lines }

    var cur: PatchMessage {
        get { messages[messages.count - 1] }
        set { messages[messages.count - 1] = newValue }
    }

    /// `Name: value` with an RFC 5322-ish field name.
    static func looksLikeHeader(_ s: String) -> Bool {
        guard let colon = s.firstIndex(of: ":"), colon != s.startIndex,
              s[s.index(after: colon)...].first == " " else { return false }
        let name = s[..<colon]
        return name.first!.isASCII && name.first!.isLetter
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    static func looksLikeSubject(_ s: String) -> Bool {
        let t = s.trimmingCharacters(in: .whitespaces)
        let l = t.lowercased()
        return l.contains("[patch") || l.contains("[rfc")
    }

    /// `From <sha-or-address> <weekday> ...` followed by a mail header.
    func isMboxSeparator(_ n: Int) -> Bool {
        let s = lines[n]
        guard s.hasPrefix("From "), n + 1 < lines.count, Parser.looksLikeHeader(lines[n + 1]) else { return false }
        let words = s.split(separator: " ", omittingEmptySubsequences: true)
        let days: Set<Substring> = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        return words.count >= 3 && days.contains(words[2])
    }

    mutating func startMessage() {
        // Keep the current message unless it is still empty (preamble only).
        if !(cur.subject.isEmpty && cur.files.isEmpty && !curHasHeaders) {
            messages.append(PatchMessage())
        }
        curHasHeaders = true
        inFile = false
        justEndedHunk = false
        if let s = pendingSubject { cur.subject = s; pendingSubject = nil }
    }

    mutating func run() throws {
        // A single saved mail starts with its headers.
        if let first = lines.first, Parser.looksLikeHeader(first) { state = .headers; curHasHeaders = true }
        while i < lines.count {
            let line = lines[i]
            // Message boundaries (never inside a hunk: hunks are consumed whole below).
            if isMboxSeparator(i) {
                startMessage(); state = .headers; i += 1; continue
            }
            if line.hasPrefix("From: "), !cur.files.isEmpty {
                // A concatenation of mails without mbox separators.
                startMessage(); state = .headers; continue
            }
            switch state {
            case .headers:
                try headerLine(line)
            case .trailer:
                if Parser.looksLikeSubject(line) { pendingSubject = Parser.stripSubject(line) }
                i += 1
            case .body:
                try bodyLine(line)
            }
        }
    }

    static func stripSubject(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("Subject:") { t = String(t.dropFirst(8)).trimmingCharacters(in: .whitespaces) }
        return t
    }

    mutating func headerLine(_ line: String) throws {
        if line.trimmingCharacters(in: .whitespaces).isEmpty { state = .body; i += 1; return }
        if line.hasPrefix("Subject:") {
            var subject = Parser.stripSubject(line)
            i += 1
            // RFC 5322 folding: continuation lines start with white space.
            while i < lines.count, let f = lines[i].first, f == " " || f == "\t" {
                subject += " " + lines[i].trimmingCharacters(in: .whitespaces); i += 1
            }
            cur.subject = subject
            return
        }
        if Parser.looksLikeHeader(line) || line.first == " " || line.first == "\t" {
            // An archive copy's first line is the bare subject (`Re: [PATCH ...]`).
            if cur.subject.isEmpty, Parser.looksLikeSubject(line) { cur.subject = Parser.stripSubject(line) }
            i += 1; return
        }
        // Archive copies drop the blank line after the headers.
        state = .body
    }

    mutating func bodyLine(_ line: String) throws {
        if line.hasPrefix("diff --git ") {
            startFile(gitHeader: line); i += 1; return
        }
        if line.hasPrefix("--- "), i + 1 < lines.count, lines[i + 1].hasPrefix("+++ ") {
            let old = Parser.headerPath(String(line.dropFirst(4)))
            let new = Parser.headerPath(String(lines[i + 1].dropFirst(4)))
            // `diff --git` already opened this file unless a hunk was read since.
            if !inFile || !(cur.files.last?.hunks.isEmpty ?? true) { openFile(old: old, new: new) }
            else { cur.files[cur.files.count - 1].oldPath = old; cur.files[cur.files.count - 1].newPath = new }
            i += 2; justEndedHunk = false; return
        }
        if line.hasPrefix("@@") {
            try readHunk(); return
        }
        if inFile {
            if line.hasPrefix("rename from ") { cur.files[cur.files.count - 1].oldPath = String(line.dropFirst(12)); i += 1; return }
            if line.hasPrefix("rename to ") { cur.files[cur.files.count - 1].newPath = String(line.dropFirst(10)); i += 1; return }
            if line.hasPrefix("new file mode") { cur.files[cur.files.count - 1].oldPath = nil }
            if line.hasPrefix("deleted file mode") { cur.files[cur.files.count - 1].newPath = nil }
        }
        if line == "-- " || line == "--" {
            // Signature separator: the message body (and its diff) ends here.
            state = .trailer; inFile = false; justEndedHunk = false; i += 1; return
        }
        if justEndedHunk, let f = line.first, f == "+" || f == "-" {
            // Counts said the hunk was over; more changed lines mean they were wrong.
            let file = cur.files.last?.path ?? "?"
            throw InputError("line \(i + 1): changed line after hunk #\(cur.files.last?.hunks.count ?? 0) of \(file) ended; the hunk header's line counts do not match its body")
        }
        if Parser.looksLikeSubject(line) {
            // Archive copies put the subject first, without `Subject:`; after
            // a diff such a line heads the next copied mail.
            if cur.subject.isEmpty, cur.files.isEmpty { cur.subject = Parser.stripSubject(line) }
            else if !cur.files.isEmpty { pendingSubject = Parser.stripSubject(line) }
        }
        justEndedHunk = false
        i += 1
    }

    mutating func startFile(gitHeader: String) {
        // `diff --git a/X b/Y`: paths with spaces are rare in the kernel; split at " b/".
        let rest = String(gitHeader.dropFirst("diff --git ".count))
        var old: String?, new: String?
        if let r = rest.range(of: " b/") {
            old = Parser.stripPrefix(String(rest[..<r.lowerBound]))
            new = String(rest[rest.index(r.lowerBound, offsetBy: 3)...])
        } else {
            let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
            old = parts.first.map(Parser.stripPrefix)
            new = parts.count > 1 ? Parser.stripPrefix(parts[1]) : old
        }
        openFile(old: old, new: new)
    }

    mutating func openFile(old: String?, new: String?) {
        cur.files.append(FileDiff(oldPath: old, newPath: new))
        inFile = true
        justEndedHunk = false
    }

    static func stripPrefix(_ p: String) -> String {
        if p.hasPrefix("a/") || p.hasPrefix("b/") { return String(p.dropFirst(2)) }
        return p
    }

    /// `--- a/path\t2024-01-01 ...` → `path`; `/dev/null` → nil.
    static func headerPath(_ raw: String) -> String? {
        var p = raw
        if let tab = p.firstIndex(of: "\t") { p = String(p[..<tab]) }
        p = p.trimmingCharacters(in: .whitespaces)
        if p.hasPrefix("\""), p.hasSuffix("\""), p.count >= 2 { p = String(p.dropFirst().dropLast()) }
        if p == "/dev/null" { return nil }
        return stripPrefix(p)
    }

    /// `@@ -l[,s] +l[,s] @@ section`; a missing count means 1.
    static func parseHunkHeader(_ h: String) -> (oldStart: Int, oldCount: Int, newStart: Int, newCount: Int, section: String)? {
        var rest = Substring(h)
        func eat(_ p: String) -> Bool {
            guard rest.hasPrefix(p) else { return false }
            rest = rest.dropFirst(p.count); return true
        }
        func number() -> Int? {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let n = Int(digits) else { return nil }
            rest = rest.dropFirst(digits.count); return n
        }
        func range() -> (Int, Int)? {
            guard let start = number() else { return nil }
            if eat(",") { guard let c = number() else { return nil }; return (start, c) }
            return (start, 1)
        }
        guard eat("@@ -"), let old = range(), eat(" +"), let new = range(), eat(" @@") else { return nil }
        return (old.0, old.1, new.0, new.1, rest.trimmingCharacters(in: .whitespaces))
    }

    static func clip(_ s: String) -> String { s.count > 60 ? String(s.prefix(57)) + "..." : s }

    mutating func readHunk() throws {
        let header = lines[i]
        let lineNo = i + 1
        guard let h = Parser.parseHunkHeader(header) else {
            throw InputError("line \(lineNo): cannot read hunk header '\(Parser.clip(header))'")
        }
        guard inFile, !cur.files.isEmpty else {
            throw InputError("line \(lineNo): hunk header without a file header ('diff --git' or '---'/'+++') before it")
        }
        let file = cur.files[cur.files.count - 1]
        let hunkNo = file.hunks.count + 1
        var hunk = Hunk(oldStart: h.oldStart, oldCount: h.oldCount, newStart: h.newStart, newCount: h.newCount,
                        section: h.section, lines: [], patchLine: lineNo)
        var oldLeft = h.oldCount, newLeft = h.newCount
        // No ` `-prefixed line so far: this may be a list-archive copy.
        var archiveCopy = true
        i += 1
        func ranOut(_ why: String) -> InputError {
            InputError("line \(i + 1): hunk #\(hunkNo) of \(file.path) (line \(lineNo)) \(why) with \(oldLeft) old and \(newLeft) new lines still to come")
        }
        /// Where a hunk that is still short stops: an archive copy may only
        /// have lost context lines (as many old as new); anything else is an error.
        func cutOff(_ why: String) throws {
            guard archiveCopy, oldLeft == newLeft else { throw ranOut(why) }
            hunk.missingContextLines = oldLeft
            oldLeft = 0; newLeft = 0
        }
        while oldLeft > 0 || newLeft > 0 {
            guard i < lines.count else {
                i = lines.count - 1  // name the last line, not one past it
                try cutOff("is cut off by the end of the file")
                i = lines.count
                break
            }
            let l = lines[i]
            if l.hasPrefix("@@") || l.hasPrefix("diff --git ") || isMboxSeparator(i)
                || (archiveCopy && (l == "--" || l == "-- ")) {
                try cutOff("is cut off by '\(Parser.clip(l))'")
                break
            }
            switch l.first {
            case "+":
                guard newLeft > 0 else { throw InputError("line \(i + 1): hunk #\(hunkNo) of \(file.path) (line \(lineNo)) has more added lines than its header says") }
                hunk.lines.append(HunkLine(.add, String(l.dropFirst()))); newLeft -= 1
            case "-":
                guard oldLeft > 0 else { throw InputError("line \(i + 1): hunk #\(hunkNo) of \(file.path) (line \(lineNo)) has more removed lines than its header says") }
                hunk.lines.append(HunkLine(.remove, String(l.dropFirst()))); oldLeft -= 1
            case "\\":
                markNoNewline(&hunk)
            case " ":
                archiveCopy = false
                guard oldLeft > 0, newLeft > 0 else { throw ranOut("has a context line that does not fit") }
                hunk.lines.append(HunkLine(.context, String(l.dropFirst()))); oldLeft -= 1; newLeft -= 1
            default:
                // Archive copies strip the leading space of context lines (and
                // empty context lines become empty). Text that cannot be context
                // because one side is already complete is a comment typed into
                // a quoted patch; skip it.
                if oldLeft > 0, newLeft > 0 {
                    hunk.lines.append(HunkLine(.context, l)); oldLeft -= 1; newLeft -= 1
                } else {
                    hunk.skippedLines += 1
                }
            }
            i += 1
        }
        if i < lines.count, lines[i].hasPrefix("\\") { markNoNewline(&hunk); i += 1 }
        cur.files[cur.files.count - 1].hunks.append(hunk)
        justEndedHunk = true
    }

    func markNoNewline(_ hunk: inout Hunk) {
        guard !hunk.lines.isEmpty else { return }
        hunk.lines[hunk.lines.count - 1].noNewlineAtEnd = true
    }
}
