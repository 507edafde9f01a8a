"""Learn reasons from the labels a team already has: agent-selected reason codes, ticket tags, any labeled file.

A label is a reason code of the taxonomy, or a source code the taxonomy maps to one
('call_center:PRESALES-PRODUCT', or 'PRESALES-PRODUCT' when one touchpoint uses it). Labeled texts become
more examples of their reason, kept in the taxonomy folder as learned_examples.jsonl next to the written
examples: the example and embedding tiers learn from both, so the classifier is fitted to the team's own
words. Training first measures what the labels add on a held-out share of them (never used as examples
for that measurement), fits each model tier's confidence to them (the softmax temperature and, within 0.2 of its default,
the "none of these" floor: labeled contacts hold no off-topic text to judge it by), then keeps examples
from all of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from transforms.redact import redact_array
from transforms.tagging.evaluate import evaluate
from transforms.tagging.examples import Calibration, ExampleClassifier, confidences
from transforms.tagging.taxonomy import CALIBRATION_FILE, LEARNED_FILE, Taxonomy, load_taxonomy

PER_REASON = 200
TEMPERATURES = (0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1)
FLOOR_SHIFTS = (-0.2, -0.1, 0.0, 0.1, 0.2)


def map_labels(taxonomy: Taxonomy, labels: list[str]) -> list[str | None]:
    """Each label as a reason code of the taxonomy, or None when the taxonomy does not know it."""
    known = {r.code for r in taxonomy.reasons}
    by_source = {}
    for reason in taxonomy.reasons:
        for key in reason.codes:
            by_source[key.lower()] = reason.code
            by_source.setdefault(key.split(":", 1)[1].lower(), reason.code)
    return [label if label in known else by_source.get(label.strip().lower()) for label in labels]


def held_out(text: str, share: float) -> bool:
    """A stable split by the text's hash: the same text is always on the same side."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def pick_examples(texts: list[str], reasons: list[str], per_reason: int) -> dict[str, list[str]]:
    """Up to `per_reason` distinct texts per reason, chosen by hash (stable across runs, no clustering by order)."""
    chosen: dict[str, list[str]] = {}
    for text, reason in sorted(set(zip(texts, reasons)), key=lambda tr: hashlib.sha256(tr[0].encode()).hexdigest()):
        if len(chosen.setdefault(reason, [])) < per_reason:
            chosen[reason].append(text)
    return chosen


def calibration_error(scores: np.ndarray, truth: np.ndarray, calibration: Calibration, bins: int = 10) -> float:
    """Expected calibration error: how far the top reason's confidence is from how often it is right."""
    probabilities = confidences(scores, calibration)
    top = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(top)), top]
    right = top == truth
    error = 0.0
    for b in range(bins):
        inside = (confidence >= b / bins) & (confidence < (b + 1) / bins)
        if inside.any():
            error += inside.mean() * abs(confidence[inside].mean() - right[inside].mean())
    return float(error)


def fit_calibration(scores: np.ndarray, truth: np.ndarray, default: Calibration) -> Calibration:
    """The temperature and floor whose confidences best match how often the labels agree (least calibration
    error, then likelihood); the floor moves at most 0.2 from the default, which guards against off-topic text."""
    rows = np.arange(len(truth))

    def loss(calibration: Calibration) -> tuple[float, float]:
        probability = confidences(scores, calibration)[rows, truth]
        return (round(calibration_error(scores, truth, calibration), 3), float(-np.log(np.clip(probability, 1e-12, None)).mean()))

    candidates = [Calibration(t, round(default.floor + shift, 2)) for t in TEMPERATURES for shift in FLOOR_SHIFTS]
    return min(candidates, key=loss)


