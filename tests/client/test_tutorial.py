"""Every code snippet of the reference client tutorial (``shared/seeds/003_*.txt``) runs
unchanged, with ``from metaflow import`` replaced by ``from flowtrail.compat.metaflow
import``, against real runs of ``tests/client/flows/myflow.py`` made by the runtime.

The seed is the tutorial page flattened to text: headings, prose and code on separate lines,
with the code's indentation lost. The snippets are recovered from it by rules, not copied by
hand, so a snippet the rules miss changes the counts this test asserts:

Which lines are code (:func:`classify`):

* a comment (``# ...``), a line that compiles as a Python statement (a line ending in ``:``
  compiles with a body after it), the lines that complete an open bracket, and ``else:``,
  ``elif …:``, ``except …:``, ``finally:`` after code;
* a prose line that goes on straight after a colon with no space (``reuse it:flow =
  Flow('MyFlow')``) holds the first line of a snippet after that colon: the flattening lost
  the line break there;
* everything else is prose: headings, sentences, and the hierarchy diagram (``Metaflow (all
  flows)``, ``└─ Flow (specific flow)``), which is not Python.

A snippet is a run of consecutive code lines. Its indentation is restored by
:func:`indent`: a line ending in ``:`` opens a block; ``else``/``elif``/``except``/``finally``
go back to their header's level; a comment closes every open block (it starts a new paragraph
at the snippet's top level) except straight after a header, where it is the body's first
line; a block whose body holds only comments gets ``pass`` (the tutorial elides the body of
``for run in flow: # Analyze run...``).

The snippets run in order in one namespace, as a reader pastes them into one session: later
snippets use the names earlier ones bound (``run``, ``task``, ``data``).

The ids the tutorial names are real ids of the runs: run ``123`` (``--run-id 123``, a foreach
of 455 ``train`` tasks, so ``train/456`` is its last train task), run ``RunID``, and the latest
run (tagged ``production``). Task ids are unique within a run, in Metaflow as in flowtrail,
so no run has both ``train/456`` and ``join/456``: the one snippet that reads
``Task('MyFlow/123/join/456')`` (*Access Parent/Child Tasks*) runs with the metadata provider
switched to a second project, where run ``123`` has 454 train tasks and its join is task 456.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flowtrail.client import metadata
from flowtrail.model import Pathspec
from tests.runtime.conftest import Project

SEED = Path(__file__).parents[3] / "shared" / "seeds" / "003_d6ddf18a27c15827.txt"
FLOW = Path(__file__).parent / "flows" / "myflow.py"

# What the rules find in the seed; a change to the seed or to the rules shows here.
SNIPPETS = 21
CODE_LINES = 192

_DEDENT = re.compile(r"(else|elif\b.*|except\b.*|finally)\s*:\s*(#.*)?$")
_GLUED = re.compile(
    r"^[A-Z][^()\[\]{}'\"]*?:(?=\S)"
)  # "Prose text:code" with no space after the colon


# -- finding the snippets ----------------------------------------------------------------------


def _compiles(source: str) -> bool:
    try:
        compile(source, "<tutorial>", "exec")
    except SyntaxError:
        return False
    return True


def _statement(line: str) -> bool:
    """Whether ``line`` alone is a Python statement (a block header with a body after it)."""
    stripped = line.strip()
    if _compiles(stripped):
        return True
    return stripped.endswith(":") and _compiles(stripped + "\n    pass")


def _open_brackets(line: str) -> int:
    """How many brackets ``line`` opens minus how many it closes (strings and comments
    aside)."""
    depth = 0
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote and line[i - 1] != "\\":
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#":
            break
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
    return depth


def classify(lines: list[str]) -> list[str | None]:
    """For each line of the seed, its code (a glued prose line gives only the code after
    the colon), or ``None`` for prose."""
    out: list[str | None] = []
    depth = 0  # open brackets of the code line being continued
    for line in lines:
        text = line.strip()
        previous_is_code = bool(out) and out[-1] is not None
        if depth > 0:
            out.append(text)
            depth += _open_brackets(text)
            continue
        glued = _GLUED.match(text)
        if glued and not _statement(text):
            text = text[glued.end() :]
        if (
            text.startswith("#")
            or _statement(text)
            or (previous_is_code and _DEDENT.match(text))
            or (_open_brackets(text) > 0 and _starts_statement(text))
        ):
            out.append(text)
            depth = max(_open_brackets(text), 0)
        else:
            out.append(None)
    return out


def _starts_statement(text: str) -> bool:
    """Whether ``text`` is the first line of a statement that goes on over several lines:
    it compiles once its open brackets are closed."""
    closing = {"(": ")", "[": "]", "{": "}"}
    stack = [c for c in text if c in closing]
    return _compiles(text + "".join(closing[c] for c in reversed(stack)))


def indent(lines: list[str]) -> str:
    """The snippet's source with its indentation restored (the rules in the module
    docstring)."""
    out: list[str] = []
    level = 0
    body_empty = False  # the innermost block has no statement yet
    after_header = False
    depth = 0
    for text in lines:
        if depth > 0:  # inside brackets: indentation does not matter
            out.append("    " * level + text)
            depth += _open_brackets(text)
            continue
        if text.startswith("#"):
            if not after_header:
                if body_empty:
                    out.append("    " * level + "pass")
                level = 0
            out.append("    " * level + text)
            continue
        if _DEDENT.match(text):
            level -= 1
        out.append("    " * level + text)
        depth = max(_open_brackets(text), 0)
        header = depth == 0 and text.split("#")[0].rstrip().endswith(":")
        after_header = body_empty = header
        if header:
            level += 1
    if body_empty:
        out.append("    " * level + "pass")
    return "\n".join(out) + "\n"


@dataclass
class Snippet:
    """One snippet: where it starts in the seed, the heading above it, and its source."""

    line: int
    heading: str
    source: str


def snippets(text: str) -> list[Snippet]:
    """The seed's snippets, in order, with ``from metaflow import`` replaced."""
    lines = text.splitlines()
    found: list[Snippet] = []
    current: list[str] = []
    start = 0
    heading = ""
    for number, code in enumerate(classify(lines), 1):
        if code is None:
            if current:
                found.append(Snippet(start, heading, indent(current)))
                current = []
            heading = lines[number - 1].strip()
            continue
        if not current:
            start = number
        glued = lines[number - 1].strip()
        if code != glued:  # prose glued to the snippet's first line: the prose is its heading
            heading = glued[: len(glued) - len(code)]
        current.append(code)
    if current:
        found.append(Snippet(start, heading, indent(current)))
    for snippet in found:
        snippet.source = snippet.source.replace(
            "from metaflow import", "from flowtrail.compat.metaflow import"
        )
    return found


