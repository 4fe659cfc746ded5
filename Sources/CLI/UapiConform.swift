import ArgumentParser
import Foundation
import Layout
import Report

@main
struct Main {
    /// Bad input is one line on stderr and exit status 2 (argument-parser
    /// would use 64 for usage errors); help and --version exit 0.
    static func main() {
        do {
            var command = try UapiConform.parseAsRoot()
            try command.run()
        } catch let e as InputError {
            FileHandle.standardError.write(Data("uapi-conform: error: \(e.message)\n".utf8))
            exit(2)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch {
            let code = UapiConform.exitCode(for: error)
            if code == .success {
                print(UapiConform.fullMessage(for: error))
                exit(0)
            }
            let msg = UapiConform.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("uapi-conform: error: \(msg)\n".utf8))
            exit(2)
        }
    }
}

struct UapiConform: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uapi-conform",
        abstract: "Conformance suite for the Linux iommufd/vfio user API (TSM / TEE-IO ioctls included).",
        discussion: """
        abi      struct layouts, ioctl numbers and design rules on every Linux ABI, against a header tree, a patch \
        or a version profile
        rules    the design rules with why and where they come from
        run      the behavioural case catalogue on the simulated kernel, the live one, or both (list, explain ID)
        probe    what this kernel offers (iommufd ioctls, selftest mock, TSM version, vfio devices)
        vm       boot a kernel in QEMU and run the live catalogue inside it (--patch: built with a posted series)
        sim-exec run any program with the simulated kernel as its /dev/iommu (LD_PRELOAD)
        apply    apply a series to a source tree and print the clean diff
        Exit status: 0 clean, 1 findings (or failed cases), 2 bad input.
        """,
        version: "0.1.0",
        subcommands: [AbiCommand.self, RulesCommand.self, RunCommand.self, ProbeCommand.self, VmCommand.self,
                      ApplyCommand.self, ListCommand.self, ExplainCommand.self, BenchSimCommand.self,
                      FuzzCommand.self, SimExecCommand.self])
}

/// `--headers`, for commands that read a header tree.
struct HeaderOptions: ParsableArguments {
    @Option(name: .long,
            help: ArgumentHelp("Include folder with linux/iommufd.h (make headers_install output, /usr/include, or an "
                + "unpacked linux-libc-dev). Default: .deps/linux-libc-dev/usr/include."))
    var headers: String?

    func headerPath() throws -> String {
        if let headers { return headers }
        let fallback = ".deps/linux-libc-dev/usr/include"
        guard FileManager.default.fileExists(atPath: fallback + "/linux/iommufd.h") else {
            throw InputError("no header tree given and \(fallback) is missing: run `make deps` or pass --headers DIR")
        }
        return fallback
    }
}

/// `--fixtures`, for commands that read profiles.
struct FixturesOption: ParsableArguments {
    @Option(name: .long, help: "Folder holding profiles/ (default: ./fixtures or the one next to the build).")
    var fixtures: String?

    /// The fixtures folder: --fixtures, or the one `ProfileStore.defaultFixtures()` finds.
    func directory() throws -> String {
        guard let dir = fixtures ?? ProfileStore.defaultFixtures() else {
            throw InputError("no fixtures/profiles folder found; pass --fixtures DIR or set UAPI_CONFORM_FIXTURES")
        }
        return dir
    }

    /// The store and one resolved profile; both are bad input when missing.
    func load(_ name: String) throws -> (ProfileStore, Profile) {
        let (store, _) = try loadStore()
        return (store, try store.resolved(name))
    }

    /// The store and the fixtures folder holding it.
    func loadStore() throws -> (ProfileStore, String) {
        let dir = try directory()
        return (try ProfileStore(directory: dir + "/profiles"), dir)
    }

    /// Every profile, resolved.
    func loadAll() throws -> [Profile] {
        let store = try ProfileStore(directory: try directory() + "/profiles")
        return try store.names.map { try store.resolved($0) }
    }
}

/// `--format`, for commands that report.
struct FormatOption: ParsableArguments {
    @Option(name: .long, help: "Output format (kcidb: KernelCI's KCIDB v5 JSON).")
    var format: OutputFormat = .text
}
