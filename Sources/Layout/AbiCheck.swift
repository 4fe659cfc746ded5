import Foundation

/// `uapi-conform abi`: probe a header tree (optionally with a patch applied),
/// run the design rules, compare with version profiles.
package struct AbiCheck {
    package struct Request: Sendable {
        package var headers: String
        package var abis: [String]?
        package var profile: String?
        /// Patch files applied in order (a prerequisite, then the series).
        package var patches: [String]
        package var fixtures: String?

        package init(headers: String, abis: [String]? = nil, profile: String? = nil, patches: [String] = [],
                     fixtures: String? = nil) {
            self.headers = headers; self.abis = abis; self.profile = profile
            self.patches = patches; self.fixtures = fixtures
        }
    }

    package struct Report: Sendable {
        package var headers: String
        package var patchSubjects: [String]
        package var layouts: [ABILayout]
        package var skipped: [LayoutProbe.Skipped]
        package var scope: UapiScope
        package var profile: String?
        package var profileMatches: [String]
        package var findings: [Finding]
        /// Minimum sizes the patch's IOCTL_OP entries give new ioctls.
        package var minSizes: [(ioctl: String, last: String, min: Int?)]

        package var errors: Int { findings.filter { $0.severity == .error }.count }
        package var warnings: Int { findings.filter { $0.severity == .warning }.count }
        /// 0 clean, 1 error findings or profile mismatch.
        package var exitCode: Int32 { errors > 0 ? 1 : 0 }
    }

    package static func run(_ req: Request) throws -> Report {
        let tree = try HeaderTree(path: req.headers)
        let store = try profileStore(req)
        let baseScope = UapiScope(headers: try tree.parse())
        let patch = try Patched(req.patches, tree: tree, baseScope: baseScope)
        guard patch.scope.ioctls.contains(where: { $0.family == .iommufd }) else {
            throw InputError("\(tree.root)/\(HeaderTree.iommufdHeader) declares no iommufd ioctl: nothing to check")
        }
        let result = try LayoutProbe(tree: patch.tree, scope: patch.scope).run(abis: req.abis)
        guard !result.layouts.isEmpty else {
            let why = result.skipped.map { "\($0.abi.name): \($0.reason)" }.joined(separator: "; ")
            throw InputError("no ABI could be checked (\(why))")
        }
        var findings: [Finding] = []
        var change: Change?
        if let applied = patch.applied {
            let c = try Change(applied, tree: tree, baseScope: baseScope, scope: patch.scope, probed: result)
            findings += c.findings
            change = c
        }
        for s in result.skipped where !s.compilerMissing {
            findings.append(Finding(rule: "header-does-not-compile", severity: .error, abi: s.abi.name,
                                    message: s.reason))
        }
        findings += DesignRules(scope: patch.scope, layouts: result.layouts, rejected: result.rejected,
                                onlyStructs: change?.structs, onlyMacros: patch.newMacros).findings()
        var matches: [String] = []
        if let store {
            findings += ProfileCheck.numberReuse(layouts: result.layouts, store: store, only: change?.ioctls)
            for name in store.names {
                let m = ProfileCheck.mismatches(try store.resolved(name), scope: patch.scope, layouts: result.layouts)
                if m.isEmpty { matches.append(name) }
                if name == req.profile { findings += m }
            }
        }
        return Report(headers: tree.root, patchSubjects: patch.applied?.subjects ?? [], layouts: result.layouts,
                      skipped: result.skipped, scope: patch.scope, profile: req.profile, profileMatches: matches,
                      findings: ordered(findings), minSizes: change?.minSizes ?? [])
    }

    /// The profiles, when there are fixtures; a `--profile` needs them and must be known.
    static func profileStore(_ req: Request) throws -> ProfileStore? {
        let fixtures = req.fixtures ?? ProfileStore.defaultFixtures()
        let store: ProfileStore? = try fixtures.map { try ProfileStore(directory: $0 + "/profiles") }
        guard let p = req.profile else { return store }
        guard let store else {
            throw InputError("no fixtures/profiles folder found; pass --fixtures DIR or set UAPI_CONFORM_FIXTURES")
        }
        _ = try store.resolved(p)   // unknown profile is bad input, before any work
        return store
    }

    /// The tree to probe: the headers, or the headers with the patches applied.
    struct Patched {
        var tree: HeaderTree
        var scope: UapiScope
        var applied: AppliedPatch?
        /// Macro and enum constant names the patches add (kernel-only-macro looks at these only).
        var newMacros: Set<String>?

        init(_ patches: [String], tree: HeaderTree, baseScope: UapiScope) throws {
            self.tree = tree
            scope = baseScope
            guard !patches.isEmpty else { return }
            let (patched, info) = try PatchMode.apply(patchFiles: patches, to: tree)
            applied = info
            self.tree = patched
            let headers = try patched.parse()
            let baseIoctls = Set(baseScope.headers.flatMap { $0.macros.filter(\.isIoctlDefinition).map(\.name) })
            let vfioHeaders = headers.filter { $0.file.hasSuffix("vfio.h") }
            let newVfio = Set(vfioHeaders.flatMap { $0.macros.filter(\.isIoctlDefinition).map(\.name) })
                .subtracting(baseIoctls)
            scope = UapiScope(headers: headers, extraVfioIoctls: newVfio)
            newMacros = DesignRules.definedNames(scope.headers)
                .subtracting(DesignRules.definedNames(baseScope.headers))
        }
    }

    /// What the patches change against the base headers: compatibility
    /// findings, the structs and ioctls the other rules look at, and the new
    /// ioctls' minimum sizes.
    struct Change {
        var findings: [Finding]
        var structs: Set<String>
        var ioctls: Set<String>
        var minSizes: [(ioctl: String, last: String, min: Int?)] = []

        init(_ applied: AppliedPatch, tree: HeaderTree, baseScope: UapiScope, scope: UapiScope,
             probed: LayoutProbe.Result) throws {
            let base = try LayoutProbe(tree: tree, scope: baseScope).run(abis: probed.layouts.map(\.abi.name))
            let compat = Compatibility(base: (baseScope, base.layouts), patched: (scope, probed.layouts))
            let newIoctls = compat.newIoctls
            ioctls = newIoctls
            let newStructs = scope.ioctls.filter { newIoctls.contains($0.name) }.compactMap(\.structName)
            structs = compat.touchedStructs.union(newStructs)
            findings = compat.findings()
            if let ref = probed.layouts.first(where: { $0.abi.name == "x86_64" }) ?? probed.layouts.first {
                for op in applied.ioctlOps {
                    minSizes.append((op.ioctl, op.last, ref.layout(of: op.structName)?.offsetOfEnd(op.last)))
                }
            }
        }
    }

    /// Errors first, then by place in the header.
    static func ordered(_ findings: [Finding]) -> [Finding] {
        func place(_ f: Finding) -> (String, Int) {
            let parts = (f.location ?? "").split(separator: ":")
            return (parts.first.map(String.init) ?? "", parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
        }
        return findings.enumerated().sorted { a, b in
            let (pa, pb) = (place(a.element), place(b.element))
            return (a.element.severity, pa.0, pa.1, a.offset) < (b.element.severity, pb.0, pb.1, b.offset)
        }.map(\.element)
    }
}
