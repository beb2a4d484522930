import subprocess
import sys

import claude_orchestrator


def test_all_is_pinned_and_every_name_resolves():
    assert sorted(claude_orchestrator.__all__) == sorted(
        [
            "LLM",
            "Event",
            "EventBus",
            "Ledger",
            "Manager",
            "OrchestratorConfig",
            "OrchestratorError",
            "RunEngine",
            "RunOptions",
            "RunReport",
            "TaskGraph",
            "TaskStore",
            "__version__",
            "execute_plan",
            "load_config",
            "parse_plan",
        ]
    )
    for name in claude_orchestrator.__all__:
        assert getattr(claude_orchestrator, name) is not None


def test_importing_the_package_is_light():
    code = "import sys, claude_orchestrator; print(sorted(m for m in ('anthropic', 'rich', 'git', 'networkx', 'claude_agent_sdk') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_only_llm_imports_anthropic():
    from pathlib import Path

    root = Path(claude_orchestrator.__file__).parent
    offenders = []
    for f in root.rglob("*.py"):
        if f.is_relative_to(root / "llm"):
            continue
        text = f.read_text()
        if "import anthropic" in text or "from anthropic" in text:
            offenders.append(str(f.relative_to(root)))
    assert offenders == []
