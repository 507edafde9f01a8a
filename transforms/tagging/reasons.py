"""Reason tagging: why the customer reached out, in tiers, each recorded in reason_method.

1. code: the source's own reason (agent-selected reason code, ticket tag) mapped in the taxonomy.
2. rule: the first reason whose patterns match the verbatim; the matched words are the evidence.
Records with text or a source reason that no tier tags get 'unknown' with confidence 0, never a guess.
Records with neither (page views, invoices) are not contacts and keep a null reason.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.tagging.taxonomy import Taxonomy

CODE_CONFIDENCE = 0.95
RULE_CONFIDENCE = 0.8
REASON_COLUMNS = ("reason_code", "reason_dimension", "reason_confidence", "reason_method", "reason_evidence")


def non_capturing(pattern: str) -> str:
    """Make a user's groups non-capturing, so the matched words can be extracted as one named group."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


def _set(table: pa.Table, name: str, values) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.schema.get_field_index(name), name, values)
    return table.append_column(name, values)


class ReasonTagger:
    """Tags a table of canonical records; built once per taxonomy and reused for every chunk."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
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

    def _rule_tier(self, text: pa.Array, todo: np.ndarray) -> tuple[np.ndarray, pa.Array, pa.Array]:
        """Match patterns only on rows `todo` (untagged, with text), each row dropping out at its first match.

        Returns the matched row indexes (ascending), their reason codes and the matched words."""
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
            reasons.append(pa.array([reason_code] * int(hit.sum()), pa.string()))
            words.append(found.filter(pa.array(hit)))
            todo, subset = todo[~hit], subset.filter(pa.array(~hit))
        if not rows:
            empty = pa.array([], pa.string())
            return np.array([], dtype=np.int64), empty, empty
        index = np.concatenate(rows)
        order = pa.array(np.argsort(index, kind="stable"))
        return np.sort(index), pa.concat_arrays(reasons).take(order), pa.concat_arrays(words).take(order)

    def tag(self, table: pa.Table) -> pa.Table:
        n = table.num_rows
        text = table["text"].combine_chunks()
        key = pc.binary_join_element_wise(table["touchpoint"], table["source_reason"], ":").combine_chunks()
        reason = pc.take(self.code_reasons, pc.index_in(key, self.code_keys)) if len(self.code_keys) else pa.nulls(n, pa.string())
        method = pc.if_else(pc.is_valid(reason), "code", pa.scalar(None, pa.string()))
        evidence = pc.if_else(pc.is_valid(reason), key, pa.scalar(None, pa.string()))
        has_text = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), False)
        todo = np.flatnonzero(pc.and_(pc.is_null(reason), has_text).to_numpy(zero_copy_only=False))
        matched, matched_reasons, matched_words = self._rule_tier(text, todo)
        if len(matched):
            mask = np.zeros(n, dtype=bool)
            mask[matched] = True
            mask = pa.array(mask)
            reason = pc.replace_with_mask(reason, mask, matched_reasons)
            method = pc.replace_with_mask(method, mask, pa.array(["rule"] * len(matched), pa.string()))
            evidence = pc.replace_with_mask(evidence, mask, matched_words)
        taggable = pc.or_(has_text, pc.is_valid(table["source_reason"]).combine_chunks())
        unknown = pc.and_(taggable, pc.is_null(reason))
        reason = pc.if_else(unknown, "unknown", reason)
        confidence = pc.if_else(pc.equal(method, "code"), CODE_CONFIDENCE,
                                pc.if_else(pc.equal(method, "rule"), RULE_CONFIDENCE, pa.scalar(None, pa.float64())))
        confidence = pc.if_else(unknown, 0.0, confidence)
        dims = list(self.dimensions)
        dimension = pc.take(pa.array([self.dimensions[c] for c in dims], pa.string()),
                            pc.index_in(reason, pa.array(dims, pa.string())))
        for name, values in zip(REASON_COLUMNS, (reason, dimension, confidence, method, evidence)):
            table = _set(table, name, values)
        return table
