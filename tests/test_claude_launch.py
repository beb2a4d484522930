"""How Claude Code workers are launched: the session journaled before the CLI starts (and resumed after a
crash), the options that make parallel workers cheaper (no per-directory system prompt, a capped number of
subagents, the task's budget, the start stagger), settings sources, and the options never passed. The real
bundled CLI runs against the loopback fake model."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.errors import OrchestratorError
from claude_orchestrator.events import TaskPicked, TaskRetry, TaskSession
from claude_orchestrator.observers.eventlog import EventLogWriter
from claude_orchestrator.run.resume import Sessions, interrupted_sessions
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    text_reply,
    tool_use_reply,
)
from claude_orchestrator.workers.base import WorkContext, WorkUnit
from claude_orchestrator.workers.claude_code import ClaudeCodeWorker
from claude_orchestrator.workers.claude_launch import check_args, launch
from claude_orchestrator.workers.stagger import StartStagger

CLI = find_claude_cli()
needs_cli = pytest.mark.skipif(CLI is None, reason="Claude Code CLI not bundled")


# --- the parts ------------------------------------------------------------------------------------


def test_the_first_start_warms_the_cache_and_the_others_wait_for_it():
    stagger = StartStagger(5.0)
    stagger.wait("p")  # the first goes at once
    t0 = time.monotonic()
    waited: list[float] = []
    second = threading.Thread(target=lambda: (stagger.wait("p"), waited.append(time.monotonic() - t0)))
    second.start()
    time.sleep(0.3)
    assert waited == []  # held while the first one's first answer is pending
    stagger.warmed("p")
    second.join(5)
    assert waited and 0.25 <= waited[0] < 1.5
    t1 = time.monotonic()
    stagger.wait("p")  # warm: no wait
    stagger.wait("other prefix")  # another prefix warms on its own
    assert time.monotonic() - t1 < 0.2


def test_a_warmer_that_never_answers_holds_the_next_start_only_for_the_delay():
    stagger = StartStagger(0.5)
    stagger.wait("p")
    t0 = time.monotonic()
    stagger.wait("p")  # becomes the next warmer after the delay
    assert 0.45 <= time.monotonic() - t0 < 2.0
    cancel = threading.Event()
    cancel.set()
    t1 = time.monotonic()
    stagger.wait("p", cancel)  # a cancelled start does not wait
    assert time.monotonic() - t1 < 0.2
    assert StartStagger(0).delay_s == 0


def test_the_journal_names_the_sessions_of_attempts_that_never_ended(tmp_path: Path):
    with EventLogWriter(tmp_path) as log:
        for e in (
            TaskSession(run_id="r", task_id="1", session_id="s1", workdir="/w/1", attempt=1),
            TaskSession(run_id="r", task_id="2", session_id="s2", workdir="/w/2", attempt=1),
            TaskRetry(run_id="r", task_id="2", attempt=2, reason="review"),
            TaskSession(run_id="r", task_id="3", session_id="s3a", workdir="/w/3-c1", candidate=1),
            TaskSession(run_id="r", task_id="3", session_id="s3b", workdir="/w/3-c2", candidate=2),
            TaskSession(run_id="r", task_id="4", session_id="s4a", workdir="/w/4-c1", candidate=1),
            TaskPicked(run_id="r", task_id="4", candidates=1, winner=1),
        ):
            log(e)
    found = interrupted_sessions(tmp_path)
    assert {k: v.session_id for k, v in found.items()} == {"1": "s1", "3-c1": "s3a", "3-c2": "s3b"}
    wt = tmp_path / "w1"
    wt.mkdir()
    sessions = Sessions({"1": found["1"].__class__("s1", str(wt)), "3-c1": found["3-c1"]})
    assert sessions.take("3-c1", wt) is None  # journaled in another directory: not intact
    assert sessions.take("1", wt) == "s1"
    assert sessions.take("1", wt) is None  # at most once


def test_launch_options_and_the_options_never_passed(tmp_path: Path):
    cfg = OrchestratorConfig()
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path)}
    how = launch(cfg, CLI and str(CLI), resume=None, env=env, budget_usd=0.004)
    assert how.resumed is False and how.options["session_id"] == how.session_id
    assert how.options["max_budget_usd"] == 0.01  # never below a cent
    assert how.options["setting_sources"] == ["user", "project"] and how.options["skills"] == "all"
    if CLI is not None:
        assert "exclude-dynamic-system-prompt-sections" in how.options["extra_args"]
    # a session whose conversation is gone cannot be resumed: a new one starts
    assert launch(cfg, None, resume="gone", env=env, budget_usd=None).resumed is False
    (tmp_path / "projects" / "-w-1").mkdir(parents=True)
    (tmp_path / "projects" / "-w-1" / "kept.jsonl").write_text("{}\n")
    kept = launch(cfg, None, resume="kept", env=env, budget_usd=None)
    assert (kept.resumed, kept.session_id, kept.options["resume"]) == (True, "kept", "kept")
    assert "session_id" not in kept.options
    for bad in ("worktree", "w", "--bg", "background"):
        with pytest.raises(OrchestratorError, match="refusing to pass"):
            check_args({bad: None})
    cfg.execution.claude_code_max_subagents = 0
    cfg.execution.claude_code_setting_sources = []
    off = launch(cfg, None, resume=None, env=env, budget_usd=None)
    assert off.options["disallowed_tools"] == ["Agent", "Task"] and "skills" not in off.options
    assert off.options["setting_sources"] == [] and "max_budget_usd" not in off.options


# --- the real CLI ---------------------------------------------------------------------------------


def _recording_cli(tmp_path: Path) -> tuple[Path, Path]:
    """A CLI that writes its arguments down, then becomes the real one."""
    argv = tmp_path / "argv.txt"
    wrapper = tmp_path / "claude-recording"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {argv}\nexec {CLI} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper, argv


def _ctx(fake: FakeAnthropic, tmp_path: Path, wd: Path, **kw: object) -> WorkContext:
    env = {"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": "sk-test-launch", "HOME": str(tmp_path)}
    return WorkContext(workdir=wd, env=env, timeout_s=120, **kw)  # type: ignore[arg-type]


@needs_cli
@pytest.mark.claude_cli
def test_the_cli_gets_the_cache_option_our_session_and_budget_and_never_a_worktree(tmp_path: Path):
    wd = tmp_path / "wt"
    wd.mkdir()
    cli, argv_file = _recording_cli(tmp_path)

    def model(req: FakeRequest) -> Reply:
        if not req.has_tool("Write"):
            return text_reply("side")
        if req.tool_results:
            return text_reply("done")
        return tool_use_reply("Write", {"file_path": str(wd / "a.txt"), "content": "a\n"})

    journaled: list[TaskSession] = []
    with FakeAnthropic(model=model) as fake:
        ctx = _ctx(fake, tmp_path, wd, journal=journaled.append, budget_usd=1.5)
        res = ClaudeCodeWorker(OrchestratorConfig(), cli_path=cli).run(WorkUnit("1", "1", "Write a"), ctx)
        main = [r for r in fake.requests if r.has_tool("Write")]
    assert res.ok, res.error
    argv = argv_file.read_text().splitlines()
    assert "--exclude-dynamic-system-prompt-sections" in argv
    assert not {"--worktree", "-w", "--bg", "--background", "--tmux"} & set(argv)
    assert not any(a.startswith(("--worktree=", "-w=")) for a in argv)
    assert [s.session_id for s in journaled] == [res.session_id] and f"--session-id={res.session_id}" in argv
    assert journaled[0].workdir == str(wd) and journaled[0].backend == "claude-code"
    assert argv[argv.index("--max-budget-usd") + 1] == "1.5"
    assert "--setting-sources=user,project" in argv
    # the per-directory parts left the system prompt (shared by every worktree) for the first user turn
    assert str(wd) not in main[0].system_text and str(wd) in json.dumps(main[0].messages)


@needs_cli
@pytest.mark.claude_cli
def test_workers_in_different_worktrees_send_the_same_system_prompt(tmp_path: Path):
    """The shared prefix the prompt cache needs: only the user turn says where a worker is."""
    systems = []
    with FakeAnthropic(model=lambda req: text_reply("done")) as fake:
        worker = ClaudeCodeWorker(OrchestratorConfig())
        for name in ("wt-a", "wt-b"):
            (tmp_path / name).mkdir()
            res = worker.run(WorkUnit("1", "1", "Nothing"), _ctx(fake, tmp_path, tmp_path / name))
            assert res.ok, res.error
            main = [r for r in fake.requests if r.has_tool("Write")]
            systems.append(json.dumps(main[-1].body.get("system")))
            assert str(tmp_path / name) in json.dumps(main[-1].messages)
    assert systems[0] == systems[1]


@needs_cli
@pytest.mark.claude_cli
def test_subagents_past_the_cap_are_refused(tmp_path: Path):
    wd = tmp_path / "wt"
    wd.mkdir()
    ours = "the worker's own conversation"

    def model(req: FakeRequest) -> Reply:
        if "# Task 1:" not in json.dumps(req.messages[:1]):
            return text_reply("subagent: nothing to report")  # a subagent's conversation, or a side request
        turns = sum(1 for m in req.messages if m.get("role") == "assistant")
        if turns < 2:
            brief = {
                "description": f"look {turns}",
                "prompt": "Look around.",
                "subagent_type": "general-purpose",
            }
            return tool_use_reply("Agent", brief)
        return text_reply(ours)

    cfg = OrchestratorConfig()
    cfg.execution.claude_code_max_subagents = 1
    with FakeAnthropic(model=model) as fake:
        res = ClaudeCodeWorker(cfg).run(WorkUnit("1", "1", "Look around"), _ctx(fake, tmp_path, wd))
        results = [
            b
            for r in fake.requests
            for m in r.messages
            if isinstance(m.get("content"), list)
            for b in m["content"]
            if b.get("type") == "tool_result"
        ]
    assert res.ok, res.error
    assert res.data["subagents_refused"] == 1
    refused = {b["tool_use_id"] for b in results if "at most 1 subagent" in json.dumps(b)}
    allowed = {b["tool_use_id"] for b in results if "at most 1 subagent" not in json.dumps(b)}
    assert len(refused) == 1 and len(allowed) == 1  # the first subagent ran, the second was refused
    assert os.path.isdir(wd)
