"""Record every exchange with the API as JSONL, and the key that matches a replayed request to its answer.

One line per HTTP exchange (retries included): the request body (no headers, so no secrets), and either
the final message (``response``) or the error (``status``, ``error``, ``retry_after``). The fake API's
``--replay FILE`` answers each request with the recorded answers for the same key, in recorded order.
This module does not import ``anthropic``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

KEY_FIELDS = (
    "model",
    "system",
    "messages",
    "tools",
    "tool_choice",
    "output_config",
    "thinking",
    "max_tokens",
    "stop_sequences",
)


def _no_cache_control(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _no_cache_control(v) for k, v in obj.items() if k != "cache_control"}
    if isinstance(obj, list):
        return [_no_cache_control(v) for v in obj]
    return obj


def request_key(body: dict[str, Any]) -> str:
    """A stable digest of what determines the answer (cache markers and `stream` excluded)."""
    core = {k: _no_cache_control(body[k]) for k in KEY_FIELDS if body.get(k) is not None}
    text = json.dumps(core, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Recorder:
    """Thread-safe JSONL writer; each line is flushed at once so a crash loses nothing written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fh = self.path.open("a", encoding="utf-8")
        self.count = 0

    def record(
        self,
        body: dict[str, Any],
        *,
        response: dict[str, Any] | None = None,
        status: int = 200,
        error: dict[str, Any] | None = None,
        retry_after: str | None = None,
        request_id: str | None = None,
        elapsed_s: float = 0.0,
        role: str | None = None,
        task_id: str | None = None,
    ) -> None:
        line = {
            "key": request_key(body),
            "ts": time.time(),
            "role": role,
            "task_id": task_id,
            "request": {k: v for k, v in body.items() if k != "stream"},
            "stream": bool(body.get("stream")),
            "status": status,
            "request_id": request_id,
            "elapsed_s": round(elapsed_s, 4),
        }
        if response is not None:
            line["response"] = response
        if error is not None:
            line["error"] = error
        if retry_after is not None:
            line["retry_after"] = retry_after
        text = json.dumps(line, ensure_ascii=False, default=str)
        with self._lock:
            self._fh.write(text + "\n")
            self._fh.flush()
            self.count += 1

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_exchanges(path: str | Path) -> list[dict[str, Any]]:
    """The recorded lines of a JSONL file, in order (blank lines skipped)."""
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            if raw.strip():
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not JSON: {e.msg}") from None
    return out
