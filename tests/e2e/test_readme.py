"""The README runs as written: every `sh` and `python` block, in order, against a fresh gateway.

A newcomer copies the README's commands into a terminal with `make serve` running; so does this
test. It starts `storefront serve` the way `make serve` does (in a scratch folder that looks like
the repository root: `manifests/`, `schemas/`, `public/`, and `storefront` on the PATH), then
feeds each block to one long-lived `bash`, command by command, so variables set in one block are
there in the next, exactly as in the reader's shell. Python blocks run with the test
environment's interpreter (which has the pinned `mcp` SDK).

What a block shows as output is checked:

- `# → TEXT` after a command is its expected output; `#   MORE` lines continue it. Whitespace is
  ignored and `…` stands for anything (ids, keys, times, the rest of a long answer), so the
  comparison is exact everywhere else. In a Python block the `# → ` lines, together, are what the
  block prints.
- `# → [exit N]` as the first expected line: the command must exit with status N (otherwise every
  command must exit 0).
- `<!-- readme-test: skip REASON -->` on the line before a block leaves it out (the two commands
  themselves: `make test` cannot run inside `make test`).

`localhost:8080` and `127.0.0.1:8080` are the gateway's address in the README; the test serves on
a free port and rewrites both, in the commands and in the expected output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from support import BINARY, REPO_ROOT, free_port

README = REPO_ROOT / "README.md"
SENTINEL = "__readme_test_done__"
FENCE = re.compile(r"^```(\w+)?[^\n]*\n(.*?)^```", re.S | re.M)
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b([^>]*)-->\s*$")
EXIT = re.compile(r"^\[exit (\d+)\]\s*(.*)$", re.S)


@dataclass
class Command:
    text: str
    line: int
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    language: str
    line: int
    body: str
    skip: str | None


def readme_blocks(text: str) -> list[Block]:
    blocks = []
    for match in FENCE.finditer(text):
        language = (match.group(1) or "").lower()
        if language not in ("sh", "bash", "python"):
            continue
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        blocks.append(Block(language, line, match.group(2), skip.group(1).strip() if skip else None))
    return blocks


def is_complete(text: str) -> bool:
    """A shell command is complete when bash can parse it and it does not end in a backslash."""
    if text.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True).returncode == 0


def shell_commands(block: Block) -> list[Command]:
    """Splits a shell block into commands, each with the output lines shown after it."""
    commands: list[Command] = []
    pending: list[str] = []
    start = 0
    in_expectation = False
    for offset, line in enumerate(block.body.split("\n")):
        stripped = line.strip()
        if not pending and stripped.startswith("#"):
            if stripped.startswith("# → ") and commands:
                commands[-1].expected.append(stripped[len("# → "):])
                in_expectation = True
            elif in_expectation and line.startswith("#   "):
                commands[-1].expected.append(line[len("#   "):])
            else:
                in_expectation = False
            continue
        if not pending and not stripped:
            in_expectation = False
            continue
        if not pending:
            start = block.line + 1 + offset
        pending.append(line)
        if is_complete("\n".join(pending)):
            commands.append(Command("\n".join(pending), start))
            pending = []
            in_expectation = False
    assert not pending, f"README line {start}: an unfinished command: {pending}"
    return commands


def pattern(expected: str) -> re.Pattern:
    """Whitespace ignored, `…` matches anything."""
    squeezed = re.sub(r"\s+", "", expected)
    return re.compile(".*?".join(re.escape(part) for part in squeezed.split("…")), re.S)


def matches(expected: str, actual: str) -> bool:
    return pattern(expected).fullmatch(re.sub(r"\s+", "", actual)) is not None


class Shell:
    """One bash process for the whole README, fed one command at a time."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(f"{{\n{command}\n}} 2>&1 </dev/null\nprintf '\\n{SENTINEL} %s\\n' $?\n")
        self.process.stdin.flush()
        lines, deadline = [], time.monotonic() + timeout
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"bash ended while running:\n{command}\n" + "".join(lines))
            if line.startswith(SENTINEL):
                status = int(line.split()[1])
                output = "".join(lines)
                return status, output[:-1] if output.endswith("\n") else output
            lines.append(line)
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s:\n{command}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture(scope="module")
def readme_world(tmp_path_factory):
    """A scratch 'repository root' with the gateway running in it, as after `make serve`."""
    root = tmp_path_factory.mktemp("readme")
    for name in ("manifests", "schemas", "public"):
        (root / name).symlink_to(REPO_ROOT / name)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "storefront").symlink_to(BINARY)
    port = free_port()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "NO_COLOR": "1", "TERM": "dumb"}
    gateway = subprocess.Popen(
        ["storefront", "serve", "--manifests", "manifests", "--store", "storefront.db",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    token_line = gateway.stdout.readline()
    assert token_line.startswith("admin token"), token_line
    env["ADMIN_TOKEN"] = token_line.rsplit(" ", 1)[-1].strip()
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/status", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    shell = Shell(root, env)
    yield root, port, env, shell
    shell.close()
    gateway.terminate()
    try:
        gateway.wait(20)
    except subprocess.TimeoutExpired:
        gateway.kill()


def localise(text: str, port: int) -> str:
    return text.replace("localhost:8080", f"localhost:{port}").replace("127.0.0.1:8080", f"127.0.0.1:{port}")


BLOCKS = readme_blocks(README.read_text())


def test_the_readme_has_runnable_blocks():
    runnable = [b for b in BLOCKS if b.skip is None]
    assert len(runnable) >= 8, [b.line for b in BLOCKS]
    shell = [c for b in runnable if b.language != "python" for c in shell_commands(b)]
    assert len(shell) >= 40, len(shell)
    assert sum(1 for c in shell if c.expected) >= 15, "the README shows too few outputs to check"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b.line}-{b.language}" for b in BLOCKS])
def test_readme_block(block: Block, readme_world):
    if block.skip is not None:
        pytest.skip(block.skip or "marked skip")
    root, port, env, shell = readme_world
    if block.language == "python":
        script = root / f"readme_{block.line}.py"
        script.write_text(localise(block.body, port))
        run = subprocess.run([sys.executable, str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"README line {block.line}: exit {run.returncode}\n{run.stdout}\n{run.stderr}"
        expected = "\n".join(line.strip()[len("# → "):] for line in block.body.split("\n") if line.strip().startswith("# → "))
        if expected:
            assert matches(localise(expected, port), run.stdout), (
                f"README line {block.line}: the block printed\n{run.stdout}\nbut the README shows\n{expected}")
        return
    for command in shell_commands(block):
        status, output = shell.run(localise(command.text, port))
        expected = "\n".join(command.expected)
        want_status = 0
        exit_match = EXIT.match(expected)
        if exit_match:
            want_status, expected = int(exit_match.group(1)), exit_match.group(2)
        assert status == want_status, (
            f"README line {command.line}: exit {status} (expected {want_status})\n$ {command.text}\n{output}")
        if expected.strip():
            assert matches(localise(expected, port), output), (
                f"README line {command.line}:\n$ {command.text}\nprinted:\n{output}\nbut the README shows:\n{expected}")


def test_the_comparison_itself():
    assert matches('{"id": "agt_…", "total": 2}', '{"id":"agt_9f3k","total":2}')
    assert not matches('{"id": "agt_…", "total": 2}', '{"id":"agt_9f3k","total":3}')
    assert not matches("200", "404")
    assert matches("… 304", "HTTP 304")
    block = Block("sh", 1, "curl -s x \\\n  -d '{\n  \"a\": 1}'\n# → {\"a\":\n#   1}\necho hi\n", None)
    commands = shell_commands(block)
    assert [c.expected for c in commands] == [['{"a":', "1}"], []]
    assert commands[0].text.count("\n") == 2
