"""What every benchmark writes: the machine it ran on, and its row in BENCHMARKS.md."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} × {model}"


def add_row(section: str, intro: str, row: str, path: Path = BENCHMARKS) -> None:
    """Append `row` to the table of `section` ("## Votes"); the rows of earlier runs stay.
    A section not yet in the file is added at its end, `intro` (its text and table
    header) first."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if section not in text:
        text = text.rstrip("\n") + "\n\n" + section + "\n\n" + intro
    start = text.index(section)
    following = text.find("\n## ", start + len(section))
    end = len(text) if following == -1 else following + 1
    part = text[start:end].rstrip("\n") + "\n" + row
    text = text[:start] + part + ("\n" + text[end:] if following != -1 else "")
    path.write_text(text, encoding="utf-8")


def finish(name: str, out: dict, args, argv: list[str] | None, record) -> None:
    """The end every benchmark shares: its row through `record(out, command)` (unless
    --no-write), the figures indented for people (unless --json), then one JSON line last."""
    if not args.no_write:
        given = list(sys.argv[1:] if argv is None else argv)
        record(out, " ".join([f"phonghop bench {name}", *given]))
    if not args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(out, ensure_ascii=False))
