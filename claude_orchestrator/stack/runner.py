"""execute_plan: plugins' pre_execute chain → write files → detect → install/build each component →
post_install (opt-in) → launcher → post_execute. The library API behind `execute` and the build backend."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import OrchestratorConfig
from ..confine import CommandPolicy, Jail
from ..errors import PluginError
from .apply import write_plan
from .builders_interp import build_node, build_python
from .builders_native import BUILDERS_NATIVE
from .context import BuildContext, ComponentBuild
from .detect import STACKS, Component, detect_components
from .launcher import LAUNCHER, render_launcher, write_launcher
from .plan import Plan, parse_plan
from .plugins import StackPlugins
from .proc import StepLog, build_env, run_step

BUILDERS: dict[str, Callable[[BuildContext], ComponentBuild]] = {
    "python": build_python,
    "node": build_node,
    **BUILDERS_NATIVE,
}
META_DIR = ".orchestrator"


@dataclass
class ExecuteResult:
    project_dir: Path
    components: list[ComponentBuild]
    run_command: str | None
    launcher: Path | None
    log_path: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    post_install_ran: list[str] = field(default_factory=list)
    post_install_skipped: list[str] = field(default_factory=list)

    @property
    def stacks(self) -> list[str]:
        return [c.stack for c in self.components]

    @property
    def commands_ran(self) -> list[str]:
        """Every command run, build steps and post_install alike, in order."""
        return [shlex.join(s["argv"]) for s in self.steps] + list(self.post_install_ran)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_dir": str(self.project_dir),
            "stacks": self.stacks,
            "components": [c.to_dict() for c in self.components],
            "run_command": self.run_command,
            "launcher": str(self.launcher) if self.launcher else None,
            "log_path": str(self.log_path),
            "commands_ran": self.commands_ran,
            "post_install_ran": list(self.post_install_ran),
            "post_install_skipped": list(self.post_install_skipped),
        }


def _components(plugins: StackPlugins | None, project: Path, plan: Plan) -> list[Component]:
    files = plan.file_paths()
    override = plugins.detect_stack(project, files) if plugins else None
    if override is None:
        return detect_components(files)
    raw = [{"stack": override, "path": "."}] if isinstance(override, str) else override
    out = []
    for item in raw if isinstance(raw, list) else [raw]:
        stack = item.get("stack") if isinstance(item, dict) else None
        path = str(item.get("path", ".")) if isinstance(item, dict) else "."
        folder = (project / path).resolve()
        if stack not in STACKS or not folder.is_dir() or not folder.is_relative_to(project):
            raise PluginError(
                f"detect_stack returned an unusable component {item!r} (stacks: {', '.join(STACKS)})"
            )
        out.append(Component(str(stack), path, "plugin detect_stack"))
    return out


def _run_post_install(
    plan: Plan, project: Path, log: StepLog, timeout: float, path_dirs: list[Path], jail: Jail | None
) -> list[str]:
    ran = []
    for i, cmd in enumerate(plan.post_install, 1):
        env = build_env(path_prepend=path_dirs)
        # the user opted in to the plan's own shell commands; they run as written, in the project folder
        argv = ["bash", "-c", cmd]
        run_step(f"post_install {i}", argv, cwd=project, log=log, timeout=timeout, env=env, jail=jail)
        ran.append(cmd)
    return ran


def execute_plan(
    plan: Plan | dict[str, Any],
    out_dir: Path | str,
    *,
    cfg: OrchestratorConfig | None = None,
    plugins: StackPlugins | None = None,
    allow_commands: bool | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ExecuteResult:
    """Validate, write, build and make runnable. Raises PlanError/PlanRejected before writing anything,
    BuildError (the folder and its build log are kept) when a step fails.

    Every step runs in the OS sandbox (confine/) with the project folder writable: the builders' install
    and build steps with network (they fetch the plan's declared dependencies), post_install commands with
    network only if ``execution.sandbox_network``. Where the sandbox cannot run, SandboxUnavailableError
    before anything is written (unless ``execution.sandbox`` is "off")."""
    cfg = cfg or OrchestratorConfig()
    policy = CommandPolicy.from_config(cfg)
    policy.check()
    limit = cfg.stack.max_file_bytes
    allow = cfg.stack.allow_commands if allow_commands is None else allow_commands
    plan_obj = plan if isinstance(plan, Plan) else parse_plan(plan, max_file_bytes=limit)
    if plugins:
        plan_obj = parse_plan(
            plugins.pre_execute(plan_obj.to_dict(), lambda d: parse_plan(d, max_file_bytes=limit)),
            max_file_bytes=limit,
        )
    project = write_plan(plan_obj, Path(out_dir))
    step_jail = policy.jail([project], network=True)
    meta = project / META_DIR
    meta.mkdir()
    log = StepLog(meta / "build.log", on_step=on_step)
    log.note(f"project {plan_obj.name!r} in {project}")
    comps = _components(plugins, project, plan_obj)
    log.note("components: " + (", ".join(f"{c.stack} in {c.path} ({c.reason})" for c in comps) or "none"))
    builds: list[ComponentBuild] = []
    for comp in comps:
        folder = project / comp.path
        if plugins:
            plugins.notify("pre_build", stack=comp.stack, folder=folder, plan=plan_obj.to_dict())
        ctx = BuildContext(
            project,
            folder,
            comp.path,
            log,
            cfg.stack.step_timeout,
            allow_commands=allow,
            wants_pip=allow and any("pip" in c for c in plan_obj.post_install),
            jail=step_jail,
        )
        built = BUILDERS[comp.stack](ctx)
        builds.append(built)
        if plugins:
            plugins.notify("post_build", stack=comp.stack, folder=folder, result=built.to_dict())
    path_dirs = [f"{b.path}/{d}" if b.path != "." else d for b in builds for d in b.path_dirs]
    ran: list[str] = []
    skipped: list[str] = []
    if plan_obj.post_install and allow:
        dirs = [project / d for d in path_dirs]
        jail = policy.jail([project])
        ran = _run_post_install(plan_obj, project, log, cfg.stack.step_timeout, dirs, jail)
    elif plan_obj.post_install:
        skipped = list(plan_obj.post_install)
        log.note(f"post_install skipped (not allowed): {skipped}")
    run_command, cd = plan_obj.run, "."
    if run_command is None:
        first = next((b for b in builds if b.run_command), None)
        if first:
            run_command, cd = first.run_command, first.path
    launcher: Path | None = project / LAUNCHER
    if LAUNCHER in plan_obj.file_paths():
        log.note("the plan brings its own run.sh; kept as written")
    else:
        launcher = write_launcher(project, render_launcher(run_command, cd=cd, path_dirs=path_dirs))
    result = ExecuteResult(project, builds, run_command, launcher, log.path, list(log.steps), ran, skipped)
    (meta / "result.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    if plugins:
        plugins.notify("post_execute", plan=plan_obj.to_dict(), result=result.to_dict())
    return result