# -- the runs the snippets read ----------------------------------------------------------------


@dataclass
class Projects:
    """The main project (every snippet but one reads it) and the one whose run 123 has
    ``join/456``."""

    main: Project
    joins: Project
    latest: str


def _project(path: Path) -> Project:
    path.mkdir()
    shutil.copy(FLOW, path / FLOW.name)
    return Project(path)


def _run(project: Project, *args: str) -> None:
    done = project.run("myflow", "run", *args)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Projects]:
    root = tmp_path_factory.mktemp("tutorial")
    main, joins = _project(root / "main"), _project(root / "joins")
    _run(main, "--run-id", "123", "--width", "455")
    failed = main.run("myflow", "run", "--run-id", "RunID", "--fail", "true")
    assert failed.returncode != 0
    _run(main, "--width", "3")
    _run(main, "--width", "4", "--tag", "production", "--trigger-event", "data_ready:evt-1")
    _run(joins, "--run-id", "123", "--width", "454")
    latest = main.latest("MyFlow").pathspec.run_id
    assert latest is not None
    yield Projects(main, joins, latest)
    main.close()
    joins.close()


# -- the test ----------------------------------------------------------------------------------


def test_the_rules_find_every_snippet() -> None:
    found = snippets(SEED.read_text())
    assert len(found) == SNIPPETS
    assert sum(len(s.source.splitlines()) for s in found) == CODE_LINES
    for snippet in found:
        compile(snippet.source, f"<tutorial line {snippet.line}>", "exec")
        assert "from metaflow" not in snippet.source
    # Prose that ends in glued code, and the diagram, are handled as the rules say.
    sources = [s.source for s in found]
    assert "flow = Flow('MyFlow')\nfor run in flow:\n    # Analyze run...\n    pass\n" in sources
    assert not any("└─" in s or "(all flows)" in s for s in sources)


