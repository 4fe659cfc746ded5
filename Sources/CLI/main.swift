import Foundation
import Layout

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".deps/linux-libc-dev/usr/include"
do {
    let tree = try HeaderTree(path: path)
    let scope = UapiScope(headers: try tree.parse())
    let r = try LayoutProbe(tree: tree, scope: scope).run(abis: ["x86_64", "i386"])
    let p = ProfileBuilder.build(name: "linux-7.2", title: "Linux 7.2 (Debian linux-libc-dev 7.2.13-1)", released: true, scope: scope,
        lp64: r.layouts.first { $0.abi.name == "x86_64" }!, ilp32: r.layouts.first { $0.abi.name == "i386" })
    let enc = JSONEncoder(); enc.keyEncodingStrategy = .convertToSnakeCase; enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    FileHandle.standardOutput.write(try enc.encode(p))
} catch { print("error:", error) }
