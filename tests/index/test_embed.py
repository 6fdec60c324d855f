"""The default embedder: the real int8 MiniLM from its package, checked by SHA-256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperroute.index import embed
from paperroute.index.embed import EmbedError, MiniLMOnnx, embedding_text, load_embedder


@pytest.fixture(scope="module")
def minilm() -> MiniLMOnnx:
    return MiniLMOnnx()


def test_vectors_are_unit_length_and_meaningful(minilm: MiniLMOnnx) -> None:
    texts = ["Diffusion models for image editing", "Editing pictures with denoising diffusion",
             "A survey of reinforcement learning for robot control", ""]  # fmt: skip
    vectors = minilm.embed(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_batching_and_padding_do_not_change_vectors(minilm: MiniLMOnnx) -> None:
    texts = [
        "short",
        "a much longer text about transformers and attention " * 10,
        "medium length text here",
    ]
    together = minilm.embed(texts)
    alone = np.vstack([minilm.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_long_texts_are_truncated_at_256_tokens(minilm: MiniLMOnnx) -> None:
    base = "word " * 250
    assert (
        np.allclose(
            minilm.embed([base + "alpha " * 50]), minilm.embed([base + "omega " * 50]), atol=1e-6
        )
        is False
    )
    assert np.allclose(
        minilm.embed([base * 2 + "alpha"]), minilm.embed([base * 2 + "omega"]), atol=1e-6
    )


def test_a_damaged_tokenizer_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    monkeypatch.setattr(embed, "_MODEL_DIR", tmp_path)
    with pytest.raises(EmbedError, match="SHA-256"):
        MiniLMOnnx().embed(["x"])


def test_embedding_text_and_specs() -> None:
    assert embedding_text("A Title", "Body.") == "A Title. Body."
    assert embedding_text("Why?", "Body.") == "Why? Body."
    assert embedding_text("T", "") == "T"
    with pytest.raises(EmbedError, match="use minilm"):
        load_embedder("openai:gpt")
    with pytest.raises(EmbedError, match=r"not installed|not a model folder"):
        load_embedder("model2vec:/nonexistent")


def test_a_local_model2vec_folder_can_be_configured(tmp_path: Path) -> None:
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(embed.__file__).parent / "model" / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    table = (
        np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 16)).astype(np.float32)
    )
    StaticModel(vectors=table, tokenizer=tokenizer).save_pretrained(str(tmp_path / "m2v"))
    model = load_embedder(f"model2vec:{tmp_path / 'm2v'}")
    vectors = model.embed(["graph neural networks", "graph neural networks", "protein folding"])
    assert model.dim == 16 and vectors.shape == (3, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[1]) and not np.allclose(vectors[0], vectors[2])


def test_passages_cover_a_long_text_in_overlapping_windows(minilm: MiniLMOnnx) -> None:
    assert embed.passage_starts(100, 254, 127) == [0]
    assert embed.passage_starts(300, 254, 127) == [0, 46]
    assert embed.passage_starts(600, 254, 127) == [0, 127, 254, 346]
    short, long = "Graph networks for molecules.", "Robots learn to walk. " * 120
    vectors, owners = minilm.embed_passages([short, long])
    assert owners.tolist()[0] == 0 and set(owners.tolist()[1:]) == {1} and len(owners) > 2
    # A text that fits one window gives the vector `embed` gives it; the first
    # window of a long one is the truncated text `embed` sees.
    assert np.allclose(vectors[0], minilm.embed([short])[0], atol=1e-6)
    assert np.allclose(vectors[1], minilm.embed([long])[0], atol=1e-6)
