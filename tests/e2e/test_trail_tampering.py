"""The audit trail is tamper-evident: each entry is hashed over the previous entry's hash (SHA-256
of `prev_hash + "\\n" + RFC 8785 JSON of the entry`), with checkpoints signed by the store's
Ed25519 key. Rows edited, deleted or swapped with the `sqlite3` command line make
`storefront trail verify` exit 1 and name the first bad seq and the kind (edited, missing,
reordered, truncated, bad_checkpoint); a forger who recomputes the chain is caught by the signed
checkpoints."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import stores
from shop import GIFT_PRICE, cli, sql, sql_exec, start_shop
from support import b64url_encode

CHECKPOINT_EVERY = 5
BROKEN = re.compile(r"trail BROKEN at seq (\d+): (\w+)")


@pytest.fixture(scope="module")
def pristine(binary, tmp_path_factory) -> Path:
    """A store with a few dozen trail entries of every kind, stopped cleanly."""
    directory = tmp_path_factory.mktemp("trail")
    shop = start_shop(directory, extra=("--checkpoint-every", str(CHECKPOINT_EVERY)))
    try:
        a = shop.buyer(funds=100_000, daily=3 * GIFT_PRICE)
        b = shop.buyer(funds=3000, approval_threshold=GIFT_PRICE + 1)
        for _ in range(4):
            shop.buy(a)  # the fourth is refused by the daily limit: a denied attempt
        shop.buy(b)
        shop.fund(b, 100_000, note="top-up")
        pending = shop.buy(b, 2).json()["checkout"]["approval"]["id"]
        shop.admin_ok("POST", f"/approvals/{pending}/approve")
        shop.admin_ok("POST", f"/agents/{a.id}/rotate-key")
        shop.admin_ok("POST", f"/agents/{b.id}/revoke")
        shop.register("late@example.com", open_route=True)
    finally:
        code = shop.server.stop(signal.SIGTERM)
    assert code == 0, shop.server.stderr
    entries = sql(shop.store, "SELECT COUNT(*) AS n FROM trail")[0]["n"]
    assert entries >= 20, entries
    return shop.store


@pytest.fixture
def store(pristine, tmp_path) -> Path:
    """A private copy of the pristine store to tamper with."""
    target = tmp_path / "tampered.db"
    stores.copy(pristine, target)
    return target


def blob(hex_digits: str) -> str:
    """A blob literal in the store's SQL."""
    return f"'\\x{hex_digits}'::bytea" if stores.POSTGRES else f"X'{hex_digits}'"


def verify(store: Path) -> tuple[int, str, str]:
    out = cli("trail", "verify", store=store)
    return out.returncode, out.stdout, out.stderr


def assert_broken(store: Path, seq: int, kind: str) -> str:
    code, stdout, stderr = verify(store)
    assert code == 1, f"trail verify must fail (exit 1), got {code}\nstdout: {stdout}\nstderr: {stderr}"
    found = BROKEN.search(stderr)
    assert found, f"stderr does not name the seq and the kind: {stderr!r}"
    assert (int(found.group(1)), found.group(2)) == (seq, kind), f"expected seq {seq}: {kind}; got {stderr.strip()!r}"
    return stderr


def rows(store: Path) -> list[dict]:
    return sql(store, "SELECT * FROM trail ORDER BY seq")


def canonical_hash(entry: dict, prev: str) -> str:
    content = {k: entry[k] for k in ("seq", "at", "agent_id", "principal", "action", "target", "request_id",
                                     "idempotency_key", "input_digest", "outcome", "error_code", "amount", "currency")}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + "\n" + text).encode()).hexdigest()


def quote(value) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


# --- intact ----------------------------------------------------------------------------------------


def test_an_untouched_trail_verifies(store):
    code, stdout, stderr = verify(store)
    assert code == 0, stdout + stderr
    n = sql(store, "SELECT COUNT(*) AS n FROM trail")[0]["n"]
    checkpoints = sql(store, "SELECT COUNT(*) AS n FROM trail_checkpoints")[0]["n"]
    assert checkpoints >= n // CHECKPOINT_EVERY
    assert stdout.startswith("trail intact"), stdout
    assert str(n) in stdout and str(checkpoints) in stdout, stdout


def test_the_chain_is_sha256_over_the_previous_hash_and_the_canonical_entry(store):
    prev = "0" * 64
    for entry in rows(store):
        assert entry["prev_hash"] == prev, entry["seq"]
        assert canonical_hash(entry, prev) == entry["hash"], entry["seq"]
        prev = entry["hash"]


