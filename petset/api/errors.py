"""Errors every layer speaks. The server maps them to HTTP codes, the CLI to messages."""

from __future__ import annotations


class PetsetError(Exception):
    """Base of petset's own errors. The message is for a human and names the fix."""

    status = 500
    reason = "InternalError"


class NotFoundError(PetsetError):
    status = 404
    reason = "NotFound"


class AlreadyExistsError(PetsetError):
    status = 409
    reason = "AlreadyExists"


class ConflictError(PetsetError):
    """A write carried a stale resourceVersion: read again, re-apply the change."""

    status = 409
    reason = "Conflict"


class InvalidError(PetsetError):
    """Input rejected before anything was stored. `problems` are 'where: field: reason' lines."""

    status = 422
    reason = "Invalid"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        return super().__str__() + "\n" + "\n".join(f"  {p}" for p in self.problems)


class GoneError(PetsetError):
    """A watch asked for a resourceVersion older than the store keeps: list again."""

    status = 410
    reason = "Expired"


class UnavailableError(PetsetError):
    """A backend (daemon, API server, pod) cannot be reached right now; retry later."""

    status = 503
    reason = "ServiceUnavailable"


ERRORS_BY_REASON: dict[str, type[PetsetError]] = {
    cls.reason: cls
    for cls in (
        PetsetError,
        NotFoundError,
        AlreadyExistsError,
        ConflictError,
        InvalidError,
        GoneError,
        UnavailableError,
    )
}
