import Foundation

/// Compiling the probe for one ABI. The source reaches the compiler on its
/// stdin (an in-memory file) and clang's IR or gcc's assembly comes back on
/// its stdout, so nothing is written to disk; headers a patch replaced are
/// inlined into the source under their own name (`#line`), so errors in
/// them still name them. Each compiler run is bounded in time, address
/// space and output.
extension LayoutProbe {
    /// What one compiler run may use: the probe takes ~0.3 s and ~150 MB.
    static let compileLimits = ChildProcess.Limits(timeout: 10, addressSpace: 4 << 30, outputBytes: 4 << 20)
    static let probeName = "uc-probe.c"

    struct Compiled {
        var values: [Entry: Int64]
        var rejected: [Rejected]
        var fatal: String?
        /// The compiler hit a limit: the headers themselves are the problem,
        /// the same on every ABI.
        var exhausted = false
        /// This ABI's compiler is not installed: not checked, not a failure.
        var compilerMissing = false
    }

    /// The probe source; entry `k` sits on line `firstLine + k` of `probeName`.
    package func source(_ entries: [Entry]) -> (text: String, firstLine: Int) {
        var lines = ["#include <linux/types.h>", "#include <linux/ioctl.h>"]
        // Replaced headers first: their include guards then keep the originals out.
        for (file, text) in tree.overrides.sorted(by: { $0.key < $1.key }) {
            lines.append("#line 1 \"\(file)\"")
            lines += text.components(separatedBy: "\n")
        }
        for f in tree.uapiFiles where tree.overrides[f] == nil { lines.append("#include <\(f)>") }
        lines.append("#line \(lines.count + 2) \"\(LayoutProbe.probeName)\"")
        lines.append("const unsigned long long uc_probe[] = {")
        let first = lines.count + 1
        for e in entries { lines.append("  (unsigned long long)(\(LayoutProbe.expression(e))),") }
        lines.append("  \(LayoutProbe.sentinel)ULL };")
        return (lines.joined(separator: "\n") + "\n", first)
    }

    /// Compile for one ABI; entries the compiler refuses are dropped (and
    /// reported) and the rest compiled again.
    func compile(abi: ABI, asmInclude: String?, entries initial: [Entry]) -> Compiled {
        guard let command = commandLine(abi, asmInclude: asmInclude) else {
            return Compiled(values: [:], rejected: [], fatal: missingCompilerReason(abi), compilerMissing: true)
        }
        var entries = initial
        var rejected: [Rejected] = []
        for _ in 0..<4 {
            let (src, firstLine) = source(entries)
            let r: ChildProcess.Result
            do { r = try ChildProcess.run(command, limits: LayoutProbe.compileLimits, stdin: src) } catch {
                return Compiled(values: [:], rejected: rejected, fatal: "\(error)", exhausted: true)
            }
            if let limit = LayoutProbe.limitHit(r) {
                return Compiled(values: [:], rejected: rejected, fatal: limit, exhausted: true)
            }
            if r.status == 0 {
                guard let values = LayoutProbe.parseOutput(r.stdout, abi: abi), values.count == entries.count + 1 else {
                    return Compiled(values: [:], rejected: rejected,
                                    fatal: "cannot read the compiler's output for \(abi.name)")
                }
                // A header may define one macro twice, identically (7.2's iommufd_test.h does
                // IOMMU_TEST_INVALIDATE_FLAG_ALL): one entry, one value.
                return Compiled(values: Dictionary(zip(entries, values), uniquingKeysWith: { first, _ in first }),
                                rejected: rejected, fatal: nil)
            }
            switch refusals(r.stderr, firstLine: firstLine, entries: entries) {
            case .headerError(let message):
                return Compiled(values: [:], rejected: rejected, fatal: message)
            case .entries(let bad):
                guard !bad.isEmpty else {
                    let first = r.stderr.split(separator: "\n").first.map(String.init) ?? "exit status \(r.status)"
                    return Compiled(values: [:], rejected: rejected, fatal: "compiler failed: \(first)")
                }
                rejected += bad.sorted { $0.key < $1.key }.map { Rejected(entry: entries[$0.key], message: $0.value) }
                entries = entries.enumerated().filter { bad[$0.offset] == nil }.map(\.element)
            }
        }
        return Compiled(values: [:], rejected: rejected, fatal: "too many probe errors")
    }

