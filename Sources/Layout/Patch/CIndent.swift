/// Re-indents added C lines whose leading white space a mail archive
/// collapsed to one space, in the kernel's style (tabs per block, case labels
/// at the switch's depth, continuation lines under their open parenthesis).
/// It only changes leading white space, so it cannot change what compiles.
enum CIndent {
    /// A run of added lines in a hunk's replacement, and the file line before
    /// it (`removed`: the hunk replaced that line, so the run takes its depth).
    struct Run: Equatable {
        var range: Range<Int>
        var before: (text: String, removed: Bool)?

        static func == (a: Run, b: Run) -> Bool {
            a.range == b.range && a.before?.text == b.before?.text && a.before?.removed == b.before?.removed
        }
    }

    static func reindent(_ lines: inout [String], runs: [Run]) {
        for run in runs {
            var state = State(depth: baseDepth(run.before))
            for i in run.range { lines[i] = state.next(lines[i]) }
        }
    }

    /// Columns of leading white space, tabs counting 8.
    static func leadingColumns(_ s: String) -> Int {
        var col = 0
        for c in s {
            if c == "\t" { col = (col / 8 + 1) * 8 } else if c == " " { col += 1 } else { break }
        }
        return col
    }

    /// The block depth a run continues at, from the line before it.
    static func baseDepth(_ before: (text: String, removed: Bool)?) -> Int {
        guard let (text, removed) = before else { return 0 }
        let t = text.trimmingCharacters(in: .whitespaces)
        let tabs = text.prefix { $0 == "\t" }.count
        // Tabs then spaces: a continuation aligned under a parenthesis.
        let continuation = text.dropFirst(tabs).first == " " && !t.hasPrefix("*")
        var depth = continuation ? max(tabs - 1, 0) : leadingColumns(text) / 8
        if removed || t.hasPrefix("#") { return depth }
        if t.hasSuffix("{") || (isLabel(t)) { depth += 1 }
        return depth
    }

    static func isLabel(_ t: String) -> Bool { (t.hasPrefix("case ") || t.hasPrefix("default")) && t.hasSuffix(":") }

    static func indent(columns: Int) -> String {
        String(repeating: "\t", count: columns / 8) + String(repeating: " ", count: columns % 8)
    }

    struct State {
        var depth: Int
        var inComment = false
        /// Columns just after each parenthesis still open.
        var parens: [Int] = []
        /// The previous line leaves a statement open (`x =`, an unbraced `if`).
        var pending = false

        mutating func next(_ raw: String) -> String {
            let t = raw.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { return "" }
            if t.hasPrefix("#") { return t }
            if inComment || t == "*" || t.hasPrefix("* ") || t.hasPrefix("*/") {
                if t.contains("*/") { inComment = false }
                return String(repeating: "\t", count: depth) + " " + t
            }
            if t.hasPrefix("/*") {
                inComment = !t.contains("*/")
                return String(repeating: "\t", count: depth) + t
            }
            if t.hasPrefix("}") { depth = max(depth - 1, 0) }
            var columns = (CIndent.isLabel(t) ? max(depth - 1, 0) : depth) * 8
            if let open = parens.last { columns = open } else if pending { columns += 8 }
            let line = CIndent.indent(columns: columns) + t
            scan(t, startColumn: columns)
            let code = t.components(separatedBy: "/*")[0].trimmingCharacters(in: .whitespaces)
            pending = parens.isEmpty && CIndent.leavesOpen(code)
            return line
        }

        /// Braces and parentheses outside strings and comments.
        mutating func scan(_ t: String, startColumn: Int) {
            var col = startColumn
            var quote: Character?
            var prev: Character = " "
            for (n, c) in t.enumerated() {
                defer { prev = c; col += 1 }
                if let q = quote { if c == q && prev != "\\" { quote = nil }; continue }
                if c == "/" && prev == "/" { break }
                switch c {
                case "\"", "'": quote = c
                case "(": parens.append(col + 1)
                case ")": _ = parens.popLast()
                case "{": depth += 1
                case "}": if n > 0 { depth = max(depth - 1, 0) }
                default: break
                }
            }
        }
    }

    /// A line after which the statement goes on: an assignment or operator at
    /// the end, or a control statement without its body.
    static func leavesOpen(_ code: String) -> Bool {
        if code.hasSuffix(";") || code.hasSuffix("{") || code.hasSuffix("}") || code.hasSuffix(",") || isLabel(code) {
            return false
        }
        for op in ["=", "&&", "||", "+", "-", "?", "|", "&"] where code.hasSuffix(op) { return true }
        let words = code.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        return ["if", "for", "while", "else", "if(", "for(", "while("].contains(words)
            || code.hasPrefix("if (") || code.hasPrefix("} else")
    }
}
