"""Pathspecs: parsing, formatting, navigation, levels and the rules for names and ids."""

from __future__ import annotations

import dataclasses

import pytest

from flowtrail.errors import FlowtrailError, InvalidArgument, InvalidPathspec
from flowtrail.model import Level, Pathspec, validate_id, validate_name

ALL_LEVELS = [
    ("TrainFlow", Level.FLOW),
    ("TrainFlow/12", Level.RUN),
    ("TrainFlow/12/train", Level.STEP),
    ("TrainFlow/12/train/345", Level.TASK),
    ("TrainFlow/12/train/345/model", Level.ARTIFACT),
]


# --- parse and format -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "level"), ALL_LEVELS)
def test_parse_format_round_trip(text: str, level: Level) -> None:
    p = Pathspec.parse(text)
    assert str(p) == text
    assert p.level is level
    assert p.components == tuple(text.split("/"))
    assert Pathspec.parse(str(p)) == p
    assert repr(p) == f"Pathspec({text!r})"


@pytest.mark.parametrize(("text", "level"), ALL_LEVELS)
def test_parse_with_matching_level(text: str, level: Level) -> None:
    assert Pathspec.parse(text, level).level is level


def test_parse_fills_named_fields() -> None:
    p = Pathspec.parse("TrainFlow/12/train/345/model")
    assert (p.flow, p.run_id, p.step, p.task_id, p.artifact) == (
        "TrainFlow",
        "12",
        "train",
        "345",
        "model",
    )
    run = Pathspec.parse("TrainFlow/12")
    assert (run.step, run.task_id, run.artifact) == (None, None, None)


def test_parse_with_wrong_level_shows_expected_shape() -> None:
    with pytest.raises(InvalidPathspec) as info:
        Pathspec.parse("a/b/c/d/e/f", Level.STEP)
    assert "expected 'Flow/run_id/step', got 'a/b/c/d/e/f'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "level", "shape"),
    [
        ("F/1", Level.STEP, "Flow/run_id/step"),
        ("F/1/start/2", Level.RUN, "Flow/run_id"),
        ("F", Level.TASK, "Flow/run_id/step/task_id"),
        ("F/1/start/2", Level.ARTIFACT, "Flow/run_id/step/task_id/artifact"),
        ("F/1", Level.FLOW, "Flow"),
    ],
)
def test_parse_level_mismatch(text: str, level: Level, shape: str) -> None:
    with pytest.raises(InvalidPathspec, match=f"expected '{shape}', got '{text}'"):
        Pathspec.parse(text, level)


def test_six_components_without_level_fail() -> None:
    with pytest.raises(InvalidPathspec) as info:
        Pathspec.parse("a/b/c/d/e/f")
    message = str(info.value)
    assert "'a/b/c/d/e/f'" in message
    assert "Flow[/run_id[/step[/task_id[/artifact]]]]" in message


@pytest.mark.parametrize("text", ["F//x", "F/", "/F", "F/1//2", "F/1/s/2/", "/", "//"])
def test_empty_components_refused(text: str) -> None:
    with pytest.raises(InvalidPathspec, match="empty components"):
        Pathspec.parse(text)


def test_empty_string_refused() -> None:
    with pytest.raises(InvalidPathspec, match="got ''"):
        Pathspec.parse("")


@pytest.mark.parametrize("value", [None, 12, b"F/1", ["F", "1"], Pathspec.parse("F/1")])
def test_non_string_refused(value: object) -> None:
    with pytest.raises(InvalidPathspec, match="expected a pathspec string"):
        Pathspec.parse(value)  # type: ignore[arg-type]


def test_invalid_pathspec_is_invalid_argument_and_value_error() -> None:
    with pytest.raises(InvalidPathspec) as info:
        Pathspec.parse("")
    err = info.value
    assert isinstance(err, InvalidArgument)
    assert isinstance(err, ValueError)
    assert isinstance(err, FlowtrailError)
    assert err.code == "invalid_pathspec"
    assert err.http_status == 400
    # Callers that only know ValueError still catch it.
    with pytest.raises(ValueError, match="expected"):
        Pathspec.parse("a/b/c/d/e/f")


