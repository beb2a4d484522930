"""Retries: integration's RetryPolicy counts each reason per unit and returns the decision; the scheduler's
AttemptRetries backs off failed worker attempts."""

from __future__ import annotations

from claude_orchestrator.run.retry import AttemptRetries, Reason, RetryPolicy


def test_each_reason_is_counted_per_unit_and_a_decision_returned():
    p = RetryPolicy()
    first = p.decide("1", Reason.REVIEW_FAILED, feedback="add tests", final="review failed twice")
    assert (first.kind, first.feedback) == ("retry", "add tests")
    # another reason, or another unit, has its own count
    conflict = p.decide("1", Reason.CONFLICT, feedback="redo on the new base", final="conflict again")
    no_change = p.decide("1", Reason.NO_CHANGES, feedback="change files", final="no changes, twice")
    other = p.decide("2", Reason.REVIEW_FAILED, feedback="x", final="y")
    assert [d.kind for d in (conflict, no_change, other)] == ["retry", "retry", "retry"]
    second = p.decide("1", Reason.REVIEW_FAILED, feedback="add tests", final="review failed twice")
    assert (second.kind, second.reason) == ("fail", "review failed twice")
    assert p.count("1", Reason.REVIEW_FAILED) == 2 and p.count("1", Reason.CONFLICT) == 1
    assert p.count("3", Reason.CONFLICT) == 0


def test_feedback_is_only_computed_when_another_attempt_is_allowed():
    p = RetryPolicy({Reason.CONFLICT: 2})
    resets: list[int] = []

    def redo() -> str:
        resets.append(1)
        return f"redo {len(resets)}"

    decisions = [p.decide("1", Reason.CONFLICT, feedback=redo, final="gave up") for _ in range(3)]
    assert [(d.kind, d.feedback, d.reason) for d in decisions] == [
        ("retry", "redo 1", None),
        ("retry", "redo 2", None),
        ("fail", None, "gave up"),
    ]
    assert len(resets) == 2


def test_failed_attempts_back_off_exponentially_then_fail():
    r = AttemptRetries(max_retries=3, backoff_s=0.5)
    assert [r.after_failure("1") for _ in range(4)] == [0.5, 1.0, 2.0, None]
    assert r.after_failure("2") == 0.5
    assert AttemptRetries(max_retries=0, backoff_s=1.0).after_failure("1") is None
