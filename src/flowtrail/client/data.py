"""``Data`` and ``Artifacts``: a task's artifacts by name, with dot access."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flowtrail.client.artifact import DataArtifact
from flowtrail.errors import NotFound

__all__ = ["Artifacts", "Data"]


class _ByName:
    """Artifacts by name; ``obj.name``, ``obj['name']``, ``'name' in obj``, ``dir(obj)``."""

    def __init__(self, artifacts: Mapping[str, DataArtifact]) -> None:
        self._artifacts = dict(artifacts)

    def _get(self, name: str) -> DataArtifact:
        try:
            return self._artifacts[name]
        except KeyError:
            raise NotFound(
                f"no artifact {name!r}; the artifacts are {sorted(self._artifacts)}",
                details={"artifact": name},
            ) from None

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not attributes. Private names are never artifacts
        # (and must fail fast while the object is half built, e.g. during copy or pickle).
        if name.startswith("_") or name not in self.__dict__.get("_artifacts", {}):
            raise AttributeError(
                f"{type(self).__name__} has no artifact {name!r}; the artifacts are "
                f"{sorted(self.__dict__.get('_artifacts', {}))}"
            )
        return self._value(self._artifacts[name])

    def _value(self, artifact: DataArtifact) -> Any:
        raise NotImplementedError

    def __getitem__(self, name: str) -> Any:
        return self._value(self._get(name))

    def __contains__(self, name: object) -> bool:
        return name in self._artifacts

    def __dir__(self) -> list[str]:
        return sorted(self._artifacts)

    def __len__(self) -> int:
        return len(self._artifacts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {', '.join(sorted(self._artifacts))}>"


class Data(_ByName):
    """The values of a task's artifacts (``Task.data``).

    ``data.model`` is the value of the artifact ``model``, read from the blob store the
    first time; ``'model' in data`` tests for one; ``dir(data)`` lists the names;
    ``data['model']`` works too. A missing name is ``AttributeError`` with dot access and
    ``KeyError`` (:class:`~flowtrail.errors.NotFound`) with brackets.
    """

    def _value(self, artifact: DataArtifact) -> Any:
        return artifact.data

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._artifacts))


class Artifacts(_ByName):
    """A task's artifacts as :class:`DataArtifact` objects (``Task.artifacts``).

    ``artifacts.model`` and ``artifacts['model']`` are the ``DataArtifact``; iteration yields
    them by name.
    """

    def _value(self, artifact: DataArtifact) -> DataArtifact:
        return artifact

    def __iter__(self) -> Iterator[DataArtifact]:
        return iter([self._artifacts[name] for name in sorted(self._artifacts)])
