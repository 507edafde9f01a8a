"""Journey-phase assignment: the first phases.yml rule matching interaction_type and source_code gives
the phase and the signal (milestone, usage or context), else the reason's phase hint gives the phase as
context, else both are null (the phase cannot be told from this interaction alone)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from transforms.tagging.taxonomy import Taxonomy


class PhaseTagger:
    def __init__(self, taxonomy: Taxonomy):
        self.rules = taxonomy.phase_rules
        hinted = [r for r in taxonomy.reasons if r.phase]
        self.hint_reasons = pa.array([r.code for r in hinted], pa.string())
        self.hint_phases = pa.array([r.phase for r in hinted], pa.string())

    def _rule_phases(self, interaction_types: pa.Array, source_codes: pa.Array) -> tuple[pa.Array, pa.Array]:
        phase = pa.nulls(len(interaction_types), pa.string())
        signal = pa.nulls(len(interaction_types), pa.string())
        for rule in self.rules:
            hit = pc.is_null(phase)
            if rule.interaction_type:
                hit = pc.and_(hit, pc.fill_null(pc.equal(interaction_types, rule.interaction_type), False))
            if rule.source_code:
                hit = pc.and_(hit, pc.fill_null(pc.match_substring_regex(source_codes, rule.source_code), False))
            phase = pc.if_else(hit, rule.phase, phase)
            signal = pc.if_else(hit, rule.signal, signal)
        return phase, signal

    def tag(self, table: pa.Table) -> pa.Table:
        # Rules depend only on (interaction_type, source_code), which take few distinct values:
        # match the distinct pairs, then spread the answers back to every row.
        pairs = pa.table({"t": table["interaction_type"], "c": table["source_code"]})
        distinct = pairs.group_by(["t", "c"], use_threads=False).aggregate([])
        phase, signal = self._rule_phases(distinct["t"].combine_chunks(), distinct["c"].combine_chunks())
        answers = distinct.append_column("phase", phase).append_column("signal", signal)
        keyed = pairs.append_column("row", pa.array(range(table.num_rows), pa.int64()))
        joined = keyed.join(answers, ["t", "c"], join_type="left outer").sort_by("row")
        hint = pc.take(self.hint_phases, pc.index_in(table["reason_code"], self.hint_reasons))
        hinted = pc.if_else(pc.is_valid(hint), "context", pa.scalar(None, pa.string()))
        return (table.append_column("journey_phase", pc.coalesce(joined["phase"], hint))
                .append_column("phase_signal", pc.coalesce(joined["signal"], hinted)))
