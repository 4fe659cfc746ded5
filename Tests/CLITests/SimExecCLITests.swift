import Foundation
import Testing

/// `uapi-conform sim-exec` as a user runs it: the program's exit status comes back, its /dev/iommu is the
/// simulator's, nothing else of it changes; bad arguments are one line and exit 2.
@Suite(.enabled(if: Tool.binary != nil, "needs the built uapi-conform (swift build)"))
struct SimExecCLI {
    @Test func badArgumentsAreOneLine() throws {
        expectBadInput(try Tool.run(["sim-exec"]), "sim-exec needs a program")
        expectBadInput(try Tool.run(["sim-exec", "--"]), "sim-exec needs a program")
        expectBadInput(try Tool.run(["sim-exec", "--profile", "linux-9.9", "--", "true"]),
                       "unknown profile 'linux-9.9'")
        expectBadInput(try Tool.run(["sim-exec", "--", "/nonexistent/prog"]), "no such program")
        let dir = try Tool.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = dir + "/notes.txt"
        try "not a program\n".write(toFile: text, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: text)
        expectBadInput(try Tool.run(["sim-exec", "--", text]), "is not executable")
    }

    @Test func helpIsHelpNotAProgram() throws {
        let r = try Tool.run(["sim-exec", "--help"])
        #expect(r.status == 0 && r.stdout.contains("USAGE: uapi-conform sim-exec"), "\(r.stdout)\(r.stderr)")
        #expect(try Tool.run(["sim-exec", "--", "sh", "-c", "exit 3", "--help"]).status == 3)
    }

    @Test func exitStatusIsTheProgramsOwn() throws {
        #expect(try Tool.run(["sim-exec", "--", "sh", "-c", "exit 7"]).status == 7)
        #expect(try Tool.run(["sim-exec", "--", "true"]).status == 0)
    }

    /// A shell opening /dev/iommu gets the simulated node under sim-exec; without it, the host's (absent on a
    /// machine without an IOMMU: then the open fails as it always would).
    @Test func iommuExistsOnlyUnderSimExec() throws {
        // Read-only: `<>` would create the file where the node does not exist.
        let open = "exec 3</dev/iommu && echo opened"
        let sim = try Tool.run(["sim-exec", "--", "sh", "-c", open])
        #expect(sim.status == 0 && sim.stdout == "opened\n", "\(sim.stdout)\(sim.stderr)")
        if !FileManager.default.fileExists(atPath: "/dev/iommu") {
            let plain = try Tool.run(["sim-exec", "--", "env", "-u", "LD_PRELOAD", "sh", "-c", open])
            #expect(plain.status != 0 && plain.stdout.isEmpty, "\(plain.stdout)")
        }
        // Other paths are the host's own.
        let other = try Tool.run(["sim-exec", "--", "sh", "-c", "cat /etc/hostname >/dev/null && echo fine"])
        #expect(other.stdout == "fine\n", "\(other.stderr)")
    }
}
