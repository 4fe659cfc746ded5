import Foundation
import Testing
@testable import Layout

/// A made-up header standing in for linux/iommufd.h; every test gets its own copy.
private let demoHeader = """
    /* made-up header for patch-mode tests */
    #ifndef _DEMO_H
    #define _DEMO_H

    #include <linux/types.h>

    enum {
    \tDEMO_CMD_BASE = 0x80,
    \tDEMO_CMD_FOO = 0x81,
    \tDEMO_CMD_BAR = 0x82,
    };

    struct demo_foo {
    \t__u32 size;
    \t__u32 flags;
    \t__aligned_u64 addr;
    };
    #define DEMO_FOO _IO(0x3b, DEMO_CMD_FOO)

    #endif

    """

private func makeTree(iommufd: String = demoHeader, vfio: String? = nil) throws -> HeaderTree {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("patchtests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("linux"), withIntermediateDirectories: true)
    try iommufd.write(to: dir.appendingPathComponent("linux/iommufd.h"), atomically: true, encoding: .utf8)
    if let vfio { try vfio.write(to: dir.appendingPathComponent("linux/vfio.h"), atomically: true, encoding: .utf8) }
    return try HeaderTree(path: dir.path)
}

/// Applies `patch` (written to a temporary file) to a fresh demo tree.
private func applyPatch(_ patch: String, tree: HeaderTree? = nil) throws -> (HeaderTree, AppliedPatch) {
    let t = try tree ?? makeTree()
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("patch-\(UUID().uuidString).patch")
    try patch.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    return try PatchMode.apply(patchFile: file.path, to: t)
}

private func inputError(_ body: () throws -> Void) -> String? {
    do { try body() } catch let e as InputError { return e.message } catch { return "unexpected \(error)" }
    return nil
}

private let addBazCmd = """
    From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
    From: A Developer <dev@example.org>
    Date: Tue, 2 Jun 2026 10:00:00 +0200
    Subject: [PATCH v2 1/2] demo: add the BAZ command and its
     argument struct

    Adds a command.

    Signed-off-by: A Developer <dev@example.org>
    ---
     drivers/iommu/iommufd/main.c  |  1 +
     include/uapi/linux/iommufd.h  | 7 +++++++
     2 files changed, 8 insertions(+)

    diff --git a/drivers/iommu/iommufd/main.c b/drivers/iommu/iommufd/main.c
    index 1234567..89abcde 100644
    --- a/drivers/iommu/iommufd/main.c
    +++ b/drivers/iommu/iommufd/main.c
    @@ -10,2 +10,3 @@ static const struct demo_op demo_ops[] = {
     \tIOCTL_OP(DEMO_FOO, demo_foo_ioctl, struct demo_foo, addr),
    +\tIOCTL_OP(DEMO_BAZ, demo_baz_ioctl, struct demo_baz, id),
     };
    diff --git a/include/uapi/linux/iommufd.h b/include/uapi/linux/iommufd.h
    index 1234567..89abcde 100644
    --- a/include/uapi/linux/iommufd.h
    +++ b/include/uapi/linux/iommufd.h
    @@ -9,5 +9,6 @@ enum {
     \tDEMO_CMD_FOO = 0x81,
     \tDEMO_CMD_BAR = 0x82,
    +\tDEMO_CMD_BAZ = 0x83,
     };
     
     struct demo_foo {
    @@ -18,3 +19,9 @@ struct demo_foo {
     #define DEMO_FOO _IO(0x3b, DEMO_CMD_FOO)
     
    +struct demo_baz {
    +\t__u32 size;
    +\t__u32 id;
    +};
    +#define DEMO_BAZ _IO(0x3b, DEMO_CMD_BAZ)
    +
     #endif
    -- 
    2.43.0

    """

/// Depends on 1/2: its context is demo_baz, which only 1/2 adds.
private let growBaz = """
    From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
    From: A Developer <dev@example.org>
    Date: Tue, 2 Jun 2026 10:00:01 +0200
    Subject: [PATCH v2 2/2] demo: give BAZ a user pointer

    ---
    diff --git a/include/uapi/linux/iommufd.h b/include/uapi/linux/iommufd.h
    --- a/include/uapi/linux/iommufd.h
    +++ b/include/uapi/linux/iommufd.h
    @@ -21,4 +21,6 @@ struct demo_foo {
     struct demo_baz {
     \t__u32 size;
     \t__u32 id;
    +\t__u32 __reserved;
    +\t__aligned_u64 data_uptr;
     };
    diff --git a/drivers/iommu/iommufd/main.c b/drivers/iommu/iommufd/main.c
    --- a/drivers/iommu/iommufd/main.c
    +++ b/drivers/iommu/iommufd/main.c
    @@ -10,3 +10,4 @@ static const struct demo_op demo_ops[] = {
     \tIOCTL_OP(DEMO_FOO, demo_foo_ioctl, struct demo_foo, addr),
    -\tIOCTL_OP(DEMO_BAZ, demo_baz_ioctl, struct demo_baz, id),
    +\tIOCTL_OP(DEMO_BAZ, demo_baz_ioctl,
    +\t\t struct demo_baz, data_uptr),
     };
    -- 
    2.43.0

    """

@Suite struct PatchTests {
    @Test func formatPatchSingle() throws {
        let (tree, applied) = try applyPatch(addBazCmd)
        #expect(applied.subjects == ["[PATCH v2 1/2] demo: add the BAZ command and its argument struct"])
        #expect(applied.touchedHeaders == ["linux/iommufd.h"])
        #expect(applied.baseText["linux/iommufd.h"] == demoHeader)
        #expect(applied.notes.isEmpty)
        let text = try #require(try tree.text(of: "linux/iommufd.h"))
        #expect(text == applied.patchedText["linux/iommufd.h"])
        #expect(text.contains("\tDEMO_CMD_BAR = 0x82,\n\tDEMO_CMD_BAZ = 0x83,\n};"))
        #expect(text.hasSuffix("#define DEMO_BAZ _IO(0x3b, DEMO_CMD_BAZ)\n\n#endif\n"))
        #expect(applied.ioctlOps == [IoctlOpEntry(ioctl: "DEMO_BAZ", handler: "demo_baz_ioctl", structName: "demo_baz", last: "id")])
        // The patched tree is what the header parser now sees.
        let decls = try tree.parse()
        #expect(decls.first?.record(named: "demo_baz") != nil)
    }

    @Test func mboxSecondPatchDependsOnFirst() throws {
        let (tree, applied) = try applyPatch(addBazCmd + growBaz)
        #expect(applied.subjects.count == 2)
        #expect(applied.subjects[1] == "[PATCH v2 2/2] demo: give BAZ a user pointer")
        let text = try #require(try tree.text(of: "linux/iommufd.h"))
        #expect(text.contains("\t__u32 id;\n\t__u32 __reserved;\n\t__aligned_u64 data_uptr;\n};"))
        // Alone, 2/2 cannot apply: demo_baz does not exist yet.
        let msg = inputError { _ = try applyPatch(growBaz) }
        #expect(msg == "patch 2/2 (demo: give BAZ a user pointer): hunk #1 of include/uapi/linux/iommufd.h (@@ -21,4 +21,6 @@ struct demo_foo {) "
                + "does not apply at line 21: patch line 11 ' struct demo_baz {' matches no line there")
    }

    @Test func ioctlOpAcrossTwoLines() throws {
        let (_, applied) = try applyPatch(addBazCmd + growBaz)
        #expect(applied.ioctlOps.map(\.last) == ["id", "data_uptr"])
        #expect(applied.ioctlOps[1] == IoctlOpEntry(ioctl: "DEMO_BAZ", handler: "demo_baz_ioctl", structName: "demo_baz", last: "data_uptr"))
        // The macro's own definition is not an entry; junk between entries is skipped.
        let found = IoctlOps.entries(in: "#define IOCTL_OP(_ioctl, _fn, _struct, _last) IOCTL_OP(A_B, f, struct a_b, c), IOCTL_OP(bad)")
        #expect(found == [IoctlOpEntry(ioctl: "A_B", handler: "f", structName: "a_b", last: "c")])
    }

    @Test func plainUnifiedDiff() throws {
        let diff = """
            --- linux-7.2.orig/include/uapi/linux/iommufd.h\t2026-06-01 12:00:00.000000000 +0200
            +++ linux-7.2/include/uapi/linux/iommufd.h\t2026-06-02 12:00:00.000000000 +0200
            @@ -14,3 +14,4 @@
             \t__u32 size;
             \t__u32 flags;
            +\t__u32 extra;
             \t__aligned_u64 addr;

            """
        let (tree, applied) = try applyPatch(diff)
        #expect(applied.subjects == [""])
        #expect(try tree.text(of: "linux/iommufd.h")?.contains("\t__u32 flags;\n\t__u32 extra;\n\t__aligned_u64 addr;") == true)
        let series = try PatchSeries.parse(text: diff)
        #expect(series.patches[0].files[0].oldPath == "linux-7.2.orig/include/uapi/linux/iommufd.h")
        #expect(series.patches[0].files[0].hunks[0].lines.map(\.kind) == [.context, .context, .add, .context])
    }

    /// A list-archive copy: subject first, headers without a blank line,
    /// context lines lost their leading space, tabs became spaces, and a
    /// reviewer's remark sits between added lines.
    @Test func archiveMangledCopy() throws {
        let copy = """
            Re: [PATCH 1/1] demo: add the QUX command
            From: A Reviewer
            Date: Wed Jun 03 2026 - 09:00:00 EST
            On 2/6/26, A Developer wrote:
            Adds QUX.
            ---
            include/uapi/linux/iommufd.h | 6 ++++++
            diff --git a/include/uapi/linux/iommufd.h b/include/uapi/linux/iommufd.h
            --- a/include/uapi/linux/iommufd.h
            +++ b/include/uapi/linux/iommufd.h
            @@ -9,5 +9,6 @@ enum {
            DEMO_CMD_FOO = 0x81,
            DEMO_CMD_BAR = 0x82,
            + DEMO_CMD_QUX = 0x84,
            };

            struct demo_foo {
            @@ -18,3 +19,6 @@ struct demo_foo {
            #define DEMO_FOO _IO(0x3b, DEMO_CMD_FOO)

            -#endif
            +struct demo_qux {
            Why a new struct? Could demo_foo grow instead?
            + __u32 size;
            +};
            +#endif
            --

            """
        let (tree, applied) = try applyPatch(copy)
        #expect(applied.subjects == ["Re: [PATCH 1/1] demo: add the QUX command"])
        let text = try #require(try tree.text(of: "linux/iommufd.h"))
        // The tree's own context keeps its tabs; added lines are as the copy has them.
        #expect(text.contains("\tDEMO_CMD_BAR = 0x82,\n DEMO_CMD_QUX = 0x84,\n};\n\nstruct demo_foo {"))
        #expect(text.hasSuffix("#define DEMO_FOO _IO(0x3b, DEMO_CMD_FOO)\n\nstruct demo_qux {\n __u32 size;\n};\n#endif\n"))
        #expect(applied.notes == [
            "patch 1/1 (demo: add the QUX command): hunk #1 of include/uapi/linux/iommufd.h applied ignoring white space",
            "patch 1/1 (demo: add the QUX command): dropped 1 line(s) of reply text inside hunks of include/uapi/linux/iommufd.h",
        ])
        #expect(applied.dropped.map(\.text) == ["Why a new struct? Could demo_foo grow instead?"])
        #expect(applied.dropped.map(\.patchLine) == [23])
    }

    /// Some archives also drop blank lines, so a hunk comes up short on
    /// context; the tree's blank lines are then allowed to go unmatched.
    @Test func archiveCopyWithoutBlankLines() throws {
        let copy = """
            [PATCH 2/3] demo: add BAZ
            diff --git a/include/uapi/linux/iommufd.h b/include/uapi/linux/iommufd.h
            --- a/include/uapi/linux/iommufd.h
            +++ b/include/uapi/linux/iommufd.h
            @@ -10,4 +10,5 @@ enum {
            DEMO_CMD_BAR = 0x82,
            + DEMO_CMD_BAZ = 0x83,
            };
            struct demo_foo {
            --
            A signature

            """
        let series = try PatchSeries.parse(text: copy)
        #expect(series.patches[0].files[0].hunks[0].missingContextLines == 1)
        let (tree, applied) = try applyPatch(copy)
        #expect(try tree.text(of: "linux/iommufd.h")?.contains("\tDEMO_CMD_BAR = 0x82,\n DEMO_CMD_BAZ = 0x83,\n};\n\nstruct demo_foo {") == true)
        #expect(applied.notes == [
            "patch 2/3 (demo: add BAZ): hunk #1 of include/uapi/linux/iommufd.h applied ignoring white space and blank lines",
            "patch 2/3 (demo: add BAZ): 1 blank context line(s) of include/uapi/linux/iommufd.h missing from the copy (dropped by a mail archive)",
        ])
    }

    @Test func concatenatedMailsWithoutMboxSeparators() throws {
        // Two saved mails back to back, each starting with `From: `.
        let first = addBazCmd.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
        let second = growBaz.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
        let series = try PatchSeries.parse(text: first + second)
        #expect(series.patches.map { $0.seriesPosition?.index } == [1, 2])
        #expect(series.patches.map { $0.files.count } == [2, 2])
    }

    @Test func offsetHunk() throws {
        // States line 3, but the enum sits at line 9 in the tree.
        let diff = """
            diff --git a/include/uapi/linux/iommufd.h b/include/uapi/linux/iommufd.h
            --- a/include/uapi/linux/iommufd.h
            +++ b/include/uapi/linux/iommufd.h
            @@ -3,3 +3,4 @@ enum {
             \tDEMO_CMD_FOO = 0x81,
             \tDEMO_CMD_BAR = 0x82,
            +\tDEMO_CMD_BAZ = 0x83,
             };

            """
        let (tree, applied) = try applyPatch(diff)
        #expect(try tree.text(of: "linux/iommufd.h")?.contains("0x82,\n\tDEMO_CMD_BAZ = 0x83,\n};") == true)
        #expect(applied.notes == ["patch: hunk #1 of include/uapi/linux/iommufd.h applied at offset 6"])
    }

    @Test func hunkThatDoesNotApply() throws {
        let diff = """
            From 3333333333333333333333333333333333333333 Mon Sep 17 00:00:00 2001
            Subject: [PATCH 3/4] demo: rename a field

            ---
            diff --git a/include/uapi/linux/iommufd.h b/include/uapi/linux/iommufd.h
            --- a/include/uapi/linux/iommufd.h
            +++ b/include/uapi/linux/iommufd.h
            @@ -9,2 +9,3 @@ enum {
             \tDEMO_CMD_FOO = 0x81,
            +\tDEMO_CMD_NEW = 0x90,
             \tDEMO_CMD_BAR = 0x82,
            @@ -14,3 +15,3 @@ struct demo_foo {
             \t__u32 size;
            -\t__u32 flagz;
            +\t__u32 flags2;
             \t__aligned_u64 addr;

            """
        let msg = inputError { _ = try applyPatch(diff) }
        #expect(msg == "patch 3/4 (demo: rename a field): hunk #2 of include/uapi/linux/iommufd.h (@@ -14,3 +15,3 @@ struct demo_foo {) "
                + "does not apply at line 15: patch line 14 '-\t__u32 flagz;' matches no line there")
        // Applying a patch twice is called out.
        let (tree, _) = try applyPatch(addBazCmd)
        let again = inputError { _ = try applyPatch(addBazCmd, tree: tree) }
        #expect(again?.hasSuffix("hunk #1 of include/uapi/linux/iommufd.h (@@ -9,5 +9,6 @@ enum {) does not apply at line 9 "
                                 + "(its result is already there: was the patch applied already?)") == true)
    }

    @Test func garbageInput() throws {
        let none = inputError { _ = try applyPatch("Hello,\nthis is just a mail without any diff.\n") }
        #expect(none?.hasSuffix(": no diff found (no 'diff --git', '---'/'+++' or '@@' lines)") == true)

        let badHeader = """
            --- a/include/uapi/linux/iommufd.h
            +++ b/include/uapi/linux/iommufd.h
            @@ -x,3 +9,4 @@ enum {
             \tDEMO_CMD_FOO = 0x81,

            """
        #expect(inputError { _ = try PatchSeries.parse(text: badHeader) } == "line 3: cannot read hunk header '@@ -x,3 +9,4 @@ enum {'")

        let short = """
            --- a/include/uapi/linux/iommufd.h
            +++ b/include/uapi/linux/iommufd.h
            @@ -9,5 +9,6 @@ enum {
             \tDEMO_CMD_FOO = 0x81,
            +\tDEMO_CMD_BAZ = 0x83,

            """
        #expect(inputError { _ = try PatchSeries.parse(text: short) }
                == "line 5: hunk #1 of include/uapi/linux/iommufd.h (line 3) is cut off by the end of the file with 4 old and 4 new lines still to come")

        let tooMany = """
            --- a/include/uapi/linux/iommufd.h
            +++ b/include/uapi/linux/iommufd.h
            @@ -9,1 +9,2 @@ enum {
             \tDEMO_CMD_FOO = 0x81,
            +\tDEMO_CMD_BAZ = 0x83,
            +\tDEMO_CMD_QUX = 0x84,

            """
        #expect(inputError { _ = try PatchSeries.parse(text: tooMany) }?.hasPrefix("line 6: changed line after hunk #1") == true)

        let orphan = "@@ -1,1 +1,1 @@\n-a\n+b\n"
        #expect(inputError { _ = try PatchSeries.parse(text: orphan) }?.hasPrefix("line 1: hunk header without a file header") == true)
    }

    @Test func missingOrUnreadableFile() throws {
        let tree = try makeTree()
        let missing = inputError { _ = try PatchMode.apply(patchFile: "/nonexistent/series.mbox", to: tree) }
        #expect(missing == "patch file /nonexistent/series.mbox does not exist")
        let dir = inputError { _ = try PatchMode.apply(patchFile: tree.root, to: tree) }
        #expect(dir == "cannot read patch file \(tree.root)")
    }

    @Test func patchTouchingNoUapiHeader() throws {
        let diff = """
            --- a/drivers/iommu/iommufd/main.c
            +++ b/drivers/iommu/iommufd/main.c
            @@ -1,1 +1,2 @@
             x
            +y

            """
        let msg = inputError { _ = try applyPatch(diff) }
        #expect(msg?.hasSuffix(" touches neither include/uapi/linux/iommufd.h nor include/uapi/linux/vfio.h") == true)
    }

    @Test func newFileWithoutTrailingNewline() throws {
        let diff = """
            diff --git a/include/uapi/linux/vfio.h b/include/uapi/linux/vfio.h
            new file mode 100644
            --- /dev/null
            +++ b/include/uapi/linux/vfio.h
            @@ -0,0 +1,3 @@
            +#ifndef _DEMO_VFIO_H
            +#define _DEMO_VFIO_H
            +#endif
            \\ No newline at end of file

            """
        let (tree, applied) = try applyPatch(diff)
        #expect(applied.touchedHeaders == ["linux/vfio.h"])
        #expect(applied.baseText["linux/vfio.h"] == nil)
        #expect(try tree.text(of: "linux/vfio.h") == "#ifndef _DEMO_VFIO_H\n#define _DEMO_VFIO_H\n#endif")
        #expect(tree.uapiFiles == ["linux/iommufd.h", "linux/vfio.h"])
        let series = try PatchSeries.parse(text: diff)
        #expect(series.patches[0].files[0].isNewFile)
        #expect(series.patches[0].files[0].hunks[0].lines.last?.noNewlineAtEnd == true)
    }

    @Test func noNewlineMarkerOnBothSides() throws {
        // The old file lacks a final newline and the patch adds one.
        let base = "struct demo_q {\n\t__u32 a;\n};"
        let diff = """
            --- a/include/uapi/linux/vfio.h
            +++ b/include/uapi/linux/vfio.h
            @@ -2,2 +2,3 @@ struct demo_q {
             \t__u32 a;
            -};
            \\ No newline at end of file
            +\t__u32 b;
            +};

            """
        let (tree, _) = try applyPatch(diff, tree: makeTree(vfio: base))
        #expect(try tree.text(of: "linux/vfio.h") == "struct demo_q {\n\t__u32 a;\n\t__u32 b;\n};\n")
    }

    @Test func buffersKeepTheirEnding() {
        for text in ["", "a\n", "a\nb", "a\n\n"] {
            #expect(HunkApplier.Buffer(text: text).text == text)
        }
    }

    @Test func uapiKeys() {
        #expect(HunkApplier.uapiKey(for: "include/uapi/linux/vfio.h") == "linux/vfio.h")
        #expect(HunkApplier.uapiKey(for: "usr/include/linux/iommufd.h") == "linux/iommufd.h")
        // The kernel-internal header of the same name is not the uAPI one.
        #expect(HunkApplier.uapiKey(for: "include/linux/iommufd.h") == nil)
    }

    static let realHeaders: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".deps/linux-libc-dev/usr/include").path
    }()
    static let anchor = "IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,"
    static let haveRealHeader: Bool = {
        guard let text = try? String(contentsOfFile: realHeaders + "/linux/iommufd.h", encoding: .utf8) else { return false }
        return text.contains(anchor)
    }()

    @Test(.enabled(if: haveRealHeader, "needs .deps/linux-libc-dev/usr/include/linux/iommufd.h with IOMMUFD_CMD_HW_QUEUE_ALLOC (run `make deps`)"))
    func realIommufdHeader() throws {
        let tree = try HeaderTree(path: Self.realHeaders)
        let base = try #require(try tree.text(of: "linux/iommufd.h"))
        let lines = HunkApplier.Buffer(text: base).lines
        let at = try #require(lines.firstIndex { $0.contains(Self.anchor) })
        // Build the hunk from the file itself so no header text lives in the repo.
        func diff(context: (String) -> String) -> String {
            let before = lines[(at - 2)...at].map(context)
            let after = lines[(at + 1)...(at + 2)].map(context)
            return (["--- a/include/uapi/linux/iommufd.h", "+++ b/include/uapi/linux/iommufd.h",
                     "@@ -\(at - 1),5 +\(at - 1),6 @@ enum {"]
                    + before + ["+\tIOMMUFD_CMD_DEMO_NEXT = 0x9f,"] + after).joined(separator: "\n") + "\n"
        }
        let (patched, applied) = try applyPatch(diff(context: { " " + $0 }), tree: tree)
        #expect(applied.notes.isEmpty)
        let text = try #require(try patched.text(of: "linux/iommufd.h"))
        var expected = lines
        expected.insert("\tIOMMUFD_CMD_DEMO_NEXT = 0x9f,", at: at + 1)
        #expect(text == expected.joined(separator: "\n") + "\n")
        let decls = try patched.parse()
        let names = decls.first { $0.file == "linux/iommufd.h" }?.enums.flatMap { $0.constants.map(\.name) } ?? []
        #expect(names.contains("IOMMUFD_CMD_DEMO_NEXT"))

        // The archive-mangled form of the same hunk lands on the same text.
        let mangled = diff(context: { $0.trimmingCharacters(in: .whitespaces) })
        let (patched2, applied2) = try applyPatch(mangled, tree: tree)
        #expect(try patched2.text(of: "linux/iommufd.h") == text)
        #expect(applied2.notes.count == 1)
    }
}
