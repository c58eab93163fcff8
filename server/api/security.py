"""HTTP hardening (SECURITY.md): security headers on every response, and request bodies
refused with 413 past their route's limit, before any other work.

Content-Security-Policy names no outside origin: scripts, styles, images, fonts and
connections come from the server itself (connect-src 'self' covers its ws:/wss:), page
images are shown from blob: URLs, nothing may frame a page, no plugin runs. The one
inline script, the page shell's import map, is allowed by its SHA-256 alone.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from aiohttp import web

# Routes that stream their body to disk, with their own limit (settings -> bytes). Every
# other route reads at most `Settings.max_body_bytes` (aiohttp's client_max_size).
STREAMED: dict[tuple[str, str], str] = {
    ("POST", "/api/meetings/{meeting_id}/uploads"): "upload",
    ("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/evidence"): "upload",
    ("POST", "/api/meetings/import"): "pack",
}


def stream_limit(kind: str, settings) -> int:
    if kind == "pack":
        from agendas import packs

        return packs.MAX_BYTES
    return settings.max_upload_bytes


def inline_script_hashes(page: Path) -> list[str]:
    """The CSP sources ('sha256-...') of the inline scripts of a page template."""
    html = page.read_text(encoding="utf-8")
    bodies = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in bodies]


def policy(script_hashes: list[str]) -> str:
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' " + " ".join(script_hashes) if script_hashes else "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-src 'none'",
        "frame-ancestors 'none'",
    ])


def install(app: web.Application, page_template: Path) -> None:
    """Add the body limit middleware and the headers to `app` (before it is frozen)."""
    csp = policy(inline_script_hashes(page_template))
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        # The bridge point sends its camera and microphone; nothing else is used.
        "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), geolocation=(), "
                              "payment=(), usb=(), serial=(), bluetooth=(), interest-cohort=()",
    }

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"  # answers with personal data stay out of caches

    app.on_response_prepare.append(add_headers)
    app.middlewares.append(body_limit)


@web.middleware
async def body_limit(request: web.Request, handler):
    """413 for a body over the route's limit, whatever the route does with it: a declared
    length is checked at once; a body without one (chunked) is read here, up to the limit,
    for every route that does not stream its body itself."""
    settings = request.app["settings"]
    if not request.body_exists:
        return await handler(request)
    route = request.match_info.route
    resource = route.resource
    canonical = resource.canonical if resource is not None else ""
    if canonical.startswith("/socket.io"):
        return await handler(request)  # engine.io applies max_http_buffer_size itself
    kind = STREAMED.get((request.method, canonical))
    limit = stream_limit(kind, settings) if kind else settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    if kind is None:
        await request.read()  # bounded by client_max_size: 413 past it
    return await handler(request)
