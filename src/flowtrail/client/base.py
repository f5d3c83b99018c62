"""What every client object shares: its pathspec, the provider and namespace it was created
with, the container protocol (iteration, ``obj['child']``, ``'child' in obj``) and the tags of
the run it belongs to."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from flowtrail.client.namespace import get_namespace
from flowtrail.client.provider import Provider, current_provider
from flowtrail.config import Settings
from flowtrail.errors import InvalidArgument, InvalidPathspec, NamespaceMismatch, NotFound
from flowtrail.model import (
    DEFAULT_PAGE_SIZE,
    Level,
    Page,
    PageRequest,
    Pathspec,
    RunRecord,
    iter_pages,
)

if TYPE_CHECKING:
    from flowtrail.blobs import BlobStore
    from flowtrail.store import MetadataStore

__all__ = [
    "UNSET",
    "ClientObject",
    "Container",
    "Context",
    "RunScoped",
    "paged",
    "pickled_settings",
    "unpickled_provider",
]

T = TypeVar("T")
C = TypeVar("C")
ObjT = TypeVar("ObjT", bound="ClientObject")

#: The value of ``_current_namespace`` that means "the namespace in force now".
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()

# The first page of a lazy listing is small: ``islice(flow, 10)`` or ``next(iter(flow))``
# should not load a hundred runs. Later pages are full.
_FIRST_PAGE = 20


def paged(fetch: Callable[[PageRequest], Page[T]], first: int = _FIRST_PAGE) -> Iterator[T]:
    """Yield the items of a ``find_*`` listing, one page fetched at a time, as they are needed.

    Args:
        fetch: Reads one page (``lambda page: store.find_runs(filter, page)``).
        first: The size of the first page; later pages hold up to 100 items.
    """
    return iter_pages(fetch, first, DEFAULT_PAGE_SIZE)


@dataclass(frozen=True, slots=True)
class Context:
    """What a client object reads through: its provider, and the namespace it was created in.

    Attributes:
        provider: The metadata provider (its stores are opened on first use).
        namespace: The namespace tag, or ``None`` for every namespace.
    """

    provider: Provider
    namespace: str | None

    @classmethod
    def of(cls, provider: Provider | Settings | None = None, namespace: Any = UNSET) -> Context:
        """The context of a new object: the given provider (or the current one) and the given
        namespace (or the one in force)."""
        if provider is None:
            provider = current_provider()
        elif isinstance(provider, Settings):
            provider = Provider(provider)
        elif not isinstance(provider, Provider):
            raise InvalidArgument(
                f"provider must be a flowtrail.client.Provider or flowtrail.config.Settings, "
                f"got {type(provider).__name__}"
            )
        if namespace is UNSET:
            namespace = get_namespace()
        if namespace is not None and not isinstance(namespace, str):
            raise InvalidArgument(f"a namespace is a tag or None, got {namespace!r}")
        return cls(provider, namespace)

    @property
    def store(self) -> MetadataStore:
        """The provider's metadata store."""
        return self.provider.store

    @property
    def blobs(self) -> BlobStore:
        """The provider's blob store."""
        return self.provider.blobs

    def check(self, obj: ClientObject, run: RunRecord) -> None:
        """Raise :class:`NamespaceMismatch` unless ``run`` carries the namespace tag."""
        if self.namespace is not None and self.namespace not in run.tags:
            raise self._mismatch(obj, run.pathspec)

    def check_run_of(self, obj: ClientObject, run: Pathspec) -> None:
        """Raise :class:`NamespaceMismatch` unless ``run``, the run of ``obj`` (which was
        found), carries the namespace tag: one point read, not the run's record."""
        if self.namespace is not None and not self.store.run_exists(run, namespace=self.namespace):
            raise self._mismatch(obj, run)

    def _mismatch(self, obj: ClientObject, run: Pathspec) -> NamespaceMismatch:
        return NamespaceMismatch(
            f"{type(obj).__name__}({str(obj.pathspec)!r}) is not in the current namespace "
            f"{self.namespace!r} (its run is not tagged {self.namespace!r}); call "
            f"namespace(None) to see every run, namespace('user:<name>') for another "
            f"user's runs, or pass _namespace_check=False",
            details={"pathspec": str(run), "namespace": self.namespace},
        )


