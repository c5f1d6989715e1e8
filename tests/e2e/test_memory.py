"""Agent memory: `remember`, `recall`, `forget`, `list_memories` keep per-agent JSON notes. Each note
(key + serialised value) may take 4096 bytes, an agent 65,536 bytes and 200 notes; going over is a
clear error (400 `memory_entry_too_large`, 409 `memory_full`) that says what to do. No agent ever
sees, changes or deletes another agent's notes.

Sizes are computed here from what the server is sent: a note's size is the UTF-8 length of its key
plus the compact JSON of its value, so a string value of n ASCII characters costs n + 2 bytes."""

from __future__ import annotations

import pytest

from shop import Agent, Shop, run_parallel, start_shop
from support import assert_json_error

ENTRY_LIMIT = 4096
AGENT_LIMIT = 65536
MAX_NOTES = 200


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("memory"), extra=("--threads", "4"))
    yield s
    s.server.kill()


def call(shop: Shop, agent: Agent | None, tool: str, body: dict):
    return shop.call(agent, tool, body)


def ok(shop: Shop, agent: Agent, tool: str, body: dict) -> dict:
    r = shop.call(agent, tool, body)
    assert r.status_code == 200, (tool, body, r.status_code, r.text[:800])
    return r.json()


def string_of_size(key: str, size: int) -> str:
    """A string value that makes the note (key + JSON string with its quotes) exactly `size` bytes."""
    return "x" * (size - len(key) - 2)


def keys(listing: dict) -> list[str]:
    return [m["key"] for m in listing["memories"]]


# --- basics ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    {"shoe": 42, "width": "wide"},
    ["home", "work"],
    "ship to the back door",
    12.5,
    0,
    True,
    False,
    None,
    {"nested": {"deep": [1, {"x": "ü€😀"}]}},
], ids=["object", "array", "string", "number", "zero", "true", "false", "null", "unicode"])
def test_remember_then_recall_returns_the_same_json_value(shop, value):
    agent = shop.register()
    saved = ok(shop, agent, "remember", {"key": "pref.value", "value": value})
    assert saved["memory"]["key"] == "pref.value"
    assert saved["memory"]["value"] == value
    assert saved["limit_bytes"] == AGENT_LIMIT
    assert saved["used_bytes"] > 0
    recalled = ok(shop, agent, "recall", {"key": "pref.value"})
    assert recalled["memory"]["value"] == value
    assert type(recalled["memory"]["value"]) is type(value)


def test_remembering_a_key_again_replaces_the_value_and_counts_its_bytes_once(shop):
    agent = shop.register()
    first = ok(shop, agent, "remember", {"key": "size", "value": string_of_size("size", 100)})
    assert first["used_bytes"] == 100
    second = ok(shop, agent, "remember", {"key": "size", "value": string_of_size("size", 60)})
    assert second["used_bytes"] == 60
    assert ok(shop, agent, "recall", {"key": "size"})["memory"]["value"] == string_of_size("size", 60)
    listing = ok(shop, agent, "list_memories", {})
    assert keys(listing) == ["size"] and listing["used_bytes"] == 60


def test_recalling_a_missing_key_is_404_naming_the_key(shop):
    agent = shop.register()
    assert_json_error(call(shop, agent, "recall", {"key": "never.set"}), 404, param="/key")


def test_forget_removes_the_note_and_frees_its_bytes(shop):
    agent = shop.register()
    ok(shop, agent, "remember", {"key": "a", "value": string_of_size("a", 300)})
    ok(shop, agent, "remember", {"key": "b", "value": string_of_size("b", 200)})
    assert ok(shop, agent, "list_memories", {})["used_bytes"] == 500
    assert ok(shop, agent, "forget", {"key": "a"}) == {"forgotten": True}
    assert_json_error(call(shop, agent, "recall", {"key": "a"}), 404)
    listing = ok(shop, agent, "list_memories", {})
    assert keys(listing) == ["b"] and listing["used_bytes"] == 200
    # Forgetting again, or a key never kept, is not an error: nothing was forgotten.
    assert ok(shop, agent, "forget", {"key": "a"}) == {"forgotten": False}
    assert ok(shop, agent, "forget", {"key": "nope"}) == {"forgotten": False}


