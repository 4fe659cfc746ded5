#!/usr/bin/python3
"""Coverage report of the lane kernel's iommufd/vfio code, per run.
  coverage-report.py --src DIR --out DIR [--gcno TAR] [--kernel LABEL] [--reasons TSV] --run NAME=PATH ...
PATH is a folder of .gcda files (paths relative to the kernel's build dir,
as copied out of debugfs; needs --gcno, the build's gcno.tar) or a gcov JSON
file (`gcov -j -t -b` output: one document or a list). --src holds the
sources as built (drivers/iommu/iommufd/*.c, ...). Writes DIR/coverage.json,
DIR/index.html and DIR/files/*.html; prints a table of the ioctl handler
files: error-exit sites (scripts/coverage_sites.py) reached per run, line
coverage per run, and every site the first run does not reach with the
reason --reasons gives for it (file, line, errno, reason; tab-separated,
`#` comments). Exit 0 when the report was made, 2 on bad input."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ left in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coverage_sites  # noqa: E402
from coverage_html import page_name, pct, write_file_page, write_index  # noqa: E402

HANDLERS = {"main.c", "ioas.c", "hw_pagetable.c", "viommu.c", "device.c", "eventq.c", "vfio_compat.c", "tsm.c"}
HANDLER_DIR = "drivers/iommu/iommufd"


class BadInput(Exception):
    pass


def extract_notes(tar, work):
    """The .gcno files of the build's gcno.tar; nothing else, nowhere else."""
    with tarfile.open(tar) as t:
        for m in t:
            parts = m.name.split("/")
            if not m.isfile() or not m.name.endswith(".gcno") or m.name.startswith("/") or ".." in parts:
                continue
            dest = os.path.join(work, *parts)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with t.extractfile(m) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)


