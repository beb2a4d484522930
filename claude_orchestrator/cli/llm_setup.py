"""Build the LLM layer and the manager for a CLI command (credentials from env/.env, `--record`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..config import OrchestratorConfig, load_config, load_dotenv


@dataclass
class Session:
    cfg: OrchestratorConfig
    llm: Any
    ledger: Any
    root: Path


@contextlib.contextmanager
def llm_session(root: Path, record: Path | None = None, config: Path | None = None) -> Iterator[Session]:
    """An LLM client (ledger + optional recorder) for one command; prints the cost when done."""
    from ..llm import LLM, Ledger, Recorder

    load_dotenv(root / ".env")
    cfg = load_config(config, start=root)
    ledger = Ledger()
    recorder = Recorder(record) if record else None
    llm = LLM.from_config(cfg, ledger=ledger, recorder=recorder)
    try:
        yield Session(cfg=cfg, llm=llm, ledger=ledger, root=root)
    finally:
        llm.close()
        if recorder is not None:
            recorder.close()
        cost = ledger.cost_usd()
        if cost:
            click.echo(f"Model usage: ${cost:.4f}", err=True)


def make_manager(session: Session) -> Any:
    from ..manager import Manager

    return Manager(llm=session.llm, cfg=session.cfg, project_root=session.root)
