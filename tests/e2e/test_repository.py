"""The repository stands alone: no tracked file refers to a path outside the checkout.

A clone with nothing beside it must build, test and read correctly, so specifications, test
suites and design notes that the project needs are copied in (with their licences) rather than
linked from a folder next to the checkout. This test reads every tracked text file and fails on
any relative path that climbs out of the repository root, and on any mention of the reference
folder that sits beside checkouts on the developers' machines.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

from support import REPO_ROOT

# Built from parts so that this file does not match itself.
BESIDE = "sha" + "red"
# Relative (../BESIDE), bare (BESIDE/reference) and absolute (/anywhere/BESIDE/reference) mentions.
REFERENCE_MENTION = re.compile(
    r"(?<![\w./-])(\.\./)+" + BESIDE + r"\b|(?<![\w/])" + BESIDE + r"/(reference|DESIGN\.md|STYLE\.md)\b"
    + r"|/" + BESIDE + r"/(reference|DESIGN\.md|STYLE\.md)\b")
# A relative link or path in Markdown/HTML/scripts that starts with ../ (e.g. "](../x)", "'../x'").
RELATIVE_TARGET = re.compile(r"""(?:\]\(|["'`\s=])((?:\.\./)+[\w.-][^\s"'`)]*)""")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout.decode().split("\0")
    files = []
    for name in filter(None, names):
        path = REPO_ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        head = path.read_bytes()[:4096]
        if b"\0" in head:
            continue  # binary
        files.append(path)
    return files


def escapes_repository(file: Path, target: str) -> bool:
    """True when `target`, taken relative to `file`'s folder, leaves the repository root."""
    parts = PurePosixPath(file.relative_to(REPO_ROOT).parent, target.split("#")[0].split("?")[0]).parts
    depth = 0
    for part in parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in (".", ""):
            depth += 1
    return False


def test_the_repository_is_under_git():
    assert len(tracked_text_files()) > 100


def test_no_tracked_file_refers_to_the_folder_beside_the_checkout():
    offenders = []
    for path in tracked_text_files():
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if REFERENCE_MENTION.search(line):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()[:120]}")
    assert not offenders, "tracked files refer to a folder outside the repository:\n" + "\n".join(offenders)


def test_no_relative_path_climbs_out_of_the_repository():
    offenders = []
    for path in tracked_text_files():
        if path.suffix not in {".md", ".html", ".py", ".sh", ".swift", ".json", ".js", ".txt", ""} and path.name != "Makefile":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for target in RELATIVE_TARGET.findall(line):
                if escapes_repository(path, target):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {target}")
    assert not offenders, "relative paths that leave the repository:\n" + "\n".join(offenders)


def test_the_checks_catch_what_they_are_meant_to(tmp_path):
    """The patterns themselves: a link beside the checkout is caught, an inner one is not."""
    assert REFERENCE_MENTION.search("see ../" + BESIDE + "/DESIGN.md")
    assert REFERENCE_MENTION.search("in " + BESIDE + "/reference/ucp")
    assert not REFERENCE_MENTION.search("mcp/" + BESIDE + "/inbound.py")
    assert REFERENCE_MENTION.search("`/work/" + BESIDE + "/reference/mcp-spec/docs`")
    readme = REPO_ROOT / "README.md"
    assert escapes_repository(readme, "../elsewhere/x.md")
    assert not escapes_repository(REPO_ROOT / "docs" / "DESIGN.md", "../README.md")
