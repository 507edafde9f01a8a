"""Outcome tagging: how an interaction ended.

Precedence, first that applies: the source's code (disposition, ticket status, conversation state)
mapped in outcomes.yml ('code'); a text cue in the verbatim ('text'); the touchpoint's default
('default'). Behaviour (a repeat contact marks the earlier one unresolved) is applied in the
contact_episodes model, where the customer's history is at hand.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from transforms.tagging.taxonomy import Taxonomy


class OutcomeTagger:
    def __init__(self, taxonomy: Taxonomy):
        keys, outcomes = [], []
        for touchpoint, mapping in taxonomy.outcome_codes.items():
            for code, outcome in mapping.items():
                keys.append(f"{touchpoint}:{code}")
                outcomes.append(outcome)
        self.code_keys = pa.array(keys, pa.string())
        self.code_outcomes = pa.array(outcomes, pa.string())
        self.cues = [(outcome, "(?i)" + "|".join(f"(?:{p})" for p in patterns))
                     for outcome, patterns in taxonomy.outcome_cues if patterns]
        self.default_keys = pa.array(list(taxonomy.outcome_defaults), pa.string())
        self.default_outcomes = pa.array(list(taxonomy.outcome_defaults.values()), pa.string())

    def _text_cues(self, text: pa.Array, outcome: pa.Array, method: pa.Array) -> tuple[pa.Array, pa.Array]:
        """Text cues, matched only on rows that have text and no outcome yet."""
        todo = pc.and_(pc.is_null(outcome), pc.is_valid(text))
        rows = pc.indices_nonzero(todo)
        if len(rows) == 0:
            return outcome, method
        subset = text.take(rows)
        found = pa.nulls(len(rows), pa.string())
        for cue_outcome, pattern in self.cues:
            hit = pc.and_(pc.is_null(found), pc.fill_null(pc.match_substring_regex(subset, pattern), False))
            found = pc.if_else(hit, cue_outcome, found)
        outcome = pc.replace_with_mask(outcome, todo, found)
        method = pc.replace_with_mask(method, todo, pc.if_else(pc.is_valid(found), "text", pa.scalar(None, pa.string())))
        return outcome, method

    def tag(self, table: pa.Table) -> pa.Table:
        key = pc.binary_join_element_wise(table["touchpoint"], table["source_code"], ":")
        outcome = pc.take(self.code_outcomes, pc.index_in(key, self.code_keys))
        method = pc.if_else(pc.is_valid(outcome), "code", pa.scalar(None, pa.string()))
        if self.cues:
            outcome, method = self._text_cues(table["text"].combine_chunks(), outcome.combine_chunks(), method.combine_chunks())
        default = pc.take(self.default_outcomes, pc.index_in(table["touchpoint"], self.default_keys))
        use_default = pc.is_null(outcome)
        outcome = pc.fill_null(pc.coalesce(outcome, default), "not_applicable")
        method = pc.if_else(use_default, "default", method)
        return table.append_column("outcome", outcome).append_column("outcome_method", method)
