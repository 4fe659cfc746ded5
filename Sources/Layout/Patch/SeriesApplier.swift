import Foundation

/// A line of a hunk that was no line of the file and surplus to the hunk's
/// counts: reply text a reviewer typed into the quoted patch. It was dropped.
package struct DroppedLine: Sendable, Equatable {
    /// The patch file it came from, and its line there.
    package let patchFile: String
    package let patchLine: Int
    /// `patch 5/5 (...)`, the file and the hunk it sat in.
    package let label: String
    package let path: String
    package let hunk: String
    package let text: String

    package var description: String { "\(patchFile):\(patchLine): \(text)" }
}

/// What applying patch files to a set of files did.
package struct SeriesApplication: Sendable {
    /// File keys in the order the patches first touched them.
    package var touched: [String] = []
    /// Text before the patches, for files that existed.
    package var base: [String: String] = [:]
    /// Text after the patches; nil for a file they deleted.
    package var patched: [String: String?] = [:]
    /// How hunks were placed when not exactly as stated.
    package var notes: [String] = []
    package var dropped: [DroppedLine] = []
}

/// Applies patch files, in order, to files reached through `base`: the uAPI
/// headers of a header tree (abi mode) or every file of a kernel tree.
package struct SeriesApplier {
    /// The caller's key for a diff path; nil: this file is not the caller's concern.
    package var key: (String) throws -> String?
    /// A file's text before the series; nil when the tree lacks it.
    package var base: (String) throws -> String?
    /// Whether added lines of an archive copy of this key are C to re-indent.
    package var reindent: (String) -> Bool = { _ in false }
    /// Tree mode: deletions and renames are carried out; abi mode refuses them.
    package var wholeTree = false

    package init(key: @escaping (String) throws -> String?, base: @escaping (String) throws -> String?) {
        self.key = key; self.base = base
    }

    /// Files as the patches so far left them, and what to report.
    private struct State {
        var current: [String: String?] = [:]
        var result = SeriesApplication()

        /// A file's text now, read from the tree the first time.
        mutating func text(_ k: String, base: (String) throws -> String?) throws -> String? {
            if let t = current[k] { return t }
            let t = try base(k)
            current[k] = .some(t)
            if let t { result.base[k] = t }
            result.touched.append(k)
            return t
        }
    }

    /// `patches`: (file name for messages, parsed series), applied in order.
    package func apply(_ patches: [(name: String, series: PatchSeries)]) throws -> SeriesApplication {
        var state = State()
        for (name, series) in patches {
            let messages = series.patches
            for (index, message) in messages.enumerated() {
                let label = (patches.count > 1 ? "\(name): " : "") + message.label(index: index, of: messages.count)
                for file in message.files { try applyFile(file, label: label, patchFile: name, &state) }
            }
        }
        for k in state.result.touched { state.result.patched[k] = state.current[k] ?? nil }
        return state.result
    }

    private func applyFile(_ file: FileDiff, label: String, patchFile: String, _ state: inout State) throws {
        let newKey = try file.newPath.flatMap(key), oldKey = try file.oldPath.flatMap(key)
        guard let k = newKey ?? oldKey else { return }
        if file.isBinary { throw InputError("\(label): \(file.path) is a binary diff, which this tool cannot apply") }
        if file.isCopy { throw InputError("\(label): copies a file to \(file.path), which this tool cannot apply") }
        if file.isRename, !wholeTree {
            throw InputError("\(label): renames \(file.oldPath ?? "?") to \(file.newPath ?? "?"), "
                             + "which this tool cannot check")
        }
        if file.isDeletion, !wholeTree {
            throw InputError("\(label): deletes \(file.oldPath ?? file.path), which this tool cannot check")
        }
        if file.hunks.isEmpty && !file.isRename && !file.isDeletion { return }
        if let n = file.hunks.firstIndex(where: { !$0.changes }) {
            throw InputError("\(label): hunk #\(n + 1) of \(file.path) (\(file.hunks[n].header)) changes nothing")
        }
        let sourceKey = file.isRename ? (oldKey ?? k) : k
        let now = try state.text(sourceKey, base: base)
        if file.isNewFile, let now, !now.isEmpty {
            throw InputError("\(label): creates \(file.path), but the tree already has it")
        }
        if !file.isNewFile, now == nil {
            throw InputError("\(label): changes \(file.oldPath ?? file.path), which the tree does not have")
        }
        var buffer = HunkApplier.Buffer(text: now ?? "")
        let placements: [HunkApplier.Placement]
        do throws(HunkApplier.Failure) {
            placements = try HunkApplier.apply(file, to: &buffer, reindent: reindent(k))
        } catch {
            throw InputError("\(label): \(SeriesApplier.describe(error, path: file.path))")
        }
        note(placements, label: label, patchFile: patchFile, path: file.path, into: &state.result)
        if file.isDeletion {
            guard buffer.lines.isEmpty else {
                throw InputError("\(label): deletes \(file.path), but its hunks leave text behind")
            }
            state.current[sourceKey] = .some(nil)
            return
        }
        if file.isRename, sourceKey != k {
            if try state.text(k, base: base) != nil {
                throw InputError("\(label): renames \(file.oldPath ?? "?") onto \(file.newPath ?? "?"), which exists")
            }
            state.current[sourceKey] = .some(nil)
        }
        state.current[k] = .some(buffer.text)
    }

    static func describe(_ f: HunkApplier.Failure, path: String) -> String {
        var s = "hunk #\(f.hunkNumber) of \(path) (\(f.header)) does not apply at line \(f.line)"
        if f.pastEnd { return s + ": that is past the end of the file" }
        if f.alreadyApplied { return s + " (its result is already there: was the patch applied already?)" }
        if let m = f.firstMismatch {
            let mark = m.kind == .add ? "+" : m.kind == .remove ? "-" : m.kind == .context ? " " : ""
            let shown = (mark + m.text).count > 70 ? String((mark + m.text).prefix(67)) + "..." : mark + m.text
            s += ": patch line \(m.patchLine) "
                + "'\(shown)' " + (m.kind == .add ? "is one added line too many" : "matches no line there")
        } else {
            s += ": its lines do not add up to the header's counts there"
        }
        return s
    }

    private func note(_ placements: [HunkApplier.Placement], label: String, patchFile: String, path: String,
                      into result: inout SeriesApplication) {
        var dropped = 0, blanks = 0
        for p in placements {
            for l in p.dropped {
                result.dropped.append(DroppedLine(patchFile: patchFile, patchLine: l.patchLine, label: label,
                                                  path: path,
                                                  hunk: p.header, text: l.text))
            }
            dropped += p.dropped.count
            blanks += p.blankLinesMissing
            var how = p.offset == 0 ? [] : ["at offset \(p.offset)"]
            switch p.match {
            case .exact: break
            case .ignoringWhitespace: how.append("ignoring white space")
            case .ignoringBlankLines: how.append("ignoring white space and blank lines")
            }
            if p.reindented { how.append("with added lines re-indented") }
            if !how.isEmpty {
                result.notes.append("\(label): hunk #\(p.hunkNumber) of \(path) applied \(how.joined(separator: ", "))")
            }
            if p.contextMissing > 0 {
                result.notes.append("\(label): hunk #\(p.hunkNumber) of \(path) lacks its last \(p.contextMissing) "
                    + "context line(s) (the copy is cut short)")
            }
        }
        if dropped > 0 {
            result.notes.append("\(label): dropped \(dropped) line(s) of reply text inside hunks of \(path)")
        }
        if blanks > 0 {
            result.notes.append("\(label): \(blanks) blank context line(s) of \(path) missing from the copy (dropped "
                + "by a mail archive)")
        }
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
