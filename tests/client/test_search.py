"""Run search and tag counts through the client: ``runs(where=..., order_by=...)`` and
``tags(prefix=...)`` of a flow and of every flow, within the namespace."""

from __future__ import annotations

import pytest

from flowtrail.client import Flow, Flowtrail, namespace
from flowtrail.errors import InvalidArgument, InvalidQuery
from tests.client.conftest import History


def test_flow_tags_count_the_runs_of_the_namespace(any_history: History) -> None:
    tags = Flow("TrainFlow").tags()  # in alice's namespace: TrainFlow/3 is bob's
    assert list(tags) == sorted(tags)
    assert tags["team:ml"] == 2
    assert tags["prod"] == 1
    assert tags["user:alice"] == 4
    assert "user:bob" not in tags
    assert tags["runtime:local"] == 4
    assert Flow("TrainFlow").tags(prefix="team:") == {"team:ml": 2}
    assert Flow("TrainFlow").tags(prefix="nothing") == {}
    namespace(None)
    everyone = Flow("TrainFlow").tags()
    assert everyone["user:bob"] == 1
    assert everyone["runtime:local"] == 5


def test_tags_of_every_flow(any_history: History) -> None:
    assert Flowtrail().tags(prefix="user:") == {"user:alice": 4}
    namespace("user:bob")
    assert Flowtrail().tags(prefix="user:") == {"user:bob": 2}
    namespace(None)
    assert Flowtrail().tags(prefix="user:") == {"user:alice": 4, "user:bob": 2}


def test_tag_counts_follow_tag_changes(history: History) -> None:
    flow = Flow("TrainFlow")
    flow["1"].add_tag("prod")
    assert flow.tags(prefix="prod") == {"prod": 2}
    flow["1"].remove_tag("prod")
    assert flow.tags(prefix="prod") == {"prod": 1}


def test_runs_where(any_history: History) -> None:
    flow = Flow("TrainFlow")
    assert [r.id for r in flow.runs(where="status = 'failed'")] == ["5"]
    assert [r.id for r in flow.runs(where="tag = 'prod' or tag = 'team:ml'")] == ["2", "1"]
    assert [r.id for r in flow.runs("team:ml", where="tag = 'prod'")] == ["2"]
    assert [r.id for r in flow.runs(where="user = 'bob'")] == []  # outside the namespace
    namespace(None)
    assert [r.id for r in Flow("TrainFlow").runs(where="user = 'bob'")] == ["3"]


def test_runs_order_by(any_history: History) -> None:
    flow = Flow("TrainFlow")
    assert [r.id for r in flow.runs(order_by="created_at")] == ["1", "2", "4", "5"]
    assert [r.id for r in flow.runs(order_by=["-created_at"], limit=2)] == ["5", "4"]


def test_runs_of_every_flow(any_history: History) -> None:
    root = Flowtrail()
    assert [r.pathspec for r in root.runs(where="status = 'succeeded'")] == [
        "TrainFlow/4",
        "TrainFlow/2",
        "TrainFlow/1",
    ]
    assert [r.pathspec for r in root.runs("prod")] == ["TrainFlow/2"]
    assert [r.pathspec for r in root.runs(limit=1)] == ["TrainFlow/5"]
    namespace(None)
    assert len(list(Flowtrail().runs())) == 6


def test_a_bad_search_is_refused_before_any_query(history: History) -> None:
    with pytest.raises(InvalidQuery):
        Flow("TrainFlow").runs(where="status ==")
    with pytest.raises(InvalidQuery):
        Flowtrail().runs(order_by="tag")
    with pytest.raises(InvalidArgument, match="limit must be None or an int from 0 to "):
        Flow("TrainFlow").runs(limit=-1)  # at the call, before the first run is asked for
    with pytest.raises(InvalidArgument, match="got 100000000000000000000"):
        Flowtrail().runs(limit=10**20)
