"""``DataArtifact``: one value a task stored, read from the blob store when asked for."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowtrail.client.base import UNSET, Context, RunScoped, check_attempt
from flowtrail.config import Settings
from flowtrail.model import ArtifactRecord, Level, Pathspec, Scalar

if TYPE_CHECKING:
    from flowtrail.client.provider import Provider
    from flowtrail.client.task import Task

__all__ = ["DataArtifact"]

_MISSING: Any = object()


class DataArtifact(RunScoped):
    """One artifact of a task: its value and where its bytes are. The leaf of the
    hierarchy (it has no children).

    Args:
        pathspec: ``'TrainFlow/12/train/345/model'``.
        attempt: The attempt whose artifact to show; ``None`` for the latest attempt that
            recorded one of that name.

    Raises:
        NotFound: no such task or artifact.
        NamespaceMismatch: its run is outside the current namespace.

    Example:
        ``DataArtifact('TrainFlow/12/train/345/model').data``.
    """

    _level = Level.ARTIFACT

    def __init__(
        self,
        pathspec: str | Pathspec,
        attempt: int | None = None,
        *,
        provider: Provider | Settings | None = None,
        _namespace_check: bool = True,
        _current_namespace: str | None = UNSET,
    ) -> None:
        check_attempt(attempt)
        self._asked = attempt
        self._value = _MISSING
        super().__init__(
            pathspec,
            provider=provider,
            _namespace_check=_namespace_check,
            _current_namespace=_current_namespace,
        )

    def _load(self, namespace_check: bool) -> None:
        self._record = self._store.get_artifact(self._spec, self._asked)
        if namespace_check:
            self._ctx.check_run_of(self, self._run_spec)

    def _init_kwargs(self) -> dict[str, Any]:
        return {"attempt": self._asked}

    @classmethod
    def _from_record(
        cls, ctx: Context, record: ArtifactRecord, asked: int | None = None
    ) -> DataArtifact:
        """The artifact of ``record``; ``asked`` is the attempt its task was asked for."""
        artifact = cls.__new__(cls)
        artifact._init(ctx, record.pathspec)
        artifact._record = record
        artifact._asked = asked
        artifact._value = _MISSING
        return artifact

    @property
    def data(self) -> Any:
        """The value, deserialised from the blob store on first use (then kept)."""
        if self._value is _MISSING:
            from flowtrail.blobs import deserialize

            self._value = deserialize(self.raw, self._record.encoding)
        return self._value

    @property
    def raw(self) -> bytes:
        """The stored bytes, as :attr:`encoding` says (a pickle, UTF-8 text, JSON or the
        bytes themselves), read from the blob store without deserialising them: for a value
        whose classes cannot be imported here, or to copy it elsewhere. Not kept."""
        return self._ctx.blobs.get(self._record.sha)

    @property
    def sha(self) -> str:
        """The content hash of its stored bytes (the blob key)."""
        return self._record.sha

    @property
    def size(self) -> int:
        """Its serialised size in bytes."""
        return self._record.size

    @property
    def python_type(self) -> str:
        """The type it was serialised from (``'builtins.float'``)."""
        return self._record.python_type

    @property
    def encoding(self) -> str:
        """How it was serialised (``'pickle-v5'``, ``'json'``, ``'utf-8'``, ``'bytes'``)."""
        return self._record.encoding

    @property
    def value(self) -> Scalar | None:
        """The value kept beside the blob for search, for small scalars; else ``None``."""
        return self._record.value

    @property
    def attempt(self) -> int:
        """The attempt that stored it."""
        return self._record.attempt

    @property
    def created_at(self) -> datetime:
        """When it was recorded."""
        return self._record.created_at

    @property
    def finished_at(self) -> datetime:
        """The same as :attr:`created_at`: an artifact is finished when it is recorded."""
        return self._record.created_at

    @property
    def parent(self) -> Task:
        """Its task (showing the attempt this artifact was asked for, else the latest)."""
        from flowtrail.client.task import Task

        return self._open(Task, self._spec.truncate(Level.TASK), attempt=self._asked)

    @property
    def origin_pathspec(self) -> str | None:
        """For an artifact of a task cloned by a resume, the same artifact of the original."""
        origin = self._store.get_task(self._spec.truncate(Level.TASK)).origin_pathspec
        return None if origin is None else f"{origin}/{self.id}"

    def _identity(self) -> tuple[object, ...]:
        return (*super()._identity(), self._asked)
