import ArgumentParser
import Cases
import Foundation
import Layout
import LiveBackend
import Report
import SimulatedBackend

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the behavioural case catalogue (or a case file) on a backend.",
        discussion: "Exit 0 when nothing failed (skips are fine), 1 when a case failed, 2 on bad input.")

    @Option(name: .long,
            help: ArgumentHelp("Backend: sim (simulated kernel), live (this kernel's /dev/iommu), or sim+live "
                + "(both, reporting every disagreement)."))
    var backend: BackendChoice = .sim

    @Flag(name: .long,
          help: "Live: allow cases that open vfio device nodes (they bind, reset or power-manage the device).")
    var allowDestructive = false

    @Option(name: .long, help: ArgumentHelp("Kernel version the cases expect and the simulator follows: a profile of "
            + "fixtures/profiles, or auto (live: the TSM profile `probe` matches, linux-7.2 when none)."))
    var profile: RunProfile = .named(.default)

    @Option(name: .long, help: "Also write the JSON report to this file (whatever --format prints).")
    var json: String?

    @Option(name: .long, help: "A line about the run as a whole, printed in every format (repeatable).")
    var note: [String] = []

    @Flag(name: .long, help: ArgumentHelp("Live: run each passing case (but those on a vfio device) again with its "
        + "checked call's 1st, 2nd, ... allocation failed (the task's fail-nth), until none is reached; each must "
        + "give its outcome or an error, leave nothing behind and make no kernel report."))
    var failNth = false

    @Option(name: .long, help: "Only cases whose id matches this glob (`*` wildcards) or contains this text.")
    var filter: String?

    @Option(name: .long, help: "Run the cases in this JSON file instead of the generated catalogue (format: README).")
    var cases: String?

    @Option(name: .long, help: "Remove one rule from the simulator (mutation check; see `list --mutations`).")
    var simMutation: String?

    @OptionGroup var fixtureOptions: FixturesOption
    @OptionGroup var formatOption: FormatOption

    func validate() throws { try fixtureOptions.check(profile) }

    func run() throws {
        let fmt = formatOption.format
        let livePrb = backend.usesLive ? KernelProbe.run(profiles: try fixtureOptions.loadAll()) : nil
        let (store, p) = try fixtureOptions.load(try resolvedProfile(livePrb))
        let all = try cases.map { try CaseFile.load(path: $0, profiles: [p], knownProfiles: Set(store.names)) }
            ?? Catalogue.cases(for: p, fixtures: fixtureOptions.directory())
        let selected = CaseRunner.select(all, filter: filter)
        if selected.isEmpty { throw InputError("no case matches '\(filter ?? "")' in profile \(p.name)") }
        let sim = try backend.usesSim
            ? CaseRunner(backend: SimulatedKernel(profile: p, mutations: try mutations()), profile: p) : nil
        let lane = try Lane(sim: sim, probe: livePrb, profile: p, allowDestructive: allowDestructive, failNth: failNth)
        let progress = isatty(STDERR_FILENO) == 1 && fmt == .text
        let clock = ContinuousClock()
        let start = clock.now
        let (results, disagreements) = lane.run(selected, progress: progress)
        var r = RunReportRenderer(backend: backend.rawValue, profile: p.name, results: results,
                                  elapsed: (clock.now - start).seconds)
        r.disagreements = disagreements
        r.notes = note
        if let checks = lane.checks, failNth { r.notes.append("fail-nth: \(checks.injectedRuns) injected runs") }
        if lane.live != nil, let probe = livePrb { r.kernel = (probe.release, probe.machine) }
        if profile == .auto { r.notes.insert("profile auto: the kernel matches \(p.name)", at: 0) }
        if let json {
            do { try r.render(.json).write(toFile: json, atomically: true, encoding: .utf8) } catch {
                throw InputError("cannot write \(json): \(error.localizedDescription)")
            }
        }
        print(r.render(fmt, colour: fmt == .text && Output.useColour))
        if r.exitCode != 0 { throw ExitCode(r.exitCode) }
    }

    func mutations() throws -> Set<SimMutation> { try SimMutation.parse(simMutation) }
}

