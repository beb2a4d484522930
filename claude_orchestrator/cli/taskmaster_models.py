"""`task-master models`: the models in orchestrator_config.json, as task-master's roles. `main` is the
manager (plans, expands, updates, reviews); research runs the manager with `models.research_effort`;
there is no fallback model. `--set-main` / `--set-worker` change the file (nothing else in it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

_PROVIDER_FLAGS = (
    "openrouter",
    "ollama",
    "bedrock",
    "claude_code",
    "azure",
    "vertex",
    "gemini_cli",
    "codex_cli",
    "lmstudio",
    "openai_compatible",
)


def _provider_options(fn: Any) -> Any:
    for name in _PROVIDER_FLAGS:
        fn = click.option(f"--{name.replace('_', '-')}", name, is_flag=True, hidden=True)(fn)
    return click.option("--baseURL", "base_url", default=None, hidden=True)(fn)


@click.command("models")
@click.option("--set-main", default=None, help="The manager's model (task-master's main role).")
@click.option("--set-worker", default=None, help="The workers' model.")
@click.option("--set-research", default=None, hidden=True)
@click.option("--set-fallback", default=None, hidden=True)
@click.option("--setup", is_flag=True, hidden=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project root."
)
@_provider_options
def models_cmd(
    set_main: str | None, set_worker: str | None, as_json: bool, project: Path | None, **kw: Any
) -> None:
    """Show the configured models, or set the manager's (--set-main) or the workers' (--set-worker)."""
    from ..config import CONFIG_FILENAME, find_config, load_config

    _refuse_unsupported(kw)
    root = Path(project or Path.cwd())
    path = find_config(root)
    if set_main or set_worker:
        path = path or root / CONFIG_FILENAME
        _set_models(path, {"manager": set_main, "worker": set_worker})
        for role, model in (("main (manager)", set_main), ("worker", set_worker)):
            if model:
                click.echo(f"Set the {role} model to {model} in {path}")
        return
    cfg = load_config(path) if path else load_config(start=root)
    rows = {
        "main": {
            "role": "manager",
            "model": cfg.models.manager.model,
            "maxTokens": cfg.models.manager.max_tokens,
        },
        "research": {
            "role": "manager",
            "model": cfg.models.manager.model,
            "effort": cfg.models.research_effort,
        },
        "worker": {
            "role": "worker",
            "model": cfg.models.worker.model,
            "maxTokens": cfg.models.worker.max_tokens,
        },
        "fallback": None,
    }
    if as_json:
        click.echo(json.dumps({"configFile": str(path) if path else None, "models": rows}, indent=2))
        return
    click.echo(f"Models ({path or 'defaults: no ' + CONFIG_FILENAME}):")
    click.echo(
        f"  main      {cfg.models.manager.model}  (the manager; max tokens {cfg.models.manager.max_tokens})"
    )
    click.echo(
        f"  research  {cfg.models.manager.model}  (the manager with effort '{cfg.models.research_effort}')"
    )
    click.echo(f"  worker    {cfg.models.worker.model}  (max tokens {cfg.models.worker.max_tokens})")
    click.echo("  fallback  none")


def _refuse_unsupported(kw: dict[str, Any]) -> None:
    from ..errors import InputError

    if kw.get("set_research") or kw.get("set_fallback"):
        raise InputError(
            "claude-orchestrator has no separate research or fallback model: research runs the manager "
            "(--set-main) with models.research_effort; set that in orchestrator_config.json"
        )
    if kw.get("setup"):
        raise InputError("there is no interactive setup: use --set-main MODEL or --set-worker MODEL")
    flags = [f"--{n.replace('_', '-')}" for n in _PROVIDER_FLAGS if kw.get(n)] + (
        ["--baseURL"] if kw.get("base_url") else []
    )
    if flags:
        raise InputError(
            f"{', '.join(flags)}: the models are Anthropic models (set ANTHROPIC_BASE_URL for a gateway)"
        )


def _set_models(path: Path, models: dict[str, str | None]) -> None:
    """Change models.<role>.model in the file, validated, keeping every other key as it is."""
    from pydantic import ValidationError

    from ..config import OrchestratorConfig, _format_validation, load_config
    from ..errors import ConfigError
    from ..files import write_text

    data: dict[str, Any] = {}
    if path.exists():
        load_config(path)  # a malformed or invalid file is reported as it is, before any change
        data = json.loads(path.read_text(encoding="utf-8"))
    section = data.setdefault("models", {})
    for role, model in models.items():
        if model:
            entry = section.setdefault(role, {})
            entry["model"] = model.strip()
    try:
        OrchestratorConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation(path, e)) from None
    write_text(path, json.dumps(data, indent=2) + "\n")
