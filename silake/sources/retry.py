"""Retries with exponential backoff for remote calls; final failures are translated into SourceError."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from silake.sources.errors import SourceError, SourceNotFound, http_status, is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried (waits double from `initial_wait`)."""

    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 20.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """As SILAKE_RETRY_ATTEMPTS, SILAKE_RETRY_INITIAL_WAIT and SILAKE_RETRY_MAX_WAIT say now (the launcher's
        default; a run's workers get the policy it resolved, `SourceAccess.retry`)."""
        from silake.settings import current

        return current().retry_policy()


def translate(exc: BaseException, what: str, attempts: int = 1) -> SourceError:
    """A SourceError naming `what` for a final failure (SourceNotFound for a missing object)."""
    if isinstance(exc, SourceError):
        return exc
    status = http_status(exc)
    if isinstance(exc, FileNotFoundError) or status in (404, 410):
        return SourceNotFound(f"{what}: not found ({exc})")
    if isinstance(exc, PermissionError) or status in (401, 403):
        return SourceError(f"{what}: permission denied ({exc})")
    tail = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
    return SourceError(f"{what}: {type(exc).__name__}: {exc}{tail}")


def with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy | None = None,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Call `fn`, retrying transient failures (see `is_transient`); final failures raise SourceError."""
    policy = policy or RetryPolicy.from_env()

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None:
            log.warning("%s: transient failure (attempt %d/%d): %s", what, state.attempt_number,
                        policy.attempts, exc)
            if on_retry is not None:
                on_retry(exc)

    retrying = Retrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=wait_exponential(multiplier=policy.initial_wait, min=policy.initial_wait, max=policy.max_wait),
        retry=retry_if_exception(is_transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except Exception as exc:
        attempts = retrying.statistics.get("attempt_number", 1)
        raise translate(exc, what, attempts) from exc
