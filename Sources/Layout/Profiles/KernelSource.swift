import Foundation

/// The facts a profile takes from a kernel source tree rather than its
/// installed headers: iommufd's dispatch table (`IOCTL_OP` minima and
/// handlers), the vfio handlers' `minsz`, which must-be-zero fields a
/// handler never reads, and the selftest header.
package struct KernelSource: Sendable {
    package static let dispatchFile = IoctlOps.dispatchFile
    package static let iommufdDir = "drivers/iommu/iommufd"
    package static let vfioDir = "drivers/vfio"
    package static let testHeader = "drivers/iommu/iommufd/iommufd_test.h"

    package let root: String

    /// `root` is a kernel tree (or a folder holding one `linux-*` tree).
    package init(path: String) throws {
        let fm = FileManager.default
        var candidates = [path]
        let inner = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasPrefix("linux") }.sorted()
        candidates += inner.map { path + "/" + $0 }
        let found = candidates.first { fm.fileExists(atPath: $0 + "/" + KernelSource.dispatchFile) }
        guard let found else {
            throw InputError("\(path) is no kernel source tree: it has no \(KernelSource.dispatchFile)")
        }
        root = (found as NSString).standardizingPath
    }

    func read(_ relative: String) -> String? {
        guard let d = FileManager.default.contents(atPath: root + "/" + relative) else { return nil }
        return String(decoding: d, as: UTF8.self)
    }

    /// C files under `dir`, sorted, relative to the root.
    func cFiles(under dir: String) -> [String] {
        let e = FileManager.default.enumerator(atPath: root + "/" + dir)
        var out: [String] = []
        while let f = e?.nextObject() as? String { if f.hasSuffix(".c") { out.append(dir + "/" + f) } }
        return out.sorted()
    }

    /// Every entry of iommufd's dispatch table.
    package func ioctlOps() throws -> [IoctlOpEntry] {
        guard let text = read(KernelSource.dispatchFile) else {
            throw InputError("cannot read \(root)/\(KernelSource.dispatchFile)")
        }
        let flat = text.replacingOccurrences(of: "\\\n", with: " ").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\t", with: " ")
        return IoctlOps.entries(in: flat)
    }

    /// Where a vfio handler sets `minsz = offsetofend(struct S, m)`: the file's
    /// text and the match, vfio-pci's handler first, then the core's, then any
    /// other driver's.
    func vfioMinszSite(of structName: String) -> (text: String, match: Range<String.Index>)? {
        let pattern = #"minsz\s*=\s*offsetofend\(\s*struct\s+"# + structName + #"\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)"#
        let files = cFiles(under: KernelSource.vfioDir)
        let pci = files.filter { $0.hasPrefix("drivers/vfio/pci/") }
        let core = files.filter { !$0.dropFirst(KernelSource.vfioDir.count + 1).contains("/") }
        let ordered = pci + core + files.filter { !pci.contains($0) && !core.contains($0) }
        for f in ordered {
            guard let text = read(f), let r = text.range(of: pattern, options: .regularExpression) else { continue }
            return (text, r)
        }
        return nil
    }

    /// The member a vfio handler's `minsz = offsetofend(struct S, m)` names.
    package func vfioMinimumMember(of structName: String) -> String? {
        guard let site = vfioMinszSite(of: structName) else { return nil }
        let member = site.text[site.match].split(separator: ",").last ?? ""
        return member.trimmingCharacters(in: CharacterSet(charactersIn: " \t\n)"))
    }

    /// Whether that handler uses copy_struct_from_user (a non-zero tail past
    /// sizeof is E2BIG) rather than copy_from_user of minsz (never read).
    package func vfioChecksTail(of structName: String) -> Bool? {
        guard let (text, r) = vfioMinszSite(of: structName) else { return nil }
        let start = text[..<r.lowerBound].range(of: "\n{", options: .backwards)?.upperBound ?? text.startIndex
        let rest = text[start...]
        return rest[..<(rest.range(of: "\n}")?.lowerBound ?? rest.endIndex)].contains("copy_struct_from_user(")
    }

    /// The body of `int fn(struct iommufd_ucmd *ucmd)` in iommufd's sources.
    package func handlerBody(_ fn: String) -> String? {
        let head = #"(?m)^(static )?int "# + fn + #"\(struct iommufd_ucmd \*ucmd\)\s*\{"#
        for f in cFiles(under: KernelSource.iommufdDir) {
            guard let text = read(f), let r = text.range(of: head, options: .regularExpression) else { continue }
            let rest = text[r.upperBound...]
            let end = rest.range(of: "\n}")?.lowerBound ?? rest.endIndex
            return String(rest[..<end])
        }
        return nil
    }

    /// Whether iommufd's dirty read passes the bitmap walk's error on
    /// (`ret = iova_bitmap_for_each(`) rather than dropping it.
    package func dirtyReadNeedsMappedRange() -> Bool? {
        functionBody("iommu_read_and_clear_dirty").map { $0.contains("= iova_bitmap_for_each(") }
    }

    /// The body of the C function `fn` (any return type, the signature over
    /// several lines) in the C files under `dir`.
    package func functionBody(_ fn: String, under dir: String = KernelSource.iommufdDir) -> String? {
        let head = #"(?m)^(?:[A-Za-z_][A-Za-z0-9_ \*]*[ \*])?"# + fn + #"\([^;{]*\)\s*\{"#
        for f in cFiles(under: dir) {
            guard let text = read(f), let r = text.range(of: head, options: .regularExpression) else { continue }
            let rest = text[r.upperBound...]
            return String(rest[..<(rest.range(of: "\n}")?.lowerBound ?? rest.endIndex)])
        }
        return nil
    }

    /// The constants OR-ed into a handler's accepted flags: `valid_flags = A |
    /// B;` or the first `flags & ~(A | B)` / `flags & ~A` in `fn`'s body.
    package func acceptedFlags(in fn: String) -> [String]? {
        guard let body = functionBody(fn) else { return nil }
        let forms = [#"valid_flags\s*=\s*([A-Z0-9_|\s]+);"#, #"flags\s*&\s*~\(([A-Z0-9_|\s]+)\)"#,
                     #"flags\s*&\s*~([A-Z][A-Z0-9_]*)"#]
        for form in forms {
            guard let r = body.range(of: form, options: .regularExpression) else { continue }
            let expr = body[r].drop { $0 != "=" && $0 != "~" }.dropFirst()
            let names = expr.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init)
            let constants = names.filter { $0.first?.isUppercase == true }
            if !constants.isEmpty { return constants }
        }
        return nil
    }

    /// Of `fields`, those the handler body never reads (`->field`).
    package func unread(_ fields: [String], handler: String) -> [String]? {
        guard let body = handlerBody(handler) else { return nil }
        return fields.filter { f in
            body.range(of: "->" + f + #"(?![A-Za-z0-9_])"#, options: .regularExpression) == nil
        }
    }

    /// The selftest header's text, if the tree has one.
    package var testHeaderText: String? { read(KernelSource.testHeader) }
}
