"""`phonghop render` / `python -m agendas.rendering`, run as a real process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

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
