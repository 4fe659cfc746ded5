"""Error-exit sites of a C file, for scripts/coverage-report.py.

A site is `return -E...;`, `return ERR_PTR(-E...);`, or `rc = -E...;` /
`ret = -E...;` / `x = ERR_PTR(-E...);` when that value leaves: the flow after
it reaches goto, break, a return of the variable or an `if (rc) goto ...;`
that tests it, before anything assigns the variable again. Flow is followed over whole statements: an if/loop/switch
on the way is stepped over unless it assigns the variable (then the value may
not leave: not a site; `if (!rc) rc = ...;` does not count, an error value
skips it), the else branches beside the assignment are skipped,
labels are fallen through. A preset (`rc = -ENOMEM;` or `int rc = -EINVAL;`
ahead of the checks it serves) is not itself a site, since it runs on the good
path too; each `if (...) goto/break/return rc;` it reaches before rc is
assigned again is one instead (kind "preset"), with the preset's errno."""
import re

TOKEN = re.compile(r"[A-Za-z_]\w*|\d\w*|->|\+\+|--|[-+*/%&|^!=<>]=|&&|\|\||<<|>>|\S")
ERRNO = r"-\s*(E[A-Z0-9]+)"
PATTERNS = [  # (kind, regex, group of the variable or None)
    ("return", re.compile(r"\breturn\s+" + ERRNO + r"\s*;"), None),
    ("err_ptr", re.compile(r"\breturn\s+ERR_PTR\s*\(\s*" + ERRNO + r"\s*\)\s*;"), None),
    ("assign", re.compile(r"(?<![.>])\b(rc|ret)\s*=\s*" + ERRNO + r"\s*;"), 1),
    ("err_ptr", re.compile(r"(?<![.>])\b([A-Za-z_]\w*)\s*=\s*ERR_PTR\s*\(\s*" + ERRNO + r"\s*\)\s*;"), 1),
]


