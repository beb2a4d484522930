"""Skill packs for workers: Claude Code skills (`.claude/skills/<name>/SKILL.md`) in a project, validated,
installed from a folder or a pack, scaffolded (`claude-orchestrator skills list|install|new`)."""

from __future__ import annotations

from .packs import Skill, install, list_skills, new, present, read_skill

__all__ = ["Skill", "install", "list_skills", "new", "present", "read_skill"]
