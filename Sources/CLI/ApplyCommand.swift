import ArgumentParser
import Foundation
import Layout
import Report

/// Applies patch files to a source tree (read only) and writes what they
/// change as one clean `git diff`: the first half of `vm --patch`, usable on
/// any tree. Reply text dropped from archive copies is listed.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply patches (format-patch, mbox, list-archive copy) to a source tree and print the clean diff.",
        discussion: "The tree is only read. Exit 0 when every hunk applied, 2 on a patch that does not apply or is "
            + "not a patch.")

    @Option(name: .long, help: "Source tree the patches apply to (a kernel checkout or unpacked linux-source).")
    var source: String

    @Option(name: .long, help: "Patch file; repeat to apply several in order (a prerequisite, then the series).")
    var patch: [String] = []

    @Option(name: .long,
            help: "Plant this bug from fixtures/kernel/bugs.json after the patches (see `vm --list-kernel-bugs`).")
    var kernelBug: String?

    @Option(name: .long, help: "Write the diff here instead of stdout; notes go to stderr either way.")
    var diff: String?

    @Option(name: .long,
            help: "Also write what was applied (notes, dropped reply lines, reconstructions, bug) as JSON here.")
    var report: String?

    @OptionGroup var fixtureOptions: FixturesOption

    func run() throws {
        guard !patch.isEmpty else { throw InputError("no --patch given") }
        let bug = try kernelBug.map { try fixtureOptions.kernelBug(named: $0) }
        let result = try TreePatch.apply(patchFiles: patch, to: source, bug: bug)
        let text = result.diff
        if let diff { try Self.write(text, to: diff) } else { print(text, terminator: "") }
        if let report { try Self.write(Output.json(Self.jsonObject(result)), to: report) }
        FileHandle.standardError.write(Data(result.summary().map { $0 + "\n" }.joined().utf8))
    }

    static func write(_ text: String, to path: String) throws {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw InputError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func jsonObject(_ t: TreePatch) -> [String: Any] {
        [
            "changed": t.changedPaths,
            "notes": t.application.notes,
            "dropped": t.application.dropped.map {
                ["patch": $0.patchFile, "line": $0.patchLine, "file": $0.path, "hunk": $0.hunk,
                 "text": $0.text] as [String: Any]
            },
            "reconstructs": t.reconstructs.map { ["ioctl": $0.ioctl, "patch": $0.patch] },
            "kernel_bug": t.bug.map { ["name": $0.name, "summary": $0.summary,
                                       "caught_by": $0.caughtBy] as [String: Any] } ?? NSNull(),
        ]
    }
}

extension FixturesOption {
    /// The planted kernel bugs the lane proves it catches.
    func kernelBugs() throws -> [KernelBug] {
        guard let dir = fixtures ?? ProfileStore.defaultFixtures() else {
            throw InputError("no fixtures folder found; pass --fixtures DIR or set UAPI_CONFORM_FIXTURES")
        }
        return try KernelBugs.load(dir + "/kernel/bugs.json")
    }

    func kernelBug(named name: String) throws -> KernelBug {
        let all = try kernelBugs()
        guard let b = all.first(where: { $0.name == name }) else {
            throw InputError("unknown kernel bug '\(name)'; known: \(all.map(\.name).joined(separator: ", "))")
        }
        return b
    }
}
