import Foundation

/// Applies the uAPI-header parts of a patch series to header texts.
package enum HunkApplier {
    /// Kernel-tree paths of the headers this tool checks, by include-relative key.
    package static let uapiPaths: [(key: String, kernelPath: String)] = [
        (HeaderTree.iommufdHeader, "include/uapi/linux/iommufd.h"),
        (HeaderTree.vfioHeader, "include/uapi/linux/vfio.h"),
    ]

    /// `include/uapi/linux/iommufd.h` (also under a leading folder such as
    /// `linux-7.2/`) → `linux/iommufd.h`; a diff of installed headers
    /// (`usr/include/linux/…` or `linux/…`) maps the same way. The kernel's
    /// internal `include/linux/iommufd.h` does not.
    package static func uapiKey(for path: String) -> String? {
        for (key, kernelPath) in uapiPaths {
            if path == kernelPath || path.hasSuffix("/" + kernelPath) || path == key || path == "usr/include/" + key {
                return key
            }
        }
        return nil
    }

    /// A file as lines plus whether its last line ends with a newline.
    package struct Buffer: Sendable, Equatable {
        package var lines: [String]
        package var endsWithNewline: Bool

        package init(text: String) {
            let bytes = Array(text.utf8)
            endsWithNewline = bytes.isEmpty || bytes.last == UInt8(ascii: "\n")
            var parts = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            if endsWithNewline { parts.removeLast() }
            lines = parts.map { String(decoding: $0, as: UTF8.self) }
        }

        package var text: String {
            lines.isEmpty ? "" : lines.joined(separator: "\n") + (endsWithNewline ? "\n" : "")
        }
    }

    /// Why a hunk did not apply; the caller names the patch.
    package struct Failure: Error, Sendable {
        package let hunkNumber: Int
        /// 1-based line where the hunk was expected.
        package let line: Int
        /// The hunk's new text is already there.
        package let alreadyApplied: Bool
    }

    /// How strictly a hunk's old lines were compared with the tree.
    package enum Match: Sendable, Equatable {
        case exact
        /// All white space removed (archive copies lose tabs).
        case ignoringWhitespace
        /// Also lets blank tree lines go unmatched (archives drop blank lines).
        case ignoringBlankLines
    }

    /// How a hunk that did apply was placed (for notes).
    package struct Placement: Sendable, Equatable {
        package let hunkNumber: Int
        package let offset: Int
        package let match: Match
    }

    /// Applies every hunk of `file` to `buffer` in order. Hunks cannot overlap
    /// or go backwards, so each search starts after the previous hunk.
    package static func apply(_ file: FileDiff, to buffer: inout Buffer) throws(Failure) -> [Placement] {
        var drift = 0
        var minPos = 0
        var placements: [Placement] = []
        for (n, hunk) in file.hunks.enumerated() {
            // A hunk without old lines inserts *after* line oldStart.
            let stated = hunk.oldLines.isEmpty ? hunk.oldStart : max(hunk.oldStart - 1, 0)
            let expected = stated + drift
            guard let m = locate(hunk.lines, in: buffer.lines, near: expected, from: minPos) else {
                let reversed = hunk.lines.map { l -> HunkLine in
                    switch l.kind {
                    case .add: HunkLine(.remove, l.text)
                    case .remove: HunkLine(.add, l.text)
                    case .context: l
                    }
                }
                let already = !hunk.newLines.isEmpty && locate(reversed, in: buffer.lines, near: expected, from: minPos) != nil
                throw Failure(hunkNumber: n + 1, line: expected + 1, alreadyApplied: already)
            }
            let reachedEnd = m.pos + m.span == buffer.lines.count
            buffer.lines.replaceSubrange(m.pos..<(m.pos + m.span), with: m.replacement)
            if reachedEnd {
                buffer.endsWithNewline = !(hunk.newLines.last?.noNewlineAtEnd ?? false)
            }
            if m.pos != expected || m.match != .exact {
                placements.append(Placement(hunkNumber: n + 1, offset: m.pos - expected, match: m.match))
            }
            drift = m.pos - stated + (m.replacement.count - m.span)
            minPos = m.pos + m.replacement.count
        }
        return placements
    }

    static func squeeze(_ s: String) -> String { s.filter { !$0.isWhitespace } }

    /// Where the hunk's old side occurs: exact comparison at any offset
    /// (nearest first), then with white space removed, then also skipping
    /// blank tree lines. Returns the tree lines covered and their replacement.
    static func locate(_ hunk: [HunkLine], in lines: [String], near expected: Int, from minPos: Int)
        -> (pos: Int, span: Int, replacement: [String], match: Match)? {
        let oldCount = hunk.filter { $0.kind != .add }.count
        if oldCount == 0 {
            guard minPos <= lines.count else { return nil }
            return (min(max(expected, minPos), lines.count), 0, hunk.map(\.text), .exact)
        }
        var squeezed: [String] = []
        for match in [Match.exact, .ignoringWhitespace, .ignoringBlankLines] {
            if match == .ignoringWhitespace { squeezed = lines.map(squeeze) }
            // Skipping blank lines can make the covered span shorter or longer.
            let last = match == .ignoringBlankLines ? lines.count - 1 : lines.count - oldCount
            guard last >= minPos else { continue }
            let start = min(max(expected, minPos), last)
            for d in 0...max(start - minPos, last - start) {
                for p in d == 0 ? [start] : [start + d, start - d] where p >= minPos && p <= last {
                    if let r = align(hunk, lines, squeezed, at: p, match) { return (p, r.span, r.replacement, match) }
                }
            }
        }
        return nil
    }

    /// Matches the hunk's old lines against the tree from `p` and builds the
    /// new text. Context comes from the tree, not the patch: archive copies
    /// lost its tabs.
    static func align(_ hunk: [HunkLine], _ lines: [String], _ squeezed: [String], at p: Int, _ match: Match)
        -> (span: Int, replacement: [String])? {
        var j = p
        var out: [String] = []
        for l in hunk {
            if l.kind == .add { out.append(l.text); continue }
            let want = match == .exact ? l.text : squeeze(l.text)
            if match == .ignoringBlankLines {
                if want.isEmpty {
                    // A blank hunk line takes a blank tree line if there is one.
                    if j < lines.count, squeezed[j].isEmpty {
                        if l.kind == .context { out.append(lines[j]) }
                        j += 1
                    }
                    continue
                }
                // Blank tree lines the copy lost stay as context.
                while j < lines.count, squeezed[j].isEmpty { out.append(lines[j]); j += 1 }
            }
            guard j < lines.count, (match == .exact ? lines[j] : squeezed[j]) == want else { return nil }
            if l.kind == .context { out.append(lines[j]) }
            j += 1
        }
        return (j - p, out)
    }

    /// Result of applying a series to the uAPI headers.
    package struct SeriesResult: Sendable {
        /// Keys (`linux/iommufd.h`, ...) in the order the series first touched them.
        package var touched: [String] = []
        /// Text before the series, for headers that existed.
        package var base: [String: String] = [:]
        package var patched: [String: String] = [:]
        package var notes: [String] = []
    }

    /// Applies the uAPI-header hunks of `series`, patch after patch; `base`
    /// gives a header's current text (nil when the tree lacks it).
    package static func apply(_ series: PatchSeries, base: (String) throws -> String?) throws -> SeriesResult {
        var result = SeriesResult()
        var current: [String: String?] = [:]
        let patches = series.patches
        for (index, message) in patches.enumerated() {
            let label = message.label(index: index, of: patches.count)
            for file in message.files where !file.hunks.isEmpty {
                guard let key = uapiKey(for: file.path) ?? file.oldPath.flatMap(uapiKey(for:)) else { continue }
                if current[key] == nil {
                    let text = try base(key)
                    current[key] = .some(text)
                    if let text { result.base[key] = text }
                    result.touched.append(key)
                }
                let now = current[key]!
                if file.isDeletion {
                    throw InputError("\(label): deletes \(file.oldPath!), which this tool cannot check")
                }
                if file.isNewFile, now != nil, !(now!.isEmpty) {
                    throw InputError("\(label): creates \(file.path), but the header tree already has \(key)")
                }
                if !file.isNewFile, now == nil {
                    throw InputError("\(label): changes \(file.path), but the header tree has no \(key)")
                }
                var buffer = Buffer(text: now ?? "")
                do throws(Failure) {
                    for p in try apply(file, to: &buffer) {
                        var how = p.offset == 0 ? [] : ["at offset \(p.offset)"]
                        switch p.match {
                        case .exact: break
                        case .ignoringWhitespace: how.append("ignoring white space")
                        case .ignoringBlankLines: how.append("ignoring white space and blank lines")
                        }
                        result.notes.append("\(label): hunk #\(p.hunkNumber) of \(file.path) applied \(how.joined(separator: ", "))")
                    }
                } catch {
                    let why = error.alreadyApplied ? " (its result is already there: was the patch applied already?)" : ""
                    throw InputError("\(label): hunk #\(error.hunkNumber) of \(file.path) does not apply at line \(error.line)\(why)")
                }
                let skipped = file.hunks.reduce(0) { $0 + $1.skippedLines }
                if skipped > 0 {
                    result.notes.append("\(label): skipped \(skipped) line(s) of comment text inside hunks of \(file.path)")
                }
                let missing = file.hunks.reduce(0) { $0 + $1.missingContextLines }
                if missing > 0 {
                    result.notes.append("\(label): \(missing) context line(s) of \(file.path) missing from the copy (blank lines dropped by a mail archive?)")
                }
                current[key] = .some(buffer.text)
                result.patched[key] = buffer.text
            }
        }
        return result
    }
}

extension PatchMessage {
    /// `patch 5/5 (iommufd: add X)`, `patch 2 of 3 (...)` without a tag,
    /// or `patch` for a lone plain diff.
    package func label(index: Int, of count: Int) -> String {
        var s: String
        if let (n, m) = seriesPosition { s = "patch \(n)/\(m)" }
        else if count > 1 { s = "patch \(index + 1) of \(count)" }
        else { s = "patch" }
        let t = title
        if !t.isEmpty { s += " (\(t.count > 60 ? String(t.prefix(57)) + "..." : t))" }
        return s
    }
}
