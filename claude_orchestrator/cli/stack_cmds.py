"""`execute`, `run-project`, `generate`, `plugins`: thin click commands over claude_orchestrator.stack."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..config import OrchestratorConfig
    from ..stack.plugins import StackPlugins
    from ..stack.runner import ExecuteResult

_config_opt = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="orchestrator_config.json",
)
_plugins_opt = click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="load plugins from this folder too (repeatable)",
)
_no_plugins_opt = click.option("--no-plugins", is_flag=True, help="load no plugins at all")


def _config(path: Path | None) -> OrchestratorConfig:
    from ..config import load_config

    return load_config(path)


def _plugins(cfg: OrchestratorConfig, dirs: tuple[Path, ...], disabled: bool) -> StackPlugins | None:
    if disabled:
        return None
    from ..stack.plugins import load_plugins

    folders: list[Path] = [Path(cfg.stack.plugins_dir)] if cfg.stack.plugins_dir else []
    return load_plugins([*folders, *dirs])


def _echo_step(line: str) -> None:
    click.echo(f"  $ {line}", err=True)


def _report(result: ExecuteResult) -> None:
    click.echo(f"Project:   {result.project_dir}")
    stacks = ", ".join(f"{c.stack} ({c.path}, {c.tool})" for c in result.components) or "none detected"
    click.echo(f"Stacks:    {stacks}")
    for c in result.components:
        for note in c.notes:
            click.echo(f"  note [{c.stack} {c.path}]: {note}")
    click.echo(f"Commands run ({len(result.steps)} build steps):")
    for cmd in result.commands_ran[: len(result.steps)]:
        click.echo(f"  {cmd}")
    if result.post_install_ran:
        click.echo("post_install commands run (allowed):")
        for cmd in result.post_install_ran:
            click.echo(f"  {cmd}")
    if result.post_install_skipped:
        click.echo("post_install commands NOT run (use --allow-commands to run them):")
        for cmd in result.post_install_skipped:
            click.echo(f"  {cmd}")
    click.echo(f"Run:       {result.run_command or '(no run command)'}")
    if result.launcher:
        click.echo(f"Launcher:  {result.launcher}")
    click.echo(f"Build log: {result.log_path}")


def _run_built(
    project: Path, timeout: float | None, plugins: StackPlugins | None, cfg: OrchestratorConfig
) -> int:
    from ..confine import CommandPolicy
    from ..process import TIMEOUT_STATUS
    from ..stack.launcher import run_project

    if plugins:
        plugins.notify("pre_run", project_dir=project)
    policy = CommandPolicy.from_config(cfg)
    rc = run_project(project, timeout=timeout, on_output=click.echo, policy=policy)
    if rc == TIMEOUT_STATUS and timeout is not None:
        click.echo(f"Timed out after {timeout:g}s; the project's process group was killed.", err=True)
    if plugins:
        plugins.notify("post_run", project_dir=project, returncode=rc)
    return rc


def _execute(
    plan_data: Any, out_dir: Path | None, cfg: OrchestratorConfig, plugins: StackPlugins | None, **kw: Any
) -> ExecuteResult:
    from ..stack.runner import execute_plan

    target = out_dir or Path(cfg.stack.output_dir)
    return execute_plan(plan_data, target, cfg=cfg, plugins=plugins, on_step=_echo_step, **kw)


@click.command("execute")
@click.argument("plan_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="output folder"
)
@click.option("--run", "run_after", is_flag=True, help="run the project after building it")
@click.option("--allow-commands", is_flag=True, help="run the plan's post_install commands and npm scripts")
@click.option("--timeout", type=float, default=None, help="with --run: kill the project after S seconds")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@_plugins_opt
@_no_plugins_opt
@_config_opt
def execute_cmd(
    plan_file: Path,
    out_dir: Path | None,
    run_after: bool,
    allow_commands: bool,
    timeout: float | None,
    as_json: bool,
    plugins_dirs: tuple[Path, ...],
    no_plugins: bool,
    config_path: Path | None,
) -> None:
    """Build PLAN_FILE (a JSON build plan; '-' for stdin) into a runnable project."""
    from ..stack.plan import load_plan, parse_plan_text

    cfg = _config(config_path)
    limit = cfg.stack.max_file_bytes
    if str(plan_file) == "-":
        plan = parse_plan_text(sys.stdin.read(), max_file_bytes=limit, source="stdin")
    else:
        plan = load_plan(plan_file, max_file_bytes=limit)
    plugins = _plugins(cfg, plugins_dirs, no_plugins)
    result = _execute(plan, out_dir, cfg, plugins, allow_commands=allow_commands or None)
    if as_json:
        from .common import echo_json

        echo_json(result.to_dict())
    else:
        _report(result)
    if run_after:
        sys.exit(_run_built(result.project_dir, timeout, plugins, cfg))


@click.command("run-project")
@click.argument("project_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--timeout", type=float, default=None, help="kill the project's process group after S seconds")
@_plugins_opt
@_no_plugins_opt
@_config_opt
def run_project_cmd(
    project_dir: Path,
    timeout: float | None,
    plugins_dirs: tuple[Path, ...],
    no_plugins: bool,
    config_path: Path | None,
) -> None:
    """Run a built project (its run.sh), streaming its output; exits with its status (124: timeout)."""
    cfg = _config(config_path)
    plugins = _plugins(cfg, plugins_dirs, no_plugins)
    sys.exit(_run_built(project_dir, timeout, plugins, cfg))


@click.command("generate")
@click.argument("prompt")
@click.option(
    "-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="output folder"
)
@click.option("--allow-commands", is_flag=True, help="run the plan's post_install commands and npm scripts")
@click.option("--run", "run_after", is_flag=True, help="run the project after building it")
@_plugins_opt
@_no_plugins_opt
@_config_opt
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save every model exchange as JSONL.",
)
def generate_cmd(
    prompt: str,
    out_dir: Path | None,
    allow_commands: bool,
    run_after: bool,
    plugins_dirs: tuple[Path, ...],
    no_plugins: bool,
    config_path: Path | None,
    record: Path | None,
) -> None:
    """Ask the manager model for a build plan for PROMPT, validate it, then execute it."""
    from ..llm import LLM, Recorder
    from ..stack.generate import generate_plan_for

    cfg = _config(config_path)
    recorder = Recorder(record) if record else None
    llm = LLM.from_config(cfg, recorder=recorder)
    try:
        plan = generate_plan_for(prompt, cfg, llm)
    finally:
        llm.close()
        if recorder is not None:
            recorder.close()
    plugins = _plugins(cfg, plugins_dirs, no_plugins)
    result = _execute(plan, out_dir, cfg, plugins, allow_commands=allow_commands or None)
    _report(result)
    if run_after:
        sys.exit(_run_built(result.project_dir, None, plugins, cfg))


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True)
@_plugins_opt
@_config_opt
def plugins_cmd(as_json: bool, plugins_dirs: tuple[Path, ...], config_path: Path | None) -> None:
    """List the stack-runner plugins found and the hooks each implements."""
    cfg = _config(config_path)
    mgr = _plugins(cfg, plugins_dirs, False)
    infos = mgr.infos() if mgr else []
    if as_json:
        from .common import echo_json

        echo_json([i.to_dict() for i in infos])
        return
    if not infos:
        click.echo(
            "No plugins (entry-point group claude_orchestrator.plugins, or --plugins-dir / stack.plugins_dir)."
        )
    for info in infos:
        click.echo(f"{info.name}  [{info.source}]")
        click.echo(f"  hooks: {', '.join(info.hooks) or '(none)'}")
