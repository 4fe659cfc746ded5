import Foundation

/// Line-driven state machine. Hunk bodies are consumed by their header's line
/// counts, as `git apply` does, so `-- ` or `From ` inside a hunk stay hunk lines.
struct Parser {
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
        guard let first = name.first else { return false }
        return first.isASCII && first.isLetter
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
        if !inFile, line.hasPrefix("Reconstructs: ") {
            cur.reconstructs += line.dropFirst(14).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
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
            if line.hasPrefix("rename from ") || line.hasPrefix("rename to ") {
                let from = line.hasPrefix("rename from ")
                let path = String(line.dropFirst(from ? 12 : 10))
                let last = cur.files.count - 1
                if from { cur.files[last].oldPath = path } else { cur.files[last].newPath = path }
                cur.files[cur.files.count - 1].isRename = true
                i += 1; return
            }
            if line.hasPrefix("copy from ") || line.hasPrefix("copy to ") {
                cur.files[cur.files.count - 1].isCopy = true
            }
            if line.hasPrefix("new file mode") { cur.files[cur.files.count - 1].oldPath = nil }
            if line.hasPrefix("deleted file mode") { cur.files[cur.files.count - 1].newPath = nil }
            if line == "GIT binary patch" || (line.hasPrefix("Binary files ") && line.hasSuffix(" differ")) {
                cur.files[cur.files.count - 1].isBinary = true
            }
        }
        if line == "-- " || line == "--" {
            // Signature separator: the message body (and its diff) ends here.
            state = .trailer; inFile = false; justEndedHunk = false; i += 1; return
        }
        if justEndedHunk, let f = line.first, f == "+" || f == "-" {
            // Counts said the hunk was over; more changed lines mean they were wrong.
            let file = cur.files.last?.path ?? "?"
            throw InputError("line \(i + 1): changed line after hunk #\(cur.files.last?.hunks.count ?? 0) of \(file) "
                + "ended; the hunk header's line counts do not match its body")
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

    /// Line numbers and counts past this are not a real source file's; they
    /// are refused so no arithmetic on them can overflow.
    static let maxLineNumber = 10_000_000

    /// `@@ -l[,s] +l[,s] @@ section`; a missing count means 1.
    static func parseHunkHeader(_ h: String) -> (oldStart: Int, oldCount: Int, newStart: Int, newCount: Int,
                                                 section: String)? {
        var rest = Substring(h)
        func eat(_ p: String) -> Bool {
            guard rest.hasPrefix(p) else { return false }
            rest = rest.dropFirst(p.count); return true
        }
        func number() -> Int? {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, digits.count <= 8, let n = Int(digits), n <= maxLineNumber else { return nil }
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

    /// A line no hunk continues past: the next hunk or file, a signature, the
    /// next mail.
    func isBoundary(_ n: Int, archive: Bool) -> Bool {
        let l = lines[n]
        if l.hasPrefix("@@") || l.hasPrefix("diff --git ") || isMboxSeparator(n) { return true }
        if archive && (l == "--" || l == "-- ") { return true }
        if l.hasPrefix("--- "), n + 1 < lines.count, lines[n + 1].hasPrefix("+++ ") { return true }
        return archive && (l.hasPrefix("From: ") || l.hasPrefix("Subject: ") || Parser.looksLikeSubject(l))
    }

    /// The hunk line for patch line `n`; nil for a `\ No newline` marker.
    func hunkLine(_ n: Int) -> HunkLine? {
        let l = lines[n]
        switch l.first {
        case "+": return HunkLine(.add, String(l.dropFirst()), patchLine: n + 1)
        case "-": return HunkLine(.remove, String(l.dropFirst()), patchLine: n + 1)
        case " ": return HunkLine(.context, String(l.dropFirst()), patchLine: n + 1)
        case "\\": return nil
        default: return HunkLine(.bare, l, patchLine: n + 1)
        }
    }

    /// Reads one hunk. Lines are consumed by the header's counts, as `git
    /// apply` does. A bare line (no prefix: an archive copy) counts as context
    /// while both sides still need lines, and is surplus otherwise; whether it
    /// is context or reply text is the applier's call, made against the file.
    /// Because reply text may have used up the counts early, a hunk with bare
    /// lines also keeps the lines up to the next boundary as its `tail`.
    mutating func readHunk() throws {
        let lineNo = i + 1
        var hunk = try startHunk()
        let file = cur.files[cur.files.count - 1]
        let hunkNo = file.hunks.count + 1
        var oldLeft = hunk.oldCount, newLeft = hunk.newCount
        // No ` `-prefixed line so far: this may be a list-archive copy.
        var archiveCopy = true
        i += 1
        func where_() -> String { "hunk #\(hunkNo) of \(file.path) (line \(lineNo))" }
        func ranOut(_ why: String) -> InputError {
            InputError("line \(i + 1): \(where_()) \(why) with \(oldLeft) old and \(newLeft) new lines still to come")
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
            if isBoundary(i, archive: archiveCopy) {
                try cutOff("is cut off by '\(Parser.clip(lines[i]))'")
                break
            }
            guard let line = hunkLine(i) else { markNoNewline(&hunk); i += 1; continue }
            switch line.kind {
            case .add:
                guard newLeft > 0 else {
                    throw InputError("line \(i + 1): \(where_()) has more added lines than its header says")
                }
                newLeft -= 1
            case .remove:
                guard oldLeft > 0 else {
                    throw InputError("line \(i + 1): \(where_()) has more removed lines than its header says")
                }
                oldLeft -= 1
            case .context:
                archiveCopy = false
                guard oldLeft > 0, newLeft > 0 else { throw ranOut("has a context line that does not fit") }
                oldLeft -= 1; newLeft -= 1
            case .bare:
                if oldLeft > 0, newLeft > 0 { oldLeft -= 1; newLeft -= 1 }
            }
            hunk.lines.append(line)
            i += 1
        }
        if i < lines.count, lines[i].hasPrefix("\\") { markNoNewline(&hunk); i += 1 }
        if hunk.hasBareLines { readTail(&hunk) }
        cur.files[cur.files.count - 1].hunks.append(hunk)
        justEndedHunk = hunk.tail.isEmpty
    }

    /// The hunk the header at line `i` opens, still without lines; it must follow a file header.
    mutating func startHunk() throws -> Hunk {
        let header = lines[i]
        let lineNo = i + 1
        guard let h = Parser.parseHunkHeader(header) else {
            throw InputError("line \(lineNo): cannot read hunk header '\(Parser.clip(header))'")
        }
        guard inFile, !cur.files.isEmpty else {
            throw InputError("line \(lineNo): hunk header without a file header ('diff --git' or '---'/'+++') "
                + "before it")
        }
        return Hunk(oldStart: h.oldStart, oldCount: h.oldCount, newStart: h.newStart, newCount: h.newCount,
                    section: h.section, lines: [], patchLine: lineNo)
    }

    /// The lines up to the next boundary, kept after a hunk with bare lines
    /// (reply text may have used up its counts early).
    mutating func readTail(_ hunk: inout Hunk) {
        while i < lines.count, !isBoundary(i, archive: true) {
            if let line = hunkLine(i) { hunk.tail.append(line) } else { markNoNewline(&hunk) }
            i += 1
        }
    }

    func markNoNewline(_ hunk: inout Hunk) {
        if !hunk.tail.isEmpty { hunk.tail[hunk.tail.count - 1].noNewlineAtEnd = true; return }
        guard !hunk.lines.isEmpty else { return }
        hunk.lines[hunk.lines.count - 1].noNewlineAtEnd = true
    }
}