def gcov_documents(gcda_dir, gcno_tar, gcov):
    """Run gcov on every .gcda of the folder, with the build's notes beside them."""
    with tempfile.TemporaryDirectory(prefix="uc-gcov-") as work:
        extract_notes(gcno_tar, work)
        gcdas = []
        for d, _, files in os.walk(gcda_dir):
            for f in files:
                if f.endswith(".gcda"):
                    rel = os.path.relpath(os.path.join(d, f), gcda_dir)
                    os.makedirs(os.path.dirname(os.path.join(work, rel)), exist_ok=True)
                    shutil.copyfile(os.path.join(d, f), os.path.join(work, rel))
                    gcdas.append(rel)
        if not gcdas:
            raise BadInput(f"no .gcda files under {gcda_dir}")
        docs = []
        for rel in sorted(gcdas):
            if not os.path.exists(os.path.join(work, rel[:-5] + ".gcno")):
                raise BadInput(f"{rel} has no .gcno in {gcno_tar}: data from another build?")
            r = subprocess.run([gcov, "-j", "-t", "-b", "-o", os.path.dirname(rel) or ".", rel], cwd=work,
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0 or not r.stdout.strip():
                raise BadInput(f"gcov failed on {rel}: {(r.stderr.strip().splitlines() or ['no output'])[-1]}")
            docs += [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        return docs


def load_run(path, gcno, gcov):
    if os.path.isdir(path):
        if not gcno:
            raise BadInput(f"{path} is a folder of .gcda files: --gcno TAR is needed")
        return gcov_documents(path, gcno, gcov)
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput(f"cannot read gcov JSON {path}: {e}")
    docs = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(d, dict) and isinstance(d.get("files"), list) for d in docs):
        raise BadInput(f"{path} is not gcov JSON (no \"files\" list)")
    return docs


def source_key(path, src):
    """The gcov file name as a path under --src (longest suffix that exists)."""
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    for k in range(len(parts)):
        cand = "/".join(parts[k:])
        if os.path.isfile(os.path.join(src, cand)):
            return cand
    return None


def merge(docs, src):
    """{file: {line: (count, [branch counts])}} for the .c files under --src."""
    out = {}
    for doc in docs:
        for f in doc["files"]:
            key = source_key(f.get("file", ""), src)
            if key is None or not key.endswith(".c"):
                continue
            lines = out.setdefault(key, {})
            for ln in f.get("lines", []):
                n = ln["line_number"]
                count, branches = lines.get(n, (0, []))
                lines[n] = (count + ln.get("count", 0),
                            branches + [b.get("count", 0) for b in ln.get("branches", []) if not b.get("throw")])
    return out


def summary(lines):
    branches = [c for _, bs in lines.values() for c in bs]
    s = {"lines": len(lines), "lines_hit": sum(1 for c, _ in lines.values() if c > 0),
         "branches": len(branches), "branches_hit": sum(1 for c in branches if c > 0)}
    s["line_pct"] = round(100.0 * s["lines_hit"] / s["lines"], 1) if s["lines"] else None
    s["branch_pct"] = round(100.0 * s["branches_hit"] / s["branches"], 1) if s["branches"] else None
    return s


def site_count(lines, text, site):
    """(count, "line" or "branch") of a site, or (None, None). -O2 often leaves
    `return -E...;` without a line of its own; then the guarding if tells: its
    first condition's two branches ran c times in all (the line count can be
    twice that), the statement after it a times, so the site c - a times, when
    a is one of the if's branch counts (no other way in)."""
    line, _, kind, guard = site
    for n in coverage_sites.count_lines(text, line, kind):
        if n in lines:
            return lines[n][0], "line"
    if guard and guard[2] in lines:
        branches = [b for n in range(guard[0], guard[1] + 1) for b in lines.get(n, (0, []))[1]]
        after = lines[guard[2]][0]
        if len(branches) >= 2 and after in branches and after <= branches[0] + branches[1]:
            return branches[0] + branches[1] - after, "branch"
    return None, None


def no_data(site):
    return all(c is None for c in site["counts"].values())


def load_reasons(path):
    """{(file, line): (errno, reason)} from a tab-separated file."""
    out = {}
    try:
        with open(path) as f:
            rows = [(n, ln.rstrip("\n")) for n, ln in enumerate(f, 1)]
    except OSError as e:
        raise BadInput(f"cannot read --reasons {path}: {e}")
    for n, ln in rows:
        if not ln.strip() or ln.startswith("#"):
            continue
        cols = ln.split("\t")
        if len(cols) != 4 or not cols[1].isdigit() or not cols[3].strip():
            raise BadInput(f"{path}:{n}: want FILE<tab>LINE<tab>ERRNO<tab>REASON")
        out[(cols[0], int(cols[1]))] = (cols[2], cols[3].strip())
    return out


def explain_unreached(report, reasons, first):
    """Each site `first` does not reach gets its reason; prints them, and
    the listed sites that are reached now or are no site at all."""
    unreached = [s for s in report["sites"] if not s["counts"][first]]
    missing = 0
    print(f"sites {first} does not reach: {len(unreached)}")
    for s in unreached:
        errno, reason = reasons.get((s["file"], s["line"]), (None, None))
        if reason is None or errno != s["errno"]:
            missing += 1
            reason = "(no reason recorded)"
        s["reason"] = reason
        seen = ",".join(s["reached_by"]) or ("n/d" if no_data(s) else "neither")
        print(f"  {os.path.basename(s['file'])}:{s['line']} {s['errno']} [{seen}] {reason}")
    at = {(s["file"], s["line"]) for s in unreached}
    stale = sorted(k for k in reasons if k not in at)
    for f, line in stale:
        print(f"  listed but reached or not a site: {os.path.basename(f)}:{line}")
    report["unreached"] = {"sites": len(unreached), "without_reason": missing, "stale_reasons": len(stale)}
    print(f"without a reason: {missing}; stale reasons: {len(stale)}")


class Args(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print its usage too)
        raise BadInput(message)


def main():
    ap = Args(description="kernel coverage report per run")
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gcno")
    ap.add_argument("--gcov", default="gcov-12")
    ap.add_argument("--kernel", default="kernel")
    ap.add_argument("--run", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--reasons")
    a = ap.parse_args()
    reasons = load_reasons(a.reasons) if a.reasons else None
    if not os.path.isdir(a.src):
        raise BadInput(f"--src {a.src} is not a folder")
    if a.gcno and not os.path.isfile(a.gcno):
        raise BadInput(f"--gcno {a.gcno} does not exist")
    if not a.run:
        raise BadInput("no --run NAME=PATH given")
    if any(os.path.isdir(p.partition("=")[2]) for p in a.run) and shutil.which(a.gcov) is None:
        raise BadInput(f"{a.gcov} not found (gcc 12's gcov, package gcc-12)")
    names, runs = [], {}
    for spec in a.run:
        name, eq, path = spec.partition("=")
        if not eq or not name or not path or name in runs:
            raise BadInput(f"--run wants NAME=PATH with distinct names, got '{spec}'")
        if not os.path.exists(path):
            raise BadInput(f"--run {name}: {path} does not exist")
        names.append(name)
        runs[name] = merge(load_run(path, a.gcno, a.gcov), a.src)
    keys = sorted(set().union(*(set(r) for r in runs.values())))
    if not keys:
        raise BadInput(f"no run has data for a source under {a.src}")

    report = {"schema": "uapi-conform-coverage/1", "kernel": a.kernel, "runs": names, "files": [], "sites": []}
    texts = {k: open(os.path.join(a.src, k), errors="replace").read() for k in keys}
    for k in keys:
        entry = {"file": k, "lines": max(len(runs[r].get(k, {})) for r in names),
                 "runs": {r: summary(runs[r].get(k, {})) for r in names}}
        if os.path.dirname(k) == HANDLER_DIR and os.path.basename(k) in HANDLERS:
            sites = []
            for site in coverage_sites.find_sites(texts[k]):
                got = {r: site_count(runs[r].get(k, {}), texts[k], site) for r in names}
                counts = {r: c for r, (c, _) in got.items()}
                sites.append({"file": k, "line": site[0], "errno": site[1], "kind": site[2], "counts": counts,
                              "count_from": {r: how for r, (_, how) in got.items()},
                              "reached_by": [r for r in names if counts[r]]})
            entry["sites"] = {"sites": len(sites), **{r: sum(1 for s in sites if s["counts"][r]) for r in names},
                              "neither": sum(1 for s in sites if not s["reached_by"] and not no_data(s)),
                              "no_data": sum(1 for s in sites if no_data(s))}
            report["sites"] += sites
        report["files"].append(entry)

    print_table(a.kernel, os.path.join(a.out, "index.html"), [f for f in report["files"] if "sites" in f], names)
    if reasons is not None:
        explain_unreached(report, reasons, names[0])
    os.makedirs(os.path.join(a.out, "files"), exist_ok=True)
    with open(os.path.join(a.out, "coverage.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    for k in keys:
        write_file_page(os.path.join(a.out, "files", page_name(k)), k, texts[k], names, runs,
                        [s for s in report["sites"] if s["file"] == k])
    write_index(os.path.join(a.out, "index.html"), report, names)


def print_table(kernel, index, handlers, names):
    cols = ["file", "sites"] + names + ["neither", "n/d"] + [f"lines {r}" for r in names]
    widths = [16] + [max(len(c), 6) for c in cols[1:]]
    row = lambda vals: " ".join(f"{v:<{w}}" if i == 0 else f"{v:>{w}}" for i, (v, w) in enumerate(zip(vals, widths)))
    print(f"coverage of {kernel} ({index})")
    print(row(cols))
    total = {c: 0 for c in ["sites", "neither", "no_data"] + names}
    hit = {r: [0, 0] for r in names}
    for f in handlers:
        s = f["sites"]
        for c in total:
            total[c] += s[c]
        for r in names:
            hit[r][0] += f["runs"][r]["lines_hit"]
            hit[r][1] += f["runs"][r]["lines"]
        print(row([os.path.basename(f["file"]), s["sites"]] + [s[r] for r in names] + [s["neither"], s["no_data"]]
                  + [pct(f["runs"][r]["line_pct"]) for r in names]))
    print(row(["total", total["sites"]] + [total[r] for r in names] + [total["neither"], total["no_data"]]
              + [pct(100.0 * h / n if n else None) for h, n in hit.values()]))

if __name__ == "__main__":
    try:
        main()
    except (BadInput, OSError, tarfile.TarError, subprocess.TimeoutExpired) as e:
        print(f"coverage-report: error: {e}", file=sys.stderr)
        sys.exit(2)