def test_the_trail_records_every_state_change_and_denied_attempts(store):
    actions = [r["action"] for r in rows(store)]
    for needed in ("agent.register", "wallet.fund", "create_checkout", "complete_checkout", "wallet.debit"):
        assert needed in actions, (needed, sorted(set(actions)))
    assert any("limit" in a for a in actions), sorted(set(actions))
    assert any("approv" in a for a in actions), sorted(set(actions))
    assert any("rotate" in a for a in actions) and any("revoke" in a for a in actions), sorted(set(actions))
    denied = [r for r in rows(store) if r["error_code"] == "spend_limit_exceeded"]
    assert len(denied) == 1 and denied[0]["outcome"] != "ok" and denied[0]["amount"] == GIFT_PRICE, denied


def test_export_prints_the_entries_after_since_as_json_lines(store):
    out = cli("trail", "export", "--since", "10", store=store)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    stored = rows(store)
    assert [e["seq"] for e in lines] == [r["seq"] for r in stored if r["seq"] > 10]
    for exported, row in zip(lines, (r for r in stored if r["seq"] > 10)):
        assert exported["hash"] == row["hash"] and exported["prev_hash"] == row["prev_hash"]
    tail = cli("trail", "tail", "--lines", "3", store=store)
    assert tail.returncode == 0, tail.stderr
    assert str(stored[-1]["seq"]) in tail.stdout


# --- tampered --------------------------------------------------------------------------------------


@pytest.mark.parametrize("column, value", [
    ("amount", "amount + 1"),
    ("outcome", "'ok'"),
    ("agent_id", "'agt_someone_else'"),
    ("at", "'2020-01-01T00:00:00.000Z'"),
])
def test_an_edited_row_is_named_with_its_seq(store, column, value):
    target = next(r for r in rows(store) if r["action"] == "wallet.fund" and r["seq"] > 3)["seq"]
    if column == "outcome":
        target = next(r for r in rows(store) if r["outcome"] != "ok")["seq"]
    sql_exec(store, f"UPDATE trail SET {column} = {value} WHERE seq = {target};")
    assert_broken(store, target, "edited")


