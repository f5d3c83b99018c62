"""Statuses of runs, tasks and attempts, and the one table of transitions between them."""

from __future__ import annotations

from enum import StrEnum

from flowtrail.errors import InvalidArgument, InvalidTransition

__all__ = ["FINAL", "TERMINAL", "TRANSITIONS", "Status", "check_transition"]


class Status(StrEnum):
    """The status of a run, a task or an attempt.

    ``pending``: recorded, not started. ``running``: started, not finished.
    ``succeeded``, ``failed``, ``cancelled``: finished, as recorded by the writer (a failed
    or cancelled run or task may run again: a workflow resumes in place, under its id).
    ``lost``: the writer stopped heartbeating for longer than its timeout; a reader recorded it.
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    @property
    def finished(self) -> bool:
        """True for every status that ends a run: succeeded, failed, cancelled and lost."""
        return self in TERMINAL

    @classmethod
    def _missing_(cls, value: object) -> Status:
        # Status text arrives from the wire and the CLI: refuse unknown text as a bad argument
        # (a 400), not as a bare ValueError.
        choices = ", ".join(s.value for s in cls)
        raise InvalidArgument(f"status must be one of {choices}; got {value!r}")


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.LOST})

#: Which status may follow which. A succeeded object is final. A failed or cancelled one may
#: run again: a workflow (``flowtrail.workflow``) resumes under the same id, re-running its
#: failed tasks in place. A lost one was declared lost by a reader when its writer fell
#: silent; if that writer turns out to be alive, it may still record how the object really
#: ended (or that it runs on), and a lost workflow may be resumed.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED, Status.LOST}),
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.LOST}),
    Status.SUCCEEDED: frozenset(),
    Status.FAILED: frozenset({Status.RUNNING}),
    Status.CANCELLED: frozenset({Status.RUNNING}),
    Status.LOST: frozenset({Status.RUNNING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
}

#: Statuses no transition leaves: a run or task in one of them never changes again (readers
#: may cache it). Every other status, failed and cancelled included, may still change.
FINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


def check_transition(what: str, current: Status, new: Status) -> None:
    """Raise :class:`InvalidTransition` unless ``current`` may become ``new``.

    Args:
        what: The object, for the message (a pathspec such as ``"TrainFlow/12"``).
        current: Its recorded status.
        new: The status asked for.
    """
    allowed = TRANSITIONS[current]
    if new not in allowed:
        choices = ", ".join(sorted(allowed)) or "nothing: it is final"
        raise InvalidTransition(
            f"{what} is {current}; it cannot become {new} (allowed from {current}: {choices})",
            details={"pathspec": what, "current": str(current), "requested": str(new)},
        )
