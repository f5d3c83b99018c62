"""Many processes writing one history at once: run ids stay distinct and gap-free, no
"database is locked" error, no row lost.

Four real processes start together (they wait on a common start file) and create 250 runs
of the same flow each. On SQLite they also open a database file that does not exist yet,
so they race to create its schema too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowtrail.model import PageRequest, RunFilter
from flowtrail.store import SqlStore, open_store
from tests.conftest import truncate_all

pytestmark = pytest.mark.slow

PROCESSES = 4
RUNS_EACH = 250

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from flowtrail.model import NewRun
    from flowtrail.store import open_store

    url, go, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    while not os.path.exists(go):
        time.sleep(0.005)
    store = open_store(url)
    ids = [store.create_run(NewRun("Busy", tags=frozenset({"load"}))).run_id
           for _ in range(count)]
    store.close()
    print(json.dumps(ids))
    """
)


def _race(url: str, tmp_path: Path) -> list[int]:
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(go), str(RUNS_EACH)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    time.sleep(0.5)  # let every worker import and start polling
    go.touch()
    ids: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert "locked" not in err
        ids += [int(i) for i in json.loads(out)]
    return ids


def _all_run_ids(url_or_store: str | SqlStore) -> list[int]:
    store = open_store(url_or_store) if isinstance(url_or_store, str) else url_or_store
    found: list[int] = []
    request: PageRequest | None = PageRequest(1000)
    while request is not None:
        page = store.find_runs(RunFilter.of("Busy", tags=["load"]), request)
        found += [int(r.run_id) for r in page]
        request = page.next_request()
    return found


def test_four_processes_on_one_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    ids = _race(url, tmp_path)
    assert sorted(ids) == list(range(1, PROCESSES * RUNS_EACH + 1))
    stored = _all_run_ids(url)
    assert stored == sorted(stored, reverse=True)
    assert sorted(stored) == list(range(1, PROCESSES * RUNS_EACH + 1))


def test_four_processes_on_postgresql(
    tmp_path: Path, postgres_url: str, postgres_engine: sa.Engine
) -> None:
    truncate_all(postgres_engine)
    ids = _race(postgres_url, tmp_path)
    assert sorted(ids) == list(range(1, PROCESSES * RUNS_EACH + 1))
    assert sorted(_all_run_ids(SqlStore(postgres_engine))) == sorted(ids)
