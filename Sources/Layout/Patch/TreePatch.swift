import Foundation

/// Patch files applied, in order, to every file of a source tree they touch
/// (the tree on disk is only read), and the result as one clean `git diff`
/// against it: what a kernel built from the series carries.
package struct TreePatch: Sendable {
    package let root: String
    package private(set) var application: SeriesApplication
    /// Ioctls a patch says it reconstructs (its `Reconstructs:` trailer), with that patch.
    package var reconstructs: [(ioctl: String, patch: String)] = []
    /// The planted bug, if any.
    package private(set) var bug: KernelBug?
    /// Changed files in the order the patches first touched them.
    package var changedPaths: [String] {
        application.touched.filter { application.patched[$0] != application.base[$0] }
    }

    /// The clean `git diff` of the tree before and after the patches.
    package var diff: String {
        changedPaths.map { UnifiedDiff.render(path: $0, old: application.base[$0],
                                              new: application.patched[$0] ?? nil) }
            .joined()
    }

    /// Lines for a report: what changed, how hunks were placed, every
    /// dropped reply line with where it was.
    package func summary() -> [String] {
        var out = ["changed \(changedPaths.count) file(s): " + changedPaths.joined(separator: ", ")]
        for r in reconstructs {
            out.append("\(r.patch) reconstructs \(r.ioctl): its results test that reconstruction, not posted code")
        }
        if let bug { out.append("planted kernel bug \(bug.name): \(bug.summary)") }
        out += application.notes
        if !application.dropped.isEmpty {
            out.append("dropped \(application.dropped.count) line(s) of reply text:")
            out += application.dropped.map { "  \($0.patchFile):\($0.patchLine) (\($0.path), \($0.hunk)): \($0.text)" }
        }
        return out
    }

    /// Files past this size are not source files to patch.
    static let maxFileBytes = 16 << 20

    package static func apply(patchFiles: [String], to root: String, bug: KernelBug? = nil) throws -> TreePatch {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw InputError("source tree \(root) is not a directory")
        }
        let series = try patchFiles.map { ($0, try PatchMode.read(patchFile: $0)) }
        let canonicalRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        var applier = SeriesApplier(key: { path in
            guard let p = safePath(path) else {
                throw InputError("refusing the path '\(path)': not a relative path inside the tree")
            }
            return resolve(p, in: canonicalRoot)
        }, base: { path in try read(path, in: canonicalRoot) })
        applier.reindent = { $0.hasSuffix(".c") || $0.hasSuffix(".h") }
        applier.wholeTree = true
        let application = try applier.apply(series)
        guard !application.touched.isEmpty else {
            throw InputError("\(patchFiles.joined(separator: ", ")) changes no file")
        }
        var result = TreePatch(root: root, application: application)
        result.reconstructs = series.flatMap { name, s in s.patches.flatMap { $0.reconstructs.map { ($0, name) } } }
        if let bug { try result.plant(bug, root: canonicalRoot) }
        return result
    }

    /// Applies a planted bug's edits on top of the patched files.
    mutating func plant(_ bug: KernelBug, root: String) throws {
        var pending: [String: String] = [:]
        for e in bug.edits where application.patched[e.file] == nil {
            guard TreePatch.safePath(e.file) != nil else { throw InputError("bug \(bug.name): unsafe path \(e.file)") }
            if let t = try TreePatch.read(e.file, in: root) { pending[e.file] = t }
        }
        let app = application
        let edited = try KernelBugs.plant(bug) { f in (app.patched[f] ?? nil) ?? pending[f] }
        for (f, t) in edited {
            if application.patched[f] == nil {
                application.touched.append(f)
                application.base[f] = pending[f]
            }
            application.patched[f] = .some(t)
        }
        self.bug = bug
    }

    /// `a/b/c` stays; absolute paths, `..`, empty parts and control characters do not.
    package static func safePath(_ path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), path.utf8.count < 4096,
              parts.allSatisfy({ !$0.isEmpty && $0 != ".." && $0 != "." }),
              !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return nil }
        return path
    }

    /// A plain diff of two folders (`linux-7.2.orig/…`, `linux-7.2/…`) names
    /// its files under a first part the tree does not have: drop it, as
    /// `patch -p1` would, when the rest fits the tree.
    static func resolve(_ p: String, in root: String) -> String {
        let fm = FileManager.default
        let parts = p.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !fm.fileExists(atPath: root + "/" + p),
              !fm.fileExists(atPath: root + "/" + parts[0]) else {
            return p
        }
        let parent = (parts[1] as NSString).deletingLastPathComponent
        let fits = fm.fileExists(atPath: root + "/" + parts[1])
            || (!parent.isEmpty && fm.fileExists(atPath: root + "/" + parent))
        return fits ? parts[1] : p
    }

    /// The text of `path` under `root`, nil when there is no such file.
    static func read(_ path: String, in root: String) throws -> String? {
        let full = root + "/" + path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir) else { return nil }
        let real = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
        guard !isDir.boolValue, real.hasPrefix(root + "/") else {
            throw InputError("\(path) in the tree is not a regular file inside it")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: real)[.size] as? Int) ?? 0
        guard size <= maxFileBytes, let data = FileManager.default.contents(atPath: real) else {
            throw InputError("cannot read \(path) in the tree")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputError("\(path) in the tree is not UTF-8 text")
        }
        return text
    }
}
