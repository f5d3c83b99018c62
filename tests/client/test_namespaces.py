"""Namespaces: the default is ``user:<current user>``; objects outside the namespace cannot
be instantiated; ``namespace(None)`` sees everything."""

from __future__ import annotations

import getpass

import pytest

from flowtrail.client import (
    DataArtifact,
    Flow,
    Flowtrail,
    Run,
    Step,
    Task,
    default_namespace,
    get_namespace,
    namespace,
)
from flowtrail.errors import InvalidTag, NamespaceMismatch
from tests.client.conftest import History


def test_the_default_namespace_is_the_current_user() -> None:
    assert default_namespace() == f"user:{getpass.getuser()}"
    assert get_namespace() == f"user:{getpass.getuser()}"
    assert namespace("team:ml") == "team:ml"
    assert get_namespace() == "team:ml"
    assert namespace(None) is None
    assert get_namespace() is None
    assert default_namespace() == f"user:{getpass.getuser()}"


def test_a_namespace_is_a_tag() -> None:
    with pytest.raises(InvalidTag):
        namespace("")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Run("TrainFlow/3"),
        lambda: Step("TrainFlow/3/start"),
        lambda: Task("TrainFlow/3/start/1"),
        lambda: DataArtifact("TrainFlow/3/start/1/alphas"),
        lambda: Flow("TrainFlow")["3"],
    ],
)
def test_objects_outside_the_namespace_cannot_be_instantiated(
    history: History, make: object
) -> None:
    with pytest.raises(NamespaceMismatch, match=r"namespace\(None\)") as caught:
        make()  # type: ignore[operator]
    assert "user:alice" in str(caught.value)


def test_namespace_none_sees_everything(history: History) -> None:
    namespace(None)
    assert [f.id for f in Flowtrail()] == ["TrainFlow", "UpstreamFlow"]
    assert [r.id for r in Flow("TrainFlow")] == ["5", "4", "3", "2", "1"]
    assert Run("TrainFlow/3").user == "bob"
    assert "3" in Flow("TrainFlow")


def test_another_namespace(history: History) -> None:
    namespace("user:bob")
    assert [f.id for f in Flowtrail()] == ["TrainFlow", "UpstreamFlow"]
    assert [r.id for r in Flow("TrainFlow")] == ["3"]
    assert Flow("TrainFlow").latest_run == Run("TrainFlow/3")
    namespace("team:ml")  # any tag is a namespace
    assert [r.id for r in Flow("TrainFlow")] == ["2", "1"]
    namespace("nobody")
    assert Flowtrail().flows == []
    assert Flow("TrainFlow").latest_run is None  # a flow exists in every namespace


def test_namespace_check_can_be_skipped(history: History) -> None:
    run = Run("TrainFlow/3", _namespace_check=False)
    assert run.user == "bob"
    assert Task("TrainFlow/3/end/6", _namespace_check=False).data.accuracy == 0.97


def test_objects_keep_the_namespace_they_were_created_in(history: History) -> None:
    flow = Flow("TrainFlow")
    namespace(None)
    assert [r.id for r in flow] == ["5", "4", "2", "1"]  # still alice's view
    assert [r.id for r in Flow("TrainFlow")] == ["5", "4", "3", "2", "1"]
    everything = Flow("TrainFlow")
    namespace("user:alice")
    assert everything["3"].user == "bob"
