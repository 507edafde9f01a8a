"""Reason-tagging throughput per tier set, on the labeled evaluation texts repeated to a given count.

    python benchmarks/tagging.py --texts 50000 [--tiers rules rules,examples]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyarrow as pa

from transforms.tagging import load_taxonomy
from transforms.tagging.reasons import ReasonTagger

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--labeled", type=Path, default=ROOT / "data" / "eval" / "reasons_labeled.jsonl")
    parser.add_argument("--tiers", nargs="+", default=["rules", "rules,examples"])
    args = parser.parse_args(argv)
    base = [json.loads(line)["utterance"] for line in args.labeled.read_text().splitlines() if line.strip()]
    texts = (base * (args.texts // len(base) + 1))[: args.texts]
    table = pa.table({"text": texts, "touchpoint": ["chat"] * len(texts), "source_reason": pa.nulls(len(texts), pa.string())})
    taxonomy = load_taxonomy()
    for tiers in args.tiers:
        tagger = ReasonTagger(taxonomy, tuple(tiers.split(",")))
        started = time.perf_counter()
        tagger.tag(table)
        seconds = time.perf_counter() - started
        print(json.dumps({"tiers": tiers, "texts": len(texts), "seconds": round(seconds, 2), "texts_per_s": round(len(texts) / seconds)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
