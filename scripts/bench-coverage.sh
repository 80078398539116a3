#!/usr/bin/env bash
# Benchmark: the coverage check reading a ~100 MB LCOV report of a generated 100-service fleet
# (10,000 source files), against the floors of reading the same bytes (`wc -l`, ripgrep
# counting DA records) and lcov's own `lcov --summary` (Debian package lcov) when installed.
# Target (issue 5): under 1 s and under 200 MB of memory.
# Needs hyperfine (Debian package). Usage: scripts/bench-coverage.sh [MB]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-100}
dir=target/bench-coverage
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)"; exit 2; }
cargo build --release --locked -q
bin=$PWD/target/release/fleetward

rm -rf "$dir" && mkdir -p "$dir"
python3 - "$dir" "$mb" <<'PY'
import os, random, sys
dir, mb = sys.argv[1], int(sys.argv[2])
random.seed(7)
fleet = os.path.join(dir, "fleet")
files = []
for s in range(100):
    pkg = f"services/svc-{s:03}"
    os.makedirs(os.path.join(fleet, pkg, "src"), exist_ok=True)
    with open(os.path.join(fleet, pkg, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "svc-{s:03}"\nversion = "0.1.0"\nedition = "2021"\n')
    for i in range(100):
        rel = f"{pkg}/src/{'main' if i == 0 else f'm{i:03}'}.rs"
        with open(os.path.join(fleet, rel), "w") as f:
            f.write("fn f() {}\n")
        files.append(rel)
# A CI runner's checkout path, llvm-cov style records: mangled function names, DA, BRDA.
target = mb * 1024 * 1024
out = open(os.path.join(dir, "lcov.info"), "w")
written, rec = 0, 0
while written < target:
    rel = files[rec % len(files)]
    rec += 1
    parts = [f"SF:/home/runner/work/acme/acme/{rel}\n"]
    lines = sorted(random.sample(range(1, 4000), 700))
    fns = lines[::35]
    for j, l in enumerate(fns):
        parts.append(f"FN:{l},_RNvMs_NtCs4fqI2P2rA04_{rel.replace('/', '_')[:40]}9function{j}\n")
    for j, l in enumerate(fns):
        parts.append(f"FNDA:{random.choice([0, 1, 7, 1234])},_RNvMs_NtCs4fqI2P2rA04_{rel.replace('/', '_')[:40]}9function{j}\n")
    parts.append(f"FNF:{len(fns)}\nFNH:{len(fns)}\n")
    for l in lines:
        parts.append(f"DA:{l},{random.choice([0, 0, 1, 3, 120, 45678])}\n")
    for l in lines[::20]:
        parts.append(f"BRDA:{l},0,0,{random.choice(['-', '0', '5'])}\nBRDA:{l},0,1,{random.choice(['-', '0', '5'])}\n")
    parts.append(f"BRF:0\nBRH:0\nLF:{len(lines)}\nLH:0\nend_of_record\n")
    s = "".join(parts)
    out.write(s)
    written += len(s)
out.close()
print(f"fleet: 100 services, {len(files)} files; report: {written / 1048576:.1f} MiB, {rec} records")
PY

report=$dir/lcov.info
check="$bin check $dir/fleet --only coverage --coverage $report --no-cache --format json -o /dev/null"
peers=(-n fleetward "$check" -n "wc -l (read the bytes)" "wc -l $report" -n "ripgrep (count DA records)" "rg -c '^DA:' $report")
if command -v lcov >/dev/null; then
  peers+=(-n "lcov --summary" "lcov --summary $report")
fi
hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json target/bench-coverage.json "${peers[@]}"

/usr/bin/time -f '%M' -o "$dir/rss" $check
rss_mb=$(( $(cat "$dir/rss") / 1024 ))
python3 - "$rss_mb" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open("target/bench-coverage.json"))["results"]}
fw = r["fleetward"]
print(f"\nfleetward --only coverage: mean {fw['mean']*1000:.0f} ms (median {fw['median']*1000:.0f} ms), peak RSS {sys.argv[1]} MB")
for name, x in r.items():
    if name != "fleetward":
        print(f"  {name}: {x['median']*1000:.0f} ms median; fleetward takes {fw['median']/x['median']:.2f}x")
print(f"target: < 1000 ms and < 200 MB: {'met' if fw['median'] < 1 and int(sys.argv[1]) < 200 else 'NOT met'}")
PY
