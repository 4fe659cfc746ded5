import ArgumentParser
import Foundation
import Cases
import Layout
import LiveBackend

/// `vm -- fuzz --backend sim+live ...`: the generator and the simulator run
/// here, natively; the guest runs only `uapi-fuzz-exec` on the lane kernel,
/// serving a folder of the shared `--out`. Under TCG that is what makes the
/// differential fast: the guest executes ioctls, not Swift.
struct VmFuzz {
    let fuzz: FuzzCommand
    let mailbox: String
    let executor: String
    /// One executor per guest vCPU (run-vm.sh boots two); one with --vfio, as vfio0 is bound by one at a time.
    let executors: Int
    var mailboxes: [String] { (0..<executors).map { mailbox + "/\($0)" } }

    /// The split run, when the guest command is a sim+live fuzz; bad fuzz arguments are bad input now.
    init?(_ plan: VmPlan) throws {
        let args = plan.command.runArguments
        guard args.first == "fuzz", !args.contains("--executor"),
              zip(args, args.dropFirst()).contains(where: { $0 == ("--backend", "sim+live") })
                || args.contains("--backend=sim+live") else { return nil }
        mailbox = plan.outDir + "/fuzz-exec"
        executor = (plan.me as NSString).deletingLastPathComponent + "/uapi-fuzz-exec"
        guard FileManager.default.isExecutableFile(atPath: executor) else {
            throw InputError("vm -- fuzz: \(executor) is missing (swift build makes it beside uapi-conform)")
        }
        executors = args.contains("--vfio") ? 1 : 2
        do {
            let base = mailbox
            fuzz = try FuzzCommand.parse(Array(args.dropFirst())
                                         + (0..<executors).flatMap { ["--executor", base + "/\($0)"] })
        } catch {
            throw InputError("fuzz: " + FuzzCommand.message(for: error))
        }
    }

    /// The guest's command: one executor per mailbox, each stopping after 120 s without a request, then
    /// the kernel's log and how many selftest mock devices are left once every iommufd is closed; the
    /// status is 0 only if every executor stopped cleanly.
    var guestCommand: [String] {
        let script = #"exe=$0 log=$1; shift; pids=; for m; do "$exe" "$m" 120 & pids="$pids $!"; done; "#
            + #"s=0; for p in $pids; do wait $p; s=$(( s | $? )); done; "#
            + #"{ dmesg; printf '\#(FuzzLeftovers.marker) %s\n' "$(ls /sys/bus/iommufd_mock/devices | wc -l)"; } "#
            + #">"$log" 2>&1; exit $s"#
        return ["/bin/sh", "-c", script, executor, kernelLog] + mailboxes
    }

    /// The guest kernel's log at the end, written by the guest.
    var kernelLog: String { mailbox + "/kernel.log" }

    /// Boots the guest in the background and fuzzes against it; the VM's status, or the fuzz's error. The
    /// kernel's log is checked whenever the guest left it, findings or not.
    func run(_ plan: VmPlan, image: String) throws -> Int32 {
        try? FileManager.default.removeItem(atPath: mailbox)
        do {
            for m in mailboxes { try FileManager.default.createDirectory(atPath: m, withIntermediateDirectories: true) }
        } catch {
            throw InputError("cannot create \(mailbox): \(error.localizedDescription)")
        }
        let vm = Background { try plan.boot(image, guest: guestCommand) }
        var failure: Error?
        do {
            try fuzz.execute(alive: { !vm.finished }, helloTimeout: Double(plan.command.timeout))
        } catch {
            failure = error
        }
        let status = vm.wait()
        let dmesg = try? String(contentsOfFile: kernelLog, encoding: .utf8)
        // The log stays beside the run's other output; the mailbox goes.
        if let dmesg { try? dmesg.write(toFile: plan.outDir + "/kernel.log", atomically: true, encoding: .utf8) }
        try? FileManager.default.removeItem(atPath: mailbox)
        let clean = try dmesg.map { log in
            let reports = try FuzzKernelLog(fixtures: plan.fixtures).check(log), left = FuzzLeftovers.check(log)
            return reports && left  // both print what they found
        }
        if let failure { throw failure }
        if status != 0 {
            FileHandle.standardError.write(Data("vm -- fuzz: the guest's executor ended with status \(status)\n".utf8))
            return status
        }
        guard let clean else { throw InputError("vm -- fuzz: the guest left no kernel log (\(kernelLog))") }
        return clean ? 0 : 1
    }
}

/// A throwing job on its own thread; `wait` gives its status (125 if it threw).
final class Background: @unchecked Sendable {
    private let lock = NSCondition()
    private var status: Int32?

    init(_ job: @escaping @Sendable () throws -> Int32) {
        let thread = Thread { [self] in
            let s = (try? job()) ?? 125
            lock.lock()
            status = s
            lock.broadcast()
            lock.unlock()
        }
        thread.start()
    }

    var finished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return status != nil
    }

    func wait() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        while status == nil { lock.wait() }
        return status ?? 125
    }
}
