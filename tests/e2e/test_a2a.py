"""A2A: the interfaces the agent card offers answer, driven by a2a-sdk's own client (pinned in
requirements.txt), over both transports the card lists (JSON-RPC and HTTP+JSON):

- the client reads the card, picks each transport from it, and a data part naming an action
  (`{"action": <skill id>, "arguments": {…}}`) runs it: a read answers with a message;
- a purchase is a task: completed with the order as its artifact, kept in the store, found again
  by tasks/get (also after a restart), streamed over message/stream;
- above the approval threshold the task is `input-required` with the held money; the principal's
  approval completes it (with the order), a denial rejects it, tasks/cancel cancels it and
  releases the hold; a completed task cannot be canceled;
- the message id is the idempotency key: the same message twice charges once and names one task;
- tasks belong to their agent: another agent, or none, cannot read or cancel them;
- errors in A2A's shape: JSON-RPC codes (-32700, -32600, -32601, -32602, -32001, -32002, -32005),
  and over HTTP+JSON the error class name a2a-sdk's client maps.
"""
from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
import requests
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers import get_data_parts, new_data_part
from a2a.types import (CancelTaskRequest, GetTaskRequest, Message, Role, SendMessageRequest, TaskState)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from shop import GIFT_PRICE, GIFT_PRODUCT, GIFT_SKU, ledger_sum, restart_shop, sql, start_shop

# Every transport the card offers: JSON-RPC and HTTP+JSON, each in A2A 1.0 and 0.3.
BINDINGS = ["JSONRPC", "HTTP+JSON", "JSONRPC@0.3", "HTTP+JSON@0.3"]


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("a2a"))
    yield s
    s.server.kill()


def data_message(action: str, arguments: dict, message_id: str | None = None) -> Message:
    return Message(message_id=message_id or str(uuid.uuid4()), role=Role.ROLE_USER,
                   parts=[new_data_part({"action": action, "arguments": arguments})])


