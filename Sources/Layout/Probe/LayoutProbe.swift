import Foundation

/// Asks the compiler, once per ABI, for every size, alignment, offset, ioctl
/// number and constant in scope. The probe is a generated C file whose only
/// definition is a constant array of 64-bit values; `clang --target=T -S
/// -emit-llvm` prints that array as text, so no cross toolchain, assembler or
/// linker is needed and big- and little-endian targets read the same. The
/// ABIs clang lacks (alpha, parisc, sh4) go through Debian's cross gcc `-S`
/// (GccAssembly.swift).
package struct LayoutProbe: Sendable {
    package enum Entry: Sendable, Hashable {
        case structSize(String), structAlign(String)
        case fieldOffset(String, String), fieldSize(String, String), elementSize(String, String)
        case constant(String)
        case ioctlRequest(String), ioctlType(String), ioctlNr(String), ioctlSize(String)
    }

    /// An entry the compiler refused (a macro using a kernel-only helper,
    /// say), with its first error message.
    package struct Rejected: Sendable {
        package let entry: Entry
        package let message: String
    }

    /// An ABI that could not be checked, and why: its compiler is missing
    /// (not checked), or the headers do not compile for it (a finding).
    package struct Skipped: Sendable {
        package var abi: ABI
        package var reason: String
        package var compilerMissing: Bool
    }

    package struct Result: Sendable {
        package var layouts: [ABILayout]
        package var skipped: [Skipped]
        package var rejected: [Rejected]
    }

    package let tree: HeaderTree
    package let scope: UapiScope
    package let compiler: String

    package init(tree: HeaderTree, scope: UapiScope, compiler: String? = nil) {
        self.tree = tree; self.scope = scope
        self.compiler = compiler ?? LayoutProbe.findCompiler()
    }

    package static func findCompiler() -> String {
        if let cc = ProcessInfo.processInfo.environment["UAPI_CONFORM_CLANG"], !cc.isEmpty { return cc }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + ["/opt/swift/usr/bin",
                                                                                                "/usr/bin"] {
            let p = "\(dir)/clang"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return "clang"
    }

    // MARK: plan

    static let sentinel: Int64 = 0x5543_5052  // keeps the array from ending in zeros, which LLVM folds

    package func entries() -> [Entry] {
        var out: [Entry] = []
        for r in scope.records {
            guard let name = r.name else { continue }
            let tag = "\(r.kind.rawValue) \(name)"
            out.append(.structSize(tag)); out.append(.structAlign(tag))
            for m in r.leafMembers where m.bitWidth == nil {
                guard let f = m.name else { continue }
                out.append(.fieldOffset(tag, f))
                out.append(m.isFlexibleArray ? .elementSize(tag, f) : .fieldSize(tag, f))
            }
        }
        for i in scope.ioctls {
            out += [.ioctlRequest(i.name), .ioctlType(i.name), .ioctlNr(i.name), .ioctlSize(i.name)]
        }
        for c in scope.constants where scope.ioctl(named: c.name) == nil { out.append(.constant(c.name)) }
        return out
    }

    static func expression(_ e: Entry) -> String {
        switch e {
        case .structSize(let s): return "sizeof(\(s))"
        case .structAlign(let s): return "_Alignof(\(s))"
        case .fieldOffset(let s, let f): return "__builtin_offsetof(\(s), \(f))"
        case .fieldSize(let s, let f): return "sizeof(((\(s) *)0)->\(f))"
        case .elementSize(let s, let f): return "sizeof(((\(s) *)0)->\(f)[0])"
        case .constant(let c): return "(long long)(\(c))"
        case .ioctlRequest(let i): return "(\(i))"
        case .ioctlType(let i): return "_IOC_TYPE(\(i))"
        case .ioctlNr(let i): return "_IOC_NR(\(i))"
        case .ioctlSize(let i): return "_IOC_SIZE(\(i))"
        }
    }

    /// Probe every ABI in `abis` (all the tree carries when nil).
    package func run(abis requested: [String]? = nil) throws -> Result {
        let available = tree.availableABIs()
        guard !available.isEmpty else {
            if FileManager.default.fileExists(atPath: tree.root + "/asm/types.h") {
                let marks = ABI.familySignatures.map(\.file).joined(separator: ", ")
                throw InputError("\(tree.root)/asm/ belongs to no architecture this tool knows "
                    + "(none of \(marks) is there)")
            }
            throw InputError("\(tree.root) has no asm/types.h for any known ABI (expected <triple>/asm/ or asm/)")
        }
        var chosen = available
        if let requested {
            for n in requested where ABI.named(n) == nil {
                throw InputError("unknown ABI '\(n)'; known: \(ABI.all.map(\.name).joined(separator: ", "))")
            }
            chosen = available.filter { requested.contains($0.abi.name) }
            guard !chosen.isEmpty else {
                throw InputError("\(tree.root) carries no asm/ for \(requested.joined(separator: ", "))")
            }
        }
        // One ABI first settles which entries the compiler refuses; those are
        // header facts, the same everywhere, so the others start without them.
        // A compiler stopped by a limit is stopped by the headers: no point in
        // running the other ABIs into it too.
        var all = entries()
        var firstResult: (Int, Compiled)?
        if let pivot = chosen.first(where: { $0.abi.clangTriple != nil })
            ?? chosen.first(where: { commandLine($0.abi, asmInclude: $0.asmInclude) != nil }) {
            let c = compile(abi: pivot.abi, asmInclude: pivot.asmInclude, entries: all)
            if c.exhausted, let why = c.fatal { throw InputError("\(tree.root): \(why)") }
            let refused = Set(c.rejected.map(\.entry))
            all = all.filter { !refused.contains($0) }
            if let i = chosen.firstIndex(where: { $0.abi == pivot.abi }) { firstResult = (i, c) }
        }
        let results = ResultBox(count: chosen.count)
        if let (i, c) = firstResult { results.set(i, c) }
        let todo = chosen.indices.filter { $0 != firstResult?.0 }
        let entriesForRest = all
        let picks = chosen
        DispatchQueue.concurrentPerform(iterations: todo.count) { k in
            let i = todo[k]
            let c = compile(abi: picks[i].abi, asmInclude: picks[i].asmInclude, entries: entriesForRest)
            results.set(i, c)
        }

        var layouts: [ABILayout] = []
        var skipped: [Skipped] = []
        var rejected: [Rejected] = []
        var seenRejected = Set<Entry>()
        for (i, pick) in chosen.enumerated() {
            guard let c = results.get(i) else {
                skipped.append(Skipped(abi: pick.abi, reason: "not probed", compilerMissing: false)); continue
            }
            for r in c.rejected where seenRejected.insert(r.entry).inserted { rejected.append(r) }
            if let fatal = c.fatal {
                skipped.append(Skipped(abi: pick.abi, reason: fatal, compilerMissing: c.compilerMissing))
                continue
            }
            layouts.append(assemble(abi: pick.abi, values: c.values))
        }
        return Result(layouts: layouts, skipped: skipped, rejected: rejected)
    }

    func assemble(abi: ABI, values v: [Entry: Int64]) -> ABILayout {
        var structs: [StructLayout] = []
        for r in scope.records {
            guard let name = r.name else { continue }
            let tag = "\(r.kind.rawValue) \(name)"
            guard let size = v[.structSize(tag)], let align = v[.structAlign(tag)] else { continue }
            var fields: [FieldLayout] = []
            for m in r.leafMembers where m.bitWidth == nil {
                guard let f = m.name, let off = v[.fieldOffset(tag, f)] else { continue }
                if m.isFlexibleArray {
                    fields.append(FieldLayout(name: f, offset: Int(off), size: 0,
                                              elementSize: v[.elementSize(tag, f)].map(Int.init)))
                } else if let sz = v[.fieldSize(tag, f)] {
                    fields.append(FieldLayout(name: f, offset: Int(off), size: Int(sz)))
                }
            }
            structs.append(StructLayout(name: name, size: Int(size), align: Int(align), fields: fields))
        }
        var ioctls: [IoctlLayout] = []
        for i in scope.ioctls {
            guard let req = v[.ioctlRequest(i.name)], let t = v[.ioctlType(i.name)], let nr = v[.ioctlNr(i.name)],
                  let sz = v[.ioctlSize(i.name)] else { continue }
            ioctls.append(IoctlLayout(name: i.name, request: UInt64(bitPattern: req), type: Int(t), nr: Int(nr),
                                      encodedSize: Int(sz), family: i.family, structName: i.structName))
        }
        var constants: [String: Int64] = [:]
        for c in scope.constants { if let x = v[.constant(c.name)] { constants[c.name] = x } }
        return ABILayout(abi: abi, structs: structs, ioctls: ioctls, constants: constants)
    }
}

/// Results written from concurrentPerform workers, one slot each.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [LayoutProbe.Compiled?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ c: LayoutProbe.Compiled) { lock.lock(); slots[i] = c; lock.unlock() }
    func get(_ i: Int) -> LayoutProbe.Compiled? { lock.lock(); defer { lock.unlock() }; return slots[i] }
}