extension SimMutation {
    /// `--sim-mutation NAME`: none, or the one named; bad input otherwise.
    static func parse(_ name: String?) throws -> Set<SimMutation> {
        guard let m = name else { return [] }
        guard let mm = SimMutation(rawValue: m) else {
            throw InputError("unknown mutation '\(m)'; known: "
                + "\(SimMutation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return [mm]
    }
}

/// The backends one run uses: the simulator, the live kernel, or both.
struct Lane {
    let sim: CaseRunner?
    let live: (runner: CaseRunner, backend: LiveBackend)?
    /// The kernel's log after every live case, kmemleak at the end, and the fail-nth sweep.
    let checks: LiveChecks?
    let failNth: Bool
    let profile: Profile
    /// Why a live run has no kernel to run on (every case skips with it).
    let noKernel: String?

    init(sim: CaseRunner?, probe: KernelProbe?, profile: Profile, allowDestructive: Bool, failNth: Bool) throws {
        self.sim = sim
        self.profile = profile
        self.failNth = failNth
        var live: (runner: CaseRunner, backend: LiveBackend)?
        var noKernel: String?
        if let probe {
            if !probe.iommuNode || probe.openError != nil {
                noKernel = probe.openError.map { "cannot open /dev/iommu: \($0.name)" } ?? "no /dev/iommu"
                FileHandle.standardError.write(Data("uapi-conform: \(probe.summaryLine)\n".utf8))
            } else {
                let lb = LiveBackend(probe: probe, allowDevices: allowDestructive)
                live = (CaseRunner(backend: lb, profile: profile), lb)
            }
        }
        self.live = live
        self.noKernel = noKernel
        checks = live == nil ? nil : try LiveChecks(failNth: failNth)
    }

    typealias Disagreement = (id: String, sim: String, live: String)

    /// Every case on every backend of the lane, in order, and the live run's leftover check.
    func run(_ selected: [ConformanceCase], progress: Bool) -> ([CaseResult], [Disagreement]) {
        let simPrepared = sim?.prepare(selected) ?? []
        let livePrepared = live?.runner.prepare(selected) ?? []
        var results: [CaseResult] = []
        var disagreements: [Disagreement] = []
        results.reserveCapacity(selected.count)
        for i in selected.indices {
            let s = sim.map { $0.run(simPrepared[i]) }
            var r: CaseResult
            if let live {
                checks?.before(selected[i].id)
                r = live.runner.run(livePrepared[i])
                checks?.after(&r)
                // A case the live kernel ran must see what the simulator saw
                // (a new fd's number is the kernel's choice: OK(*) compares success only).
                if let s, r.status != .skip, s.status != .skip, !Lane.agree(s, r, expected: simPrepared[i].expected) {
                    disagreements.append((r.id, s.got ?? "-", r.got ?? "-"))
                    r.status = .fail
                    r.reason = "sim/live disagree: sim \(s.got ?? "-"), live \(r.got ?? "-")"
                        + (r.reason.isEmpty ? "" : "; \(r.reason)")
                }
            } else if let noKernel {
                r = CaseResult(id: selected[i].id, status: .skip, got: nil,
                               expected: selected[i].expected(for: profile.name).description, reason: noKernel)
            } else if let s {
                r = s
            } else {
                continue  // no backend at all: a lane always has one
            }
            results.append(r)
            // Not on a vfio device: a failed allocation in vfio-pci's enable path corrupts ACPI's
            // reference counts in 7.2 and the device's close then oopses (found by this sweep).
            if failNth, let live, let checks, r.status == .pass, !selected[i].requirements.pciDevice {
                results.append(checks.sweep(livePrepared[i], on: live.runner))
            }
            if progress && (i % 500 == 0 || i == selected.count - 1) {
                FileHandle.standardError.write(Data("\r[\(i + 1)/\(selected.count)] \(r.id)\u{1B}[K".utf8))
            }
        }
        if progress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if let checks { results += checks.finish() }
        // Every descriptor the live run opened must be closed again.
        if let live, !live.backend.openDescriptors.isEmpty {
            results.append(CaseResult(id: "live.no_leftovers", status: .fail, got: nil, expected: "no open descriptors",
                                      reason: "left open: \(live.backend.openDescriptors.sorted())"))
        } else if live != nil {
            results.append(CaseResult(id: "live.no_leftovers", status: .pass, got: "none",
                                      expected: "no open descriptors",
                                      reason: ""))
        }
        return (results, disagreements)
    }

    static func agree(_ sim: CaseResult, _ live: CaseResult, expected: Outcome) -> Bool {
        if sim.got == live.got { return true }
        guard case .okAny = expected, let s = sim.got, let l = live.got else { return false }
        return s.hasPrefix("OK") && l.hasPrefix("OK")
    }
}

extension RunCommand {
    /// `auto`: the TSM profile the live kernel's probe matches, or linux-7.2
    /// when it answers no TSM ioctl.
    func resolvedProfile(_ probe: KernelProbe?) throws -> String {
        guard case .auto = profile else { return profile.description }
        guard let probe else { throw InputError("--profile auto needs a live kernel: use --backend live or sim+live") }
        guard probe.iommuNode, probe.openError == nil else { throw InputError("--profile auto: \(probe.summaryLine)") }
        switch probe.tsmProfiles.count {
        case 0: return "linux-7.2"
        case 1: return probe.tsmProfiles[0]
        default:
            throw InputError("--profile auto: the kernel matches "
                + "\(probe.tsmProfiles.joined(separator: " and ")); name one")
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list",
                                                    abstract: "List case ids of a profile's catalogue.")

    @Option(name: .long, help: "Profile whose catalogue to list.")
    var profile: ProfileName = .default

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
        let (_, p) = try fixtureOptions.load(profile.name)
        let selected = CaseRunner.select(try Catalogue.cases(for: p, fixtures: fixtureOptions.directory()),
                                         filter: filter)
        for c in selected { print("\(c.id)\t\(c.ioctl)") }
        FileHandle.standardError.write(Data("\(selected.count) cases in \(p.name)\n".utf8))
    }
}

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Show what a case sends, what it "
        + "expects on each profile, and why.")

