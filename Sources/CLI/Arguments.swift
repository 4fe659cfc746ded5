import ArgumentParser
import Foundation
import Layout
import Report

/// `--backend`: where the cases run.
enum BackendChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// The simulated kernel.
    case sim
    /// This kernel's /dev/iommu.
    case live
    /// Both, with every disagreement a failure.
    case simLive = "sim+live"

    var usesSim: Bool { self != .live }
    var usesLive: Bool { self != .sim }
}

extension OutputFormat: ExpressibleByArgument {}

/// `--profile`: a profile name, checked against the fixtures' profiles
/// before the command runs (`FixturesOption.check`).
struct ProfileName: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    /// The profile commands use when none is given.
    static let `default` = ProfileName(checked: "tsm-v5")

    let name: String

    private init(checked name: String) { self.name = name }

    /// Any file-name-like word but `auto` (only `run` and `vm` take it).
    init?(argument: String) {
        guard !argument.isEmpty, argument != RunProfile.auto.description,
              argument.allSatisfy({ $0.isLetter || $0.isNumber || "._-+".contains($0) }) else { return nil }
        name = argument
    }

    var description: String { name }
    var defaultValueDescription: String { name }

    /// The profiles of the default fixtures, for help and error messages.
    static var allValueStrings: [String] {
        guard let dir = ProfileStore.defaultFixtures() else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/profiles")) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }
}

/// `run --profile` and `vm --profile`: a profile name, or `auto` (the TSM
/// profile the live kernel's probe matches).
enum RunProfile: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    case auto
    case named(ProfileName)

    init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        guard let p = ProfileName(argument: argument) else { return nil }
        self = .named(p)
    }

    var description: String {
        switch self {
        case .auto: return "auto"
        case .named(let p): return p.name
        }
    }
    var defaultValueDescription: String { description }
    static var allValueStrings: [String] { ProfileName.allValueStrings + ["auto"] }
}

extension FixturesOption {
    /// Bad input unless the fixtures have profile `p`.
    func check(_ p: ProfileName?) throws {
        if let p { _ = try load(p.name) }
    }

    func check(_ p: RunProfile?) throws {
        if case .named(let name)? = p { try check(name) }
    }
}
