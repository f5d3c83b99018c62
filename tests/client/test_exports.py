"""The client's names are exported from ``flowtrail`` itself, loaded on first use."""

from __future__ import annotations

import subprocess
import sys

import flowtrail
import flowtrail.client as client

NAMES = [
    "Flowtrail",
    "Flow",
    "Run",
    "Step",
    "Task",
    "DataArtifact",
    "namespace",
    "get_namespace",
    "default_namespace",
    "metadata",
    "get_metadata",
    "default_metadata",
]


def test_the_client_names_are_exported_from_flowtrail() -> None:
    for name in NAMES:
        assert name in flowtrail.__all__
        assert getattr(flowtrail, name) is getattr(client, name)
    from flowtrail import Flow, Flowtrail, namespace

    assert (Flow, Flowtrail, namespace) == (client.Flow, client.Flowtrail, client.namespace)


def test_importing_flowtrail_loads_neither_the_client_nor_sqlalchemy() -> None:
    probe = (
        "import sys, flowtrail; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' "
        "or m.startswith('flowtrail.client')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    used = probe.replace("import sys, flowtrail;", "import sys, flowtrail; flowtrail.Flow;")
    done = subprocess.run([sys.executable, "-c", used], capture_output=True, text=True, check=True)
    assert "flowtrail.client" in done.stdout
    assert "sqlalchemy" not in done.stdout
