"""Hostile-client checks for issue 12, items 7, 8, 9 and 11, against the REAL binary. Each test
failed on the main branch the issue was filed against:

7.  Funding 9223372036854775807 to a wallet holding money overflowed and killed the gateway (and
    the CLI). Now every sum of money is checked: 422 `amount_out_of_range`, the process lives.
8.  The admin limits route read an unparseable body as `{}`, answered 200 and recorded
    `wallet.set_limits ok`. Now a bad admin body is 400 and nothing is recorded.
9.  Buy, cancel for a full refund, rate 1★: ratings at no cost. Now only kept purchases rate, and a
    rating whose order is later canceled or refunded in full stops counting.
11. The admin token was accepted as `?access_token=` (so it ended up in proxy logs); `/metrics`
    was open. Now the dashboard signs in with an HttpOnly, SameSite=Strict session cookie and a
    CSRF token; no admin token in any URL; `/metrics` needs a token when one is configured.
"""

from __future__ import annotations

import signal
import uuid

import pytest
import requests

from shop import GIFT_PRODUCT, Shop, cli, error_of, sql, start_shop

INT64_MAX = 9_223_372_036_854_775_807
SESSION_COOKIE = "sf_admin_session"


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory) -> Shop:
    s = start_shop(tmp_path_factory.mktemp("hostile-fixes"), extra=("--threads", "4"))
    yield s
    code = s.server.stop(signal.SIGTERM)
    s.server.assert_stopped_cleanly(code)


def alive(shop: Shop) -> None:
    assert shop.server.process.poll() is None, f"the gateway died: {shop.server.stderr[-2000:]}"
    assert requests.get(shop.url("/status"), timeout=10).status_code == 200


def balance(shop: Shop, agent) -> int:
    return shop.wallet(agent)["balance"]["amount"]


def trail(shop: Shop, agent_id: str, action: str) -> list[dict]:
    return shop.admin_ok("GET", f"/trail?agent_id={agent_id}&action={action}&limit=1000")["entries"]


# --- 7. checked arithmetic on money ---------------------------------------------------------------


def test_funding_int64_max_to_a_wallet_with_money_is_refused_and_the_gateway_lives(shop):
    agent = shop.buyer(funds=100)
    r = shop.admin("POST", f"/wallets/{agent.id}/fund", {"amount": INT64_MAX})
    assert r.status_code == 422, (r.status_code, r.text[:500])
    assert error_of(r)["code"] == "amount_out_of_range"
    alive(shop)
    assert balance(shop, agent) == 100, "nothing was written"
    assert [e for e in trail(shop, agent.id, "wallet.fund") if e.get("amount") == INT64_MAX] == []
    # Up to the largest balance is fine; one more minor unit is not.
    assert shop.fund(agent, INT64_MAX - 100)["balance"]["amount"] == INT64_MAX
    r = shop.admin("POST", f"/wallets/{agent.id}/fund", {"amount": 1})
    assert r.status_code == 422 and error_of(r)["code"] == "amount_out_of_range", r.text[:500]
    alive(shop)


def test_the_cli_refuses_the_overflowing_fund_with_a_message_not_a_crash(shop):
    agent = shop.buyer(funds=100)
    out = cli("wallets", "fund", agent.id, str(INT64_MAX), store=shop.store)
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)  # a trap is a negative code (signal)
    assert "too large" in out.stderr, out.stderr
    assert balance(shop, agent) == 100
    alive(shop)


def test_a_refund_into_a_full_wallet_is_refused_not_a_crash(shop):
    agent = shop.buyer(funds=10_000)
    bought = shop.buy(agent, 1)
    assert bought.status_code == 200, bought.text[:500]
    order = bought.json()["order"]["id"]
    shop.fund(agent, INT64_MAX - balance(shop, agent))
    r = shop.call(agent, "cancel_order", {"order_id": order})
    assert r.status_code == 422 and error_of(r)["code"] == "amount_out_of_range", (r.status_code, r.text[:500])
    alive(shop)
    assert balance(shop, agent) == INT64_MAX
    assert shop.call(agent, "get_order", {"order_id": order}).json()["order"]["status"] == "confirmed"


# --- 8. bad admin bodies are 400 and change nothing ----------------------------------------------


