"""python -m claude_orchestrator.testing.fake_anthropic --port N [--latency S] [--replay FILE] [--demo]"""

from __future__ import annotations

import argparse
import sys
import threading

from .limits import RateLimits
from .server import FakeAnthropic


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m claude_orchestrator.testing.fake_anthropic")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    p.add_argument("--replay", help="answer from a recorded JSONL file")
    p.add_argument("--text", default=None, help="the text of every default answer")
    p.add_argument("--rpm", type=int, default=None, help="requests per window")
    p.add_argument("--itpm", type=int, default=None, help="input tokens per window")
    p.add_argument("--otpm", type=int, default=None, help="output tokens per window")
    p.add_argument("--window", type=float, default=60.0, help="rate-limit window in seconds")
    p.add_argument("--demo", action="store_true", help="answer as the demo model (plans, workers, reviews)")
    args = p.parse_args(argv)
    limits = RateLimits(args.rpm, args.itpm, args.otpm, args.window)
    kwargs: dict[str, object] = {"default_text": args.text} if args.text else {}
    if args.demo:
        from ..demo_model import demo_model

        kwargs["model"] = demo_model
    try:
        fake = FakeAnthropic(
            rate_limits=limits,
            latency=args.latency,
            replay=args.replay,
            port=args.port,
            **kwargs,  # type: ignore[arg-type]
        )
        fake.start()
    except (OSError, ValueError) as e:
        print(f"fake_anthropic: {e}", file=sys.stderr)
        return 2
    print(f"fake Anthropic API on {fake.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
