"""Reason tagging: why the customer reached out, in tiers, each recorded in reason_method.

1. code: the source's own reason (agent-selected reason code, ticket tag) mapped in the taxonomy.
2. rule: the first reason whose patterns match the verbatim; the matched words are the evidence.
3. examples: a classifier learned from each reason's examples; the nearest example is the evidence.
4. embeddings (optional extra): sentence embeddings, only for what the tiers above left open.
A text no tier is sure enough about gets 'unknown' with its best guess as evidence, never a guess
presented as fact. Records with neither text nor a source reason (page views, invoices) are not
contacts and keep a null reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.tagging.examples import CALIBRATION as WORDS
from transforms.tagging.examples import Calibration, ExampleClassifier
from transforms.tagging.taxonomy import Taxonomy

# A text made only of greetings, thanks and acknowledgements says no reason: it stays 'unknown' with
# this evidence instead of being pushed towards the nearest example (RE2, case-insensitive, whole text).
SMALL_TALK = (r"(?i)^[\s\W]*(?:(?:hi|hiya|hello|hey|heya|yo|good (?:morning|afternoon|evening|day)|greetings|thanks|thank you|thx|ty|"
              r"many thanks|cheers|ok|okay|k|yes|yeah|yep|no|nope|sure|great|perfect|cool|nice|fine|bye|goodbye|see you|"
              r"there|again|all|team|guys|folks|so much|very much|anyone|someone|are you there|is anyone there|you there|"
              r"still there|hello\?)[\s\W]*)+$")
SMALL_TALK_EVIDENCE = "small talk: no reason given"
CODE_CONFIDENCE = 0.95
RULE_CONFIDENCE = 0.8
REASON_COLUMNS = ("reason_code", "reason_dimension", "reason_confidence", "reason_method", "reason_evidence")
TIERS = ("rules", "examples", "embeddings")
DEFAULT_TIERS = ("rules", "examples")


def non_capturing(pattern: str) -> str:
    """Make a user's groups non-capturing, so the matched words can be extracted as one named group."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


def _set(table: pa.Table, name: str, values) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.schema.get_field_index(name), name, values)
    return table.append_column(name, values)


@dataclass
class Decided:
    """What one tier decided for some rows: parallel lists, rows ascending."""

    rows: np.ndarray
    reasons: list[str]
    confidence: list[float]
    evidence: list[str]


def apply(n: int, columns: tuple, decided: list[tuple[str, Decided]], guesses: Decided | None) -> tuple:
    """Write tier decisions into (reason, method, confidence, evidence); guesses only leave evidence."""
    reason, method, confidence, evidence = columns
    for name, d in decided:
        if len(d.rows):
            mask = np.zeros(n, dtype=bool)
            mask[d.rows] = True
            mask = pa.array(mask)
            reason = pc.replace_with_mask(reason, mask, pa.array(d.reasons, pa.string()))
            method = pc.replace_with_mask(method, mask, pa.array([name] * len(d.rows), pa.string()))
            confidence = pc.replace_with_mask(confidence, mask, pa.array(d.confidence, pa.float64()))
            evidence = pc.replace_with_mask(evidence, mask, pa.array(d.evidence, pa.string()))
    if guesses is not None and len(guesses.rows):
        mask = np.zeros(n, dtype=bool)
        mask[guesses.rows] = True
        notes = [f"closest: {r} ({c:.2f}) via '{e}'" for r, c, e in zip(guesses.reasons, guesses.confidence, guesses.evidence)]
        evidence = pc.replace_with_mask(evidence, pa.array(mask), pa.array(notes, pa.string()))
    return reason, method, confidence, evidence


def without_small_talk_lines(text: pa.Array) -> pa.Array:
    """A conversation's turns (one per line) less the greetings and thanks, so every tier reads what the
    customer asked; a text that is nothing but small talk is kept whole (the tagger says so)."""
    multi = pc.fill_null(pc.match_substring(text, "\n"), False)
    if not pc.any(multi).as_py():
        return text
    rows = np.flatnonzero(multi.to_numpy(zero_copy_only=False))
    lines = pc.split_pattern(text.take(pa.array(rows)), "\n")
    flat = pc.list_flatten(lines)
    keep = pc.invert(pc.fill_null(pc.match_substring_regex(flat, SMALL_TALK), False))
    kept_per_row = np.add.reduceat(np.append(keep.to_numpy(zero_copy_only=False).astype(np.int64), 0),
                                   lines.offsets.to_numpy()[:-1]) if len(flat) else np.zeros(len(rows), dtype=np.int64)
    kept_per_row = np.where(np.diff(lines.offsets.to_numpy()) == 0, 0, kept_per_row)
    offsets = pa.array(np.concatenate([[0], np.cumsum(kept_per_row)]).astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, flat.filter(keep)), "\n")
    joined = pc.if_else(pc.equal(pa.array(kept_per_row), 0), text.take(pa.array(rows)), joined)
    mask = np.zeros(len(text), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), joined)


