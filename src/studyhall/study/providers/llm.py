"""A small client for OpenAI-compatible servers: chat (JSON schema or streamed) and embeddings.

One protocol serves OpenAI, Ollama, vLLM and llama.cpp; ``base_url`` ends in ``/v1``.
Every failure leaves as ``LlmError`` with a stable code so callers can fall back or report.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from studyhall.config import Settings

__all__ = [
    "ChatResult",
    "EmbeddingResult",
    "LlmClient",
    "LlmError",
    "StreamEnd",
    "chat_client",
]


class LlmError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ChatResult:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class StreamEnd:
    """The last item of a stream: the usage the server reported (0 when it reported none)."""

    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class EmbeddingResult:
    vectors: list[list[float]]
    model: str
    prompt_tokens: int


@dataclass
class LlmClient:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)

    def _client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.AsyncClient(
            base_url=self.base_url.rstrip("/"),
            headers=headers,
            timeout=self.timeout_s,
            transport=self.transport,
        )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._client() as client:
                response = await client.post(path, json=body)
        except httpx.TimeoutException as exc:
            raise LlmError(
                "timeout", f"the model server did not answer in {self.timeout_s}s"
            ) from exc
        except httpx.HTTPError as exc:
            raise LlmError("unreachable", f"the model server is unreachable ({exc!r})") from exc
        if response.status_code >= 400:
            raise LlmError("http_error", f"the model server answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise LlmError("bad_response", "the model server sent a non-JSON body") from exc
        if not isinstance(data, dict):
            raise LlmError("bad_response", "the model server sent an unexpected body")
        return data

    async def chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int,
        schema: dict[str, Any] | None = None,
        schema_name: str = "output",
    ) -> ChatResult:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": 0.2,
        }
        if schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            }
        data = await self._post("/chat/completions", body)
        try:
            content = data["choices"][0]["message"]["content"]
            usage = data.get("usage") or {}
            return ChatResult(
                content=str(content or ""),
                model=str(data.get("model") or self.model),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise LlmError("bad_response", "the model answer has no message content") from exc

    async def stream(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int
    ) -> AsyncIterator[str | StreamEnd]:
        """Text deltas as they arrive, then one ``StreamEnd``."""
        body = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": 0.2,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        end = StreamEnd(model=self.model)
        try:
            async with (
                self._client() as client,
                client.stream("POST", "/chat/completions", json=body) as response,
            ):
                if response.status_code >= 400:
                    raise LlmError(
                        "http_error", f"the model server answered {response.status_code}"
                    )
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    chunk = json.loads(payload)
                    for choice in chunk.get("choices") or []:
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            yield str(delta)
                    usage = chunk.get("usage")
                    if usage:
                        end = StreamEnd(
                            model=str(chunk.get("model") or self.model),
                            prompt_tokens=int(usage.get("prompt_tokens", 0)),
                            completion_tokens=int(usage.get("completion_tokens", 0)),
                        )
        except httpx.TimeoutException as exc:
            raise LlmError("timeout", "the model server stopped answering") from exc
        except httpx.HTTPError as exc:
            raise LlmError("unreachable", f"the model server is unreachable ({exc!r})") from exc
        except (ValueError, AttributeError, TypeError) as exc:
            raise LlmError("bad_response", "the model server sent a malformed stream") from exc
        yield end

    async def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        data = await self._post("/embeddings", {"model": self.model, "input": list(texts)})
        try:
            items = sorted(data["data"], key=lambda item: int(item["index"]))
            vectors = [[float(x) for x in item["embedding"]] for item in items]
            usage = data.get("usage") or {}
            tokens = int(usage.get("prompt_tokens", usage.get("total_tokens", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise LlmError("bad_response", "the embedding answer is malformed") from exc
        if len(vectors) != len(texts):
            raise LlmError("bad_response", "the embedding answer has the wrong number of vectors")
        # Stored vectors are compared only with vectors of the same configured model name.
        return EmbeddingResult(vectors=vectors, model=self.model, prompt_tokens=tokens)


def chat_client(settings: Settings) -> LlmClient | None:
    if not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return LlmClient(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout_s)
