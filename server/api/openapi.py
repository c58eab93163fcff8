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
                 "schema": {"type": "string"} if p == "name" else {"type": "integer"}}
                for p in params
            ],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "4XX": {"description": "Refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
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