class ReasonTagger:
    """Tags a table of canonical records; built once per taxonomy and reused for every chunk."""

    def __init__(self, taxonomy: Taxonomy, tiers: tuple[str, ...] = DEFAULT_TIERS, embedder=None, embeddings_follow: bool = False):
        """`embeddings_follow`: the embedding tier runs elsewhere afterwards (Beam's RunInference) on what is
        left open, so the examples tier keeps only what it is surer of, as when the embedder is here."""
        unknown = set(tiers) - set(TIERS)
        if unknown:
            raise ValueError(f"unknown tagging tier(s) {', '.join(sorted(unknown))}; choose from {', '.join(TIERS)}")
        self.taxonomy, self.tiers = taxonomy, tuple(tiers)
        keys, codes = [], []
        for reason in taxonomy.reasons:
            for key in reason.codes:
                keys.append(key)
                codes.append(reason.code)
        self.code_keys = pa.array(keys, pa.string())
        self.code_reasons = pa.array(codes, pa.string())
        self.rules = [(r.code, "(?i)(?P<m>" + "|".join(f"(?:{non_capturing(p)})" for p in r.patterns) + ")")
                      for r in taxonomy.reasons if r.patterns]
        self.dimensions = {r.code: r.dimension for r in taxonomy.reasons}
        examples = {r.code: list(r.examples) + [r.label] for r in taxonomy.reasons if r.examples}
        words = Calibration(*taxonomy.calibration["examples"]) if "examples" in taxonomy.calibration else WORDS
        self.examples = ExampleClassifier(examples, words) if "examples" in tiers and examples else None
        if "embeddings" in tiers and embedder is None:
            from transforms.tagging.embeddings import embedding_classifier

            embedder = embedding_classifier(taxonomy)
        self.embedder = embedder if "embeddings" in tiers else None
        self.embeddings_follow = embeddings_follow or self.embedder is not None

    def _rule_tier(self, text: pa.Array, todo: np.ndarray) -> Decided:
        """Match patterns only on rows `todo`, each row dropping out at its first match."""
        rows, reasons, words = [], [], []
        subset = text.take(pa.array(todo))
        for reason_code, pattern in self.rules:
            if len(todo) == 0:
                break
            found = pc.struct_field(pc.extract_regex(subset, pattern), "m")
            hit = pc.is_valid(found).to_numpy(zero_copy_only=False)
            if not hit.any():
                continue
            rows.append(todo[hit])
            reasons += [reason_code] * int(hit.sum())
            words += found.filter(pa.array(hit)).to_pylist()
            todo, subset = todo[~hit], subset.filter(pa.array(~hit))
        if not rows:
            return Decided(np.array([], dtype=np.int64), [], [], [])
        index = np.concatenate(rows)
        order = np.argsort(index, kind="stable")
        return Decided(index[order], [reasons[i] for i in order], [RULE_CONFIDENCE] * len(order), [words[i] for i in order])

    def _model_tier(self, name: str, model, text: pa.Array, todo: np.ndarray) -> tuple[Decided, Decided]:
        """(accepted, below threshold) predictions of an example-based model for rows `todo`."""
        prediction = model.predict(text.take(pa.array(todo)).to_pylist())
        reasons = [model.reasons[i] for i in prediction.reason]
        threshold = self.taxonomy.min_confidence[name]
        if name == "examples" and self.embeddings_follow:
            threshold = self.taxonomy.min_confidence["examples_before_embeddings"]
        sure = prediction.score >= threshold
        def pick(mask):
            idx = np.flatnonzero(mask)
            return Decided(todo[idx], [reasons[i] for i in idx], [round(float(prediction.score[i]), 3) for i in idx],
                           [prediction.nearest[i] for i in idx])
        return pick(sure), pick(~sure)

    def tag(self, table: pa.Table) -> pa.Table:
        n = table.num_rows
        text = without_small_talk_lines(table["text"].combine_chunks())
        key = pc.binary_join_element_wise(table["touchpoint"], table["source_reason"], ":").combine_chunks()
        reason = pc.take(self.code_reasons, pc.index_in(key, self.code_keys)) if len(self.code_keys) else pa.nulls(n, pa.string())
        method = pc.if_else(pc.is_valid(reason), "code", pa.scalar(None, pa.string()))
        confidence = pc.if_else(pc.is_valid(reason), CODE_CONFIDENCE, pa.scalar(None, pa.float64()))
        evidence = pc.if_else(pc.is_valid(reason), key, pa.scalar(None, pa.string()))
        has_text = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), False)
        small_talk = pc.fill_null(pc.and_(pc.is_null(reason), pc.match_substring_regex(text, SMALL_TALK)), False)
        evidence = pc.if_else(small_talk, SMALL_TALK_EVIDENCE, evidence)
        open_rows = np.flatnonzero(pc.and_(pc.and_(pc.is_null(reason), has_text), pc.invert(small_talk)).to_numpy(zero_copy_only=False))
        decided: list[tuple[str, Decided]] = []
        guesses: Decided | None = None
        if "rules" in self.tiers and len(open_rows):
            found = self._rule_tier(text, open_rows)
            decided.append(("rule", found))
            open_rows = np.setdiff1d(open_rows, found.rows, assume_unique=True)
        for name, model in (("examples", self.examples), ("embeddings", self.embedder)):
            if model is not None and len(open_rows):
                sure, unsure = self._model_tier(name, model, text, open_rows)
                decided.append((name, sure))
                open_rows, guesses = unsure.rows, unsure
        reason, method, confidence, evidence = apply(n, (reason, method, confidence, evidence), decided, guesses)
        taggable = pc.or_(has_text, pc.is_valid(table["source_reason"]).combine_chunks())
        unknown = pc.and_(taggable, pc.is_null(reason))
        reason = pc.if_else(unknown, "unknown", reason)
        confidence = pc.if_else(unknown, 0.0, confidence)
        return self._with_columns(table, reason, confidence, method, evidence)

    def _with_columns(self, table: pa.Table, reason, confidence, method, evidence) -> pa.Table:
        dims = list(self.dimensions)
        dimension = pc.take(pa.array([self.dimensions[c] for c in dims], pa.string()),
                            pc.index_in(reason, pa.array(dims, pa.string())))
        for name, values in zip(REASON_COLUMNS, (reason, dimension, confidence, method, evidence)):
            table = _set(table, name, values)
        return table

    def open_texts(self, table: pa.Table) -> np.ndarray:
        """Rows left 'unknown' that have text other than small talk: what a slower tier may still decide."""
        has_text = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(table["text"])), 0), False)
        talk = pc.fill_null(pc.equal(table["reason_evidence"], SMALL_TALK_EVIDENCE), False)
        return np.flatnonzero(pc.and_(pc.and_(pc.equal(table["reason_code"], "unknown"), has_text), pc.invert(talk))
                              .to_numpy(zero_copy_only=False))

    def apply_predictions(self, table: pa.Table, tier: str, rows: list[int], reasons: list[str], scores: list[float],
                          nearest: list[str]) -> pa.Table:
        """Decisions a tier made elsewhere (e.g. RunInference), for rows that were left 'unknown'."""
        order = np.argsort(np.array(rows, dtype=np.int64), kind="stable")
        rows_sorted = np.array(rows, dtype=np.int64)[order]
        reasons, scores, nearest = [reasons[i] for i in order], [round(scores[i], 3) for i in order], [nearest[i] for i in order]
        sure = np.array(scores) >= self.taxonomy.min_confidence[tier]
        def pick(mask):
            idx = np.flatnonzero(mask)
            return Decided(rows_sorted[idx], [reasons[i] for i in idx], [scores[i] for i in idx], [nearest[i] for i in idx])
        columns = tuple(table[c].combine_chunks() for c in ("reason_code", "reason_method", "reason_confidence", "reason_evidence"))
        reason, method, confidence, evidence = apply(table.num_rows, columns, [(tier, pick(sure))], pick(~sure))
        return self._with_columns(table, reason, confidence, method, evidence)
