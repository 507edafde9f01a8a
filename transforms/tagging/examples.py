"""The example-based reason tier: learned from each reason's `examples` (5 are enough).

Texts become TF-IDF vectors over word unigrams and bigrams plus character n-grams inside words (so
"cancelling" meets "cancel" and typos still overlap). The vocabulary is what the examples contain;
a text's words outside it still count in its length, so a text about something else scores low. A
reason's score blends the similarity to its nearest example with the similarity to its centroid; the
nearest example is kept as evidence. Pure numpy/scipy: thousands of texts per second per core.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import sparse

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
NEAREST_WEIGHT = 0.3
# Similarities become confidences by a softmax over the reasons at this temperature, chosen so that
# confidence matches accuracy on held-out public utterances (benchmarks/tagging_public.py).
TEMPERATURE = 0.04
CHAR_NGRAMS = (3, 4, 5)


def _features(text: str) -> dict[str, int]:
    """Counts of the text's features: 'w:word', 'b:word word', 'c:<n-gram>'."""
    words = WORD.findall(re.sub(r"\d", "0", text.lower()))
    counts: dict[str, int] = {}
    for word in words:
        key = "w:" + word
        counts[key] = counts.get(key, 0) + 1
        padded = f" {word} "
        for n in CHAR_NGRAMS:
            for i in range(len(padded) - n + 1):
                key = "c:" + padded[i:i + n]
                counts[key] = counts.get(key, 0) + 1
    for a, b in zip(words, words[1:]):
        key = f"b:{a} {b}"
        counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass
class Prediction:
    reason: np.ndarray      # index into ExampleClassifier.reasons, per text
    score: np.ndarray       # calibrated confidence, 0-1: about the share of such predictions that are right
    margin: np.ndarray      # best raw similarity minus the runner-up's
    nearest: list[str]      # the nearest example of the predicted reason


class ExampleClassifier:
    """Nearest-example + centroid classifier over TF-IDF features learned from taxonomy examples."""

    def __init__(self, examples: dict[str, list[str]]):
        self.reasons = [r for r, texts in examples.items() if texts]
        if not self.reasons:
            raise ValueError("no reason has examples")
        docs, owner = [], []
        for i, reason in enumerate(self.reasons):
            for text in examples[reason]:
                docs.append(text)
                owner.append(i)
        self.example_texts = docs
        self.example_owner = np.array(owner)
        counted = [_features(d) for d in docs]
        vocabulary: dict[str, int] = {}
        document_frequency: list[int] = []
        for counts in counted:
            for key in counts:
                index = vocabulary.setdefault(key, len(vocabulary))
                if index == len(document_frequency):
                    document_frequency.append(0)
                document_frequency[index] += 1
        n = len(docs)
        self.vocabulary = vocabulary
        self.idf = np.array([math.log((1 + n) / (1 + df)) + 1 for df in document_frequency])
        self.unseen_idf = math.log(1 + n) + 1
        self.example_matrix = self._matrix(counted)
        centroids = np.vstack([np.asarray(self.example_matrix[self.example_owner == i].mean(axis=0)) for i in range(len(self.reasons))])
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self.centroids = sparse.csr_matrix(centroids / np.where(norms == 0, 1, norms))

    def _matrix(self, counted: list[dict[str, int]]) -> sparse.csr_matrix:
        """L2-normalised TF-IDF rows; features outside the vocabulary still add to a row's length."""
        indptr, indices, data, unseen = [0], [], [], []
        vocabulary, idf = self.vocabulary, self.idf
        for counts in counted:
            extra = 0.0
            for key, count in counts.items():
                weight = 1 + math.log(count)
                index = vocabulary.get(key)
                if index is None:
                    extra += (weight * self.unseen_idf) ** 2
                else:
                    indices.append(index)
                    data.append(weight * idf[index])
            indptr.append(len(indices))
            unseen.append(extra)
        matrix = sparse.csr_matrix((np.array(data), np.array(indices, dtype=np.int64), np.array(indptr)),
                                   shape=(len(counted), len(vocabulary)))
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel() + np.array(unseen))
        return sparse.diags(1 / np.where(norms == 0, 1, norms)) @ matrix

    def predict(self, texts: list[str]) -> Prediction:
        return pick(*self.scores(texts), self.example_texts, TEMPERATURE)

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(texts x reasons scores, the nearest example of each reason per text)."""
        vectors = self._matrix([_features(t) for t in texts])
        return reason_scores((vectors @ self.example_matrix.T).toarray(), (vectors @ self.centroids.T).toarray(),
                             self.example_owner, len(self.reasons))


def reason_scores(to_examples: np.ndarray, to_centroids: np.ndarray, owner: np.ndarray, reasons: int) -> tuple[np.ndarray, np.ndarray]:
    """Score each reason by its nearest example and its centroid: (scores, nearest example index), texts x reasons."""
    n = to_examples.shape[0]
    nearest_score = np.zeros((n, reasons))
    nearest_index = np.zeros((n, reasons), dtype=np.int64)
    rows = np.arange(n)
    for i in range(reasons):
        members = np.flatnonzero(owner == i)
        block = to_examples[:, members]
        best = block.argmax(axis=1)
        nearest_score[:, i] = block[rows, best]
        nearest_index[:, i] = members[best]
    return NEAREST_WEIGHT * nearest_score + (1 - NEAREST_WEIGHT) * to_centroids, nearest_index


def pick(scores: np.ndarray, nearest_index: np.ndarray, example_texts: list[str], temperature: float) -> Prediction:
    """The best reason per text, its calibrated confidence, its gap to the runner-up and its nearest example."""
    n, reasons = scores.shape
    rows = np.arange(n)
    order = np.argsort(-scores, axis=1)
    top = order[:, 0]
    best = scores[rows, top]
    runner_up = scores[rows, order[:, 1]] if reasons > 1 else np.zeros(n)
    exponents = np.exp((scores - best[:, None]) / temperature)
    confidence = 1.0 / exponents.sum(axis=1)  # the top reason's softmax probability
    return Prediction(top, confidence, best - runner_up, [example_texts[nearest_index[r, top[r]]] for r in rows])