# --- names and ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["TrainFlow", "_private", "flow_2", "Ünïcödé", "数据流", "x", "a" * 255]
)
def test_valid_names(name: str) -> None:
    assert validate_name("flow", name) == name
    p = Pathspec.of(name, "1", name, "2", name)
    assert p.components == (name, "1", name, "2", name)


@pytest.mark.parametrize(
    "name", ["1flow", "my-flow", "a b", "", "flow.v2", " flow", "flow\n", "a" * 256, "$x"]
)
@pytest.mark.parametrize("position", ["flow", "step", "artifact"])
def test_invalid_names_refused_in_every_position(name: str, position: str) -> None:
    comps = {"flow": "F", "run": "1", "step": "start", "task": "2", "artifact": "model"}
    comps[position] = name
    with pytest.raises(InvalidPathspec) as info:
        Pathspec(comps["flow"], comps["run"], comps["step"], comps["task"], comps["artifact"])
    message = str(info.value)
    assert f"{position} name must be a Python identifier" in message
    assert repr(name) in message
    assert info.value.details["field"] == position


@pytest.mark.parametrize("name", ["1flow", "my-flow", "a b"])
def test_invalid_names_refused_by_parse(name: str) -> None:
    with pytest.raises(InvalidPathspec, match="Python identifier"):
        Pathspec.parse(f"{name}/1")
    with pytest.raises(InvalidPathspec, match="Python identifier"):
        Pathspec.parse(f"F/1/{name}")
    with pytest.raises(InvalidPathspec, match="Python identifier"):
        Pathspec.parse(f"F/1/s/2/{name}")


@pytest.mark.parametrize("value", [None, 3, b"flow"])
def test_validate_name_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidPathspec):
        validate_name("flow", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "run_id", ["12", "my-run.v2", "0", "run_2024-01-01T00:00", "ü", "a" * 255, "-", "a:b"]
)
def test_valid_ids(run_id: str) -> None:
    assert validate_id("run id", run_id) == run_id
    assert validate_id("task id", run_id) == run_id
    p = Pathspec.parse(f"F/{run_id}/start/{run_id}")
    assert (p.run_id, p.task_id) == (run_id, run_id)


@pytest.mark.parametrize(
    "bad_id", ["", "a b", " 12", "12\n", "1\t2", "a\x00b", "\x7f", "a\u2028b", "a" * 256]
)
@pytest.mark.parametrize("kind", ["run id", "task id"])
def test_invalid_ids_refused(bad_id: str, kind: str) -> None:
    comps = ("F", bad_id) if kind == "run id" else ("F", "1", "start", bad_id)
    with pytest.raises(InvalidPathspec) as info:
        Pathspec.of(*comps)
    assert f"{kind} must be a non-empty string" in str(info.value)
    assert info.value.details["field"] == kind


def test_id_with_slash_refused_directly() -> None:
    # Through parse() a '/' only ever splits; built from components it must be refused.
    with pytest.raises(InvalidPathspec, match="run id"):
        Pathspec("F", "1/2")
    with pytest.raises(InvalidPathspec, match="task id"):
        Pathspec.of("F", "1", "start", "a/b")


@pytest.mark.parametrize("value", [None, 12])
def test_validate_id_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidPathspec):
        validate_id("run id", value)  # type: ignore[arg-type]


def test_gap_in_components_refused() -> None:
    with pytest.raises(InvalidPathspec, match="every component given"):
        Pathspec("F", None, "start")
    with pytest.raises(InvalidPathspec, match="Flow/run_id/step/task_id/artifact"):
        Pathspec("F", "1", "start", None, "model")


# --- navigation -------------------------------------------------------------------------------


def test_parent_chain() -> None:
    p = Pathspec.parse("TrainFlow/12/train/345/model")
    chain = []
    current: Pathspec | None = p
    while current is not None:
        chain.append(str(current))
        current = current.parent
    assert chain == [
        "TrainFlow/12/train/345/model",
        "TrainFlow/12/train/345",
        "TrainFlow/12/train",
        "TrainFlow/12",
        "TrainFlow",
    ]
    assert Pathspec.parse("TrainFlow").parent is None


