"""Query-string models of the listings, pages, and the run search.

Every listing takes ``limit`` (1 to :data:`~flowtrail.model.MAX_PAGE_SIZE`, default
:data:`~flowtrail.model.DEFAULT_PAGE_SIZE`) and ``cursor``; a larger ``limit`` is refused
with a 400 naming ``query.limit``, never clamped, so a caller never mistakes a short page
for the end. Unknown query parameters are refused too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from flowtrail.model import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    LogStream,
    Page,
    PageRequest,
    RunFilter,
    Status,
)
from flowtrail.model.limits import MAX_INT64, MAX_LOG_LINES
from flowtrail.wire.base import Bool, QueryAttempt, QueryMs, WireModel, at_field
from flowtrail.wire.records import LogLineModel, ms_or_none, time_or_none

__all__ = [
    "ArtifactsQuery",
    "AttemptQuery",
    "ExistsModel",
    "LogLinesModel",
    "LogsQuery",
    "MetadataQuery",
    "OneArtifactQuery",
    "OneAttemptQuery",
    "OneQuery",
    "PageModel",
    "PageQuery",
    "PathspecQuery",
    "RunExistsQuery",
    "RunsQuery",
    "TagsQuery",
]

T = TypeVar("T")
R = TypeVar("R")


class PageQuery(BaseModel):
    """``?limit=&cursor=``: which page of a listing to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Checked by PageRequest (the store's own message), described here for the document.
    limit: int = Field(
        DEFAULT_PAGE_SIZE, json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE}
    )
    cursor: str | None = None

    @classmethod
    def params(cls, page: PageRequest | None) -> dict[str, str | int]:
        """The query parameters of a page request."""
        page = page or PageRequest()
        params: dict[str, str | int] = {"limit": page.limit}
        if page.cursor is not None:
            params["cursor"] = page.cursor
        return params

    def to_request(self) -> PageRequest:
        """The page request, checked.

        Raises:
            InvalidArgument: ``limit`` is not from 1 to the maximum page size.
        """
        with at_field("query.limit"):
            return PageRequest(self.limit, self.cursor)


class OneQuery(BaseModel):
    """``?pathspec=F/12``: one object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pathspec: str


class RunExistsQuery(OneQuery):
    """``?pathspec=F/12&namespace=user:ada``: does the run exist (carrying that tag)?"""

    namespace: str | None = None


class ExistsModel(WireModel):
    """Whether the object asked about exists (``GET /api/v1/run/exists``)."""

    exists: Bool


class OneAttemptQuery(OneQuery):
    """``?pathspec=F/12/start/3&number=1``: one attempt (the latest without ``number``)."""

    number: QueryAttempt | None = None


class OneArtifactQuery(OneQuery):
    """``?pathspec=F/12/start/3/model&attempt=1``: one artifact (of the latest attempt that
    recorded it, without ``attempt``)."""

    attempt: QueryAttempt | None = None


class PathspecQuery(PageQuery):
    """``?pathspec=F/12&limit=&cursor=``: a listing under one object."""

    pathspec: str


class AttemptQuery(PathspecQuery):
    """``?pathspec=F/12/start/3&attempt=1``: one attempt's items (every attempt's if absent)."""

    attempt: QueryAttempt | None = None


class ArtifactsQuery(AttemptQuery):
    """The query of ``GET /api/v1/artifacts``."""


class MetadataQuery(AttemptQuery):
    """The query of ``GET /api/v1/metadata``: ``field_name`` keeps one field's entries."""

    field_name: str | None = None


class TagsQuery(PageQuery):
    """The query of ``GET /api/v1/tags``."""

    flow: str | None = None
    prefix: str | None = None
    namespace: str | None = None


class LogsQuery(BaseModel):
    """The query of ``GET /api/v1/logs``: one stream of one attempt from ``offset``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pathspec: str
    attempt: QueryAttempt
    stream: LogStream
    offset: int = Field(0, ge=0, le=MAX_INT64)
    # Checked with the store's message (1 to 1000), described here for the document.
    limit: int = Field(MAX_LOG_LINES, json_schema_extra={"minimum": 1, "maximum": MAX_LOG_LINES})


class RunsQuery(PageQuery):
    """The query of ``GET /api/v1/runs``: a :class:`~flowtrail.model.RunFilter` and a page.

    ``tag``, ``status`` and ``order_by`` repeat (``?tag=a&tag=b``); times are epoch
    milliseconds.
    """

    flow: str | None = None
    tag: list[str] = Field(default_factory=list)
    status: list[Status] = Field(default_factory=list)
    user: str | None = None
    created_after: QueryMs | None = None
    created_before: QueryMs | None = None
    where: str | None = None
    order_by: list[str] = Field(default_factory=list)

    @classmethod
    def params(  # type: ignore[override]
        cls, filter: RunFilter | None, page: PageRequest | None
    ) -> dict[str, str | int | list[str]]:
        """The query parameters of a search."""
        params: dict[str, str | int | list[str]] = dict(PageQuery.params(page))
        f = filter or RunFilter()
        if f.flow_name is not None:
            params["flow"] = f.flow_name
        if f.tags:
            params["tag"] = sorted(f.tags)
        if f.statuses:
            params["status"] = sorted(str(s) for s in f.statuses)
        if f.user is not None:
            params["user"] = f.user
        for name, value in (
            ("created_after", f.created_after),
            ("created_before", f.created_before),
        ):
            if value is not None:
                params[name] = ms_or_none(value) or 0
        if f.where is not None:
            params["where"] = f.where
        if f.order_by:
            params["order_by"] = list(f.order_by)
        return params

    def to_filter(self) -> RunFilter:
        """The filter, checked (a bad ``where`` is an ``InvalidQuery`` naming its column, and
        ``query.where``; a bad ``order_by`` names ``query.order_by``)."""
        # Each on its own first, to name its field (the full filter parses the same where
        # again from the parser's memo).
        with at_field("query.where"):
            RunFilter(where=self.where)
        with at_field("query.order_by"):
            RunFilter(order_by=tuple(self.order_by))
        with at_field("query"):
            return RunFilter(
                flow_name=self.flow,
                tags=frozenset(self.tag),
                statuses=frozenset(self.status),
                user=self.user,
                created_after=time_or_none(self.created_after),
                created_before=time_or_none(self.created_before),
                where=self.where,
                order_by=tuple(self.order_by),
            )


class PageModel(WireModel, Generic[T]):
    """One page of a listing: the items and the cursor of the next page (``null`` at the
    end)."""

    items: list[T]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: Page[R], convert: Callable[[R], T]) -> PageModel[T]:
        """The wire form of a page, each item converted by ``convert``."""
        return cls(items=[convert(item) for item in page.items], next_cursor=page.next_cursor)

    def to_page(self, convert: Callable[[T], R]) -> Page[R]:
        """The page back, each item converted by ``convert``."""
        return Page(tuple(convert(item) for item in self.items), self.next_cursor)


class LogLinesModel(WireModel):
    """Log lines read from one stream (``GET /api/v1/logs``); read on from one past the
    last ``seq``."""

    items: list[LogLineModel]
