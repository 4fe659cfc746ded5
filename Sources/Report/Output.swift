import Foundation

package enum OutputFormat: String, CaseIterable, Sendable { case text, json, ktap, junit, kcidb }

/// Shared pieces of the output formats.
package enum Output {
    /// Colour only on a terminal, and never with NO_COLOR set.
    package static var useColour: Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    package static func paint(_ s: String, _ code: String,
                              _ on: Bool) -> String { on ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    package static func xml(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// KTAP descriptions and diagnostics must stay on one line.
    package static func ktapLine(_ s: String) -> String {
        s.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "#", with: "no.")
    }

    package static func json(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]),
              let s = String(data: data, encoding: .utf8) else { return "{}" }
        return s
    }
}

/// A report that can be written in each of the formats.
package protocol ReportRendering {
    func text(colour: Bool) -> String
    func jsonObject() -> [String: Any]
    func ktap() -> String
    func junit() -> String
    /// KCIDB v5 (Kcidb.swift).
    func kcidbObject() -> [String: Any]
}

extension ReportRendering {
    package func render(_ format: OutputFormat, colour: Bool = false) -> String {
        switch format {
        case .text: return text(colour: colour)
        case .json: return Output.json(jsonObject())
        case .ktap: return ktap()
        case .junit: return junit()
        case .kcidb: return Output.json(kcidbObject())
        }
    }
}
