"""The Claude Code backend: the real bundled CLI through claude-agent-sdk against the loopback fake API,
the worker prompt, and the rate_limit_event parser (hand-written stream-json: a fake HTTP server cannot
make the CLI emit those events)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.events import TaskProgress
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    error_reply,
    slow,
    text_reply,
    tool_use_reply,
)
from claude_orchestrator.workers.base import WorkContext, Worker, WorkResult, WorkUnit
from claude_orchestrator.workers.claude_code import (
    MARKER_VAR,
    ClaudeCodeWorker,
    RateLimitNotice,
    parse_rate_limit,
)
from claude_orchestrator.workers.prompting import build_worker_prompt

SECRET = "sk-fake-secret-0123456789"
needs_cli = pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not bundled")


@dataclass(frozen=True)
class TranscriptContext(WorkContext):
    transcript_path: Path | None = None


def unit(**kw: object) -> WorkUnit:
    base: dict[str, object] = dict(
        unit_id="7",
        task_id="7",
        title="Create hello.txt",
        description="Write a greeting file.",
        details="The file holds one line.",
        test_strategy="cat hello.txt",
        acceptance_criteria=["hello.txt exists", "it says hi"],
    )
    base.update(kw)
    return WorkUnit(**base)  # type: ignore[arg-type]


def procs_under(path: Path) -> list[tuple[int, str]]:
    """Processes whose working directory is inside `path` (the CLI and whatever it started)."""
    found = []
    for e in Path("/proc").iterdir():
        if not e.name.isdigit():
            continue
        try:
            cwd = os.readlink(e / "cwd")
            cmd = (e / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd == str(path) or cwd.startswith(str(path) + "/"):
            found.append((int(e.name), cmd))
    return found


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    wd, home = tmp_path / "wt", tmp_path / "home"
    wd.mkdir()
    home.mkdir()
    return wd, home


def ctx_for(fake: FakeAnthropic, home: Path, wd: Path, **kw: object) -> WorkContext:
    env = {"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": SECRET, "HOME": str(home)}
    return TranscriptContext(workdir=wd, env=env, **kw)  # type: ignore[arg-type]


# --- the prompt ------------------------------------------------------------------------------------


def test_prompt_holds_task_criteria_feedback_and_dependency_results() -> None:
    u = unit(
        title="Parse $HOME safely",
        feedback="Review: the parser crashes on empty input.",
        dependency_results={"3": "Added lexer.py with tokenize()."},
        relevant_files=["src/parse.py"],
        attempt=2,
    )
    system, user = build_worker_prompt(u)
    assert "current working directory" in system and "Do NOT commit" in system
    assert "test strategy" in system and "summary" in system
    assert "# Task 7: Parse $HOME safely" in user and "(attempt 2)" in user
    assert "- hello.txt exists\n- it says hi" in user
    assert "cat hello.txt" in user and "The file holds one line." in user
    assert "the parser crashes on empty input" in user
    assert "### Task 3\nAdded lexer.py with tokenize()." in user
    assert "- src/parse.py" in user


def test_prompt_without_optional_parts_and_with_a_project_override(tmp_path: Path) -> None:
    _, user = build_worker_prompt(unit(acceptance_criteria=[], test_strategy=""))
    assert "Feedback" not in user and "depends on" not in user and "attempt" not in user
    assert "(none given)" in user and "existing tests still pass" in user
    tpl = tmp_path / ".taskmaster" / "templates"
    tpl.mkdir(parents=True)
    (tpl / "worker.md").write_text("<!-- system -->\nS $unit_id\n<!-- user -->\nU $title\n", encoding="utf-8")
    assert build_worker_prompt(unit(), tmp_path) == ("S 7", "U Create hello.txt")


# --- rate_limit_event ------------------------------------------------------------------------------

REJECTED = {
    "type": "rate_limit_event",
    "rate_limit_info": {
        "status": "rejected",
        "resetsAt": 1_900_000_000,
        "rateLimitType": "five_hour",
        "utilization": 1.0,
        "overageStatus": "rejected",
        "isUsingOverage": False,
    },
    "uuid": "u-1",
    "session_id": "s-1",
}
WARNING = {
    "type": "rate_limit_event",
    "rate_limit_info": {"status": "allowed_warning", "resetsAt": 1_900_000_500, "rateLimitType": "seven_day"},
    "uuid": "u-2",
    "session_id": "s-1",
}


def test_parse_rate_limit_from_raw_stream_json() -> None:
    n = parse_rate_limit(json.loads(json.dumps(REJECTED)))
    assert n == RateLimitNotice("rejected", 1_900_000_000.0, "five_hour", 1.0) and n.rejected
    w = parse_rate_limit(WARNING)
    assert w is not None and not w.rejected and w.rate_limit_type == "seven_day" and w.utilization is None
    assert parse_rate_limit({"type": "assistant", "message": {}}) is None
    assert parse_rate_limit({"type": "rate_limit_event", "rate_limit_info": {"resetsAt": 1}}) is None
    assert parse_rate_limit({"type": "rate_limit_event", "rate_limit_info": "x"}) is None
    odd = parse_rate_limit(
        {"type": "rate_limit_event", "rate_limit_info": {"status": "rejected", "resetsAt": "?"}}
    )
    assert odd is not None and odd.resets_at is None


def test_rejected_event_parsed_by_the_sdk_pauses_the_pool() -> None:
    from claude_agent_sdk._internal.message_parser import parse_message

    calls: list[tuple[float, str]] = []
    worker = ClaudeCodeWorker(OrchestratorConfig(), on_rate_limit=lambda t, kind: calls.append((t, kind)))
    from claude_orchestrator.workers.claude_code import _Run

    run = _Run(ctx=WorkContext(workdir=Path(".")))
    for raw in (WARNING, REJECTED):
        event = parse_message(raw)
        assert parse_rate_limit(event) == parse_rate_limit(raw)
        worker._on_message(event, run)
    assert calls == [(1_900_000_000.0, "five_hour")]
    assert run.rate_limit is not None and run.rate_limit.rejected
    before = time.time()
    no_reset = {
        "type": "rate_limit_event",
        "rate_limit_info": {"status": "rejected"},
        "uuid": "u",
        "session_id": "s",
    }
    worker._on_message(parse_message(no_reset), run)
    assert calls[-1][1] == "unknown" and calls[-1][0] >= before + 60


# --- the real CLI against the fake ---------------------------------------------------------------


@needs_cli
@pytest.mark.claude_cli
def test_cli_writes_a_file_and_reports(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    wd, home = dirs
    argv_leaks: list[str] = []

    def model(req: FakeRequest) -> Reply:
        for _, cmd in procs_under(wd):  # the CLI is alive now: its argv must not hold the key
            if SECRET in cmd:
                argv_leaks.append(cmd)
        if not req.has_tool("Write"):
            return text_reply("Greeting file")  # side requests (titles etc.)
        if req.tool_results:
            return text_reply("Created hello.txt with a greeting; verified with cat.")
        return tool_use_reply("Write", {"file_path": str(wd / "hello.txt"), "content": "hi there\n"})

    reports: list[TaskProgress] = []
    transcript = tmp_path / "run" / "7.jsonl"
    with FakeAnthropic(model=model) as fake:
        worker = ClaudeCodeWorker(OrchestratorConfig())
        assert isinstance(worker, Worker) and worker.name == "claude-code"
        ctx = ctx_for(fake, home, wd, report=reports.append, timeout_s=120, transcript_path=transcript)
        result = worker.run(unit(), ctx)
        main = [r for r in fake.requests if r.has_tool("Write")]
    assert result.ok, result.error
    assert (wd / "hello.txt").read_text() == "hi there\n"
    assert result.summary == "Created hello.txt with a greeting; verified with cat."
    assert result.cost_usd > 0 and result.turns >= 2 and result.tokens_in > 0 and result.tokens_out > 0
    assert result.session_id and result.data["terminal_reason"] == "completed"
    assert argv_leaks == []
    # the prompt reached the model: our rules in the system prompt, the task in the user turn
    assert "Do NOT commit" in main[0].system_text and "hello.txt exists" in main[0].last_user_text
    assert main[0].model == OrchestratorConfig().models.worker.model
    assert all(r.headers.get("x-api-key") == "***" for r in main)  # the key went out as a header
    phases = [r.phase for r in reports]
    assert phases[0] == "starting" and "working" in phases and phases[-1] == "done"
    assert reports[-1].cost_usd == result.cost_usd
    assert all(r.cost_usd > 0 for r in reports if r.phase == "working")  # live estimate
    lines = [json.loads(x) for x in transcript.read_text().splitlines()]
    assert result.transcript_path == str(transcript)
    kinds = [x["type"] for x in lines]
    assert "AssistantMessage" in kinds and kinds[-1] == "ResultMessage"
    assert SECRET not in transcript.read_text()
    assert procs_under(wd) == []


def _run_cli(
    dirs: tuple[Path, Path], model, cfg: OrchestratorConfig | None = None, **kw
) -> tuple[WorkResult, FakeAnthropic]:
    wd, home = dirs
    with FakeAnthropic(model=model) as fake:
        result = ClaudeCodeWorker(cfg or OrchestratorConfig()).run(unit(), ctx_for(fake, home, wd, **kw))
    assert procs_under(wd) == []
    return result, fake


@needs_cli
@pytest.mark.claude_cli
def test_cli_api_400_is_a_failure_with_the_reason(dirs: tuple[Path, Path]) -> None:
    result, _ = _run_cli(dirs, lambda req: error_reply(400, "the fake refuses this request"), timeout_s=120)
    assert not result.ok
    assert result.error is not None and "400" in result.error and "the fake refuses" in result.error
    assert result.data["api_error_status"] == 400 and result.data["terminal_reason"] == "api_error"


@needs_cli
@pytest.mark.claude_cli
def test_cli_overloaded_without_retry_is_a_failure(dirs: tuple[Path, Path]) -> None:
    result, fake = _run_cli(dirs, lambda req: error_reply(529, should_retry=False), timeout_s=120)
    assert not result.ok and result.error is not None and "529" in result.error
    assert result.data["subtype"] == "success"  # is_error is what fails it, whatever the subtype
    assert len([r for r in fake.requests if r.has_tool("Write")]) == 1


@needs_cli
@pytest.mark.claude_cli
def test_cli_429_is_a_rate_limited_failure(dirs: tuple[Path, Path]) -> None:
    result, _ = _run_cli(dirs, lambda req: error_reply(429, should_retry=False), timeout_s=120)
    assert not result.ok and result.error is not None and "429" in result.error
    assert result.data["rate_limited"] is True and result.data["api_error_status"] == 429


@needs_cli
@pytest.mark.claude_cli
def test_cli_max_turns_is_a_failure(dirs: tuple[Path, Path]) -> None:
    wd, _ = dirs
    cfg = OrchestratorConfig()
    cfg.execution.max_turns = 1

    def model(req: FakeRequest) -> Reply:
        if not req.has_tool("Write"):
            return text_reply("title")
        return tool_use_reply("Write", {"file_path": str(wd / f"f{req.turn}.txt"), "content": "x"})

    result, _ = _run_cli(dirs, model, cfg, timeout_s=120)
    assert not result.ok and result.error is not None and "turn limit" in result.error
    assert result.data["subtype"] == "error_max_turns"


@needs_cli
@pytest.mark.claude_cli
@pytest.mark.parametrize("allowed", [False, True])
def test_project_mcp_servers_start_in_workers_only_when_configured(
    dirs: tuple[Path, Path], tmp_path: Path, allowed: bool
) -> None:
    """A project's approved .mcp.json server would start again for every task: off unless configured."""
    wd, _ = dirs
    started = tmp_path / "mcp-started"
    server = {"command": sys.executable, "args": ["-c", f"open({str(started)!r}, 'w').close()"]}
    (wd / ".mcp.json").write_text(json.dumps({"mcpServers": {"probe": server}}))
    (wd / ".claude").mkdir()
    (wd / ".claude" / "settings.local.json").write_text(json.dumps({"enableAllProjectMcpServers": True}))
    cfg = OrchestratorConfig()
    cfg.execution.claude_code_mcp = allowed
    transcript = tmp_path / "7.jsonl"
    result, _ = _run_cli(dirs, lambda req: text_reply("nothing to do"), cfg, transcript_path=transcript)
    assert result.ok, result.error
    init = next(m for m in map(json.loads, transcript.read_text().splitlines()) if m.get("subtype") == "init")
    servers = [s["name"] for s in init["data"]["mcp_servers"]]
    assert servers == (["probe"] if allowed else [])
    if not allowed:
        assert not started.exists()


