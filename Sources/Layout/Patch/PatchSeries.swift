import Foundation

/// One line of a hunk body.
package struct HunkLine: Sendable, Equatable {
    /// `bare`: a line without a ` `/`+`/`-` prefix, as list archives print
    /// context lines; it is either a context line of the file or reply text
    /// typed into the quoted patch, which only the file can tell.
    package enum Kind: Sendable, Equatable { case context, add, remove, bare }
    package let kind: Kind
    package let text: String
    /// Followed by `\ No newline at end of file` in the patch.
    package var noNewlineAtEnd: Bool = false
    /// Line of the patch file this came from (1-based; 0 when built in code).
    package var patchLine: Int = 0

    package init(_ kind: Kind, _ text: String, noNewlineAtEnd: Bool = false, patchLine: Int = 0) {
        self.kind = kind; self.text = text; self.noNewlineAtEnd = noNewlineAtEnd; self.patchLine = patchLine
    }

    package static func == (a: HunkLine, b: HunkLine) -> Bool {
        a.kind == b.kind && a.text == b.text && a.noNewlineAtEnd == b.noNewlineAtEnd
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
    /// Lines after the counted body, up to the next boundary, of a hunk that
    /// has bare lines: when some bare lines turn out to be reply text, the
    /// hunk's remaining lines are here. The applier takes what the counts need.
    package var tail: [HunkLine] = []
    /// Context lines the header counts but the copy lacks at the end (the copy
    /// was cut off by the next hunk or the end of the file).
    package var missingContextLines: Int = 0

    /// The `@@ -a,b +c,d @@` line as written.
    package var header: String {
        "@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@" + (section.isEmpty ? "" : " " + section)
    }
    /// Whether the copy lost its context prefixes (a list-archive copy).
    package var hasBareLines: Bool { lines.contains { $0.kind == .bare } }
    /// The hunk changes something (a hunk of context only is a no-op).
    package var changes: Bool { (lines + tail).contains { $0.kind == .add || $0.kind == .remove } }
}

package struct FileDiff: Sendable, Equatable {
    /// Paths with `a/` / `b/` stripped; nil for `/dev/null`.
    package var oldPath: String?
    package var newPath: String?
    package var hunks: [Hunk] = []
    /// `GIT binary patch` or `Binary files ... differ`: nothing this tool can apply.
    package var isBinary = false
    /// `rename from`/`rename to`: git moved the file (plain diffs of two
    /// folders differ in their first path part without being renames).
    package var isRename = false
    /// `copy from`/`copy to`: a new file made from another one.
    package var isCopy = false

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
    /// `Reconstructs: IOCTL` trailers: this patch is a reconstruction of what
    /// a series adds for these ioctls, not posted code.
    package var reconstructs: [String] = []

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
        var out = text.utf8.split(separator: UInt8(ascii: "\n"),
                                  omittingEmptySubsequences: false).map { bytes -> String in
            var b = bytes
            if b.last == UInt8(ascii: "\r") { b = b.dropLast() }
            return String(decoding: b, as: UTF8.self)
        }
        if out.last == "" { out.removeLast() }
        return out
    }
}
