"""The `phonghop` command, run as a user runs it: a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "agendas" / "examples" / "hoi-nghi-bch-tinh.yaml"


def phonghop(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, **(env or {})},
    )


def test_demo_seeds_a_past_and_an_upcoming_meeting(tmp_path):
    seeded = phonghop("demo", "--data-dir", str(tmp_path), env={"PHONGHOP_DEMO_PASSWORD": "mat-khau-demo"})
    assert seeded.returncode == 0, seeded.stderr
    assert "thuky" in seeded.stdout
    listed = phonghop("meetings", "--data-dir", str(tmp_path), "--json")
    assert listed.returncode == 0, listed.stderr
    meetings = json.loads(listed.stdout.strip().splitlines()[-1])
    assert sorted(m["status"] for m in meetings) == ["closed", "published", "published"]  # and the conference
    # Seeding twice changes nothing but the password.
    again = phonghop("demo", "--data-dir", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert "Password (generated" in again.stdout
    assert len(json.loads(phonghop("meetings", "--data-dir", str(tmp_path), "--json").stdout)) == 3


def test_import_agenda_then_refuse_the_same_meeting_twice(tmp_path):
    first = phonghop("import-agenda", str(SAMPLE), "--data-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["participants"] >= 55 and summary["agenda_items"] >= 8
    second = phonghop("import-agenda", str(SAMPLE), "--data-dir", str(tmp_path))
    assert second.returncode == 2
    assert "Traceback" not in second.stderr and second.stderr.strip()


def test_import_of_a_broken_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "hong.yaml"
    bad.write_text("meeting: [khong, dung\n", encoding="utf-8")
    result = phonghop("import-agenda", str(bad), "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("phonghop: invalid")


def test_create_user_then_sign_in_is_possible(tmp_path):
    made = phonghop("create-user", "quantri2", "--full-name", "Nguyễn Quản Trị", "--password", "mat-khau-dai-du",
                    "--role", "admin", "--data-dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["roles"] == ["admin"]
    twice = phonghop("create-user", "quantri2", "--full-name", "X", "--password", "mat-khau-dai-du",
                     "--data-dir", str(tmp_path))
    assert twice.returncode == 2 and "exists" in twice.stderr


def test_migrate_is_idempotent(tmp_path):
    for _ in range(2):
        result = phonghop("migrate", "--data-dir", str(tmp_path))
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "phonghop.db").exists()


def test_export_agenda_writes_the_meeting_back(tmp_path):
    assert phonghop("import-agenda", str(SAMPLE), "--data-dir", str(tmp_path)).returncode == 0
    out = tmp_path / "xuat.yaml"
    result = phonghop("export-agenda", "--meeting", "1", "--out", str(out), "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "Khai mạc" in text and "chutri" in text
    missing = phonghop("export-agenda", "--meeting", "99", "--data-dir", str(tmp_path))
    assert missing.returncode == 2 and "not_found" in missing.stderr
