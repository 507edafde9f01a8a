"""Reason tagging on public, labelled customer-service utterances the project never tuned to.

    .venv/bin/python benchmarks/tagging_public.py [--sets banking77] [--shots 5] [--tiers rules,examples embeddings] [--learn]

Each set (benchmarks/data/intents/<name>.jsonl, sources and licences in SOURCES.md there) is split once
and for good: a seeded shuffle, then the first `--shots` texts of each label become that label's
examples in a taxonomy built for the set (no patterns, no codes), and every other text is held out.
For each tier setting the script prints accuracy on the held-out texts (a text left 'unknown' counts
as wrong), accuracy when forced to a reason, coverage, accuracy per confidence band and texts/s.

With --learn, half of the held-out texts (a stable half, by hash) play a team's own labeled contacts:
they are learned as `cx tags train` learns them (transforms/tagging/learn.py), and every tier setting
is measured again on the other half, next to the same half measured with the five examples alone.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transforms.tagging import load_taxonomy  # noqa: E402
from transforms.tagging.learn import PER_REASON, held_out, pick_examples, with_examples  # noqa: E402
from transforms.tagging.reasons import ReasonTagger  # noqa: E402
from transforms.tagging.taxonomy import Reason, Taxonomy  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "intents"
SEED = 20261206
BANDS = ((0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))


def split(rows: list[dict], shots: int) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """(examples per label, held-out (text, label)): fixed by SEED."""
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    examples: dict[str, list[str]] = defaultdict(list)
    held = []
    for i in order:
        text, label = rows[i]["text"], rows[i]["label"]
        if len(examples[label]) < shots:
            examples[label].append(text)
        else:
            held.append((text, label))
    return dict(examples), held


def taxonomy_for(examples: dict[str, list[str]]) -> Taxonomy:
    """The project's taxonomy settings with the set's labels as reasons, each known only by its examples."""
    base = load_taxonomy()
    reasons = tuple(Reason(code=label, label=label.replace("_", " "), dimension="product", phase=None, patterns=(), codes=(),
                           examples=tuple(texts)) for label, texts in sorted(examples.items()))
    return Taxonomy(reasons, base.min_confidence, base.outcome_codes, base.outcome_cues, base.outcome_defaults, base.phase_rules)


def measure(taxonomy: Taxonomy, held: list[tuple[str, str]], tiers: tuple[str, ...]) -> dict:
    texts, labels = [t for t, _ in held], [label for _, label in held]
    tagger = ReasonTagger(taxonomy, tiers)
    table = pa.table({"text": texts, "touchpoint": ["chat"] * len(texts), "source_reason": pa.nulls(len(texts), pa.string())})
    started = time.perf_counter()
    tagged = tagger.tag(table)
    seconds = time.perf_counter() - started
    predicted = tagged["reason_code"].to_pylist()
    confidence = np.array([c or 0.0 for c in tagged["reason_confidence"].to_pylist()])
    evidence = tagged["reason_evidence"].to_pylist()
    forced = [p if p != "unknown" else _closest(e) for p, e in zip(predicted, evidence)]
    right = np.array([p == label for p, label in zip(predicted, labels)])
    tagged_mask = np.array([p != "unknown" for p in predicted])
    bands = []
    for low, high in BANDS:
        inside = tagged_mask & (confidence >= low) & (confidence < high)
        if inside.any():
            bands.append({"band": f"{low:.1f}-{min(high, 1.0):.1f}", "share": round(float(inside.mean()), 3),
                          "accuracy": round(float(right[inside].mean()), 3)})
    return {"tiers": ",".join(tiers), "held_out": len(texts), "accuracy": round(float(right.mean()), 3),
            "accuracy_forced": round(float(np.mean([p == label for p, label in zip(forced, labels)])), 3),
            "coverage": round(float(tagged_mask.mean()), 3),
            "accuracy_when_tagged": round(float(right[tagged_mask].mean()), 3) if tagged_mask.any() else 0.0,
            "by_confidence": bands, "texts_per_s": round(len(texts) / seconds)}


def _closest(evidence: str | None) -> str:
    """The best guess an 'unknown' keeps in its evidence: "closest: <reason> (0.23) via '...'"."""
    if evidence and evidence.startswith("closest: "):
        return evidence[len("closest: "):].split(" (", 1)[0]
    return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=sorted(p.stem for p in DATA.glob("*.jsonl")))
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--tiers", nargs="+", default=["rules,examples", "embeddings", "rules,examples,embeddings"])
    parser.add_argument("--learn", action="store_true", help="Also learn from half of the held-out labels (see above).")
    args = parser.parse_args(argv)
    for name in args.sets:
        rows = [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines() if line.strip()]
        examples, held = split(rows, args.shots)
        taxonomy = taxonomy_for(examples)
        print(json.dumps({"set": name, "labels": len(examples), "shots": args.shots, "held_out": len(held)}))
        if not args.learn:
            for tiers in args.tiers:
                print(json.dumps({"set": name, **measure(taxonomy, held, tuple(tiers.split(",")))}))
            continue
        team = [(t, label) for t, label in held if not held_out(t, 0.5)]
        test = [(t, label) for t, label in held if held_out(t, 0.5)]
        learned = with_examples(taxonomy, pick_examples([t for t, _ in team], [label for _, label in team], PER_REASON))
        for tiers in args.tiers:
            chosen = tuple(tiers.split(","))
            print(json.dumps({"set": name, "labels_learned": len(team), "examples_only": measure(taxonomy, test, chosen),
                              "with_learned_labels": measure(learned, test, chosen)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
