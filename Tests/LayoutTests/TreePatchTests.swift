import Foundation
import Testing
@testable import Layout

/// A made-up source tree: one C file and one header, kernel style.
private let demoC = """
    // SPDX-License-Identifier: GPL-2.0
    #include "demo.h"

    static int demo_check(u32 v)
    {
    \tif (v > DEMO_LAST)
    \t\treturn -EINVAL;
    \treturn 0;
    }

    int demo_ioctl(struct demo_cmd *cmd)
    {
    \tint rc;

    \trc = demo_check(cmd->value);
    \tif (rc)
    \t\treturn rc;
    \treturn demo_run(cmd);
    }

    """

private let demoH = """
    #ifndef DEMO_H
    #define DEMO_H
    #define DEMO_LAST 3
    int demo_ioctl(struct demo_cmd *cmd);
    #endif

    """

/// A list-archive copy of a patch: prefixes of context lines gone, leading
/// white space collapsed to one space, the blank context line dropped, and a
/// reviewer's two lines between the added ones.
private let archiveCopy = """
    Re: [PATCH 2/2] demo: check the flags too
    From: A Reviewer
    Date: Wed Jun 03 2026 - 09:00:00 EST
    On 2/6/26, A Developer wrote:
    ---
    diff --git a/drivers/demo/demo.c b/drivers/demo/demo.c
    --- a/drivers/demo/demo.c
    +++ b/drivers/demo/demo.c
    @@ -11,7 +11,10 @@ int demo_ioctl(struct demo_cmd *cmd)
    int demo_ioctl(struct demo_cmd *cmd)
    {
    int rc;
    + if (cmd->flags)
    Should this not be EINVAL?
    I would expect the same errno as the range check.
    + return -EOPNOTSUPP;
    +
    rc = demo_check(cmd->value);
    if (rc)
    return rc;
    --
    A Reviewer

    """

private func makeTree() throws -> String {
    let root = try Repo.tempDir()
    for (path, text) in [("drivers/demo/demo.c", demoC), ("include/demo.h", demoH)] {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }
    return root
}

