import ArgumentParser
import Cases
import Foundation
import Fuzz
import Layout
import LiveBackend
import SimulatedBackend

/// `fuzz --backend`: what the simulator is judged against.
enum FuzzBackend: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// The simulator alone: crashes, hangs, broken invariants.
    case sim
    /// The simulator against this kernel's /dev/iommu.
    case simLive = "sim+live"
    /// The simulator against a second, unmutated simulator standing in for the kernel.
    case simSim = "sim+sim"
}

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Differential fuzzing: generated ioctl sequences on the simulator, judged against a kernel.",
        discussion: "Each disagreement is minimised and written to DIR/findings.json as cases `run --cases` "
            + "replays. Exit 0 without findings, 1 with, 2 on bad input.")

    @Option(name: .long, help: "sim (the simulator alone), sim+live (against this kernel) or sim+sim.")
    var backend: FuzzBackend = .sim

    @Option(name: .long, help: "Profile whose layouts the calls come from and the simulator follows.")
    var profile: ProfileName = ProfileName(argument: "linux-7.2")!

    @Option(name: .long, help: "Stop after this many seconds.")
    var seconds: Double?

    @Option(name: .long, help: "Stop after this many generated calls (default 10000 without --seconds).")
    var calls: Int?

    @Option(name: .long, help: "Seed (decimal or 0x hex); default: from the clock, printed.")
    var seed: String?

    @Option(name: .long, help: "Folder for findings.json.")
    var out: String = "out/fuzz"

    @Option(name: .long, help: "Remove one rule from the simulator under test (see `list --mutations`).")
    var simMutation: String?

    @Flag(name: .long, help: "Also fuzz the vfio cdev vfio0 (live: opens, binds and resets it).")
    var vfio = false

    @Option(name: .long, help: "Longest sequence, past the first 8 calls.")
    var maxLength: Int = 40

    @Option(name: .long, help: ArgumentHelp(
        "sim+live: the kernel is the one an uapi-fuzz-exec serving DIR runs on (`vm -- fuzz` starts one per "
            + "guest vCPU, so only the ioctls run under TCG); repeat for several, which share each batch.",
        valueName: "DIR"))
    var executor: [String] = []

    @OptionGroup var fixtureOptions: FixturesOption

    func validate() throws {
        try fixtureOptions.check(profile)
        if seconds != nil && calls != nil { throw InputError("give --seconds or --calls, not both") }
        if let s = seconds, !(s > 0) { throw InputError("--seconds must be positive") }
        if let c = calls, c <= 0 { throw InputError("--calls must be positive") }
        if !(0...1000).contains(maxLength) { throw InputError("--max-length must be 0 to 1000") }
        _ = try seedValue()
        _ = try mutation()
        if !executor.isEmpty && backend != .simLive { throw InputError("--executor needs --backend sim+live") }
        if executor.count > 1 && vfio {
            throw InputError("--vfio takes one --executor (vfio0 is bound by one at a time)")
        }
    }

    func seedValue() throws -> UInt64 {
        guard let seed else { return UInt64(Date().timeIntervalSince1970 * 1000) ^ UInt64(getpid()) << 40 }
        let v = seed.hasPrefix("0x") ? UInt64(seed.dropFirst(2), radix: 16) : UInt64(seed)
        guard let v else { throw InputError("--seed must be a whole number (decimal or 0x hex), not '\(seed)'") }
        return v
    }

    func mutation() throws -> Set<SimMutation> { try SimMutation.parse(simMutation) }

    func run() throws { try execute(alive: { true }, helloTimeout: 30) }

    /// The run; `alive` says whether an --executor's host (the VM) still runs, `helloTimeout` how long
    /// the executor may take to come up.
    func execute(alive: @escaping () -> Bool, helloTimeout: Double) throws {
        let (_, p) = try fixtureOptions.load(profile.name)
        let seed = try seedValue()
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw InputError("cannot create \(out): \(error.localizedDescription)")
        }
        let subject = FuzzSide(backend: try SimulatedKernel(profile: p, mutations: try mutation()), label: "sim")
        var limits = FuzzLimits(calls: calls, seconds: seconds)
        limits.sequenceLength = maxLength
        let (vocabulary, reference) = try references(p, alive: alive, hello: helloTimeout, limits: &limits)
        defer { reference?.finish(vocabulary) }
        let engine = FuzzEngine(vocabulary, profile: p.name, subject: subject, reference: reference)
        print("fuzz: --backend \(backend.rawValue) --profile \(p.name) --seed \(seed)"
              + (simMutation.map { " --sim-mutation \($0)" } ?? ""))
        var findings: [FuzzFinding] = []
        let started = Date()
        // Each finding is printed and saved as it comes: a run that fails later (an executor gone) keeps it.
        let stats = try engine.run(seed: seed, limits: limits) { f in
            findings.append(f)
            print("finding \(findings.count): sequence \(f.sequence), \(f.disagreement) "
                  + "(\(f.originalLength) calls minimised to \(f.calls.count); "
                  + String(format: "%.1f s into the run)", Date().timeIntervalSince(started)))
            print(f.caseJSON.rendered())
            try? write(findings)
        }
        try write(findings)
        print(String(format: "fuzz: %d calls in %.2f s (%.0f calls/s), %d sequences, %d probe ioctls, %d findings",
                     stats.calls, stats.seconds, stats.callsPerSecond, stats.sequences, stats.probes, findings.count)
              + (executor.isEmpty ? "" : String(format: "; %.2f s waiting for the executors", stats.waiting))
              + (stats.explainedStops == 0 ? ""
                 : "; \(stats.explainedStops) sequences judged up to a known difference"))
        if !findings.isEmpty {
            print("replay: uapi-conform run --backend \(backend == .sim ? "sim" : "sim+live") --profile \(p.name) "
                  + "--cases \(out)/findings.json")
            throw ExitCode(1)
        }
    }

    /// The vocabulary and what the simulator is judged against: nothing, a second simulator, this
    /// kernel, or the executor's kernel (probed for the selftest mock first; batched).
    func references(_ p: Profile, alive: @escaping () -> Bool, hello: Double, limits: inout FuzzLimits) throws
        -> (Vocabulary, FuzzReference?) {
        switch backend {
        case .sim: return (try Vocabulary(profile: p, vfio: vfio), nil)
        case .simSim:
            let ref = FuzzSide(backend: try SimulatedKernel(profile: p), label: "reference sim")
            return (try Vocabulary(profile: p, vfio: vfio), LocalReference(ref))
        case .simLive:
            guard executor.isEmpty else {
                let shards = try executor.map { try RemoteReference(directory: $0, helloTimeout: hello, alive: alive) }
                let full = try Vocabulary(profile: p, mock: true, vfio: vfio)
                let mock = try shards[0].hasMock(full)
                limits.batchCalls = 20_000
                return (mock ? full : try Vocabulary(profile: p, mock: false, vfio: vfio), ShardedReference(shards))
            }
            let probe = KernelProbe.run(profiles: [p])
            guard probe.iommuNode, probe.openError == nil else { throw InputError("fuzz: \(probe.summaryLine)") }
            let ref = FuzzSide(backend: LiveBackend(probe: probe, allowDevices: vfio), label: "kernel")
            return (try Vocabulary(profile: p, mock: probe.mockAvailable, vfio: vfio), LocalReference(ref))
        }
    }

    func write(_ findings: [FuzzFinding]) throws {
        let text = JSONValue.array(findings.map(\.caseJSON)).rendered() + "\n"
        do {
            try text.write(toFile: out + "/findings.json", atomically: true, encoding: .utf8)
        } catch {
            throw InputError("cannot write \(out)/findings.json: \(error.localizedDescription)")
        }
    }
}
