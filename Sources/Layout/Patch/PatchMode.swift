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
    /// ignored) and skipped comment lines: for a verbose report.
    package let notes: [String]
}

package enum PatchMode {
    /// Reads, parses and applies the patch file at `path` to `tree`'s uAPI
    /// headers. Every failure is an `InputError` naming the file.
    package static func apply(patchFile path: String, to tree: HeaderTree) throws -> (HeaderTree, AppliedPatch) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw InputError("patch file \(path) does not exist")
        }
        guard !isDir.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw InputError("cannot read patch file \(path)")
        }
        // Mail archives are not always UTF-8; Latin-1 decodes any byte string.
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw InputError("cannot decode patch file \(path)")
        }
        return try apply(patchText: text, named: path, to: tree)
    }

    /// Same as `apply(patchFile:to:)` for text already in memory; `name` is
    /// used in messages.
    package static func apply(patchText text: String, named name: String, to tree: HeaderTree) throws -> (HeaderTree, AppliedPatch) {
        let series: PatchSeries
        do { series = try PatchSeries.parse(text: text) } catch let e as InputError {
            throw InputError("\(name): \(e.message)")
        }
        let result = try HunkApplier.apply(series, base: { try tree.text(of: $0) })
        guard !result.touched.isEmpty else {
            throw InputError("\(name) touches neither \(HunkApplier.uapiPaths[0].kernelPath) nor \(HunkApplier.uapiPaths[1].kernelPath)")
        }
        var patchedTree = tree
        for (key, text) in result.patched { patchedTree.overrides[key] = text }
        let applied = AppliedPatch(
            subjects: series.patches.map(\.subject),
            touchedHeaders: result.touched,
            ioctlOps: IoctlOps.added(in: series),
            baseText: result.base,
            patchedText: result.patched,
            notes: result.notes)
        return (patchedTree, applied)
    }
}
