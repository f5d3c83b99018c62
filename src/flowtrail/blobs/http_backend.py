"""A blob backend over the flowtrail service: blobs go through ``/api/v1/blobs/{sha}``.

For workers that share no datastore with the service. The service stores content-addressed
blobs only, so this backend takes only the keys :class:`~flowtrail.blobs.BlobStore` uses
(``blobs/<sha[:2]>/<sha>``), where the sha is the sha256 of the bytes written — which the
service checks before it stores them. Blobs are never deleted or listed through the
service: :meth:`HttpBlobBackend.delete` and :meth:`HttpBlobBackend.list_keys` raise
:class:`~flowtrail.errors.InvalidArgument`. Needs the ``service`` extra.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import httpx

from flowtrail.blobs.base import BlobBackend, BytesLike, validate_data, validate_key
from flowtrail.errors import InvalidArgument, NotFound
from flowtrail.store.http.transport import RetryPolicy, ServiceClient, build_client

__all__ = ["HttpBlobBackend", "connect_http_blobs"]

_CAS_KEY = re.compile(r"blobs/([0-9a-f]{2})/(\1[0-9a-f]{62})")


def _sha_of(key: str) -> str:
    validate_key(key)
    match = _CAS_KEY.fullmatch(key)
    if match is None:
        raise InvalidArgument(
            f"the flowtrail service stores content-addressed blobs only (keys "
            f"'blobs/<sha[:2]>/<sha>'), got {key!r}",
            details={"key": key},
        )
    return match.group(2)


class HttpBlobBackend(BlobBackend):
    """Content-addressed blobs through the flowtrail service.

    Args:
        client: An ``httpx.Client`` whose ``base_url`` is the service; closed by
            :meth:`close`.
        retry: How long reads and writes (both idempotent) keep trying.
    """

    def __init__(self, client: httpx.Client, *, retry: RetryPolicy | None = None) -> None:
        self._service = ServiceClient(client, retry)

    @property
    def url(self) -> str:
        """The service's URL."""
        return self._service.url

    def read(self, key: str) -> bytes:
        """The stored bytes of a blob (checked by the service against their sha)."""
        sha = _sha_of(key)
        return self._service.call("GET", f"/blobs/{sha}", idempotent=True).content

    def write(self, key: str, data: BytesLike) -> bool:
        """Upload a blob; ``False`` when the service had it already.

        Raises:
            InvalidArgument: the key is not ``blobs/<sha[:2]>/<sha>`` of ``data``'s sha256.
        """
        sha = _sha_of(key)
        raw = validate_data(data)
        actual = hashlib.sha256(raw).hexdigest()
        if actual != sha:
            raise InvalidArgument(
                f"the service keeps a blob under the sha256 of its bytes: {actual}, not {sha}",
                details={"key": key, "actual_sha": actual},
            )
        response = self._service.call("PUT", f"/blobs/{sha}", idempotent=True, content=raw)
        return response.status_code == 201

    def exists(self, key: str) -> bool:
        """Whether the service stores the blob."""
        sha = _sha_of(key)
        try:
            self._service.call("HEAD", f"/blobs/{sha}", idempotent=True)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> bool:
        """Refused: blobs are never deleted through the service.

        Raises:
            InvalidArgument: always.
        """
        raise InvalidArgument(
            f"blobs are not deleted through the flowtrail service ({self.url}); delete them "
            f"in its datastore",
            details={"key": key},
        )

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Refused: the service does not list its blobs.

        Raises:
            InvalidArgument: always.
        """
        raise InvalidArgument(
            f"the flowtrail service ({self.url}) does not list its blobs; list its datastore",
            details={"prefix": prefix},
        )

    def close(self) -> None:
        """Close the HTTP client; idempotent."""
        self._service.close()

    def __repr__(self) -> str:
        return f"HttpBlobBackend({self.url!r})"


def connect_http_blobs(
    url: str,
    *,
    token: str | None = None,
    timeout: float = 60.0,
    retry: RetryPolicy | None = None,
) -> HttpBlobBackend:
    """An :class:`HttpBlobBackend` for the service at ``url``, sending ``token`` as a bearer
    token."""
    return HttpBlobBackend(build_client(url, token=token, timeout=timeout), retry=retry)
