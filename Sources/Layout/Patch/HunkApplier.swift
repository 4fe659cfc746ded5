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

    /// How a hunk that did apply was placed (for notes).
    package struct Placement: Sendable, Equatable {
        package let hunkNumber: Int
        package let offset: Int
        package let ignoringWhitespace: Bool
    }

    /// Applies every hunk of `file` to `buffer` in order. Hunks cannot overlap
    /// or go backwards, so each search starts after the previous hunk.
    package static func apply(_ file: FileDiff, to buffer: inout Buffer) throws(Failure) -> [Placement] {
        var drift = 0
        var minPos = 0
        var placements: [Placement] = []
        for (n, hunk) in file.hunks.enumerated() {
            let old = hunk.oldLines
            let new = hunk.newLines
            // A hunk without old lines inserts *after* line oldStart.
            let stated = old.isEmpty ? hunk.oldStart : max(hunk.oldStart - 1, 0)
            let expected = stated + drift
            guard let (pos, loose) = locate(old.map(\.text), in: buffer.lines, near: expected, from: minPos) else {
                let reverse = locate(new.map(\.text), in: buffer.lines, near: expected, from: minPos) != nil
                throw Failure(hunkNumber: n + 1, line: expected + 1, alreadyApplied: reverse && !new.isEmpty)
            }
            var replacement: [String] = []
            var j = pos
            for l in hunk.lines {
                switch l.kind {
                // Keep the tree's own context text: archive copies lost its tabs.
                case .context: replacement.append(buffer.lines[j]); j += 1
                case .remove: j += 1
                case .add: replacement.append(l.text)
                }
            }
            let reachedEnd = pos + old.count == buffer.lines.count
            buffer.lines.replaceSubrange(pos..<(pos + old.count), with: replacement)
            if reachedEnd {
                buffer.endsWithNewline = !(new.last?.noNewlineAtEnd ?? false)
            }
            if pos != expected || loose {
                placements.append(Placement(hunkNumber: n + 1, offset: pos - expected, ignoringWhitespace: loose))
            }
            drift = pos - stated + (new.count - old.count)
            minPos = pos + new.count
        }
        return placements
    }

    /// Where `block` occurs: exact comparison at any offset (nearest first),
    /// then the same with all white space removed. Returns (index, loose).
    static func locate(_ block: [String], in lines: [String], near expected: Int, from minPos: Int) -> (Int, Bool)? {
        let last = lines.count - block.count
        guard last >= minPos else { return nil }
        let start = min(max(expected, minPos), last)
        if block.isEmpty { return (start, false) }
        func search(_ hay: [String], _ needle: [String]) -> Int? {
            func matches(_ p: Int) -> Bool {
                for k in 0..<needle.count where hay[p + k] != needle[k] { return false }
                return true
            }
            let span = max(start - minPos, last - start)
            for d in 0...span {
                if start + d <= last, matches(start + d) { return start + d }
                if d > 0, start - d >= minPos, matches(start - d) { return start - d }
            }
            return nil
        }
        if let p = search(lines, block) { return (p, false) }
        func squeeze(_ s: String) -> String { s.filter { !$0.isWhitespace } }
        if let p = search(lines.map(squeeze), block.map(squeeze)) { return (p, true) }
        return nil
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
                        var how = p.offset == 0 ? "" : "at offset \(p.offset)"
                        if p.ignoringWhitespace { how += (how.isEmpty ? "" : ", ") + "ignoring white space" }
                        result.notes.append("\(label): hunk #\(p.hunkNumber) of \(file.path) applied \(how)")
                    }
                } catch {
                    let why = error.alreadyApplied ? " (its result is already there: was the patch applied already?)" : ""
                    throw InputError("\(label): hunk #\(error.hunkNumber) of \(file.path) does not apply at line \(error.line)\(why)")
                }
                let skipped = file.hunks.reduce(0) { $0 + $1.skippedLines }
                if skipped > 0 {
                    result.notes.append("\(label): skipped \(skipped) line(s) of comment text inside hunks of \(file.path)")
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
