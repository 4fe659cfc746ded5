import Foundation

/// An include tree holding `linux/iommufd.h` (and usually `linux/vfio.h`):
/// Debian's multiarch `/usr/include`, an unpacked linux-libc-dev, or
/// `make headers_install` output.
package struct HeaderTree: Sendable {
    package static let iommufdHeader = "linux/iommufd.h"
    package static let vfioHeader = "linux/vfio.h"

    package let root: String
    /// Header text by path relative to `root`, possibly replaced by a patch.
    package var overrides: [String: String] = [:]

    package init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw InputError("header folder \(path) does not exist")
        }
        let candidates = [path, path + "/include", path + "/usr/include"]
        let hasHeader = { (d: String) in FileManager.default.fileExists(atPath: d + "/" + HeaderTree.iommufdHeader) }
        guard let found = candidates.first(where: hasHeader) else {
            throw InputError("\(path) has no \(HeaderTree.iommufdHeader); pass the include folder of a header tree "
                + "(make headers_install output or /usr/include)")
        }
        root = (found as NSString).standardizingPath
    }

    /// iommufd.h is 60 KB; a uAPI header past this is not one (and would
    /// cost the parser and the compiler gigabytes).
    package static let maxHeaderBytes = 4 << 20

    package func text(of file: String) throws -> String? {
        if let o = overrides[file] { return o }
        let p = root + "/" + file
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        let size = (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0
        guard size <= HeaderTree.maxHeaderBytes else {
            let cap = HeaderTree.maxHeaderBytes >> 20
            throw InputError("\(p) is \(size >> 20) MiB; a uAPI header is not over \(cap) MiB")
        }
        guard let data = FileManager.default.contents(atPath: p), let s = String(data: data, encoding: .utf8) else {
            throw InputError("cannot read \(p) as UTF-8 text")
        }
        return s
    }

    package var uapiFiles: [String] {
        [HeaderTree.iommufdHeader, HeaderTree.vfioHeader].filter {
            overrides[$0] != nil || FileManager.default.fileExists(atPath: root + "/" + $0)
        }
    }

    /// ABIs this tree can be compiled for, each with the extra include
    /// folder that supplies its `asm/`.
    package func availableABIs() -> [(abi: ABI, asmInclude: String?)] {
        let fm = FileManager.default
        var out: [(ABI, String?)] = []
        for abi in ABI.all {
            if let dir = abi.asmDirs.first(where: { fm.fileExists(atPath: "\(root)/\($0)/asm/types.h") }) {
                out.append((abi, "\(root)/\(dir)"))
            }
        }
        if out.isEmpty, fm.fileExists(atPath: root + "/asm/types.h") {
            // headers_install output: one bare asm/ folder. Tell its family by a
            // file only that architecture installs.
            if let fam = ABI.familySignatures.first(where: { fm.fileExists(atPath: root + "/" + $0.file) })?.family {
                out = ABI.all.filter { $0.family == fam }.map { ($0, nil) }
            }
        }
        return out
    }

    package func parse() throws -> [HeaderDecls] {
        try uapiFiles.map { file in
            guard let text = try text(of: file) else { throw InputError("\(root)/\(file) is missing") }
            return try HeaderParser.parse(text: text, file: file)
        }
    }
}
