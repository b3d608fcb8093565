"""The one exception tree of MLPipeX.

Every layer raises these; each front end translates them once:
the CLI into exit codes (``cli/errors.py``), the server into HTTP bodies.

    MLPipeXError                 base; ``exit_code`` 70 (internal error)
    ├── Invalid                  bad input or a rule broken; exit 1
    │   ├── PolicyViolation      registration or transition refused by the policy; exit 1
    │   ├── Corrupt              bytes whose digest does not match what was recorded; exit 1
    │   └── FeatureDisabled      asks for what this server was not started with; exit 1
    ├── NotFound                 no such model, version, alias, object...; exit 4
    ├── AlreadyExists            the name is taken; exit 5
    ├── Conflict                 the state changed under you, or forbids this now; exit 5
    │   └── QuotaExceeded        a workspace quota would be passed; exit 5
    ├── Unauthorized             no or wrong credentials; exit 1
    │   └── Throttled            too many failed sign-ins: wait ``retry_after_s``; exit 1
    ├── Forbidden                the credentials lack the right; exit 1
    └── Unavailable              a database, object store or server cannot be reached; exit 70
"""

from __future__ import annotations

from collections.abc import Sequence


class MLPipeXError(Exception):
    """Base of every error MLPipeX raises on purpose."""

    exit_code = 70
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class Invalid(MLPipeXError):
    exit_code = 1
    code = "INVALID"


class PolicyViolation(Invalid):
    """Refused by the policy; ``reasons`` names every failed requirement or gate."""

    code = "POLICY_VIOLATION"

    def __init__(self, what: str, reasons: Sequence[str], *, hint: str | None = None) -> None:
        self.reasons = list(reasons)
        super().__init__(f"{what}: " + "; ".join(self.reasons), hint=hint)


class Corrupt(Invalid):
    code = "CORRUPT"


class FeatureDisabled(Invalid):
    code = "FEATURE_DISABLED"


class NotFound(MLPipeXError):
    exit_code = 4
    code = "NOT_FOUND"


class AlreadyExists(MLPipeXError):
    exit_code = 5
    code = "ALREADY_EXISTS"


class Conflict(MLPipeXError):
    exit_code = 5
    code = "CONFLICT"


class QuotaExceeded(Conflict):
    code = "QUOTA_EXCEEDED"


class Unauthorized(MLPipeXError):
    exit_code = 1
    code = "UNAUTHENTICATED"


class Throttled(Unauthorized):
    code = "THROTTLED"
    retry_after_s = 0  # rebuilt from a server's answer, the wait is in the message

    def __init__(self, message: str, retry_after_s: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s


class Forbidden(MLPipeXError):
    exit_code = 1
    code = "PERMISSION_DENIED"


class Unavailable(MLPipeXError):
    code = "UNAVAILABLE"


def from_code(
    code: str, message: str, hint: str | None = None, reasons: Sequence[str] | None = None
) -> MLPipeXError:
    """The error a server reported by its code, rebuilt on the client with the same message."""
    classes: list[type[MLPipeXError]] = [
        Invalid,
        PolicyViolation,
        Corrupt,
        FeatureDisabled,
        NotFound,
        AlreadyExists,
        Conflict,
        QuotaExceeded,
        Unauthorized,
        Throttled,
        Forbidden,
        Unavailable,
    ]
    cls = next((c for c in classes if c.code == code), MLPipeXError)
    exc = cls.__new__(cls)
    MLPipeXError.__init__(exc, message, hint=hint)
    if isinstance(exc, PolicyViolation):
        exc.reasons = list(reasons or [])
    return exc


__all__ = [
    "AlreadyExists",
    "Conflict",
    "Corrupt",
    "FeatureDisabled",
    "Forbidden",
    "Invalid",
    "MLPipeXError",
    "NotFound",
    "PolicyViolation",
    "QuotaExceeded",
    "Throttled",
    "Unauthorized",
    "Unavailable",
]