private func write(_ text: String) throws -> String {
    let path = try Repo.tempDir() + "/series.patch"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

private func inputError(_ body: () throws -> Void) -> String? {
    do { try body() } catch let e as InputError { return e.message } catch { return "unexpected \(error)" }
    return nil
}

@Suite struct TreePatchTests {
    @Test func archiveCopyWithReplyTextApplies() throws {
        let root = try makeTree()
        let t = try TreePatch.apply(patchFiles: [try write(archiveCopy)], to: root)
        #expect(t.changedPaths == ["drivers/demo/demo.c"])
        // The two reply lines are dropped and listed with where they were.
        #expect(t.application.dropped.map(\.text) == ["Should this not be EINVAL?", "I would expect the same errno as the range check."])
        #expect(t.application.dropped.map(\.patchLine) == [14, 15])
        #expect(t.application.dropped.allSatisfy { $0.path == "drivers/demo/demo.c" && $0.hunk.hasPrefix("@@ -11,7 +11,10 @@") })
        // Added lines are re-indented with tabs; the blank line the copy dropped is back.
        let patched = try #require(t.application.patched["drivers/demo/demo.c"] ?? nil)
        #expect(patched.contains("\tint rc;\n\n\tif (cmd->flags)\n\t\treturn -EOPNOTSUPP;\n\n\trc = demo_check(cmd->value);"))
        // The diff is a clean one: it applies exactly where it says.
        let diffFile = try write(t.diff)
        let again = try TreePatch.apply(patchFiles: [diffFile], to: root)
        #expect(again.application.patched["drivers/demo/demo.c"] ?? nil == patched)
        #expect(again.application.notes.isEmpty && again.application.dropped.isEmpty)
        #expect(t.diff.hasPrefix("diff --git a/drivers/demo/demo.c b/drivers/demo/demo.c\n--- a/drivers/demo/demo.c\n+++ b/drivers/demo/demo.c\n@@ -12,6 +12,9 @@\n"))
    }

    @Test func replyTextIsOnlyDroppedWhenSurplus() throws {
        let root = try makeTree()
        // The counts leave room for the remark as the hunk's second line: it
        // is surplus only in the second copy, where the counts are one less.
        let copy = "[PATCH] demo\n--- a/include/demo.h\n+++ b/include/demo.h\n@@ -2,3 +2,4 @@\n#define DEMO_H\n"
            + "I think this belongs elsewhere.\n#define DEMO_LAST 3\n+#define DEMO_MORE 4\n"
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [try write(copy)], to: root) }
                == "patch (demo): hunk #1 of include/demo.h (@@ -2,3 +2,4 @@) does not apply at line 2: "
                + "its lines do not add up to the header's counts there")
        let surplus = try TreePatch.apply(patchFiles: [try write(copy.replacingOccurrences(of: "-2,3 +2,4", with: "-2,2 +2,3"))], to: root)
        #expect(surplus.application.dropped.map(\.text) == ["I think this belongs elsewhere."])
        #expect(surplus.diff.contains(" #define DEMO_LAST 3\n+#define DEMO_MORE 4\n"))
    }

    @Test func failuresNameFileHunkAndFirstLine() throws {
        let root = try makeTree()
        let notThere = """
            diff --git a/drivers/demo/demo.c b/drivers/demo/demo.c
            --- a/drivers/demo/demo.c
            +++ b/drivers/demo/demo.c
            @@ -5,3 +5,3 @@ static int demo_check(u32 v)
             {
            -\tif (v >= DEMO_LAST)
            +\tif (v > DEMO_LAST + 1)
             \t\treturn -EINVAL;

            """
        let patch = try write(notThere)
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [patch], to: root) }
                == "patch: hunk #1 of drivers/demo/demo.c (@@ -5,3 +5,3 @@ static int demo_check(u32 v)) does not apply at line 5: "
                + "patch line 6 '-\tif (v >= DEMO_LAST)' matches no line there")
        let missing = notThere.replacingOccurrences(of: "drivers/demo/demo.c", with: "drivers/demo/gone.c")
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [try write(missing)], to: root) }
                == "patch: changes drivers/demo/gone.c, which the tree does not have")
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [try write("just a mail\nwith no diff\n")], to: root) }?
            .hasSuffix(": no diff found (no 'diff --git', '---'/'+++' or '@@' lines)") == true)
        let escape = notThere.replacingOccurrences(of: "drivers/demo/demo.c", with: "../outside.c")
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [try write(escape)], to: root) }?
            .contains("refusing the path '../outside.c'") == true)
        let noop = "--- a/include/demo.h\n+++ b/include/demo.h\n@@ -1,2 +1,2 @@\n #ifndef DEMO_H\n #define DEMO_H\n"
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [try write(noop)], to: root) }?.hasSuffix("changes nothing") == true)
        let pastEnd = "--- a/include/demo.h\n+++ b/include/demo.h\n@@ -40,0 +41,1 @@\n+#define DEMO_MORE 1\n"
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [try write(pastEnd)], to: root) }?
            .hasSuffix("does not apply at line 41: that is past the end of the file") == true)
    }

    @Test func patchesApplyInOrderAndFilesComeAndGo() throws {
        let root = try makeTree()
        let first = """
            diff --git a/include/demo.h b/include/demo.h
            --- a/include/demo.h
            +++ b/include/demo.h
            @@ -3,2 +3,3 @@
             #define DEMO_LAST 3
            +#define DEMO_FLAGS 1
             int demo_ioctl(struct demo_cmd *cmd);
            diff --git a/drivers/demo/new.c b/drivers/demo/new.c
            new file mode 100644
            --- /dev/null
            +++ b/drivers/demo/new.c
            @@ -0,0 +1,1 @@
            +int demo_new;

            """
        let second = """
            diff --git a/include/demo.h b/include/demo.h
            --- a/include/demo.h
            +++ b/include/demo.h
            @@ -4,1 +4,1 @@
            -#define DEMO_FLAGS 1
            +#define DEMO_FLAGS 3
            diff --git a/drivers/demo/new.c b/drivers/demo/new.c
            deleted file mode 100644
            --- a/drivers/demo/new.c
            +++ /dev/null
            @@ -1,1 +0,0 @@
            -int demo_new;

            """
        let t = try TreePatch.apply(patchFiles: [try write(first), try write(second)], to: root)
        // The file the first patch adds and the second deletes is no change at all.
        #expect(t.changedPaths == ["include/demo.h"])
        #expect(t.diff.contains("+#define DEMO_FLAGS 3\n"))
        // The second alone depends on the first.
        #expect(inputError { _ = try TreePatch.apply(patchFiles: [try write(second)], to: root) } != nil)
    }

    @Test func plainFolderDiffsDropTheirFirstPathPart() throws {
        let plain = """
            --- linux-7.2.orig/include/demo.h\t2026-06-01 10:00:00
            +++ linux-7.2/include/demo.h\t2026-06-01 10:00:01
            @@ -3,1 +3,1 @@
            -#define DEMO_LAST 3
            +#define DEMO_LAST 4

            """
        let t = try TreePatch.apply(patchFiles: [try write(plain)], to: try makeTree())
        #expect(t.changedPaths == ["include/demo.h"])
    }

    @Test func reconstructionTrailersAreReported() throws {
        let series = "Subject: [PATCH] demo: base\n\nReconstructs: DEMO_IOCTL\n---\n"
            + "--- a/include/demo.h\n+++ b/include/demo.h\n@@ -3,1 +3,1 @@\n-#define DEMO_LAST 3\n+#define DEMO_LAST 4\n"
        let path = try write(series)
        let t = try TreePatch.apply(patchFiles: [path], to: try makeTree())
        #expect(t.reconstructs.map(\.ioctl) == ["DEMO_IOCTL"])
        #expect(t.summary().contains { $0.contains("reconstructs DEMO_IOCTL") })
    }
}