def test_every_tutorial_snippet_runs(projects: Projects, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(projects.main.path)  # metadata('local') and default_metadata() read here
    found = snippets(SEED.read_text())
    scope: dict[str, Any] = {"__name__": "tutorial"}
    printed: dict[str, str] = {}
    ran = 0
    for snippet in found:
        other = "Task('MyFlow/123/join/456')" in snippet.source
        if other:
            metadata(f"local@{projects.joins.path / '.flowtrail'}")
        out = io.StringIO()
        with redirect_stdout(out):
            exec(compile(snippet.source, f"<tutorial line {snippet.line}>", "exec"), scope)
        if other:
            metadata(f"local@{projects.main.path / '.flowtrail'}")
        printed[snippet.heading] = out.getvalue()
        ran += 1
    assert ran == SNIPPETS
    _check_what_they_read(projects, printed, scope)


def _check_what_they_read(
    projects: Projects, printed: dict[str, str], scope: dict[str, Any]
) -> None:
    """The snippets read the real runs: the facts they printed and the names they bound."""
    main, latest = projects.main, projects.latest
    runs = [run.pathspec.run_id for run in main.runs("MyFlow")]
    assert runs == [latest, str(int(latest) - 1), "RunID", "123"]
    train = main.tasks(Pathspec("MyFlow", latest, "train"))
    first = train[0].pathspec
    end = main.tasks(Pathspec("MyFlow", latest, "end"))[0].pathspec
    accuracy = main.artifacts(end)["accuracy"]

    assert printed["The entry point for accessing all flows:"] == "MyFlow\n"
    assert printed["Access a specific flow by name:"].splitlines() == [
        f"Run: {run_id}, Created: {main.store.get_run(Pathspec('MyFlow', run_id)).created_at}"
        for run_id in runs
    ]
    assert printed["Flow Attributes"] == f"MyFlow\nRun('MyFlow/{latest}')\nRun('MyFlow/{latest}')\n"
    lines = printed["A Run represents a single execution of a flow:"].splitlines()
    assert lines[:2] == [latest, f"MyFlow/{latest}"]
    assert lines[4:6] == ["True", "True"]
    assert "'production'" in lines[6]
    assert lines[7] == "frozenset({'production'})"
    assert printed["Accessing Steps"] == "Step: end\nStep: join\nStep: train\nStep: start\n"
    assert scope["train_step"].pathspec == f"MyFlow/{latest}/train"
    data_lines = printed["Access data artifacts from any step in the run:"].splitlines()
    assert data_lines[0] == str(accuracy)
    lines = printed["A Step contains all tasks for that step:"].splitlines()
    assert lines[:2] == ["train", f"MyFlow/{latest}/train"]
    assert lines[3] == str(max(t.finished_at for t in train if t.finished_at))
    assert lines[4:] == [f"Task: {t.task_id}, Index: {i}" for i, t in enumerate(train)]
    lines = printed["A Task represents a single execution of a step:"].splitlines()
    assert lines[:3] == [first.task_id, str(first), "0"]
    assert lines[5:8] == ["True", "True", "None"]
    lines = printed["Access all artifacts from a task:"].splitlines()
    assert lines[1:3] == [str(main.artifacts(first)[name]) for name in ("accuracy", "loss")]
    assert {"accuracy", "loss", "model", "params", "result"} <= set(lines)
    assert "attempt: 0" in lines
    assert "runtime: local" in lines
    assert lines[-2:] == ["0", "local"]
    lines = printed["Access individual artifacts:"].splitlines()
    assert lines[0] == "model"
    assert lines[1] == str(main.artifacts(first)["model"])
    assert scope["artifact"].pathspec == f"{first}/model"
    assert printed["Get Latest Successful Run"] == f"Latest run: {latest}\nAccuracy: {accuracy}\n"
    compared = printed["Compare Runs"].splitlines()
    assert [line.split()[1] for line in compared] == [f"{r}:" for r in runs if r != "RunID"]
    assert printed["Analyze Foreach Results"].endswith(f"Best accuracy: {accuracy}\n")
    # The one snippet that reads the second project: run 123 there joins 454 train tasks.
    lines = printed["Access Parent/Child Tasks"].splitlines()
    parents = [line for line in lines if line.startswith("Parent: ")]
    assert parents == [f"Parent: MyFlow/123/train/{i}" for i in range(2, 456)]
    last = projects.joins.artifacts(Pathspec("MyFlow", "123", "train", "455"))["result"]
    assert lines[-2] == f"Result: {last}"
    assert last["task"] == "455"
    assert lines[-1] == "Child: MyFlow/123/end/457"
    code = printed["Download Code Package"]
    assert code.startswith("Script: myflow.py\nLocation: file://")
    assert FLOW.read_text() in code
    assert "Code extracted to: " in code
    assert code.endswith(f"Production run: {latest}\n")
    assert [run.id for run in scope["production_runs"]] == [latest]
    assert printed["Control which runs are visible:"].startswith("user:")
    home = main.path / ".flowtrail"
    assert printed["Switch between metadata providers:"] == f"local@{home}\n"
    # ``task`` is still the join of the second project (objects keep their provider).
    join = Pathspec("MyFlow", "123", "join", "456")
    assert scope["model"] == projects.joins.artifacts(join)["model"]
