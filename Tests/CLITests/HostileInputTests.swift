import Foundation
import Testing

/// Header trees and patches built to hurt: each must give one line on
/// stderr and exit 2, in bounded memory, leaving nothing in TMPDIR.
@Suite(.enabled(if: Tool.binary != nil && FileManager.default.fileExists(atPath: HostileTree.real + "/linux/iommufd.h"),
                "needs the built uapi-conform and the 7.2 headers (make deps)"))
struct HostileInput {
    /// Runs `abi` on a tree whose iommufd.h is `header`, with a TMPDIR of its own.
    func abi(header: String, extra: [String] = []) throws -> (Tool.Run, leftovers: [String]) {
        let tree = try HostileTree.make(iommufd: header)
        let tmp = try Tool.tempDir()
        let r = try Tool.run(["abi", "--headers", tree, "--arch", "x86_64"] + extra, environment: ["TMPDIR": tmp])
        return (r, try FileManager.default.contentsOfDirectory(atPath: tmp))
    }

    @Test func deeplyNestedStruct() throws {
        let header = "struct iommu_deep {\n" + String(repeating: "struct {\n", count: 30_000) + "int x;\n"
            + String(repeating: "} a;\n", count: 30_000) + "};\n"
        let (r, left) = try abi(header: header)
        expectBadInput(r, "structs nested more than 64 deep")
        #expect(left.isEmpty)
    }

    @Test func includeLoopIsOneLine() throws {
        let (r, left) = try abi(header: "#include <linux/iommufd.h>\n" + HostileTree.oneIoctl)
        expectBadInput(r, "#include nested too deeply")
        #expect(left.isEmpty)
    }

    @Test func exponentialMacroStopsAtTheMemoryLimit() throws {
        var h = "#define E0 1\n"
        for k in 1...40 { h += "#define E\(k) E\(k - 1),E\(k - 1)\n" }
        h += "static const char iommu_big[] = { E40 };\n"
        let (r, left) = try abi(header: h + HostileTree.oneIoctl)
        // Whichever bound it meets first, time or memory, stops it.
        expectBadInput(r, "the compiler ran")
        #expect(left.isEmpty)
    }

    @Test func hugeHeaderIsRefusedUnread() throws {
        let (r, _) = try abi(header: String(repeating: "/* padding padding padding padding */\n", count: 150_000))
        expectBadInput(r, "a uAPI header is not over 4 MiB")
    }

    @Test func emptyOrNulHeader() throws {
        expectBadInput(try abi(header: "").0, "declares no iommufd ioctl: nothing to check")
        expectBadInput(try abi(header: "struct iommu_a {\n\t__u32 size;\u{0}\n};\n").0, "linux/iommufd.h:2: cannot parse header: a NUL byte")
    }

    @Test func hunkHeaderPastAnyFile() throws {
        let d = try Tool.tempDir()
        let patch = "--- a/include/uapi/linux/iommufd.h\n+++ b/include/uapi/linux/iommufd.h\n"
            + "@@ -9223372036854775807,1 +9223372036854775807,2 @@\n x\n+y\n"
        try patch.write(toFile: d + "/p.patch", atomically: true, encoding: .utf8)
        let r = try Tool.run(["abi", "--patch", d + "/p.patch", "--arch", "x86_64"])
        expectBadInput(r, "cannot read hunk header")
    }

    @Test func asmFolderOfNoKnownArchitecture() throws {
        let d = try Tool.tempDir()
        try FileManager.default.createDirectory(atPath: d + "/linux", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: d + "/asm", withIntermediateDirectories: true)
        try HostileTree.oneIoctl.write(toFile: d + "/linux/iommufd.h", atomically: true, encoding: .utf8)
        try "\n".write(toFile: d + "/asm/types.h", atomically: true, encoding: .utf8)
        expectBadInput(try Tool.run(["abi", "--headers", d]), "asm/ belongs to no architecture this tool knows")
    }
}

enum HostileTree {
    static let real = Tool.root + "/.deps/linux-libc-dev/usr/include"
    /// Just enough for the header to have something to check.
    static let oneIoctl = "enum { IOMMUFD_CMD_DESTROY = 0x80 };\nstruct iommu_destroy { __u32 size; __u32 id; };\n"
        + "#define IOMMU_DESTROY _IO(';', IOMMUFD_CMD_DESTROY)\n"

    /// The 7.2 tree with linux/iommufd.h replaced: everything else is linked.
    static func make(iommufd: String) throws -> String {
        let fm = FileManager.default
        let d = try Tool.tempDir()
        for entry in try fm.contentsOfDirectory(atPath: real) where entry != "linux" {
            try fm.createSymbolicLink(atPath: d + "/" + entry, withDestinationPath: real + "/" + entry)
        }
        try fm.createDirectory(atPath: d + "/linux", withIntermediateDirectories: true)
        for f in try fm.contentsOfDirectory(atPath: real + "/linux") where f != "iommufd.h" {
            try fm.createSymbolicLink(atPath: d + "/linux/" + f, withDestinationPath: real + "/linux/" + f)
        }
        try iommufd.write(toFile: d + "/linux/iommufd.h", atomically: true, encoding: .utf8)
        return d
    }
}
