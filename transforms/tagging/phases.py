"""Journey-phase assignment: the first phases.yml rule matching interaction_type and source_code,
else the reason's phase hint, else null (the phase cannot be told from this interaction alone)."""

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

    def tag(self, table: pa.Table) -> pa.Table:
        phase = pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
        for rule in self.rules:
            hit = pc.is_null(phase)
            if rule.interaction_type:
                hit = pc.and_(hit, pc.fill_null(pc.equal(table["interaction_type"], rule.interaction_type), False))
            if rule.source_code:
                hit = pc.and_(hit, pc.fill_null(pc.match_substring_regex(table["source_code"], rule.source_code), False))
            phase = pc.if_else(hit, rule.phase, phase)
        hint = pc.take(self.hint_phases, pc.index_in(table["reason_code"], self.hint_reasons))
        return table.append_column("journey_phase", pc.coalesce(phase, hint))
