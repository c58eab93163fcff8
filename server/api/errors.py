"""Every failure as `{"error": {"code", "message"}}` with its 4xx (or 500) status."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from server.domain.errors import DomainError, Unavailable
from server.store.db import unreachable

log = logging.getLogger("phonghop.api")
# Refusals of authentication and authorization, one line each (SECURITY.md, "Logging").
security = logging.getLogger("phonghop.security")


def error_response(status: int, code: str, message: str, details: object = None,
                   headers: dict | None = None) -> web.Response:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return web.json_response({"error": error}, status=status, headers=headers)


@web.middleware
async def errors_as_json(request: web.Request, handler):
    try:
        return await handler(request)
    except DomainError as exc:
        if exc.status in (401, 403, 429):
            security.info("%s %s from %s: %s %s", request.method, request.path, request.remote, exc.status, exc.code)
        retry = getattr(exc, "retry_after", None)  # 429: when to try again
        return error_response(exc.status, exc.code, exc.message, exc.details,
                              {"Retry-After": str(retry)} if retry else None)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "too_large", "the request body is larger than this server accepts")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason)
    except Exception as exc:
        if unreachable(exc):
            # PostgreSQL or Redis cannot be reached (issue 8): a typed 503 that the client
            # retries with the same key, and one log line instead of a stack trace per request.
            log.warning("%s %s: a service is unreachable (%s)", request.method, request.path, type(exc).__name__)
            gone = Unavailable()
            return error_response(gone.status, gone.code, gone.message, headers={"Retry-After": str(gone.retry_after)})
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal", "the server failed; the request left nothing half-done")


async def json_body(request: web.Request, *, empty_ok: bool = False) -> dict:
    if not request.body_exists:  # (not can_read_body: the body limit middleware may have read it)
        if empty_ok:
            return {}
        raise DomainError("the request needs a JSON body", code="bad_json", status=400)
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DomainError("the body is not valid JSON", code="bad_json", status=400) from None
    except RecursionError:
        raise DomainError("the body nests too deeply", code="bad_json", status=400) from None
    if not isinstance(body, dict):
        raise DomainError("the body must be a JSON object", code="bad_json", status=400)
    return body
