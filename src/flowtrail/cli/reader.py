"""How the reading commands open the history: one client provider per command, the
``--namespace`` option, and pathspecs turned into client objects.

The commands read through :mod:`flowtrail.client`, never through a store directly. Unlike
the client, whose default namespace is ``user:<you>``, the command line reads **every
namespace** unless ``--namespace TAG`` is given: a pathspec names one run exactly, and a
listing is usually asked for to see what everyone ran. With ``--namespace``, listings show
only the runs carrying that tag, and a pathspec of a run without it (or of a flow none of whose
runs carries it) is an error that says how to see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from flowtrail.cli.context import CliContext
from flowtrail.client import DataArtifact, Flow, Flowtrail, Provider, Run, Step, Task
from flowtrail.client.base import ClientObject
from flowtrail.config.settings import DB_FILENAME
from flowtrail.errors import InvalidArgument, InvalidQuery, NamespaceMismatch, NotFound
from flowtrail.model import Level, Pathspec, validate_tag

__all__ = ["Reader", "namespace_option", "search_errors"]

F = TypeVar("F", bound=Callable[..., Any])

_CLASSES: dict[Level, type[ClientObject]] = {
    Level.FLOW: Flow,
    Level.RUN: Run,
    Level.STEP: Step,
    Level.TASK: Task,
    Level.ARTIFACT: DataArtifact,
}


def namespace_option(func: F) -> F:
    """The ``--namespace TAG`` option of the reading commands (default: every namespace)."""
    return click.option(
        "--namespace",
        "-n",
        metavar="TAG",
        default=None,
        help="Only runs tagged TAG (user:alice, team:ml). Default: every namespace.",
    )(func)


@contextmanager
def search_errors(where: str | None) -> Iterator[None]:
    """Say which option a search error is about: ``--where '<text>': at column 7: ...``."""
    try:
        yield
    except InvalidQuery as exc:
        if where is not None and exc.details.get("text") == where[:200]:
            raise InvalidQuery(f"--where {where!r}: {exc.message}", details=exc.details) from None
        raise


@dataclass(frozen=True, slots=True)
class Reader:
    """The client objects one command reads, through one provider and one namespace.

    Attributes:
        provider: The provider of the resolved settings; closed when the command ends.
        namespace: The ``--namespace`` tag, or ``None`` for every namespace.
    """

    provider: Provider
    namespace: str | None

    @classmethod
    def open(cls, state: CliContext, namespace: str | None = None) -> Reader:
        """The reader of the current command: the settings of the global options, and the
        namespace asked for. Its provider is closed when the command's context closes.

        Raises:
            NotFound: the settings name a local history that was never recorded (reading
                must not create an empty ``.flowtrail`` folder).
            InvalidTag: the namespace is not a valid tag.
        """
        settings = state.settings()
        if namespace is not None:
            validate_tag(namespace)
        if settings.metadata == "local" and not (settings.home / DB_FILENAME).is_file():
            raise NotFound(
                f"no flowtrail history at {settings.home} (nothing was recorded there): run a "
                "flow in this folder first, or choose a history with --metadata local@PATH, "
                "--metadata sql@URL or FLOWTRAIL_METADATA",
                details={"home": str(settings.home)},
            )
        with suppress(ValueError):  # a URL that does not split has no password to hide
            state.hide(urlsplit(settings.metadata_url).password)
        provider = Provider(settings)
        click.get_current_context().call_on_close(provider.close)
        return cls(provider, namespace)

    def root(self) -> Flowtrail:
        """Every flow (with a run in the namespace, when one is set)."""
        return Flowtrail(provider=self.provider, _current_namespace=self.namespace)

    def flow(self, name: str, *, in_namespace: bool = True) -> Flow:
        """The flow ``name``, showing the runs in the namespace.

        Args:
            name: The flow name.
            in_namespace: Refuse a flow without a run in the namespace; ``False`` for a
                search, which then finds no run.

        Raises:
            InvalidPathspec: ``name`` is not a flow name.
            NotFound: no flow of that name was recorded.
            NamespaceMismatch: ``in_namespace``, and none of the flow's runs carries the
                ``--namespace`` tag.
        """
        if not in_namespace:
            return Flow(
                Pathspec.parse(name, Level.FLOW),
                provider=self.provider,
                _namespace_check=False,
                _current_namespace=self.namespace,
            )
        flow = self.object(name, Level.FLOW)
        assert isinstance(flow, Flow)
        return flow

    def object(
        self, pathspec: str, level: Level | None = None, attempt: int | None = None
    ) -> ClientObject:
        """The flow, run, step, task or artifact a pathspec names.

        Args:
            pathspec: ``Flow[/run_id[/step[/task_id[/artifact]]]]``.
            level: The level the pathspec must have; any level when ``None``.
            attempt: For a task or an artifact, the attempt to show (latest when ``None``).

        Raises:
            InvalidPathspec: the pathspec is malformed or of another level (the message shows
                the expected shape).
            InvalidArgument: an attempt was given for a flow, run or step.
            NotFound: the object does not exist.
            NamespaceMismatch: ``--namespace`` was given and the object's run lacks the tag.
        """
        spec = Pathspec.parse(pathspec, level)
        kwargs: dict[str, Any] = {
            "provider": self.provider,
            "_namespace_check": self.namespace is not None,
            "_current_namespace": self.namespace,
        }
        if spec.level in (Level.TASK, Level.ARTIFACT):
            kwargs["attempt"] = attempt
        elif attempt is not None:
            raise InvalidArgument(
                f"--attempt applies to a task or an artifact pathspec "
                f"('Flow/run_id/step/task_id[/artifact]'), got the {spec.level.name.lower()} "
                f"pathspec {pathspec!r}",
                details={"pathspec": pathspec, "attempt": attempt},
            )
        try:
            return _CLASSES[spec.level](spec, **kwargs)
        except NamespaceMismatch as exc:
            if spec.level is Level.FLOW:
                why, carries = f"none of its runs is tagged {self.namespace!r}", "one of its runs"
            else:
                why, carries = f"its run is not tagged {self.namespace!r}", "the run"
            raise NamespaceMismatch(
                f"{pathspec} is not in namespace {self.namespace!r} ({why}); leave out "
                f"--namespace to read every namespace, or pass --namespace with a tag "
                f"{carries} carries",
                details=exc.details,
            ) from None
