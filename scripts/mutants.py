#!/usr/bin/env python3
"""The mutation harness (`make mutants`): do the tests notice when a money or identity check breaks?

Reads one-line mutants from tests/mutants.txt (see the format there). Each mutant replaces one
exact snippet of one source file. For each, in a scratch copy of the repository (never the
working tree, so nothing is left mutated even on Ctrl-C or a crash), the harness applies the
mutant, rebuilds incrementally (`swift build --product storefront`, debug), runs the tests the
mutant names, and restores the file. A mutant the tests still pass SURVIVED; the run fails if any
mutant survives, does not build, or if the tests already fail without any mutant (the baseline).

The scratch copy lives in $MUTANTS_DIR (default: $TMPDIR/storefront-mutants/<hash of this
checkout>) and keeps its .build between runs: the first run builds everything once (several
minutes), later ones rebuild only what a mutant touched. Files are copied only when their content
changed, so unchanged files keep their build products.

    scripts/mutants.py                 # every mutant
    scripts/mutants.py --list          # what is listed, without running
    scripts/mutants.py --only balance-one-short,order-owner
    scripts/mutants.py -k limit        # ids containing "limit"
    scripts/mutants.py --no-baseline   # skip the unmutated run of the named tests
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LIST = ROOT / "tests" / "mutants.txt"
# What the scratch copy needs to build and run the tests (everything else stays behind).
COPIED = ["Package.swift", "Package.resolved", "Sources", "Tests", "schemas", "manifests", "public", "tests"]
SKIPPED_NAMES = {".build", ".venv", "__pycache__", ".pytest_cache"}
TEST_TIMEOUT = 900  # seconds for one mutant's tests; a hang counts as killed (the tests noticed)
BUILD_TIMEOUT = 3600


@dataclass
class Mutant:
    id: str
    file: str
    find: str
    replace: str
    tests: list[str]
    line: int = 0  # where it starts in the list, for messages
    outcome: str = ""
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Run:
    scratch: Path
    python: str
    mutants: list[Mutant] = field(default_factory=list)


# --- the list -------------------------------------------------------------------------------------


def parse(path: Path) -> list[Mutant]:
    """Blocks of `key: value` lines separated by blank lines; `#` starts a comment line.
    Keys: id, file, find, replace, tests (space-separated selections)."""
    mutants: list[Mutant] = []
    block: dict[str, str] = {}
    start = 0

    def flush() -> None:
        nonlocal block
        if not block:
            return
        missing = {"id", "file", "find", "replace", "tests"} - block.keys()
        if missing:
            sys.exit(f"{path}:{start}: mutant {block.get('id', '?')} lacks {', '.join(sorted(missing))}")
        mutants.append(Mutant(id=block["id"], file=block["file"], find=block["find"], replace=block["replace"],
                              tests=block["tests"].split(), line=start))
        block = {}

    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if raw.lstrip().startswith("#"):
            continue
        if not raw.strip():
            flush()
            continue
        key, sep, value = raw.partition(":")
        if not sep or key.strip() not in {"id", "file", "find", "replace", "tests"}:
            sys.exit(f"{path}:{number}: expected `key: value` with key id, file, find, replace or tests: {raw!r}")
        if not block:
            start = number
        # One space after the colon is the separator; the rest is the snippet, exactly.
        block[key.strip()] = value[1:] if value.startswith(" ") else value
    flush()
    ids = [m.id for m in mutants]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        sys.exit(f"{path}: duplicate mutant ids: {', '.join(sorted(duplicates))}")
    return mutants


def check_applicable(mutants: list[Mutant]) -> None:
    """Every snippet must occur exactly once in its file (in the working tree)."""
    problems = []
    for m in mutants:
        source = ROOT / m.file
        if not source.is_file():
            problems.append(f"{m.id}: no file {m.file}")
            continue
        count = source.read_text().count(m.find)
        if count != 1:
            problems.append(f"{m.id}: the snippet occurs {count} times in {m.file} (must be exactly once): {m.find!r}")
        if m.find == m.replace:
            problems.append(f"{m.id}: the replacement is the snippet itself")
    if problems:
        sys.exit("mutants that cannot be applied:\n  " + "\n  ".join(problems))


# --- the scratch copy -----------------------------------------------------------------------------


def default_scratch() -> Path:
    tag = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path(os.environ.get("MUTANTS_DIR") or Path(tempfile.gettempdir()) / "storefront-mutants" / tag)


def sync(scratch: Path) -> None:
    """Makes scratch/<COPIED> equal to the working tree's, touching only files whose content
    differs (so the incremental build keeps everything else), and removing files that went away."""
    scratch.mkdir(parents=True, exist_ok=True)
    wanted: set[Path] = set()
    for name in COPIED:
        source = ROOT / name
        if not source.exists():
            continue
        paths = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
        for path in paths:
            relative = path.relative_to(ROOT)
            if SKIPPED_NAMES.intersection(relative.parts):
                continue
            wanted.add(relative)
            target = scratch / relative
            data = path.read_bytes()
            if not target.is_file() or target.read_bytes() != data:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                shutil.copymode(path, target)
    for name in COPIED:
        top = scratch / name
        if top.is_dir():
            for path in top.rglob("*"):
                relative = path.relative_to(scratch)
                if path.is_file() and relative not in wanted and not SKIPPED_NAMES.intersection(relative.parts):
                    path.unlink()
    # Dependencies come from the working tree's checkouts (no network needed).
    build = scratch / ".build"
    if not (build / "checkouts").exists() and (ROOT / ".build" / "checkouts").exists():
        build.mkdir(exist_ok=True)
        for name in ("checkouts", "repositories"):
            if (ROOT / ".build" / name).exists():
                shutil.copytree(ROOT / ".build" / name, build / name, symlinks=True)
        if (ROOT / ".build" / "workspace-state.json").exists():
            shutil.copy2(ROOT / ".build" / "workspace-state.json", build / "workspace-state.json")


def build(scratch: Path) -> tuple[bool, str]:
    out = subprocess.run(["swift", "build", "--product", "storefront"], cwd=scratch, capture_output=True, text=True,
                         timeout=BUILD_TIMEOUT)
    return out.returncode == 0, (out.stdout + out.stderr)[-3000:]


def run_tests(run: Run, tests: list[str]) -> tuple[bool, str]:
    """True when every named selection passes. `swift:FILTER` runs `swift test --filter FILTER`;
    anything else is a pytest node id or path under tests/e2e (relative to the repository)."""
    env = dict(os.environ, STOREFRONT_BIN=str(run.scratch / ".build" / "debug" / "storefront"), PYTHONDONTWRITEBYTECODE="1")
    swift = [t.removeprefix("swift:") for t in tests if t.startswith("swift:")]
    pytest_ids = [t for t in tests if not t.startswith("swift:")]
    try:
        if pytest_ids:
            out = subprocess.run([run.python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *pytest_ids],
                                 cwd=run.scratch, env=env, capture_output=True, text=True, timeout=TEST_TIMEOUT)
            if out.returncode != 0:
                return False, last_lines(out.stdout + out.stderr)
        for selection in swift:
            out = subprocess.run(["swift", "test", "--filter", selection], cwd=run.scratch, env=env, capture_output=True,
                                 text=True, timeout=TEST_TIMEOUT)
            if out.returncode != 0:
                return False, last_lines(out.stdout + out.stderr)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {TEST_TIMEOUT}s"
    return True, ""


def last_lines(text: str, n: int = 6) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR", "E "))]
    return " | ".join((failed or lines)[:n])[:600]


# --- running ---------------------------------------------------------------------------------------


def mutate(run: Run, mutant: Mutant) -> None:
    target = run.scratch / mutant.file
    original = target.read_text()
    target.write_text(original.replace(mutant.find, mutant.replace, 1))
    started = time.monotonic()
    try:
        built, log = build(run.scratch)
        if not built:
            mutant.outcome, mutant.detail = "NO BUILD", log.strip().splitlines()[-1] if log.strip() else ""
            return
        passed, detail = run_tests(run, mutant.tests)
        mutant.outcome, mutant.detail = ("SURVIVED", "the tests still pass") if passed else ("killed", detail)
    finally:
        target.write_text(original)
        mutant.seconds = time.monotonic() - started


def table(mutants: list[Mutant]) -> str:
    width = max([len(m.id) for m in mutants] + [6])
    rows = [f"{'mutant':<{width}}  {'result':<9}  {'time':>6}  file", f"{'-' * width}  {'-' * 9}  {'-' * 6}  {'-' * 40}"]
    for m in mutants:
        rows.append(f"{m.id:<{width}}  {m.outcome or 'not run':<9}  {m.seconds:>5.0f}s  {m.file}")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_LIST, help="the mutant list (default: tests/mutants.txt)")
    parser.add_argument("--only", help="comma-separated mutant ids")
    parser.add_argument("-k", dest="substring", help="only mutants whose id contains this")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip running the named tests without mutants first")
    parser.add_argument("--scratch", type=Path, default=None, help="the scratch copy (default: $MUTANTS_DIR or a temp folder)")
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"), help="the Python with pytest")
    args = parser.parse_args()

    mutants = parse(args.file)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m.id for m in mutants}
        if unknown:
            sys.exit(f"unknown mutant ids: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.id in wanted]
    if args.substring:
        mutants = [m for m in mutants if args.substring in m.id]
    check_applicable(mutants)
    if args.list:
        for m in mutants:
            print(f"{m.id}: {m.file}: {m.find.strip()!r} -> {m.replace.strip()!r}  [{' '.join(m.tests)}]")
        print(f"{len(mutants)} mutants")
        return 0
    if not mutants:
        sys.exit("no mutants selected")

    run = Run(scratch=args.scratch or default_scratch(), python=args.python, mutants=mutants)
    # Ctrl-C or SIGTERM: the finally blocks put the scratch file back; the working tree is never touched.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"mutants: {len(mutants)} from {args.file.relative_to(ROOT) if args.file.is_relative_to(ROOT) else args.file}; "
          f"scratch copy {run.scratch}", flush=True)
    try:
        sync(run.scratch)
        started = time.monotonic()
        built, log = build(run.scratch)
        if not built:
            print(f"the unmutated scratch copy does not build:\n{log}", file=sys.stderr)
            return 2
        print(f"built the unmutated copy in {time.monotonic() - started:.0f}s", flush=True)
        if not args.no_baseline:
            selections = sorted({t for m in mutants for t in m.tests})
            passed, detail = run_tests(run, selections)
            if not passed:
                print(f"the named tests fail without any mutant (fix them first): {detail}", file=sys.stderr)
                return 2
            print(f"baseline: the {len(selections)} named test selections pass without mutants", flush=True)
        for i, m in enumerate(mutants, 1):
            mutate(run, m)
            print(f"[{i}/{len(mutants)}] {m.id}: {m.outcome} in {m.seconds:.0f}s — {m.detail}", flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; the scratch copy was restored", file=sys.stderr)
        print(table(mutants))
        return 130

    print()
    print(table(mutants))
    survived = [m for m in mutants if m.outcome == "SURVIVED"]
    broken = [m for m in mutants if m.outcome == "NO BUILD"]
    killed = len(mutants) - len(survived) - len(broken)
    print(f"\n{killed} of {len(mutants)} mutants killed, {len(survived)} survived, {len(broken)} did not build")
    return 0 if not survived and not broken else 1


if __name__ == "__main__":
    sys.exit(main())
