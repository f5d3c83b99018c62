"""Bearer tokens and roles: who may read, who may write, who may administer.

A token is a random string a client sends as ``Authorization: Bearer <token>``. The service
keeps only the sha256 of each token, so neither its token file nor its memory dump reveals
one. Because tokens are random (:func:`new_token` gives 256 bits), a plain sha256 is as good
as a slow password hash here: there is no dictionary to guess from.

Roles are ordered: ``read`` < ``write`` < ``admin``; a role allows everything a lower one
does. Reads (``GET``, ``HEAD``) need ``read``, writes need ``write``.

The token file holds one token per line, three fields separated by whitespace::

    # name   role   hash
    ci       write  sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    grafana  read   sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752

``name`` is a label for logs (never the token), ``role`` one of ``read``, ``write``,
``admin``. Blank lines and lines starting with ``#`` are ignored. :func:`make_token_line`
writes such a line for a new token.

The environment may hold tokens too (``FLOWTRAIL_SERVICE_TOKENS``, read by the entry point):
``role:token`` pairs separated by commas, hashed as soon as they are read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from flowtrail.errors import Forbidden, InvalidArgument, Unauthorized
from flowtrail.model import validate_name

__all__ = [
    "TOKENS_ENV",
    "AuthConfig",
    "Role",
    "TokenEntry",
    "hash_token",
    "load_token_file",
    "make_token_line",
    "new_token",
    "parse_token_env",
]

#: The environment variable a service entry point reads ``role:token`` pairs from.
TOKENS_ENV = "FLOWTRAIL_SERVICE_TOKENS"

_HASH_PREFIX = "sha256:"


class Role(IntEnum):
    """What a token allows; each role includes the ones below it."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text`` (``read``, ``write`` or ``admin``).

        Raises:
            InvalidArgument: any other text.
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise InvalidArgument(
                f"a role is read, write or admin, got {text!r}", details={"role": text}
            ) from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """One known token: its label, its role and the sha256 of the token.

    Attributes:
        name: A label for logs and metrics; never the token.
        role: What the token allows.
        digest: ``sha256:<64 hex>`` of the token.
    """

    name: str
    role: Role
    digest: str

    def __repr__(self) -> str:
        return f"TokenEntry(name={self.name!r}, role={self.role!s})"


