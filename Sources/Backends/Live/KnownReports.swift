import Foundation
import Layout

/// The guest kernel's log after `vm -- fuzz`: a WARNING, BUG or other report fails the run, unless
/// its call trace names a function of fixtures/kernel/known-reports.tsv (a known kernel bug, listed
/// with its reason and reproducer).
package struct FuzzKernelLog {
    package struct Known { let function: String; let reason: String; let reproducer: String }
    package struct Report { package let line: String; package let trace: [String] }

    let known: [Known]

    package init(fixtures: String, kernel: String = "7.2") throws {
        let path = fixtures + "/kernel/known-reports.tsv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InputError("cannot read \(path)")
        }
        known = text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard !line.hasPrefix("#"), f.count == 4, f[0] == kernel else { return nil }
            return Known(function: f[1], reason: f[2], reproducer: f[3])
        }
    }

    /// Each report in dmesg text: its first line and the lines up to the end of its trace.
    package static func reports(_ dmesg: String) -> [Report] {
        var out: [Report] = []
        var current: (String, [String])?
        for raw in dmesg.split(separator: "\n").map(String.init) {
            let line = raw.first == "[" ? String(raw.drop { $0 != "]" }.dropFirst()) : raw
            if KernelLog.isReport(line) {
                if let c = current { out.append(Report(line: c.0, trace: c.1)) }
                current = (line.trimmingCharacters(in: .whitespaces), [])
            } else if current != nil {
                current?.1.append(line)
                if line.contains("---[ end trace") || (current?.1.count ?? 0) > 80 {
                    out.append(Report(line: current!.0, trace: current!.1))
                    current = nil
                }
            }
        }
        if let c = current { out.append(Report(line: c.0, trace: c.1)) }
        return out
    }

    /// The known bug a report is, if any: a listed function in its trace.
    package func known(_ r: Report) -> Known? {
        known.first { k in r.trace.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix(k.function + "+") } }
    }

    /// Prints every report; false if one is not known.
    package func check(_ dmesg: String) -> Bool {
        var clean = true
        for r in FuzzKernelLog.reports(dmesg) {
            if let k = known(r) {
                print("kernel report, known kernel bug (\(k.reason); reproducer \(k.reproducer)): \(r.line)")
            } else {
                print("kernel report: \(r.line)")
                for t in r.trace.prefix(40) { print("    " + t) }
                clean = false
            }
        }
        return clean
    }
}

/// What the guest kernel still holds after every executor closed its iommufd: the selftest mock devices
/// of a context that was never released (a reference cycle through a file, say) stay on their bus.
package enum FuzzLeftovers {
    package static let marker = "UAPI-CONFORM-MOCK-DEVICES-LEFT:"

    /// False (and a line saying so) when the guest reported mock devices left; a log without the line is
    /// not judged here.
    package static func check(_ log: String) -> Bool {
        guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix(marker) }),
              let n = Int(line.dropFirst(marker.count).trimmingCharacters(in: .whitespaces)), n > 0 else {
            return true
        }
        print("kernel objects left: \(n) selftest mock devices remain after every iommufd was closed "
              + "(a context was never released)")
        return false
    }
}
