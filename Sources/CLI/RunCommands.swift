import ArgumentParser
import Cases
import Foundation
import Layout
import Report
import SimulatedBackend

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the behavioural case catalogue (or a case file) on a backend.",
        discussion: "Exit 0 when nothing failed (skips are fine), 1 when a case failed, 2 on bad input.")

    @Option(name: .long, help: "Backend: sim (the simulated kernel). The live backend is not part of this build yet.")
    var backend: String = "sim"

    @Option(name: .long, help: "Kernel version the cases expect and the simulator follows: linux-7.2, tsm-v2, tsm-v5, tsm-post-v5.")
    var profile: String = "tsm-v5"

    @Option(name: .long, help: "Only cases whose id matches this glob (`*` wildcards) or contains this text.")
    var filter: String?

    @Option(name: .long, help: "Run the cases in this JSON file instead of the generated catalogue (format: README).")
    var cases: String?

    @Option(name: .long, help: "Remove one rule from the simulator (mutation check; see `list --mutations`).")
    var simMutation: String?

    @OptionGroup var fixtureOptions: FixturesOption
    @OptionGroup var formatOption: FormatOption

    func run() throws {
        let fmt = try formatOption.outputFormat()
        let (_, p) = try fixtureOptions.load(profile)
        guard backend == "sim" else {
            throw InputError(backend == "live" ? "the live backend is not part of this build yet; use --backend sim"
                                               : "unknown backend '\(backend)'; use sim")
        }
        var mutations: Set<SimMutation> = []
        if let m = simMutation {
            guard let mm = SimMutation(rawValue: m) else {
                throw InputError("unknown mutation '\(m)'; known: \(SimMutation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            mutations.insert(mm)
        }
        let all = try cases.map { try CaseFile.load(path: $0, profiles: [p]) } ?? Catalogue.cases(for: p)
        let selected = CaseRunner.select(all, filter: filter)
        if selected.isEmpty { throw InputError("no case matches '\(filter ?? "")' in profile \(p.name)") }
        let kernel = SimulatedKernel(profile: p, mutations: mutations)
        let runner = CaseRunner(backend: kernel, profile: p)
        let progress = isatty(STDERR_FILENO) == 1 && fmt == .text
        let clock = ContinuousClock()
        let start = clock.now
        let prepared = runner.prepare(selected)
        var results: [CaseResult] = []
        results.reserveCapacity(prepared.count)
        for (i, c) in prepared.enumerated() {
            results.append(runner.run(c))
            if progress && (i % 500 == 0 || i == prepared.count - 1) {
                FileHandle.standardError.write(Data("\r[\(i + 1)/\(prepared.count)] \(c.source.id)\u{1B}[K".utf8))
            }
        }
        if progress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let d = clock.now - start
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        let r = RunReportRenderer(backend: kernel.name, profile: p.name, results: results, elapsed: seconds)
        print(r.render(fmt, colour: fmt == .text && Output.useColour))
        if r.exitCode != 0 { throw ExitCode(r.exitCode) }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List case ids of a profile's catalogue.")

    @Option(name: .long, help: "Profile whose catalogue to list.")
    var profile: String = "tsm-v5"

    @Option(name: .long, help: "Only ids matching this glob or containing this text.")
    var filter: String?

    @OptionGroup var fixtureOptions: FixturesOption

    @Flag(name: .long, help: "List the simulator's mutations instead.")
    var mutations = false

    func run() throws {
        if mutations {
            for m in SimMutation.allCases { print(m.rawValue) }
            return
        }
        let (_, p) = try fixtureOptions.load(profile)
        let selected = CaseRunner.select(Catalogue.cases(for: p), filter: filter)
        for c in selected { print("\(c.id)\t\(c.ioctl)") }
        FileHandle.standardError.write(Data("\(selected.count) cases in \(p.name)\n".utf8))
    }
}

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Show what a case sends, what it expects on each profile, and why.")

    @Argument(help: "Case id, e.g. iommufd.vdevice_tsm_req.reserved_nonzero")
    var id: String

    @Option(name: .long, help: "Profile to render the case for.")
    var profile: String = "tsm-v5"

    @OptionGroup var fixtureOptions: FixturesOption

    func run() throws {
        let (store, p) = try fixtureOptions.load(profile)
        let others = try store.names.filter { $0 != p.name }.map { try store.resolved($0) }
        print(try Explain.render(id: id, profile: p, others: others))
    }
}

struct BenchSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-sim", abstract: "Cases per second of the full catalogue on the simulated kernel (used by make bench).",
                                                    shouldDisplay: false)

    @Option(name: .long) var profile: String = "tsm-v5"
    @OptionGroup var fixtureOptions: FixturesOption

    func run() throws {
        let (_, p) = try fixtureOptions.load(profile)
        let b = CaseRunner.benchmark(backend: SimulatedKernel(profile: p), profile: p)
        let perRun = b.seconds / Double(max(b.cases, 1)) * Double(Catalogue.cases(for: p).count)
        print(String(format: "simulated catalogue (%@, %d cases a run): %.0f cases/s, whole run %.3f s", p.name,
                     Catalogue.cases(for: p).count, b.perSecond, perRun))
    }
}
