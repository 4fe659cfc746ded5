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

    @Option(name: .long, help: "ABIs to check, comma separated, or 'all' (every ABI whose asm/ the tree carries).")
    var arch: String = "all"

    @Option(name: .long, help: "Compare against this version profile (one of fixtures/profiles).")
    var profile: ProfileName?

    @Option(name: .long,
            help: ArgumentHelp("Apply a git format-patch file, an mbox of a series or a list-archive copy to the "
                + "headers first and report what it adds or changes; repeat to apply several in order."))
    var patch: [String] = []

    @Option(name: .long,
            help: ArgumentHelp("Write a profile of the headers (LP64 = x86_64, ILP32 = i386) under this name to stdout "
                + "instead of checking."))
    var dumpProfile: String?

    func run() throws {
        let format = formatOption.format
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

    func dump(name: String, request: AbiCheck.Request) throws {
        var tree = try HeaderTree(path: request.headers)
        if !request.patches.isEmpty { tree = try PatchMode.apply(patchFiles: request.patches, to: tree).0 }
        let scope = UapiScope(headers: try tree.parse())
        let r = try LayoutProbe(tree: tree, scope: scope).run(abis: ["x86_64", "i386"])
        guard let lp64 = r.layouts.first(where: { $0.abi.name == "x86_64" }) else {
            throw InputError("the tree has no x86_64 asm/ to build an LP64 profile from")
        }
        let p = ProfileBuilder.build(name: name, title: name, released: false, scope: scope, lp64: lp64,
                                     ilp32: r.layouts.first { $0.abi.name == "i386" })
        let enc = JSONEncoder()
        enc.keyEncodingStrategy = .convertToSnakeCase
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try enc.encode(p), as: UTF8.self))
    }
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
