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
from flowtrail.errors import InvalidTag, NamespaceMismatch, NotFound
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
        lambda: Flow("UpstreamFlow"),  # only bob ran it
        lambda: Flowtrail()["UpstreamFlow"],
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
    assert "TrainFlow" not in Flowtrail()


def test_a_flow_is_in_a_namespace_when_one_of_its_runs_is(history: History) -> None:
    # As in Metaflow: a flow without a run in the namespace cannot be instantiated, by name
    # or from Flowtrail(); a flow that does not exist is NotFound first.
    namespace("user:other")
    expected = (
        "Flow('TrainFlow') is not in the current namespace 'user:other' (none of its runs is "
        "tagged 'user:other'); call namespace(None) to see every run, "
        "namespace('user:<name>') for another user's runs, or pass _namespace_check=False"
    )
    for make in (lambda: Flow("TrainFlow"), lambda: Flowtrail()["TrainFlow"]):
        with pytest.raises(NamespaceMismatch) as caught:
            make()
        assert caught.value.message == expected
        assert caught.value.details == {"pathspec": "TrainFlow", "namespace": "user:other"}
    with pytest.raises(NotFound):
        Flow("NoSuchFlow")
    # Skipping the check reads the flow, showing the namespace's runs: none.
    outside = Flow("TrainFlow", _namespace_check=False)
    assert outside.latest_run is None
    assert list(outside) == []
    # A flow reached from one of its runs is not checked again.
    assert Run("TrainFlow/3", _namespace_check=False).parent == outside
    namespace("user:bob")  # bob ran TrainFlow/3: the flow is in his namespace
    assert Flow("TrainFlow").latest_run == Run("TrainFlow/3")
    assert Flow("UpstreamFlow").latest_run == Run("UpstreamFlow/1")


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
