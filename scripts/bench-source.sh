#!/usr/bin/env bash
# Benchmark the source checks (`banned`, `unsafe`, `secrets`) on a real Rust tree against
# semgrep running the same banned-function rules (bench/semgrep-banned.yml) and ripgrep
# searching the same names (the floor), then the cache: an unchanged rerun against the cold run.
#
#   scripts/bench-source.sh PATH/TO/RUST/TREE [THREADS]
#
# Needs hyperfine, ripgrep (`apt-get install hyperfine ripgrep`) and semgrep
# (`pip install semgrep`); prints wall times, ratios, fleetward's peak RSS, and checks that
# the report is byte-identical with 1 and N threads.
set -euo pipefail
tree=${1:?usage: scripts/bench-source.sh PATH [THREADS]}
jobs=${2:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
fw="$here/target/release/fleetward"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

names='transmute|transmute_copy|ptr::(read|write|copy|copy_nonoverlapping|write_bytes|read_unaligned|write_unaligned)|uninitialized|zeroed|from_raw_parts|from_raw_parts_mut|Box::from_raw|from_utf8_unchecked|set_var|remove_var|libc::(system|popen)|Command::new|danger_accept_invalid_(certs|hostnames)|ssl_verify_(peer|host)|insecure_decode|insecure_disable_signature_validation|validate_exp|unsafe'
lines=$(find "$tree" -name '*.rs' -not -path '*/target/*' -type f -print0 | xargs -0 cat 2>/dev/null | wc -l)
echo "tree: $tree ($lines lines of Rust), $jobs threads, $(nproc) cores"

cold="$fw check $tree --only banned,unsafe,secrets --no-cache -j $jobs --format json -o /dev/null"
sg="semgrep scan --config $here/bench/semgrep-banned.yml --metrics=off --disable-version-check --jobs $jobs --quiet --json -o /dev/null $tree"
rgc="rg -j $jobs -c -t rust -e '$names' $tree"
hyperfine --warmup 1 --min-runs 3 --ignore-failure --export-json "$out/h.json" \
  -n fleetward "$cold" -n semgrep "$sg" -n ripgrep "$rgc" >&2
python3 - "$out/h.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
f, s, g = r["fleetward"], r["semgrep"], r["ripgrep"]
print(f"median wall: fleetward {f*1000:.0f} ms, semgrep {s*1000:.0f} ms, ripgrep {g*1000:.0f} ms")
print(f"fleetward is {s/f:.1f}x faster than semgrep, {f/g:.1f}x the time of ripgrep")
PY

{ /usr/bin/time -f "fleetward peak RSS: %M KB" $cold 2>&1 >/dev/null || true; } | tail -1

"$fw" check "$tree" --only banned,unsafe,secrets --no-cache -j 1 --format json -o "$out/j1.json" || true
"$fw" check "$tree" --only banned,unsafe,secrets --no-cache -j "$jobs" --format json -o "$out/jn.json" || true
cmp -s "$out/j1.json" "$out/jn.json" && echo "-j1 and -j$jobs reports: byte-identical" \
  || { echo "-j1 and -j$jobs reports DIFFER"; exit 1; }

cache="$out/cache"
warm="$fw check $tree --only banned,unsafe,secrets --cache-dir $cache -j $jobs --format json -o /dev/null"
hyperfine --min-runs 3 --ignore-failure --export-json "$out/c.json" \
  --prepare "rm -rf $cache" --prepare true -n cold "$warm" -n warm "$warm" >&2
python3 - "$out/c.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"cache: cold {r['cold']*1000:.0f} ms, warm {r['warm']*1000:.0f} ms: {r['cold']/r['warm']:.1f}x faster unchanged")
PY