def hash_token(token: str) -> str:
    """Return ``sha256:<hex>`` of a token, the form the token file keeps.

    Raises:
        InvalidArgument: the token is empty or holds whitespace or control characters (it
            would not survive an ``Authorization`` header).
    """
    if (
        not isinstance(token, str)
        or not token
        or any(c.isspace() or not c.isprintable() for c in token)
        or not token.isascii()
    ):
        raise InvalidArgument(
            "a token is a non-empty ASCII string without spaces or control characters"
        )
    return _HASH_PREFIX + hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    """A new random token: 256 bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def make_token_line(name: str, role: Role | str, token: str | None = None) -> tuple[str, str]:
    """Make a token-file line for a token.

    Args:
        name: The token's label (a Python identifier-like name: letters, digits, ``_``).
        role: ``read``, ``write`` or ``admin``.
        token: The token; a new random one when ``None``.

    Returns:
        ``(token, line)``: give the token to the client, append the line (which holds only
        the hash) to the token file.

    Raises:
        InvalidArgument: a bad name, role or token.
    """
    validate_name("token", name)
    parsed = role if isinstance(role, Role) else Role.parse(role)
    token = new_token() if token is None else token
    return token, f"{name} {parsed} {hash_token(token)}"


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The tokens a service accepts, by their hash.

    Build one with :func:`load_token_file`, :func:`parse_token_env` or :meth:`of`; join two
    with ``|``. A service without an ``AuthConfig`` asks for no token.

    Attributes:
        entries: Each known token by its ``sha256:`` digest.
    """

    entries: Mapping[str, TokenEntry] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[TokenEntry]) -> AuthConfig:
        """The config of these entries.

        Raises:
            InvalidArgument: two entries have the same hash.
        """
        table: dict[str, TokenEntry] = {}
        for entry in entries:
            if entry.digest in table:
                raise InvalidArgument(
                    f"tokens {table[entry.digest].name!r} and {entry.name!r} are the same token",
                    details={"names": [table[entry.digest].name, entry.name]},
                )
            table[entry.digest] = entry
        return cls(table)

    def __or__(self, other: AuthConfig) -> AuthConfig:
        return AuthConfig.of([*self.entries.values(), *other.entries.values()])

    def __len__(self) -> int:
        return len(self.entries)

    def authenticate(self, authorization: str | None) -> TokenEntry:
        """The entry of the token an ``Authorization`` header carries.

        Raises:
            Unauthorized: no header, not ``Bearer <token>``, or an unknown token.
        """
        if not authorization:
            raise Unauthorized("this service needs a token: send 'Authorization: Bearer <token>'")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("expected 'Authorization: Bearer <token>'")
        try:
            digest = hash_token(token)
        except InvalidArgument:
            raise Unauthorized("the token is not valid") from None
        # The dict lookup is by a hash of a random token: its timing reveals nothing
        # useful; compare_digest keeps the final comparison constant-time anyway.
        entry = self.entries.get(digest)
        if entry is None or not hmac.compare_digest(entry.digest, digest):
            raise Unauthorized("the token is not valid")
        return entry

    @staticmethod
    def authorize(entry: TokenEntry, needed: Role) -> None:
        """Check that a token's role allows what ``needed`` names.

        Raises:
            Forbidden: naming the role held and the role needed.
        """
        if entry.role < needed:
            raise Forbidden(
                f"token {entry.name!r} has the {entry.role} role; this needs {needed}",
                details={"role": str(entry.role), "needed": str(needed)},
            )


def load_token_file(path: str | Path) -> AuthConfig:
    """Read a token file (format in the module docstring).

    Raises:
        InvalidArgument: the file cannot be read, or a line is malformed (the message names
            the line number, never a token).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read the token file {str(file)!r}: {exc}") from exc
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split()
        where = f"{file}:{number}"
        if len(parts) != 3:
            raise InvalidArgument(
                f"{where}: expected 'name role sha256:<hex>', got {len(parts)} fields",
                details={"line": number},
            )
        name, role, digest = parts
        hexpart = digest[len(_HASH_PREFIX) :]
        if (
            not digest.startswith(_HASH_PREFIX)
            or len(hexpart) != 64
            or any(c not in "0123456789abcdef" for c in hexpart)
        ):
            raise InvalidArgument(
                f"{where}: the third field is 'sha256:' and 64 lowercase hex characters "
                f"(make lines with make_token_line); it is never the token itself",
                details={"line": number},
            )
        try:
            entries.append(TokenEntry(validate_name("token", name), Role.parse(role), digest))
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc.message}", details={"line": number}) from None
    return AuthConfig.of(entries)


def parse_token_env(value: str) -> AuthConfig:
    """Read ``role:token[,role:token...]`` (the value of :data:`TOKENS_ENV`); the tokens are
    named ``env1``, ``env2``, ... and only their hashes are kept.

    Raises:
        InvalidArgument: a pair is malformed (the message never shows the token).
    """
    entries = []
    for index, pair in enumerate((p for p in value.split(",") if p.strip()), start=1):
        role, sep, token = pair.strip().partition(":")
        if not sep:
            raise InvalidArgument(
                f"{TOKENS_ENV} pair {index}: expected 'role:token' (role read, write or admin)",
                details={"pair": index},
            )
        try:
            entries.append(TokenEntry(f"env{index}", Role.parse(role), hash_token(token)))
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"{TOKENS_ENV} pair {index}: {exc.message}", details={"pair": index}
            ) from None
    return AuthConfig.of(entries)
