"""Filters and pages for the ``find_*`` methods of a metadata store.

Every listing is paginated: a :class:`PageRequest` asks for at most ``limit`` items after an
opaque ``cursor``; the :class:`Page` answered holds the items and the cursor of the next page
(``None`` on the last page).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from flowtrail.errors import InvalidArgument, InvalidQuery
from flowtrail.model.pathspec import validate_name
from flowtrail.model.status import Status
from flowtrail.model.tags import check_tag_collection, validate_tag
from flowtrail.model.text import check_text
from flowtrail.model.time import check_aware
from flowtrail.model.where import OrderKey, WhereExpr, parse_order_by, parse_where

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_ORDER_KEYS",
    "MAX_PAGE_SIZE",
    "Page",
    "PageRequest",
    "RunFilter",
    "iter_pages",
]

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: How many keys an ``order_by`` may have.
MAX_ORDER_KEYS = 4


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page to read: at most ``limit`` items (1 to 1000) after ``cursor``."""

    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None

    def __post_init__(self) -> None:
        if (
            not isinstance(self.limit, int)
            or isinstance(self.limit, bool)
            or not 1 <= self.limit <= MAX_PAGE_SIZE
        ):
            raise InvalidArgument(
                f"page limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {self.limit!r}"
            )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is ``None`` when there is nothing after it."""

    items: tuple[T, ...]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def next_request(self, limit: int | None = None) -> PageRequest | None:
        """The request for the following page, or ``None`` after the last one."""
        if self.next_cursor is None:
            return None
        return PageRequest(limit or max(len(self.items), 1), self.next_cursor)


def iter_pages(
    fetch: Callable[[PageRequest], Page[T]],
    first: int = DEFAULT_PAGE_SIZE,
    later: int = DEFAULT_PAGE_SIZE,
) -> Iterator[T]:
    """Yield every item of a ``find_*`` listing, fetching one page at a time as needed.

    Args:
        fetch: Reads one page (``lambda page: store.find_tasks(run, page)``).
        first: The size of the first page.
        later: The size of each following page.
    """
    request: PageRequest | None = PageRequest(first)
    while request is not None:
        page = fetch(request)
        yield from page.items
        request = page.next_request(later)


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs :meth:`MetadataStore.find_runs` returns, and in which order; every
    condition given must hold.

    Attributes:
        flow_name: Runs of this flow only; ``None`` for every flow.
        tags: Runs carrying all of these tags (user or system).
        statuses: Runs in any of these statuses.
        user: Runs started by this user.
        created_after: Runs created at or after this time.
        created_before: Runs created strictly before this time.
        where: A condition in the search language (``docs/reference/search.md``), such as
            ``"tag = 'prod' and params.alpha > 0.1"``; parsed when the filter is built, so a
            bad one raises :class:`~flowtrail.errors.InvalidQuery` before any store is asked.
            A blank text is no condition (``None``).
        order_by: Sort keys, each a field with ``-`` in front for descending order
            (``("-params.alpha",)``); ties, and runs lacking a key, follow in creation
            order. Empty: newest first.
    """

    flow_name: str | None = None
    tags: frozenset[str] = frozenset()
    statuses: frozenset[Status] = frozenset()
    user: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    where: str | None = None
    order_by: tuple[str, ...] = ()
    _where_expr: WhereExpr | None = field(default=None, init=False, repr=False, compare=False)
    _order_keys: tuple[OrderKey, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.flow_name is not None:
            validate_name("flow", self.flow_name)
        check_tag_collection(self.tags)
        object.__setattr__(self, "tags", frozenset(validate_tag(t) for t in self.tags))
        object.__setattr__(self, "statuses", frozenset(Status(s) for s in self.statuses))
        if self.user is not None:
            check_text("user", self.user, max_length=255)
        check_aware("created_after", self.created_after)
        check_aware("created_before", self.created_before)
        if self.where is not None:
            if isinstance(self.where, str) and not self.where.strip():
                object.__setattr__(self, "where", None)
            else:
                object.__setattr__(self, "_where_expr", _parse_where(self.where))
        order_by = (self.order_by,) if isinstance(self.order_by, str) else self.order_by
        if not isinstance(order_by, Sequence):
            raise InvalidQuery(
                f"order_by must be a sequence of keys such as ('-created_at',), got "
                f"{type(order_by).__name__} {order_by!r:.60}"
            )
        keys = tuple(parse_order_by(k) for k in order_by)
        if len(keys) > MAX_ORDER_KEYS:
            raise InvalidQuery(f"order_by takes at most {MAX_ORDER_KEYS} keys, got {len(keys)}")
        named = [k.field for k in keys]
        twice = sorted({str(f) for f in named if named.count(f) > 1})
        if twice:
            raise InvalidQuery(f"order_by names {twice[0]} twice")
        object.__setattr__(self, "order_by", tuple(str(k) for k in keys))
        object.__setattr__(self, "_order_keys", keys)

    @property
    def where_expr(self) -> WhereExpr | None:
        """The syntax tree of :attr:`where` (``None`` without a condition)."""
        return self._where_expr

    @property
    def order_keys(self) -> tuple[OrderKey, ...]:
        """The parsed :attr:`order_by` keys (empty for newest first)."""
        return self._order_keys

    @classmethod
    def of(
        cls,
        flow_name: str | None = None,
        *,
        tags: Sequence[str] = (),
        statuses: Sequence[Status | str] = (),
        user: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        where: str | None = None,
        order_by: str | Sequence[str] = (),
    ) -> RunFilter:
        """Build a filter from sequences: ``RunFilter.of('F', tags=['prod'])``; ``order_by``
        may be one key (``'-created_at'``) or several."""
        check_tag_collection(tags)
        return cls(
            flow_name,
            frozenset(tags),
            frozenset(Status(s) for s in statuses),
            user,
            created_after,
            created_before,
            where,
            (order_by,) if isinstance(order_by, str) else tuple(order_by),
        )


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> WhereExpr:
    return parse_where(text)


def _parse_where(where: Any) -> WhereExpr:
    """:func:`parse_where`, memoized for text (its syntax trees are immutable): a search a
    script or dashboard repeats is parsed once. Anything else goes through to be refused."""
    return _parse_cached(where) if isinstance(where, str) else parse_where(where)