def strip(text):
    """Comments, strings, character literals and preprocessor lines blanked
    (newlines kept), so that offsets and line numbers stay the same."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/|//[^\n]*|\"(\\.|[^\"\\\n])*\"|'(\\.|[^'\\\n])*'", blank, text, flags=re.S)
    return re.sub(r"(?m)^[ \t]*#([^\n]*\\\n)*[^\n]*", blank, text)


class Tokens:
    def __init__(self, text):
        self.tok, self.pos, self.depth = [], [], []
        d = 0
        for m in TOKEN.finditer(text):
            t = m.group(0)
            if t == "}":
                d -= 1
            self.tok.append(t)
            self.pos.append(m.start())
            self.depth.append(d)  # depth outside this token's own brace
            if t == "{":
                d += 1

    def at(self, i):
        return self.tok[i] if i < len(self.tok) else ""

    def match(self, i, open_, close):
        """Index after the bracket that closes the one at i."""
        n = 0
        while i < len(self.tok):
            n += (self.tok[i] == open_) - (self.tok[i] == close)
            i += 1
            if n == 0:
                break
        return i

    def statement(self, i):
        """Index after the statement that starts at i."""
        t = self.at(i)
        if t == "{":
            return self.match(i, "{", "}")
        if t in ("if", "while", "for", "switch"):
            j = self.statement(self.match(i + 1, "(", ")"))
            while t == "if" and self.at(j) == "else":
                j = self.statement(j + 1)
            return j
        if t == "do":
            j = self.statement(i + 1)  # body, then `while (...) ;`
            return self.match(j + 1, "(", ")") + 1
        if re.match(r"[A-Za-z_]\w*$", t) and self.at(i + 1) == "(":
            j = self.match(i + 1, "(", ")")
            if self.at(j) == "{":  # a for_each-style macro loop: no ';' after it
                return self.match(j, "{", "}")
        while i < len(self.tok) and self.tok[i] != ";":
            i = self.match(i, self.tok[i], {"(": ")", "{": "}", "[": "]"}[self.tok[i]]) \
                if self.tok[i] in "({[" else i + 1
        return i + 1

    def last_statement(self, i):
        """Index of the last statement of the block at i (None when empty)."""
        last, j, end = None, i + 1, self.match(i, "{", "}") - 1
        while j < end:
            last, j = j, self.statement(j)
        return last

    def skipped_on_error(self, var, i, j):
        """`if (!rc) rc = ...;` (no else): an error value never runs it."""
        if self.at(i) != "if":
            return False
        close = self.match(i + 1, "(", ")")
        return self.tok[i + 1:close] in (["(", "!", var, ")"], ["(", var, "==", "0", ")"]) \
            and self.statement(close) == j

    def assigns(self, var, a, b):
        return any(self.tok[k] == var and self.at(k + 1) == "=" for k in range(a, b))

    def exit_of(self, var, i):
        """Is the statement at i a goto/break/return of var, or a block ending in one?"""
        if self.at(i) == "{":
            last = self.last_statement(i)
            return last is not None and self.exit_of(var, last)
        t = self.at(i)
        return t in ("goto", "break") or (t == "return" and var in self.tok[i:self.statement(i)])

    def flow(self, var, i):
        """(does the value just stored in var leave, [conditional exits on the way])."""
        exits = []
        while i < len(self.tok):
            t = self.at(i)
            if t == "}":
                if self.depth[i] == 0:
                    return False, exits  # fell off the function's end
                i += 1
                while self.at(i) == "else":
                    i = self.statement(i + 1)
            elif t == "else":
                i = self.statement(i + 1)
            elif t == ";":
                i += 1
            elif t in ("goto", "break"):
                return True, exits
            elif t == "continue":
                return False, exits
            elif t == "return":
                return var in self.tok[i:self.statement(i)], exits
            elif t == "case":
                while self.at(i) not in (":", ""):
                    i += 1
                i += 1
            elif re.match(r"[A-Za-z_]\w*$", t) and self.at(i + 1) == ":":
                i += 2  # a label (or default:): fall through
            else:
                j = self.statement(i)
                if self.assigns(var, i, j) and not self.skipped_on_error(var, i, j):
                    return False, exits
                if t == "if":
                    body = self.match(i + 1, "(", ")")
                    if self.exit_of(var, body):
                        if var in self.tok[i:body]:
                            return True, exits  # `if (rc) goto out;`: an error value takes it
                        exits.append(body if self.at(body) != "{" else self.last_statement(body))
                i = j
        return False, exits

def guards(toks, line):
    """{token index: (first, last condition line, line of the statement after
    the if)} for the first and last statement of every else-less if's then
    branch: where gcov has no count of a site's own, the if's branches do."""
    out = {}
    for i, t in enumerate(toks.tok):
        if t != "if":
            continue
        close = toks.match(i + 1, "(", ")")
        after = toks.statement(close)
        if toks.at(after) == "else":
            continue
        nxt = toks.at(after)
        plain = nxt and nxt not in ("}", "case", "default") and toks.at(after + 1) != ":"
        guard = (line(toks.pos[i]), line(toks.pos[close - 1]), line(toks.pos[after]) if plain else None)
        body = [close]
        if toks.at(close) == "{":
            first, last = close + 1, toks.last_statement(close)
            body = [first, last] if last is not None else []
        for b in body:
            out[b] = guard
    return out


def find_sites(text):
    """[(line, errno, kind, guard)] of every error-exit site, in line order;
    guard as in guards(), or None."""
    clean = strip(text)
    toks = Tokens(clean)
    index = {p: k for k, p in enumerate(toks.pos)}
    line = lambda offset: clean.count("\n", 0, offset) + 1
    guard = guards(toks, line)
    sites = {}
    add = lambda k, errno, kind: sites.setdefault((line(toks.pos[k]), errno, kind), guard.get(k))
    for kind, rx, var_group in PATTERNS:
        for m in rx.finditer(clean):
            errno = m.group(m.lastindex)
            k = index.get(m.start(var_group or 0))
            if k is None:
                continue
            if var_group is None:
                add(k, errno, kind)
                continue
            leaves, exits = toks.flow(m.group(var_group), toks.statement(k))
            if leaves:
                add(k, errno, kind)
            for e in exits if not leaves else []:
                add(e, errno, "preset")
    return sorted(key + (g,) for key, g in sites.items())


def count_lines(text, line, kind):
    """Where gcov may have put a site's count: its own line; for `rc = -E...;`
    also the goto/break/return right below it (the same block)."""
    lines = text.split("\n")
    if kind == "assign" and line < len(lines) and re.match(r"\s*(goto|break|return)\b", lines[line]):
        return [line, line + 1]
    return [line]
