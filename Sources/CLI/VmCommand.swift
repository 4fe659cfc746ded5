import ArgumentParser
import Foundation
import Layout

/// Boots a kernel under QEMU and runs the live catalogue inside it. The
/// work is done by scripts/build-kernel.sh (default kernel: Debian sid's
/// linux-source-7.2 with fixtures/kernel/uapi-conform.config, cached outside
/// the repo) and scripts/run-vm.sh (TCG, host root over 9p, timeout); this
/// command finds them, picks defaults, and passes the run's exit status on.
struct VmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Boot a kernel in QEMU and run the live catalogue (sim+live differential by default) inside it.",
        discussion: "Without --kernel it builds or reuses the default Linux 7.2 kernel with iommufd and its selftest mock. Everything after -- replaces the default run arguments.")

    @Option(name: .long, help: "bzImage to boot (a maintainer's own kernel, with a patch applied).")
    var kernel: String?

    @Option(name: .long, help: "Folder for the guest's stdout, stderr, status and console log.")
    var out: String = "out/vm"

    @Option(name: .long, help: "Seconds before QEMU is killed and the run reported as hung.")
    var timeout: Int = 600

    @Argument(parsing: .postTerminator, help: "uapi-conform arguments to run in the guest.")
    var runArguments: [String] = []

    func run() throws {
        guard let fixtures = ProfileStore.defaultFixtures() else {
            throw InputError("cannot find the uapi-conform source tree (fixtures/) for its VM scripts")
        }
        let root = (fixtures as NSString).deletingLastPathComponent
        let scripts = root + "/scripts"
        var image = kernel
        if let k = image {
            guard FileManager.default.fileExists(atPath: k) else { throw InputError("kernel image \(k) does not exist") }
            image = (k as NSString).standardizingPath.hasPrefix("/") ? k : FileManager.default.currentDirectoryPath + "/" + k
        } else {
            let (status, path) = Self.capture(scripts + "/build-kernel.sh", [])
            guard status == 0, !path.isEmpty else { throw InputError("building the default kernel failed (scripts/build-kernel.sh exit \(status))") }
            image = path
        }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let args = runArguments.isEmpty ? ["run", "--backend", "sim+live", "--profile", "tsm-v5", "--format", "ktap"] : runArguments
        let outDir = out.hasPrefix("/") ? out : FileManager.default.currentDirectoryPath + "/" + out
        let p = Process()
        p.executableURL = URL(fileURLWithPath: scripts + "/run-vm.sh")
        p.arguments = ["--timeout", String(timeout), "--kernel", image!, "--out", outDir, "--cwd", root, "--", me] + args
        try p.run()
        p.waitUntilExit()
        if let text = try? String(contentsOfFile: outDir + "/stdout", encoding: .utf8) { print(text, terminator: "") }
        if p.terminationStatus != 0 { throw ExitCode(p.terminationStatus) }
    }

    /// Runs a tool with stderr passed through; returns its status and stdout's last line.
    static func capture(_ tool: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { return (127, "") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return (p.terminationStatus, last.trimmingCharacters(in: .whitespaces))
    }
}
