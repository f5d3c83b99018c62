"""Step decorators: ``@retry``, ``@catch`` and ``@timeout``.

Each sets one option on the step function; they stack in any order with ``@step``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from flowtrail.errors import InvalidFlow
from flowtrail.model import validate_name

__all__ = ["StepOptions", "catch", "options_of", "retry", "timeout"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "_flowtrail_options"


@dataclass(frozen=True, slots=True)
class StepOptions:
    """How a step's tasks run.

    Attributes:
        retries: How many times a failed attempt is tried again.
        retry_delay: Seconds to wait before each retry.
        catch_var: The artifact that receives the exception when every attempt failed; the
            flow then goes on. ``None``: a failure fails the run.
        catch_set: Whether ``@catch`` was applied.
        timeout: Seconds an attempt may run; ``None`` for no limit.
        retry_set: Whether ``@retry`` was applied (then a run's ``flowtrail/max_retries`` tag
            does not change ``retries``).
        timeout_source: What set ``timeout``, for the message of a timed-out attempt.
    """

    retries: int = 0
    retry_delay: float = 0.0
    catch_var: str | None = None
    catch_set: bool = False
    timeout: float | None = None
    retry_set: bool = False
    timeout_source: str = "@timeout"


def options_of(func: Callable[..., Any]) -> StepOptions:
    """The options a step function carries (the defaults when it has none)."""
    found = getattr(func, _ATTRIBUTE, None)
    return found if isinstance(found, StepOptions) else StepOptions()


def _set(func: F, **changes: Any) -> F:
    setattr(func, _ATTRIBUTE, replace(options_of(func), **changes))
    return func


def retry(func: F | None = None, *, times: int = 3, minutes_between_retries: float = 2) -> Any:
    """Try a failed attempt again, up to ``times`` times, waiting between tries.

    A worker that dies (killed, crashed) counts as a failed attempt too.

    Example::

        @retry(times=2, minutes_between_retries=0)
        @step
        def train(self): ...
    """
    if not isinstance(times, int) or isinstance(times, bool) or not 0 <= times <= 100:
        raise InvalidFlow(f"@retry(times=...) must be an int from 0 to 100, got {times!r}")
    if not isinstance(minutes_between_retries, int | float) or minutes_between_retries < 0:
        raise InvalidFlow(
            "@retry(minutes_between_retries=...) must be a number >= 0, got "
            f"{minutes_between_retries!r}"
        )

    def apply(f: F) -> F:
        return _set(
            f, retries=times, retry_delay=float(minutes_between_retries) * 60, retry_set=True
        )

    return apply(func) if func is not None else apply


def catch(func: F | None = None, *, var: str | None = None, print_exception: bool = True) -> Any:
    """Let the flow go on when every attempt of a task failed.

    The exception of the last failed attempt is stored in the artifact ``var`` (when given)
    of the task, which then counts as succeeded.
    """
    if var is not None:
        validate_name("artifact", var)

    def apply(f: F) -> F:
        return _set(f, catch_var=var, catch_set=True)

    return apply(func) if func is not None else apply


def timeout(
    func: F | None = None, *, seconds: float = 0, minutes: float = 0, hours: float = 0
) -> Any:
    """Stop an attempt that runs longer than the given time and record it failed."""
    total = float(seconds) + float(minutes) * 60 + float(hours) * 3600
    if total <= 0:
        raise InvalidFlow(f"@timeout needs a positive duration, got {total} seconds")

    def apply(f: F) -> F:
        return _set(f, timeout=total)

    return apply(func) if func is not None else apply
