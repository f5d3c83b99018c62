"""A foreach of 1,000 tasks: every task, artifact and log line recorded."""

from __future__ import annotations

import pytest

from flowtrail.model import LogStream, Status

from .conftest import Project


@pytest.mark.slow
def test_a_thousand_task_foreach_records_everything(project: Project) -> None:
    done = project.run("wide", "run", "--width", "1000", "--quiet")
    assert done.returncode == 0, done.stderr
    run = project.latest("WideFlow")
    assert run.status is Status.SUCCEEDED
    tasks = project.tasks(run.pathspec)
    each = [t for t in tasks if t.pathspec.step == "each"]
    assert len(each) == 1000
    assert len(tasks) == 1003
    assert all(t.status is Status.SUCCEEDED for t in tasks)
    assert sorted(t.foreach_stack[-1].index for t in each) == list(range(1000))
    for task in each[::97]:
        index = task.foreach_stack[-1].index
        rows = {a.pathspec.artifact: a for a in project.store.find_artifacts(task.pathspec)}
        assert rows["square"].value == index * index
        lines = project.store.read_log_lines(task.pathspec, attempt=0, stream=LogStream.STDOUT)
        assert [line.text for line in lines] == [f"item {index}"]
    end = next(t for t in tasks if t.pathspec.step == "end")
    assert project.log(end.pathspec) == [f"total {sum(i * i for i in range(1000))}"]
