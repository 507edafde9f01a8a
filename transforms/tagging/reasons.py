"""Reason tagging: why the customer reached out, in tiers, each recorded in reason_method.

1. code: the source's own reason (agent-selected reason code, ticket tag) mapped in the taxonomy.
2. rule: the first reason whose patterns match the verbatim; the matched words are the evidence.
Records with text or a source reason that no tier tags get 'unknown' with confidence 0, never a guess.
Records with neither (page views, invoices) are not contacts and keep a null reason.
"""

from __future__ import annotations

import re

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

    def tag(self, table: pa.Table) -> pa.Table:
        n = table.num_rows
        text = table["text"]
        key = pc.binary_join_element_wise(table["touchpoint"], table["source_reason"], ":")
        code = pc.take(self.code_reasons, pc.index_in(key, self.code_keys)) if len(self.code_keys) else pa.nulls(n, pa.string())
        code = pa.chunked_array([code]) if isinstance(code, pa.Array) else code
        reason = code
        method = pc.if_else(pc.is_valid(code), "code", pa.scalar(None, pa.string()))
        evidence = pc.if_else(pc.is_valid(code), key, pa.scalar(None, pa.string()))
        for reason_code, pattern in self.rules:
            if pc.all(pc.is_valid(reason)).as_py():
                break
            found = pc.struct_field(pc.extract_regex(text, pattern), "m")
            hit = pc.and_(pc.is_null(reason), pc.is_valid(found))
            reason = pc.if_else(hit, reason_code, reason)
            method = pc.if_else(hit, "rule", method)
            evidence = pc.if_else(hit, found, evidence)
        has_text = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), False)
        taggable = pc.or_(has_text, pc.is_valid(table["source_reason"]))
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
