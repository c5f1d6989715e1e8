"""Writes an operator's published-ranges document (OpenAI's and Google's shape) of 2,000 prefixes
from the benchmarking and documentation ranges, none of them loopback: every request from
loopback is checked against them and stays claimed. Used by bench/verification_*.sh."""
import json
import sys

prefixes = [{"ipv4Prefix": f"198.18.{i // 8}.{(i % 8) * 32}/27"} for i in range(1500)]
prefixes += [{"ipv6Prefix": f"2001:db8:{i:x}::/48"} for i in range(500)]
with open(sys.argv[1], "w") as out:
    json.dump({"creationTime": "2026-12-07T00:00:00Z", "prefixes": prefixes}, out)
