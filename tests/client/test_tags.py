"""Run tags through the client: the reference's rules, persistence, visibility to every
reader at once, and no effect on a run's place in the order."""

from __future__ import annotations

import pytest

from flowtrail.client import Flow, Run, Step, Task
from flowtrail.errors import InvalidTag
from tests.client.conftest import History


def test_add_and_remove_tags(any_history: History) -> None:
    run = Run("TrainFlow/1")
    created = run.created_at
    run.add_tag("reviewed")
    run.add_tags(["a", "b"])
    assert run.user_tags == {"team:ml", "reviewed", "a", "b"}
    run.remove_tag("a")
    run.remove_tags(["b", "never-there"])  # an absent user tag is a no-op
    assert run.user_tags == {"team:ml", "reviewed"}
    # Another reader, created afterwards, sees the change; so does one created before.
    assert Run("TrainFlow/1").user_tags == {"team:ml", "reviewed"}
    assert Run("TrainFlow/1").created_at == created


def test_tags_are_read_again_by_objects_created_before_a_change(history: History) -> None:
    reader = Run("TrainFlow/1")
    step, task = Step("TrainFlow/1/end"), Task("TrainFlow/1/end/6")
    assert "late" not in reader.tags
    Run("TrainFlow/1").add_tag("late")
    assert "late" in reader.tags
    assert "late" in step.tags
    assert "late" in task.user_tags
    assert "late" in task["accuracy"].tags


def test_adding_a_system_tag_the_run_has_is_a_silent_no_op(history: History) -> None:
    run = Run("TrainFlow/1")
    before = run.tags
    run.add_tag("user:alice")
    run.add_tags(["runtime:local", "extra"])
    assert run.tags == before | {"extra"}
    assert "user:alice" not in run.user_tags


def test_adding_a_tag_with_a_system_prefix_is_refused(history: History) -> None:
    with pytest.raises(InvalidTag, match="reserved"):
        Run("TrainFlow/1").add_tag("user:mallory")


def test_removing_a_system_tag_is_an_error(history: History) -> None:
    run = Run("TrainFlow/1")
    with pytest.raises(InvalidTag, match="system tag"):
        run.remove_tag("user:alice")
    with pytest.raises(InvalidTag):
        run.remove_tags(["team:ml", "runtime:local"])
    assert "team:ml" in run.user_tags  # nothing was removed
    assert "user:alice" in run.system_tags


def test_replace_removes_first_and_is_atomic(history: History) -> None:
    run = Run("TrainFlow/1")
    run.replace_tag("team:ml", "team:data")
    assert run.user_tags == {"team:data"}
    run.replace_tags(["team:data"], ["team:data", "x"])  # removed first, then added again
    assert run.user_tags == {"team:data", "x"}
    with pytest.raises(InvalidTag):
        run.replace_tags(["x"], ["user:mallory"])
    assert run.user_tags == {"team:data", "x"}  # the failed change left nothing half-done
    with pytest.raises(InvalidTag):
        run.replace_tag("user:alice", "y")
    assert Run("TrainFlow/1").user_tags == {"team:data", "x"}


def test_a_single_string_is_not_a_collection_of_tags(history: History) -> None:
    with pytest.raises(InvalidTag, match=r"\['prod'\]"):
        Run("TrainFlow/1").add_tags("prod")


def test_tag_changes_never_move_a_run(history: History) -> None:
    flow = Flow("TrainFlow")
    order = [r.id for r in flow]
    Run("TrainFlow/1").add_tag("prod")
    assert [r.id for r in flow] == order
    assert flow.latest_run == Run("TrainFlow/5")
    assert [r.id for r in flow.runs("prod")] == ["2", "1"]
