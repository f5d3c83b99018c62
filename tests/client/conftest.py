"""Fixtures of the client tests: a recorded history in a temporary ``.flowtrail`` home (or in
PostgreSQL through the ``sql@`` provider), selected as the current provider, with the
namespace set to the user who recorded most of it.

The history (see ``history.py``), newest first:

====================  =====  =========  ==============================================
run                   user   status     notes
====================  =====  =========  ==============================================
TrainFlow/5           alice  failed     its third train task failed
TrainFlow/4           alice  succeeded  resumed from TrainFlow/1
TrainFlow/3           bob    succeeded  outside alice's namespace
TrainFlow/2           alice  succeeded  tags team:ml, prod; triggered by an event and by
                                        UpstreamFlow/1
TrainFlow/1           alice  succeeded  tag team:ml
UpstreamFlow/1        bob    succeeded  outside alice's namespace
====================  =====  =========  ==============================================
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowtrail.client import metadata, namespace
from flowtrail.client.provider import Provider, current_provider
from flowtrail.config.resolve import ENV_VARS
from flowtrail.model import Pathspec, TriggerEvent
from flowtrail.store import open_store
from tests.client.counting import counting  # noqa: F401 (a fixture for every client test)
from tests.client.history import T0, record_train_flow
from tests.conftest import truncate_all

ALICE = "user:alice"


@dataclass
class History:
    """The recorded history and the provider it was recorded through."""

    provider: Provider
    home: Path

    def run(self, run_id: str, flow: str = "TrainFlow") -> Pathspec:
        return Pathspec(flow, run_id)


@pytest.fixture(autouse=True)
def client_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Isolate the client's process-wide state: no FLOWTRAIL_* variables, no profile file,
    and the current provider and namespace restored after the test."""
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FLOWTRAIL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    # The modules, not the functions of the same names that flowtrail.client exports.
    provider_module = sys.modules["flowtrail.client.provider"]
    ns_module = sys.modules["flowtrail.client.namespace"]
    saved_provider, saved_namespace = provider_module._current, ns_module._current
    provider_module._current = None
    yield
    if provider_module._current is not None:
        provider_module._current.close()
    provider_module._current = saved_provider
    ns_module._current = saved_namespace


def record_history(provider: Provider) -> None:
    store, blobs = provider.store, provider.blobs
    record_train_flow(store, blobs, flow="UpstreamFlow", user="bob", created_at=T0)
    hour = timedelta(hours=1)
    record_train_flow(store, blobs, tags=["team:ml"], created_at=T0 + hour)
    trigger = (
        TriggerEvent("data_ready", T0, id="evt-1", type="event"),
        TriggerEvent("UpstreamFlow", T0 + hour, id="UpstreamFlow/1", type="run"),
    )
    record_train_flow(
        store, blobs, tags=["team:ml", "prod"], created_at=T0 + 2 * hour, trigger=trigger
    )
    record_train_flow(store, blobs, user="bob", created_at=T0 + 3 * hour)
    record_train_flow(store, blobs, created_at=T0 + 4 * hour, origin_run_id="1")
    record_train_flow(store, blobs, created_at=T0 + 5 * hour, fail_train=True)


@pytest.fixture(params=["local", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_history(request: pytest.FixtureRequest, tmp_path: Path) -> History:
    """The history in a local ``.flowtrail`` home, then in PostgreSQL (``sql@``)."""
    if request.param == "local":
        return request.getfixturevalue("history")
    engine: sa.Engine = request.getfixturevalue("postgres_engine")
    url: str = request.getfixturevalue("postgres_url")
    truncate_all(engine)
    mp = request.getfixturevalue("monkeypatch")
    mp.setenv("FLOWTRAIL_DATASTORE_ROOT", str(tmp_path / "blobs"))
    metadata(f"sql@{url}")
    namespace(ALICE)
    record_history(current_provider())
    return History(current_provider(), tmp_path / "blobs")


@pytest.fixture
def history(tmp_path: Path) -> History:
    """The history in ``<tmp>/.flowtrail``, the current provider ``local@<tmp>/.flowtrail``."""
    home = tmp_path / ".flowtrail"
    # Whoever records creates the home (the runtime does); reading one creates nothing.
    home.mkdir()
    open_store(f"sqlite:///{home / 'flowtrail.db'}").close()
    metadata(f"local@{home}")
    namespace(ALICE)
    record_history(current_provider())
    return History(current_provider(), home)
