"""Typed refusals. The REST layer turns them into 4xx answers, socket.io into failed acks."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the step. `code` is stable and machine-readable; `message` is for people."""

    code = "conflict"
    status = 409

    def __init__(self, message: str, *, code: str | None = None, details: object = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return error


class Invalid(DomainError):
    code = "invalid"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Unavailable(DomainError):
    """A service the server depends on (its database, Redis) cannot be reached just now.
    Nothing is applied twice by sending the same command again with the same key."""

    code = "unavailable"
    status = 503
    retry_after = 2  # seconds, as the REST answer's Retry-After

    def __init__(self, message: str = "Máy chủ tạm thời không kết nối được cơ sở dữ liệu; vui lòng gửi lại. / "
                 "The server cannot reach its database just now; send the same command again with the same key "
                 "(it is never applied twice).") -> None:
        super().__init__(message)
