"""What a flow class declares besides its steps, checked without running it: metadata
conversion, tag forms, inheritance, and how launch-time tags merge with the class's."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtrail import FlowSpec, MetadataValue, step
from flowtrail.errors import InvalidFlow, InvalidTag
from flowtrail.runtime.decorators import StepOptions, retry, timeout
from flowtrail.runtime.definition import flow_definition, merge_tags
from flowtrail.runtime.exectags import ExecutionTags, parse_execution_tags


class Base(FlowSpec, metadata={"owner": "ml", "stars": 3}, tags={"team": "ml", "tier": 1}):
    @step
    def start(self) -> None:
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


class Child(Base, metadata={"owner": "infra", "path": Path("/x")}, tags=["team:infra", "child"]):
    pass


class Plain(FlowSpec):
    pass


def test_plain_values_become_typed_values() -> None:
    definition = flow_definition(Base)
    assert definition.metadata == {"owner": MetadataValue.text("ml"), "stars": MetadataValue.int(3)}
    # A dict's values that are not strings are kept as their JSON text, as Dagster does.
    assert definition.tags == ("team:ml", "tier:1")


def test_a_subclass_inherits_and_overrides() -> None:
    definition = flow_definition(Child)
    assert definition.metadata == {
        "owner": MetadataValue.text("infra"),
        "stars": MetadataValue.int(3),
        "path": MetadataValue.path("/x"),
    }
    assert definition.tags == ("tier:1", "team:infra", "child")
    assert flow_definition(Plain).metadata == {}
    assert flow_definition(Plain).tags == ()


def test_launch_tags_replace_class_tags_of_the_same_key() -> None:
    assert merge_tags(["team:ml", "keep", "tier:1"], ["team:data", "x"]) == (
        "keep",
        "tier:1",
        "team:data",
        "x",
    )
    assert merge_tags(["a"], ["a"]) == ("a",)


def test_every_metadata_constructor() -> None:
    assert MetadataValue.text("t").type == "text"
    assert MetadataValue.url("https://x").type == "url"
    assert MetadataValue.json([1]).type == "json"
    assert MetadataValue.markdown("*m*").type == "markdown"
    assert MetadataValue.path(Path("/p")).value == "/p"
    assert MetadataValue.int(1).type == "int"
    assert MetadataValue.float(1).value == 1.0
    assert MetadataValue.bool(False).type == "bool"


def test_a_bad_value_names_the_flow_and_the_entry() -> None:
    class Bad(FlowSpec, metadata={"fn": print}):
        pass

    with pytest.raises(InvalidFlow, match=r"flow 'Bad': metadata 'fn': metadata values are"):
        flow_definition(Bad)


def test_execution_tags_fill_in_only_what_decorators_leave() -> None:
    tags = parse_execution_tags(
        ["flowtrail/max_retries:2", "flowtrail/timeout_seconds:30", "team:ml", "flowtrail-x"]
    )
    assert tags == ExecutionTags(max_retries=2, max_workers=None, timeout_seconds=30)
    assert tags.step_options(StepOptions()).retries == 2
    assert tags.step_options(StepOptions()).timeout == 30.0

    @retry(times=0)
    @timeout(seconds=5)
    def decorated() -> None:
        pass

    options = tags.step_options(decorated._flowtrail_options)  # type: ignore[attr-defined]
    assert options.retries == 0
    assert options.timeout == 5.0
    assert options.timeout_source == "@timeout"


def test_one_execution_tag_given_twice_must_agree() -> None:
    assert parse_execution_tags(["flowtrail/max_workers:2"] * 2).max_workers == 2
    with pytest.raises(InvalidTag, match="flowtrail/max_workers is given twice, as 2 and 3"):
        parse_execution_tags(["flowtrail/max_workers:2", "flowtrail/max_workers:3"])
