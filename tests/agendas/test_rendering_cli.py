"""`phonghop render` / `python -m agendas.rendering`, run as a real process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from agendas.rendering.cli import register, run

ROOT = Path(__file__).resolve().parents[2]


def render(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agendas.rendering", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_renders_a_file_and_prints_a_json_summary_last(make_pdf, tmp_path):
    out = tmp_path / "out"
    result = render(make_pdf(["Chương trình hội nghị", "Phụ lục"]), "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["pages"] == 2 and summary["warnings"] == [] and summary["seconds"] > 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["pages"]) == 2
    assert all((out / f"{h}.jpg").is_file() for page in manifest["pages"] for h in page["images"].values())
    # What the server makes when a file is added: no zoom size unless asked for.
    assert all(set(page["images"]) == {"tablet", "thumb"} for page in manifest["pages"])
    assert summary["images"] == 4


def test_zoom_adds_the_zoom_size(make_pdf, tmp_path):
    out = tmp_path / "out"
    result = render(make_pdf(["Chương trình hội nghị"]), "--out", out, "--json", "--zoom")
    assert result.returncode == 0, result.stderr
    [page] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["pages"]
    assert set(page["images"]) == {"tablet", "thumb", "zoom"}
    assert Image.open(out / f"{page['images']['zoom']}.jpg").width == 2400


def test_broken_file_exits_2_with_one_line(tmp_path):
    broken = tmp_path / "hong.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    lying = tmp_path / "anh.pdf"
    lying.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    for path, code in [(broken, "corrupt"), (lying, "type_mismatch"), (tmp_path / "khong-co.pdf", "not_found")]:
        result = render(path, "--out", tmp_path / "out", "--json")
        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"render: {code}: ")


def test_register_adds_the_render_subcommand(make_pdf, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="phonghop")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", str(make_pdf(["Giấy mời"])), "--out", str(tmp_path / "o"),
                              "--json", "--sizes", "thumb"])
    assert args.func is run
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["pages"] == 1 and summary["images"] == 1


def test_children_forked_from_the_command_are_confined_and_die_with_it(make_pdf, samples, tmp_path):
    scan = samples.image("scan.png", (8000, 8000), mode="L", color=255)  # 64 MB decoded
    result = render(scan, "--out", tmp_path / "a", "--memory-mb", "130")
    assert result.returncode == 2 and result.stderr.startswith("render: out_of_memory: ")

    # Killed mid-document, the command leaves no child behind: each sees its pipe close.
    doc = make_pdf(["Báo cáo chính trị của Ban Chấp hành Đảng bộ tỉnh. " * 20] * 300)
    command = subprocess.Popen([sys.executable, "-m", "agendas.rendering", str(doc), "--out", str(tmp_path / "b")],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (children := _children(command.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children
        time.sleep(0.5)  # rendering
        children = _children(command.pid)
    finally:
        command.kill()
        command.wait()
    deadline = time.monotonic() + 30
    while (alive := [pid for pid in children if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
