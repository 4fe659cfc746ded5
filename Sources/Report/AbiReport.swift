import Foundation
import Layout

/// Renders `abi` results as text, JSON, KTAP or JUnit.
package struct AbiReportRenderer: ReportRendering {
    package let report: AbiCheck.Report

    package init(_ report: AbiCheck.Report) { self.report = report }

    /// Bumped when a key changes meaning or goes; fixtures/schemas/abi.schema.json.
    package static let schemaVersion = 1


    func findingObject(_ f: Finding) -> [String: Any] {
        var o: [String: Any] = ["rule": f.rule, "severity": f.severity.rawValue, "message": f.message]
        o["struct"] = f.struct ?? NSNull(); o["field"] = f.field ?? NSNull(); o["abi"] = f.abi ?? NSNull()
        o["location"] = f.location ?? NSNull()
        return o
    }

    package func jsonObject() -> [String: Any] {
        let abis: [[String: Any]] = report.layouts.map { l in
            [
                "abi": l.abi.name,
                "clang_target": l.abi.clangTriple ?? "",
                "compiler": l.abi.compilerName,
                "structs": l.structs.map { s -> [String: Any] in
                    ["name": s.name, "size": s.size, "align": s.align,
                     "fields": s.fields.map { f -> [String: Any] in
                         var o: [String: Any] = ["name": f.name, "offset": f.offset, "size": f.size]
                         if let e = f.elementSize { o["element_size"] = e; o["flexible"] = true }
                         return o
                     }]
                },
                "ioctls": l.ioctls.map { i -> [String: Any] in
                    ["name": i.name, "request": i.request, "type": i.type, "nr": i.nr, "family": i.family.rawValue,
                     "struct": i.structName ?? NSNull()]
                },
            ]
        }
        let minSizes: [[String: Any]] = report.minSizes.map { ["ioctl": $0.ioctl, "last": $0.last,
                                                               "min_size": $0.min ?? NSNull()] }
        return [
            "schema_version": AbiReportRenderer.schemaVersion,
            "headers": report.headers,
            "patch": report.patchSubjects,
            "profile": report.profile ?? NSNull(),
            "profile_matches": report.profileMatches,
            "abis": abis,
            "skipped_abis": report.skipped.map { ["abi": $0.abi.name, "reason": $0.reason] },
            "findings": report.findings.map(findingObject),
            "new_ioctl_min_sizes": minSizes,
            "summary": ["abis": report.layouts.count, "ioctls": report.scope.ioctls.count,
                        "structs": report.scope.records.count,
                        "errors": report.errors, "warnings": report.warnings,
                        "infos": report.findings.filter { $0.severity == .info }.count],
        ]
    }

    package func text(colour: Bool) -> String {
        var out: [String] = []
        out.append("uapi-conform abi: \(report.headers)")
        if !report.patchSubjects.isEmpty {
            out.append("patch: " + report.patchSubjects.joined(separator: "\n       "))
        }
        out.append("ABIs checked (\(report.layouts.count)): \(report.layouts.map(\.abi.name).joined(separator: ", "))")
        for s in report.skipped { out.append("ABI not checked: \(s.abi.name) (\(s.reason))") }
        let fam = Dictionary(grouping: report.scope.ioctls, by: \.family)
        out.append("scope: \(report.scope.ioctls.count) ioctls (\(fam[.iommufd]?.count ?? 0) iommufd, "
            + "\(fam[.vfio]?.count ?? 0) vfio), \(report.scope.records.count) structs, \(report.scope.constants.count) "
            + "constants")
        for m in report.minSizes {
            out.append("IOCTL_OP \(m.ioctl): minimum size \(m.min.map(String.init) ?? "?") (offsetofend \(m.last))")
        }
        if let p = report.profile {
            out.append("profile \(p): " + (report.profileMatches.contains(p) ? paint("matches", "32",
                colour) : paint("does not match", "31", colour)))
        }
        let matches = report.profileMatches.joined(separator: ", ")
        out.append("matching profiles: " + (report.profileMatches.isEmpty ? "none" : matches))
        if report.findings.isEmpty { out.append("findings: none") }
        for f in report.findings {
            let sev: String
            switch f.severity {
            case .error: sev = paint("error", "1;31", colour)
            case .warning: sev = paint("warning", "33", colour)
            case .info: sev = paint("info", "36", colour)
            }
            var what = [f.struct.map { "struct \($0)" },
                        f.field.map { "'\($0)'" }].compactMap { $0 }.joined(separator: " ")
            if !what.isEmpty { what += ": " }
            let abi = f.abi.map { " [\($0)]" } ?? ""
            out.append("\(f.location.map { $0 + ": " } ?? "")\(sev)[\(f.rule)]: \(what)\(f.message)\(abi)")
        }
        out.append("\(report.errors) error(s), \(report.warnings) warning(s)")
        return out.joined(separator: "\n")
    }

    func paint(_ s: String, _ code: String, _ on: Bool) -> String { Output.paint(s, code, on) }

    /// Test points: one per ABI (probed, or SKIP with the reason), one per
    /// rule (not ok when it has error findings), and the profile when given.
    func points() -> [(name: String, ok: Bool, skip: String?, diagnostics: [String])] {
        var pts: [(String, Bool, String?, [String])] = []
        for l in report.layouts {
            pts.append(("abi.\(l.abi.name).probe", true, nil, ["\(l.structs.count) structs, \(l.ioctls.count) ioctls"]))
        }
        for s in report.skipped {
            let compileFailure = !s.compilerMissing
            pts.append(("abi.\(s.abi.name).probe", !compileFailure, compileFailure ? nil : s.reason,
                        compileFailure ? [s.reason] : []))
        }
        for rule in Rule.all where rule.id != "profile-mismatch" {
            let fs = report.findings.filter { $0.rule == rule.id }
            let errors = fs.filter { $0.severity == .error }
            pts.append(("rule.\(rule.id)", errors.isEmpty, nil, fs.map { "\($0.severity.rawValue): "
                + "\($0.struct ?? "")\($0.field.map { "." + $0 } ?? "") \($0.message)" }))
        }
        if let p = report.profile {
            let ms = report.findings.filter { $0.rule == "profile-mismatch" }
            pts.append(("profile.\(p)", ms.isEmpty, nil, ms.map(\.message)))
        }
        return pts
    }

    package func ktap() -> String {
        let pts = points()
        var out = ["KTAP version 1", "1..\(pts.count)"]
        for (i, p) in pts.enumerated() {
            for d in p.diagnostics { out.append("# " + Output.ktapLine(d)) }
            var line = "\(p.ok ? "ok" : "not ok") \(i + 1) \(p.name)"
            if let s = p.skip { line += " # SKIP " + Output.ktapLine(s) }
            out.append(line)
        }
        let failed = pts.filter { !$0.ok }.count, skipped = pts.filter { $0.skip != nil }.count
        out.append("# Totals: pass:\(pts.count - failed - skipped) fail:\(failed) xfail:0 xpass:0 "
            + "skip:\(skipped) error:0")
        return out.joined(separator: "\n")
    }

    /// The header tree is named by the profiles it matches (the one given
    /// with --profile first), or "unmatched".
    package func kcidbObject() -> [String: Any] {
        let matched = report.profile.map { [$0] } ?? report.profileMatches
        let name = matched.isEmpty ? "unmatched" : matched.joined(separator: "+")
        var subject = Kcidb.Subject(name: name, kind: "abi", profile: report.profile ?? matched.first ?? "none",
                                    comment: "uapi-conform abi on \(report.headers)", architecture: nil)
        subject.misc = ["headers": report.headers, "profile_matches": report.profileMatches,
                        "abis": report.layouts.map(\.abi.name), "patch": report.patchSubjects]
        let tests = points().map { p in
            Kcidb.Test(path: p.name, status: p.skip != nil ? .SKIP : p.ok ? .PASS : .FAIL,
                       excerpt: p.skip ?? p.diagnostics.joined(separator: "\n"),
                       misc: ["findings": p.diagnostics.count])
        }
        return Kcidb.document(subject, tests: tests, started: Date())
    }

    package func junit() -> String {
        let cases = points().map { p -> JUnit.TestCase in
            let parts = p.name.split(separator: ".", maxSplits: 1)
            var c = JUnit.TestCase(classname: String(parts[0]), name: String(parts.last ?? ""))
            c.skipped = p.skip
            if !p.ok {
                c.failure = p.diagnostics.first ?? "failed"
                c.failureText = p.diagnostics.joined(separator: "\n")
            } else if !p.diagnostics.isEmpty && p.skip == nil {
                c.systemOut = p.diagnostics.joined(separator: "\n")
            }
            return c
        }
        return JUnit.document(name: "uapi-conform abi", suite: "abi", cases: cases, seconds: 0)
    }
}
