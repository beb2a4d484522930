"""Stack-runner plugins (pluggy): hook specs, a manager that chains transforms and lets vetoes through.

Write a plugin as a module (or object) with functions marked ``@hookimpl``::

    from claude_orchestrator.stack.plugins import hookimpl

    @hookimpl
    def pre_execute(plan):
        return {**plan, "run": "python main.py"}   # or None to leave it; raise PlanRejected to veto

Plugins come from the entry-point group ``claude_orchestrator.plugins`` and from ``*.py`` files in a
plugins folder (config ``stack.plugins_dir`` or ``--plugins-dir``). A hook that raises stops the work:
PlanRejected keeps its reason; anything else becomes PluginError naming the plugin and hook.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from ..errors import OrchestratorError, PluginError

PROJECT = "claude_orchestrator"
ENTRY_POINT_GROUP = "claude_orchestrator.plugins"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class StackHookSpecs:
    """The hooks a plugin may implement (any subset; arguments may be omitted from the signature)."""

    @hookspec
    def pre_execute(self, plan: dict[str, Any]) -> dict[str, Any] | None:
        """Before anything is written. Return a changed plan (the next plugin sees it), or None.
        Raise PlanRejected(reason) to veto the plan."""

    @hookspec
    def post_execute(self, plan: dict[str, Any], result: dict[str, Any]) -> None:
        """After the project is written and built (result: folder, stacks, run_command, log...)."""

    @hookspec
    def pre_build(self, stack: str, folder: Path, plan: dict[str, Any]) -> None:
        """Before one component (a stack in a folder) is installed and built."""

    @hookspec
    def post_build(self, stack: str, folder: Path, result: dict[str, Any]) -> None:
        """After one component is built."""

    @hookspec
    def pre_run(self, project_dir: Path) -> None:
        """Before a built project's launcher runs. Raise PlanRejected to refuse the run."""

    @hookspec
    def post_run(self, project_dir: Path, returncode: int) -> None:
        """After the launcher exits (124 on timeout)."""

    @hookspec(firstresult=True)
    def detect_stack(self, project_dir: Path, files: list[str]) -> list[dict[str, str]] | str | None:
        """Override detection: a stack name for the whole project, or [{"stack", "path"}, ...]."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str
    hooks: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "hooks": list(self.hooks)}


class StackPlugins:
    """A pluggy manager plus the chaining/veto rules of the stack runner."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(StackHookSpecs)
        self._sources: dict[str, str] = {}

    # ------------------------------------------------------------ registration
    def register(self, plugin: object, name: str | None = None, source: str = "code") -> str:
        name = name or str(getattr(plugin, "PLUGIN_NAME", "") or getattr(plugin, "__name__", "")) or None
        if self.pm.is_registered(plugin):
            return self.pm.get_name(plugin) or str(name)
        existing = self.pm.get_plugin(name) if name else None
        if existing is not None:
            same_file = getattr(existing, "__file__", None) and getattr(
                existing, "__file__", None
            ) == getattr(plugin, "__file__", None)
            if same_file:
                return str(name)  # the same plugin found twice: register it once
            raise PluginError(f"two plugins are named {name!r} ({self._sources.get(str(name))} and {source})")
        try:
            registered = self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as e:
            raise PluginError(f"plugin {name or plugin!r} from {source}: {e}") from None
        final = registered or name or repr(plugin)
        self._sources[final] = source
        return final

    def load_entry_points(self) -> list[str]:
        names = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
            except Exception as e:
                raise PluginError(f"plugin entry point {ep.name!r} failed to load: {e}") from None
            names.append(self.register(obj, name=ep.name, source=f"entry point {ep.value}"))
        return names

    def load_dir(self, folder: Path | str) -> list[str]:
        """Import every *.py file (not starting with '_') of `folder` as a plugin."""
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise PluginError(f"plugins folder {folder} does not exist")
        names = []
        for file in sorted(folder.glob("*.py")):
            if file.name.startswith("_"):
                continue
            mod_name = f"claude_orchestrator_plugin_{file.stem}"
            spec = importlib.util.spec_from_file_location(mod_name, file)
            if spec is None or spec.loader is None:
                raise PluginError(f"cannot import plugin file {file}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as e:
                sys.modules.pop(mod_name, None)
                raise PluginError(f"plugin file {file} failed to import: {type(e).__name__}: {e}") from None
            name = str(getattr(module, "PLUGIN_NAME", "") or file.stem)
            names.append(self.register(module, name=name, source=str(file)))
        return names

    def infos(self) -> list[PluginInfo]:
        out = []
        for name, plugin in self.pm.list_name_plugin():
            callers = self.pm.get_hookcallers(plugin) or []
            out.append(
                PluginInfo(name, self._sources.get(name, "code"), tuple(sorted(c.name for c in callers)))
            )
        return out

    # ------------------------------------------------------------ calling
    def _impls(self, hook: str) -> list[Any]:
        """Call order: tryfirst, then the others in the order they were loaded, then trylast."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        first = [i for i in impls if i.tryfirst]
        last = [i for i in impls if i.trylast]
        return first + [i for i in impls if not i.tryfirst and not i.trylast] + last

    def _call(self, impl: Any, hook: str, kwargs: dict[str, Any]) -> Any:
        args = {k: kwargs[k] for k in impl.argnames if k in kwargs}
        try:
            return impl.function(**args)
        except OrchestratorError:
            raise  # PlanRejected and friends keep their meaning
        except Exception as e:
            raise PluginError(f"plugin {impl.plugin_name!r} failed in {hook}: {type(e).__name__}: {e}") from e

    def pre_execute(self, plan: dict[str, Any], validate: Any) -> dict[str, Any]:
        """Chain the plan through every pre_execute; each returned plan is re-validated by `validate`."""
        for impl in self._impls("pre_execute"):
            changed = self._call(impl, "pre_execute", {"plan": plan})
            if changed is not None:
                plan = validate(changed).to_dict()
        return plan

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call every implementation of a notification hook in order; errors stop the work."""
        for impl in self._impls(hook):
            self._call(impl, hook, kwargs)

    def detect_stack(self, project_dir: Path, files: list[str]) -> Any:
        for impl in self._impls("detect_stack"):
            result = self._call(impl, "detect_stack", {"project_dir": project_dir, "files": files})
            if result is not None:
                return result
        return None


def load_plugins(
    plugins_dirs: Iterable[Path | str] = (), *, entry_points_too: bool = True, extra: Iterable[object] = ()
) -> StackPlugins:
    """A manager with entry-point plugins, the plugins of each folder, and `extra` objects."""
    mgr = StackPlugins()
    if entry_points_too:
        mgr.load_entry_points()
    for d in plugins_dirs:
        mgr.load_dir(d)
    for obj in extra:
        mgr.register(obj)
    return mgr
