import Foundation
import Layout

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".deps/linux-libc-dev/usr/include"
do {
    let tree = try HeaderTree(path: path)
    let scope = UapiScope(headers: try tree.parse())
    let t0 = Date()
    let r = try LayoutProbe(tree: tree, scope: scope).run()
    print("abis", r.layouts.count, "skipped", r.skipped.map { "\($0.abi.name): \($0.reason)" })
    print("rejected", r.rejected.map { "\($0.entry): \($0.message)" })
    print("ioctls", scope.ioctls.map { "\($0.name)->\($0.structName ?? "-")" })
    print("structs", scope.records.count, "consts", scope.constants.count)
    if let x = r.layouts.first { for s in x.structs.prefix(200) { print(s.name, s.size, s.align, s.fields.map { "\($0.name)@\($0.offset)/\($0.size)" }.joined(separator: " ")) } }
    print("time", Date().timeIntervalSince(t0))
} catch { print("error:", error) }
