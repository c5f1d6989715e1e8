"""The layer rule of Package.swift holds, and its check catches what breaks it (issue 14).

scripts/check-layers.py refuses any import a target does not declare as a direct dependency: the
actions and the HTTP layer cannot import the Store module (and run SQL), the domain imports only
JSON and Crypto, MCP cannot see the actions."""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-layers.py"


@pytest.fixture(scope="module")
def package_json(tmp_path_factory):
    dumped = subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, check=True, capture_output=True, text=True)
    path = tmp_path_factory.mktemp("package") / "package.json"
    path.write_text(dumped.stdout)
    return path


def check(*arguments):
    return subprocess.run([sys.executable, str(CHECK), *arguments], capture_output=True, text=True)


def test_the_repository_keeps_its_layers(package_json):
    result = check("--package-json", str(package_json))
    assert result.returncode == 0, result.stderr
    assert "every import" in result.stdout


def test_the_rule_is_the_one_package_swift_declares(package_json):
    targets = {t["name"]: t for t in json.loads(package_json.read_text())["targets"]}
    def direct(name):
        return {d.get("byName", d.get("target", d.get("product", [None])))[0] for d in targets[name]["dependencies"]}
    assert "Store" not in direct("StorefrontActions")
    assert "Store" not in direct("StorefrontHTTP")
    assert direct("StorefrontDomain") == {"JSON", "Crypto"}
    assert "StorefrontActions" not in direct("StorefrontMCP")
    assert "StorefrontHTTP" not in direct("StorefrontApp")


@pytest.mark.parametrize(
    "target, line, module",
    [
        ("StorefrontActions", "import Store", "Store"),
        ("StorefrontActions", "@testable import StorePostgres", "StorePostgres"),
        ("StorefrontHTTP", "internal import Store", "Store"),
        ("StorefrontDomain", "import HTTPServer", "HTTPServer"),
        ("StorefrontMCP", "import StorefrontActions", "StorefrontActions"),
        ("StorefrontApp", "import struct StorefrontHTTP.Gateway", "StorefrontHTTP"),
    ],
)
def test_an_import_that_breaks_the_rule_is_refused(package_json, tmp_path, target, line, module):
    source = tmp_path / "Sources" / target / "Sneaky.swift"
    source.parent.mkdir(parents=True)
    source.write_text(f"import Foundation\n{line}\n\nlet sneaky = 1\n")
    result = check("--package-json", str(package_json), "--root", str(tmp_path))
    assert result.returncode == 1
    assert f"Sources/{target}/Sneaky.swift:2: {target} imports {module}" in result.stderr


def test_declared_and_toolchain_imports_pass(package_json, tmp_path):
    source = tmp_path / "Sources" / "StorefrontActions" / "Fine.swift"
    source.parent.mkdir(parents=True)
    source.write_text("import Foundation\nimport Synchronization\nimport StorefrontStore\nimport JSON\n")
    result = check("--package-json", str(package_json), "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
