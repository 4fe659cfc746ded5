import Foundation

/// `abi --dump-profile`: a profile of a header tree, completed from the
/// kernel's source tree and an earlier profile (see ProfileCompletion).
package enum ProfileDump {
    package struct Options: Sendable {
        package var name: String
        package var title: String?
        package var date: String?
        package var released = false
        package var like: Profile?
        package var kernelSource: String?
        /// Extra `sources` lines (which package, which version).
        package var notes: [String] = []

        package init(name: String) { self.name = name }
    }

    package static func make(tree: HeaderTree, _ o: Options) throws -> Profile {
        let scope = UapiScope(headers: try tree.parse())
        let source = try o.kernelSource.map { try KernelSource(path: $0) }
        let probeTree = try withSelftest(tree, source)
        let probed = UapiScope(headers: try probeTree.parse())
        let r = try LayoutProbe(tree: probeTree, scope: probed).run(abis: ["x86_64", "i386"])
        guard let lp64 = r.layouts.first(where: { $0.abi.name == "x86_64" }) else {
            throw InputError("the tree has no x86_64 asm/ to build an LP64 profile from")
        }
        var p = ProfileBuilder.build(name: o.name, title: o.title ?? o.name, released: o.released, scope: probed,
                                     lp64: lp64, ilp32: r.layouts.first { $0.abi.name == "i386" })
        let completion = ProfileCompletion(like: o.like, source: source, scope: scope, probed: probed, lp64: lp64)
        try completion.apply(to: &p)
        addNestedSelftestFields(&p, like: o.like, tree: probeTree, scope: probed)
        p.sources = o.notes + p.sources
        p.date = o.date
        if let like = o.like { p.sources.append("id, enum and flag roles carried from \(like.name)") }
        return p
    }

    /// The tree with the source's iommufd_test.h appended to iommufd.h (its
    /// own `#include <linux/iommufd.h>` then stops at the include guard).
    static func withSelftest(_ tree: HeaderTree, _ source: KernelSource?) throws -> HeaderTree {
        guard let test = source?.testHeaderText, let base = try tree.text(of: HeaderTree.iommufdHeader) else {
            return tree
        }
        var t = tree
        t.overrides[HeaderTree.iommufdHeader] = base + "\n" + test
        return t
    }

    package static func json(_ p: Profile) throws -> String {
        let enc = JSONEncoder()
        enc.keyEncodingStrategy = .convertToSnakeCase
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try enc.encode(p), as: UTF8.self)
    }
}
