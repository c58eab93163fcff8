"""Document rendering benchmark: our pipeline beside poppler's pdftoppm, in the same run.

    python bench/render.py [--pages 100] [--repeat 3] [--no-write]

Makes a PDF of full pages of Vietnamese text, then runs four commands `--repeat` times,
interleaved (round 1 of each, then round 2...), so that the load of a shared machine
falls on all of them alike, and takes medians:
  (a) a warm RenderPool, as in the server (started, so its fork server and spare child
      are up, before the clock starts): time from render() to the first page, and to
      the whole document;
  (b) whole processes, hyperfine-style: `python -m agendas.rendering FILE --out DIR`
      (its default: the tablet and thumb sizes + text, what the server makes when a file
      is added; the zoom size is made on request), the same with `--sizes tablet` (one
      ~1280 px JPEG a page, like for like with pdftoppm), and `pdftoppm -r 150 -jpeg
      FILE DIR/p` (one 1240 px JPEG a page for A4), with their CPU seconds.
Prints one JSON object as the last line and adds a row to BENCHMARKS.md under
"## Document rendering" (older rows stay, for history).
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

from agendas.rendering import EAGER, WIDTHS, Limits, PageRendered, RenderPool  # noqa: E402

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


async def pool_run(pdf: Path, out: Path) -> dict:
    """One document through a warm pool, at the sizes the server makes: seconds to the first page and to the end."""
    async with RenderPool(limits=Limits(widths={name: WIDTHS[name] for name in EAGER})) as pool:
        started = time.perf_counter()
        first = None
        async for event in pool.render(pdf, out):
            if first is None and isinstance(event, PageRendered):
                first = time.perf_counter() - started
        return {"first": first, "total": time.perf_counter() - started}


def process_figures(commands: dict[str, list[str]], work: Path, repeat: int) -> dict[str, dict]:
    """Wall and CPU time of each command, run `repeat` times, interleaved so load drifts hit all alike.

    CPU seconds do not depend on what else the machine runs. Ours are spent in
    grandchildren (the fork server's render children); as a child subreaper this
    process inherits the fork server when the CLI exits, and reaping it counts them.
    Call this before anything here starts a fork server of its own.
    """
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    runs: dict[str, dict[str, list]] = {name: {"wall": [], "cpu": [], "stdout": []} for name in commands}
    for n in range(repeat):
        for name, command in commands.items():
            out = work / f"{name}{n}"
            out.mkdir()
            argv = [a.replace("{out}", str(out)) for a in command]
            cpu, started = _children_cpu(), time.perf_counter()
            done = subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
            runs[name]["wall"].append(time.perf_counter() - started)
            with contextlib.suppress(ChildProcessError):
                while True:  # a fork server left by the command, now ours, exits as soon as the command has
                    os.waitpid(-1, 0)
            runs[name]["cpu"].append(_children_cpu() - cpu)
            runs[name]["stdout"].append(done.stdout)
    return {name: {"wall": round(statistics.median(r["wall"]), 2), "cpu": round(statistics.median(r["cpu"]), 2),
                   "walls": [round(w, 2) for w in r["wall"]], "stdout": r["stdout"]}
            for name, r in runs.items()}


def _paired_speedup(peer: list[float], ours: list[float]) -> float:
    return round(statistics.median(p / o for p, o in zip(peer, ours, strict=True)), 2)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def record(result: dict, path: Path) -> None:
    """Add this run's row to our section of BENCHMARKS.md; the rows of earlier runs stay."""
    header = ("| date | machine | load avg | first page | 100 pages (pool) | CLI, default sizes + text "
              "| CLI, tablet only | pdftoppm -r 150 -jpeg | CLI speed-up (tablet / default) "
              "| CPU s (default / tablet / pdftoppm) |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    row = (f"| {result['date']} | {result['machine']} | {result['load']} → {result['load_end']} "
           f"| {result['first_page_ms']} ms ({min(result['first_page_runs_ms'])}–{max(result['first_page_runs_ms'])}) "
           f"| {result['document_s']} s ({min(result['document_runs_s'])}–{max(result['document_runs_s'])}) "
           f"| {result['cli_s']} s | {result['cli_tablet_s']} s | {result['pdftoppm_s']} s "
           f"| {result['speedup_tablet']}× / {result['speedup_full']}× "
           f"| {result['cli_cpu_s']} / {result['cli_tablet_cpu_s']} / {result['pdftoppm_cpu_s']} |\n")
    intro = (f"{SECTION}\n\nReproduce: `{result['command']}` (the peer needs poppler-utils).\n"
             f"Targets (issue \"Meeting packs\"): {TARGETS}.\n"
             "Every figure is a median of runs interleaved with the peer's in the same run (the range of the "
             "runs in brackets; a speed-up is the median of each round's ratio); the pool figures are one "
             "document, at the sizes the server makes (three sizes up to 2026-11-23 06:06 UTC), through a warm pool (fork server and spare child up, as in a running server) per run. "
             "\"default\" is what the CLI and the server make when a file is added: two JPEG sizes (1280, 240 px) "
             "and the text of every page (the 2400 px zoom image is made when a reader first asks for it; rows "
             "up to 2026-11-23 06:06 UTC made it too: three sizes, about 4.6× pdftoppm's pixels); pdftoppm makes "
             "one 1240 px JPEG a page, so \"tablet only\" is the like-for-like column. The load average is the machine's at "
             "the start → end of the run: on a shared machine it moves every wall time, which is why the peer "
             "runs beside ours; CPU seconds (all processes of a run, fork server and render children included) "
             "move much less with it. Render children run page 1 at normal priority and the rest at nice +5 "
             "(the server's event loop comes first); the CLI's children stay at normal priority, like pdftoppm. "
             "Rows dated without a time were measured the earlier way: the pool figures from three documents in "
             "a row in the benchmark's own process, a speed-up as the ratio of the medians.\n\n")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + intro + header + row
    else:
        end = text.find("\n## ", start + len(SECTION))
        end = len(text) if end < 0 else end + 1
        rows = [line + "\n" for line in text[start:end].splitlines() if line.startswith("| 20")]
        text = text[:start] + intro + header + "".join(rows) + row + ("\n" if end < len(text) else "") + text[end:]
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--pool-run", nargs=2, metavar=("PDF", "OUT"), help=argparse.SUPPRESS)  # one pool measurement
    args = parser.parse_args()
    if args.pool_run:
        print(json.dumps(asyncio.run(pool_run(Path(args.pool_run[0]), Path(args.pool_run[1])))))
        return
    if not shutil.which("pdftoppm"):
        sys.exit("pdftoppm not found: apt-get install poppler-utils")

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        work = Path(tmp)
        pdf = make_pdf(work / "bao-cao.pdf", args.pages)
        ours = [sys.executable, "-m", "agendas.rendering", str(pdf), "--out", "{out}"]
        processes = process_figures({
            "pool": [sys.executable, str(Path(__file__).resolve()), "--pool-run", str(pdf), "{out}"],
            "cli": ours,
            "cli_tablet": [*ours, "--sizes", "tablet"],
            "pdftoppm": ["pdftoppm", "-r", "150", "-jpeg", str(pdf), "{out}/p"],
        }, work, args.repeat)
    pool = [json.loads(out.splitlines()[-1]) for out in processes.pop("pool")["stdout"]]
    firsts = [round(run["first"] * 1000) for run in pool]
    totals = [round(run["total"], 2) for run in pool]
    result = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} × {cpu_model()}",
        "load": round(load, 1),
        "load_end": round(os.getloadavg()[0], 1),
        "pages": args.pages,
        "first_page_ms": round(statistics.median(firsts)),
        "first_page_runs_ms": firsts,
        "document_s": round(statistics.median(totals), 2),
        "document_runs_s": totals,
        **{f"{name}_s": figures["wall"] for name, figures in processes.items()},
        **{f"{name}_runs_s": figures["walls"] for name, figures in processes.items()},
        **{f"{name}_cpu_s": figures["cpu"] for name, figures in processes.items()},
        # Each round's pdftoppm beside that round's CLI, then the median: a load that drifts
        # during the run moves both sides of each ratio.
        "speedup_full": _paired_speedup(processes["pdftoppm"]["walls"], processes["cli"]["walls"]),
        "speedup_tablet": _paired_speedup(processes["pdftoppm"]["walls"], processes["cli_tablet"]["walls"]),
        "command": f"python bench/render.py --pages {args.pages} --repeat {args.repeat}",
    }
    if not args.no_write:
        record(result, ROOT / "BENCHMARKS.md")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
