"""Registers agents, funds them and creates ready checkouts for the checkout benchmark.

Usage: python bench/prepare_checkouts.py BASE_URL ADMIN_TOKEN AGENTS CHECKOUTS_PER_AGENT OUT_FILE
Writes one "api_key checkout_id" line per checkout. Uses a gift-card variant (digital, large stock,
no shipping) so stock never runs out and every checkout costs the same.
"""

import concurrent.futures
import json
import sys
import urllib.request

BASE, ADMIN, AGENTS, PER_AGENT, OUT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]


def post(path, body, token):
    request = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def prepare(i):
    agent = post("/admin/api/agents", {"principal": f"Bench principal {i}", "display_name": f"bench-{i}"}, ADMIN)
    post(f"/admin/api/wallets/{agent['id']}/fund", {"amount": 10**12}, ADMIN)
    lines = []
    for _ in range(PER_AGENT):
        checkout = post("/tools/create_checkout",
                        {"items": [{"product_id": "gift-card", "variant_id": "gift-card-25", "quantity": 1}]},
                        agent["api_key"])["checkout"]
        assert checkout["status"] == "ready_for_complete", checkout
        lines.append(f"{agent['api_key']} {checkout['id']}")
    return lines


with concurrent.futures.ThreadPoolExecutor(16) as pool, open(OUT, "w") as out:
    for lines in pool.map(prepare, range(AGENTS)):
        out.write("\n".join(lines) + "\n")
