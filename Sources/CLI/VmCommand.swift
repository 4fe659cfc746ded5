import ArgumentParser
import Foundation
import Cases
import Layout
import Report

/// Boots a kernel under QEMU and runs the live catalogue inside it. The work
/// is done by scripts/build-kernel.sh (Debian sid's linux-source-7.2 with
/// fixtures/kernel/uapi-conform.config, cached outside the repo, patched
/// incrementally for --patch) and scripts/run-vm.sh (TCG, host root over 9p,
/// QEMU's edu device on vfio-pci, timeout); this command finds them, picks
/// defaults, and passes the run's exit status on.
struct VmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Boot a kernel in QEMU and run the live catalogue (sim+live differential by default) inside it.",
        discussion: """
        Without --kernel or --patch it builds or reuses the default Linux 7.2 kernel with iommufd and its selftest \
        mock. --patch builds 7.2 with the given patches (format-patch, mbox or list-archive copy; repeat for several, \
        in order), probes it and runs the catalogue with the profile the probe matched. Everything after -- replaces \
        the default run arguments.
        """)

    @Option(name: .long, help: "bzImage to boot (a maintainer's own kernel, with a patch applied).")
    var kernel: String?

    @Option(name: .long, help: "Build Linux 7.2 with this patch applied (repeat to apply several in order).")
    var patch: [String] = []

    @Option(name: .long,
            help: "With --patch: also plant this bug (see --list-kernel-bugs) and check the named cases catch it.")
    var kernelBug: String?

    @Flag(name: .long, help: "List the kernel bugs --kernel-bug can plant, with the cases that must catch each.")
    var listKernelBugs = false

    @Option(name: .long,
            help: "Profile the catalogue runs with (default: tsm-v5; with --patch the one the probe matches).")
    var profile: RunProfile?

    @Option(name: .long,
            help: "Only cases whose id matches this glob or contains this text (passed to the guest's run).")
    var filter: String?

    @Option(name: .long, help: "Folder for the guest's stdout, stderr, status, console log and reports.")
    var out: String = "out/vm"

    @Option(name: .long, help: "Seconds before QEMU is killed and the run reported as hung (more than 0).")
    var timeout: Int = 600

    @Option(name: .long, help: ArgumentHelp(
        "Extra kernel command-line arguments, e.g. intel_iommu=off (Linux 6.12's selftest mock binds only then).",
        valueName: "ARGS"))
    var append: String?

    @OptionGroup var fixtureOptions: FixturesOption

    @Argument(parsing: .postTerminator, help: "uapi-conform arguments to run in the guest.")
    var runArguments: [String] = []

    func run() throws {
        if listKernelBugs {
            for b in try fixtureOptions.kernelBugs() {
                print("\(b.name)\t\(b.summary)\n\tcaught by: \(b.caughtBy.joined(separator: ", "))")
            }
            return
        }
        let plan = try VmPlan(self)
        let split = try VmFuzz(plan)
        let image = try plan.kernelImage()
        if let split {
            let status = try split.run(plan, image: image)
            if status != 0 { throw ExitCode(status) }
            return
        }
        let status = try plan.boot(image)
        if let text = try? String(contentsOfFile: plan.outDir + "/stdout", encoding: .utf8) {
            print(text, terminator: "")
        }
        var exitStatus = status
        if !patch.isEmpty { exitStatus = try plan.report(status: status) }
        if exitStatus != 0 { throw ExitCode(exitStatus) }
    }
}

/// What one `vm` invocation does, checked before anything slow starts.
struct VmPlan {
    let command: VmCommand
    let root: String
    /// The fixtures folder (profiles, kernel fragments, known kernel reports).
    let fixtures: String
    let outDir: String
    let me: String
    let bug: KernelBug?

