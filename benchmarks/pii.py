"""PII redaction on the corpus of real-world forms (tests/pii_corpus.py): recall and precision per type.

    .venv/bin/python benchmarks/pii.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pii_corpus import CLEAN, CLEAN_IDS, CLEAN_NAMES, positives, score, score_names_and_ids  # noqa: E402


def main() -> int:
    scores = {**score(), **score_names_and_ids()}
    print(f"{len(positives()):,} texts with one planted value each, {len(CLEAN)} clean texts; "
          f"{len(CLEAN_IDS)} clean ids, {len(CLEAN_NAMES)} clean file names")
    print(f"{'type':28s} {'planted':>8s} {'recall':>8s} {'precision':>10s} {'false +':>8s}")
    for kind, s in scores.items():
        print(f"{kind:28s} {s['planted']:8,d} {s['recall']:8.3f} {s['precision']:10.3f} {s['false_positives']:8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