BAD_BODIES = {
    "number-overflow": b'{"daily": 1e400}',
    "trailing-comma": b'{"daily": 5000,}',
    "not-json": b"daily=5000",
    "integer-beyond-64-bits": b'{"daily": 9223372036854775808}',
    "not-an-object": b"[5000]",
    "unknown-key": b'{"dayly": 5000}',
    "wrong-type": b'{"allowed_categories": "books"}',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_limits_body_is_400_changes_nothing_and_records_nothing(shop, body):
    agent = shop.buyer(funds=10_000, daily=7_000)
    before = shop.wallet(agent)
    r = shop.http.post(shop.url(f"/admin/api/wallets/{agent.id}/limits"), data=body,
                       headers={**shop.admin_auth, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400, (body, r.status_code, r.text[:500])
    assert error_of(r)["message"]
    assert shop.wallet(agent)["controls"] == before["controls"]
    assert len(trail(shop, agent.id, "wallet.set_limits")) == 1, "only the good call is on the trail"


@pytest.mark.parametrize("path", ["/wallets/{id}/fund", "/agents", "/agents/{id}/revoke", "/agents/{id}/rotate-key"])
def test_every_admin_route_refuses_an_unparseable_body(shop, path):
    agent = shop.buyer(funds=500)
    r = shop.http.post(shop.url("/admin/api" + path.format(id=agent.id)), data=b'{"amount": 5,}',
                       headers={**shop.admin_auth, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400, (path, r.status_code, r.text[:500])
    assert balance(shop, agent) == 500
    assert shop.call(agent, "get_wallet", {}).status_code == 200, "the agent was not revoked nor its key rotated"


# --- 9. only kept purchases rate -------------------------------------------------------------------


def rating_of(shop: Shop, product: str):
    return requests.get(shop.url(f"/catalog/{product}"), headers={"Accept": "application/json"}, timeout=10).json().get("rating")


def test_a_canceled_purchase_cannot_rate_and_a_rating_stops_counting_when_refunded(binary, tmp_path):
    shop = start_shop(tmp_path)  # its own store: ratings here are the only ones
    try:
        rater = shop.buyer(funds=100_000)
        # Buy, cancel for a full refund, rate: refused.
        order = shop.buy(rater, 1).json()["order"]["id"]
        assert shop.call(rater, "cancel_order", {"order_id": order}).status_code == 200
        r = shop.call(rater, "leave_feedback", {"order_id": order, "product_id": GIFT_PRODUCT, "rating": 1})
        assert r.status_code == 409 and error_of(r)["code"] == "order_not_kept", (r.status_code, r.text[:500])
        assert rating_of(shop, GIFT_PRODUCT) is None

        # A kept purchase rates 5; another rates 1 and is then canceled; a third rates 1 and is
        # refunded in full: only the 5 counts.
        kept = shop.buy(rater, 1).json()["order"]["id"]
        assert shop.call(rater, "leave_feedback", {"order_id": kept, "product_id": GIFT_PRODUCT, "rating": 5}).status_code == 200
        canceled = shop.buy(rater, 1).json()["order"]["id"]
        assert shop.call(rater, "leave_feedback", {"order_id": canceled, "product_id": GIFT_PRODUCT, "rating": 1}).status_code == 200
        refunded = shop.buy(rater, 1).json()["order"]["id"]
        r = shop.call(rater, "leave_feedback", {"order_id": refunded, "product_id": GIFT_PRODUCT, "rating": 1})
        assert r.json()["product_rating"] == {"average": 2.33, "count": 3}, r.json()
        assert shop.call(rater, "cancel_order", {"order_id": canceled}).status_code == 200
        assert shop.call(rater, "request_refund", {"order_id": refunded}).status_code == 200
        assert rating_of(shop, GIFT_PRODUCT) == {"average": 5.0, "count": 1}

        # A partial refund keeps the purchase (and its rating).
        partial = shop.buy(rater, 2).json()["order"]["id"]
        assert shop.call(rater, "request_refund", {"order_id": partial, "amount": 100}).status_code == 200
        r = shop.call(rater, "leave_feedback", {"order_id": partial, "product_id": GIFT_PRODUCT, "rating": 3})
        assert r.status_code == 200 and r.json()["product_rating"] == {"average": 4.0, "count": 2}, r.text[:500]
    finally:
        shop.server.kill()


# --- 11. admin sign-in by cookie, CSRF, no token in URLs, /metrics --------------------------------


def test_the_admin_token_is_not_accepted_in_the_url(shop):
    for path in ("/admin/api/agents", "/admin/api/analytics/summary", "/admin/api/analytics/live"):
        r = requests.get(shop.url(f"{path}?access_token={shop.admin_token}"), timeout=10, stream=True)
        assert r.status_code == 401, (path, r.status_code)
        r.close()


def sign_in(shop: Shop) -> tuple[requests.Session, str]:
    browser = requests.Session()
    r = browser.post(shop.url("/admin/api/session"), json={"token": shop.admin_token}, timeout=10)
    assert r.status_code == 201, (r.status_code, r.text[:500])
    return browser, r.json()["csrf_token"]


def test_sign_in_sets_an_httponly_strict_cookie_stored_only_as_a_hash(shop):
    wrong = requests.post(shop.url("/admin/api/session"), json={"token": "sf_admin_wrong_" + uuid.uuid4().hex}, timeout=10)
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
    r = requests.post(shop.url("/admin/api/session"), json={"token": shop.admin_token}, timeout=10)
    assert r.status_code == 201, r.text[:500]
    cookie = r.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes, cookie
    assert "SameSite=Strict" in cookie, cookie
    value = r.cookies[SESSION_COOKIE]
    rows = sql(shop.store, "SELECT * FROM admin_sessions")
    assert rows and all(value not in str(row) for row in rows), "the session id is stored in clear"
    assert shop.admin_token not in r.text


def test_the_cookie_reads_and_streams_but_changes_nothing_without_the_csrf_token(shop):
    agent = shop.buyer(funds=1_000)
    browser, csrf = sign_in(shop)
    assert browser.get(shop.url("/admin/api/agents"), timeout=10).status_code == 200
    with browser.get(shop.url("/admin/api/analytics/live"), stream=True, timeout=10) as live:
        assert live.status_code == 200 and live.headers["Content-Type"].startswith("text/event-stream")

    fund = shop.url(f"/admin/api/wallets/{agent.id}/fund")
    refused = browser.post(fund, json={"amount": 5}, timeout=10)
    assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_token_invalid", refused.text[:500]
    wrong = browser.post(fund, json={"amount": 5}, headers={"X-CSRF-Token": csrf[:-2] + "xx"}, timeout=10)
    assert wrong.status_code == 403
    assert balance(shop, agent) == 1_000
    ok = browser.post(fund, json={"amount": 5}, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert ok.status_code == 200, ok.text[:500]
    assert balance(shop, agent) == 1_005
    # A bearer-token call needs no CSRF token.
    assert shop.admin("POST", f"/wallets/{agent.id}/fund", {"amount": 5}).status_code == 200
    # Another session's CSRF token is not this one's.
    _, other_csrf = sign_in(shop)
    assert browser.post(fund, json={"amount": 5}, headers={"X-CSRF-Token": other_csrf}, timeout=10).status_code == 403


def test_sign_out_ends_the_session_on_the_gateway(shop):
    browser, csrf = sign_in(shop)
    old = browser.cookies[SESSION_COOKIE]
    assert browser.delete(shop.url("/admin/api/session"), timeout=10).status_code == 403, "sign-out needs the CSRF token"
    r = browser.delete(shop.url("/admin/api/session"), headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 200 and "Max-Age=0" in r.headers["Set-Cookie"]
    replay = requests.get(shop.url("/admin/api/agents"), cookies={SESSION_COOKIE: old}, timeout=10)
    assert replay.status_code == 401


def test_metrics_are_open_by_default(shop):
    assert requests.get(shop.url("/metrics"), timeout=10).status_code == 200


def test_metrics_need_the_metrics_token_or_the_admin_token_when_configured(binary, tmp_path):
    metrics_token = "metrics_" + uuid.uuid4().hex
    token_file = tmp_path / "metrics-token.txt"
    token_file.write_text(metrics_token + "\n")
    shop = start_shop(tmp_path, extra=("--metrics-token-file", str(token_file)))
    try:
        assert requests.get(shop.url("/metrics"), timeout=10).status_code == 401
        wrong = requests.get(shop.url("/metrics"), headers={"Authorization": "Bearer metrics_wrong"}, timeout=10)
        assert wrong.status_code == 401
        with_token = requests.get(shop.url("/metrics"), headers={"Authorization": f"Bearer {metrics_token}"}, timeout=10)
        assert with_token.status_code == 200 and "storefront_orders_total" in with_token.text
        assert requests.get(shop.url("/metrics"), headers=shop.admin_auth, timeout=10).status_code == 200
        # The metrics token is not an admin token.
        assert requests.get(shop.url("/admin/api/agents"), headers={"Authorization": f"Bearer {metrics_token}"},
                            timeout=10).status_code == 401
    finally:
        shop.server.kill()


def test_a_missing_metrics_token_file_stops_the_start(binary, tmp_path):
    from support import run_cli
    out = run_cli("serve", "--manifests", "manifests", "--store", str(tmp_path / "s.db"), "--port", "0",
                  "--metrics-token-file", str(tmp_path / "missing.txt"), timeout=60)
    assert out.returncode == 78, (out.returncode, out.stderr)
    assert "metrics token" in out.stderr
