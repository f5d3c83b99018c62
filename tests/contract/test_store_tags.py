"""Contract: run tags — add, remove and replace with the reference client's rules."""

from __future__ import annotations

import pytest

from flowtrail.errors import InvalidTag
from flowtrail.model import MAX_USER_TAGS, NewRun, PageRequest, RunFilter
from flowtrail.store import MetadataStore


def _run(store: MetadataStore, **kw: object) -> NewRun:
    return NewRun("F", system_tags=frozenset({"user:ada", "runtime:local"}), **kw)  # type: ignore[arg-type]


def test_add_remove_replace(store: MetadataStore) -> None:
    run = store.create_run(_run(store)).pathspec
    assert store.add_tags(run, ["prod", "team:ml"]).user_tags == {"prod", "team:ml"}
    assert store.remove_tags(run, ["prod"]).user_tags == {"team:ml"}
    replaced = store.replace_tags(run, ["team:ml"], ["team:research", "v2"])
    assert replaced.user_tags == {"team:research", "v2"}
    assert replaced.system_tags == {"user:ada", "runtime:local"}
    assert store.get_run(run).user_tags == {"team:research", "v2"}  # persisted


def test_adding_an_existing_system_tag_is_a_silent_no_op(store: MetadataStore) -> None:
    run = store.create_run(_run(store)).pathspec
    after = store.add_tags(run, ["user:ada", "prod"])
    assert after.user_tags == {"prod"}
    assert after.system_tags == {"user:ada", "runtime:local"}


def test_adding_a_reserved_prefix_is_refused_and_adds_nothing(store: MetadataStore) -> None:
    run = store.create_run(_run(store)).pathspec
    with pytest.raises(InvalidTag, match="'user:bob' uses a prefix reserved"):
        store.add_tags(run, ["fine", "user:bob"])
    assert store.get_run(run).user_tags == frozenset()


def test_removing_a_system_tag_is_an_error_and_removes_nothing(store: MetadataStore) -> None:
    run = store.create_run(_run(store, tags=frozenset({"prod"}))).pathspec
    with pytest.raises(InvalidTag, match="'runtime:local' is a system tag"):
        store.remove_tags(run, ["prod", "runtime:local"])
    got = store.get_run(run)
    assert got.user_tags == {"prod"}
    assert "runtime:local" in got.system_tags


def test_removing_an_absent_tag_is_a_no_op(store: MetadataStore) -> None:
    run = store.create_run(_run(store, tags=frozenset({"prod"}))).pathspec
    assert store.remove_tags(run, ["never-there"]).user_tags == {"prod"}


def test_replace_is_atomic(store: MetadataStore) -> None:
    run = store.create_run(_run(store, tags=frozenset({"old"}))).pathspec
    with pytest.raises(InvalidTag):
        store.replace_tags(run, ["old"], ["date:2020-01-01"])
    assert store.get_run(run).user_tags == {"old"}  # the removal was rolled back too


def test_replace_removes_first(store: MetadataStore) -> None:
    run = store.create_run(_run(store, tags=frozenset({"x"}))).pathspec
    assert store.replace_tags(run, ["x"], ["x"]).user_tags == {"x"}


def test_tag_rules(store: MetadataStore) -> None:
    run = store.create_run(_run(store)).pathspec
    for bad, message in [
        ("", "empty"),
        ("a" * 501, "at most 500"),
        ("a\nb", "control"),
        ("prod ", "must not begin or end with whitespace, got 'prod '; did you mean 'prod'"),
        ("\u00a0prod", "whitespace"),
    ]:
        with pytest.raises(InvalidTag, match=message):
            store.add_tags(run, [bad])
    with pytest.raises(InvalidTag, match="collection of strings"):
        store.add_tags(run, "prod")
    assert store.add_tags(run, ["a" * 500]).user_tags == {"a" * 500}
    with pytest.raises(InvalidTag, match="whitespace"):
        store.replace_tags(run, ["a" * 500], [" b"])
    assert store.get_run(run).user_tags == {"a" * 500}  # nothing half done
    assert store.remove_tags(run, [" b"]).user_tags == {"a" * 500}  # absent: a no-op


def test_at_most_200_user_tags(store: MetadataStore) -> None:
    run = store.create_run(_run(store)).pathspec
    store.add_tags(run, [f"t{i}" for i in range(MAX_USER_TAGS - 1)])
    store.add_tags(run, ["t0", "last"])  # a tag it has already does not count twice
    with pytest.raises(InvalidTag, match="at most 200 user tags"):
        store.add_tags(run, ["one-too-many"])
    assert len(store.get_run(run).user_tags) == MAX_USER_TAGS


def test_tags_never_move_a_run(store: MetadataStore) -> None:
    first = store.create_run(_run(store))
    store.create_run(_run(store))
    store.add_tags(first.pathspec, ["late-tag"])
    store.replace_tags(first.pathspec, ["late-tag"], ["later-tag"])
    assert store.get_run(first.pathspec).created_at == first.created_at
    latest = store.find_runs(RunFilter(flow_name="F"), PageRequest(1)).items[0]
    assert latest.run_id == "2"
    tagged = store.find_runs(RunFilter.of("F", tags=["later-tag"])).items
    assert [r.run_id for r in tagged] == ["1"]


def test_tag_changes_are_visible_to_other_readers_at_once(store: MetadataStore) -> None:
    run = store.create_run(_run(store)).pathspec
    store.add_tags(run, ["seen"])
    assert [r.run_id for r in store.find_runs(RunFilter.of(tags=["seen"]))] == ["1"]
    store.remove_tags(run, ["seen"])
    assert store.find_runs(RunFilter.of(tags=["seen"])).items == ()


def test_every_tag_reads_back_exactly_from_a_run_and_a_listing(store: MetadataStore) -> None:
    # A run's tags come with its row, joined in one column: no character a tag may hold
    # (separators, quotes, a leading 's' or 'u', non-ASCII, 500 characters) and no number of
    # tags may change what is read back.
    odd = {
        "a,b",
        "a|b;c",
        'it\'s "quoted"',
        "spaced  out",
        "système",
        "🚀",
        "s",
        "u",
        "sx",
        "x" * 500,
    }
    many = {f"t{i:03d}" for i in range(MAX_USER_TAGS - len(odd))}
    system = frozenset({"user:ada", "runtime:local"})
    run = store.create_run(NewRun("F", tags=frozenset(odd | many), system_tags=system)).pathspec
    plain = store.create_run(NewRun("F", system_tags=frozenset())).pathspec
    got = store.get_run(run)
    assert got.user_tags == odd | many
    assert got.system_tags == system
    bare = store.get_run(plain)
    assert bare.user_tags == frozenset()
    assert bare.system_tags == frozenset()
    listed = {r.run_id: r for r in store.find_runs(RunFilter("F"), PageRequest(10))}
    assert listed[run.run_id].tags == got.tags
    assert listed[plain.run_id].tags == frozenset()
    tagged = store.find_runs(RunFilter.of("F", tags=["a,b", "🚀"]), PageRequest(10))
    assert [r.pathspec for r in tagged] == [run]
    assert tagged.items[0].user_tags == odd | many
