"""``Run``: one execution of a flow, a container of its steps; its tags can be changed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowtrail.client.base import Container, Context, RunScoped, paged
from flowtrail.client.code import Code
from flowtrail.client.entries import Metadata
from flowtrail.client.trigger import Trigger
from flowtrail.errors import NotFound
from flowtrail.model import FINAL, Level, MetadataValue, RunRecord, Status, StepKind

if TYPE_CHECKING:
    from flowtrail.client.data import Data
    from flowtrail.client.flow import Flow
    from flowtrail.client.step import Step
    from flowtrail.client.task import Task

__all__ = ["Run"]

# Statuses after which a run's record (tags aside) no longer changes: only ``succeeded``. A
# lost run's writer may still record how it really ended, and a failed or cancelled workflow
# may be resumed under the same id.
_SETTLED = FINAL


class Run(RunScoped, Container["Step"]):
    """A run: one execution of a flow. A container of :class:`Step` objects, newest first.

    Args:
        pathspec: ``'TrainFlow/12'``.

    Raises:
        NotFound: no such run.
        NamespaceMismatch: the run is outside the current namespace.

    Example:
        ``Run('TrainFlow/12')['train'].task.data.model``, ``Run('TrainFlow/12').data.accuracy``,
        ``Run('TrainFlow/12').add_tag('prod')``.
    """

    _level = Level.RUN

    def _load(self, namespace_check: bool) -> None:
        self._record = self._store.get_run(self._spec)
        self._listed = False
        if namespace_check:
            self._ctx.check(self, self._record)

    @classmethod
    def _from_record(cls, ctx: Context, record: RunRecord, listed: bool = False) -> Run:
        """The run of ``record``; ``listed`` when a listing read the record just now: the
        run's first tag question is answered from it (``[r for r in flow if 'prod' in
        r.tags]`` reads no run twice)."""
        run = cls.__new__(cls)
        run._init(ctx, record.pathspec)
        run._record = record
        run._listed = listed
        return run

    def _fresh(self) -> RunRecord:
        """The record, read again unless the run has settled (its status cannot change)."""
        if self._record.status not in _SETTLED:
            self._record = self._store.get_run(self._spec)
        return self._record

    def _run_record(self) -> RunRecord:
        if self._listed:  # read by the listing that yielded this run: fresh once
            self._listed = False
            return self._record
        self._record = self._store.get_run(self._spec)
        return self._record

    # -- what the run is ---------------------------------------------------------------

    @property
    def created_at(self) -> datetime:
        """When the run was created; tag changes never move it."""
        return self._record.created_at

    @property
    def parent(self) -> Flow:
        """The flow of this run."""
        from flowtrail.client.flow import Flow

        return self._open(Flow, self._spec.truncate(Level.FLOW))

    @property
    def status(self) -> Status:
        """Its recorded status: pending, running, succeeded, failed, cancelled or lost."""
        return self._fresh().status

    @property
    def successful(self) -> bool:
        """True if the run completed successfully."""
        return self.status is Status.SUCCEEDED

    @property
    def finished(self) -> bool:
        """True if the run has ended (succeeded, failed, cancelled or lost)."""
        return self.status.finished

    @property
    def finished_at(self) -> datetime | None:
        """When the run ended, or ``None`` while it runs."""
        return self._fresh().finished_at

    @property
    def user(self) -> str | None:
        """Who started the run."""
        return self._record.user

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The run's parameter values."""
        return dict(self._record.parameters)

    @property
    def flow_metadata(self) -> Mapping[str, MetadataValue]:
        """The flow metadata of the definition this run ran with: name to typed value
        (``.type``, ``.value``), e.g. ``run.flow_metadata['docs'].value``."""
        return dict(self._record.flow_metadata)

    @property
    def metadata(self) -> list[Metadata]:
        """The run's own metadata entries (not its tasks'), oldest first, as
        :class:`Metadata`: those given when it started (``workflow.run(...,
        metadata={'owner': 'me'})``, type ``"user"``) and those flowtrail recorded (type
        ``"system"``). Read at each access: entries may be appended while the run lives."""
        entries = paged(lambda page: self._store.find_metadata(self._spec, page), 100)
        return [Metadata.from_entry(entry) for entry in entries]

    @property
    def metadata_dict(self) -> dict[str, Any]:
        """The latest value of each of the run's metadata names: ``{'owner': 'me'}``."""
        return {entry.name: entry.value for entry in self.metadata}

    @property
    def origin_pathspec(self) -> str | None:
        """For a resumed run, the pathspec of the run it resumed (``'TrainFlow/11'``)."""
        origin = self._record.origin_run_id
        return None if origin is None else str(self._spec.parent) + "/" + origin

    @property
    def code(self) -> Code | None:
        """The code package the run executed, if one was stored."""
        package = self._record.code_package
        return None if package is None else Code(package, self._ctx.provider)

    @property
    def trigger(self) -> Trigger | None:
        """The events that started the run, or ``None`` if it was started by hand."""
        events = self._record.trigger
        return Trigger(events, self._ctx) if events else None

    @property
    def end_task(self) -> Task | None:
        """The task of the ``end`` step (for a function-style workflow, of its output step:
        the step recorded with kind ``end``), once it has been recorded."""
        from flowtrail.client.step import Step

        try:
            record = self._store.get_step(self._spec.child("end"))
        except NotFound:
            # A workflow names its output step after its task; it is recorded as the end.
            ends = (
                r
                for r in paged(lambda page: self._store.find_steps(self._spec, page))
                if r.kind is StepKind.END
            )
            found = next(ends, None)
            if found is None:
                return None
            record = found
        return Step._from_record(self._ctx, record).task

    @property
    def data(self) -> Data | None:
        """The artifacts of the end task (``run['end'].task.data``), or ``None`` before the
        end step ran."""
        end = self.end_task
        return None if end is None else end.data

    # -- children ------------------------------------------------------------------------

    def _children(self) -> Iterator[Step]:
        from flowtrail.client.step import Step

        for record in paged(lambda page: self._store.find_steps(self._spec, page)):
            yield Step._from_record(self._ctx, record)

    def steps(self, *tags: str) -> Iterator[Step]:
        """Its steps, newest first, if the run carries every tag given (tags belong to
        runs: either every step matches or none does)."""
        return self._children() if set(tags) <= self.tags else iter(())

    def _child(self, name: str) -> Step:
        from flowtrail.client.step import Step

        return Step._from_record(self._ctx, self._store.get_step(self._spec.child(name)))

    # -- tags ----------------------------------------------------------------------------

    def add_tag(self, tag: str) -> None:
        """Add a user tag. A tag the run already carries (a system tag too) is skipped
        silently.

        Raises:
            InvalidTag: the tag is malformed, uses a system prefix, or would be the 201st.
        """
        self.add_tags([tag])

    def add_tags(self, tags: Iterable[str]) -> None:
        """Add user tags, atomically; tags the run already carries are skipped silently."""
        self._record = self._store.add_tags(self._spec, tags)

    def remove_tag(self, tag: str) -> None:
        """Remove a user tag; removing a tag the run does not carry is a no-op.

        Raises:
            InvalidTag: the tag is one of the run's system tags.
        """
        self.remove_tags([tag])

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Remove user tags, atomically; see :meth:`remove_tag`."""
        self._record = self._store.remove_tags(self._spec, tags)

    def replace_tag(self, tag_to_remove: str, tag_to_add: str) -> None:
        """Remove one tag and add another in one atomic change (removal first)."""
        self.replace_tags([tag_to_remove], [tag_to_add])

    def replace_tags(self, tags_to_remove: Iterable[str], tags_to_add: Iterable[str]) -> None:
        """Remove tags, then add tags, in one atomic change: other readers see the old tags
        or the new ones, never a mix. The rules of :meth:`add_tag` and :meth:`remove_tag`
        apply."""
        self._record = self._store.replace_tags(self._spec, tags_to_remove, tags_to_add)