    @Argument(help: "Case id, e.g. iommufd.vdevice_tsm_req.reserved_nonzero")
    var id: String

    @Option(name: .long, help: "Profile to render the case for.")
    var profile: ProfileName = .default

    @OptionGroup var fixtureOptions: FixturesOption

    func run() throws {
        let (store, p) = try fixtureOptions.load(profile.name)
        let others = try store.names.filter { $0 != p.name }.map { try store.resolved($0) }
        print(try Explain.render(id: id, profile: p, others: others, fixtures: fixtureOptions.directory()))
    }
}

struct BenchSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-sim", abstract: "Cases per second of the full "
        + "catalogue on the simulated kernel (used by make bench).",
                                                    shouldDisplay: false)

    @Option(name: .long) var profile: ProfileName = .default
    @OptionGroup var fixtureOptions: FixturesOption

    func run() throws {
        let (_, p) = try fixtureOptions.load(profile.name)
        let fixtures = try fixtureOptions.directory()
        let count = try Catalogue.cases(for: p, fixtures: fixtures).count
        // Five trials of 20 catalogue runs each; this machine's timing varies
        // by a third between runs, so best and median are both printed.
        let rates = try (0..<5).map { _ in
            try CaseRunner.benchmark(backend: SimulatedKernel(profile: p), profile: p, fixtures: fixtures).perSecond
        }.sorted()
        let best = rates.last ?? 0, median = rates[rates.count / 2]
        print(String(format: "simulated catalogue (%@, %d cases a run): best %.0f cases/s, median %.0f cases/s; whole "
            + "run %.3f s at the median",
                     p.name, count, best, median, Double(count) / median))
    }
}

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "What this kernel offers: release, iommufd ioctls present (ENOTTY probing with harmless inputs), "
            + "selftest mock, TSM version, vfio devices.",
        discussion: "On a kernel without /dev/iommu it says so in one line and exits 0.")

    @OptionGroup var fixtureOptions: FixturesOption
    @OptionGroup var formatOption: FormatOption

    func run() throws {
        let fmt = formatOption.format
        let probe = KernelProbe.run(profiles: try fixtureOptions.loadAll())
        switch fmt {
        case .json: print(Output.json(probe.jsonObject()))
        case .text: print(probe.text())
        case .ktap, .junit, .kcidb: throw InputError("probe prints text or json")
        }
    }
}
