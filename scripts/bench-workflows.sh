#!/usr/bin/env bash
# Benchmark the CI and pre-commit workflows (issue 6) on a generated git repository of 100
# services (10 workspaces of 10 services, 5 shared libraries, ~60 Rust files per service):
#   cold  full `check`, empty cache          warm  full `check`, unchanged tree, cache filled
#   changed  `--changed-since HEAD` after editing one file of one service
#   staged   `--staged` with one edited file of one service in the index
# Targets: warm at least 10x faster than cold; staged under 300 ms.
# Or on a real repository: scripts/bench-workflows.sh --repo PATH [FILE-TO-EDIT] (a clone of it
# is used; DB=DIR for a real advisory database, default the demo's).
# Needs hyperfine (Debian package). Usage: scripts/bench-workflows.sh [SERVICES]  (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=""
if [ "${1:-}" = "--repo" ]; then
  repo=$(cd "${2:?usage: --repo PATH [FILE]}" && pwd)
  edit_rel=${3:-}
  n=0
else
  n=${1:-100}
fi
dir=$PWD/target/bench-workflows
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)"; exit 2; }
cargo build --release --locked -q
bin=$PWD/target/release/fleetward
db=${DB:-$PWD/fixtures/demo/advisory-db}
db=$(cd "$db" && pwd)
lock=$PWD/fixtures/demo/services/Cargo.lock

rm -rf "$dir" && mkdir -p "$dir"
if [ -n "$repo" ]; then
  git clone -q "$repo" "$dir/fleet"
fi
[ -n "$repo" ] || python3 - "$dir/fleet" "$n" "$lock" <<'PY'
import os, random, shutil, sys
root, n, lock = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(11)
def write(rel, text):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)

def module(i, svc):
    # Ordinary service code: types, parsing, a little unsafe with and without SAFETY comments.
    out = [f"//! Module {i} of {svc}.", "use std::collections::HashMap;", ""]
    for j in range(12):
        out += [
            f"pub struct Item{j} {{ pub id: u64, pub name: String, pub tags: Vec<String> }}",
            f"impl Item{j} {{",
            f"    pub fn parse(input: &str) -> Option<Self> {{",
            f"        let mut parts = input.split(',');",
            f"        let id = parts.next()?.trim().parse().ok()?;",
            f"        let name = parts.next()?.to_string();",
            f"        Some(Self {{ id, name, tags: parts.map(str::to_string).collect() }})",
            f"    }}",
            f"    pub fn index(items: &[Self]) -> HashMap<u64, &Self> {{",
            f"        items.iter().map(|i| (i.id, i)).collect()",
            f"    }}",
            f"}}",
        ]
    if i % 7 == 0:
        out += ["pub fn first(v: &[u8]) -> u8 {", "    // SAFETY: callers pass a non-empty slice.",
                "    unsafe { *v.get_unchecked(0) }", "}"]
    if i % 13 == 0:
        out += ["pub fn bits(x: f32) -> u32 {", "    unsafe { std::mem::transmute(x) }", "}"]
    return "\n".join(out) + "\n"

write("fleetward.toml", 'fail_on = "high"\n[advisories]\nmax_db_age = 0\n')
libs = [f"lib-{k}" for k in range(5)]
for k, lib in enumerate(libs):
    write(f"libs/{lib}/Cargo.toml", f'[package]\nname = "{lib}"\nversion = "0.1.0"\nedition = "2021"\n')
    write(f"libs/{lib}/src/lib.rs", "\n".join(f"pub mod m{i};" for i in range(20)) + "\n")
    for i in range(20):
        write(f"libs/{lib}/src/m{i}.rs", module(i, lib))
for w in range(n // 10):
    members = []
    for s in range(10):
        svc = f"svc-{w:02}-{s}"
        members.append(svc)
        uses = random.sample(libs, 2)
        deps = "".join(f'{l} = {{ path = "../../libs/{l}" }}\n' for l in uses)
        write(f"ws-{w:02}/{svc}/Cargo.toml",
              f'[package]\nname = "{svc}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n{deps}')
        write(f"ws-{w:02}/{svc}/src/main.rs",
              "\n".join(f"mod m{i};" for i in range(60)) + "\nfn main() {}\n")
        for i in range(60):
            write(f"ws-{w:02}/{svc}/src/m{i}.rs", module(i, svc))
    write(f"ws-{w:02}/Cargo.toml", "[workspace]\nmembers = [" + ", ".join(f'"{m}"' for m in members) + "]\n")
    shutil.copy(lock, os.path.join(root, f"ws-{w:02}/Cargo.lock"))
PY
fleet=$dir/fleet
cache=$dir/cache
if [ -z "$repo" ]; then
  git -C "$fleet" init -q -b main
  git -C "$fleet" add -A
  git -C "$fleet" -c user.name=bench -c user.email=bench@example.com commit -qm fleet
  edit_rel=ws-03/svc-03-4/src/m5.rs
fi
[ -n "$edit_rel" ] || edit_rel=$(git -C "$fleet" ls-files '*.rs' | head -1)
files=$(git -C "$fleet" ls-files | wc -l)
bytes=$(git -C "$fleet" ls-files -z | (cd "$fleet" && xargs -0 cat) | wc -c)
echo "fleet: ${repo:-$n generated services}, $files files, $((bytes / 1024 / 1024)) MiB, in $fleet; edited: $edit_rel"

run="$bin check $fleet --advisory-db $db --cache-dir $cache --format json -o /dev/null"
edit="$fleet/$edit_rel"
# The files get old enough for the cache's stamps (modified more than 2 s before a run).
touch -d '1 minute ago' $(git -C "$fleet" ls-files | sed "s|^|$fleet/|")
$run || true

cp "$edit" "$dir/m5.rs"
edit_one="cp $dir/m5.rs $edit; echo '// edited' >> $edit"
bench() { # NAME PREPARE COMMAND
  hyperfine --warmup 1 --runs "${RUNS:-10}" -i --export-json "$dir/$1.json" -n "$1" --prepare "$2" "$3"
}
bench cold "rm -rf $cache" "$run"
bench warm "true" "$run"
bench changed-since "$edit_one" "$run --changed-since HEAD"
bench staged "git -C $fleet reset -q; $edit_one; git -C $fleet add ${edit#"$fleet"/}" \
  "cd $fleet && $bin check --staged --advisory-db $db --cache-dir $cache --format json -o /dev/null"
git -C "$fleet" reset -q
cp "$dir/m5.rs" "$edit"

python3 - "$dir" <<'PY'
import json, sys
r = {}
for k in ["cold", "warm", "changed-since", "staged"]:
    x = json.load(open(f"{sys.argv[1]}/{k}.json"))["results"][0]
    r[k] = x["median"]
    print(f"{k:14} median {x['median'] * 1000:8.1f} ms  (min {x['min'] * 1000:.1f}, max {x['max'] * 1000:.1f})")
print(f"warm is {r['cold'] / r['warm']:.1f}x faster than cold (target >= 10x)")
print(f"changed-since is {r['cold'] / r['changed-since']:.1f}x faster than cold")
print(f"staged: {r['staged'] * 1000:.0f} ms (target < 300 ms)")
PY
# Peak memory of the cold run.
if [ -x /usr/bin/time ]; then
  rm -rf "$cache"
  /usr/bin/time -v $run 2> "$dir/time.txt" || true
  awk -F: '/Maximum resident set size/ {printf "cold run peak RSS: %.1f MB\n", $2/1024}' "$dir/time.txt"
fi
