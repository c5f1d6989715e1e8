#!/usr/bin/env python3
"""A catalog of any size for benchmarks, the same every time for the same size and seed.

Each product is one of the demo store's 47 (manifests/catalog.json) made new: a name from the
demo's own words (a maker, a descriptor, the base product's kind), a price around the base's,
stock from 0 to 60 (about one in eight sold out), the base's category, attributes and variants
(their ids made unique). Written as Storefront JSON Lines (one product per line, catalog.json's
product shape), which `storefront catalog import --format storefront-jsonl` reads as a stream.

    bench/generate_catalog.py 1000000 > /tmp/catalog-1m.jsonl
    bench/generate_catalog.py 100000 --queries 50000 --queries-out /tmp/q.txt > /tmp/c.jsonl

With --queries N it also writes N distinct searches drawn from the catalog's vocabulary (one or
two words, sometimes a category or a price range), one query string per line, for wrk. With
--queries-from-products the words are taken from one generated product's name (so every query
matches something, as a shopper's usually does); otherwise any words of the vocabulary are
paired, and most pairs never meet in one product.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKERS = ["Alder", "Basalt", "Cirrus", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Larch",
          "Meridian", "Nimbus", "Osprey", "Pika", "Quartz", "Ridge", "Sierra", "Tundra", "Umber", "Vale", "Willow", "Yarrow"]
STOPWORDS = {"and", "the", "for", "with", "your", "from", "into"}
DESCRIPTORS = ["ultralight", "rugged", "compact", "insulated", "waterproof", "breathable", "packable", "expedition", "trail",
               "alpine", "desert", "coastal", "winter", "summer", "family", "solo", "classic", "pro", "touring", "everyday"]


def words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) > 2 and not w.isdigit() and w not in STOPWORDS]


def generate(size: int, seed: int):
    demo = json.loads((ROOT / "manifests" / "catalog.json").read_text())
    bases = demo["products"]
    rng = random.Random(seed)
    for i in range(size):
        base = bases[i % len(bases)]
        maker, descriptor = rng.choice(MAKERS), rng.choice(DESCRIPTORS)
        kind = " ".join(base["name"].split()[-2:])
        product = dict(base)
        product["id"] = f"{base['id'][:48]}-{i}"
        product["name"] = f"{maker} {descriptor.capitalize()} {kind} {i}"
        product["tags"] = sorted(set(base.get("tags", [])[:3] + [descriptor]))
        product["brand"] = f"{maker} Outdoor"
        amount = max(100, int(base["price"]["amount"] * rng.uniform(0.6, 1.6)) // 100 * 100 - 1)
        product["price"] = {"amount": amount, "currency": base["price"]["currency"]}
        stock = 0 if rng.random() < 0.125 else rng.randint(1, 60)
        if base.get("variants"):
            variants = []
            for v in base["variants"]:
                variant = dict(v)
                variant["id"] = f"{v['id'][:40]}-{i}"
                variant["inventory"] = 0 if stock == 0 else rng.randint(0, stock)
                if "price" in v:
                    variant["price"] = {"amount": max(100, v["price"]["amount"] + amount - base["price"]["amount"]), "currency": v["price"]["currency"]}
                variants.append(variant)
            product["variants"] = variants
            product["inventory"] = sum(v["inventory"] for v in variants)
        else:
            product["inventory"] = stock
        yield product


def queries(count: int, seed: int, vocabulary: list[str], categories: list[str], names: list[str] | None = None) -> list[str]:
    rng = random.Random(seed + 1)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        pool = words(rng.choice(names)) if names else vocabulary
        chosen = rng.sample(pool, min(len(pool), rng.choice([1, 2, 2])))
        q = "q=" + "+".join(chosen)
        roll = rng.random()
        if roll < 0.15:
            q += "&category=" + rng.choice(categories)
        elif roll < 0.25:
            low = rng.randrange(0, 40000, 1000)
            q += f"&min_price={low}&max_price={low + rng.randrange(2000, 30000, 1000)}"
        elif roll < 0.30:
            q += "&in_stock=true"
        if q not in seen:
            seen.add(q)
            out.append(q)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=0)
    parser.add_argument("--queries-out", type=Path)
    parser.add_argument("--queries-from-products", type=int, metavar="SIZE",
                        help="draw each query's words from the name of one product of a generated catalog of SIZE (0: the demo's)")
    args = parser.parse_args()
    out = sys.stdout
    vocabulary: set[str] = set(w.lower() for w in MAKERS + DESCRIPTORS)
    for product in generate(args.size, args.seed):
        out.write(json.dumps(product, separators=(",", ":")) + "\n")
    demo = json.loads((ROOT / "manifests" / "catalog.json").read_text())
    for base in demo["products"]:
        vocabulary.update(words(base["name"]))
        vocabulary.update(t for tag in base.get("tags", []) for t in words(tag))
    if args.queries:
        assert args.queries_out, "--queries needs --queries-out"
        categories = [c["id"] for c in demo["categories"]]
        names = None
        if args.queries_from_products is not None:
            # 0: the demo's own products.
            names = ([p["name"] for p in generate(args.queries_from_products, args.seed)] if args.queries_from_products
                     else [p["name"] for p in demo["products"]])
        args.queries_out.write_text("\n".join(queries(args.queries, args.seed, sorted(vocabulary), categories, names)) + "\n")


if __name__ == "__main__":
    main()
