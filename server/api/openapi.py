"""The OpenAPI 3.1 document, built from the same route table the server mounts."""

from __future__ import annotations

import re

from server.api.rest import Route

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        }
    },
}


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a route answers when it is not a JSON object (issue 8: schemathesis checks every
# answer's content type and status against this document): by the extension its path ends
# with, or named here.
_BY_EXTENSION = {".docx": _DOCX, ".xlsx": _XLSX, ".pdf": "application/pdf", ".ics": "text/calendar"}
_MEDIA = {
    ("GET", "/api/meetings/{meeting_id}/export"): "application/yaml",
    ("GET", "/api/pages/{version_id}/{name}"): "image/jpeg",
    ("GET", "/api/pages/{version_id}/zoom/{name}"): "image/jpeg",
    ("GET", "/api/directives/{directive_id}/evidence/{evidence_id}"): "*/*",  # the file as it was attached
}
_CREATED = {("POST", "/api/meetings/{meeting_id}/uploads"),
            ("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/evidence")}
_CACHED = {  # answer 304 to a matching If-None-Match; the images also 206 to a Range
    ("GET", "/api/pages/{version_id}/{name}"): ("206", "304"),
    ("GET", "/api/pages/{version_id}/zoom/{name}"): ("206", "304"),
    ("GET", "/api/calendar/{token}.ics"): ("304",),
}
_UNAVAILABLE = {"description": "A service the server depends on (its database, Redis) cannot be reached just now: "
                               "`unavailable`, with Retry-After; the same request may be sent again",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _success(route: Route) -> dict:
    key = (route.method, route.path)
    media = _MEDIA.get(key) or next((t for ext, t in _BY_EXTENSION.items() if route.path.endswith(ext)), None)
    if media is None:
        body = {"application/json": {"schema": {"type": "object"}}}
    elif media == "application/yaml":  # a meeting pack: a mapping, as its JSON would be
        body = {media: {"schema": {"type": "object"}}}
    else:
        body = {media: {"schema": {"type": "string", "format": "binary"}}}
    out = {"201" if key in _CREATED else "200": {"description": "OK", "content": body}}
    for status in _CACHED.get(key, ()):
        out[status] = {"description": "Not modified" if status == "304" else "Part of the file (Range)"}
        if status == "206":
            out[status]["content"] = body
    return out


def document(routes: list[Route], extra_paths: dict) -> dict:
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {"Error": _ERROR}
    for route in routes:
        params = re.findall(r"{(\w+)}", route.path)
        op: dict = {
            "summary": route.summary,
            "operationId": f"{route.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', route.path.lower()).strip('_')}",
            "parameters": [
                {"name": p, "in": "path", "required": True,
                 "schema": {"type": "string"} if p in ("name", "token") else {"type": "integer"}}
                for p in params
            ],
            "responses": {
                **_success(route),
                "4XX": {"description": "Refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "503": _UNAVAILABLE,
            },
        }
        if not route.public:
            op["security"] = [{"bearer": []}]
        if route.method in ("POST", "PATCH", "DELETE") and not route.public:
            op["parameters"].append(
                {"name": "Idempotency-Key", "in": "header", "required": False,
                 "schema": {"type": "string", "maxLength": 100}}
            )
        if route.body is not None:
            schema = route.body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            # Fields that come from the path are not part of the body.
            props = schema.get("properties", {})
            for p in params:
                props.pop(p, None)
            if "required" in schema:
                schema["required"] = [r for r in schema["required"] if r not in params]
            schemas[route.body.__name__] = schema
            op["requestBody"] = {
                "required": route.method != "DELETE",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{route.body.__name__}"}}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    paths.update(extra_paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Phonghop", "version": "0.1.0",
                 "description": "Paperless meetings and conference coordination. See docs/protocol.md."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
