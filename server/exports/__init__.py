"""Documents the server prints: the summary table of comments (bảng tổng hợp ý kiến).

Builders are plain functions from rows to bytes, with no I/O, run off the event loop
(`asyncio.to_thread`); the HTTP handlers that read the rows live in `http.py`.
"""
