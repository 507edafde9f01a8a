"""The bundled MiniLM on ONNX Runtime: closer for the same meaning, and no text encoded twice."""

import numpy as np
import pytest

from transforms.tagging.encoder import DIMENSIONS, SentenceEncoder


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder(threads=1)


def test_texts_that_mean_the_same_are_closer_than_texts_about_something_else(encoder):
    charged, billed, reset = encoder.encode(["I was charged twice", "double billing on my card", "how do I reset my password"])
    assert billed @ charged > reset @ charged + 0.15
    assert np.allclose(np.linalg.norm([charged, billed, reset]), np.sqrt(3), atol=1e-3)


def test_a_batch_is_encoded_as_its_texts_are_alone_and_repeats_are_served_from_the_cache(encoder):
    texts = ["where is my parcel", "cancel my subscription please", "the app crashes when I open it", "where is my parcel"]
    together = encoder.encode(texts)
    before = encoder.encoded
    assert encoder.encode(["  where is   my parcel "]).shape == (1, DIMENSIONS)
    assert encoder.encoded == before  # the same words, spaced differently: not encoded again
    alone = SentenceEncoder(threads=1).encode(["the app crashes when I open it"])
    assert np.allclose(together[2], alone[0], atol=1e-4)  # padding to a longer neighbour changes nothing
    assert np.array_equal(together[0], together[3])


def test_the_embedding_tier_tags_paraphrases_its_examples_never_saw(encoder):
    from transforms.tagging.embeddings import EmbeddingClassifier

    examples = {"refund": ["I want my money back", "please refund my order"],
                "login": ["I cannot log in", "my password does not work"],
                "delivery": ["my package has not arrived", "where is my delivery"]}
    classifier = EmbeddingClassifier(examples, encoder)
    prediction = classifier.predict(["return the payment to my card", "locked out of my account", "the courier never came"])
    assert [classifier.reasons[i] for i in prediction.reason] == ["refund", "login", "delivery"]