def test_list_memories_filters_by_a_literal_key_prefix_in_key_order(shop):
    agent = shop.register()
    for key in ("ship_to.work", "ship_to.home", "shipping", "size.shoe", "size.glove", "ship", "s_x", "sx"):
        ok(shop, agent, "remember", {"key": key, "value": key.upper()})
    assert keys(ok(shop, agent, "list_memories", {"prefix": "ship_to."})) == ["ship_to.home", "ship_to.work"]
    assert keys(ok(shop, agent, "list_memories", {"prefix": "ship"})) == ["ship", "ship_to.home", "ship_to.work", "shipping"]
    assert keys(ok(shop, agent, "list_memories", {"prefix": "size."})) == ["size.glove", "size.shoe"]
    # "_" and "%" are plain characters in a prefix, not wildcards.
    assert keys(ok(shop, agent, "list_memories", {"prefix": "s_"})) == ["s_x"]
    assert keys(ok(shop, agent, "list_memories", {"prefix": "%"})) == []
    assert keys(ok(shop, agent, "list_memories", {"prefix": "nothing"})) == []
    everything = ok(shop, agent, "list_memories", {})
    assert keys(everything) == sorted(keys(everything)) and len(everything["memories"]) == 8
    assert {m["key"]: m["value"] for m in everything["memories"]}["size.shoe"] == "SIZE.SHOE"
    # The prefix filters the list, not the space used.
    assert ok(shop, agent, "list_memories", {"prefix": "size."})["used_bytes"] == everything["used_bytes"]


# --- isolation ---------------------------------------------------------------------------------------


def test_agents_never_see_change_or_delete_each_others_notes(shop):
    alice, bob = shop.register(), shop.register()
    ok(shop, alice, "remember", {"key": "ship_to.home", "value": {"street": "1 Alice Way"}})
    ok(shop, alice, "remember", {"key": "secret", "value": "alice only"})

    # Bob cannot read them, one by one or listed.
    assert_json_error(call(shop, bob, "recall", {"key": "secret"}), 404)
    assert ok(shop, bob, "list_memories", {})["memories"] == []
    assert ok(shop, bob, "list_memories", {"prefix": "ship_to."})["memories"] == []
    assert ok(shop, bob, "list_memories", {})["used_bytes"] == 0

    # Bob's note under the same key is his own and leaves Alice's alone.
    ok(shop, bob, "remember", {"key": "secret", "value": "bob's"})
    assert ok(shop, alice, "recall", {"key": "secret"})["memory"]["value"] == "alice only"
    assert ok(shop, bob, "recall", {"key": "secret"})["memory"]["value"] == "bob's"

    # Bob forgetting the key forgets only his note.
    assert ok(shop, bob, "forget", {"key": "secret"}) == {"forgotten": True}
    assert ok(shop, bob, "forget", {"key": "ship_to.home"}) == {"forgotten": False}
    assert ok(shop, alice, "recall", {"key": "secret"})["memory"]["value"] == "alice only"
    assert keys(ok(shop, alice, "list_memories", {})) == ["secret", "ship_to.home"]


