/// `abi --history A,B,C`: what each version changed against the one before
/// it, per struct, ioctl and constant, from the version profiles alone.
/// Layout changes come from Compatibility (the patch-mode judge), run on
/// layouts built from the profiles' LP64 (x86_64) and ILP32 (i386) shapes.
package struct AbiHistory: Sendable {
    package enum Kind: String, Sendable, CaseIterable {
        case added, removed, grown
        case changedIncompatibly = "changed-incompatibly"
        case ioctlNumberReused = "ioctl-number-reused"
        case flagBitReused = "flag-bit-reused"
        case enumValueReused = "enum-value-reused"
    }

    package enum Item: String, Sendable { case `struct`, ioctl, constant }

    package struct Entry: Sendable, Hashable {
        package var kind: Kind
        package var item: Item
        package var name: String
        /// The member, flag or enum field concerned, when there is one.
        package var field: String?
        /// ABIs it shows on; empty when on both compared.
        package var abis: [String]
        package var detail: String
        /// What an old binary would notice. A removed constant breaks only
        /// the build of programs that name it.
        package var incompatible: Bool
    }

    package struct Version: Sendable {
        package var name: String
        package var title: String
        package var released: Bool
    }

    package struct Step: Sendable {
        package var from: Version
        package var to: Version
        package var entries: [Entry]
        /// Both ends are released kernels: an incompatible change here is a regression.
        package var betweenReleases: Bool { from.released && to.released }
        package var incompatible: [Entry] { entries.filter(\.incompatible) }
    }

    package var versions: [Version]
    package var steps: [Step]

    /// 1 when two released kernels in a row differ incompatibly.
    package var exitCode: Int32 { steps.contains { $0.betweenReleases && !$0.incompatible.isEmpty } ? 1 : 0 }

    package static func run(store: ProfileStore, names: [String]) throws -> AbiHistory {
        guard names.count >= 2 else {
            throw InputError("--history needs at least two profiles, oldest first (e.g. linux-6.12,linux-7.2)")
        }
        if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw InputError("--history names \(dup) twice")
        }
        let profiles = try names.map { try store.resolved($0) }
        var steps: [Step] = []
        for (a, b) in zip(profiles, profiles.dropFirst()) {
            steps.append(Step(from: version(a), to: version(b), entries: HistoryStep(from: a, to: b).entries()))
        }
        return AbiHistory(versions: profiles.map(version), steps: steps)
    }

    static func version(_ p: Profile) -> Version { Version(name: p.name, title: p.title, released: p.released) }
}
