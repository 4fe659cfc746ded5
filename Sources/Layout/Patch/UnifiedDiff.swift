/// `git diff` output for a file's text before and after: Myers' shortest
/// edit script, hunks with three lines of context, `a/` and `b/` paths.
package enum UnifiedDiff {
    enum Edit: Equatable { case same, delete, insert }

    /// The diff of one file; nil text is an absent file. Empty when equal.
    package static func render(path: String, old: String?, new: String?) -> String {
        if old == new { return "" }
        let a = HunkApplier.Buffer(text: old ?? ""), b = HunkApplier.Buffer(text: new ?? "")
        var out = "diff --git a/\(path) b/\(path)\n"
        if old == nil { out += "new file mode 100644\n" }
        if new == nil { out += "deleted file mode 100644\n" }
        out += "--- " + (old == nil ? "/dev/null" : "a/" + path) + "\n"
        out += "+++ " + (new == nil ? "/dev/null" : "b/" + path) + "\n"
        // An unterminated last line differs from the same text with a newline.
        func keys(_ x: HunkApplier.Buffer) -> [String] {
            guard !x.endsWithNewline, let last = x.lines.last else { return x.lines }
            return x.lines.dropLast() + [last + "\u{1}"]
        }
        let script = edits(keys(a), keys(b))
        for h in hunks(script, context: 3) { out += render(h, script, a, b) }
        return out
    }

    /// Shortest edit script from `a` to `b`, common prefix and suffix first;
    /// past `maxCost` edits the middle is replaced wholesale (still correct).
    static func edits(_ a: [String], _ b: [String], maxCost: Int = 4000) -> [Edit] {
        var pre = 0
        while pre < a.count, pre < b.count, a[pre] == b[pre] { pre += 1 }
        var suf = 0
        while suf < a.count - pre, suf < b.count - pre, a[a.count - 1 - suf] == b[b.count - 1 - suf] { suf += 1 }
        let x = Array(a[pre..<(a.count - suf)]), y = Array(b[pre..<(b.count - suf)])
        let middle = myers(x, y, maxCost: maxCost)
            ?? [Edit](repeating: .delete, count: x.count) + [Edit](repeating: .insert, count: y.count)
        return [Edit](repeating: .same, count: pre) + middle + [Edit](repeating: .same, count: suf)
    }

    static func myers(_ a: [String], _ b: [String], maxCost: Int) -> [Edit]? {
        let n = a.count, m = b.count, limit = min(n + m, maxCost)
        if n == 0 || m == 0 { return [Edit](repeating: .delete, count: n) + [Edit](repeating: .insert, count: m) }
        let off = limit + 1
        var v = [Int](repeating: 0, count: 2 * limit + 3)
        var trace: [[Int]] = []
        for d in 0...limit {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x = (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1] : v[off + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[x] == b[y] { x += 1; y += 1 }
                v[off + k] = x
                if x >= n && y >= m { return backtrack(trace, n: n, m: m, off: off) }
            }
        }
        return nil
    }

    static func backtrack(_ trace: [[Int]], n: Int, m: Int, off: Int) -> [Edit] {
        var x = n, y = m
        var out: [Edit] = []
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let v = trace[d], k = x - y
            let down = k == -d || (k != d && v[off + k - 1] < v[off + k + 1])
            let pk = down ? k + 1 : k - 1
            let px = d == 0 ? 0 : v[off + pk], py = px - pk
            while x > px && y > py && x > 0 && y > 0 { out.append(.same); x -= 1; y -= 1 }
            if d > 0 { out.append(down ? .insert : .delete) }
            if down { y -= 1 } else { x -= 1 }
            if d == 0 { break }
        }
        while x > 0 && y > 0 { out.append(.same); x -= 1; y -= 1 }
        return out.reversed()
    }

    /// Ranges of the script that form hunks: each change with `context`
    /// lines around it, neighbours merged when their context touches.
    static func hunks(_ script: [Edit], context: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for (i, e) in script.enumerated() where e != .same {
            let lo = max(i - context, 0), hi = min(i + context + 1, script.count)
            if let last = out.last, lo <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<max(hi, last.upperBound)
            }
            else { out.append(lo..<hi) }
        }
        return out
    }

    static func render(_ h: Range<Int>, _ script: [Edit], _ a: HunkApplier.Buffer, _ b: HunkApplier.Buffer) -> String {
        var ai = 0, bi = 0
        for e in script[..<h.lowerBound] { if e != .insert { ai += 1 }; if e != .delete { bi += 1 } }
        var body = "", oldCount = 0, newCount = 0
        let oldStart = ai, newStart = bi
        for e in script[h] {
            switch e {
            case .same: body += " " + a.lines[ai] + "\n"; ai += 1; bi += 1; oldCount += 1; newCount += 1
            case .delete: body += "-" + a.lines[ai] + "\n"; ai += 1; oldCount += 1
            case .insert: body += "+" + b.lines[bi] + "\n"; bi += 1; newCount += 1
            }
            let unterminated = e == .insert ? bi == b.lines.count && !b.endsWithNewline
                : ai == a.lines.count && !a.endsWithNewline
            if unterminated { body += "\\ No newline at end of file\n" }
        }
        func range(_ start: Int, _ count: Int) -> String {
            count == 1 ? "\(start + 1)" : "\(count == 0 ? start : start + 1),\(count)"
        }
        return "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n" + body
    }
}
