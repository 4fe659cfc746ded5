import ArgumentParser
import Foundation
import Layout
import Report

struct AbiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abi",
        abstract: "Check struct layouts, ioctl numbers and uAPI design rules on every Linux ABI.",
        discussion: "Without --profile it says which known profiles the headers match. Exit 0 clean, 1 error findings "
            + "or profile mismatch, 2 bad input.")

    @OptionGroup var headerOptions: HeaderOptions
    @OptionGroup var fixtureOptions: FixturesOption
    @OptionGroup var formatOption: FormatOption
    @OptionGroup var dumpOptions: DumpProfileOptions

    @Option(name: .long, help: "ABIs to check, comma separated, or 'all' (every ABI whose asm/ the tree carries).")
    var arch: String = "all"

    @Option(name: .long,
            help: "Compare against this version profile (a name in fixtures/profiles: linux-6.12, linux-7.2, ...).")
    var profile: ProfileName?

    @Option(name: .long,
            help: ArgumentHelp("Apply a git format-patch file, an mbox of a series or a list-archive copy to the "
                + "headers first and report what it adds or changes; repeat to apply several in order."))
    var patch: [String] = []

    @Option(name: .long, help: """
        Instead of checking headers: what each listed profile changed against the one before it (oldest first, \
        comma separated, e.g. linux-6.12,linux-7.2). Exit 1 on an incompatible change between two released kernels.
        """)
    var history: String?

    @Option(name: .long,
            help: ArgumentHelp("Write a profile of the headers (LP64 = x86_64, ILP32 = i386) under this name to stdout "
                + "instead of checking."))
    var dumpProfile: String?

    func run() throws {
        let format = formatOption.format
        if let history { return try runHistory(history, format: format) }
        let abis: [String]? = arch == "all"
            ? nil : arch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let request = AbiCheck.Request(headers: try headerOptions.headerPath(), abis: abis, profile: profile?.name,
                                       patches: patch,
                                       fixtures: fixtureOptions.fixtures)
        if let name = dumpProfile {
            try dump(name: name, request: request)
            return
        }
        let report = try AbiCheck.run(request)
        print(AbiReportRenderer(report).render(format, colour: format == .text && Output.useColour))
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    func runHistory(_ list: String, format: OutputFormat) throws {
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let (store, _) = try fixtureOptions.loadStore()
        let h = try AbiHistory.run(store: store, names: names)
        let r = HistoryReportRenderer(h)
        switch format {
        case .text: print(r.text(colour: Output.useColour))
        case .json: print(Output.json(r.jsonObject()))
        default: throw InputError("--history prints text or json")
        }
        if h.exitCode != 0 { throw ExitCode(h.exitCode) }
    }

    func dump(name: String, request: AbiCheck.Request) throws {
        var tree = try HeaderTree(path: request.headers)
        if !request.patches.isEmpty { tree = try PatchMode.apply(patchFiles: request.patches, to: tree).0 }
        var o = ProfileDump.Options(name: name)
        o.title = dumpOptions.title; o.date = dumpOptions.date
        o.released = dumpOptions.released; o.notes = dumpOptions.note
        o.kernelSource = dumpOptions.kernelSource
        if let like = dumpOptions.like { o.like = try fixtureOptions.load(like).1 }
        print(try ProfileDump.json(try ProfileDump.make(tree: tree, o)))
    }
}

/// What `--dump-profile` takes besides the headers.
struct DumpProfileOptions: ParsableArguments {
    @Option(name: .long, help: """
        With --dump-profile: kernel source tree for IOCTL_OP minima, vfio minsz, unread reserved fields \
        and the selftest command.
        """)
    var kernelSource: String?

    @Option(name: .long, help: "With --dump-profile: earlier profile whose id, enum and flag roles carry over.")
    var like: String?

    @Option(name: .long, help: "With --dump-profile: the profile's title.")
    var title: String?

    @Option(name: .long, help: "With --dump-profile: the release date (YYYY-MM).")
    var date: String?

    @Flag(name: .long, help: "With --dump-profile: a released kernel (not a posted series).")
    var released = false

    @Option(name: .long, help: "With --dump-profile: a line for the profile's sources (repeatable).")
    var note: [String] = []
}

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "List the uAPI design rules, why "
        + "they matter and their source.")

    func run() throws {
        for r in Rule.all {
            print("\(r.id) (\(r.severity))\n  \(r.why)\n  source: \(r.source)\n")
        }
    }
}