def pickled_settings(ctx: Context) -> Settings:
    """The settings a pickle of a client object carries: those of its provider, without a
    service token (a pickle must not carry one)."""
    return replace(ctx.provider.settings, service_token=None)


def unpickled_provider(settings: Settings) -> Provider | Settings:
    """What an unpickled client object reads through: the current provider when it names the
    same stores (it holds their connections and any token), else ``settings``."""
    current = current_provider()
    same = current.key == (settings.metadata_url, settings.blob_url)
    return current if same else settings


def _unpickle(
    cls: type[ObjT],
    pathspec: str,
    kwargs: dict[str, Any],
    settings: Settings,
    namespace: str | None,
) -> ObjT:
    """A pickled client object, read again (see :func:`unpickled_provider`)."""
    return cls(
        pathspec,
        provider=unpickled_provider(settings),
        _namespace_check=False,
        _current_namespace=namespace,
        **kwargs,
    )


def check_attempt(attempt: int | None) -> None:
    """Refuse an attempt number that is not ``None`` or an int >= 0 (``Task``, ``DataArtifact``)."""
    if attempt is not None and (
        not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 0
    ):
        raise InvalidArgument(f"attempts count from 0; attempt must be an int, got {attempt!r}")


def parse_pathspec(pathspec: str | Pathspec, level: Level) -> Pathspec:
    """A pathspec of exactly ``level``, from text or a :class:`Pathspec`.

    Raises:
        InvalidPathspec: with the expected shape, e.g. ``expected 'Flow/run_id', got 'F'``.
    """
    if isinstance(pathspec, Pathspec):
        return pathspec.expect(level)
    return Pathspec.parse(pathspec, level)


