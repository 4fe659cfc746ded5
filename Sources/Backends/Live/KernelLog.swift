import CShims
import Foundation

/// The kernel's own verdict on a live run. Case boundaries are marked in
/// its log (/dev/kmsg), the log is read after every case, and a WARNING,
/// BUG, KASAN, lockdep, list-corruption or other report is put on the case
/// that was running; kmemleak is scanned at the end. A run that made the
/// kernel complain fails, whatever the cases returned.
package final class KernelLog {
    private let fd: Int32

    /// nil when the log cannot be read and written (not root, no /dev/kmsg).
    package init?(path: String = "/dev/kmsg") {
        let r = uc_open(path, O_RDWR | O_NONBLOCK)
        guard r.ret >= 0 else { return nil }
        fd = Int32(r.ret)
        lseek(fd, 0, SEEK_END)  // only what happens from now on
    }

    deinit { _ = uc_close(fd) }

    /// A line in the kernel log, so a report can be placed between two cases.
    package func mark(_ text: String) {
        let line = "<5>uapi-conform: \(text)\n"
        _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    /// The kernel's messages since the last call.
    func records() -> [String] {
        var out: [String] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        let size = buf.count
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, size) }
            if n < 0 && errno == EPIPE { continue }  // records were overwritten; read on
            if n <= 0 { break }
            let record = String(decoding: buf[..<n], as: UTF8.self)
            // "prio,seq,usec,flags;message\n"
            if let semi = record.firstIndex(of: ";") {
                out.append(String(record[record.index(after: semi)...]).trimmingCharacters(in: .newlines))
            }
        }
        return out
    }

    /// Reports among the messages since the last call, one line each.
    package func reports() -> [String] {
        records().filter(KernelLog.isReport)
    }

    static let reportStarts = ["WARNING:", "BUG:", "BUG ", "KASAN", "general protection fault", "Oops",
                               "Kernel panic", "kernel BUG", "list_add corruption", "list_del corruption",
                               "UBSAN:", "refcount_t:", "INFO: possible", "INFO: task", "kmemleak:", "Unable to handle",
                               "Out of memory:", "rcu: INFO:"]

    package static func isReport(_ message: String) -> Bool {
        let m = message.drop { $0 == " " }
        return reportStarts.contains { m.hasPrefix($0) }
    }

    /// kmemleak's unreferenced objects after a scan (each its first line and
    /// the first frame of its backtrace), or nil when kmemleak is not there.
    package static func kmemleak(path: String = "/sys/kernel/debug/kmemleak") -> [String]? {
        guard FileManager.default.isWritableFile(atPath: path) else { return nil }
        // Objects younger than 5 s are never reported: let the run's settle.
        Thread.sleep(forTimeInterval: 5.5)
        for _ in 0..<2 { try? "scan".write(toFile: path, atomically: false, encoding: .utf8) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var out: [String] = []
        let lines = text.split(separator: "\n").map(String.init)
        for (i, l) in lines.enumerated() where l.hasPrefix("unreferenced object") {
            let frame = lines[(i + 1)...].first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("[<") }
            out.append(l + (frame.map { " at " + $0.trimmingCharacters(in: .whitespaces) } ?? ""))
        }
        return out
    }

    /// Forgets what kmemleak found before the run (boot-time objects).
    package static func clearKmemleak(path: String = "/sys/kernel/debug/kmemleak") {
        try? "clear".write(toFile: path, atomically: false, encoding: .utf8)
    }
}
