"""A trail that outsiders can hold the store to (issue 12, item 5).

The signing key lives in its own file (`STORE.key`, mode 0600), not in the store. The trail is an
RFC 6962 / RFC 9162 Merkle tree: a signed head (size, root, time) is published at
`/.well-known/trail-head`; `/trail/proof/inclusion` and `/trail/proof/consistency` serve proofs;
every completed purchase returns a receipt naming its entry, a signed head that includes it and the
inclusion proof. `storefront trail verify --against HEAD.json` proves the store today extends a
head saved earlier.

Everything is checked here by an independent implementation written from the RFCs (hashlib for
the tree, `cryptography` for Ed25519), never by asking the gateway. The tampering is done the way
an insider with write access would do it: Python's `sqlite3` on the stopped store, re-hashing the
chain, rebuilding the tree and, where said, re-signing with the key file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import stat
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import stores
from shop import GIFT_PRICE, cli, start_shop
from support import b64url_decode, b64url_encode

CHECKPOINT_EVERY = 5
CONTENT_FIELDS = ("seq", "at", "agent_id", "principal", "action", "target", "request_id", "idempotency_key",
                  "input_digest", "outcome", "error_code", "amount", "currency")


# --- RFC 6962 / RFC 9162, written from the RFC text -------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = largest_power_of_two_below(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 (first == second: an empty proof and equal roots)."""
    if first == second:
        return not path and first_root == second_root
    if not 0 < first < second or not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def check_verifiers_against_rfc_6962_vectors() -> None:
    """The test's own implementation, checked against the published vectors before it judges the store."""
    data = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                       "606162636465666768696a6b6c6d6e6f")]
    leaves = [leaf_hash(d) for d in data]
    assert mth(leaves).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert mth(leaves[:3]).hex() == "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
    path = [bytes.fromhex(h) for h in ("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]
    assert verify_inclusion(leaves[0], 0, 8, path, mth(leaves))
    assert not verify_inclusion(leaves[1], 0, 8, path, mth(leaves))
    proof = [bytes.fromhex(h) for h in ("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]
    assert verify_consistency(6, 8, mth(leaves[:6]), mth(leaves), proof)
    assert not verify_consistency(6, 8, mth(leaves[:5]), mth(leaves), proof)


# --- the store's side, recomputed -----------------------------------------------------------------


def canonical(entry: dict) -> bytes:
    content = {k: entry[k] for k in CONTENT_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(entry: dict, prev: str) -> str:
    return hashlib.sha256(prev.encode() + b"\n" + canonical(entry)).hexdigest()


def head_payload(head: dict) -> bytes:
    return f"storefront-trail-head:v1:{head['kid']}:{head['tree_size']}:{head['root_hash']}:{head['timestamp']}".encode()


def public_key(jwks: dict, kid: str) -> Ed25519PublicKey:
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))


def check_head_signature(head: dict, jwks: dict) -> None:
    """Raises InvalidSignature unless the store's published key signed this head."""
    assert head["alg"] == "EdDSA"
    public_key(jwks, head["kid"]).verify(b64url_decode(head["signature"]), head_payload(head))


def entries(store: Path) -> list[dict]:
    with stores.connect(store) as db:
        return [dict(r) for r in db.execute("SELECT * FROM trail ORDER BY seq").fetchall()]


def hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


# --- a history, and heads saved along the way ------------------------------------------------------


@pytest.fixture(scope="module")
def history(binary, tmp_path_factory):
    """Purchases by three agents, a head saved half-way and one at the end (as an agent or auditor
    would save them, over HTTP), every receipt, the JWKS; the gateway stopped cleanly."""
    directory = tmp_path_factory.mktemp("merkle")
    shop = start_shop(directory, extra=("--checkpoint-every", str(CHECKPOINT_EVERY)))
    receipts, buyers = [], []
    try:
        buyers = [shop.buyer(funds=200_000) for _ in range(3)]
        for i in range(6):
            r = shop.buy(buyers[i % 3])
            assert r.status_code == 200, r.text
            receipts.append((buyers[i % 3].id, r.json()))
        middle = requests.get(shop.url("/.well-known/trail-head"), timeout=10).json()
        for i in range(10):
            r = shop.buy(buyers[i % 3])
            assert r.status_code == 200, r.text
            receipts.append((buyers[i % 3].id, r.json()))
        shop.fund(buyers[0], 5_000, note="late top-up")
        # A purchase above the approval threshold completes when the principal approves it.
        waiting = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE - 1)
        pending = shop.buy(waiting).json()
        assert pending["checkout"]["status"] == "pending_approval" and "receipt" not in pending, pending
        approved = shop.admin_ok("POST", f"/approvals/{pending['checkout']['approval']['id']}/approve")
        inbox = requests.get(shop.url("/inbox?after=0&limit=200"), headers=waiting.auth, timeout=10).json()
        approval_event = next(e for e in inbox["events"] if e["type"] == "approval.approved")
        again = shop.complete(waiting, pending["checkout"]["id"]).json()
        final = requests.get(shop.url("/.well-known/trail-head"), timeout=10).json()
        alias = requests.get(shop.url("/trail/head"), timeout=10).json()
        jwks = requests.get(shop.url("/.well-known/jwks.json"), timeout=10).json()
        agents = requests.get(shop.url("/agents"), timeout=10).json()
        proofs = {
            "inclusion": [requests.get(shop.url(f"/trail/proof/inclusion?seq={seq}"), timeout=10).json()
                          for seq in (1, 2, 7, middle["tree_size"], final["tree_size"])],
            "inclusion_at_middle": requests.get(
                shop.url(f"/trail/proof/inclusion?index=3&tree_size={middle['tree_size']}"), timeout=10).json(),
            "consistency": requests.get(shop.url(f"/trail/proof/consistency?first={middle['tree_size']}"), timeout=10).json(),
            "consistency_pairs": {
                (m, n): requests.get(shop.url(f"/trail/proof/consistency?first={m}&second={n}"), timeout=10).json()
                for m, n in ((1, 2), (3, 7), (8, 8), (5, middle["tree_size"]), (middle["tree_size"] - 1, final["tree_size"]))
            },
            "bad": [requests.get(shop.url(path), timeout=10) for path in (
                f"/trail/proof/inclusion?seq={final['tree_size'] + 1}",
                "/trail/proof/inclusion?seq=abc",
                f"/trail/proof/consistency?first={final['tree_size'] + 5}",
                "/trail/proof/consistency",
            )],
        }
    finally:
        code = shop.server.stop(signal.SIGTERM)
    assert code == 0, shop.server.stderr
    (directory / "middle-head.json").write_text(json.dumps(middle))
    (directory / "final-head.json").write_text(json.dumps(final))
    assert final["tree_size"] >= middle["tree_size"] + 30, (middle, final)
    return {"store": shop.store, "directory": directory, "middle": middle, "final": final, "alias": alias, "jwks": jwks, "agents": agents,
            "receipts": receipts, "proofs": proofs, "buyers": buyers,
            "approved": (waiting.id, approved, approval_event, again),
            "middle_file": directory / "middle-head.json", "final_file": directory / "final-head.json"}


@pytest.fixture
def store(history, tmp_path) -> Path:
    """A private copy of the stopped store and its key file, to tamper with."""
    target = tmp_path / "copy.db"
    stores.copy(history["store"], target)
    return target


def verify(store: Path, *args: str):
    return cli("trail", "verify", *args, store=store)


# --- the key file ------------------------------------------------------------------------------------


def test_the_signing_key_is_a_0600_file_beside_the_store_and_not_in_it(history):
    key_file = stores.key_path(history["store"])
    assert key_file.exists(), list(key_file.parent.iterdir())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, oct(key_file.stat().st_mode)
    jwk = json.loads(key_file.read_text())
    published = history["jwks"]["keys"][0]
    assert jwk["kid"] == published["kid"] and jwk["x"] == published["x"], (jwk.get("kid"), published)
    private = Ed25519PrivateKey.from_private_bytes(b64url_decode(jwk["d"]))
    assert b64url_encode(private.public_key().public_bytes_raw()) == published["x"]
    with stores.connect(history["store"]) as db:
        assert db.execute("SELECT COUNT(*) FROM signing_keys").fetchone()[0] == 0
    raw = b64url_decode(jwk["d"])
    if not stores.POSTGRES:
        assert raw not in history["store"].read_bytes(), "the private key's bytes are in the store file"


@pytest.mark.sqlite_only("only SQLite stores of older versions kept their key inside")
def test_a_key_kept_in_the_store_by_an_older_version_moves_out_on_first_start(history, tmp_path):
    store = tmp_path / "old.db"
    shutil.copy(history["store"], store)
    jwk = json.loads(stores.key_path(history["store"]).read_text())
    with stores.connect(store) as db:  # the store as an older version left it: the key inside
        db.execute("INSERT INTO signing_keys (kid, algorithm, private_key) VALUES (?, 'EdDSA', ?)",
                   (jwk["kid"], b64url_decode(jwk["d"])))
    shop = start_shop(tmp_path / "run", store=store)
    try:
        jwks = requests.get(shop.url("/.well-known/jwks.json"), timeout=10).json()
        head = requests.get(shop.url("/.well-known/trail-head"), timeout=10).json()
    finally:
        assert shop.server.stop(signal.SIGTERM) == 0, shop.server.stderr
    assert jwks["keys"][0]["kid"] == jwk["kid"], "the store keeps its key (the manifest's signatures still verify)"
    check_head_signature(head, jwks)
    key_file = stores.key_path(store)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["d"] == jwk["d"]
    with stores.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM signing_keys").fetchone()[0] == 0
    assert b64url_decode(jwk["d"]) not in store.read_bytes(), "the erased key's bytes are still in the store file"
    assert verify(store, "--against", str(history["final_file"])).returncode == 0


def test_signing_key_option_puts_the_key_where_it_is_told(binary, tmp_path):
    key_file = tmp_path / "secrets" / "store-signing.jwk"
    key_file.parent.mkdir()
    shop = start_shop(tmp_path / "run", extra=("--signing-key", str(key_file)))
    try:
        jwks = requests.get(shop.url("/.well-known/jwks.json"), timeout=10).json()
        shop.register()  # a trail entry, checkpointed with the key on the clean stop
    finally:
        assert shop.server.stop(signal.SIGTERM) == 0, shop.server.stderr
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not stores.key_path(shop.store).exists()
    assert json.loads(key_file.read_text())["kid"] == jwks["keys"][0]["kid"]
    out = verify(shop.store, "--signing-key", str(key_file))
    assert out.returncode == 0, out.stdout + out.stderr
    missing = verify(shop.store)
    assert missing.returncode == 1 and "no signing key" in missing.stderr, missing.stderr
    # A command that would sign, run without the key's path, refuses instead of making a new key.
    listed = cli("agents", "list", store=shop.store)
    assert listed.returncode != 0 and "signed by key" in listed.stderr, (listed.stdout, listed.stderr)
    assert not stores.key_path(shop.store).exists()
    listed = cli("agents", "list", "--signing-key", str(key_file), store=shop.store)
    assert listed.returncode == 0, listed.stderr


# --- heads, receipts and proofs, checked independently ---------------------------------------------------


def test_published_heads_are_signed_by_the_stores_key_over_the_root_of_every_entry(history):
    jwks = history["jwks"]
    for head in (history["middle"], history["final"], history["alias"]):
        check_head_signature(head, jwks)
    assert history["alias"]["tree_size"] == history["final"]["tree_size"]
    assert history["agents"]["trail"]["head"].endswith("/.well-known/trail-head"), history["agents"].get("trail")
    rows = entries(history["store"])
    leaves = [leaf_hash(canonical(e)) for e in rows]
    for head in (history["middle"], history["final"]):
        assert mth(leaves[:head["tree_size"]]).hex() == head["root_hash"], head
    forged = dict(history["final"], tree_size=history["final"]["tree_size"] - 1)
    with pytest.raises(Exception):
        check_head_signature(forged, jwks)


def test_every_purchase_comes_with_a_receipt_that_verifies_on_its_own(history):
    jwks = history["jwks"]
    assert len(history["receipts"]) == 16
    for agent_id, result in history["receipts"]:
        receipt, order = result["receipt"], result["order"]
        assert result["checkout"]["status"] == "completed" and order["id"] == receipt["order_id"]
        entry = receipt["entry"]
        assert entry["action"] == "wallet.debit" and entry["target"] == order["id"]
        assert entry["agent_id"] == agent_id and entry["amount"] == GIFT_PRICE and entry["seq"] == receipt["seq"]
        assert receipt["leaf_index"] == receipt["seq"] - 1
        leaf = leaf_hash(canonical(entry))
        assert leaf.hex() == receipt["leaf_hash"]
        head = receipt["trail_head"]
        check_head_signature(head, jwks)
        assert head["tree_size"] >= receipt["seq"], "the head names a tree that includes the entry"
        assert verify_inclusion(leaf, receipt["leaf_index"], head["tree_size"], hexes(receipt["inclusion_proof"]),
                                bytes.fromhex(head["root_hash"]))
        # ... and the same leaf under another index, or another leaf, does not verify.
        assert not verify_inclusion(leaf_hash(canonical(entry) + b" "), receipt["leaf_index"], head["tree_size"],
                                    hexes(receipt["inclusion_proof"]), bytes.fromhex(head["root_hash"]))
    stored = {e["seq"]: e for e in entries(history["store"])}
    with stores.connect(history["store"]) as db:
        orders = dict(db.execute("SELECT id, trail_seq FROM orders"))
    for _, result in history["receipts"]:
        assert stored[result["receipt"]["seq"]]["hash"] == result["receipt"]["entry"]["hash"]
        assert orders[result["receipt"]["order_id"]] == result["receipt"]["seq"], "the order keeps the seq its receipt names"


def check_receipt(receipt: dict, agent_id: str, order_id: str, jwks: dict) -> None:
    entry = receipt["entry"]
    assert entry["action"] == "wallet.debit" and entry["target"] == order_id == receipt["order_id"], receipt
    assert entry["agent_id"] == agent_id and entry["seq"] == receipt["seq"] == receipt["leaf_index"] + 1
    leaf = leaf_hash(canonical(entry))
    assert leaf.hex() == receipt["leaf_hash"]
    head = receipt["trail_head"]
    check_head_signature(head, jwks)
    assert verify_inclusion(leaf, receipt["leaf_index"], head["tree_size"], hexes(receipt["inclusion_proof"]),
                            bytes.fromhex(head["root_hash"]))


def test_an_approved_purchase_sends_its_receipt_in_the_inbox_and_a_repeated_complete_returns_one(history):
    agent_id, approved, event, again = history["approved"]
    order_id = approved["order"]["id"]
    check_receipt(approved["receipt"], agent_id, order_id, history["jwks"])
    assert event["data"]["order_id"] == order_id
    check_receipt(event["data"]["receipt"], agent_id, order_id, history["jwks"])
    assert again["checkout"]["status"] == "completed" and again["order"]["id"] == order_id
    check_receipt(again["receipt"], agent_id, order_id, history["jwks"])
    assert again["receipt"]["trail_head"]["tree_size"] >= approved["receipt"]["trail_head"]["tree_size"]


def test_a_receipt_head_is_consistent_with_the_latest_head(history):
    """An agent holding its receipt asks later for a consistency proof to the newest head."""
    first_receipt = history["receipts"][0][1]["receipt"]
    rows = entries(history["store"])
    leaves = [leaf_hash(canonical(e)) for e in rows]
    head = first_receipt["trail_head"]
    assert mth(leaves[:head["tree_size"]]).hex() == head["root_hash"]


def test_inclusion_proofs_from_the_endpoint_verify(history):
    check_verifiers_against_rfc_6962_vectors()
    jwks = history["jwks"]
    rows = entries(history["store"])
    final = history["final"]
    for proof in history["proofs"]["inclusion"]:
        head = proof["trail_head"]
        check_head_signature(head, jwks)
        assert proof["tree_size"] == head["tree_size"] == final["tree_size"]
        entry = rows[proof["seq"] - 1]
        leaf = leaf_hash(canonical(entry))
        assert proof["leaf_hash"] == leaf.hex() and proof["leaf_index"] == proof["seq"] - 1
        assert verify_inclusion(leaf, proof["leaf_index"], head["tree_size"], hexes(proof["audit_path"]),
                                bytes.fromhex(head["root_hash"]))
    at_middle = history["proofs"]["inclusion_at_middle"]
    middle = history["middle"]
    assert at_middle["tree_size"] == middle["tree_size"] and at_middle["seq"] == 4 and "trail_head" not in at_middle
    assert verify_inclusion(leaf_hash(canonical(rows[3])), 3, middle["tree_size"], hexes(at_middle["audit_path"]),
                            bytes.fromhex(middle["root_hash"]))
    for response in history["proofs"]["bad"]:
        assert response.status_code == 400, (response.url, response.status_code, response.text)
        assert response.json()["error"]["type"] == "invalid_request", response.text


def test_consistency_proofs_from_the_endpoint_verify(history):
    check_verifiers_against_rfc_6962_vectors()
    rows = entries(history["store"])
    leaves = [leaf_hash(canonical(e)) for e in rows]
    middle, final = history["middle"], history["final"]
    proof = history["proofs"]["consistency"]
    check_head_signature(proof["trail_head"], history["jwks"])
    assert proof["first"] == middle["tree_size"] and proof["second"] == final["tree_size"]
    assert verify_consistency(middle["tree_size"], final["tree_size"], bytes.fromhex(middle["root_hash"]),
                              bytes.fromhex(final["root_hash"]), hexes(proof["consistency_proof"]))
    assert not verify_consistency(middle["tree_size"], final["tree_size"], leaves[0],
                                  bytes.fromhex(final["root_hash"]), hexes(proof["consistency_proof"]))
    for (m, n), answer in history["proofs"]["consistency_pairs"].items():
        assert (answer["first"], answer["second"]) == (m, n)
        assert verify_consistency(m, n, mth(leaves[:m]), mth(leaves[:n]), hexes(answer["consistency_proof"])), (m, n)


# --- verify --against: an untouched store, then each way of rewriting history ---------------------------


def assert_inconsistent(store: Path, head_file: Path, *words: str) -> str:
    out = verify(store, "--against", str(head_file))
    assert out.returncode == 1, f"verify --against must fail\nstdout: {out.stdout}\nstderr: {out.stderr}"
    assert "NOT CONSISTENT with the saved head" in out.stderr, out.stderr
    for word in words:
        assert word in out.stderr, (word, out.stderr)
    return out.stderr


def test_an_untouched_store_is_consistent_with_every_saved_head(store, history):
    for head_file in (history["middle_file"], history["final_file"]):
        out = verify(store, "--against", str(head_file))
        assert out.returncode == 0, out.stdout + out.stderr
        assert "trail intact" in out.stdout and "consistent with the saved head" in out.stdout, out.stdout
    receipt_file = store.parent / "receipt.json"
    receipt_file.write_text(json.dumps(history["receipts"][2][1]["receipt"]))
    out = verify(store, "--against", str(receipt_file))
    assert out.returncode == 0, out.stdout + out.stderr


def test_verify_with_a_public_key_only(store, history):
    jwks_file = store.parent / "jwks.json"
    jwks_file.write_text(json.dumps(history["jwks"]))
    os.remove(stores.key_path(store))
    out = verify(store, "--public-key", str(jwks_file), "--against", str(history["final_file"]))
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_forged_saved_head_is_refused(store, history):
    forged = dict(history["final"], root_hash="00" * 32)
    path = store.parent / "forged.json"
    path.write_text(json.dumps(forged))
    assert_inconsistent(store, path, "signature")


def test_an_edited_entry_is_caught(store, history):
    target = next(e for e in entries(store) if e["action"] == "wallet.debit")["seq"]
    with stores.connect(store) as db:
        db.execute("UPDATE trail SET amount = amount * 10 WHERE seq = ?", (target,))
    assert_inconsistent(store, history["final_file"], "rewritten")


class Forger:
    """An insider with the store file (and, when given, the key file) who rewrites history
    consistently: chain hashes, Merkle nodes, checkpoints and heads."""

    def __init__(self, store: Path, key: Ed25519PrivateKey | None = None, kid: str | None = None):
        self.store, self.key, self.kid = store, key, kid

    def rewrite(self, db: sqlite3.Connection) -> None:
        rows = [dict(r) for r in db.execute("SELECT * FROM trail ORDER BY seq").fetchall()]
        prev = "0" * 64
        for row in rows:
            row["prev_hash"], row["hash"] = prev, chain_hash(row, prev)
            db.execute("UPDATE trail SET prev_hash = ?, hash = ? WHERE seq = ?", (row["prev_hash"], row["hash"], row["seq"]))
            prev = row["hash"]
        # The tree, rebuilt node by node (level << 48 | index), as the store keeps it.
        db.execute("DELETE FROM trail_nodes")
        frontier: list[tuple[int, bytes]] = []
        for i, row in enumerate(rows):
            level, index, h = 0, i, leaf_hash(canonical(row))
            db.execute("INSERT INTO trail_nodes (node, hash) VALUES (?, ?)", (index, h))
            while frontier and frontier[-1][0] == level:
                h = node_hash(frontier.pop()[1], h)
                level, index = level + 1, index >> 1
                db.execute("INSERT INTO trail_nodes (node, hash) VALUES (?, ?)", ((level << 48) | index, h))
            frontier.append((level, h))
        leaves = [leaf_hash(canonical(r)) for r in rows]
        by_seq = {r["seq"]: r for r in rows}
        if self.key is None:
            db.execute("DELETE FROM trail_checkpoints")
            db.execute("DELETE FROM trail_heads")
            return
        for (seq,) in db.execute("SELECT seq FROM trail_checkpoints").fetchall():
            if seq not in by_seq:
                db.execute("DELETE FROM trail_checkpoints WHERE seq = ?", (seq,))
                continue
            signature = b64url_encode(self.key.sign(f"storefront-trail:{seq}:{by_seq[seq]['hash']}".encode()))
            db.execute("UPDATE trail_checkpoints SET hash = ?, signature = ? WHERE seq = ?", (by_seq[seq]["hash"], signature, seq))
        for (size, timestamp) in db.execute("SELECT tree_size, timestamp FROM trail_heads").fetchall():
            if size > len(rows):
                db.execute("DELETE FROM trail_heads WHERE tree_size = ?", (size,))
                continue
            head = {"kid": self.kid, "tree_size": size, "root_hash": mth(leaves[:size]).hex(), "timestamp": timestamp}
            db.execute("UPDATE trail_heads SET root_hash = ?, signature = ? WHERE tree_size = ?",
                       (head["root_hash"], b64url_encode(self.key.sign(head_payload(head))), size))


def key_of(store: Path) -> tuple[Ed25519PrivateKey, str]:
    jwk = json.loads(stores.key_path(store).read_text())
    return Ed25519PrivateKey.from_private_bytes(b64url_decode(jwk["d"])), jwk["kid"]


def test_a_purchase_deleted_renumbered_rehashed_and_resigned_with_the_key_is_caught(store, history):
    """With the key file, the forger makes a store that verifies on its own; the saved head does not."""
    victim = history["receipts"][1][1]["receipt"]
    with stores.connect(store) as db:
        gone = victim["seq"]
        db.execute("DELETE FROM trail WHERE seq = ?", (gone,))
        db.execute("DELETE FROM orders WHERE id = ?", (victim["order_id"],))
        last = db.execute("SELECT MAX(seq) FROM trail").fetchone()[0]
        for seq in range(gone + 1, last + 1):
            db.execute("UPDATE trail SET seq = ? WHERE seq = ?", (seq - 1, seq))
        Forger(store, *key_of(store)).rewrite(db)
    alone = verify(store)
    assert alone.returncode == 0, "the forgery is complete: alone, the store verifies\n" + alone.stdout + alone.stderr
    assert_inconsistent(store, history["middle_file"], "rewritten")
    assert_inconsistent(store, history["final_file"], "truncated")


def test_every_checkpoint_deleted_and_an_entry_rewritten_without_the_key_is_caught(store, history):
    target = next(e for e in entries(store) if e["action"] == "wallet.debit")["seq"]
    with stores.connect(store) as db:
        db.execute("UPDATE trail SET amount = 1 WHERE seq = ?", (target,))
        Forger(store).rewrite(db)
        assert db.execute("SELECT COUNT(*) FROM trail_checkpoints").fetchone()[0] == 0
    alone = verify(store)
    assert alone.returncode == 0, "with nothing signed left, the store alone cannot tell\n" + alone.stdout + alone.stderr
    assert "--against" in alone.stdout, "verify says what it cannot see without a saved head"
    assert_inconsistent(store, history["middle_file"], "rewritten")


def test_every_checkpoint_deleted_alone_still_verifies_against_the_head(store, history):
    """Deleting signatures changes no entry: the trail still extends the saved head."""
    with stores.connect(store) as db:
        db.execute("DELETE FROM trail_checkpoints")
        db.execute("DELETE FROM trail_heads")
    out = verify(store, "--against", str(history["final_file"]))
    assert out.returncode == 0, out.stdout + out.stderr


def test_interior_tree_nodes_that_disagree_with_the_entries_fail_the_consistency_proof(store, history):
    """Entries, leaves and signatures untouched, but the stored interior nodes (from which the
    store builds the proofs it serves) corrupted: the check of the served proof catches it."""
    with stores.connect(store) as db:
        changed = db.execute("UPDATE trail_nodes SET hash = ? WHERE node >= ?", (bytes(32), 1 << 48)).rowcount
    assert changed > 0
    alone = verify(store)
    assert alone.returncode == 0, "leaves and entries still agree\n" + alone.stdout + alone.stderr
    assert_inconsistent(store, history["middle_file"], "disagree", "consistency proof")


def test_the_last_30_entries_cut_with_their_checkpoints_are_caught(store, history):
    with stores.connect(store) as db:
        last = db.execute("SELECT MAX(seq) FROM trail").fetchone()[0]
        cut = last - 30
        db.execute("DELETE FROM trail WHERE seq > ?", (cut,))
        db.execute("DELETE FROM trail_checkpoints WHERE seq > ?", (cut,))
        db.execute("DELETE FROM trail_heads WHERE tree_size > ?", (cut,))
        # Every node whose subtree reaches past the cut (node = level << 48 | index).
        nodes = [n for (n,) in db.execute("SELECT node FROM trail_nodes").fetchall()
                 if (n & ((1 << 48) - 1)) << (n >> 48) >= cut]
        for node in nodes:
            db.execute("DELETE FROM trail_nodes WHERE node = ?", (node,))
    alone = verify(store)
    assert alone.returncode == 0, "a clean cut leaves nothing inside the store to notice\n" + alone.stdout + alone.stderr
    stderr = assert_inconsistent(store, history["final_file"], "truncated")
    assert str(history["final"]["tree_size"]) in stderr and str(cut) in stderr, stderr


def test_verify_without_a_saved_head_still_catches_a_head_left_behind(store, history):
    """Cut the tail but forget a stored signed head: the store alone notices."""
    with stores.connect(store) as db:
        last = db.execute("SELECT MAX(seq) FROM trail").fetchone()[0]
        cut = last - 30
        db.execute("DELETE FROM trail WHERE seq > ?", (cut,))
        db.execute("DELETE FROM trail_checkpoints WHERE seq > ?", (cut,))
    out = verify(store)
    assert out.returncode == 1 and "truncated" in out.stderr and "head" in out.stderr, out.stdout + out.stderr