class ClientObject(abc.ABC):
    """A flow, run, step, task or artifact, addressed by its pathspec.

    Objects are lazy: creating one reads its own record (one store query, plus the run's
    tags for the namespace check); everything else is read when asked for.

    Args:
        pathspec: ``'Flow'``, ``'Flow/run_id'``, ... as the class expects.
        provider: Read through this provider (or these settings) instead of the current one.
        _namespace_check: ``False`` to instantiate an object outside the current namespace.
        _current_namespace: The namespace to use instead of the one in force.

    Raises:
        InvalidPathspec: the pathspec does not have the class's shape.
        NotFound: the object does not exist (also a ``KeyError``).
        NamespaceMismatch: its run is outside the namespace.
    """

    _level: ClassVar[Level]

    def __init__(
        self,
        pathspec: str | Pathspec,
        *,
        provider: Provider | Settings | None = None,
        _namespace_check: bool = True,
        _current_namespace: str | None = UNSET,
    ) -> None:
        self._spec = parse_pathspec(pathspec, self._level)
        self._ctx = Context.of(provider, _current_namespace)
        self._load(_namespace_check)

    @classmethod
    def bound(cls, pathspec: str | Pathspec, provider: Provider | Settings) -> Self:
        """The object read through explicit settings or provider, in every namespace.

        For code that records a run and hands it back (``run_flow``): the object does not
        depend on the current provider or namespace, and neither do the objects reached
        from it.

        Args:
            pathspec: The object's pathspec.
            provider: A :class:`Provider` (possibly sharing open stores), or settings.

        Raises:
            NotFound: the object does not exist.
        """
        return cls(pathspec, provider=provider, _namespace_check=False, _current_namespace=None)

    @abc.abstractmethod
    def _load(self, namespace_check: bool) -> None:
        """Read the object's record; check the namespace when asked to."""

    def _init_kwargs(self) -> dict[str, Any]:
        """What the constructor takes besides the pathspec to make this object again."""
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by what names it: its class, pathspec, settings (without a service
        # token, which a pickle must not carry) and namespace; read again when unpickled.
        settings = pickled_settings(self._ctx)
        return (
            _unpickle,
            (type(self), str(self._spec), self._init_kwargs(), settings, self._ctx.namespace),
        )

    def _init(self, ctx: Context, spec: Pathspec) -> None:
        self._spec = spec
        self._ctx = ctx

    def _open(self, cls: type[ObjT], spec: Pathspec, **kwargs: Any) -> ObjT:
        """Another object (a parent, a related task) read through this object's context,
        without a second namespace check."""
        return cls(
            spec,
            provider=self._ctx.provider,
            _namespace_check=False,
            _current_namespace=self._ctx.namespace,
            **kwargs,
        )

    @property
    def _store(self) -> MetadataStore:
        return self._ctx.store

    @property
    def id(self) -> str:
        """The last component of the pathspec: flow name, run id, step name, task id or
        artifact name."""
        return self._spec.id

    @property
    def pathspec(self) -> str:
        """The pathspec: ``'TrainFlow/12/train/345'``."""
        return str(self._spec)

    @property
    def path_components(self) -> list[str]:
        """The components of the pathspec: ``['TrainFlow', '12', 'train', '345']``."""
        return list(self._spec.components)

    @property
    def provider(self) -> Provider:
        """The metadata provider this object reads through."""
        return self._ctx.provider

    @property
    @abc.abstractmethod
    def created_at(self) -> datetime:
        """When the object was recorded (aware UTC)."""

    @property
    @abc.abstractmethod
    def parent(self) -> ClientObject | None:
        """The object one level up (a run's flow, a task's step); ``None`` for a flow."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pathspec!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientObject):
            return NotImplemented
        return type(self) is type(other) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._identity()))

    def _identity(self) -> tuple[object, ...]:
        return (self._spec, self._ctx.provider.key)


class Container(abc.ABC, Generic[C]):
    """The container protocol of objects that have children.

    ``iter(obj)`` yields the children lazily, ``obj[id]`` returns one (``KeyError`` —
    :class:`~flowtrail.errors.NotFound` — when there is none), ``id in obj`` tests for one.
    """

    @abc.abstractmethod
    def _child(self, name: str) -> C:
        """The child ``name``; NotFound when missing, InvalidPathspec for a malformed name."""

    @abc.abstractmethod
    def _children(self) -> Iterator[C]:
        """The children, read lazily."""

    def __iter__(self) -> Iterator[C]:
        return self._children()

    def __getitem__(self, name: str) -> C:
        if not isinstance(name, str):
            raise NotFound(f"a child is named by a string id, got {name!r}")
        return self._child(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._child(name)
        except (NotFound, InvalidPathspec, NamespaceMismatch):
            return False
        return True


class RunScoped(ClientObject):
    """An object at the run level or below: it shares the tags of its run."""

    @property
    def _run_spec(self) -> Pathspec:
        return self._spec.truncate(Level.RUN)

    def _run_record(self) -> RunRecord:
        """The run's record, read now: tags change at any time."""
        return self._store.get_run(self._run_spec)

    @property
    def tags(self) -> frozenset[str]:
        """The tags of the run this object belongs to, user and system tags together
        (read from the store at every access: another process may have changed them; a run
        yielded by a listing answers its first tag question from the record the listing
        read)."""
        return self._run_record().tags

    @property
    def user_tags(self) -> frozenset[str]:
        """The user tags of the run this object belongs to."""
        return self._run_record().user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        """The system tags of the run this object belongs to (``user:…``, ``runtime:…``)."""
        return self._run_record().system_tags

    @property
    @abc.abstractmethod
    def origin_pathspec(self) -> str | None:
        """For an object of a resumed run that was cloned from an earlier run, the pathspec of
        the original object; otherwise ``None``."""