def purchase(quantity: int = 1) -> dict:
    return {"items": [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": quantity}]}


class A2A:
    """a2a-sdk's client for one agent (or anonymous) over one transport, from the served card."""

    def __init__(self, base_url: str, binding: str, api_key: str | None = None, streaming: bool = False):
        # "JSONRPC@0.3": the 0.3 interface (the client prefers 1.0 when the card offers it).
        binding, _, self.version = binding.partition("@")
        self.base_url, self.binding, self.streaming = base_url, binding, streaming
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def _client(self, http: httpx.AsyncClient):
        card = await A2ACardResolver(http, self.base_url).get_agent_card()
        versions = {i.protocol_version for i in card.supported_interfaces}
        assert {"1.0", "0.3"} <= versions, versions
        for index in reversed(range(len(card.supported_interfaces))):
            if card.supported_interfaces[index].protocol_version != (self.version or "1.0"):
                del card.supported_interfaces[index]
        config = ClientConfig(streaming=self.streaming, supported_protocol_bindings=[self.binding], httpx_client=http)
        return ClientFactory(config).create(card)

    def run(self, work):
        async def main():
            async with httpx.AsyncClient(timeout=30, headers=self.headers) as http:
                client = await self._client(http)
                return await work(client)
        return asyncio.run(main())

    def send(self, message: Message) -> list:
        async def work(client):
            return [event async for event in client.send_message(SendMessageRequest(message=message))]
        return self.run(work)

    def get(self, task_id: str):
        return self.run(lambda client: client.get_task(GetTaskRequest(id=task_id)))

    def cancel(self, task_id: str):
        return self.run(lambda client: client.cancel_task(CancelTaskRequest(id=task_id)))


def only_task(events: list):
    assert len(events) == 1, events
    assert events[0].WhichOneof("payload") == "task", events[0]
    return events[0].task


def artifact_data(task) -> dict:
    parts = [p for artifact in task.artifacts for p in get_data_parts(artifact.parts)]
    assert len(parts) == 1, task
    return parts[0]


def status_data(task) -> dict:
    parts = get_data_parts(task.status.message.parts)
    assert parts, task
    return parts[0]


@pytest.mark.parametrize("binding", BINDINGS)
def test_the_client_reads_the_card_and_a_read_answers_with_a_message(shop, binding):
    events = A2A(shop.base_url, binding).send(data_message("search_catalog", {"query": "tent", "limit": 3}))
    assert len(events) == 1 and events[0].WhichOneof("payload") == "message", events
    reply = get_data_parts(events[0].message.parts)[0]
    assert reply["products"], reply
    assert len(reply["products"]) <= 3
    assert any("tent" in json.dumps(p).lower() for p in reply["products"])


@pytest.mark.parametrize("binding", BINDINGS)
def test_a_purchase_is_a_completed_task_with_the_order_and_tasks_get_finds_it(shop, binding):
    agent = shop.buyer(funds=100_000)
    client = A2A(shop.base_url, binding, agent.api_key)
    created = only_task(client.send(data_message("create_checkout", purchase(2))))
    assert created.status.state == TaskState.TASK_STATE_COMPLETED, created
    checkout = artifact_data(created)["checkout"]
    assert checkout["status"] == "ready_for_complete"
    paid = only_task(client.send(data_message("complete_checkout", {"checkout_id": checkout["id"]})))
    assert paid.status.state == TaskState.TASK_STATE_COMPLETED, paid
    order = artifact_data(paid)["order"]
    assert order["totals"]["total"]["amount"] == 2 * GIFT_PRICE
    assert ledger_sum(shop.store, agent.id) == 100_000 - 2 * GIFT_PRICE
    again = client.get(paid.id)
    assert again.id == paid.id and again.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_data(again)["order"]["id"] == order["id"]
    # A completed task cannot be canceled.
    with pytest.raises(TaskNotCancelableError):
        client.cancel(paid.id)


@pytest.mark.parametrize("binding", BINDINGS)
def test_message_stream_sends_the_task_its_artifact_and_a_final_status(shop, binding):
    agent = shop.buyer(funds=100_000)
    events = A2A(shop.base_url, binding, agent.api_key, streaming=True).send(data_message("create_cart", purchase(1)))
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds == ["task", "artifact_update", "status_update"], kinds
    assert get_data_parts(events[1].artifact_update.artifact.parts)[0]["cart"]["status"] == "active"
    assert events[2].status_update.status.state == TaskState.TASK_STATE_COMPLETED


def pending_purchase(shop, binding):
    agent = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
    client = A2A(shop.base_url, binding, agent.api_key)
    checkout = artifact_data(only_task(client.send(data_message("create_checkout", purchase(3)))))["checkout"]
    task = only_task(client.send(data_message("complete_checkout", {"checkout_id": checkout["id"]})))
    assert task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED, task
    waiting = status_data(task)["checkout"]
    assert waiting["status"] == "pending_approval"
    assert waiting["approval"]["amount"]["amount"] == 3 * GIFT_PRICE
    assert ledger_sum(shop.store, agent.id) == 100_000 - 3 * GIFT_PRICE  # held
    return agent, client, task, waiting["approval"]["id"]


@pytest.mark.parametrize("binding", BINDINGS)
def test_a_purchase_above_the_threshold_waits_as_input_required_and_completes_when_approved(shop, binding):
    agent, client, task, approval = pending_purchase(shop, binding)
    assert client.get(task.id).status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    shop.admin_ok("POST", f"/approvals/{approval}/approve")
    done = client.get(task.id)
    assert done.status.state == TaskState.TASK_STATE_COMPLETED, done
    result = artifact_data(done)
    assert result["checkout"]["status"] == "completed"
    assert result["order"]["totals"]["total"]["amount"] == 3 * GIFT_PRICE
    assert ledger_sum(shop.store, agent.id) == 100_000 - 3 * GIFT_PRICE


def test_a_denied_purchase_is_rejected_and_the_hold_released(shop):
    agent, client, task, approval = pending_purchase(shop, "JSONRPC")
    shop.admin_ok("POST", f"/approvals/{approval}/deny")
    assert client.get(task.id).status.state == TaskState.TASK_STATE_REJECTED
    assert ledger_sum(shop.store, agent.id) == 100_000


@pytest.mark.parametrize("binding", BINDINGS)
def test_tasks_cancel_cancels_the_waiting_checkout_and_releases_the_hold(shop, binding):
    agent, client, task, approval = pending_purchase(shop, binding)
    canceled = client.cancel(task.id)
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED, canceled
    assert ledger_sum(shop.store, agent.id) == 100_000
    assert client.get(task.id).status.state == TaskState.TASK_STATE_CANCELED
    approvals = {a["id"]: a for a in shop.admin_ok("GET", "/approvals?status=all")["approvals"]}
    assert approvals[approval]["status"] == "canceled"
    with pytest.raises(TaskNotCancelableError):
        client.cancel(task.id)


def test_the_same_message_twice_charges_once_and_names_one_task(shop):
    agent = shop.buyer(funds=100_000)
    client = A2A(shop.base_url, "JSONRPC", agent.api_key)
    checkout = artifact_data(only_task(client.send(data_message("create_checkout", purchase(1)))))["checkout"]
    message_id = str(uuid.uuid4())
    # (the same message id over another version and transport is the same message)
    first = only_task(client.send(data_message("complete_checkout", {"checkout_id": checkout["id"]}, message_id)))
    second = only_task(client.send(data_message("complete_checkout", {"checkout_id": checkout["id"]}, message_id)))
    assert first.id == second.id
    assert artifact_data(first)["order"]["id"] == artifact_data(second)["order"]["id"]
    assert ledger_sum(shop.store, agent.id) == 100_000 - GIFT_PRICE


@pytest.mark.parametrize("binding", BINDINGS)
def test_tasks_belong_to_their_agent(shop, binding):
    owner = shop.buyer(funds=100_000)
    task = only_task(A2A(shop.base_url, binding, owner.api_key).send(data_message("create_cart", purchase(1))))
    stranger = shop.buyer(funds=0)
    with pytest.raises(TaskNotFoundError):
        A2A(shop.base_url, binding, stranger.api_key).get(task.id)
    with pytest.raises(TaskNotFoundError):
        A2A(shop.base_url, binding, stranger.api_key).cancel(task.id)
    with pytest.raises(Exception):
        A2A(shop.base_url, binding).get(task.id)


def test_a_change_needs_an_agent_and_an_anonymous_caller_gets_401(shop):
    r = requests.post(shop.url("/a2a"), json=rpc("message/send", {"message": raw_message("create_cart", purchase(1))}), timeout=10)
    assert r.status_code == 401, r.text
    assert "Bearer" in r.headers["WWW-Authenticate"]


def test_a_refused_purchase_is_a_rejected_task_with_the_reason(shop):
    agent = shop.buyer(funds=GIFT_PRICE - 1)
    client = A2A(shop.base_url, "JSONRPC", agent.api_key)
    checkout = artifact_data(only_task(client.send(data_message("create_checkout", purchase(1)))))["checkout"]
    task = only_task(client.send(data_message("complete_checkout", {"checkout_id": checkout["id"]})))
    assert task.status.state == TaskState.TASK_STATE_REJECTED, task
    assert status_data(task)["error"]["code"] == "insufficient_funds"
    assert client.get(task.id).status.state == TaskState.TASK_STATE_REJECTED


def test_tasks_outlive_a_restart(shop, tmp_path_factory):
    agent = shop.buyer(funds=100_000)
    task = only_task(A2A(shop.base_url, "HTTP+JSON", agent.api_key).send(data_message("create_cart", purchase(1))))
    shop.server.kill()
    again = restart_shop(shop)
    try:
        found = A2A(again.base_url, "JSONRPC", agent.api_key).get(task.id)
        assert found.status.state == TaskState.TASK_STATE_COMPLETED
        assert artifact_data(found)["cart"]["id"] == artifact_data(task)["cart"]["id"]
    finally:
        shop.server = again.server


# --- the wire, without the SDK --------------------------------------------------------------------


def rpc(method: str, params, id_=1) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def raw_message(action: str, arguments: dict) -> dict:
    return {"kind": "message", "messageId": str(uuid.uuid4()), "role": "user",
            "parts": [{"kind": "data", "data": {"action": action, "arguments": arguments}}]}


@pytest.mark.parametrize("body,code", [
    (b"{not json", -32700),
    (json.dumps({"id": 1, "method": "message/send"}).encode(), -32600),
    (json.dumps(rpc("tasks/list", {})).encode(), -32601),
    (json.dumps(rpc("message/send", {"message": {"parts": []}})).encode(), -32602),
    (json.dumps(rpc("message/send", {"message": raw_message("no_such_action", {})})).encode(), -32602),
    (json.dumps(rpc("message/send", {"message": {"kind": "message", "messageId": "m1", "role": "user",
                                                 "parts": [{"kind": "text", "text": "buy me a tent"}]}})).encode(), -32005),
    (json.dumps(rpc("tasks/pushNotificationConfig/set", {"taskId": "t"})).encode(), -32003),
])
def test_json_rpc_errors_have_their_codes(shop, body, code):
    r = requests.post(shop.url("/a2a"), data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert error["message"]


def test_an_unknown_task_is_task_not_found_over_both_transports(shop):
    agent = shop.buyer(funds=0)
    auth = {"Authorization": f"Bearer {agent.api_key}"}
    r = requests.post(shop.url("/a2a"), json=rpc("tasks/get", {"id": "task_nope"}), headers=auth, timeout=10)
    assert r.json()["error"]["code"] == -32001
    r = requests.get(shop.url("/a2a/v1/tasks/task_nope"), headers=auth, timeout=10)
    assert r.status_code == 404 and r.json()["type"] == "TaskNotFoundError", r.text


def test_json_rpc_results_have_the_0_3_shapes(shop):
    agent = shop.buyer(funds=100_000)
    auth = {"Authorization": f"Bearer {agent.api_key}"}
    r = requests.post(shop.url("/a2a"), json=rpc("message/send", {"message": raw_message("create_cart", purchase(1))}, "x"),
                      headers=auth, timeout=10)
    body = r.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == "x"
    task = body["result"]
    assert task["kind"] == "task" and task["status"]["state"] == "completed"
    assert task["status"]["timestamp"].endswith("Z")
    assert task["artifacts"][0]["parts"][0]["kind"] == "data"
    assert task["history"][0]["role"] == "user" and task["history"][0]["taskId"] == task["id"]
    rest = requests.get(shop.url(f"/a2a/v1/tasks/{task['id']}"), headers=auth, timeout=10).json()
    assert rest["status"]["state"] == "TASK_STATE_COMPLETED"
    assert "kind" not in rest and "kind" not in rest["history"][0] and "kind" not in rest["artifacts"][0]["parts"][0]
    assert rest["artifacts"][0]["parts"][0]["data"]["data"]["cart"]["id"] == task["artifacts"][0]["parts"][0]["data"]["cart"]["id"]


# --- UCP's A2A binding ---------------------------------------------------------------------------------

UCP_EXTENSION = "https://ucp.dev/2026-08-25/specification/reference"


def test_the_card_advertises_ucps_extension_and_the_profile_the_card(shop):
    card = requests.get(shop.url("/.well-known/agent-card.json"), timeout=10).json()
    extension = card["capabilities"]["extensions"][0]
    assert extension["uri"] == UCP_EXTENSION
    assert "dev.ucp.shopping.checkout" in extension["params"]["capabilities"]
    profile = requests.get(shop.url("/.well-known/ucp"), timeout=10).json()
    a2a = [s for s in profile["ucp"]["services"]["dev.ucp.shopping"] if s["transport"] == "a2a"]
    assert a2a[0]["endpoint"] == shop.url("/.well-known/agent-card.json")


@pytest.mark.parametrize("binding", BINDINGS)
def test_a_ucp_checkout_over_a2a_one_per_conversation(shop, binding):
    """A platform that activates UCP's extension shapes the conversation's checkout with data
    parts, through a2a-sdk's client; every answer's `a2a.ucp.checkout` is UCP's checkout."""
    from ucp_schemas import errors as ucp_errors

    agent = shop.buyer(funds=100_000)
    client = A2A(shop.base_url, binding, agent.api_key)
    client.headers["X-A2A-Extensions"] = UCP_EXTENSION
    context = str(uuid.uuid4())

    def say(data_parts: list[dict]) -> dict:
        message = Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, context_id=context,
                          parts=[new_data_part(d) for d in data_parts])
        events = client.send(message)
        assert len(events) == 1 and events[0].WhichOneof("payload") == "message", events
        assert events[0].message.context_id == context
        checkout = get_data_parts(events[0].message.parts)[0]["a2a.ucp.checkout"]
        problems = ucp_errors("shopping/checkout.json", checkout, "response", "read") if "id" in checkout \
            else ucp_errors("common/types/error_response.json", checkout)
        assert not problems, problems
        return checkout

    first = say([{"action": "add_to_checkout", "product_id": GIFT_SKU, "quantity": 1}])
    more = say([{"action": "add_to_checkout", "product_id": GIFT_SKU, "quantity": 2}])
    assert more["id"] == first["id"] and more["line_items"][0]["quantity"] == 3
    fewer = say([{"action": "remove_from_checkout", "product_id": GIFT_SKU, "quantity": 1}])
    assert fewer["line_items"][0]["quantity"] == 2
    payment = {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}
    done = say([{"action": "complete_checkout"}, {"a2a.ucp.checkout.payment": payment}])
    assert done["status"] == "completed" and done["order"]["id"].startswith("ord_")
    assert ledger_sum(shop.store, agent.id) == 100_000 - 2 * GIFT_PRICE
    # A finished checkout: the next add starts a new one in the same conversation.
    again = say([{"action": "add_to_checkout", "product_id": GIFT_SKU, "quantity": 1}])
    assert again["id"] != first["id"] and again["status"] == "ready_for_complete"


def test_ucp_over_a2a_needs_an_agent_and_a_known_action(shop):
    headers = {"X-A2A-Extensions": UCP_EXTENSION}
    body = rpc("message/send", {"message": raw_message("add_to_checkout", {}) | {
        "parts": [{"kind": "data", "data": {"action": "add_to_checkout", "product_id": GIFT_SKU}}]}})
    assert requests.post(shop.url("/a2a"), json=body, headers=headers, timeout=10).status_code == 401
    agent = shop.buyer(funds=0)
    headers |= {"Authorization": f"Bearer {agent.api_key}"}
    body["params"]["message"]["parts"] = [{"kind": "data", "data": {"action": "teleport"}}]
    assert requests.post(shop.url("/a2a"), json=body, headers=headers, timeout=10).json()["error"]["code"] == -32602
    body["params"]["message"]["parts"] = [{"kind": "data", "data": {"action": "complete_checkout"}}]
    r = requests.post(shop.url("/a2a"), json=body, headers=headers, timeout=10).json()
    assert r["error"]["code"] == -32602 and "no checkout" in r["error"]["message"]


def test_a2a_1_0_shapes_on_the_wire(shop):
    agent = shop.buyer(funds=100_000)
    auth = {"Authorization": f"Bearer {agent.api_key}", "A2A-Version": "1.0"}
    message = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER",
               "parts": [{"data": {"action": "create_cart", "arguments": purchase(1)}}]}
    r = requests.post(shop.url("/a2a"), json=rpc("SendMessage", {"message": message}, "q"), headers=auth, timeout=10)
    task = r.json()["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED" and "kind" not in task
    assert task["artifacts"][0]["parts"][0]["data"]["cart"]["status"] == "active"  # a data part wrapped once
    r = requests.get(shop.url(f"/a2a/tasks/{task['id']}"), headers=auth, timeout=10)
    assert r.headers["Content-Type"].startswith("application/a2a+json") and r.json()["id"] == task["id"]
    missing = requests.get(shop.url("/a2a/tasks/task_nope"), headers=auth, timeout=10)
    error = missing.json()["error"]
    assert missing.status_code == 404 and error["status"] == "NOT_FOUND" and error["details"][0]["reason"] == "TASK_NOT_FOUND"
    rpc_missing = requests.post(shop.url("/a2a"), json=rpc("GetTask", {"id": "task_nope"}), headers=auth, timeout=10).json()["error"]
    assert rpc_missing["code"] == -32001 and rpc_missing["data"][0]["reason"] == "TASK_NOT_FOUND"
    canceled = requests.post(shop.url(f"/a2a/tasks/{task['id']}:cancel"), headers=auth, timeout=10)
    assert canceled.status_code == 400 and canceled.json()["error"]["details"][0]["reason"] == "TASK_NOT_CANCELABLE"


def test_a_retried_ucp_message_is_answered_again_not_applied_twice(shop):
    agent = shop.buyer(funds=100_000)
    headers = {"Authorization": f"Bearer {agent.api_key}", "X-A2A-Extensions": UCP_EXTENSION}
    context = str(uuid.uuid4())

    def send(message_id: str, data: dict) -> dict:
        body = rpc("message/send", {"message": {"kind": "message", "messageId": message_id, "role": "user", "contextId": context,
                                                "parts": [{"kind": "data", "data": data}]}})
        return requests.post(shop.url("/a2a"), json=body, headers=headers, timeout=10).json()["result"]["parts"][0]["data"]["a2a.ucp.checkout"]

    add = {"action": "add_to_checkout", "product_id": GIFT_SKU, "quantity": 2}
    first = send("m-1", add)
    again = send("m-1", add)  # the platform retries: the same answer, still two
    assert again["id"] == first["id"] and again["line_items"][0]["quantity"] == 2
    more = send("m-2", add)
    assert more["line_items"][0]["quantity"] == 4
    assert send("m-2", add)["line_items"][0]["quantity"] == 4


@pytest.mark.parametrize("id_", ["absent", None, {"a": 1}, [1]])
def test_a_json_rpc_call_without_a_usable_id_runs_nothing(shop, id_):
    agent = shop.buyer(funds=100_000)
    body = {"jsonrpc": "2.0", "method": "message/send", "params": {"message": raw_message("create_cart", purchase(1))}}
    if id_ != "absent":
        body["id"] = id_
    r = requests.post(shop.url("/a2a"), json=body, headers={"Authorization": f"Bearer {agent.api_key}"}, timeout=10)
    assert r.json()["error"]["code"] == -32600 and r.json()["id"] is None
    carts = sql(shop.store, f"SELECT count(*) AS n FROM carts WHERE agent_id = '{agent.id}'")
    assert carts[0]["n"] == 0
