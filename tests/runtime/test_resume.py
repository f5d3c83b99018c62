"""Resume: a new run clones the successful tasks before the failed step and runs the rest."""

from __future__ import annotations

from flowtrail.model import Status

from .conftest import Project


def test_resume_after_a_failure_clones_by_reference(project: Project) -> None:
    marker = project.path / "fail-now"
    marker.write_text("x")
    failed = project.run("resumable", "run", RESUME_FAIL=str(marker))
    assert failed.returncode == 1
    origin = project.latest("ResumableFlow")
    assert origin.status is Status.FAILED

    marker.unlink()
    resumed = project.run("resumable", "resume", RESUME_FAIL=str(marker))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    run = project.latest("ResumableFlow")
    assert run.pathspec != origin.pathspec
    assert run.status is Status.SUCCEEDED
    assert run.origin_run_id == origin.pathspec.run_id
    assert f"origin-run:{origin.pathspec.run_id}" in run.system_tags
    assert "resume-step:second" in run.system_tags

    old = {
        (t.pathspec.step, tuple(f.index for f in t.foreach_stack)): t
        for t in project.tasks(origin.pathspec)
    }
    new = project.tasks(run.pathspec)
    cloned = [t for t in new if t.origin_pathspec is not None]
    assert sorted(t.pathspec.step for t in cloned) == ["first", "first", "gather", "start"]
    for task in cloned:
        source = old[(task.pathspec.step, tuple(f.index for f in task.foreach_stack))]
        assert task.origin_pathspec == source.pathspec  # e.g. ResumableFlow/1/start/1
        assert task.status is Status.SUCCEEDED
        # A copy's times are the copy's: they agree with each other and with the new run.
        assert task.finished_at is not None
        assert run.created_at <= task.created_at <= task.finished_at
        attempt = project.store.get_attempt(task.pathspec)
        assert task.created_at <= attempt.started_at <= attempt.finished_at  # type: ignore[operator]
        # Artifacts by reference: the same blobs, no bytes copied.
        new_rows = {a.pathspec.artifact: a.sha for a in project.store.find_artifacts(task.pathspec)}
        old_rows = {
            a.pathspec.artifact: a.sha for a in project.store.find_artifacts(source.pathspec)
        }
        assert new_rows == old_rows
    start = next(t for t in cloned if t.pathspec.step == "start")
    assert project.log(start.pathspec) == ["start ran"]  # logs reachable from the clone
    assert project.store.find_metadata(start.pathspec, field_name="host").items
    ran = [t for t in new if t.origin_pathspec is None]
    assert sorted(t.pathspec.step for t in ran) == ["end", "second"]
    end = next(t for t in ran if t.pathspec.step == "end")
    assert project.log(end.pathspec) == ["result 61"]
    second = next(t for t in ran if t.pathspec.step == "second")
    assert project.artifacts(second.pathspec)["origin"] == origin.pathspec.run_id  # current


def test_resume_from_a_named_step(project: Project) -> None:
    assert project.run("resumable", "run").returncode == 0
    origin = project.latest("ResumableFlow")
    done = project.run("resumable", "resume", origin.pathspec.run_id or "", "--step", "gather")
    assert done.returncode == 0, done.stderr
    run = project.latest("ResumableFlow")
    steps = {t.pathspec.step: t.origin_pathspec for t in project.tasks(run.pathspec)}
    assert steps["start"] is not None
    assert steps["first"] is not None
    assert steps["gather"] is None
    assert steps["end"] is None
    assert "resume-step:gather" in run.system_tags


def test_resume_of_a_successful_run_needs_a_step(project: Project) -> None:
    assert project.run("resumable", "run").returncode == 0
    done = project.run("resumable", "resume")
    assert done.returncode == 1
    assert "nothing to resume; pass --step STEP" in done.stderr
    assert len(project.runs("ResumableFlow")) == 1
