"""Document rendering benchmark: our pipeline beside poppler's pdftoppm, in the same run.

    python bench/render.py [--pages 100] [--repeat 3] [--no-write]

Makes a PDF of full pages of Vietnamese text, then measures
  (a) through a warm RenderPool: time from render() to the first page, and to the whole document;
  (b) whole processes, hyperfine-style (each command `--repeat` times, interleaved, median):
      `python -m agendas.rendering FILE --out DIR` (all three sizes + text, as an upload),
      the same with `--sizes tablet` (one ~1280 px JPEG a page, like for like with pdftoppm),
      and `pdftoppm -r 150 -jpeg FILE DIR/p` (one 1240 px JPEG a page for A4).
Prints one JSON object as the last line and records a row in BENCHMARKS.md under
"## Document rendering".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agendas.rendering import PageRendered, RenderPool  # noqa: E402

SECTION = "## Document rendering"
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
TARGETS = "first page ≤ 100 ms after upload; 100 pages ≤ 3 s; CLI ≥ 2× faster than `pdftoppm -r 150 -jpeg`"
TEXT = ("Báo cáo chính trị của Ban Chấp hành Đảng bộ tỉnh khóa XX trình Đại hội đại biểu lần thứ XXI, "
        "nhiệm kỳ 2025–2030. Tiếp tục đổi mới phương thức lãnh đạo, nâng cao năng lực cầm quyền và sức "
        "chiến đấu của Đảng; xây dựng hệ thống chính trị tinh gọn, hoạt động hiệu lực, hiệu quả. ")


def make_pdf(path: Path, pages: int) -> Path:
    """Full A4 pages of text, the common case of a meeting pack."""
    # Same import as the render children, so pymupdf's optional add-ons stay out.
    from agendas.rendering.worker import pymupdf

    fonts = sorted(Path("/usr/share/fonts").rglob("DejaVuSans.ttf"))
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=595, height=842)
        if fonts:
            page.insert_font(fontname="vn", fontfile=str(fonts[0]))
        page.insert_text((60, 70), f"Trang {i + 1}", fontname="vn" if fonts else "helv", fontsize=16)
        page.insert_textbox(pymupdf.Rect(60, 90, 535, 790), TEXT * 10, fontname="vn" if fonts else "helv", fontsize=11)
    doc.save(path, garbage=3, deflate=True)
    return path


async def pool_figures(pdf: Path, work: Path, repeat: int) -> dict:
    firsts, totals = [], []
    async with RenderPool() as pool:
        for n in range(repeat):
            started = time.perf_counter()
            first = None
            async for event in pool.render(pdf, work / f"pool{n}"):
                if first is None and isinstance(event, PageRendered):
                    first = time.perf_counter() - started
            totals.append(time.perf_counter() - started)
            firsts.append(first)
    return {"first_page_ms": round(statistics.median(firsts) * 1000), "document_s": round(statistics.median(totals), 2)}


def process_figures(commands: dict[str, list[str]], work: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU time of each command, run `repeat` times, interleaved so load drifts hit all alike.

    CPU seconds do not depend on what else the machine runs. Ours are spent in
    grandchildren (the fork server's render children); as a child subreaper this
    process inherits the fork server when the CLI exits, and reaping it counts them.
    Call this before anything here starts a fork server of its own.
    """
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for n in range(repeat):
        for name, command in commands.items():
            out = work / f"{name}{n}"
            out.mkdir()
            argv = [a.replace("{out}", str(out)) for a in command]
            cpu, started = _children_cpu(), time.perf_counter()
            subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            walls[name].append(time.perf_counter() - started)
            with contextlib.suppress(ChildProcessError):
                while True:  # the CLI's fork server, now ours, exits as soon as the CLI has
                    os.waitpid(-1, 0)
            cpus[name].append(_children_cpu() - cpu)
    return {name: {"wall": round(statistics.median(walls[name]), 2), "cpu": round(statistics.median(cpus[name]), 2)}
            for name in commands}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def record(result: dict, path: Path) -> None:
    """Add this run's row to our section of BENCHMARKS.md; a row of the same machine and day is replaced."""
    header = ("| date | machine | load avg | first page | 100 pages (pool) | CLI, 3 sizes + text "
              "| CLI, tablet only | pdftoppm -r 150 -jpeg | CLI speed-up (tablet / full) "
              "| CPU s (full / tablet / pdftoppm) |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    key = f"| {result['date']} | {result['machine']} |"
    row = (f"{key} {result['load']} | {result['first_page_ms']} ms | {result['document_s']} s "
           f"| {result['cli_s']} s | {result['cli_tablet_s']} s | {result['pdftoppm_s']} s "
           f"| {result['speedup_tablet']}× / {result['speedup_full']}× "
           f"| {result['cli_cpu_s']} / {result['cli_tablet_cpu_s']} / {result['pdftoppm_cpu_s']} |\n")
    intro = (f"{SECTION}\n\nReproduce: `{result['command']}` (the peer needs poppler-utils).\n"
             f"Targets (issue \"Meeting packs\"): {TARGETS}.\n"
             "Whole-process times are medians of interleaved runs on the same file in the same run; "
             "\"full\" makes three JPEG sizes (1280, 2400, 240 px) and the text of every page, "
             "pdftoppm one 1240 px JPEG a page, so \"tablet only\" is the like-for-like column (full encodes "
             "about 4.6× the pixels). The load average is the machine's when the run started: on a shared "
             "machine it moves every wall time, which is why the peer runs beside ours; CPU seconds "
             "(all processes of a run, fork server and render children included) do not move with it.\n\n")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + intro + header + row
    else:
        end = text.find("\n## ", start + len(SECTION))
        end = len(text) if end < 0 else end + 1
        rows = [line + "\n" for line in text[start:end].splitlines()
                if line.startswith("| 20") and not line.startswith(key)]
        text = text[:start] + intro + header + "".join(rows) + row + ("\n" if end < len(text) else "") + text[end:]
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    if not shutil.which("pdftoppm"):
        sys.exit("pdftoppm not found: apt-get install poppler-utils")

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        work = Path(tmp)
        pdf = make_pdf(work / "bao-cao.pdf", args.pages)
        ours = [sys.executable, "-m", "agendas.rendering", str(pdf), "--out", "{out}"]
        processes = process_figures({
            "cli": ours,
            "cli_tablet": [*ours, "--sizes", "tablet"],
            "pdftoppm": ["pdftoppm", "-r", "150", "-jpeg", str(pdf), "{out}/p"],
        }, work, args.repeat)
        pool = asyncio.run(pool_figures(pdf, work, args.repeat))
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} × {cpu_model()}",
        "load": round(load, 1),
        "pages": args.pages,
        **pool,
        **{f"{name}_s": figures["wall"] for name, figures in processes.items()},
        **{f"{name}_cpu_s": figures["cpu"] for name, figures in processes.items()},
        "speedup_full": round(processes["pdftoppm"]["wall"] / processes["cli"]["wall"], 2),
        "speedup_tablet": round(processes["pdftoppm"]["wall"] / processes["cli_tablet"]["wall"], 2),
        "command": f"python bench/render.py --pages {args.pages} --repeat {args.repeat}",
    }
    if not args.no_write:
        record(result, ROOT / "BENCHMARKS.md")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