    init(_ c: VmCommand) throws {
        command = c
        guard c.timeout > 0 else { throw InputError("--timeout must be more than 0 seconds, got \(c.timeout)") }
        if c.kernel != nil && !c.patch.isEmpty { throw InputError("--kernel and --patch exclude each other") }
        if c.kernelBug != nil && c.patch.isEmpty {
            throw InputError("--kernel-bug needs --patch (it is planted after the series)")
        }
        for p in c.patch { _ = try PatchMode.read(patchFile: p) }
        bug = try c.kernelBug.map { try c.fixtureOptions.kernelBug(named: $0) }
        guard let fixtures = c.fixtureOptions.fixtures ?? ProfileStore.defaultFixtures() else {
            throw InputError("cannot find the uapi-conform source tree (fixtures/) for its VM scripts")
        }
        try c.fixtureOptions.check(c.profile)
        self.fixtures = URL(fileURLWithPath: fixtures).standardizedFileURL.path
        root = (self.fixtures as NSString).deletingLastPathComponent
        let cwd = FileManager.default.currentDirectoryPath
        outDir = URL(fileURLWithPath: c.out, relativeTo: URL(fileURLWithPath: cwd + "/")).standardizedFileURL.path
        me = URL(fileURLWithPath: CommandLine.arguments[0],
                 relativeTo: URL(fileURLWithPath: cwd + "/")).standardizedFileURL.path
        do { try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true) } catch {
            throw InputError("cannot create --out \(c.out): \(error.localizedDescription)")
        }
        if let k = c.kernel, !FileManager.default.isReadableFile(atPath: k) {
            throw InputError("kernel image \(k) does not exist")
        }
    }

    var scripts: String { root + "/scripts" }
    /// A patch given relative to where the user stands, as an absolute path.
    func absolute(_ p: String) -> String {
        URL(fileURLWithPath: p,
            relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath + "/")).standardizedFileURL.path
    }

    /// The kernel to boot: the user's, the lane's 7.2, or 7.2 with the patches.
    func kernelImage() throws -> String {
        if let k = command.kernel { return absolute(k) }
        var args = [scripts + "/build-kernel.sh"]
        if !command.patch.isEmpty {
            args += ["--patched", outDir + "/applied.diff", "--", me, "apply", "--report", outDir + "/apply.json"]
            args += command.patch.flatMap { ["--patch", absolute($0)] }
            if let b = bug { args += ["--kernel-bug", b.name] }
            if let f = command.fixtureOptions.fixtures { args += ["--fixtures", absolute(f)] }
        }
        // Cold: download, unpack and build take ~10 minutes on 2 cores.
        let r = try ChildProcess.run(args, limits: .init(timeout: 3600, outputBytes: 1 << 20), captureStderr: false)
        if r.status == 2 { throw ExitCode(2) }   // bad input: the one-line error is printed already
        let path = r.stdout.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard r.status == 0, !path.isEmpty else {
            throw ExitCode(r.timedOut ? 124 : 1)
        }
        return path
    }

    /// The guest command: the user's, or probe + catalogue (patch lane).
    func guestCommand() -> [String] {
        let results = ["--format", "ktap", "--json", outDir + "/results.json"]
        guard command.runArguments.isEmpty else { return [me] + command.runArguments }
        let profile = command.profile?.description ?? (command.patch.isEmpty ? ProfileName.default.name : "auto")
        var run = ["run", "--backend", "sim+live", "--allow-destructive", "--fail-nth", "--profile", profile]
            + results
        if let f = command.filter { run += ["--filter", f] }
        guard !command.patch.isEmpty else { return [me] + run }
        for n in notes() { run += ["--note", n] }
        // probe first, its JSON next to the results; then the catalogue.
        let script = #""$0" probe --format json >"$1/probe.json" 2>&1; shift; exec "$0" "$@""#
        return ["/bin/sh", "-c", script, me, outDir] + run
    }

    /// What the run's results test, from the patches' `Reconstructs:` trailers and the bug.
    func notes() -> [String] {
        var out: [String] = []
        if let apply = readJSON(outDir + "/apply.json") {
            for r in apply["reconstructs"] as? [[String: Any]] ?? [] {
                let ioctl = r["ioctl"] as? String ?? "?", p = (r["patch"] as? String ?? "?") as NSString
                out.append("\(ioctl) results test a reconstruction (\(p.lastPathComponent)), not posted code")
            }
        }
        if let b = bug { out.append("kernel bug planted: \(b.name) (\(b.summary))") }
        return out
    }

    func boot(_ image: String, guest: [String]? = nil) throws -> Int32 {
        let args = [scripts + "/run-vm.sh", "--timeout", String(command.timeout), "--vfio-edu", "--kernel", image,
                    "--out", outDir, "--cwd", root] + (command.append.map { ["--append", $0] } ?? []) + ["--"]
            + (guest ?? guestCommand())
        let r = try ChildProcess.run(args, limits: .init(timeout: Double(command.timeout) + 60), captureStdout: false,
                                     captureStderr: false)
        return r.timedOut ? 124 : r.status
    }

    /// The patch lane's summary: what was applied and dropped, what the probe
    /// found, how the TSM cases ran; and for a planted bug, whether it was caught.
    func report(status: Int32) throws -> Int32 {
        var lines: [String] = []
        let apply = readJSON(outDir + "/apply.json")
        let dropped = apply?["dropped"] as? [[String: Any]] ?? []
        lines.append("patches: " + command.patch.joined(separator: ", ") + "; diff built: \(outDir)/applied.diff")
        lines.append("reply text dropped: \(dropped.count) line(s)")
        for d in dropped { lines.append("  \(d["patch"] ?? ""):\(d["line"] ?? ""): \(d["text"] ?? "")") }
        let probe = readJSON(outDir + "/probe.json")
        let tsm = probe?["tsm_profiles"] as? [String] ?? []
        lines.append("probe: kernel \(probe?["release"] ?? "?"), "
            + "TSM uAPI " + (tsm.isEmpty ? "none" : "matches " + tsm.joined(separator: ", ")))
        lines += notes()
        let results = readJSON(outDir + "/results.json")
        let cases = results?["results"] as? [[String: Any]] ?? []
        for (ioctl, prefix) in [("IOMMU_VDEVICE_TSM_REQ", "iommufd.vdevice_tsm_req."),
                                ("IOMMU_VDEVICE_TSM_OP", "iommufd.vdevice_tsm_op.")] {
            let mine = cases.filter { ($0["id"] as? String)?.hasPrefix(prefix) == true }
            let by = Dictionary(grouping: mine) { $0["status"] as? String ?? "" }.mapValues(\.count)
            let pass = by[CaseStatus.pass.rawValue] ?? 0, fail = by[CaseStatus.fail.rawValue] ?? 0
            lines.append("\(ioctl): \(pass + fail) cases ran live (\(pass) passed, \(fail) failed), " +
                         "\(by[CaseStatus.skip.rawValue] ?? 0) skipped")
        }
        var exit = status
        if let b = bug {
            let failedCases = cases.filter { $0["status"] as? String == CaseStatus.fail.rawValue }
            let failed = Set(failedCases.compactMap { $0["id"] as? String })
            let missed = b.caughtBy.filter { !failed.contains($0) }
            let caught = status == 1 && missed.isEmpty
            let why = missed.isEmpty ? " (run status \(status))" : ": \(missed.joined(separator: ", ")) did not fail"
            lines.append(caught ? "kernel bug \(b.name): caught (\(b.caughtBy.joined(separator: ", ")) failed)"
                                : "kernel bug \(b.name): NOT caught" + why)
            try? (caught ? "caught\n" : "missed\n").write(toFile: outDir + "/kernel-bug-verdict", atomically: true,
                                                          encoding: .utf8)
            exit = caught ? 1 : 3
        }
        let text = lines.joined(separator: "\n") + "\n"
        try? text.write(toFile: outDir + "/summary.txt", atomically: true, encoding: .utf8)
        FileHandle.standardError.write(Data(text.utf8))
        return exit
    }

    func readJSON(_ path: String) -> [String: Any]? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
    }
}
