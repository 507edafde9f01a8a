import numpy as np
import pytest

from transforms.tagging.examples import ExampleClassifier

EXAMPLES = {
    "refund": ["I want my money back", "please refund the payment", "can I get a refund", "return my money", "refund me"],
    "login": ["I cannot log in", "password reset does not work", "locked out of my account", "login fails", "can't sign in"],
    "shipping": ["where is my parcel", "delivery is late", "package has not arrived", "tracking number please", "order not delivered"],
}


def test_predicts_the_closest_reason_with_evidence():
    clf = ExampleClassifier(EXAMPLES)
    p = clf.predict(["need a refund of my money", "my package delivery never arrived", "sign in keeps failing"])
    assert [clf.reasons[i] for i in p.reason] == ["refund", "shipping", "login"]
    assert p.nearest[0] in EXAMPLES["refund"]
    assert np.all(p.score > 0.2) and np.all(p.margin > 0)


def test_unrelated_text_is_not_confident():
    from transforms.tagging.taxonomy import DEFAULT_MIN_CONFIDENCE

    clf = ExampleClassifier(EXAMPLES)
    p = clf.predict(["the weather in lisbon is lovely", ""])
    assert np.all(p.score < DEFAULT_MIN_CONFIDENCE["examples"])


def test_same_answer_every_time():
    a = ExampleClassifier(EXAMPLES).predict(["refund please", "locked out"])
    b = ExampleClassifier(EXAMPLES).predict(["refund please", "locked out"])
    assert np.array_equal(a.reason, b.reason) and np.allclose(a.score, b.score)


def test_needs_examples():
    with pytest.raises(ValueError, match="no reason has examples"):
        ExampleClassifier({"a": []})
