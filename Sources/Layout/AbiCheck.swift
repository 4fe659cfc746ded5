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
        package var skipped: [(abi: ABI, reason: String)]
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
        let fixtures = req.fixtures ?? ProfileStore.defaultFixtures()
        let store: ProfileStore? = try fixtures.map { try ProfileStore(directory: $0 + "/profiles") }
        if req.profile != nil && store == nil {
            throw InputError("no fixtures/profiles folder found; pass --fixtures DIR or set UAPI_CONFORM_FIXTURES")
        }
        if let p = req.profile { _ = try store!.resolved(p) }   // unknown profile is bad input, before any work

        let baseScope = UapiScope(headers: try tree.parse())
        var scope = baseScope
        var probeTree = tree
        var subjects: [String] = []
        var minSizes: [(String, String, Int?)] = []
        var onlyStructs: Set<String>? = nil
        var onlyIoctls: Set<String>? = nil
        var onlyMacros: Set<String>? = nil
        var findings: [Finding] = []
        var applied: AppliedPatch?

        if !req.patches.isEmpty {
            let (patched, info) = try PatchMode.apply(patchFiles: req.patches, to: tree)
            applied = info
            subjects = info.subjects
            probeTree = patched
            let headers = try patched.parse()
            let baseIoctls = Set(baseScope.headers.flatMap { $0.macros.filter(\.isIoctlDefinition).map(\.name) })
            let vfioHeaders = headers.filter { $0.file.hasSuffix("vfio.h") }
            let newVfio = Set(vfioHeaders.flatMap { $0.macros.filter(\.isIoctlDefinition).map(\.name) })
                .subtracting(baseIoctls)
            scope = UapiScope(headers: headers, extraVfioIoctls: newVfio)
            onlyMacros = DesignRules.definedNames(scope.headers)
                .subtracting(DesignRules.definedNames(baseScope.headers))
        }

        let result = try LayoutProbe(tree: probeTree, scope: scope).run(abis: req.abis)
        guard !result.layouts.isEmpty else {
            let why = result.skipped.map { "\($0.abi.name): \($0.reason)" }.joined(separator: "; ")
            throw InputError("no ABI could be checked (\(why))")
        }
        if let applied {
            let base = try LayoutProbe(tree: tree, scope: baseScope).run(abis: result.layouts.map(\.abi.name))
            let compat = Compatibility(base: (baseScope, base.layouts), patched: (scope, result.layouts))
            let newIoctls = compat.newIoctls
            onlyIoctls = newIoctls
            let newStructs = scope.ioctls.filter { newIoctls.contains($0.name) }.compactMap(\.structName)
            onlyStructs = compat.touchedStructs.union(newStructs)
            findings += compat.findings()
            if let ref = result.layouts.first(where: { $0.abi.name == "x86_64" }) ?? result.layouts.first {
                for op in applied.ioctlOps {
                    minSizes.append((op.ioctl, op.last, ref.layout(of: op.structName)?.offsetOfEnd(op.last)))
                }
            }
        }

        for s in result.skipped where s.abi.clangTriple != nil {
            findings.append(Finding(rule: "header-does-not-compile", severity: .error, abi: s.abi.name,
                                    message: s.reason))
        }
        findings += DesignRules(scope: scope, layouts: result.layouts, rejected: result.rejected,
                                onlyStructs: onlyStructs, onlyMacros: onlyMacros).findings()
        if let store { findings += ProfileCheck.numberReuse(layouts: result.layouts, store: store, only: onlyIoctls) }

        var matches: [String] = []
        if let store {
            for name in store.names {
                let p = try store.resolved(name)
                let m = ProfileCheck.mismatches(p, scope: scope, layouts: result.layouts)
                if m.isEmpty { matches.append(name) }
                if name == req.profile { findings += m }
            }
        }
        // Errors first, then by place in the header.
        func place(_ f: Finding) -> (String, Int) {
            let parts = (f.location ?? "").split(separator: ":")
            return (parts.first.map(String.init) ?? "", parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
        }
        findings = findings.enumerated().sorted { a, b in
            let (pa, pb) = (place(a.element), place(b.element))
            return (a.element.severity, pa.0, pa.1, a.offset) < (b.element.severity, pb.0, pb.1, b.offset)
        }.map(\.element)
        return Report(headers: tree.root, patchSubjects: subjects, layouts: result.layouts, skipped: result.skipped,
                      scope: scope, profile: req.profile, profileMatches: matches, findings: findings,
                      minSizes: minSizes)
    }
}
