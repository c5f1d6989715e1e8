#!/usr/bin/env python3
"""The layer rule of Package.swift, enforced: every Swift file imports only the modules its
target declares as direct dependencies (plus the toolchain's own). The package manager's
--explicit-target-dependency-import-check lets a target import anything its dependencies depend
on; this check does not, so StorefrontActions cannot import Store (and run SQL), StorefrontMCP cannot
import the actions, and StorefrontDomain imports only JSON and Crypto.

Usage: scripts/check-layers.py [--package-json FILE] [--root DIR]
  (reads `swift package dump-package`, or FILE; scans the targets' folders under DIR, by default
  the repository; exit 1 on any violation)."""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The toolchain's modules: any target may import them.
TOOLCHAIN = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Musl", "Darwin", "Synchronization",
    "Testing", "XCTest", "_Concurrency", "Observation", "os",
}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_exported\s+)?(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
                    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def main() -> int:
    arguments = argparse.ArgumentParser(description="Every import is a declared direct dependency.")
    arguments.add_argument("--package-json", help="the output of `swift package dump-package` (default: run it)")
    arguments.add_argument("--root", default=ROOT, help="where the targets' folders are (default: the repository)")
    options = arguments.parse_args()
    if options.package_json:
        with open(options.package_json, encoding="utf-8") as file:
            package = json.load(file)
    else:
        package = json.loads(subprocess.run(
            ["swift", "package", "dump-package"], cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    root = options.root
    modules = {t["name"] for t in package["targets"]}
    products = set()
    for target in package["targets"]:
        for dependency in target["dependencies"]:
            if "product" in dependency:
                products.add(dependency["product"][0])
    violations = []
    for target in package["targets"]:
        if target["type"] == "system":
            continue
        allowed = set()
        for dependency in target["dependencies"]:
            for kind in ("byName", "target", "product"):
                if kind in dependency:
                    allowed.add(dependency[kind][0])
        folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
        for directory, _, files in os.walk(os.path.join(root, folder)):
            for name in sorted(files):
                if not name.endswith(".swift"):
                    continue
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as source:
                    for number, line in enumerate(source, 1):
                        match = IMPORT.match(line)
                        if not match:
                            continue
                        module = match.group(1)
                        if module in TOOLCHAIN or module == target["name"]:
                            continue
                        if module not in allowed:
                            known = "a target of this package" if module in modules else (
                                "a product this package uses" if module in products else "not a dependency")
                            violations.append(
                                f"{os.path.relpath(path, root)}:{number}: {target['name']} imports {module} ({known}), "
                                f"which it does not declare; its dependencies: {', '.join(sorted(allowed)) or 'none'}")
    for violation in violations:
        print(f"check-layers: {violation}", file=sys.stderr)
    if violations:
        return 1
    print(f"check-layers: every import of {len(package['targets'])} targets is a declared dependency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
