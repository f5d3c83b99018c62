"""Bad input: clear messages before anything runs, and nothing recorded."""

from __future__ import annotations

import textwrap

import pytest

from .conftest import Project

_TEMPLATE = """
from flowtrail import FlowSpec, step


class BadFlow(FlowSpec):
{body}


if __name__ == "__main__":
    BadFlow()
"""


def _write(project: Project, body: str) -> None:
    (project.path / "bad.py").write_text(
        _TEMPLATE.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    )


def _nothing_recorded(project: Project) -> None:
    db = project.path / ".flowtrail" / "flowtrail.db"
    if db.exists():
        from flowtrail.model import PageRequest

        assert not project.store.find_runs(None, PageRequest(10)).items


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """
            @step
            def start(self):
                self.next(self.trian)

            @step
            def end(self):
                pass
            """,
            "step 'start' (bad.py:9): self.next(self.trian): no step named 'trian'",
        ),
        (
            """
            @step
            def start(self):
                self.next(self.end)
            """,
            "flow 'BadFlow' (bad.py:5): no step named 'end'; every flow needs a 'start' and "
            "an 'end' step",
        ),
        (
            """
            @step
            def start(self):
                self.next(self.a, self.b)

            @step
            def a(self):
                self.next(self.join)

            @step
            def b(self):
                self.next(self.join)

            @step
            def join(self):
                self.next(self.end)

            @step
            def end(self):
                pass
            """,
            "step 'join' (bad.py:20): it is reached from 'a', 'b', so it joins them and must "
            "take inputs: def join(self, inputs)",
        ),
        (
            """
            @step
            def start(self):
                pass

            @step
            def end(self):
                pass
            """,
            "step 'start' (bad.py:8): the step never calls self.next(...)",
        ),
        (
            """
            @step
            def start(self):
                self.items = [1, 2]
                self.next(self.each, foreach="items")

            @step
            def each(self):
                self.next(self.join)

            @step
            def join(self):
                self.next(self.end)

            @step
            def end(self):
                pass
            """,
            "step 'join' (bad.py:17): the end step is inside the foreach of 'start': the step "
            "that closes it must take inputs: def join(self, inputs)",
        ),
        (
            """
            @step
            def start(self):
                self.items = [1, 2]
                self.next(self.each, foreach="items")

            @step
            def each(self):
                self.next(self.end)

            @step
            def end(self):
                pass
            """,
            "step 'end' (bad.py:17): the end step is inside the foreach of 'start'; add a join "
            "step, def join(self, inputs), between 'each' and 'end'",
        ),
    ],
)
def test_graph_errors_name_the_step_and_line(project: Project, body: str, message: str) -> None:
    _write(project, body)
    for command in ("run", "show"):
        done = project.run("bad", command)
        assert done.returncode == 1
        assert done.stderr.strip() == f"error: {message}", done.stderr
    _nothing_recorded(project)


def test_foreach_over_a_non_iterable_fails_its_task(project: Project) -> None:
    _write(
        project,
        """
        @step
        def start(self):
            self.count = 3
            self.next(self.each, foreach="count")

        @step
        def each(self):
            self.next(self.join)

        @step
        def join(self, inputs):
            self.next(self.end)

        @step
        def end(self):
            pass
        """,
    )
    done = project.run("bad", "run")
    assert done.returncode == 1
    run = project.latest("BadFlow")
    start = next(t for t in project.tasks(run.pathspec) if t.pathspec.step == "start")
    attempt = project.store.get_attempt(start.pathspec)
    assert attempt.exception is not None
    assert "foreach over 'count': int is not iterable" in attempt.exception.message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--beta", "1"], "No such option '--beta'"),
        (["--alpha", "abc"], "error: --alpha: expected float, got 'abc'"),
        (["--rounds", "2.5"], "error: --rounds: expected int, got '2.5'"),
        (["--tag", "user:someone"], "reserved"),
        (["--tag", ""], "error:"),
    ],
)
def test_bad_run_input_records_nothing(project: Project, args: list[str], message: str) -> None:
    done = project.run("branchy", "run", *args)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    _nothing_recorded(project)


def test_missing_required_parameter(project: Project) -> None:
    (project.path / "needs.py").write_text(
        textwrap.dedent(
            """
            from flowtrail import FlowSpec, Parameter, step

            class NeedsFlow(FlowSpec):
                size = Parameter("size", type=int, help="how big", required=True)

                @step
                def start(self):
                    self.next(self.end)

                @step
                def end(self):
                    print(self.size)

            if __name__ == "__main__":
                NeedsFlow()
            """
        )
    )
    done = project.run("needs", "run")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: missing required parameter --size"
    _nothing_recorded(project)
    assert project.run("needs", "run", "--size", "4").returncode == 0


def test_duplicate_run_id_records_nothing_more(project: Project) -> None:
    assert project.run("nested", "run", "--run-id", "one").returncode == 0
    again = project.run("nested", "run", "--run-id", "one")
    assert again.returncode == 1
    assert "run NestedFlow/one exists already" in again.stderr
    assert len(project.runs("NestedFlow")) == 1
