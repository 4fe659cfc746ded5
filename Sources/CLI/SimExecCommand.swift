import ArgumentParser
import Foundation
import Layout
import SimulatedBackend

/// `sim-exec`: PROGRAM runs with libuapi-sim.so preloaded, so its /dev/iommu (and the simulated vfio cdevs) is
/// the simulated kernel of the profile, in its own process; every other path and descriptor is its own.
struct SimExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim-exec",
        abstract: "Run a program against the simulated kernel as its /dev/iommu (LD_PRELOAD of libuapi-sim.so).",
        discussion: "The exit status is the program's. Bad arguments (no program, an unknown profile, a program "
            + "that cannot run) exit 2 with one line.")

    @Option(name: .long, help: "The kernel version the simulator follows: a profile of fixtures/profiles.")
    var profile: ProfileName = ProfileName(argument: "linux-7.2")!

    @OptionGroup var fixtureOptions: FixturesOption

    @Argument(parsing: .captureForPassthrough, help: "-- PROGRAM [ARGS...]")
    var command: [String] = []

    func run() throws {
        // Passthrough capture takes --help too; before `--` it is still a request for this help.
        if let first = command.first, first == "--help" || first == "-h" { throw CleanExit.helpRequest(self) }
        let (_, p) = try fixtureOptions.load(profile.name)
        _ = try SimulatedKernel(profile: p)  // a profile the simulator cannot serve fails here, not in the child
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        guard let program = argv.first, !program.isEmpty else {
            throw InputError("sim-exec needs a program: uapi-conform sim-exec [--profile P] -- PROGRAM [ARGS...]")
        }
        let path = try SimExecCommand.locate(program)
        let library = try SimExecCommand.library()
        let fixtures = URL(fileURLWithPath: try fixtureOptions.directory()).standardizedFileURL.path
        let env = ProcessInfo.processInfo.environment
        let preload = [library] + (env["LD_PRELOAD"].map { [$0] } ?? [])
        setenv("LD_PRELOAD", preload.joined(separator: ":"), 1)
        setenv("UAPI_SIM_PROFILE", p.name, 1)
        setenv("UAPI_SIM_FIXTURES", fixtures, 1)
        // The Swift runtime the library brings would answer the program's own abort() (a failed assertion,
        // a test harness) with a backtrace of the whole process, slow enough to trip the program's timeouts.
        setenv("SWIFT_BACKTRACE", "enable=no", 0)
        let cargs = argv.map { strdup($0) } + [nil]
        execv(path, cargs)
        throw InputError("cannot run \(program): \(String(cString: strerror(errno)))")
    }

    /// PROGRAM as execvp would find it; bad input when it is not an executable file.
    static func locate(_ program: String) throws -> String {
        let fm = FileManager.default
        let candidates = program.contains("/") ? [program]
            : (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
                .map { "\($0)/\(program)" }
        var isDir: ObjCBool = false
        for c in candidates where fm.fileExists(atPath: c, isDirectory: &isDir) && !isDir.boolValue {
            guard access(c, X_OK) == 0 else { throw InputError("cannot run \(program): \(c) is not executable") }
            return c
        }
        throw InputError("cannot run \(program): no such program")
    }

    /// libuapi-sim.so beside this executable (SwiftPM puts both in one build folder).
    static func library() throws -> String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let lib = exe.deletingLastPathComponent().appendingPathComponent("libuapi-sim.so").path
        guard FileManager.default.fileExists(atPath: lib) else {
            throw InputError("no \(lib): build it with `make` (swift build makes it beside uapi-conform)")
        }
        return lib
    }
}