@Suite struct UnifiedDiffTests {
    @Test func diffsReapplyToTheirTarget() throws {
        // Random edits of a 60-line file; every diff must take old to new.
        var rng = SystemRandomNumberGenerator()
        let old = (0..<60).map { "line \($0 % 17)" }
        for _ in 0..<40 {
            var new = old
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let i = Int.random(in: 0..<new.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: new.remove(at: i)
                case 1: new.insert("added \(i)", at: i)
                default: new[i] = "changed \(i)"
                }
            }
            // Edits that undo each other (a line added, then removed) leave no diff to apply.
            guard new != old else { continue }
            let a = old.joined(separator: "\n") + "\n", b = new.joined(separator: "\n") + "\n"
            let diff = UnifiedDiff.render(path: "f.c", old: a, new: b)
            let series = try PatchSeries.parse(text: diff)
            var buffer = HunkApplier.Buffer(text: a)
            let placed = try HunkApplier.apply(series.patches[0].files[0], to: &buffer)
            #expect(buffer.text == b)
            #expect(placed.allSatisfy { $0.isPlain })
        }
    }

    @Test func newDeletedAndUnterminatedFiles() {
        #expect(UnifiedDiff.render(path: "a", old: "x\n", new: "x\n") == "")
        #expect(UnifiedDiff.render(path: "n.c", old: nil, new: "one\ntwo\n")
                == "diff --git a/n.c b/n.c\nnew file mode 100644\n--- /dev/null\n+++ b/n.c\n@@ -0,0 +1,2 @@\n+one\n+two\n")
        #expect(UnifiedDiff.render(path: "d.c", old: "gone\n", new: nil)
                == "diff --git a/d.c b/d.c\ndeleted file mode 100644\n--- a/d.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n")
        #expect(UnifiedDiff.render(path: "e", old: "a\nb", new: "a\nb\n")
                == "diff --git a/e b/e\n--- a/e\n+++ b/e\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n")
    }
}

@Suite struct KernelBugTests {
    private func edit(_ e: KernelBug.Edit) throws -> String {
        try KernelBugs.plant(KernelBug(name: "t", summary: "", edits: [e], caughtBy: ["x"])) { _ in demoC }["drivers/demo/demo.c"] ?? ""
    }

    @Test func replaceInsideOneFunction() throws {
        let t = try edit(.init(file: "drivers/demo/demo.c", function: "demo_ioctl", replace: "if (rc) return rc;", with: "if (0)\n\t\treturn rc;"))
        #expect(t.contains("\tif (0)\n\t\treturn rc;\n\treturn demo_run(cmd);"))
        // Twice in scope is refused, and so is a function the file lacks.
        #expect(inputError { _ = try edit(.init(file: "drivers/demo/demo.c", function: "demo_ioctl", replace: "return", with: "x")) }
                == "bug t: 'return' occurs 2 times in demo_ioctl, not once")
        #expect(inputError { _ = try edit(.init(file: "drivers/demo/demo.c", function: "no_such_fn", replace: "rc", with: "x")) }
                == "bug t: no function no_such_fn in drivers/demo/demo.c")
    }

    @Test func moveWholeLines() throws {
        let t = try edit(.init(file: "drivers/demo/demo.c", function: "demo_ioctl",
                               move: "if (rc) return rc;", after: "return demo_run(cmd);"))
        #expect(t.contains("\trc = demo_check(cmd->value);\n\treturn demo_run(cmd);\n\tif (rc)\n\t\treturn rc;\n}"))
        let up = try edit(.init(file: "drivers/demo/demo.c", function: "demo_ioctl", move: "return demo_run(cmd);", after: "int rc;"))
        #expect(up.contains("\tint rc;\n\treturn demo_run(cmd);\n\n\trc = demo_check"))
    }

    @Test func theLanesBugsAreWellFormed() throws {
        let bugs = try KernelBugs.load(Repo.fixtures + "/kernel/bugs.json")
        #expect(bugs.count >= 16)
        #expect(Set(bugs.map(\.name)).count == bugs.count)
        // Every case a bug names exists in the tsm-v5 catalogue (checked in CasesTests), and every
        // rule of the v5 ladder has a bug: both halves of TSM_REQ and TSM_OP.
        #expect(bugs.contains { $0.name.hasPrefix("req-") } && bugs.contains { $0.name.hasPrefix("op-") })
    }
}
