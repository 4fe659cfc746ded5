#!/usr/bin/env python3
"""Compare two runs of the kernel's iommufd selftests, one KTAP file each: the real
kernel's (the lane VM) and the simulator's (uapi-conform sim-exec).
  kselftest-diff.py LIVE.ktap SIM.ktap [--all] [--groups] [--json FILE]
                    [--differences TSV] [--kernel-failures TSV]
Prints one table (test, real verdict, simulated verdict, reason; only the rows
that differ unless --all), then a summary line. Reasons: test-glob<TAB>reason
lines ('#' starts a comment; first match wins) in --differences (why the
simulator differs; fixtures/kselftest/differences-7.2.tsv) and
--kernel-failures (why the real kernel itself fails or skips a test;
fixtures/kselftest/kernel-failures-7.2.tsv). --groups adds the unexplained
differences grouped by the simulated run's first failing assertion (what to
fix first). Verdicts: pass, skip, fail, xfail, xpass, timeout, crash (a
signal, or the binary died in the test), missing (not in that file; "not
run" when its binary ended early). Exit 0 when every difference has a
reason, 1 when some has none, 2 on broken input (one line on stderr).
"""
import argparse
import fnmatch
import json
import os
import re
import sys
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULT = re.compile(r'^(not ok|ok) (\d+) (\S+)(?: # (\w+)(?: (.*))?)?$')
RUN = re.compile(r'^#\s+RUN\s+(\S+) \.\.\.$')
# Written by scripts/kselftest-diff.sh after each binary: its exit status.
MARK = re.compile(r'^# kselftest-diff: (\S+) exit (\d+)$')
ASSERT = re.compile(r'^# ([\w.-]+\.[ch]:\d+):[^:]*:(.*)$')
# glibc's assert(): "prog: file.c:NNN: function: Assertion `...' failed." (stderr, no '#').
CASSERT = re.compile(r'^\S+: ([\w.-]+\.[ch]:\d+): [^:]*: (Assertion .*)$')
SIGNAL = re.compile(r'Test terminated unexpectedly by signal (\d+)')
# The Swift runtime's backtracer (in the simulator's preload, when enabled)
# catches the signal the harness forwards, so such a test can even say "ok".
SWIFT_CRASH = re.compile(r'^\*\*\* Program crashed: (.*?) \*\*\*$', re.M)
PASSING = ('pass', 'xfail', 'xpass')
SIGNAMES = {4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV'}


class BadInput(Exception):
    pass


class Test:
    def __init__(self, name):
        self.name, self.verdict, self.detail, self.first_assert = name, 'missing', '', ''


def ended_abnormally(status):
    """Exit statuses of a binary that stopped before its own end (timeout(1), a signal)."""
    return status not in (0, 1, 4)  # 4: KSFT_SKIP for the whole binary


def swift_crash(diag, t):
    """(verdict, detail) when the backtracer reported a signal in this test, else None. An abort
    (ASSERT_*() or assert()) is a failure; any other signal a crash."""
    m = SWIFT_CRASH.search('\n'.join(diag))
    if not m:
        return None
    if m.group(1).startswith('Aborted'):
        return 'fail', t.first_assert or 'aborted (Swift backtracer)'
    return 'crash', 'Swift backtracer: ' + m.group(1)


def classify(t, diag):
    """A 'not ok' is a timeout or a crash when the harness says so; a plain failure otherwise."""
    text, swift, m = '\n'.join(diag), swift_crash(diag, t), SIGNAL.search('\n'.join(diag))
    if swift and swift[0] == 'crash':
        return swift
    if 'Test terminated by timeout' in text:
        return 'timeout', "the harness's per-test timeout killed it"
    if m:
        return 'crash', 'signal %s (%s)' % (m.group(1), SIGNAMES.get(int(m.group(1)), '?'))
    if 'Test ended in some other way' in text:
        return 'crash', 'ended in some other way'
    # "Test terminated by assertion" is SIGABRT from ASSERT_*(): a failure, not a crash.
    return 'fail', t.first_assert


def parse(path):
    """KTAP of one or more selftest binaries -> (OrderedDict name -> Test, {binary: status})."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise BadInput('cannot read %s: %s' % (path, e.strerror))
    tests, ends, running, diag, seen_tap = OrderedDict(), {}, None, [], False
    for line in lines:
        line = line.rstrip()
        if line.startswith(('TAP version', 'KTAP version')) or re.match(r'^1\.\.\d+$', line):
            seen_tap = True
            continue
        m = RUN.match(line)
        if m:
            running, diag = tests.setdefault(m.group(1), Test(m.group(1))), []
            running.verdict = 'running'
            continue
        m = MARK.match(line)
        if m:
            status = int(m.group(2))
            ends[m.group(1)] = status
            if running is not None and running.verdict == 'running':
                # The binary died inside this test: no result line was printed.
                cause = 'timeout' if status in (124, 137) else 'crash'
                running.verdict = cause
                running.detail = '%s ended with exit %d during this test' % (m.group(1), status)
            running = None
            continue
        m = RESULT.match(line)
        if m:
            seen_tap = True
            t = tests.setdefault(m.group(3), Test(m.group(3)))
            directive = (m.group(4) or '').upper()
            if m.group(1) == 'ok':
                t.verdict = {'SKIP': 'skip', 'XFAIL': 'xfail', 'XPASS': 'xpass'}.get(directive, 'pass')
                t.detail = (m.group(5) or '').strip() if directive else ''
                t.verdict, t.detail = swift_crash(diag, t) or (t.verdict, t.detail)
            else:
                t.verdict, t.detail = classify(t, diag)
            running, diag = None, []
            continue
        if running is not None:
            diag.append(line)
            a = ASSERT.match(line) or CASSERT.match(line)
            if a and not running.first_assert:
                running.first_assert = '%s: %s' % (a.group(1), a.group(2).strip())
    if not seen_tap:
        first = next((l.strip() for l in lines if l.strip()), '(empty)')
        raise BadInput('%s is not KTAP: no version, plan or result line (first line: %s)' % (path, clip(first, 100)))
    for t in tests.values():
        if t.verdict == 'running':  # RUN without a result and no end marker: the file was cut short
            t.verdict, t.detail = 'crash', 'no result line (output cut short)'
    return tests, ends


def read_reasons(path):
    """test-glob<TAB>reason lines -> list of [glob, reason, used]."""
    if not os.path.exists(path):
        return []
    out = []
    try:
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip('\n')
                if not line.strip() or line.lstrip().startswith('#'):
                    continue
                glob, sep, reason = line.partition('\t')
                if not sep or not glob.strip() or not reason.strip():
                    raise BadInput('%s:%d: want test-glob<TAB>reason' % (path, n))
                out.append([glob.strip(), reason.strip(), False])
    except OSError as e:
        raise BadInput('cannot read %s: %s' % (path, e.strerror))
    return out


def lookup(reasons, name):
    for r in reasons:
        if fnmatch.fnmatchcase(name, r[0]):
            r[2] = True
            return r[1]
    return ''


def missing_detail(ends):
    early = ['%s ended early (exit %d)' % (b, s) for b, s in ends.items() if ended_abnormally(s)]
    return 'not run: ' + ', '.join(early) if early else 'not in this KTAP'


def rows(real, real_ends, sim, sim_ends, diffs, kfail):
    names = list(real) + [n for n in sim if n not in real]
    out = []
    for name in names:
        r, s = real.get(name) or Test(name), sim.get(name) or Test(name)
        if r.verdict == 'missing':
            r.detail = missing_detail(real_ends)
        if s.verdict == 'missing':
            s.detail = missing_detail(sim_ends)
        differs = r.verdict != s.verdict
        kernel_reason = lookup(kfail, name) if r.verdict not in PASSING else ''
        reason, source = '', ''
        if differs:
            reason = lookup(diffs, name)
            source = 'differences' if reason else ''
            if not reason and kernel_reason:
                reason, source = 'real kernel: ' + kernel_reason, 'kernel-failures'
        out.append(OrderedDict([
            ('test', name), ('real', r.verdict), ('sim', s.verdict), ('differs', differs),
            ('reason', reason), ('reason_source', source), ('kernel_reason', kernel_reason),
            ('real_detail', r.detail or r.first_assert), ('sim_detail', s.detail or s.first_assert),
            ('sim_first_assert', s.first_assert)]))
    return out


def side_summary(rows_, side):
    c = {}
    for r in rows_:
        c[r[side]] = c.get(r[side], 0) + 1
    p = sum(c.get(v, 0) for v in PASSING)
    extra = ['%d %s' % (c[k], k) for k in ('timeout', 'crash', 'missing') if c.get(k)]
    s = '%d pass, %d skip, %d fail' % (p, c.get('skip', 0), c.get('fail', 0))
    return s + (' (' + ', '.join(extra) + ')' if extra else '')


def summary(rows_):
    real_pass = [r for r in rows_ if r['real'] in PASSING]
    both = [r for r in real_pass if r['sim'] in PASSING]
    pct = 100.0 * len(both) / len(real_pass) if real_pass else 0.0
    diff = [r for r in rows_ if r['differs']]
    unexplained = [r for r in diff if not r['reason']]
    line = ('real: %s; sim: %s; of the %d tests passing on the real kernel, %d pass simulated (%.1f%%); '
            '%d differ, %d without a reason') % (side_summary(rows_, 'real'), side_summary(rows_, 'sim'),
                                                  len(real_pass), len(both), pct, len(diff), len(unexplained))
    return line, len(unexplained)


def clip(s, n):
    return s if len(s) <= n else s[:n - 1] + '…'


def table(rows_, show_all):
    shown = [r for r in rows_ if show_all or r['differs']]
    if not shown:
        return ['no differences']
    w = max(len(r['test']) for r in shown)
    out = ['%-*s  %-7s  %-7s  %s' % (w, 'test', 'real', 'sim', 'reason')]
    for r in shown:
        why = r['reason'] or (r['kernel_reason'] and 'real kernel: ' + r['kernel_reason'])
        if not why and r['differs']:
            detail = r['sim_detail'] if r['sim'] not in PASSING else r['real_detail']
            why = 'NO REASON' + (': ' + detail if detail else '')
        out.append('%-*s  %-7s  %-7s  %s' % (w, r['test'], r['real'], r['sim'], clip(why or '', 160)))
    return out


def groups(rows_):
    """Unexplained differences by the simulated run's first failing assertion, biggest first."""
    g = OrderedDict()
    for r in rows_:
        if not r['differs'] or r['reason']:
            continue
        key = r['sim_first_assert'] or '%s (%s)' % (r['sim'], r['sim_detail'] or 'no assertion line')
        g.setdefault(key, []).append(r['test'])
    out = ['', 'unexplained differences by first failing assertion (simulated run):']
    for key, names in sorted(g.items(), key=lambda kv: -len(kv[1])):
        out.append('%4d  %s' % (len(names), clip(key, 150)))
        out.append('      e.g. ' + clip(', '.join(names[:4]) + (', …' if len(names) > 4 else ''), 150))
    return out if g else []


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('live')
    ap.add_argument('sim')
    ap.add_argument('--all', action='store_true', help='print every test, not only the differences')
    ap.add_argument('--groups', action='store_true', help='group unexplained differences by assertion')
    ap.add_argument('--json', metavar='FILE', help='write the rows and the summary as JSON')
    ap.add_argument('--differences', default=os.path.join(ROOT, 'fixtures/kselftest/differences-7.2.tsv'))
    ap.add_argument('--kernel-failures',
                    default=os.path.join(ROOT, 'fixtures/kselftest/kernel-failures-7.2.tsv'))
    a = ap.parse_args(argv)
    try:
        real, real_ends = parse(a.live)
        sim, sim_ends = parse(a.sim)
        if not real:
            raise BadInput('%s has no test results' % a.live)
        diffs, kfail = read_reasons(a.differences), read_reasons(a.kernel_failures)
    except BadInput as e:
        print('kselftest-diff: error: %s' % e, file=sys.stderr)
        return 2
    rs = rows(real, real_ends, sim, sim_ends, diffs, kfail)
    line, unexplained = summary(rs)
    out = table(rs, a.all)
    if a.groups:
        out += groups(rs)
    unused = [r[0] for r in diffs if not r[2]]
    if unused:
        out.append('note: difference globs matching no difference (stale?): ' + ', '.join(unused))
    unnamed = [r['test'] for r in rs if r['real'] not in PASSING and not r['kernel_reason']]
    if unnamed:
        out.append('note: real-kernel non-passes with no reason in %s: %s'
                   % (os.path.relpath(a.kernel_failures), ', '.join(unnamed)))
    print('\n'.join(out + ['', line]))
    if a.json:
        try:
            with open(a.json, 'w', encoding='utf-8') as f:
                json.dump({'summary': line, 'real_ends': real_ends, 'sim_ends': sim_ends, 'rows': rs},
                          f, indent=1)
                f.write('\n')
        except OSError as e:
            print('kselftest-diff: error: cannot write %s: %s' % (a.json, e.strerror), file=sys.stderr)
            return 2
    return 1 if unexplained else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
