"""`phonghop render FILE --out DIR`: run the upload pipeline on one file, for an operator.

The same sniffing, sandbox and limits as an upload, so "it renders here" means "it
will render on the server". By default it makes what the server makes when a file is
added: the `tablet` and `thumb` images and the text of each page (the server makes a
page's `zoom` image when a reader first asks for it); `--zoom` adds the zoom size. Page
images go into DIR under their hash names, with a manifest.json listing them in page order. A file that cannot be rendered ends with
exit status 2 and one line on stderr: `render: <code>: <message>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from .errors import RenderError
from .limits import EAGER, WIDTHS, Limits
from .pool import Done, PageRendered, RenderPool

EXIT_BROKEN = 2


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `render` subcommand; `args.func(args)` runs it and returns the exit status."""
    parser = subparsers.add_parser("render", help="render one document as the server would",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    default = Limits()
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the page images")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--sizes", default=",".join(EAGER),
                        help=f"image sizes to make, from {', '.join(f'{k}={v}px' for k, v in WIDTHS.items())} "
                             f"(default: {','.join(EAGER)}, as the server renders a file when it is added)")
    parser.add_argument("--zoom", action="store_true",
                        help=f"also make the zoom size ({WIDTHS['zoom']} px), which the server makes on request")
    parser.add_argument("--max-pages", type=int, default=default.max_pages)
    parser.add_argument("--timeout", type=float, default=default.timeout, help="seconds")
    parser.add_argument("--memory-mb", type=int, default=default.memory_mb, help="per render process")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU)")


def run(args: argparse.Namespace) -> int:
    sizes = [s for s in args.sizes.split(",") if s]
    if args.zoom and "zoom" not in sizes:
        sizes.append("zoom")
    unknown = set(sizes) - set(WIDTHS)
    if unknown or not sizes:
        print(f"render: unknown size(s) {', '.join(sorted(unknown)) or '(none)'}; choose from {', '.join(WIDTHS)}",
              file=sys.stderr)
        return EXIT_BROKEN
    # nice=0: an operator's foreground command has no event loop to make way for.
    limits = Limits(max_pages=args.max_pages, timeout=args.timeout, memory_mb=args.memory_mb,
                    widths={s: WIDTHS[s] for s in sizes}, nice=0)
    try:
        summary = asyncio.run(_render(args.file, args.out, limits, args.workers))
    except RenderError as e:
        print(f"render: {e.code}: {e.message}", file=sys.stderr)
        return EXIT_BROKEN
    except KeyboardInterrupt:
        return 130
    except OSError as e:  # the output folder, not the document
        print(f"render: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"{summary['pages']} page(s) in {summary['seconds']:.2f} s -> {args.out}")
        for warning in summary["warnings"]:
            print(f"warning: {warning}")
    return 0


async def _render(path: Path, out: Path, limits: Limits, workers: int | None) -> dict:
    started = time.monotonic()
    pages: list[dict] = []
    first_page = None
    # This process does nothing else: its children fork from it directly (see RenderPool).
    async with RenderPool(workers, limits=limits, start_method="fork") as pool:
        async for event in pool.render(path, out):
            if isinstance(event, PageRendered):
                first_page = first_page if first_page is not None else time.monotonic() - started
                pages.append({"images": event.images, "text": event.text})
            elif isinstance(event, Done):
                done = event
    (out / "manifest.json").write_text(
        json.dumps({"file": path.name, "pages": pages}, ensure_ascii=False, indent=1), encoding="utf-8")
    return {
        "pages": done.pages,
        "seconds": round(time.monotonic() - started, 3),
        "warnings": done.warnings,
        "first_page_seconds": round(first_page or 0.0, 3),
        "file": str(path),
        "out": str(out),
        "images": sum(len(p["images"]) for p in pages),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agendas.rendering", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))