@needs_cli
@pytest.mark.claude_cli
def test_cli_timeout_kills_the_cli_and_its_children(dirs: tuple[Path, Path]) -> None:
    wd, _ = dirs
    started = threading.Event()
    sleeper = "import time; time.sleep(300)  # orch-timeout-test"

    def model(req: FakeRequest) -> Reply:
        if not req.has_tool("Bash"):
            return text_reply("title")
        if req.tool_results:
            return text_reply("done")
        started.set()
        return tool_use_reply("Bash", {"command": f'python3 -c "{sleeper}"', "timeout": 600000})

    t0 = time.monotonic()
    result, _ = _run_cli(dirs, model, timeout_s=8)
    assert started.is_set()
    assert not result.ok and result.error == "Claude Code timed out after 8s"
    assert time.monotonic() - t0 < 30
    leftover = [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmd(p).find("orch-timeout-test") >= 0
    ]
    assert leftover == []


def _cmd(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


@needs_cli
@pytest.mark.claude_cli
def test_cli_cancel_stops_the_run(dirs: tuple[Path, Path]) -> None:
    cancel = threading.Event()

    def model(req: FakeRequest) -> Reply:
        if req.has_tool("Write"):
            cancel.set()  # the engine cancels while the model is thinking
        return slow(text_reply("late"), 60)

    t0 = time.monotonic()
    result, _ = _run_cli(dirs, model, timeout_s=120, cancel=cancel)
    assert not result.ok and result.error == "cancelled"
    assert time.monotonic() - t0 < 30


def test_cancelled_before_start_spawns_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    worker = ClaudeCodeWorker(OrchestratorConfig(), cli_path=tmp_path / "no-such-cli")
    result = worker.run(unit(), WorkContext(workdir=tmp_path, cancel=cancel))
    assert not result.ok and result.error == "cancelled"


def test_a_missing_cli_is_a_clear_failure(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    wd, home = dirs
    worker = ClaudeCodeWorker(OrchestratorConfig(), cli_path=tmp_path / "no-such-cli")
    result = worker.run(unit(), WorkContext(workdir=wd, env={"HOME": str(home)}, timeout_s=30))
    assert (
        not result.ok
        and result.error is not None
        and result.error.startswith("Claude Code failed: CLINotFoundError")
    )


def test_env_passes_credentials_and_flags_never_placeholders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "your_api_key_here")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    worker = ClaudeCodeWorker(OrchestratorConfig(), env={"EXTRA": "1"})
    env = worker.build_env(WorkContext(workdir=tmp_path, env={"ANTHROPIC_API_KEY": SECRET}), "tok")
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9" and env["ANTHROPIC_API_KEY"] == SECRET
    assert env["ANTHROPIC_AUTH_TOKEN"] == ""  # a placeholder is blanked, not sent
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1" and env["DISABLE_AUTOUPDATER"] == "1"
    assert env[MARKER_VAR] == "tok" and env["EXTRA"] == "1"
    assert env.get("IS_SANDBOX") == ("1" if os.geteuid() == 0 else None)
