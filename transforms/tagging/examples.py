"""The example-based reason tier: learned from each reason's `examples` (5 are enough).

Texts become TF-IDF vectors over character 3-, 4- and 5-grams of their words (lower case, digits as 0,
each word padded with a space), so "cancelling" meets "cancel" and typos still overlap. N-grams are
hashed into 2^20 columns by numpy over all texts at once (no Python loop per text: tens of thousands of
texts per second). Features the examples never had weigh the most, so a text about something else
scores low. A reason's score blends the similarity to its nearest example with the similarity to its
centroid; the nearest example is kept as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

NEAREST_WEIGHT = 0.3


@dataclass(frozen=True)
class Calibration:
    """How a tier's similarities become confidences: a softmax over the reasons at `temperature`, with a
    "none of these reasons" at similarity `floor`, so a text that resembles no reason (off-topic, another
    business's question) is not confident just because one reason is a little closer than the others.
    `cx tags train` fits both to a team's labels; the defaults were chosen on held-out public utterances."""

    temperature: float
    floor: float


# Chosen on the public sets (benchmarks/tagging_public.py): confidence matches accuracy per band, and with
# each set's texts as off-topic text for the other's reasons, the floor cut those tagged from 14% to 6%
# for the loss of under a point on the set's own texts.
CALIBRATION = Calibration(temperature=0.04, floor=0.3)
CHAR_NGRAMS = (3, 4, 5)
HASH_BITS = 20
_PRIME = np.uint64(1099511628211)
_SPACE = 32


def hashed_ngrams(texts: list[str]) -> sparse.csr_matrix:
    """Counts of each text's hashed character n-grams (within words), texts x 2^HASH_BITS."""
    values = pa.array(texts, pa.string())
    values = pc.utf8_lower(pc.fill_null(values, ""))
    values = pc.replace_substring_regex(values, r"[0-9]", "0")
    values = pc.replace_substring_regex(values, r"[^\w']+", " ")
    values = pc.binary_join_element_wise(" ", values, " ", "")
    values = values.cast(pa.large_string())  # 64-bit offsets: any number of bytes
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset:values.offset + len(values) + 1]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].astype(np.uint64)
    offsets = offsets - offsets[0]
    row_of = np.repeat(np.arange(len(texts)), np.diff(offsets))
    rows, columns = [], []
    for n in CHAR_NGRAMS:
        count = len(data) - n + 1
        if count <= 0:
            continue
        hashed = np.full(count, np.uint64(n), dtype=np.uint64)
        inside = np.zeros(count, dtype=bool)  # a space inside the n-gram: it spans two words
        for k in range(n):
            hashed = hashed * _PRIME + data[k:count + k]
            if 0 < k < n - 1:
                inside |= data[k:count + k] == _SPACE
        keep = (row_of[:count] == row_of[n - 1:]) & ~inside
        rows.append(row_of[:count][keep])
        columns.append(((hashed[keep] >> np.uint64(11)) & np.uint64((1 << HASH_BITS) - 1)).astype(np.int64))
    rows_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    columns_all = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
    matrix = sparse.csr_matrix((np.ones(len(rows_all)), (rows_all, columns_all)), shape=(len(texts), 1 << HASH_BITS))
    matrix.sum_duplicates()
    return matrix


@dataclass
class Prediction:
    reason: np.ndarray      # index into ExampleClassifier.reasons, per text
    score: np.ndarray       # calibrated confidence, 0-1: about the share of such predictions that are right
    margin: np.ndarray      # best raw similarity minus the runner-up's
    nearest: list[str]      # the nearest example of the predicted reason


class ExampleClassifier:
    """Nearest-example + centroid classifier over TF-IDF features learned from taxonomy examples."""

    def __init__(self, examples: dict[str, list[str]], calibration: Calibration = CALIBRATION):
        self.calibration = calibration
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
        counts = hashed_ngrams(docs)
        frequency = np.bincount(counts.indices, minlength=1 << HASH_BITS)
        n = len(docs)
        self.idf = np.log((1 + n) / (1 + frequency)) + 1  # unseen features: the highest weight
        self.example_matrix = self._matrix(counts)
        members = sparse.csr_matrix((np.ones(n), (self.example_owner, np.arange(n))), shape=(len(self.reasons), n))
        centroids = sparse.diags(1 / np.asarray(members.sum(axis=1)).ravel()) @ members @ self.example_matrix
        norms = np.sqrt(np.asarray(centroids.multiply(centroids).sum(axis=1)).ravel())
        self.centroids = sparse.csr_matrix(sparse.diags(1 / np.where(norms == 0, 1, norms)) @ centroids)

    def _matrix(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """L2-normalised TF-IDF rows (sublinear counts)."""
        matrix = counts.copy()
        matrix.data = (1 + np.log(matrix.data)) * self.idf[matrix.indices]
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        return sparse.csr_matrix(sparse.diags(1 / np.where(norms == 0, 1, norms)) @ matrix)

    def predict(self, texts: list[str]) -> Prediction:
        return pick(*self.scores(texts), self.example_texts, self.calibration)

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(texts x reasons scores, the nearest example of each reason per text)."""
        vectors = self._matrix(hashed_ngrams(list(texts)))
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


def pick(scores: np.ndarray, nearest_index: np.ndarray, example_texts: list[str], calibration: Calibration) -> Prediction:
    """The best reason per text, its calibrated confidence, its gap to the runner-up and its nearest example."""
    n, reasons = scores.shape
    rows = np.arange(n)
    order = np.argsort(-scores, axis=1)
    top = order[:, 0]
    best = scores[rows, top]
    runner_up = scores[rows, order[:, 1]] if reasons > 1 else np.zeros(n)
    return Prediction(top, confidences(scores, calibration)[rows, top], best - runner_up,
                      [example_texts[nearest_index[r, top[r]]] for r in rows])


def confidences(scores: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Each reason's probability: softmax over the reasons and "none of these" (at the floor's similarity)."""
    best = scores.max(axis=1, keepdims=True)
    exponents = np.exp((scores - best) / calibration.temperature)
    none = np.exp((calibration.floor - best) / calibration.temperature)
    return exponents / (exponents.sum(axis=1, keepdims=True) + none)
