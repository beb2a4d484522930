"""What `task-master init` writes into .taskmaster/ (task-master-ai 0.43.1, observed verbatim)."""

from __future__ import annotations

import copy
from typing import Any

_CONFIG: dict[str, Any] = {
    "models": {
        "main": {
            "provider": "anthropic",
            "modelId": "claude-sonnet-4-20250514",
            "maxTokens": 64000,
            "temperature": 0.2,
        },
        "research": {"provider": "perplexity", "modelId": "sonar", "maxTokens": 8700, "temperature": 0.1},
        "fallback": {
            "provider": "anthropic",
            "modelId": "claude-3-7-sonnet-20250219",
            "maxTokens": 120000,
            "temperature": 0.2,
        },
    },
    "global": {
        "logLevel": "info",
        "debug": False,
        "defaultNumTasks": 10,
        "defaultSubtasks": 5,
        "defaultPriority": "medium",
        "projectName": "Task Master",
        "ollamaBaseURL": "http://localhost:11434/api",
        "bedrockBaseURL": "https://bedrock.us-east-1.amazonaws.com",
        "responseLanguage": "English",
        "enableCodebaseAnalysis": True,
        "enableProxy": False,
        "anonymousTelemetry": True,
    },
    "claudeCode": {},
    "codexCli": {},
    "grokCli": {"timeout": 120000, "workingDirectory": None, "defaultModel": "grok-4-latest"},
}


def default_config(project_name: str | None = None) -> dict[str, Any]:
    cfg = copy.deepcopy(_CONFIG)
    if project_name:
        cfg["global"]["projectName"] = project_name
    return cfg


EXAMPLE_PRD = """<context>
# Overview\x20\x20
[Provide a high-level overview of your product here. Explain what problem it solves, who it's for, and why it's valuable.]

# Core Features\x20\x20
[List and describe the main features of your product. For each feature, include:
- What it does
- Why it's important
- How it works at a high level]

# User Experience\x20\x20
[Describe the user journey and experience. Include:
- User personas
- Key user flows
- UI/UX considerations]
</context>
<PRD>
# Technical Architecture\x20\x20
[Outline the technical implementation details:
- System components
- Data models
- APIs and integrations
- Infrastructure requirements]

# Development Roadmap\x20\x20
[Break down the development process into phases:
- MVP requirements
- Future enhancements
- Do not think about timelines whatsoever -- all that matters is scope and detailing exactly what needs to be build in each phase so it can later be cut up into tasks]

# Logical Dependency Chain
[Define the logical order of development:
- Which features need to be built first (foundation)
- Getting as quickly as possible to something usable/visible front end that works
- Properly pacing and scoping each feature so it is atomic but can also be built upon and improved as development approaches]

# Risks and Mitigations\x20\x20
[Identify potential risks and how they'll be addressed:
- Technical challenges
- Figuring out the MVP that we can build upon
- Resource constraints]

# Appendix\x20\x20
[Include any additional information:
- Research findings
- Technical specifications]
</PRD>"""
