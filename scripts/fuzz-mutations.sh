#!/usr/bin/env bash
# Every --sim-mutation against a real kernel in the lane (issue 11): `vm -- fuzz --backend sim+live
# --sim-mutation M` from a fixed seed must report a disagreement within SECONDS; every minimised case
# it writes must fail on the mutated simulator (`run --backend sim --sim-mutation M`) and pass on the
# real kernel (one more boot runs them all live). Exit 1 if a mutation is not found or a case does
# not replay so; 2 on bad input.
#   scripts/fuzz-mutations.sh --bin UAPI_CONFORM --kernel BZIMAGE [--profile P] [--seed S]
#                             [--seconds N] [--out DIR] [MUTATION...]
# Without MUTATIONs: those of `list --mutations` that need no TSM device (the 7.2 lane has no TSM).
set -euo pipefail
die() { echo "fuzz-mutations: error: $*" >&2; exit 2; }
bin="" kernel="" profile=linux-7.2 seed=2 seconds=10 out=out/vm-fuzz-mutations
while [ $# -gt 0 ]; do
	case $1 in
		--bin) bin=${2:?}; shift 2 ;;
		--kernel) kernel=${2:?}; shift 2 ;;
		--profile) profile=${2:?}; shift 2 ;;
		--seed) seed=${2:?}; shift 2 ;;
		--seconds) seconds=${2:?}; shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		--) shift; break ;;
		-*) die "unknown option $1" ;;
		*) break ;;
	esac
done
[ -x "$bin" ] || die "--bin $bin is not an executable"
[ -f "$kernel" ] || die "--kernel $kernel is not a file"
mutations=("$@")
[ ${#mutations[@]} -gt 0 ] || mapfile -t mutations < <("$bin" list --mutations | grep -v '^tsm')
mkdir -p "$out"
failed=0
for m in "${mutations[@]}"; do
	dir="$out/$m"
	rm -rf "$dir"
	rc=0
	"$bin" vm --timeout $(( seconds + 300 )) --kernel "$kernel" --out "$dir" -- fuzz --backend sim+live \
		--profile "$profile" --sim-mutation "$m" --seed "$seed" --seconds "$seconds" --out "$dir" \
		>"$dir.log" 2>&1 || rc=$?
	first=$(grep -m1 '^finding 1:' "$dir.log" || true)
	if [ "$rc" -ne 1 ] || [ -z "$first" ]; then
		echo "fuzz-mutations: $m: NOT found within ${seconds}s (exit $rc; $dir.log)"
		failed=1
		continue
	fi
	echo "fuzz-mutations: $m: ${first#finding 1: }"
	if "$bin" run --backend sim --profile "$profile" --sim-mutation "$m" --cases "$dir/findings.json" >"$dir.sim" 2>&1
	then
		echo "fuzz-mutations: $m: its cases pass on the mutated simulator ($dir.sim)"
		failed=1
	fi
done
# Every case found, on the real kernel: one boot.
python3 - "$out" "${mutations[@]}" <<'PY'
import json, os, sys
out, ms = sys.argv[1], sys.argv[2:]
cases = []
for m in ms:
    p = os.path.join(out, m, "findings.json")
    if os.path.exists(p):
        for c in json.load(open(p)):
            c["id"] = c["id"] + "." + m
            cases.append(c)
json.dump(cases, open(os.path.join(out, "all-findings.json"), "w"), indent=1)
print(f"fuzz-mutations: {len(cases)} minimised cases to replay on the kernel")
PY
if ! "$bin" vm --timeout 300 --kernel "$kernel" --out "$out/replay" -- run --backend live --profile "$profile" \
	--cases "$out/all-findings.json" >"$out/replay.log" 2>&1; then
	echo "fuzz-mutations: the cases do not all pass on the real kernel ($out/replay.log):"
	grep -E '^FAIL' "$out/replay.log" | head -20
	failed=1
else
	tail -n 1 "$out/replay.log"
fi
exit $failed
