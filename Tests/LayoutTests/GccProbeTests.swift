import Foundation
import Testing
@testable import Layout

/// The probe through Debian's cross gcc (alpha, parisc, sh4): the assembly
/// reader on its own, and its numbers checked by independent means.
struct GccAssemblyTests {
    @Test func wordsAreReadInTheTargetsByteOrder() {
        // 8, -1, 0x123456789a, the sentinel: as hppa (high word first) and sh4 (low word first) print them.
        let hppa = "uc_probe:\n\t.word\t0\n\t.word\t8\n\t.word\t-1\n\t.word\t-1\n\t.word\t18\n\t.word\t878082202\n" +
            "\t.zero\t8\n\t.ident\t\"GCC\"\n"
        #expect(LayoutProbe.parseAssembly(hppa, bigEndian: true) == [8, -1, 0x12_3456_789a, 0])
        let sh4 = "uc_probe:\n\t.long\t8\n\t.long\t0\n\t.long\t-1\n\t.long\t-1\n\t.long\t878082202\n\t.long\t18\n" +
            "\t.size\tuc_probe, 24\n"
        #expect(LayoutProbe.parseAssembly(sh4, bigEndian: false) == [8, -1, 0x12_3456_789a])
        let alpha = "\t.align 3\nuc_probe:\n\t.quad\t8\n\t.quad\t-1\n\t.quad\t0x123456789a\n"
        #expect(LayoutProbe.parseAssembly(alpha, bigEndian: false) == [8, -1, 0x12_3456_789a])
        // Twins: the wrong byte order gives other numbers; half a value or no label is no answer.
        #expect(LayoutProbe.parseAssembly(sh4, bigEndian: true) != [8, -1, 0x12_3456_789a])
        #expect(LayoutProbe.parseAssembly("uc_probe:\n\t.long\t8\n", bigEndian: false) == nil)
        #expect(LayoutProbe.parseAssembly("\t.quad\t8\n", bigEndian: false) == nil)
    }
}

@Suite("the probe through cross gcc", .enabled(if: Repo.haveHeaders, Comment(rawValue: Repo.noHeaders)))
struct GccProbeTests {
    static let gccABIs = ["alpha", "parisc", "sh4"].filter { name in
        guard case .gcc(let t, _) = ABI.named(name)!.compiler else { return false }
        return LayoutProbe.findCrossGcc(t) != nil
    }

    func probe() throws -> LayoutProbe {
        let tree = try HeaderTree(path: Repo.headers)
        return LayoutProbe(tree: tree, scope: UapiScope(headers: try tree.parse()))
    }

    /// Every number read from gcc's assembly, handed back to the same gcc as
    /// `_Static_assert(expr == value)`: gcc's own constant evaluation, not
    /// our reading, decides. One wrong value must fail the compile.
    @Test(arguments: gccABIs)
    func numbersSurviveStaticAssertsInTheSameCompiler(abi name: String) throws {
        let p = try probe()
        let abi = ABI.named(name)!
        let pick = try #require(p.tree.availableABIs().first { $0.abi == abi })
        let entries = p.entries()
        let c = p.compile(abi: abi, asmInclude: pick.asmInclude, entries: entries)
        #expect(c.fatal == nil)
        let checked = entries.filter { c.values[$0] != nil }
        #expect(checked.count > 500)
        func asserts(_ wrong: LayoutProbe.Entry?) -> String {
            var text = p.source([]).text
            for (k, e) in checked.enumerated() {
                let v = UInt64(bitPattern: c.values[e]!) &+ (e == wrong ? 1 : 0)
                let expr = LayoutProbe.expression(e)
                text += "_Static_assert((unsigned long long)(\(expr)) == \(v)ULL, \"entry \(k)\");\n"
            }
            return text
        }
        let cmd = try #require(p.commandLine(abi, asmInclude: pick.asmInclude))
        let syntax = cmd.map { $0 == "-S" ? "-fsyntax-only" : $0 }
        let ok = try ChildProcess.run(syntax, limits: .init(timeout: 60), stdin: asserts(nil))
        #expect(ok.status == 0, "\(ok.stderr.prefix(400))")
        let bad = try ChildProcess.run(syntax, limits: .init(timeout: 60), stdin: asserts(checked[checked.count / 2]))
        #expect(bad.status != 0 && bad.stderr.contains("entry \(checked.count / 2)"))
    }

    /// On an ABI both compile for, gcc's assembly and clang's IR agree on
    /// every number: the host gcc (x86_64) read as a gcc ABI.
    @Test(.enabled(if: LayoutProbe.findCrossGcc("x86_64-linux-gnu") != nil))
    func gccAndClangAgreeOnX86_64() throws {
        let p = try probe()
        let clang = ABI.named("x86_64")!
        let gcc = ABI(name: "x86_64", gcc: "x86_64-linux-gnu", bigEndian: false, asmDirs: clang.asmDirs, family: "x86")
        let asm = Repo.headers + "/x86_64-linux-gnu"
        let entries = p.entries()
        let a = p.compile(abi: clang, asmInclude: asm, entries: entries)
        let b = p.compile(abi: gcc, asmInclude: asm, entries: entries)
        #expect(a.fatal == nil && b.fatal == nil)
        #expect(!a.values.isEmpty && a.values == b.values)
    }
}
