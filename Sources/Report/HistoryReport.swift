import Foundation
import Layout

/// Renders `abi --history` as text or JSON (fixtures/schemas/history.schema.json).
package struct HistoryReportRenderer {
    package let history: AbiHistory
    /// Bumped when a key changes meaning or goes.
    package static let schemaVersion = 1

    package init(_ history: AbiHistory) { self.history = history }

    func entryObject(_ e: AbiHistory.Entry) -> [String: Any] {
        ["kind": e.kind.rawValue, "item": e.item.rawValue, "name": e.name, "field": e.field ?? NSNull(),
         "abis": e.abis, "detail": e.detail, "incompatible": e.incompatible]
    }

    func counts(_ entries: [AbiHistory.Entry]) -> [String: Int] {
        var out = Dictionary(uniqueKeysWithValues: AbiHistory.Kind.allCases.map { ($0.rawValue, 0) })
        for e in entries { out[e.kind.rawValue, default: 0] += 1 }
        out["incompatible"] = entries.filter(\.incompatible).count
        return out
    }

    package func jsonObject() -> [String: Any] {
        let steps: [[String: Any]] = history.steps.map { s in
            ["from": s.from.name, "to": s.to.name, "between_releases": s.betweenReleases,
             "changes": s.entries.map(entryObject), "summary": counts(s.entries)]
        }
        let released = history.steps.filter(\.betweenReleases).flatMap(\.incompatible).count
        return [
            "schema_version": HistoryReportRenderer.schemaVersion,
            "profiles": history.versions.map { ["name": $0.name, "title": $0.title, "released": $0.released] },
            "steps": steps,
            "summary": ["steps": steps.count, "incompatible": history.steps.flatMap(\.incompatible).count,
                        "incompatible_between_releases": released],
        ]
    }

    package func text(colour: Bool) -> String {
        var out = ["uapi-conform abi --history: " + history.versions.map {
            "\($0.name) (\($0.released ? "released" : "posted"))" }.joined(separator: " → ")]
        for s in history.steps {
            out.append("")
            out.append("\(s.from.name) → \(s.to.name)\(s.betweenReleases ? " (both released)" : ""):")
            out += lines(s.entries, colour: colour)
            let bad = s.incompatible.count
            out.append("  " + (bad == 0 ? Output.paint("0 incompatible changes", "32", colour)
                                        : Output.paint("\(bad) incompatible change(s)", "1;31", colour)))
        }
        let released = history.steps.filter(\.betweenReleases).flatMap(\.incompatible).count
        out.append("")
        out.append("\(history.steps.count) step(s), \(released) incompatible change(s) between released kernels")
        return out.joined(separator: "\n")
    }

    /// One line per struct or ioctl entry; added constants in one line.
    func lines(_ entries: [AbiHistory.Entry], colour: Bool) -> [String] {
        var out: [String] = []
        let addedConstants = entries.filter { $0.kind == .added && $0.item == .constant }.map(\.name)
        for e in entries where !(e.kind == .added && e.item == .constant) {
            let label = e.incompatible ? Output.paint(e.kind.rawValue, "1;31", colour) : e.kind.rawValue
            let field = e.field.map { ".\($0)" } ?? ""
            let abis = e.abis.isEmpty ? "" : " [\(e.abis.joined(separator: ", "))]"
            out.append("  \(label) \(e.item.rawValue) \(e.name)\(field): \(e.detail)\(abis)")
        }
        if !addedConstants.isEmpty {
            out.append("  added constants (\(addedConstants.count)): \(addedConstants.joined(separator: ", "))")
        }
        return out
    }
}