def test_one_agent_filling_its_memory_leaves_anothers_space_alone(shop):
    full, other = shop.register(), shop.register()
    for i in range(AGENT_LIMIT // ENTRY_LIMIT):
        ok(shop, full, "remember", {"key": f"k{i:02d}", "value": string_of_size(f"k{i:02d}", ENTRY_LIMIT)})
    assert_json_error(call(shop, full, "remember", {"key": "one.more", "value": 1}), 409, code="memory_full")
    assert ok(shop, other, "remember", {"key": "fine", "value": string_of_size("fine", ENTRY_LIMIT)})["used_bytes"] == ENTRY_LIMIT


def test_memory_needs_an_identity(shop):
    for tool, body in (("remember", {"key": "k", "value": 1}), ("recall", {"key": "k"}), ("forget", {"key": "k"}),
                       ("list_memories", {})):
        assert_json_error(call(shop, None, tool, body), 401, type_="authentication_error")


# --- caps -----------------------------------------------------------------------------------------------


def test_a_note_of_exactly_4096_bytes_is_kept_and_one_byte_more_is_400(shop):
    agent = shop.register()
    saved = ok(shop, agent, "remember", {"key": "big", "value": string_of_size("big", ENTRY_LIMIT)})
    assert saved["used_bytes"] == ENTRY_LIMIT
    error = assert_json_error(call(shop, agent, "remember", {"key": "bigger", "value": string_of_size("bigger", ENTRY_LIMIT + 1)}),
                              400, code="memory_entry_too_large", param="/value")
    assert "4096" in error["message"] and str(ENTRY_LIMIT + 1) in error["message"], error
    # Multi-byte characters count as bytes, not characters: 2,000 "é" are 4,000 bytes.
    error = assert_json_error(call(shop, agent, "remember", {"key": "accents", "value": "é" * 2100}), 400,
                              code="memory_entry_too_large")
    # A refused note leaves nothing behind, and the old value of a key survives a refused update.
    assert_json_error(call(shop, agent, "recall", {"key": "bigger"}), 404)
    assert_json_error(call(shop, agent, "remember", {"key": "big", "value": string_of_size("big", ENTRY_LIMIT + 1)}), 400,
                      code="memory_entry_too_large")
    assert ok(shop, agent, "recall", {"key": "big"})["memory"]["value"] == string_of_size("big", ENTRY_LIMIT)
    assert ok(shop, agent, "list_memories", {})["used_bytes"] == ENTRY_LIMIT


def test_an_agent_holds_at_most_65536_bytes_and_the_error_says_how_much_is_used(shop):
    agent = shop.register()
    for i in range(AGENT_LIMIT // ENTRY_LIMIT):  # 16 notes of 4096 bytes: exactly full
        key = f"note{i:02d}"
        saved = ok(shop, agent, "remember", {"key": key, "value": string_of_size(key, ENTRY_LIMIT)})
        assert saved["used_bytes"] == (i + 1) * ENTRY_LIMIT
    assert ok(shop, agent, "list_memories", {})["used_bytes"] == AGENT_LIMIT

    r = call(shop, agent, "remember", {"key": "x", "value": 1})
    error = assert_json_error(r, 409, code="memory_full")
    assert "forget" in error["message"], error
    assert str(AGENT_LIMIT) in error["message"], error
    assert_json_error(call(shop, agent, "recall", {"key": "x"}), 404)

    # Replacing a note with one of the same size still fits; a larger one does not.
    ok(shop, agent, "remember", {"key": "note00", "value": string_of_size("note00", ENTRY_LIMIT).replace("x", "y")})
    assert_json_error(call(shop, agent, "remember", {"key": "note00", "value": string_of_size("note00", ENTRY_LIMIT + 1)}), 400)
    ok(shop, agent, "remember", {"key": "note01", "value": string_of_size("note01", 100)})  # shrinking frees space
    assert ok(shop, agent, "remember", {"key": "x", "value": 1})["used_bytes"] == AGENT_LIMIT - ENTRY_LIMIT + 100 + 2

    # Forgetting makes room again.
    ok(shop, agent, "forget", {"key": "note02"})
    ok(shop, agent, "remember", {"key": "after.forget", "value": string_of_size("after.forget", 3000)})


def test_an_agent_holds_at_most_200_notes(shop):
    agent = shop.register()
    for i in range(MAX_NOTES):
        ok(shop, agent, "remember", {"key": f"n{i:03d}", "value": i})
    listing = ok(shop, agent, "list_memories", {})
    assert len(listing["memories"]) == MAX_NOTES
    error = assert_json_error(call(shop, agent, "remember", {"key": "n200", "value": 200}), 409, code="memory_full")
    assert "200" in error["message"] and "forget" in error["message"], error
    # Updating one of the 200 is still allowed; a forgotten one frees a slot.
    assert ok(shop, agent, "remember", {"key": "n000", "value": "updated"})["memory"]["value"] == "updated"
    ok(shop, agent, "forget", {"key": "n199"})
    ok(shop, agent, "remember", {"key": "n200", "value": 200})
    assert len(ok(shop, agent, "list_memories", {})["memories"]) == MAX_NOTES
    assert_json_error(call(shop, agent, "remember", {"key": "n201", "value": 201}), 409, code="memory_full")


@pytest.mark.parametrize("key", ["", "has space", "slash/inside", "ümlaut", "k" * 129, "new\nline", "semi;colon"],
                         ids=["empty", "space", "slash", "non-ascii", "129-chars", "newline", "semicolon"])
def test_keys_outside_the_allowed_pattern_are_400_naming_the_key(shop, key):
    agent = shop.register()
    assert_json_error(call(shop, agent, "remember", {"key": key, "value": 1}), 400, param="/key")
    assert ok(shop, agent, "list_memories", {})["memories"] == []


def test_keys_with_every_allowed_character_and_128_characters_are_fine(shop):
    agent = shop.register()
    for key in ("A-z_0.9:x", "k" * 128):
        ok(shop, agent, "remember", {"key": key, "value": True})
        assert ok(shop, agent, "recall", {"key": key})["memory"]["value"] is True


def test_remember_needs_both_key_and_value(shop):
    agent = shop.register()
    assert_json_error(call(shop, agent, "remember", {"key": "only.key"}), 400)
    assert_json_error(call(shop, agent, "remember", {"value": "only value"}), 400)


def test_parallel_notes_never_exceed_the_caps(shop):
    """30 new notes at once from 10 connections when 5 slots are left: exactly 5 are kept."""
    agent = shop.register()
    for i in range(MAX_NOTES - 5):
        ok(shop, agent, "remember", {"key": f"old{i:03d}", "value": i})

    def remember(session, i):
        return shop.call(agent, "remember", {"key": f"new{i:02d}", "value": i}, session=session)

    responses = run_parallel(range(30), remember, connections=10)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [409] * 25, statuses
    for r in responses:
        if r.status_code == 409:
            assert_json_error(r, 409, code="memory_full")
    listing = ok(shop, agent, "list_memories", {})
    assert len(listing["memories"]) == MAX_NOTES
    assert len(keys(ok(shop, agent, "list_memories", {"prefix": "new"}))) == 5