def fit_calibrations(taxonomy: Taxonomy, texts: list[str], reasons: list[str], tiers: tuple[str, ...]) -> dict:
    """Per model tier: the fitted calibration and the calibration error before and after, on `texts`."""
    from transforms.tagging.examples import CALIBRATION as WORDS

    examples = {r.code: list(r.examples) + [r.label] for r in taxonomy.reasons if r.examples}
    fitted = {}
    words = ExampleClassifier(examples, WORDS)
    models = [("examples", words, WORDS)]
    if "embeddings" in tiers:
        from transforms.tagging.embeddings import CALIBRATION as MEANING
        from transforms.tagging.embeddings import EmbeddingClassifier

        models.append(("embeddings", EmbeddingClassifier(examples), MEANING))
    for tier, model, default in models:
        scores, _ = model.scores(texts)
        truth = np.array([model.reasons.index(r) if r in model.reasons else -1 for r in reasons])
        known = truth >= 0
        scores, truth = scores[known], truth[known]
        calibration = fit_calibration(scores, truth, default)
        fitted[tier] = {"temperature": calibration.temperature, "floor": calibration.floor,
                        "calibration_error_before": round(calibration_error(scores, truth, default), 4),
                        "calibration_error_after": round(calibration_error(scores, truth, calibration), 4)}
    return fitted


def with_examples(taxonomy: Taxonomy, learned: dict[str, list[str]]) -> Taxonomy:
    reasons = tuple(replace(r, examples=r.examples + tuple(t for t in learned.get(r.code, ()) if t not in r.examples))
                    for r in taxonomy.reasons)
    return replace(taxonomy, reasons=reasons)


def train(folder: str | Path, texts: list[str], labels: list[str], tiers: tuple[str, ...], holdout: float = 0.2,
          per_reason: int = PER_REASON) -> dict:
    """Measure the gain on a held-out share, then write learned_examples.jsonl into `folder`; the report."""
    folder = Path(folder)
    written = load_taxonomy(folder, learned=False)
    redacted, _ = redact_array(pa.array([" ".join(t.split()) for t in texts], pa.string()))
    mapped = map_labels(written, labels)
    rows = [(t, r) for t, r in zip(redacted.to_pylist(), mapped) if r is not None and t]
    unknown = sorted({label for label, r in zip(labels, mapped) if r is None})
    test = [(t, r) for t, r in rows if held_out(t, holdout)]
    fit = [(t, r) for t, r in rows if not held_out(t, holdout)]
    report = {"labeled": len(texts), "used": len(rows), "labels_not_in_taxonomy": unknown, "tiers": list(tiers),
              "held_out": len(test)}
    calibration = {}
    if test and fit:
        texts_out, reasons_out = [t for t, _ in test], [r for _, r in test]
        before = evaluate(written, texts_out, reasons_out, tiers)
        learned_taxonomy = with_examples(written, pick_examples(*zip(*fit), per_reason))
        calibration = fit_calibrations(learned_taxonomy, texts_out, reasons_out, tiers)
        learned_taxonomy = replace(learned_taxonomy, calibration={tier: (c["temperature"], c["floor"]) for tier, c in calibration.items()})
        after = evaluate(learned_taxonomy, texts_out, reasons_out, tiers)
        report["before"] = {k: before[k] for k in ("accuracy", "macro_f1", "coverage", "accuracy_when_tagged")}
        report["after"] = {k: after[k] for k in ("accuracy", "macro_f1", "coverage", "accuracy_when_tagged")}
        report["calibration"] = calibration
    learned = pick_examples([t for t, _ in rows], [r for _, r in rows], per_reason) if rows else {}
    with open(folder / LEARNED_FILE, "w", encoding="utf-8") as out:
        for reason in sorted(learned):
            for text in learned[reason]:
                out.write(json.dumps({"reason": reason, "text": text}, ensure_ascii=False) + "\n")
    calibration_path = folder / CALIBRATION_FILE
    if calibration:
        calibration_path.write_text(json.dumps({tier: {"temperature": c["temperature"], "floor": c["floor"]}
                                                for tier, c in calibration.items()}, indent=2) + "\n")
    report["learned_examples"] = {reason: len(found) for reason, found in sorted(learned.items())}
    report["file"] = str(folder / LEARNED_FILE)
    return report
