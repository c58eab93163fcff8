"""Every failure as `{"error": {"code", "message"}}` with its 4xx (or 500) status."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from server.domain.errors import DomainError

log = logging.getLogger("phonghop.api")


def error_response(status: int, code: str, message: str, details: object = None) -> web.Response:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return web.json_response({"error": error}, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler):
    try:
        return await handler(request)
    except DomainError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "too_large", "the request body is larger than this server accepts")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal", "the server failed; the request left nothing half-done")


async def json_body(request: web.Request, *, empty_ok: bool = False) -> dict:
    if not request.can_read_body:
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
