"""Contract: run search — the ``where`` language (every operator and field, precedence,
parentheses), ``order_by`` with keyset pages, and the tag listing ``find_tags``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from flowtrail.errors import InvalidArgument, InvalidQuery
from flowtrail.model import (
    Batch,
    NewArtifact,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    RunFilter,
    Status,
    StepKind,
    TagCount,
)
from flowtrail.store import MetadataStore

T = datetime(2026, 1, 1, tzinfo=UTC)
USERS = {1: "ada", 2: "ada", 3: "ada", 4: "bob", 5: "bob", 6: "bob"}
#: How each run of Train ends, and how many minutes after its creation (None: it has not).
ENDS: dict[int, tuple[Status, int | None]] = {
    1: (Status.SUCCEEDED, 10),
    2: (Status.FAILED, 20),
    3: (Status.SUCCEEDED, 30),
    4: (Status.CANCELLED, 40),
    5: (Status.RUNNING, None),
    6: (Status.FAILED, 5),
    7: (Status.SUCCEEDED, 70),
    8: (Status.PENDING, None),
}


def _tags(i: int) -> frozenset[str]:
    tags = {"prod"} if i % 2 else set()
    if i in (1, 2):
        tags.add("env:prod")
    if i in (3, 4, 5):
        tags.add("env:dev")
    if i % 3 == 0:
        tags.add("team:ml")
    if i == 8:
        tags |= {"odd:50%_off", "odd:[x]*?"}
    return frozenset(tags)


def _params(i: int) -> dict[str, object]:
    if i == 8:
        return {"alpha": "auto", "opt": "sgd"}
    return {"alpha": i / 10, "opt": "adam" if i % 2 else "sgd", "layers": i, "warm": i <= 2}


def _history(store: MetadataStore) -> None:
    """Eight runs of Train, one an hour from T, and one run of Other (see the tables above):
    tags, users, statuses, times, parameters, run and task metadata, artifact values."""
    for i in range(1, 9):
        status, minutes = ENDS[i]
        user = USERS.get(i)
        run = store.create_run(
            NewRun(
                "Train",
                user=user,
                parameters=_params(i),
                tags=_tags(i),
                system_tags=frozenset({f"user:{user}"} if user else ()),
                status=Status.PENDING if status is Status.PENDING else Status.RUNNING,
                created_at=T + timedelta(hours=i),
            )
        ).pathspec
        metadata = [NewMetadata(run, "commit", f"c{i}")]
        if i == 5:
            metadata.append(NewMetadata(run, "origin", "cli", type="system"))
        batch_items: dict[str, tuple[object, ...]] = {}
        if i <= 7:
            step = run.child("start")
            tasks = [step.child("1")] + ([step.child("2")] if i <= 3 else [])
            metadata.append(NewMetadata(tasks[0], "loss", 1 / i, attempt=0))
            metadata.append(NewMetadata(tasks[0], "host", f"h{i}", type="attempt", attempt=0))
            if i <= 3:
                metadata.append(NewMetadata(tasks[1], "loss", 5.0 + i, attempt=0))
            if i == 4:
                metadata.append(NewMetadata(tasks[0], "loss", 100.0, type="system", attempt=0))
            values: dict[str, object] = {
                "accuracy": i / 8,
                "model": "resnet50" if i % 2 else "vit",
                "ok": i != 4,
                "weights": None,
            }
            artifacts = tuple(
                NewArtifact(
                    tasks[0].child(name), 0, f"{i:02x}{n:062x}", 8, "builtins.object", "pickle", v
                )
                for n, (name, v) in enumerate(values.items())
            )
            batch_items = {
                "steps": (NewStep(step, StepKind.START),),
                "tasks": tuple(NewTask(t) for t in tasks),
                "artifacts": artifacts,
            }
        store.write_batch(
            Batch(f"b{i}", run, metadata=tuple(metadata), **batch_items)  # type: ignore[arg-type]
        )
        if minutes is not None:
            store.set_run_status(run, status, T + timedelta(hours=i, minutes=minutes))
    other = store.create_run(
        NewRun(
            "Other",
            parameters={"alpha": 0.9},
            tags=frozenset({"prod"}),
            created_at=T + timedelta(hours=30),
        )
    )
    store.set_run_status(other.pathspec, Status.SUCCEEDED, T + timedelta(hours=31))


def _ids(store: MetadataStore, where: str | None = None, **kw: object) -> list[str]:
    """The run ids of Train a search finds, reading every page (three runs a page)."""
    found: list[str] = []
    filter = RunFilter.of("Train", where=where, **kw)  # type: ignore[arg-type]
    page = store.find_runs(filter, PageRequest(3))
    found += [r.run_id for r in page]
    while (request := page.next_request()) is not None:
        page = store.find_runs(filter, request)
        found += [r.run_id for r in page]
    return found


def _check(store: MetadataStore, cases: dict[str, str]) -> None:
    """Every ``where`` of ``cases`` finds the runs (ids, newest first) it names."""
    found = {where: " ".join(_ids(store, where)) for where in cases}
    assert found == cases


@pytest.fixture
def history(store: MetadataStore) -> MetadataStore:
    _history(store)
    return store


def test_every_operator(history: MetadataStore) -> None:
    _check(
        history,
        {
            "params.layers = 3": "3",
            "params.layers != 3": "8 7 6 5 4 2 1",
            "params.layers < 3": "2 1",
            "params.layers <= 3": "3 2 1",
            "params.layers > 5": "7 6",
            "params.layers >= 5": "7 6 5",
            "params.opt ~ 'a*m'": "7 5 3 1",
            "params.layers in (1, 4, 9)": "4 1",
            "params.layers not in (1, 4, 9)": "8 7 6 5 3 2",
        },
    )


def test_tags(history: MetadataStore) -> None:
    _check(
        history,
        {
            "tag = 'prod'": "7 5 3 1",
            "tag != 'prod'": "8 6 4 2",
            "tag = 'user:ada'": "3 2 1",
            "tag ~ 'env:*'": "5 4 3 2 1",
            "tag ~ 'env:d?v'": "5 4 3",
            "tag ~ '*:*'": "8 6 5 4 3 2 1",
            "tag in ('team:ml', 'env:prod')": "6 3 2 1",
            "tag not in ('prod', 'env:dev')": "8 6 2",
            "tag = 'absent'": "",
        },
    )


def test_globs_take_only_their_wildcards(history: MetadataStore) -> None:
    _check(
        history,
        {
            "tag ~ 'odd:50%_off'": "8",  # % and _ are plain characters
            "tag ~ 'odd:5_%_off'": "",
            "tag ~ 'odd:[x]*'": "8",  # so is [
            "tag ~ 'odd:[x]\\*\\?'": "8",  # \ makes * and ? plain
            "tag ~ 'odd:[x]\\*\\*'": "",
            "tag ~ 'ODD:*'": "",  # case-sensitive
            "params.opt ~ '?gd'": "8 6 4 2",
            "params.opt ~ 'sg'": "",  # the whole text must match
        },
    )


def test_status_user_and_run_id(history: MetadataStore) -> None:
    _check(
        history,
        {
            "status = 'failed'": "6 2",
            "status != 'succeeded'": "8 6 5 4 2",
            "status in ('running', 'pending')": "8 5",
            "status not in ('running', 'pending')": "7 6 4 3 2 1",
            "status ~ '*ed'": "7 6 4 3 2 1",
            "user = 'bob'": "6 5 4",
            "user != 'bob'": "8 7 3 2 1",  # runs without a user too
            "user < 'b'": "3 2 1",
            "user ~ 'a*'": "3 2 1",
            "user in ('ada', 'eve')": "3 2 1",
            "run_id = '3'": "3",
            "run_id = 3": "3",
            "run_id > 6": "8 7",
            "run_id <= 2": "2 1",
            "run_id in (1, '2')": "2 1",
            "run_id ~ '1*'": "1",
            "run_id < '3'": "2 1",
        },
    )


def test_times_and_duration(history: MetadataStore) -> None:
    _check(
        history,
        {
            "created_at >= '2026-01-01T06:00:00Z'": "8 7 6",
            "created_at < '2026-01-01T02:00:00Z'": "1",
            "created_at = '2026-01-01T08:00:00+05:00'": "3",
            "created_at in ('2026-01-01T01:00:00Z', '2026-01-01T04:00:00+00:00')": "4 1",
            "finished_at > '2026-01-01T04:00:00Z'": "7 6 4",
            "finished_at <= '2026-01-01T02:20:00Z'": "2 1",
            "finished_at != '2026-01-01T01:10:00Z'": "8 7 6 5 4 3 2",
            "duration > 1800": "7 4",
            "duration <= 600": "6 1",
            "duration = 1200": "2",
            "duration >= 0": "7 6 4 3 2 1",
            "not duration >= 0": "8 5",
            "duration in (300, 4200.0)": "7 6",
        },
    )


def test_params(history: MetadataStore) -> None:
    _check(
        history,
        {
            "params.alpha > 0.5": "7 6",  # run 8's alpha is text: no number to compare
            "params.alpha <= 0.2": "2 1",
            "params.alpha = 'auto'": "8",
            "params.alpha = '0.3'": "3",  # a string compares the text form
            "params.warm = true": "2 1",
            "params.warm = false": "7 6 5 4 3",
            "params.warm != true": "8 7 6 5 4 3",
            "params.layers >= -1e3": "7 6 5 4 3 2 1",
            "params.missing = 1": "",
            "params.\"opt\" = 'sgd'": "8 6 4 2",
        },
    )


def test_metadata(history: MetadataStore) -> None:
    _check(
        history,
        {
            "metadata.commit = 'c4'": "4",
            "metadata.commit ~ 'c*'": "8 7 6 5 4 3 2 1",
            "metadata.loss > 5": "3 2 1",  # any task's value: the second tasks of 1 to 3
            "metadata.loss > 50": "",  # run 4's 100 is system metadata of a task
            "metadata.loss = 0.25": "4",
            "metadata.origin = 'cli'": "5",  # run metadata counts whatever its type
            "metadata.host = 'h1'": "",  # system metadata of a task does not
        },
    )


def test_data(history: MetadataStore) -> None:
    _check(
        history,
        {
            "data.accuracy >= 0.75": "7 6",
            "data.accuracy < 0.25": "1",
            "data.model = 'vit'": "6 4 2",
            "data.model ~ 'res*'": "7 5 3 1",
            "data.ok = false": "4",
            "data.ok = true": "7 6 5 3 2 1",
            "data.weights = 'x'": "",
            "not data.accuracy >= 0": "8",
        },
    )


def test_precedence_and_parentheses(history: MetadataStore) -> None:
    _check(
        history,
        {
            "status = 'failed' or status = 'cancelled' and user = 'ada'": "6 2",
            "(status = 'failed' or status = 'cancelled') and user = 'bob'": "6 4",
            "not status = 'failed' and user = 'bob'": "5 4",
            "not (status = 'failed' and user = 'bob')": "8 7 5 4 3 2 1",
            "not not tag = 'prod'": "7 5 3 1",
            "TAG = 'prod' AND NOT Status = 'running'": "7 3 1",
            "tag = 'prod' and (status = 'failed' or params.alpha > 0.1) "
            "and data.accuracy >= 0.5": "7 5",
            "((tag = 'prod'))": "7 5 3 1",
            "tag = 'prod' or tag = 'team:ml' and tag = 'env:dev'": "7 5 3 1",
            "(tag = 'prod' or tag = 'team:ml') and tag = 'env:dev'": "5 3",
        },
    )


def test_where_with_the_other_conditions(history: MetadataStore) -> None:
    both = RunFilter.of(tags=["prod"], where="params.alpha > 0.6")
    assert [str(r.pathspec) for r in history.find_runs(both)] == ["Other/1", "Train/7"]
    assert _ids(history, "params.alpha > 0.2", user="bob", statuses=["failed"]) == ["6"]
    assert _ids(history, "tag = 'env:dev'", tags=["prod"]) == ["5", "3"]
    assert _ids(history, "tag = 'prod'", order_by=["-data.accuracy"]) == ["7", "5", "3", "1"]
    # an order on a parameter with tags: its runs having a number, then those lacking one
    assert _ids(history, "tag != 'prod'", order_by=["-params.alpha"]) == ["6", "4", "2", "8"]
    assert _ids(history, order_by=["params.alpha"], tags=["team:ml"]) == ["3", "6"]
    assert _ids(history, "tag = 'odd:[x]*?'", order_by=["-params.alpha"]) == ["8"]
    assert history.find_runs(RunFilter.of("Nobody", where="tag = 'prod'")).items == ()


def _ids_one_a_page(store: MetadataStore, filter: RunFilter) -> list[str]:
    """The pathspecs a search finds, read one run a page (a cursor after every run)."""
    found: list[str] = []
    page = store.find_runs(filter, PageRequest(1))
    found += [str(r.pathspec) for r in page]
    while (request := page.next_request()) is not None:
        page = store.find_runs(filter, request)
        found += [str(r.pathspec) for r in page]
    return found


def test_tags_with_a_user_whichever_drives_the_search(history: MetadataStore) -> None:
    # In Train, prod is on 4 runs, team:ml on 2 and env:dev on 3; ada and bob have 3 each.
    # The store walks the smaller set (the user's runs, or the rarest tag's): the runs
    # found, their order and the pages are the same either way.
    cases = {
        "tag = 'prod' and user = 'ada'": ["Train/3", "Train/1"],  # ada's runs walked
        "tag = 'team:ml' and user = 'ada'": ["Train/3"],  # team:ml's rows walked
        "tag = 'prod' and tag = 'env:dev' and user = 'bob'": ["Train/5"],  # a tie: the tag
        "tag = 'prod' and user = 'nobody'": [],
        "tag = 'nothing' and user = 'ada'": [],
    }
    for where, expected in cases.items():
        assert _ids_one_a_page(history, RunFilter.of("Train", where=where)) == expected, where
    by_fields = RunFilter.of("Train", tags=["prod"], user="bob")
    assert _ids_one_a_page(history, by_fields) == ["Train/5"]
    every_flow = RunFilter.of(tags=["prod"], user="ada")
    assert _ids_one_a_page(history, every_flow) == ["Train/3", "Train/1"]
    window = RunFilter.of(
        "Train", where=f"tag = 'prod' and user = 'ada' and created_at < '{T + timedelta(hours=3)}'"
    )
    assert _ids_one_a_page(history, window) == ["Train/1"]


def test_order_by(history: MetadataStore) -> None:
    orders = {
        "-params.alpha": "7 6 5 4 3 2 1 8",  # run 8 has no numeric alpha: last
        "params.alpha": "1 2 3 4 5 6 7 8",
        "-params.layers": "7 6 5 4 3 2 1 8",
        "-created_at": "8 7 6 5 4 3 2 1",
        "created_at": "1 2 3 4 5 6 7 8",
        "-finished_at": "7 6 4 3 2 1 8 5",
        "finished_at": "1 2 3 4 6 7 5 8",
        "-duration": "7 4 3 2 1 6 8 5",
        "user,-created_at": "3 2 1 6 5 4 8 7",
        "-user": "6 5 4 3 2 1 8 7",
        "status,-run_id": "4 6 2 8 5 7 3 1",
        "-run_id": "8 7 6 5 4 3 2 1",
        "-metadata.loss": "3 2 1 4 5 6 7 8",  # the largest value of each run
        "metadata.loss": "7 6 5 4 3 2 1 8",  # the smallest
        "-data.accuracy": "7 6 5 4 3 2 1 8",
        "data.model": "1 2 3 4 5 6 7 8",  # text values have no number: creation order
    }
    found = {o: " ".join(_ids(history, order_by=o.split(","))) for o in orders}
    assert found == orders


def test_order_by_run_id_puts_automatic_ids_first(store: MetadataStore) -> None:
    for run_id in [None, "b", None, "a"]:
        store.create_run(NewRun("Ids", run_id=run_id))
    ids = {
        o: [r.run_id for r in store.find_runs(RunFilter.of("Ids", order_by=o))]
        for o in ("run_id", "-run_id")
    }
    assert ids == {"run_id": ["1", "2", "a", "b"], "-run_id": ["2", "1", "b", "a"]}


def test_order_by_pages_stay_stable_while_runs_arrive(history: MetadataStore) -> None:
    filter = RunFilter.of("Train", order_by="-params.alpha")
    first = history.find_runs(filter, PageRequest(3))
    assert [r.run_id for r in first] == ["7", "6", "5"]
    history.create_run(NewRun("Train", parameters={"alpha": 0.95}))  # sorts before the cursor
    history.create_run(NewRun("Train", parameters={"alpha": 0.45}))  # sorts after it
    rest = []
    request = first.next_request()
    while request is not None:
        page = history.find_runs(filter, request)
        rest += [r.run_id for r in page]
        request = page.next_request()
    assert rest == ["10", "4", "3", "2", "1", "8"]


def test_a_cursor_belongs_to_its_order(history: MetadataStore) -> None:
    page = history.find_runs(RunFilter.of("Train", order_by="-created_at"), PageRequest(2))
    assert page.next_cursor is not None
    with pytest.raises(InvalidArgument, match="cursor"):
        history.find_runs(RunFilter.of("Train", order_by="created_at"), page.next_request())
    with pytest.raises(InvalidArgument, match="cursor"):
        history.find_runs(RunFilter("Train"), page.next_request())


def test_a_where_on_status_sees_silent_runs_as_lost(store: MetadataStore) -> None:
    silent = store.create_run(NewRun("F", heartbeat_timeout=timedelta(milliseconds=20)))
    store.create_run(NewRun("F"))
    time.sleep(0.1)
    lost = store.find_runs(RunFilter.of("F", where="status = 'lost' and user != 'x'"))
    assert [r.pathspec for r in lost] == [silent.pathspec]
    running = store.find_runs(RunFilter.of("F", where="not status in ('lost')"))
    assert [r.run_id for r in running] == ["2"]
    finished = store.find_runs(RunFilter.of("F", where="finished_at > '2000-01-01T00:00:00Z'"))
    assert [r.run_id for r in finished] == ["1"]


def test_parse_errors_say_where(store: MetadataStore) -> None:
    cases = {
        "tag = 'prod' and data.accuracy >= ": "at column 35: expected a value after '>='",
        "status = 'done'": "at column 10: expected a status",
        "(tag = 'a'": "at column 11: expected ')' to close the '(' at column 1",
        "tag > 'a'": "at column 5: '>' does not apply to tag",
        "nope = 1": "at column 1: unknown field 'nope'",
    }
    for where, message in cases.items():
        with pytest.raises(InvalidQuery, match=message.replace("(", r"\(").replace(")", r"\)")):
            store.find_runs(RunFilter.of("F", where=where))
    with pytest.raises(InvalidQuery) as info:
        RunFilter(where="user = 'a' or")
    assert info.value.details["column"] == 14
    assert info.value.code == "invalid_query"
    with pytest.raises(InvalidQuery, match="order_by 'tag'"):
        RunFilter(order_by=("tag",))


def test_find_tags(history: MetadataStore) -> None:
    def listed(flow: str | None = None, prefix: str | None = None) -> list[tuple[str, int]]:
        return [(t.tag, t.runs) for t in history.find_tags(flow, prefix)]

    everything = [
        ("env:dev", 3),
        ("env:prod", 2),
        ("odd:50%_off", 1),
        ("odd:[x]*?", 1),
        ("prod", 5),
        ("team:ml", 2),
        ("user:ada", 3),
        ("user:bob", 3),
    ]
    assert listed() == everything
    assert listed("Train") == [(t, n - 1 if t == "prod" else n) for t, n in everything]
    assert listed("Other") == [("prod", 1)]
    assert listed(prefix="env:") == everything[:2]
    assert listed(prefix="user") == everything[-2:]
    assert listed("Other", prefix="env") == []
    assert listed(prefix="odd:50%") == [("odd:50%_off", 1)]  # a prefix, not a pattern
    assert listed(prefix="p") == [("prod", 5)]
    assert listed(prefix="\U0010ffff") == []
    assert listed("Nobody") == []
    assert history.find_tags(prefix="").items == history.find_tags().items
    assert history.find_tags("Train", "prod").items == (TagCount("prod", 4),)


def test_find_tags_pages(history: MetadataStore) -> None:
    pages = []
    request: PageRequest | None = PageRequest(3)
    while request is not None:
        page = history.find_tags(page=request)
        pages.append([t.tag for t in page])
        request = page.next_request()
    assert pages == [
        ["env:dev", "env:prod", "odd:50%_off"],
        ["odd:[x]*?", "prod", "team:ml"],
        ["user:ada", "user:bob"],
    ]
    history.add_tags(Pathspec("Train", "1"), ["aaa"])  # before the cursor: pages do not shift
    page = history.find_tags(prefix="user:", page=PageRequest(1))
    assert [t.tag for t in history.find_tags(prefix="user:", page=page.next_request())] == [
        "user:bob"
    ]
    with pytest.raises(InvalidArgument, match="cursor"):
        history.find_runs(RunFilter("Train"), page.next_request())


def test_find_tags_in_a_namespace(history: MetadataStore) -> None:
    def expected(flow: str | None, namespace: str) -> dict[str, int]:
        counts = {}
        for tag in history.find_tags(flow):
            runs = history.find_runs(RunFilter(flow, frozenset({tag.tag, namespace})))
            if runs.items:
                counts[tag.tag] = len(runs.items)
        return counts

    for flow in (None, "Train"):
        for namespace in ("user:ada", "user:bob", "prod", "team:ml"):
            counted = {t.tag: t.runs for t in history.find_tags(flow, namespace=namespace)}
            assert counted == expected(flow, namespace), (flow, namespace)
            assert namespace in counted
    assert history.find_tags(namespace="user:nobody").items == ()
    assert [t.tag for t in history.find_tags(prefix="env:", namespace="user:ada")] == [
        t for t in expected(None, "user:ada") if t.startswith("env:")
    ]
    pages = []
    request: PageRequest | None = PageRequest(2)
    while request is not None:
        page = history.find_tags(page=request, namespace="user:ada")
        pages.extend(t.tag for t in page)
        request = page.next_request()
    assert pages == sorted(expected(None, "user:ada"))


def test_find_tags_counts_follow_every_tag_change(store: MetadataStore) -> None:
    """The counts a listing reads follow each write of tags (creating, adding, removing,
    replacing, deleting a run), in all runs and in a namespace, and a tag no run carries
    any more is not listed."""

    def listed(flow: str | None = None, namespace: str | None = None) -> dict[str, int]:
        return {t.tag: t.runs for t in store.find_tags(flow, namespace=namespace)}

    def counted(flow: str | None = None, namespace: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in store.find_runs(RunFilter(flow), PageRequest(100)):
            if namespace is None or namespace in run.tags:
                for tag in run.tags:
                    counts[tag] = counts.get(tag, 0) + 1
        return dict(sorted(counts.items()))

    def check() -> None:
        for flow in (None, "F", "G"):
            for namespace in (None, "user:ada", "user:bob", "env:x"):
                assert listed(flow, namespace) == counted(flow, namespace), (flow, namespace)

    ada = frozenset({"user:ada"})
    one = store.create_run(NewRun("F", tags=frozenset({"env:x", "a"}), system_tags=ada))
    two = store.create_run(NewRun("F", tags=frozenset({"a"}), system_tags=frozenset({"user:bob"})))
    three = store.create_run(NewRun("G", tags=frozenset({"a", "b"}), system_tags=ada))
    store.create_run(NewRun("G"))  # no tags at all
    check()
    assert listed("F") == {"a": 2, "env:x": 1, "user:ada": 1, "user:bob": 1}
    store.add_tags(two.pathspec, ["b", "a"])  # "a" is there already: counted once
    store.remove_tags(one.pathspec, ["a", "absent"])
    check()
    store.replace_tags(three.pathspec, ["b"], ["c"])
    check()
    assert "b" not in listed("G")
    assert listed(None)["b"] == 1
    store.remove_tags(two.pathspec, ["b"])
    assert "b" not in listed()
    for run in (one, two):
        store.set_run_status(run.pathspec, Status.SUCCEEDED)
        store.delete_run(run.pathspec)
    check()
    assert listed("F") == {}
    assert listed(namespace="user:ada") == {"a": 1, "c": 1, "user:ada": 1}
