import Foundation

/// What `abi --patch` applied: the series' subjects, the uAPI headers it
/// changed with their text before and after, and new dispatch-table entries.
package struct AppliedPatch: Sendable {
    /// Subjects of the messages that carry a diff, in series order.
    package let subjects: [String]
    /// Include-relative keys (`linux/iommufd.h`, `linux/vfio.h`) the series changed.
    package let touchedHeaders: [String]
    package let ioctlOps: [IoctlOpEntry]
    /// Header text before the series; a header the series creates has no entry.
    package let baseText: [String: String]
    package let patchedText: [String: String]
    /// How hunks were placed when not exactly as stated (offset, white space
    /// ignored) and dropped reply text: for a verbose report.
    package let notes: [String]
    package let dropped: [DroppedLine]
}

package enum PatchMode {
    /// Patch files past this size are not patches a person posted.
    package static let maxPatchBytes = 32 << 20

    /// Reads and parses one patch file; every failure names the file.
    package static func read(patchFile path: String) throws -> PatchSeries {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw InputError("patch file \(path) does not exist")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard !isDir.boolValue, size <= maxPatchBytes, let data = FileManager.default.contents(atPath: path) else {
            throw InputError(size > maxPatchBytes ? "patch file \(path) is over \(maxPatchBytes >> 20) MiB"
                                                  : "cannot read patch file \(path)")
        }
        // Mail archives are not always UTF-8; Latin-1 decodes any byte string.
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw InputError("cannot decode patch file \(path)")
        }
        return try parse(text, named: path)
    }

    static func parse(_ text: String, named name: String) throws -> PatchSeries {
        do { return try PatchSeries.parse(text: text) } catch let e as InputError {
            throw InputError("\(name): \(e.message)")
        }
    }

    /// Reads, parses and applies the patch file at `path` to `tree`'s uAPI headers.
    package static func apply(patchFile path: String, to tree: HeaderTree) throws -> (HeaderTree, AppliedPatch) {
        try apply(patchFiles: [path], to: tree)
    }

    /// Applies several patch files in order (a prerequisite, then a series).
    package static func apply(patchFiles paths: [String], to tree: HeaderTree) throws -> (HeaderTree, AppliedPatch) {
        try apply(paths.map { ($0, try read(patchFile: $0)) }, to: tree)
    }

    /// Same as `apply(patchFile:to:)` for text already in memory; `name` is
    /// used in messages.
    package static func apply(patchText text: String, named name: String, to tree: HeaderTree) throws -> (HeaderTree,
        AppliedPatch) {
        try apply([(name, try parse(text, named: name))], to: tree)
    }

    static func apply(_ patches: [(name: String, series: PatchSeries)], to tree: HeaderTree) throws -> (HeaderTree,
                                                                                                        AppliedPatch) {
        let applier = SeriesApplier(key: { HunkApplier.uapiKey(for: $0) }, base: { try tree.text(of: $0) })
        let result = try applier.apply(patches)
        guard !result.touched.isEmpty else {
            let names = patches.map(\.name).joined(separator: ", ")
            throw InputError("\(names) touches neither \(HunkApplier.uapiPaths[0].kernelPath) nor "
                + "\(HunkApplier.uapiPaths[1].kernelPath)")
        }
        var patchedTree = tree
        var patched: [String: String] = [:]
        for (key, text) in result.patched { if let text { patched[key] = text; patchedTree.overrides[key] = text } }
        let applied = AppliedPatch(
            subjects: patches.flatMap { $0.series.patches.map(\.subject) },
            touchedHeaders: result.touched,
            ioctlOps: patches.flatMap { IoctlOps.added(in: $0.series) },
            baseText: result.base,
            patchedText: patched,
            notes: result.notes,
            dropped: result.dropped)
        return (patchedTree, applied)
    }
}
