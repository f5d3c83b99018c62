"""The error tree: one root, one code and one HTTP status per class, codes mapped back."""

from __future__ import annotations

import pickle

import pytest

import flowtrail.errors as errors
from flowtrail.errors import (
    AlreadyExists,
    ArtifactError,
    BlobCorrupted,
    FlowtrailError,
    Forbidden,
    InvalidArgument,
    InvalidFlow,
    InvalidPathspec,
    InvalidQuery,
    InvalidTag,
    InvalidTransition,
    NamespaceMismatch,
    NotFound,
    RequestTooLarge,
    SchemaMismatch,
    StepTimeout,
    StoreUnavailable,
    Unauthorized,
    WorkerDied,
    WorkflowCancellationError,
    WorkflowExecutionError,
    error_for_code,
)

STATUS = {
    FlowtrailError: 500,
    NotFound: 404,
    AlreadyExists: 409,
    InvalidArgument: 400,
    InvalidPathspec: 400,
    InvalidTag: 400,
    InvalidQuery: 400,
    InvalidTransition: 409,
    NamespaceMismatch: 403,
    Unauthorized: 401,
    Forbidden: 403,
    StoreUnavailable: 503,
    SchemaMismatch: 503,
    BlobCorrupted: 500,
    InvalidFlow: 400,
    ArtifactError: 400,
    RequestTooLarge: 413,
    WorkerDied: 500,
    StepTimeout: 500,
    WorkflowExecutionError: 500,
    WorkflowCancellationError: 409,
}


def error_classes() -> list[type[FlowtrailError]]:
    """Every exception class the module exports."""
    found = [getattr(errors, name) for name in errors.__all__]
    return [c for c in found if isinstance(c, type) and issubclass(c, BaseException)]


def test_all_names_exist() -> None:
    for name in errors.__all__:
        assert hasattr(errors, name), name
    assert len(set(errors.__all__)) == len(errors.__all__)


def test_every_class_is_listed() -> None:
    assert set(error_classes()) == set(STATUS)


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_subclasses_root(cls: type[FlowtrailError]) -> None:
    assert issubclass(cls, FlowtrailError)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize(("cls", "status"), STATUS.items(), ids=lambda x: getattr(x, "__name__", x))
def test_http_status(cls: type[FlowtrailError], status: int) -> None:
    assert cls.http_status == status
    assert cls("m").http_status == status


def test_codes_are_distinct_strings() -> None:
    codes = [cls.code for cls in error_classes()]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert code
        assert code == code.lower()
        assert " " not in code


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_error_for_code_maps_back(cls: type[FlowtrailError]) -> None:
    assert error_for_code(cls.code) is cls


@pytest.mark.parametrize("code", ["", "no_such_code", "NOT_FOUND", "notfound"])
def test_unknown_codes_map_to_root(code: str) -> None:
    assert error_for_code(code) is FlowtrailError


def test_specific_codes() -> None:
    assert NotFound.code == "not_found"
    assert AlreadyExists.code == "already_exists"
    assert InvalidArgument.code == "invalid_argument"
    assert InvalidPathspec.code == "invalid_pathspec"
    assert InvalidTransition.code == "invalid_transition"
    assert FlowtrailError.code == "internal"


def test_not_found_is_key_error_without_quotes() -> None:
    err = NotFound("x")
    assert isinstance(err, KeyError)
    assert str(err) == "x"
    assert err.message == "x"
    with pytest.raises(KeyError):
        raise NotFound("run 'F/12' not found")
    assert str(NotFound("run 'F/12' not found")) == "run 'F/12' not found"


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (InvalidArgument, (ValueError,)),
        (InvalidPathspec, (InvalidArgument, ValueError)),
        (InvalidTag, (InvalidArgument, ValueError)),
        (InvalidQuery, (InvalidArgument, ValueError)),
        (NotFound, (KeyError, LookupError)),
    ],
)
def test_builtin_bases(cls: type[FlowtrailError], bases: tuple[type, ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)


@pytest.mark.parametrize(
    "cls", [AlreadyExists, InvalidTransition, Forbidden, StoreUnavailable], ids=lambda c: c.__name__
)
def test_other_errors_are_not_lookup_or_value_errors(cls: type[FlowtrailError]) -> None:
    assert not issubclass(cls, KeyError)
    assert not issubclass(cls, ValueError)


def test_details_kept() -> None:
    err = InvalidArgument("bad limit", details={"field": "limit", "value": 0})
    assert err.details == {"field": "limit", "value": 0}
    assert err.message == "bad limit"
    assert str(err) == "bad limit"
    assert FlowtrailError("m").details == {}


def test_details_are_copied() -> None:
    given = {"a": 1}
    err = FlowtrailError("m", details=given)
    given["a"] = 2
    assert err.details == {"a": 1}


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_pickle_round_trip(cls: type[FlowtrailError]) -> None:
    # Errors cross process boundaries (worker processes); class, message and details survive.
    err = cls("what went wrong", details={"id": "F/12"})
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert str(back) == "what went wrong"
    assert back.details == {"id": "F/12"}


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_reraise_by_code(cls: type[FlowtrailError]) -> None:
    # What a remote client does with an error envelope.
    envelope = {"code": cls("m").code, "message": "m", "details": {"k": "v"}}
    rebuilt = error_for_code(envelope["code"])("m", details={"k": "v"})
    assert type(rebuilt) is cls
    assert rebuilt.details == {"k": "v"}


def test_docstring_draws_every_class() -> None:
    doc = errors.__doc__ or ""
    for cls in error_classes():
        assert f'{cls.__name__} ({cls.http_status}, "{cls.code}")' in doc