def test_an_edited_row_whose_merkle_leaf_was_recomputed_is_still_named_by_its_chain_hash(store):
    """The forger edits a row and writes the matching leaf into the Merkle tree, but cannot redo
    the chain without the key showing: the row's own hash names it (not only a later signed head)."""
    heads = {r["tree_size"] for r in sql(store, "SELECT tree_size FROM trail_heads")}
    target = next(r for r in rows(store) if r["action"] == "wallet.debit" and r["seq"] not in heads)
    target["amount"] += 1
    content = {k: target[k] for k in ("seq", "at", "agent_id", "principal", "action", "target", "request_id",
                                      "idempotency_key", "input_digest", "outcome", "error_code", "amount", "currency")}
    leaf = hashlib.sha256(b"\x00" + json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    sql_exec(store, f"UPDATE trail SET amount = {target['amount']} WHERE seq = {target['seq']}; "
                    f"UPDATE trail_nodes SET hash = {blob(leaf.hexdigest())} WHERE node = {target['seq'] - 1};")
    assert_broken(store, target["seq"], "edited")


def test_a_deleted_row_is_named_as_missing(store):
    sql_exec(store, "DELETE FROM trail WHERE seq = 9;")
    assert_broken(store, 9, "missing")


def test_deleting_the_first_row_is_caught(store):
    sql_exec(store, "DELETE FROM trail WHERE seq = 1;")
    assert_broken(store, 1, "missing")


def test_two_swapped_rows_are_named_as_reordered(store):
    sql_exec(store, "UPDATE trail SET seq = -1 WHERE seq = 11; UPDATE trail SET seq = 11 WHERE seq = 12; "
                    "UPDATE trail SET seq = 12 WHERE seq = -1;")
    assert_broken(store, 11, "reordered")


def test_two_swapped_rows_are_caught_at_the_first_of_them(store):
    """Whatever name it gives, a swap never passes and the first swapped seq is named."""
    sql_exec(store, "UPDATE trail SET seq = -1 WHERE seq = 11; UPDATE trail SET seq = 11 WHERE seq = 12; "
                    "UPDATE trail SET seq = 12 WHERE seq = -1;")
    code, _, stderr = verify(store)
    assert code == 1 and BROKEN.search(stderr) and int(BROKEN.search(stderr).group(1)) == 11, stderr


def test_a_moved_row_that_keeps_its_own_hash_is_named_as_reordered(store):
    """Row 12's content and hash moved to seq 11 and back: each row's hash is self-consistent
    with a re-hash at its new seq, but the links no longer follow."""
    all_rows = {r["seq"]: r for r in rows(store)}
    a, b = dict(all_rows[11]), dict(all_rows[12])
    a["seq"], b["seq"] = 12, 11
    for moved in (a, b):
        moved["hash"] = canonical_hash(moved, moved["prev_hash"])
    sql_exec(store, "DELETE FROM trail WHERE seq IN (11, 12);" + "".join(
        f"INSERT INTO trail ({', '.join(m)}) VALUES ({', '.join(quote(v) for v in m.values())});" for m in (b, a)))
    assert_broken(store, 11, "reordered")


def test_a_truncated_tail_is_caught_by_the_last_checkpoint(store):
    last = sql(store, "SELECT MAX(seq) AS s FROM trail_checkpoints")[0]["s"]
    sql_exec(store, f"DELETE FROM trail WHERE seq >= {last - 1};")
    assert_broken(store, last, "truncated")


def test_a_forged_checkpoint_signature_is_a_bad_checkpoint(store):
    checkpoint = sql(store, "SELECT seq, hash FROM trail_checkpoints ORDER BY seq LIMIT 1 OFFSET 1")[0]
    forger = Ed25519PrivateKey.generate()
    signature = b64url_encode(forger.sign(f"storefront-trail:{checkpoint['seq']}:{checkpoint['hash']}".encode()))
    sql_exec(store, f"UPDATE trail_checkpoints SET signature = '{signature}' WHERE seq = {checkpoint['seq']};")
    assert_broken(store, checkpoint["seq"], "bad_checkpoint")


def test_a_corrupted_checkpoint_signature_is_a_bad_checkpoint(store):
    row = sql(store, "SELECT seq, signature FROM trail_checkpoints ORDER BY seq LIMIT 1")[0]
    flipped = ("B" if row["signature"][0] == "A" else "A") + row["signature"][1:]
    sql_exec(store, f"UPDATE trail_checkpoints SET signature = '{flipped}' WHERE seq = {row['seq']};")
    assert_broken(store, row["seq"], "bad_checkpoint")


def rewrite_chain_from(store: Path, first: int) -> None:
    """What a forger who knows the hash recipe does after an edit: re-hash every later entry."""
    prev = None
    script = []
    for entry in rows(store):
        if prev is not None and entry["seq"] >= first:
            entry["prev_hash"] = prev
            entry["hash"] = canonical_hash(entry, prev)
            script.append(f"UPDATE trail SET prev_hash = '{entry['prev_hash']}', hash = '{entry['hash']}' WHERE seq = {entry['seq']};")
        prev = entry["hash"]
    sql_exec(store, "BEGIN;" + "".join(script) + "COMMIT;")


def test_an_edit_with_a_recomputed_chain_is_caught_by_the_signed_checkpoint(store):
    target = next(r for r in rows(store) if r["action"] == "wallet.fund" and r["seq"] % CHECKPOINT_EVERY != 0)["seq"]
    sql_exec(store, f"UPDATE trail SET amount = amount * 100 WHERE seq = {target};")
    rewrite_chain_from(store, target)
    next_checkpoint = sql(store, f"SELECT MIN(seq) AS s FROM trail_checkpoints WHERE seq >= {target}")[0]["s"]
    stderr = assert_broken(store, next_checkpoint, "edited")
    assert "checkpoint" in stderr


def test_an_edit_with_a_recomputed_chain_and_checkpoint_hashes_is_a_bad_checkpoint(store):
    target = next(r for r in rows(store) if r["action"] == "wallet.fund" and r["seq"] % CHECKPOINT_EVERY != 0)["seq"]
    sql_exec(store, f"UPDATE trail SET amount = amount * 100 WHERE seq = {target};")
    rewrite_chain_from(store, target)
    sql_exec(store, "UPDATE trail_checkpoints SET hash = (SELECT hash FROM trail WHERE trail.seq = trail_checkpoints.seq);")
    next_checkpoint = sql(store, f"SELECT MIN(seq) AS s FROM trail_checkpoints WHERE seq >= {target}")[0]["s"]
    assert_broken(store, next_checkpoint, "bad_checkpoint")


def test_the_admin_api_reports_the_same_break(store, tmp_path):
    sql_exec(store, "UPDATE trail SET amount = 1 WHERE seq = 7;")
    shop = start_shop(tmp_path / "api", store=store)
    try:
        report = shop.admin_ok("GET", "/trail/verify")
        assert report["intact"] is False and report["first_bad_seq"] == 7 and report["problem"] == "edited", report
        entries = shop.admin_ok("GET", "/trail?after=5&limit=3")["entries"]
        assert [e["seq"] for e in entries] == [6, 7, 8]
        assert entries[1]["amount"] == 1
    finally:
        shop.server.kill()
