"""Reason, outcome and journey-phase tagging from the taxonomy in data/taxonomy/."""

from __future__ import annotations

import pyarrow as pa

from transforms.tagging.outcomes import OutcomeTagger
from transforms.tagging.phases import PhaseTagger
from transforms.tagging.reasons import DEFAULT_TIERS, TIERS, ReasonTagger
from transforms.tagging.taxonomy import Taxonomy, TaxonomyError, load_taxonomy


class Tagger:
    """Reason, then outcome, then phase (the phase falls back on the reason's hint)."""

    def __init__(self, taxonomy: Taxonomy, tiers: tuple[str, ...] = DEFAULT_TIERS, embeddings_follow: bool = False):
        self.reasons = ReasonTagger(taxonomy, tiers, embeddings_follow=embeddings_follow)
        self.outcomes = OutcomeTagger(taxonomy)
        self.phases = PhaseTagger(taxonomy)

    def tag(self, table: pa.Table) -> pa.Table:
        return self.phases.tag(self.outcomes.tag(self.reasons.tag(table)))


__all__ = ["DEFAULT_TIERS", "TIERS", "Tagger", "Taxonomy", "TaxonomyError", "load_taxonomy"]
