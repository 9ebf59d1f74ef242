"""Errors raised by the sources layer, and the rule that tells a transient failure from a final one."""

from __future__ import annotations

import asyncio
import errno

#: HTTP statuses worth retrying: request timeout, throttling, server-side failures.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: botocore error codes that mean "slow down / try again".
TRANSIENT_AWS_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
    "ServiceUnavailable", "InternalError", "RequestLimitExceeded", "TooManyRequestsException",
    "TransientError", "PriorRequestNotComplete", "BandwidthLimitExceeded", "EC2ThrottledException",
})
_TRANSIENT_ERRNOS = frozenset({
    errno.EBUSY, errno.ETIMEDOUT, errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED,
    errno.EPIPE, errno.EAGAIN, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETRESET,
})

_TRANSPORT_MODULES = ("aiohttp", "httpx", "httpcore", "urllib3", "requests", "botocore", "aiobotocore")


class SourceError(OSError):
    """A source could not be listed or read; the message names the source."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SourceNotFound(SourceError, FileNotFoundError):
    """A source, shard or object does not exist (HTTP 404, missing key, missing file)."""


class ShortRead(SourceError):
    """A store returned fewer bytes than a range inside the object: retried as transient."""


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status carried by an exception of aiohttp, httpx/huggingface_hub, requests or botocore."""
    status = getattr(exc, "status", None)  # aiohttp.ClientResponseError
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)  # httpx / requests
    if isinstance(code, int):
        return code
    if isinstance(response, dict):  # botocore.exceptions.ClientError
        code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(code, int):
            return code
    return None


def _aws_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def http_status(exc: BaseException) -> int | None:
    """The first HTTP status found along the exception's cause chain, if any."""
    for e in _chain(exc):
        status = _status_of(e)
        if status is not None:
            return status
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts (s3fs wraps botocore errors in OSError with __cause__)."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def is_transient(exc: BaseException) -> bool:
    """True for failures a retry may cure: connection errors, timeouts, HTTP 5xx/429, AWS throttling.

    Never for a missing object or a refused permission (404/403), whatever wraps them.
    """
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
            return False
        status = _status_of(e)
        if status is not None:
            return status in TRANSIENT_STATUSES
        code = _aws_code(e)
        if code is not None and code in TRANSIENT_AWS_CODES:
            return True
    for e in chain:
        if isinstance(e, ShortRead):
            return True
        if isinstance(e, (TimeoutError, asyncio.TimeoutError, ConnectionError)):
            return True
        name = type(e).__name__
        module = type(e).__module__ or ""
        # Library-specific transport failures, matched by name so no optional import is needed.
        if module.startswith(_TRANSPORT_MODULES) and (
            "Connect" in name or "Timeout" in name or "Disconnected" in name or "Protocol" in name
            or "Payload" in name or "IncompleteRead" in name or name in ("ReadError", "NetworkError")
        ):
            return True
        if isinstance(e, OSError) and e.errno in _TRANSIENT_ERRNOS:
            return True
    return False


def is_unreachable(exc: BaseException) -> bool:
    """True when the store could not be reached at all (refused, unresolvable, timed out connecting)."""
    for e in _chain(exc):
        name = type(e).__name__
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError", "ConnectError",
                    "NewConnectionError", "ServerTimeoutError") or isinstance(e, ConnectionRefusedError):
            return True
        if isinstance(e, OSError) and e.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
            return True
    return False
