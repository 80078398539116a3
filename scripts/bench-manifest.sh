#!/usr/bin/env bash
# Benchmark the `manifest` check (issue 8): a full `fleetward check` of a generated fleet of
# 100 workspaces, with and without a `[manifest]` policy (bans, drift of every crate, duplicate
# limit, sources, required settings). Target: the check adds at most 10% to the run.
# Each workspace has a service and a library, 20 Rust files each, and a real lockfile
# (../shared/lockfiles/linkerd2-proxy-*, 449 packages, when present; else the demo's) with the
# two members renamed. Needs hyperfine (Debian package). Usage: scripts/bench-manifest.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
dir=$PWD/target/bench-manifest
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)"; exit 2; }
cargo build --release --locked -q
bin=$PWD/target/release/fleetward
db=${DB:-$PWD/fixtures/demo/advisory-db}
shared_lock=$(ls -d ../shared/lockfiles/linkerd2-proxy-*/Cargo.lock 2>/dev/null | head -1 || true)
if [ -n "$shared_lock" ]; then
  lock=$shared_lock svc_entry=linkerd2-proxy lib_entry=linkerd-app
else
  lock=$PWD/fixtures/demo/services/Cargo.lock svc_entry=gateway lib_entry=ledger
fi
rm -rf "$dir" && mkdir -p "$dir"
python3 - "$dir/fleet" "$n" "$lock" "$svc_entry" "$lib_entry" <<'PY'
import os, re, sys
root, n, lock, svc_entry, lib_entry = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
text = open(lock).read()
def write(rel, s):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "w").write(s)
def module(i):
    return "\n".join(f"pub fn f{j}(x: u64) -> u64 {{ x.wrapping_mul({j + 3}).rotate_left({i % 7}) }}" for j in range(40)) + "\n"
# The registry crates the service entry depends on directly, with their versions.
entry = re.search(r'\[\[package\]\]\nname = "' + re.escape(svc_entry) + r'"\n(.*?)\n\n', text, re.S).group(1)
deps = re.findall(r'^ "([A-Za-z0-9_-]+)(?: ([0-9][^" ]*))?', entry, re.M)
versions = dict(re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"\nsource = "registry', text))
registry_deps = [(d, versions[d]) for d, _ in deps if d in versions][:12]
for w in range(n):
    svc, lib = f"svc-{w:03}", f"lib-{w:03}"
    ws = f"ws-{w:03}"
    t = re.sub(r'(name = |^ )"' + re.escape(svc_entry) + '"', lambda m: m.group(1) + f'"{svc}"', text, flags=re.M)
    t = re.sub(r'(name = |^ )"' + re.escape(lib_entry) + '"', lambda m: m.group(1) + f'"{lib}"', t, flags=re.M)
    write(f"{ws}/Cargo.lock", t)
    write(f"{ws}/Cargo.toml", f'[workspace]\nmembers = ["{svc}", "{lib}"]\nresolver = "2"\n\n[workspace.package]\nedition = "2021"\nlicense = "MIT"\n\n[profile.release]\noverflow-checks = true\n')
    dep_lines = "".join(f'{d} = "{v}"\n' for d, v in registry_deps)
    write(f"{ws}/{svc}/Cargo.toml", f'[package]\nname = "{svc}"\nversion = "0.1.0"\nedition.workspace = true\nlicense.workspace = true\npublish = false\n\n[lints.rust]\nunsafe_code = "forbid"\n\n[dependencies]\n{lib} = {{ path = "../{lib}" }}\n{dep_lines}')
    write(f"{ws}/{lib}/Cargo.toml", f'[package]\nname = "{lib}"\nversion = "0.1.0"\nedition.workspace = true\nlicense.workspace = true\n\n[dependencies]\n{dep_lines}')
    write(f"{ws}/{svc}/src/main.rs", "\n".join(f"mod m{i};" for i in range(20)) + "\nfn main() {}\n")
    write(f"{ws}/{lib}/src/lib.rs", "\n".join(f"pub mod m{i};" for i in range(20)) + "\n")
    for i in range(20):
        write(f"{ws}/{svc}/src/m{i}.rs", module(i))
        write(f"{ws}/{lib}/src/m{i}.rs", module(i + 1))
PY
cat > "$dir/without.toml" <<'TOML'
fail_on = "critical"
[advisories]
max_db_age = 0
TOML
cat "$dir/without.toml" - > "$dir/with.toml" <<'TOML'
[manifest]
build_dependencies = true

[[manifest.ban]]
crate = "openssl-sys"
reason = "one TLS stack: rustls"
use_instead = "rustls"

[[manifest.ban]]
crate = "native-tls"
reason = "one TLS stack: rustls"
use_instead = "rustls"

[manifest.drift]
crates = "all"
level = "minor"
max_versions = 2

[manifest.sources]
registries = ["crates-io"]
git_hosts = ["github.com"]
require_git_rev = true

[manifest.require]
unsafe_code_forbid = true
edition = "2021"
unpublished = true
license = true
release_overflow_checks = true
release_panic = "abort"
TOML
fleet=$dir/fleet
echo "fleet: $n workspaces, $(find "$fleet" -type f | wc -l) files, lockfile $(basename "$(dirname "$lock")")"
run() { echo "$bin check $fleet --advisory-db $db --config $dir/$1.toml --no-cache --format json -o /dev/null"; }
hyperfine --warmup 2 --runs "${RUNS:-15}" -i --export-json "$dir/result.json" \
  -n without "$(run without)" -n with "$(run with)"
findings=$($bin check "$fleet" --advisory-db "$db" --config "$dir/with.toml" --only manifest --no-cache --format json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r["findings"]))')
python3 - "$dir/result.json" "$findings" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, b = r["without"]["median"], r["with"]["median"]
print(f"full check without [manifest]: median {a*1000:.1f} ms; with: {b*1000:.1f} ms")
print(f"the manifest check adds {100*(b-a)/a:+.1f}% (target <= 10%), {sys.argv[2]} manifest findings")
ca = r["without"]["user"] + r["without"]["system"]
cb = r["with"]["user"] + r["with"]["system"]
print(f"CPU time (user+system, mean): {ca*1000:.0f} ms -> {cb*1000:.0f} ms ({100*(cb-ca)/ca:+.1f}%)")
PY
