import Cases
import Layout
import Foundation
import LiveBackend

/// What a live run checks besides the cases' own outcomes: the kernel's log
/// after every case (a report fails the case that was running), kmemleak at
/// the end, and with --fail-nth every case again with each of its
/// allocations failed in turn.
final class LiveChecks {
    let log: KernelLog?
    let failNth: FailNth?
    private var reported: [(id: String, lines: [String])] = []
    /// Injected runs whose odd outcome is understood, with why: the one place
    /// such exceptions live.
    static let explained: [String: String] = [
        "iommufd.ioas_copy.flags.flags.bit16": "flag bit 16 is CONFIG_IOMMUFD_TEST's syzkaller hook, which converts "
            + "the iova through an object lookup; a failed lookup leaves the iova as it is, "
            + "and the plain copy succeeds",
    ]
    private(set) var injectedRuns = 0

    /// `failNth`: also run the fault-injection sweep (needs CONFIG_FAULT_INJECTION).
    init(failNth wanted: Bool) throws {
        log = KernelLog()
        if wanted {
            FailNth.configure()
            guard let f = FailNth() else {
                throw InputError("--fail-nth needs a kernel with CONFIG_FAULT_INJECTION (/proc/thread-self/fail-nth)")
            }
            failNth = f
        } else {
            failNth = nil
        }
        if log != nil { KernelLog.clearKmemleak() }
    }

    func before(_ id: String) { log?.mark("case \(id)") }

    /// Fails `r` when the kernel reported something while it ran.
    func after(_ r: inout CaseResult) {
        guard let lines = log?.reports(), !lines.isEmpty else { return }
        reported.append((r.id, lines))
        r.status = .fail
        r.reason = "kernel report: \(lines[0])" + (lines.count > 1 ? " (+\(lines.count - 1) more)" : "")
            + (r.reason.isEmpty ? "" : "; \(r.reason)")
    }

    /// Runs the case again with its checked call's nth fault site failed,
    /// n = 1, 2, … until a run reaches no nth site. Each run must give the
    /// normal outcome or an error (the injected one: ENOMEM from an
    /// allocation, ENOENT, EINVAL or EFAULT from iommufd's own
    /// CONFIG_IOMMUFD_TEST fault points), or for a read/write a short count,
    /// leave nothing behind and make no kernel report; a success where the
    /// case fails is a bug.
    func sweep(_ p: PreparedCase, on runner: CaseRunner, limit: Int = 400) -> CaseResult {
        let id = "fail_nth." + p.source.id
        guard let f = failNth else {
            return CaseResult(id: id, status: .skip, got: nil, expected: "", reason: "no fail-nth")
        }
        var n = 0, injected = false
        runner.afterCheckedCall = { injected = f.disarm() }
        defer { runner.beforeCheckedCall = nil; runner.afterCheckedCall = nil }
        repeat {
            n += 1
            let k = n
            runner.beforeCheckedCall = { f.arm(k) }
            before("\(id) nth \(k)")
            var r = runner.run(p)
            after(&r)
            if injected { injectedRuns += 1 }
            let error = (r.got?.hasPrefix("E") ?? false) || (r.got?.hasPrefix("errno") ?? false)
            let clean = !["teardown", "kernel report", "setup"].contains { r.reason.contains($0) }
            let short = p.source.call.fileIO != nil && LiveChecks.isShort(r.got, of: r.expected)
            if r.status != .pass && !(injected && (error || short) && clean) {
                if injected, clean, let why = LiveChecks.explained[p.source.id] {
                    return CaseResult(id: id, status: .pass, got: r.got, expected: r.expected,
                                      reason: "with allocation \(k) failed: got \(r.got ?? "-") (explained: \(why))")
                }
                return CaseResult(id: id, status: .fail, got: r.got, expected: r.expected,
                                  reason: "with allocation \(k) failed: "
                                      + (r.reason.isEmpty ? "got \(r.got ?? "-")" : r.reason))
            }
        } while injected && n < limit
        let what = injected ? "stopped at the limit of \(limit) fault sites" : "\(n - 1) fault site(s) injected"
        return CaseResult(id: id, status: injected ? .fail : .pass, got: "OK", expected: "normal outcome or an error",
                          reason: what)
    }

    /// A read or write that stopped early (OK(m), m < n): what an allocation
    /// failing after the first record leaves, not a wrong success.
    static func isShort(_ got: String?, of expected: String) -> Bool {
        func count(_ s: String?) -> Int? {
            guard let s, s.hasPrefix("OK("), s.hasSuffix(")") else { return nil }
            return Int(s.dropFirst(3).dropLast())
        }
        guard let m = count(got), let n = count(expected) else { return false }
        return m < n
    }

    /// The run's kernel verdict: every report, and kmemleak's leaks.
    func finish() -> [CaseResult] {
        guard log != nil else { return [] }
        var out: [CaseResult] = []
        let later = log?.reports() ?? []
        if !later.isEmpty { reported.append(("after the last case", later)) }
        let lines = reported.map { "\($0.id): \($0.lines[0])" }
        out.append(CaseResult(id: "live.kernel_log", status: lines.isEmpty ? .pass : .fail,
                              got: lines.isEmpty ? "none" : "reports", expected: "no kernel report",
                              reason: lines.joined(separator: "; ")))
        if let leaks = KernelLog.kmemleak() {
            out.append(CaseResult(id: "live.kmemleak", status: leaks.isEmpty ? .pass : .fail,
                                  got: leaks.isEmpty ? "none" : "leaks", expected: "no leak",
                                  reason: leaks.prefix(5).joined(separator: "; ")
                                    + (leaks.count > 5 ? "; +\(leaks.count - 5) more" : "")))
        }
        return out
    }
}
