import Foundation

/// Applies the hunks of one file diff to that file's text. Besides exact
/// patches it takes what mail archives make of them: tabs collapsed, context
/// prefixes and blank context lines gone, reply text typed between the lines.
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
        /// The hunk's `@@ … @@` line.
        package let header: String
        /// 1-based line of the file where the hunk was expected.
        package let line: Int
        /// The hunk's new text is already there.
        package let alreadyApplied: Bool
        /// The first patch line that matched no line of the file where the
        /// hunk was expected (nil: the hunk's line counts did not add up, or
        /// it is placed past the end of the file).
        package let firstMismatch: HunkLine?
        package var pastEnd = false
    }

    /// How strictly a hunk's old lines were compared with the file.
    package enum Match: Sendable, Equatable {
        case exact
        /// All white space removed (archive copies lose tabs).
        case ignoringWhitespace
        /// Also lets blank file lines go unmatched (archives drop blank lines).
        case ignoringBlankLines
    }

    /// How a hunk that did apply was placed, and what of it was not used.
    package struct Placement: Sendable, Equatable {
        package let hunkNumber: Int
        package let header: String
        package let offset: Int
        package let match: Match
        /// Bare lines that are no line of the file and surplus to the counts:
        /// reply text typed into the quoted patch, dropped.
        package var dropped: [HunkLine] = []
        /// Blank context lines of the file the copy lacks.
        package var blankLinesMissing = 0
        /// Trailing context lines the copy lacks (it was cut off).
        package var contextMissing = 0
        /// Added lines were re-indented (their white space was collapsed).
        package var reindented = false

        /// Nothing to say: placed where stated, exactly, nothing dropped.
        package var isPlain: Bool {
            offset == 0 && match == .exact && dropped.isEmpty && blankLinesMissing == 0 && contextMissing == 0
                && !reindented
        }
    }

    /// Applies every hunk of `file` to `buffer` in order. Hunks cannot overlap
    /// or go backwards, so each search starts after the previous hunk. Added
    /// lines of archive copies are re-indented as C when `reindent` is set.
    package static func apply(_ file: FileDiff, to buffer: inout Buffer,
                              reindent: Bool = false) throws(Failure) -> [Placement] {
        var drift = 0
        var minPos = 0
        var placements: [Placement] = []
        for (n, hunk) in file.hunks.enumerated() {
            let insertOnly = hunk.oldCount == 0
            // A hunk without old lines inserts *after* line oldStart.
            let stated = insertOnly ? hunk.oldStart : max(hunk.oldStart - 1, 0)
            let expected = stated + drift
            if insertOnly && (expected > buffer.lines.count || expected < minPos) {
                throw Failure(hunkNumber: n + 1, header: hunk.header, line: expected + 1, alreadyApplied: false,
                              firstMismatch: nil, pastEnd: expected > buffer.lines.count)
            }
            guard let m = locate(hunk, in: buffer.lines, near: expected, from: minPos) else {
                throw failure(hunk, number: n + 1, in: buffer.lines, near: expected, from: minPos)
            }
            var replacement = m.alignment.replacement
            let archive = hunk.hasBareLines || m.match != .exact
            if reindent && archive { CIndent.reindent(&replacement, runs: m.alignment.addedRuns) }
            let reachedEnd = m.pos + m.alignment.span == buffer.lines.count
            buffer.lines.replaceSubrange(m.pos..<(m.pos + m.alignment.span), with: replacement)
            if reachedEnd, let last = (hunk.lines + hunk.tail).last(where: { $0.kind != .remove }) {
                buffer.endsWithNewline = !last.noNewlineAtEnd
            }
            var placement = Placement(hunkNumber: n + 1, header: hunk.header, offset: m.pos - expected, match: m.match)
            placement.dropped = m.alignment.dropped
            placement.blankLinesMissing = m.alignment.blanksSkipped
            placement.contextMissing = m.alignment.contextMissing
            placement.reindented = reindent && archive && !m.alignment.addedRuns.isEmpty
            placements.append(placement)
            drift = m.pos - stated + (replacement.count - m.alignment.span)
            minPos = m.pos + replacement.count
        }
        return placements
    }

    /// The failure for a hunk that fits nowhere: the first line that did not
    /// match where it was expected, and whether its result is already there.
    static func failure(_ hunk: Hunk, number: Int, in lines: [String], near expected: Int,
                        from minPos: Int) -> Failure {
        let squeezed = lines.map(squeeze)
        let at = min(max(expected, minPos), max(lines.count - 1, 0))
        var mismatch: HunkLine?
        if case .failure(let m) = align(hunk, lines, squeezed, at: at, .ignoringBlankLines) { mismatch = m.item }
        let reversed = hunk.reversed
        let already = reversed.changes && (hunk.lines + hunk.tail).contains { $0.kind == .add }
            && locate(reversed, in: lines, near: expected, from: minPos) != nil
        return Failure(hunkNumber: number, header: hunk.header, line: expected + 1, alreadyApplied: already,
                       firstMismatch: mismatch)
    }

    static func squeeze(_ s: String) -> String { s.filter { !$0.isWhitespace } }

    /// The tree lines a hunk covers from `pos`, what replaces them, and what
    /// of the hunk went unused.
    struct Alignment {
        var span = 0
        var replacement: [String] = []
        var dropped: [HunkLine] = []
        var blanksSkipped = 0
        var contextMissing = 0
        /// Runs of added lines in `replacement`: their range, and the file
        /// line before them with whether the hunk removed it.
        var addedRuns: [CIndent.Run] = []
        /// How far from a clean placement: lines dropped, context missing.
        var score: Int { dropped.count + contextMissing }
    }

    struct Mismatch: Error { var item: HunkLine? }

    /// Where the hunk's old side occurs: exact comparison, then with white
    /// space removed, then also skipping blank file lines; at each, nearest
    /// the stated line first. A placement that drops lines or lacks context
    /// only wins when no placement does better.
    static func locate(_ hunk: Hunk, in lines: [String], near expected: Int, from minPos: Int)
        -> (pos: Int, alignment: Alignment, match: Match)? {
        if hunk.oldCount == 0 {
            let at = min(max(expected, minPos), lines.count)
            guard case .success(let a) = align(hunk, lines, [], at: at, .exact) else { return nil }
            return (at, a, .exact)
        }
        var squeezed: [String] = []
        var best: (pos: Int, alignment: Alignment, match: Match)?
        let last = lines.count - 1
        guard last >= minPos else { return nil }
        let start = min(max(expected, minPos), last)
        for match in [Match.exact, .ignoringWhitespace, .ignoringBlankLines] {
            if match == .ignoringWhitespace { squeezed = lines.map(squeeze) }
            for d in 0...max(start - minPos, last - start) {
                for p in d == 0 ? [start] : [start + d, start - d] where p >= minPos && p <= last {
                    let limit = best.map { $0.alignment.score - 1 } ?? Int.max
                    guard case .success(let a) = align(hunk, lines, squeezed, at: p, match, maxDropped: limit),
                          a.score <= limit else { continue }
                    if a.score == 0 { return (p, a, match) }
                    best = (p, a, match)
                }
            }
        }
        return best
    }

    /// Matches the hunk against the file from line `p`, greedily: removed and
    /// context lines must be the file's next lines; a bare line is context
    /// when it is the file's next line and the counts still need one, reply
    /// text otherwise. Context comes from the file, not the patch (archive
    /// copies lost its tabs); the hunk header's counts must come out exactly.
    static func align(_ hunk: Hunk, _ lines: [String], _ squeezed: [String], at p: Int, _ match: Match,
                      maxDropped: Int = Int.max) -> Result<Alignment, Mismatch> {
        var s = Aligner(hunk: hunk, lines: lines, squeezed: squeezed, match: match, at: p)
        for (n, item) in (hunk.lines + hunk.tail).enumerated() {
            if n >= hunk.lines.count && s.old == hunk.oldCount && s.new == hunk.newCount { break }
            if let m = s.step(item, maxDropped: maxDropped) { return .failure(m) }
        }
        // Blank lines the copy dropped at the end of the hunk.
        while match == .ignoringBlankLines, s.old < hunk.oldCount, s.new < hunk.newCount, s.j < lines.count,
              squeezed[s.j].isEmpty {
            s.take(upTo: s.j + 1)
        }
        let missing = hunk.oldCount - s.old
        // A copy cut short may lack as much trailing context as it was cut
        // short by (as many old as new lines), nothing else: dropped reply
        // lines must be surplus to the counts.
        guard missing == hunk.newCount - s.new, missing <= hunk.missingContextLines else {
            return .failure(Mismatch(item: nil))
        }
        s.a.contextMissing = missing
        s.a.span = s.j - p
        return .success(s.a)
    }

    /// One alignment of a hunk against the file, line by line: where it is in
    /// the file (`j`), how many old and new lines it has used, and the result so far.
    struct Aligner {
        let hunk: Hunk
        let lines: [String]
        let squeezed: [String]
        let match: Match
        var a = Alignment()
        var j: Int
        var old = 0, new = 0
        /// The file line before the next added run, for re-indenting it.
        var lastTree: (text: String, removed: Bool)?

        init(hunk: Hunk, lines: [String], squeezed: [String], match: Match, at p: Int) {
            self.hunk = hunk; self.lines = lines; self.squeezed = squeezed; self.match = match
            j = p
            lastTree = p > 0 && p <= lines.count ? (lines[p - 1], false) : nil
        }

        func same(_ k: Int, _ text: String) -> Bool {
            match == .exact ? lines[k] == text : squeezed[k] == HunkApplier.squeeze(text)
        }

        /// The file line at or after j that equals `text`, past blank lines the copy dropped.
        func find(_ text: String) -> Int? {
            var k = j
            while k < lines.count {
                if same(k, text) { return k }
                guard match == .ignoringBlankLines, squeezed[k].isEmpty else { return nil }
                k += 1
            }
            return nil
        }

        func fits(_ k: Int, context: Bool) -> Bool {
            old + (k - j) < hunk.oldCount && (!context || new + (k - j) < hunk.newCount)
        }

        /// Blank file lines the copy dropped, up to line k. When the hunk just
        /// added lines ending in a blank one, the dropped blank stood before
        /// them (`ctx, blank, +x, +blank, ctx` is the usual shape), so it goes there.
        mutating func take(upTo k: Int) {
            guard j < k else { return }
            let blanks = Array(lines[j..<k])
            let n = blanks.count
            j = k; old += n; new += n; a.blanksSkipped += n
            if let run = a.addedRuns.last, run.range.upperBound == a.replacement.count, run.range.count > 1,
               HunkApplier.squeeze(a.replacement[a.replacement.count - 1]).isEmpty {
                a.replacement.insert(contentsOf: blanks, at: run.range.lowerBound)
                a.addedRuns[a.addedRuns.count - 1].range = (run.range.lowerBound + n)..<(run.range.upperBound + n)
            } else {
                a.replacement += blanks
            }
        }

        /// Takes one line of the hunk; the mismatch when it does not fit.
        mutating func step(_ item: HunkLine, maxDropped: Int) -> Mismatch? {
            switch item.kind {
            case .add:
                guard new < hunk.newCount else { return Mismatch(item: item) }
                if a.addedRuns.last?.range.upperBound != a.replacement.count {
                    a.addedRuns.append(CIndent.Run(range: a.replacement.count..<a.replacement.count, before: lastTree))
                }
                a.replacement.append(item.text)
                let last = a.addedRuns.count - 1
                a.addedRuns[last].range = a.addedRuns[last].range.lowerBound..<a.replacement.count
                new += 1
            case .remove, .context:
                let context = item.kind == .context
                guard let k = find(item.text), fits(k, context: context) else { return Mismatch(item: item) }
                take(upTo: k)
                lastTree = (lines[j], !context)
                if context { a.replacement.append(lines[j]); new += 1 }
                j += 1; old += 1
            case .bare:
                if old < hunk.oldCount, new < hunk.newCount, let k = find(item.text), fits(k, context: true) {
                    take(upTo: k)
                    lastTree = (lines[j], false)
                    a.replacement.append(lines[j]); j += 1; old += 1; new += 1
                } else {
                    a.dropped.append(item)
                    if a.dropped.count > maxDropped { return Mismatch(item: item) }
                }
            }
            return nil
        }
    }
}

extension Hunk {
    /// The hunk that undoes this one (added and removed lines swapped).
    var reversed: Hunk {
        func flip(_ l: HunkLine) -> HunkLine {
            switch l.kind {
            case .add: return HunkLine(.remove, l.text, patchLine: l.patchLine)
            case .remove: return HunkLine(.add, l.text, patchLine: l.patchLine)
            case .context, .bare: return l
            }
        }
        var h = Hunk(oldStart: newStart, oldCount: newCount, newStart: oldStart, newCount: oldCount, section: section,
                     lines: lines.map(flip), patchLine: patchLine)
        h.tail = tail.map(flip)
        h.missingContextLines = missingContextLines
        return h
    }
}
