"""The HTML pages of scripts/coverage-report.py: index.html (files, sites)
and one page per file, its lines coloured by which runs reached them."""
import html

COLOURS = ["#cfe2ff", "#ffe8a3", "#e3d0ff", "#ffd0e8"]  # reached by this run only
ALL, NONE = "#c9efc9", "#f8c8c8"                       # by every run / by none


def pct(v):
    return "-" if v is None else f"{v:.1f}%"


def page_name(key):
    return key.replace("/", "_") + ".html"


def colour(reached, names):
    hit = [n for n in names if reached.get(n)]
    if not hit:
        return NONE
    return ALL if len(hit) == len(names) else COLOURS[names.index(hit[0]) % len(COLOURS)]


def legend(names):
    items = [(ALL, "every run"), (NONE, "no run")] if len(names) > 1 else [(ALL, names[0]), (NONE, "not reached")]
    if len(names) > 1:
        items[1:1] = [(COLOURS[i % len(COLOURS)], f"{n} only" if len(names) == 2 else f"{n} (first)")
                      for i, n in enumerate(names)]
    return " ".join(f'<span style="background:{c};padding:0 .4em">{html.escape(t)}</span>' for c, t in items)


STYLE = ("<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{padding:1px 6px;"
         "border-bottom:1px solid #ddd;text-align:right}td.l,th.l{text-align:left}"
         "pre{margin:0}.src td{border:0;font-family:monospace;white-space:pre;text-align:left}</style>")


def write_file_page(path, key, text, names, runs, sites):
    site_at = {s["line"]: s for s in sites}
    rows = []
    for n, src_line in enumerate(text.split("\n"), 1):
        counts = [runs[r].get(key, {}).get(n) for r in names]
        executable = any(c is not None for c in counts)
        bg = colour({r: c and c[0] > 0 for r, c in zip(names, counts)}, names) if executable else "transparent"
        cells = "".join(f"<td>{'' if c is None else c[0]}</td>" for c in counts)
        mark = site_at.get(n)
        tag = f'<b title="{mark["kind"]}">{mark["errno"]}</b>' if mark else ""
        rows.append(f'<tr style="background:{bg}"><td>{n}</td>{cells}<td>{tag}</td><td>{html.escape(src_line)}</td></tr>')
    head = "".join(f"<th>{html.escape(r)}</th>" for r in names)
    with open(path, "w") as f:
        f.write(f"<!doctype html><meta charset=utf-8><title>{html.escape(key)}</title>{STYLE}"
                f"<h1>{html.escape(key)}</h1><p><a href=../index.html>index</a> &middot; {legend(names)}"
                f" &middot; bold: error-exit site (errno)</p><table class=src><tr><th>line</th>{head}"
                f"<th>site</th><th class=l>source</th></tr>{''.join(rows)}</table>\n")


def site_cell(site, run):
    count = site["counts"][run]
    if count is None:
        return "n/d"
    return f"<i>{count}</i>" if site["count_from"][run] == "branch" else str(count)


def write_index(path, report, names):
    head = "".join(f"<th>{html.escape(r)} lines</th><th>{html.escape(r)} branches</th>" for r in names)
    rows = []
    for f in report["files"]:
        cells = "".join(f"<td>{pct(f['runs'][r]['line_pct'])}</td><td>{pct(f['runs'][r]['branch_pct'])}</td>"
                        for r in names)
        sites = f.get("sites")
        site_cells = "<td></td>" * (len(names) + 3) if sites is None else \
            f"<td>{sites['sites']}</td>" + "".join(f"<td>{sites[r]}</td>" for r in names) \
            + f"<td>{sites['neither']}</td><td>{sites['no_data']}</td>"
        rows.append(f'<tr><td class=l><a href="files/{page_name(f["file"])}">{html.escape(f["file"])}</a></td>'
                    f"<td>{f['lines']}</td>{cells}{site_cells}</tr>")
    site_rows = "".join(
        f'<tr style="background:{colour({r: s["counts"][r] for r in names}, names)}"><td class=l>'
        f'<a href="files/{page_name(s["file"])}">{html.escape(s["file"])}:{s["line"]}</a></td>'
        f'<td class=l>{s["errno"]}</td><td class=l>{s["kind"]}</td>'
        + "".join(f"<td>{site_cell(s, r)}</td>" for r in names)
        + "</tr>" for s in report["sites"])
    site_head = "".join(f"<th>reached by {html.escape(r)}</th>" for r in names)
    with open(path, "w") as f:
        f.write(f"<!doctype html><meta charset=utf-8><title>coverage: {html.escape(report['kernel'])}</title>{STYLE}"
                f"<h1>Coverage of {html.escape(report['kernel'])}</h1><p>{legend(names)}</p>"
                f"<h2>Files</h2><table><tr><th class=l>file</th><th>lines</th>{head}<th>sites</th>{site_head}"
                f"<th>neither</th><th>n/d</th></tr>{''.join(rows)}</table><h2>Error-exit sites of the ioctl handler files</h2>"
                f"<p>times each run reached the site: its line's count, or <i>from its if's branches</i> where -O2 "
                f"left it no line; n/d: gcov has neither</p><table><tr><th class=l>site</th>"
                f"<th class=l>errno</th><th class=l>kind</th>{''.join(f'<th>{html.escape(r)}</th>' for r in names)}"
                f"</tr>{site_rows}</table>\n")