    /// The compiler's command line, source on stdin and output on stdout;
    /// nil when this ABI's compiler is not installed.
    func commandLine(_ abi: ABI, asmInclude: String?) -> [String]? {
        var args: [String]
        switch abi.compiler {
        case .clang(let triple):
            args = [compiler, "--target=\(triple)", "-nostdinc", "-std=gnu11", "-w", "-ferror-limit=0",
                    "-S", "-emit-llvm", "-O0", "-o", "-", "-I", tree.root]
        case .gcc(let triple, _):
            guard let gcc = LayoutProbe.findCrossGcc(triple) else { return nil }
            args = [gcc, "-nostdinc", "-std=gnu11", "-w", "-fdiagnostics-color=never", "-S", "-O0", "-o", "-",
                    "-I", tree.root]
        }
        if let a = asmInclude { args += ["-I", a] }
        return args + ["-x", "c", "-"]
    }

    func missingCompilerReason(_ abi: ABI) -> String {
        switch abi.compiler {
        case .clang: return "clang has no \(abi.name) target"
        case .gcc(let triple, _):
            return "no \(triple)-gcc for \(abi.name) (clang has no \(abi.name) target): "
                + "install gcc-\(triple) (scripts/install-deps.sh)"
        }
    }

    static func parseOutput(_ text: String, abi: ABI) -> [Int64]? {
        switch abi.compiler {
        case .clang: return parseIR(text)
        case .gcc(_, let bigEndian): return parseAssembly(text, bigEndian: bigEndian)
        }
    }

    /// `@uc_probe = ... constant [N x i64] [i64 1, i64 2, ...]`.
    static func parseIR(_ ir: String) -> [Int64]? {
        guard let line = ir.split(separator: "\n").first(where: { $0.hasPrefix("@uc_probe") }),
              let open = line.range(of: "] ["), let close = line.range(of: "]", options: .backwards)
        else { return nil }
        var out: [Int64] = []
        for item in line[open.upperBound..<close.lowerBound].split(separator: ",") {
            let t = item.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("i64 "), let v = Int64(t.dropFirst(4)) else { return nil }
            out.append(v)
        }
        return out
    }

    /// Why a compiler run was stopped, if it was.
    static func limitHit(_ r: ChildProcess.Result) -> String? {
        let l = compileLimits
        if r.timedOut {
            return "the compiler ran past its \(Int(l.timeout)) s limit (an #include loop or a huge header?)"
        }
        if r.outputCapped {
            return "the compiler wrote more than \(l.outputBytes >> 20) MiB of messages (an #include loop?)"
        }
        let outOfMemory = r.stderr.contains("LLVM ERROR: out of memory")
        if [SIGKILL, SIGSEGV, SIGABRT].contains(r.signal) || outOfMemory {
            return "the compiler ran out of its \(l.addressSpace >> 30) GiB address-space limit or crashed "
                + "(signal \(r.signal))"
        }
        return nil
    }

    enum Refusals { case entries([Int: String]), headerError(String) }

    /// Maps errors in the probe back to entries (with their first message);
    /// an error inside a header means the header itself does not compile.
    func refusals(_ stderr: String, firstLine: Int, entries: [Entry]) -> Refusals {
        var bad: [Int: String] = [:]
        for line in stderr.split(separator: "\n") where line.contains(": error:") {
            let parts = line.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
            guard parts.count >= 5 else { continue }
            let msg = parts[4].replacingOccurrences(of: " error: ", with: "").trimmingCharacters(in: .whitespaces)
            if parts[0] == LayoutProbe.probeName, let l = Int(parts[1]) {
                let k = l - firstLine
                if k >= 0 && k < entries.count && bad[k] == nil { bad[k] = msg }
            } else {
                let file = String(parts[0]).replacingOccurrences(of: tree.root + "/", with: "")
                return .headerError("\(file):\(parts[1]): \(msg)")
            }
        }
        return .entries(bad)
    }
}
