import Foundation

/// KernelCI's database format (KCIDB I/O schema v5.0): one checkout and one
/// build naming the kernel under test, one test object per case. The
/// kernel's identity is its release on a live kernel, the profile on the
/// simulator or for a header tree. `kcidb-io` (PyPI) validates it in tests.
package enum Kcidb {
    package static let origin = "uapi_conform"
    package static let version: [String: Int] = ["major": 5, "minor": 0]
    /// log_excerpt's limit in the schema.
    static let excerptLimit = 16384

    package enum Status: String, Sendable { case PASS, FAIL, SKIP }

    /// What was tested: `name` identifies the kernel (release or profile),
    /// `kind` what ran on it (`abi`, or the run's backend).
    package struct Subject {
        package var name: String
        package var kind: String
        package var profile: String
        package var comment: String
        package var architecture: String?
        package var misc: [String: Any] = [:]
    }

    package struct Test {
        package var path: String
        package var status: Status
        package var excerpt: String
        package var misc: [String: Any]
    }

    /// `a.b.c` with every character the schema's path pattern refuses made `_`.
    package static func path(_ id: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        let parts = id.split(separator: ".", omittingEmptySubsequences: false).map { part -> String in
            let s = String(part.map { allowed.contains($0) ? $0 : "_" })
            return s.isEmpty ? "_" : s
        }
        return parts.joined(separator: ".")
    }

    static func timestamp(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }

    package static func document(_ subject: Subject, tests: [Test], started: Date) -> [String: Any] {
        let checkoutID = "\(origin):\(subject.name)"
        let buildID = "\(checkoutID):\(subject.kind):\(subject.profile)"
        var checkout: [String: Any] = ["id": checkoutID, "origin": origin, "tree_name": subject.name,
                                       "comment": subject.comment, "start_time": timestamp(started)]
        checkout["misc"] = ["profile": subject.profile, "kind": subject.kind]
        var build: [String: Any] = ["id": buildID, "origin": origin, "checkout_id": checkoutID,
                                    "config_name": subject.profile, "start_time": timestamp(started),
                                    "misc": subject.misc]
        if let a = subject.architecture { build["architecture"] = a }
        var seen: [String: Int] = [:]
        let objects: [[String: Any]] = tests.map { t in
            let p = path(t.path)
            seen[p, default: 0] += 1
            let n = seen[p]!
            var o: [String: Any] = ["id": "\(buildID):\(p)" + (n > 1 ? "#\(n)" : ""), "origin": origin,
                                    "build_id": buildID, "path": p, "status": t.status.rawValue, "misc": t.misc]
            if !t.excerpt.isEmpty { o["log_excerpt"] = String(t.excerpt.prefix(excerptLimit)) }
            return o
        }
        return ["version": version, "checkouts": [checkout], "builds": [build], "tests": objects]
    }
}
