"""The docs are part of the product: every ```python block in README.md and docs/ runs as
shown, in an empty working directory, and every public name is documented in the reference."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
PUBLIC_PACKAGES = [
    "flowtrail",
    "flowtrail.errors",
    "flowtrail.model",
    "flowtrail.store",
    "flowtrail.store.sql",
    "flowtrail.store.http",
    "flowtrail.blobs",
    "flowtrail.config",
    "flowtrail.client",
    "flowtrail.compat.metaflow",
    "flowtrail.runtime",
    "flowtrail.workflow",
    "flowtrail.wire",
    "flowtrail.service",
]


def _blocks() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for number, match in enumerate(BLOCK.finditer(path.read_text()), start=1):
            found.append((f"{path.relative_to(ROOT)}#{number}", match.group(1)))
    return found


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a new user: no flowtrail settings, an empty home folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRAIL_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def test_the_docs_have_examples() -> None:
    assert len(_blocks()) >= 8


@pytest.mark.parametrize(("where", "code"), _blocks(), ids=[w for w, _ in _blocks()])
def test_example_runs(where: str, code: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{where} failed:\n{result.stderr}"
    assert result.stdout.strip(), f"{where} printed nothing: an example should show something"


def _reference_text() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_all_is_honest(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(module.__all__)
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which is missing"
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("flowtrail")
        and not isinstance(value, type(sys))
        and (isinstance(value, type) or callable(value))
    }
    assert public <= exported, f"{package} defines public names not in __all__: {public - exported}"


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_public_name_is_documented(package: str) -> None:
    text = _reference_text()
    fenced = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
    code = " ".join(fenced.findall(text))
    spans = code + " " + " ".join(re.findall(r"`([^`\n]+)`", fenced.sub("", text)))
    missing = [
        name
        for name in importlib.import_module(package).__all__
        if name != "__version__" and not re.search(rf"\b{re.escape(name)}\b", spans)
    ]
    assert missing == [], f"{package}: not in docs/reference: {missing}"