@pytest.mark.parametrize(("text", "level"), ALL_LEVELS)
def test_id_is_last_component(text: str, level: Level) -> None:
    assert Pathspec.parse(text).id == text.split("/")[-1]
    assert len(Pathspec.parse(text).components) == level.value


def test_expect() -> None:
    run = Pathspec.parse("F/1")
    assert run.expect(Level.RUN) is run
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id/step', got 'F/1'"):
        run.expect(Level.STEP)
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id', got 'F/1/start'"):
        Pathspec.parse("F/1/start").expect(Level.RUN)


def test_truncate() -> None:
    p = Pathspec.parse("F/1/start/2/model")
    assert str(p.truncate(Level.FLOW)) == "F"
    assert str(p.truncate(Level.RUN)) == "F/1"
    assert str(p.truncate(Level.STEP)) == "F/1/start"
    assert str(p.truncate(Level.TASK)) == "F/1/start/2"
    assert p.truncate(Level.ARTIFACT) == p
    with pytest.raises(InvalidPathspec, match="has no task component"):
        Pathspec.parse("F/1").truncate(Level.TASK)


def test_child() -> None:
    flow = Pathspec.parse("F")
    artifact = flow.child("1").child("start").child("2").child("model")
    assert artifact == Pathspec.parse("F/1/start/2/model")
    assert artifact.parent == flow.child("1").child("start").child("2")
    with pytest.raises(InvalidPathspec, match="an artifact pathspec has no children"):
        artifact.child("more")
    with pytest.raises(InvalidPathspec, match="step name"):
        Pathspec.parse("F/1").child("not-a-step")
    with pytest.raises(InvalidPathspec, match="run id"):
        flow.child("with space")


def test_of() -> None:
    assert Pathspec.of("F", "12", "start") == Pathspec.parse("F/12/start")
    assert Pathspec.of("F").level is Level.FLOW
    with pytest.raises(InvalidPathspec, match="expected 1 to 5 components, got 0"):
        Pathspec.of()
    with pytest.raises(InvalidPathspec, match="got 6"):
        Pathspec.of("a", "b", "c", "d", "e", "f")


def test_pathspec_is_frozen_and_hashable() -> None:
    p = Pathspec.parse("F/1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.flow = "G"  # type: ignore[misc]
    assert {p, Pathspec.of("F", "1")} == {p}
    assert p != Pathspec.parse("F/2")


@pytest.mark.parametrize(
    ("level", "shape"),
    [
        (Level.FLOW, "Flow"),
        (Level.RUN, "Flow/run_id"),
        (Level.STEP, "Flow/run_id/step"),
        (Level.TASK, "Flow/run_id/step/task_id"),
        (Level.ARTIFACT, "Flow/run_id/step/task_id/artifact"),
    ],
)
def test_level_shape(level: Level, shape: str) -> None:
    assert level.shape == shape
    assert level.value == shape.count("/") + 1


@pytest.mark.parametrize("name", ["class", "for", "None", "lambda"])
def test_python_keywords_are_not_names(name: str) -> None:
    with pytest.raises(InvalidPathspec, match="not a keyword"):
        Pathspec(name)


def test_derived_pathspecs_equal_parsed_ones() -> None:
    task = Pathspec.parse("F/12/train/345")
    assert task.child("model") == Pathspec.parse("F/12/train/345/model")
    assert task.parent == Pathspec.parse("F/12/train")
    assert task.truncate(Level.RUN) == Pathspec("F", "12")
    assert hash(task.parent) == hash(Pathspec.parse("F/12/train"))
    assert Pathspec("F").child("7").child("start").child("9") == Pathspec("F", "7", "start", "9")
    assert {task.truncate(Level.RUN), Pathspec("F", "12")} == {Pathspec("F", "12")}


@pytest.mark.parametrize(
    ("parent", "child", "message"),
    [
        ("F", "a/b", "run id must be"),
        ("F/1", "not-a-name", "step name must be"),
        ("F/1/start", "has space", "task id must be"),
        ("F/1/start/2", "1x", "artifact name must be"),
        ("F/1/start/2/x", "y", "has no children"),
    ],
)
def test_child_validates_the_new_component(parent: str, child: str, message: str) -> None:
    with pytest.raises(InvalidPathspec, match=message):
        Pathspec.parse(parent).child(child)
