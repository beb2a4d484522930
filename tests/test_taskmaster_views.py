"""`list --ready / --blocking / --all-tags / -c / --watch`, `show -s`: what task-master-ai's new core shows."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
from tm_helpers import clean_env, make_project, ours_bin, run_ours, sub, task


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "p",
        [
            task(1, "done"),
            task(2, deps=[1], subtasks=[sub(1, "done"), sub(2)]),
            task(3, deps=[2]),
            task(4, "cancelled"),
            task(5, deps=[4, "2.1"]),
            task(6, "deferred"),
            task(7, "review", deps=[1]),
        ],
        other=[task(1), task(2, deps=[1])],
    )


def ids(args: list[str], root: Path) -> list[str]:
    return [t["id"] for t in json.loads(run_ours([*args, "--json"], root).stdout)["tasks"]]


def test_ready_and_blocking(proj: Path) -> None:
    # ready: pending/in-progress/review with every dependency done or cancelled (a "P.S" one: that subtask)
    assert ids(["list", "--ready"], proj) == ["2", "5", "7"]
    assert ids(["list", "--blocking"], proj) == ["1", "2", "4"]
    assert ids(["list", "--ready", "--blocking"], proj) == ["2"]
    # the status filter applies after --ready (which needs every task to decide)
    assert ids(["list", "--ready", "-s", "review"], proj) == ["7"]


def test_blocks_over_the_shown_set(proj: Path) -> None:
    shown = json.loads(run_ours(["list", "-s", "done,pending", "--json"], proj).stdout)
    blocks = {t["id"]: t["blocks"] for t in shown["tasks"]}
    assert blocks == {"1": ["2"], "2": ["3"], "3": [], "5": []}  # 7 (review) is not shown, so 1 blocks only 2
    every = json.loads(run_ours(["list", "--json"], proj).stdout)
    assert {t["id"]: t["blocks"] for t in every["tasks"]}["1"] == ["2", "7"]


def test_all_tags_and_compact(proj: Path) -> None:
    out = json.loads(run_ours(["list", "--all-tags", "--ready", "--json"], proj).stdout)
    assert [(t["tagName"], t["id"]) for t in out["tasks"]] == [
        ("master", "2"),
        ("master", "5"),
        ("master", "7"),
        ("other", "1"),
    ]
    assert out["metadata"]["tag"] == "all" and out["metadata"]["allTags"] is True
    lines = run_ours(["list", "-c", "--with-subtasks"], proj).stdout.splitlines()
    assert "2 ○ Task 2" in lines and "  1 ✓ Sub 1" in lines


def test_show_status_filters_subtasks(proj: Path) -> None:
    out = run_ours(["show", "2", "-s", "pending"], proj).stdout
    assert "2.2" in out and "2.1" not in out


def test_watch_redraws_on_change(proj: Path) -> None:
    proc = subprocess.Popen(
        [ours_bin(), "list", "--watch", "-c"], cwd=proj, stdout=subprocess.PIPE, text=True, env=clean_env()
    )
    assert proc.stdout is not None
    frames: list[str] = []
    first, seen = threading.Event(), threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            frames.append(line)
            if "Watching" in line:
                first.set()
                if any("3 ✓ Task 3" in f for f in frames):
                    seen.set()  # the whole second frame is in

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first.wait(30), "".join(frames)
        run_ours(["set-status", "--id=3", "--status=done"], proj)
        assert seen.wait(30), "".join(frames)
    finally:
        proc.terminate()
        proc.wait(10)
    assert "".join(frames).count("Watching") == 2


def test_list_json_keeps_metadata_and_merges_the_complexity_report(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        [
            task(1, metadata={"owner": "me"}, relevantFiles=["a.py"], assignee="ann"),
            task(2, complexity=3, recommendedSubtasks=1),
        ],
    )
    report = root / ".taskmaster" / "reports" / "task-complexity-report.json"
    report.write_text(
        json.dumps(
            {
                "meta": {"thresholdScore": 5},
                "complexityAnalysis": [
                    {
                        "taskId": 2,
                        "complexityScore": 8,
                        "recommendedSubtasks": 4,
                        "expansionPrompt": "split",
                        "reasoning": "r",
                    }
                ],
            }
        )
    )
    t1, t2 = json.loads(run_ours(["list", "--json"], root).stdout)["tasks"]
    assert t1["metadata"] == {"owner": "me"} and t1["assignee"] == "ann" and "relevantFiles" not in t1
    # the report wins over the task's own fields; its `reasoning` is not merged (the original reads
    # `complexityReasoning`, which analyze-complexity never writes)
    assert (t2["complexity"], t2["recommendedSubtasks"], t2["expansionPrompt"]) == (8, 4, "split")
    assert "complexityReasoning" not in t2
    assert list(t2)[-1] == "blocks"
    shown = json.loads(run_ours(["show", "2", "--json"], root).stdout)["task"]
    assert (shown["complexity"], shown["expansionPrompt"]) == (8, "split")
