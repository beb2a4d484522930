"""The scripted model behind `claude-orchestrator demo`: plans the demo PRD as the manager, writes each
task's files as a worker (through Claude Code's Write tool or the api backend's write_file), and reviews.

It routes on request content, never on request order, so it serves the real Claude Code CLI (which also
sends its own side requests) as well as our own tool loop."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from .fake_anthropic import FakeRequest, Reply, json_reply, text_reply, tool_use_reply

PLAN: list[dict[str, Any]] = [
    {
        "id": 1,
        "title": "Create the wordfreq package",
        "priority": "high",
        "dependencies": [],
        "description": "Package skeleton with a version string and the public API.",
        "details": "Create wordfreq/__init__.py exporting tokenize and top_words lazily.",
        "testStrategy": "import wordfreq; check __version__.",
        "acceptanceCriteria": ["wordfreq/__init__.py defines __version__"],
        "relevantFiles": ["wordfreq/__init__.py"],
    },
    {
        "id": 2,
        "title": "Tokenizer",
        "priority": "high",
        "dependencies": [1],
        "description": "tokenize(text) returns lower-cased words in order.",
        "details": "Regex over letters, digits and apostrophes.",
        "testStrategy": "tokenize(\"It's a Test\") == [\"it's\", 'a', 'test']",
        "acceptanceCriteria": ["tokenize lower-cases", "apostrophes are kept inside words"],
        "relevantFiles": ["wordfreq/tokenize.py"],
    },
    {
        "id": 3,
        "title": "Word counter",
        "priority": "high",
        "dependencies": [2],
        "description": "top_words(text, n, exclude) with alphabetical tie-breaks.",
        "details": "collections.Counter over tokenize(); sort by (-count, word).",
        "testStrategy": "Counts and ties on a small text.",
        "acceptanceCriteria": ["ties are broken alphabetically", "exclude= removes words"],
        "relevantFiles": ["wordfreq/counter.py"],
    },
    {
        "id": 4,
        "title": "Command line",
        "priority": "medium",
        "dependencies": [3],
        "description": "python -m wordfreq.cli FILE [-n N] prints `word count` lines.",
        "details": "argparse; read the file as UTF-8.",
        "testStrategy": "Run main() on a temp file and check its output.",
        "acceptanceCriteria": ["-n limits the number of lines"],
        "relevantFiles": ["wordfreq/cli.py"],
    },
    {
        "id": 5,
        "title": "Tests",
        "priority": "medium",
        "dependencies": [3],
        "description": "pytest tests for tokenizing, counting and ties.",
        "details": "tests/test_wordfreq.py",
        "testStrategy": "pytest passes.",
        "acceptanceCriteria": ["covers ties"],
        "relevantFiles": ["tests/test_wordfreq.py"],
    },
    {
        "id": 6,
        "title": "Usage document",
        "priority": "low",
        "dependencies": [],
        "description": "A short USAGE.md with library and command examples.",
        "details": "Markdown.",
        "testStrategy": "Read it.",
        "acceptanceCriteria": ["shows the command"],
        "relevantFiles": ["USAGE.md"],
    },
]

FILES: dict[int, tuple[str, str]] = {
    1: (
        "wordfreq/__init__.py",
        '"""wordfreq: the most frequent words of a text."""\n\n'
        '__version__ = "0.1.0"\n\nfrom .counter import top_words\nfrom .tokenize import tokenize\n\n'
        '__all__ = ["__version__", "tokenize", "top_words"]\n',
    ),
    2: (
        "wordfreq/tokenize.py",
        'import re\n\n_WORD = re.compile(r"[a-z0-9\']+")\n\n\n'
        "def tokenize(text: str) -> list[str]:\n    return _WORD.findall(text.lower())\n",
    ),
    3: (
        "wordfreq/counter.py",
        "from collections import Counter\n\nfrom .tokenize import tokenize\n\n\n"
        "def top_words(text: str, n: int = 10, exclude: frozenset[str] = frozenset()) -> list[tuple[str, int]]:\n"
        "    counts = Counter(w for w in tokenize(text) if w not in exclude)\n"
        "    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]\n",
    ),
    4: (
        "wordfreq/cli.py",
        "import argparse\n\nfrom .counter import top_words\n\n\n"
        "def main(argv: list[str] | None = None) -> int:\n"
        "    p = argparse.ArgumentParser(prog='wordfreq')\n    p.add_argument('file')\n"
        "    p.add_argument('-n', type=int, default=10)\n    a = p.parse_args(argv)\n"
        "    with open(a.file, encoding='utf-8') as f:\n        text = f.read()\n"
        "    for word, count in top_words(text, a.n):\n        print(word, count)\n    return 0\n\n\n"
        "if __name__ == '__main__':\n    raise SystemExit(main())\n",
    ),
    5: (
        "tests/test_wordfreq.py",
        "from wordfreq import tokenize, top_words\n\n\n"
        "def test_tokenize():\n    assert tokenize(\"It's a Test\") == [\"it's\", 'a', 'test']\n\n\n"
        "def test_ties_alphabetical():\n    assert top_words('b a b a c', 2) == [('a', 2), ('b', 2)]\n",
    ),
    6: (
        "USAGE.md",
        "# wordfreq\n\n```python\nfrom wordfreq import top_words\n"
        "top_words(open('book.txt').read(), 5)\n```\n\n```bash\npython -m wordfreq.cli book.txt -n 5\n```\n",
    ),
}


# The checks the manager writes for each task (metadata.verify): the run executes them in the task's worktree.
VERIFY: dict[int, list[list[str]]] = {
    1: [["python3", "-m", "py_compile", "wordfreq/__init__.py"]],
    2: [
        [
            "python3",
            "-c",
            "import importlib.util as u; s = u.spec_from_file_location('t', 'wordfreq/tokenize.py'); "
            "m = u.module_from_spec(s); s.loader.exec_module(m); "
            "assert m.tokenize(\"It's a Test\") == [\"it's\", 'a', 'test']",
        ]
    ],
    3: [
        [
            "python3",
            "-c",
            "from wordfreq import top_words; assert top_words('b a b a c', 2) == [('a', 2), ('b', 2)]",
        ]
    ],
    4: [["python3", "-m", "wordfreq.cli", "--help"]],
    5: [["python3", "-c", "import tests.test_wordfreq as t; t.test_tokenize(); t.test_ties_alphabetical()"]],
    6: [],
}


def demo_prd() -> str:
    return (resources.files("claude_orchestrator") / "testing" / "demo_prd.txt").read_text(encoding="utf-8")


def request_text(req: FakeRequest) -> str:
    parts = [req.system_text]
    for m in req.messages:
        c = m.get("content")
        if isinstance(c, str):
            parts.append(c)
        elif isinstance(c, list):
            parts += [str(b.get("text", "")) for b in c if isinstance(b, dict)]
    return "\n".join(parts)


_TASK = re.compile(r"^# Task (\d+(?:\.\d+)?):", re.MULTILINE)  # the worker prompt's heading
_CWD = re.compile(r"(?:[Ww]orking directory|cwd)\s*[:=]\s*`?(/[^\s`'\"]+)")


_NEXT_SUB = re.compile(r"Number the subtasks from (\d+)")
_REQUEST = re.compile(r"Request:\s*\n(.+?)\n\s*\nReturn", re.DOTALL)


def _files_for(unit: str) -> tuple[str, str]:
    if unit.isdigit() and int(unit) in FILES:
        return FILES[int(unit)]
    slug = unit.replace(".", "-")
    return f"notes/task-{slug}.md", f"# Task {unit}\n\nDone by the demo worker.\n"


def _expand_answer(system: str) -> dict[str, Any]:
    first = int(m.group(1)) if (m := _NEXT_SUB.search(system)) else 1
    step = {"status": "pending"}
    return {
        "subtasks": [
            {
                "id": first,
                "title": "Prepare the groundwork",
                "description": "Lay out what the task needs.",
                "dependencies": [],
                "details": "Create the files and stubs the task needs.",
                "testStrategy": "Files exist.",
                **step,
            },
            {
                "id": first + 1,
                "title": "Finish the work",
                "description": "Complete and verify the task.",
                "dependencies": [first],
                "details": "Implement the rest and run the checks.",
                "testStrategy": "Checks pass.",
                **step,
            },
        ]
    }


def _complexity_answer(user: str) -> dict[str, Any]:
    items = []
    for line in user.splitlines():
        if line.startswith("{") and '"id"' in line:
            t = json.loads(line)
            items.append(
                {
                    "taskId": t["id"],
                    "taskTitle": t.get("title", ""),
                    "complexityScore": 4,
                    "recommendedSubtasks": 2,
                    "expansionPrompt": "Split setup from the rest.",
                    "reasoning": "Small and well understood.",
                }
            )
    return {"complexityAnalysis": items}


def _manager_answer(system: str, req: FakeRequest) -> Reply | None:
    """Answers for the manager's prompts (prompts/*.md), recognised by their system text."""
    user = req.last_user_text
    if "planning manager" in system and "requirements document" in system:
        return json_reply({"tasks": [{**t, "verify": VERIFY[t["id"]]} for t in PLAN]})
    if "reviewing manager" in system:
        return json_reply({"verdict": "pass", "issues": [], "follow_ups": []})
    if "asks for new work to be added" in system:
        m = _REQUEST.search(user)
        request = " ".join((m.group(1) if m else "New work").split())
        return json_reply(
            {
                "tasks": [
                    {
                        "id": 1,
                        "title": request[:80],
                        "description": request,
                        "details": "As requested.",
                        "testStrategy": "Check the result.",
                        "priority": "medium",
                        "dependencies": [],
                        "existingDependencies": [],
                        "acceptanceCriteria": ["the request is met"],
                        "relevantFiles": [],
                    }
                ]
            }
        )
    if "Break one task into" in system:
        return json_reply(_expand_answer(system))
    if "Score how complex" in system:
        return json_reply(_complexity_answer(user))
    if "You write build plans" in system:
        return json_reply(
            {
                "name": "hello-demo",
                "description": "prints a greeting",
                "files": [{"filename": "main.py", "code": "print('hello from a generated plan')\n"}],
                "post_install": [],
                "run": "python3 main.py",
            }
        )
    return None


def demo_model(req: FakeRequest) -> Reply:
    system = req.system_text
    text = request_text(req)
    answer = _manager_answer(system, req)
    if answer is not None:
        return answer
    match = _TASK.search(text)
    if match and (req.has_tool("Write") or req.has_tool("write_file")):
        unit = match.group(1)
        path, content = _files_for(unit)
        if req.tool_results:
            return text_reply(f"Task {unit} done: wrote {path}.")
        if req.has_tool("write_file"):
            return tool_use_reply("write_file", {"path": path, "content": content})
        cwd = _CWD.search(text)
        base = cwd.group(1).rstrip("/") if cwd else "."
        return tool_use_reply("Write", {"file_path": f"{base}/{path}", "content": content})
    return text_reply("OK.")
