"""A local OpenAI-compatible server (chat completions, streaming, embeddings) for the LLM paths.

It answers from the sources in the prompt like a well-behaved model would, or misbehaves on
purpose (``mode``): malformed JSON, malformed once then fine, too slow to answer, or a summary
sentence that invents beyond its real quote (``summary_invented``); ``chat_answer`` sets what
chat replies (any citation syntax a test needs).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "fake-gpt"
EMBED_DIMS = 64


@dataclass
class FakeState:
    mode: str = "good"
    requests: list[dict[str, Any]] = field(default_factory=list)
    chat_answer: str | None = None
    chat_calls: int = 0
    # Called with the path of each request before it is answered (a test looks at the database).
    on_request: Callable[[str], None] | None = None

    def reset(self) -> None:
        self.mode, self.chat_answer, self.chat_calls = "good", None, 0
        self.on_request = None
        self.requests.clear()

    def record(self, path: str, body: dict[str, Any]) -> None:
        self.requests.append(body)
        if self.on_request is not None:
            self.on_request(path)


def _sources(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\[S\d+\]\n", text) if part.strip()]


def _first_sentence(text: str) -> str:
    body = text.split("\n\n", 1)[-1] if "\n\n" in text else text
    match = re.match(r"(.+?[.!?])(\s|$)", body, flags=re.DOTALL)
    return (match.group(1) if match else body).strip()


def _keyword(sentence: str) -> str:
    words = re.findall(r"[A-Za-z]{5,}", sentence)
    return max(words, key=len) if words else sentence.split()[0]


def _structured(name: str, user_text: str, invent: bool = False) -> dict[str, Any]:
    quote = _first_sentence(_sources(user_text)[0])
    word = _keyword(quote)
    if name == "summary":
        # Inventing, the model attaches a real quote to a sentence that says much more.
        text = (
            f"{quote.rstrip('.')}, as invented in 2031 by a committee of dolphins."
            if invent
            else f"In short: {quote}"
        )
        return {"sentences": [{"text": text, "source": "S1", "quote": quote}]}
    if name == "flashcards":
        return {
            "cards": [
                {
                    "front": "Which key term does the first source stress?",
                    "back": word,
                    "source": "S1",
                    "quote": quote,
                }
            ]
        }
    return {
        "questions": [
            {
                "stem": "Which key term does the first source stress?",
                "options": ["zebrafish", word, "quasar", "violin"],
                "correct_option": 1,
                "explanation": quote,
                "source": "S1",
                "quote": quote,
            }
        ]
    }


def _usage(prompt: str, completion: str) -> dict[str, int]:
    p, c = len(prompt.split()), len(completion.split())
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def build_app(state: FakeState) -> Starlette:
    async def chat(request: Request) -> Response:
        body = await request.json()
        state.record(request.url.path, body)
        state.chat_calls += 1
        if state.mode == "timeout":
            await asyncio.sleep(5)
        messages = body["messages"]
        prompt = " ".join(m["content"] for m in messages)
        schema = (body.get("response_format") or {}).get("json_schema")
        if schema is not None:
            malformed = state.mode == "malformed" or (
                state.mode == "malformed_once" and state.chat_calls == 1
            )
            user_text = messages[1]["content"]
            content = (
                "{not json"
                if malformed
                else json.dumps(
                    _structured(schema["name"], user_text, state.mode == "summary_invented")
                )
            )
        else:
            content = state.chat_answer or "Chlorophyll absorbs light [1]. Invented claim [9]."
        if body.get("stream"):
            return StreamingResponse(_stream(content, prompt), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": _usage(prompt, content),
            }
        )

    async def _stream(content: str, prompt: str) -> Any:
        pieces = re.findall(r"\S+\s*", content)
        for n, piece in enumerate(pieces):
            if state.mode == "stream_break" and n == 2:
                yield "data: {broken\n\n"
                return
            chunk = {"model": MODEL, "choices": [{"index": 0, "delta": {"content": piece}}]}
            yield f"data: {json.dumps(chunk)}\n\n"
        end = {"model": MODEL, "choices": [], "usage": _usage(prompt, content)}
        yield f"data: {json.dumps(end)}\n\n"
        yield "data: [DONE]\n\n"

    async def embeddings(request: Request) -> Response:
        body = await request.json()
        state.record(request.url.path, body)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"index": i, "embedding": embed(t), "object": "embedding"} for i, t in enumerate(texts)
        ]
        tokens = sum(len(t.split()) for t in texts)
        return JSONResponse(
            {
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
        ]
    )


def embed(text: str) -> list[float]:
    """Hashed bag of lower-cased words: texts sharing words point the same way."""
    vector = [0.0] * EMBED_DIMS
    for word in re.findall(r"[a-z]{4,}", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % EMBED_DIMS] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class FakeServer:
    def __init__(self) -> None:
        self.state = FakeState()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.state),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
