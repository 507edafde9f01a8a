"""Redaction judged on PII as people write it (tests/pii_corpus.py): recall and precision per type."""

import pyarrow as pa
import pytest

from tests.pii_corpus import CLEAN, score, score_names_and_ids
from transforms.redact import redact_array

SCORES = {**score(), **score_names_and_ids()}


@pytest.mark.parametrize("kind", sorted(SCORES))
def test_recall_and_precision_per_type(kind):
    assert SCORES[kind]["recall"] >= 0.99, SCORES[kind]
    assert SCORES[kind]["precision"] >= 0.99, SCORES[kind]


def test_clean_text_is_left_alone():
    redacted, counts = redact_array(pa.array(CLEAN))
    assert redacted.to_pylist() == CLEAN and not any(counts.values())
