#!/usr/bin/env bash
# Benchmark: `fleetward audit` over a generated fleet of 100 workspaces against a loop of
# `cargo audit --no-fetch --no-yanked` over the same lockfiles with the same database.
# Needs hyperfine (Debian package) and cargo-audit (installed here if missing).
# Usage: scripts/bench-audit.sh [WORKSPACES]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
fleet=target/bench-fleet
shared=../shared

command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)"; exit 2; }
command -v cargo-audit >/dev/null || cargo install cargo-audit --locked
cargo build --release --locked -q
bin=$PWD/target/release/fleetward

# Real lockfiles when the shared corpus is present, else the repository's own fixtures.
if [ -d "$shared/lockfiles" ]; then
  mapfile -t locks < <(ls "$shared"/lockfiles/*/Cargo.lock)
  db=$shared/advisory-db
else
  mapfile -t locks < <(find fixtures/demo fixtures/monorepo -name Cargo.lock | sort)
  db=fixtures/demo/advisory-db
fi
db=$(cd "$db" && pwd)

rm -rf "$fleet"
for i in $(seq -w 1 "$n"); do
  ws=$fleet/ws-$i
  mkdir -p "$ws"
  printf '[workspace]\nmembers = []\n' > "$ws/Cargo.toml"
  cp "${locks[$((10#$i % ${#locks[@]}))]}" "$ws/Cargo.lock"
done
echo "fleet: $n workspaces in $fleet, ${#locks[@]} distinct real lockfiles, database $db"

hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json target/bench-audit.json \
  -n fleetward "$bin audit $fleet --advisory-db $db --format json -o /dev/null" \
  -n cargo-audit-loop "for l in $fleet/*/Cargo.lock; do cargo audit --no-fetch --no-yanked --db $db -f \$l >/dev/null 2>&1; done"

python3 - <<'PY'
import json
r = {x["command"]: x for x in json.load(open("target/bench-audit.json"))["results"]}
fw, ca = r["fleetward"]["median"], r["cargo-audit-loop"]["median"]
print(f"median: fleetward {fw*1000:.0f} ms, cargo-audit loop {ca*1000:.0f} ms, ratio {ca/fw:.1f}x")
PY
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$bin" audit "$fleet" --advisory-db "$db" --format json -o /dev/null 2> target/bench-audit-time.txt || true
  awk -F: '/Maximum resident set size/ {printf "fleetward peak RSS: %.1f MB\n", $2/1024}' target/bench-audit-time.txt
fi
