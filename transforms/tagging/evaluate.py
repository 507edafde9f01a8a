"""Measure reason tagging on labeled utterances: accuracy, macro-F1, per-reason precision/recall,
the worst confusions, coverage (share not 'unknown') and throughput."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from transforms.tagging.reasons import ReasonTagger
from transforms.tagging.taxonomy import Taxonomy, json_objects


class LabeledFileError(ValueError):
    """The labeled file cannot be read; the message names the file and line."""


def read_labeled(path: str | Path, text_field: str, label_field: str) -> tuple[list[str], list[str]]:
    """(texts, labels) from JSON Lines, or from CSV (a header naming the two columns) when the name ends in .csv."""
    texts, labels = [], []
    try:
        content = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabeledFileError(f"{path}: cannot read ({exc})") from None
    if str(path).lower().endswith(".csv"):
        return _read_labeled_csv(path, content, text_field, label_field)
    for number, row in json_objects(content, str(path), LabeledFileError):
        if not isinstance(row.get(text_field), str) or row.get(label_field) is None:
            raise LabeledFileError(f"{path}:{number}: needs a text field '{text_field}' and a label field '{label_field}'")
        texts.append(row[text_field])
        labels.append(str(row[label_field]))
    if not texts:
        raise LabeledFileError(f"{path}: no labeled rows")
    return texts, labels


def _read_labeled_csv(path, content: str, text_field: str, label_field: str) -> tuple[list[str], list[str]]:
    import csv
    import io

    reader = csv.DictReader(io.StringIO(content, newline=""))
    if not reader.fieldnames or text_field not in reader.fieldnames or label_field not in reader.fieldnames:
        raise LabeledFileError(f"{path}: the header needs the columns '{text_field}' and '{label_field}', "
                               f"found {', '.join(reader.fieldnames or [])}")
    rows = [(row[text_field], row[label_field]) for row in reader if row.get(text_field) and row.get(label_field)]
    if not rows:
        raise LabeledFileError(f"{path}: no labeled rows")
    return [t for t, _ in rows], [label for _, label in rows]


def evaluate(taxonomy: Taxonomy, texts: list[str], labels: list[str], tiers: tuple[str, ...]) -> dict:
    """Tag every text with the chosen tiers and score the result against the labels."""
    tagger = ReasonTagger(taxonomy, tiers)
    table = pa.table({"text": pa.array(texts, pa.string()),
                      "touchpoint": pa.array(["eval"] * len(texts), pa.string()),
                      "source_reason": pa.nulls(len(texts), pa.string())})
    started = time.perf_counter()
    tagged = tagger.tag(table)
    seconds = time.perf_counter() - started
    predicted = tagged["reason_code"].to_pylist()
    methods = tagged["reason_method"].to_pylist()
    confidences = [c or 0.0 for c in tagged["reason_confidence"].to_pylist()]
    n = len(labels)
    correct = sum(p == label for p, label in zip(predicted, labels))
    per_reason = {}
    for reason in sorted(set(labels) | {p for p in predicted if p != "unknown"}):
        tp = sum(p == reason and label == reason for p, label in zip(predicted, labels))
        fp = sum(p == reason and label != reason for p, label in zip(predicted, labels))
        fn = sum(p != reason and label == reason for p, label in zip(predicted, labels))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_reason[reason] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    labeled = [r for r in per_reason if per_reason[r]["support"]]
    confusions = Counter((label, p) for p, label in zip(predicted, labels) if p != label)
    known = {r.code for r in taxonomy.reasons}
    return {
        "n": n,
        "tiers": list(tiers),
        "accuracy": correct / n,
        "macro_f1": sum(per_reason[r]["f1"] for r in labeled) / len(labeled),
        "coverage": sum(p != "unknown" for p in predicted) / n,
        "accuracy_when_tagged": (correct / max(1, sum(p != "unknown" for p in predicted))),
        "texts_per_s": n / seconds if seconds else float("inf"),
        "by_method": dict(Counter(m or "unknown" for m in methods)),
        "by_confidence": by_confidence(predicted, labels, confidences),
        "per_reason": per_reason,
        "worst_confusions": [{"label": label, "predicted": p, "count": c} for (label, p), c in confusions.most_common(10)],
        "labels_not_in_taxonomy": sorted(set(labels) - known),
    }


BANDS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))


def by_confidence(predicted: list[str], labels: list[str], confidences: list[float]) -> list[dict]:
    """Share of the texts tagged in each confidence band and how often they are right: how far to
    trust a ranking built on them (confidences are calibrated, so accuracy should match the band)."""
    bands = []
    for low, high in BANDS:
        inside = [(p, label) for p, label, c in zip(predicted, labels, confidences)
                  if p != "unknown" and low <= c and (c < high or high == 1.0)]
        if inside:
            bands.append({"band": f"{low:.1f}-{high:.1f}", "texts": len(inside), "share": len(inside) / len(labels),
                          "accuracy": sum(p == label for p, label in inside) / len(inside)})
    return bands
