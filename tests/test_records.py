"""After the meeting (docs/records.md): the chair's conclusions, the minutes and the conclusion notice.

A session is run through the commands (attendance with reasons, a paper, speeches with
their summaries, a named vote, the chair's conclusions); the secretary drafts the
minutes, edits them and finalises them. The DOCX is read back with python-docx and the
PDF with PyMuPDF, as a clerk would check them: every field the Party's guidance asks
for is there. The final is frozen, its hash stable, and signed when a certificate is
configured (verified with pyHanko). The conclusion notice likewise; then the command line
on the demo's past meeting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import aiohttp
import pytest

from server.domain import records as rules
from server.domain.text import name_key
from tests.conftest import ROOT, LiveApp, add_document, build_world, new_key, serving

# Members present, by given name (An, Ánh, Bình, Hoa): not the order of their full names.
PRESENT = ["Nguyễn Văn An", "Vũ Thị Ánh", "Phạm Thị Bình", "Trần Thị Hoa"]
ABSENT = [("Hoàng Văn Cường", "absent", ""), ("Đỗ Thị Dung", "excused", "Đi công tác Trung ương")]
SUMMARY = "Nhất trí với dự thảo; đề nghị bổ sung chỉ tiêu về chuyển đổi số cấp xã."
CONCLUSIONS = {
    "Khai mạc": "Hội nghị đủ điều kiện tiến hành.",
    "Báo cáo chính trị": "Thống nhất thông qua Báo cáo chính trị; giao Văn phòng hoàn thiện.",
    "Bế mạc": "Các cấp ủy triển khai thực hiện ngay.",
}
POLL = "Thông qua Báo cáo chính trị"


def text(value: str) -> str:
    """Compared as a reader sees it: NFC, one space for any run of spaces and line breaks."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def docx_text(body: bytes) -> tuple[str, list]:
    import docx

    document = docx.Document(io.BytesIO(body))
    paragraphs = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                paragraphs += [p.text for p in cell.paragraphs]
    return text("\n".join(paragraphs)), document


def pdf_text(body: bytes) -> str:
    import pymupdf

    with pymupdf.open(stream=body, filetype="pdf") as doc:
        return text("\n".join(page.get_text() for page in doc))


async def staff(world, name: str, who: str = "vanphong", **data) -> dict:
    status, body = await world.live.command(world.tokens[who], name, key=new_key(), meeting_id=world.meeting_id, **data)
    assert status == 200, (name, body)
    return body["result"]


async def fetch(live: LiveApp, path: str, token: str) -> tuple[int, bytes, object]:
    async with aiohttp.ClientSession() as http, http.get(live.url + path,
                                                         headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.read(), resp.headers.copy()


async def snapshot(world) -> dict:
    status, body = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"])
    assert status == 200
    return body


async def hold_session(world) -> dict:
    """Attendance, a paper, a speech with its summary, a named vote, the chair's conclusions; closed."""
    ánh = (await staff(world, "participant.add", full_name="Vũ Thị Ánh", role="delegate",
                       title="Tỉnh ủy viên"))["participant"]["id"]
    await add_document(world, ["Dự thảo báo cáo", "Trang hai"], filename="bao-cao.pdf", title="Dự thảo Báo cáo chính trị")
    await staff(world, "meeting.publish")
    await staff(world, "document.publish")
    present = [world.participants[u] for u in ("chutri", "thuky", "daibieu01", "khach")] + [ánh]
    for pid in present:
        await staff(world, "attendance.set", participant_id=pid, status="present")
    await staff(world, "attendance.set", participant_id=world.participants["daibieu02"], status="absent")
    await staff(world, "attendance.set", participant_id=world.participants["daibieu03"], status="excused",
                reason=ABSENT[1][2])
    await staff(world, "meeting.start", "chutri")
    snap = await snapshot(world)
    items = {i["title"]: i["id"] for i in snap["agenda"]}
    report = items["Báo cáo chính trị"]
    await staff(world, "agenda.set_current", "chutri", item_id=report)

    asked = await staff(world, "speaker.request", "daibieu01", agenda_item_id=report, topic="Chỉ tiêu")
    rid = asked["request_id"]
    for step in ("approve", "start", "stop"):
        await staff(world, f"speaker.{step}", request_id=rid)
    await staff(world, "speaker.summary", request_id=rid, summary=SUMMARY)

    poll_id = (await staff(world, "poll.create", kind="motion", title=POLL, agenda_item_id=report,
                           majority={"base": "present", "threshold": "1/2", "strict": True}))["poll_id"]
    await staff(world, "poll.open", poll_id=poll_id)
    for who in ("chutri", "thuky", "daibieu01"):
        await staff(world, "poll.vote", who, poll_id=poll_id, choice="yes")
    await staff(world, "poll.close", poll_id=poll_id)
    await staff(world, "poll.publish", "chutri", poll_id=poll_id)

    for title, conclusion in CONCLUSIONS.items():
        result = await staff(world, "conclusion.set", "chutri", item_id=items[title], text=conclusion)
        assert result["conclusion"]["text"] == conclusion
    await staff(world, "meeting.adjourn")
    await staff(world, "meeting.close")
    return await snapshot(world)


async def test_minutes_from_the_record_to_a_frozen_final(world):
    live, m = world.live, world.meeting_id
    snap = await hold_session(world)
    assert {c["text"] for c in snap["conclusions"]} == set(CONCLUSIONS.values())
    assert snap["records"] == {"minutes": None, "conclusion_notice": None}

    # The draft is drawn from the record.
    record = (await staff(world, "minutes.draft", "thuky"))["record"]
    assert record["state"] == "draft" and record["files"] is None
    content = record["content"]
    assert [p["name"] for p in content["attendance"]["present"]] == PRESENT
    assert [p["name"] for p in content["attendance"]["present"]] != sorted(PRESENT)  # not the plain string order
    assert [(p["name"], p["reason"]) for p in content["attendance"]["absent"]] == [(n, r) for n, _, r in ABSENT]
    assert content["chair"]["name"] == "Nguyễn Văn An" and content["minute_taker"]["name"] == "Trần Thị Hoa"
    assert content["place"] == "Hội trường Tỉnh ủy" and content["place_name"] == "Bắc Ninh"
    assert content["guests"] == [{"name": "Vũ Minh Khách", "title": "", "present": True}]
    assert content["documents"] == ["Dự thảo Báo cáo chính trị (2 trang)"]
    item = next(i for i in content["items"] if i["title"] == "Báo cáo chính trị")
    speech = item["speeches"][0]
    assert speech["name"] == "Phạm Thị Bình" and speech["summary"] == SUMMARY
    assert POLL in item["polls"][0]["text"] and "Kết quả: thông qua" in item["polls"][0]["text"]
    assert item["conclusion"] == CONCLUSIONS["Báo cáo chính trị"]

    # The secretary edits it; a stale revision is refused.
    edits = {
        "number": "05", "symbol": "BB/TU", "date": "2026-12-10", "issuer": "ĐẢNG BỘ TỈNH BẮC NINH\nTỈNH ỦY",
        "minute_taker": {"name": "Lê Thị Ghi", "title": "Chuyên viên Văn phòng Tỉnh ủy"},
        "opening": "Đồng chí Trần Thị Hoa tuyên bố lý do, giới thiệu đại biểu.",
        "items": [{"item_id": item["item_id"], "notes": "Đồng chí Phạm Thị Bình trình bày tóm tắt dự thảo.",
                   "speeches": [{"request_id": speech["request_id"], "summary": SUMMARY + " Đã tiếp thu."}]}],
    }
    status, body = await live.command(world.tokens["thuky"], "minutes.update", meeting_id=m,
                                      revision=record["revision"] + 5, number="06")
    assert status == 409 and body["error"]["code"] == "conflict"
    status, body = await live.command(world.tokens["thuky"], "minutes.update", meeting_id=m, number=None)
    assert status == 422
    status, body = await live.command(world.tokens["thuky"], "minutes.update", meeting_id=m,
                                      items=[{"item_id": 2**31 - 1, "notes": "x"}])
    assert status == 422 and body["error"]["details"][0]["field"] == "items.0.item_id"
    record = (await staff(world, "minutes.update", "thuky", revision=record["revision"], **edits))["record"]
    assert record["content"]["number"] == "05" and record["content"]["minute_taker"]["name"] == "Lê Thị Ghi"

    # Made again from the record, what was typed stays.
    again = (await staff(world, "minutes.draft", "thuky"))["record"]["content"]
    assert again["number"] == "05" and again["opening"] == edits["opening"]
    assert next(i for i in again["items"] if i["item_id"] == item["item_id"])["notes"] == edits["items"][0]["notes"]
    record = (await staff(world, "minutes.update", "thuky", items=edits["items"]))["record"]

    # The draft downloads as a draft; the delegates do not see it.
    status, body, _ = await fetch(live, f"/api/meetings/{m}/minutes.docx", world.tokens["chutri"])
    assert status == 200 and rules.DRAFT_MARK in docx_text(body)[0]
    for path in ("minutes.docx", "minutes.pdf"):
        status, _, _ = await fetch(live, f"/api/meetings/{m}/{path}", world.tokens["daibieu01"])
        assert status == 404
    status, body = await live.request("GET", f"/api/meetings/{m}/minutes", token=world.tokens["daibieu01"])
    assert status == 200 and body == {"record": None}

    # Finalised: DOCX and PDF stored by hash, every field printed.
    final = (await staff(world, "minutes.finalise", "thuky", revision=record["revision"]))["record"]
    assert final["state"] == "final" and final["signed_by"] is None
    status, docx_body, headers = await fetch(live, f"/api/meetings/{m}/minutes.docx", world.tokens["daibieu01"])
    assert status == 200 and hashlib.sha256(docx_body).hexdigest() == final["files"]["docx"]["sha256"]
    assert headers["ETag"] == f'"{final["files"]["docx"]["sha256"]}"'
    status, pdf_body, _ = await fetch(live, f"/api/meetings/{m}/minutes.pdf", world.tokens["thuky"])
    assert status == 200 and hashlib.sha256(pdf_body).hexdigest() == final["files"]["pdf"]["sha256"]
    assert pdf_body.startswith(b"%PDF-")

    words, document = docx_text(docx_body)
    started = dt.datetime.fromisoformat(final["content"]["started_at"].replace("Z", "+00:00"))
    ended = dt.datetime.fromisoformat(final["content"]["ended_at"].replace("Z", "+00:00"))
    required = [
        rules.PARTY, "ĐẢNG BỘ TỈNH BẮC NINH TỈNH ỦY", "Số 05-BB/TU", "Bắc Ninh, ngày 10 tháng 12 năm 2026",
        "BIÊN BẢN", "Hội nghị Ban Chấp hành lần thứ 5",
        f"Thời gian bắt đầu: {rules.clock_text(started)}", f"kết thúc vào hồi {rules.clock_text(ended)}",
        "Địa điểm: Hội trường Tỉnh ủy",
        "Chủ trì: Đồng chí Nguyễn Văn An", "Thư ký (người ghi biên bản): Đồng chí Lê Thị Ghi, Chuyên viên Văn phòng Tỉnh ủy",
        "Tài liệu sử dụng tại hội nghị: 1. Dự thảo Báo cáo chính trị (2 trang).",
        "Có mặt: 4/6 đồng chí", "Vắng mặt: 2 đồng chí",
        "Hoàng Văn Cường (vắng mặt không rõ lý do)", "Đỗ Thị Dung (vắng có lý do: Đi công tác Trung ương)",
        "Khách mời: 1 đồng chí: 1. Đồng chí Vũ Minh Khách.",
        "Nội dung hội nghị: 1. Khai mạc. 2. Báo cáo chính trị. 3. Bế mạc.",
        edits["opening"], edits["items"][0]["notes"],
        "Đồng chí Phạm Thị Bình (thời lượng", SUMMARY + " Đã tiếp thu.",
        f"Biểu quyết công khai “{POLL}”", "Tán thành: 3/4 (75,00% số thành viên có mặt)",
        *(f"Kết luận của đồng chí chủ trì: {c}" for c in CONCLUSIONS.values()),
        "THƯ KÝ HỘI NGHỊ", "CHỦ TRÌ HỘI NGHỊ", "Lê Thị Ghi", rules.DEFAULT_MINUTES_CLOSING,
    ]
    assert [r for r in required if text(r) not in words] == []
    assert rules.DRAFT_MARK not in words
    speech_line = next(p.text for p in document.paragraphs if "Phạm Thị Bình (thời lượng" in p.text)
    seconds = next(s for s in (await snapshot(world))["speakers"] if s["id"] == speech["request_id"])["seconds"]
    assert f"(thời lượng {rules.duration_text(seconds)})" in speech_line
    # The members present, by given name.
    present = re.search(r"Có mặt: 4/6 đồng chí: (.*?) Vắng mặt", words).group(1)
    shown = [n for n in PRESENT if n in present]
    assert sorted(shown, key=lambda n: present.index(n)) == PRESENT == sorted(PRESENT, key=name_key)
    # The date line of a Party document is in italics.
    italic = [r.text for t in document.tables for c in t.rows[0].cells for p in c.paragraphs for r in p.runs if r.italic]
    assert "Bắc Ninh, ngày 10 tháng 12 năm 2026" in italic

    printed = pdf_text(pdf_body)
    assert [r for r in required if text(r) not in printed] == []

    # Frozen: no more edits, no new draft, the same bytes again.
    for name, data in (("minutes.update", {"number": "07"}), ("minutes.draft", {}), ("minutes.finalise", {})):
        status, body = await live.command(world.tokens["thuky"], name, meeting_id=m, **data)
        assert status == 409 and body["error"]["code"] == "invalid_transition", name
    status, again_body, _ = await fetch(live, f"/api/meetings/{m}/minutes.docx", world.tokens["vanphong"])
    assert again_body == docx_body
    status, body = await live.request("GET", f"/api/meetings/{m}/minutes", token=world.tokens["daibieu01"])
    assert body["record"]["state"] == "final" and body["record"]["files"] == final["files"]
    assert body["record"]["content"]["number"] == "05"

    # The log: drafts went to the secretariat only; the final to the meeting.
    status, body = await live.request("GET", f"/api/meetings/{m}/events?since=0", token=world.tokens["daibieu01"])
    mine = [e["data"]["record"]["state"] for e in body["events"] if e["type"] == "record.updated"]
    assert mine == ["final"]
    status, body = await live.request("GET", f"/api/meetings/{m}/events?since=0", token=world.tokens["thuky"])
    theirs = [e["data"]["record"]["state"] for e in body["events"] if e["type"] == "record.updated"]
    assert theirs[-1] == "final" and theirs.count("draft") == 4
    assert sum(e["type"] == "conclusion.updated" for e in body["events"]) == len(CONCLUSIONS)


async def test_the_conclusion_notice_has_every_field_of_a_party_document(world):
    live, m = world.live, world.meeting_id
    await hold_session(world)
    draft = (await staff(world, "conclusion_notice.draft", "thuky"))["record"]["content"]
    assert [s["text"] for s in draft["sections"]] == list(CONCLUSIONS.values())
    assert draft["signer_name"] == "Nguyễn Văn An" and draft["authority"] == rules.DEFAULT_AUTHORITY
    edits = {
        "number": "123", "symbol": "TB/TU", "date": "2026-12-10", "signer_title": "BÍ THƯ",
        "subject": "Kết luận của đồng chí Bí thư Tỉnh ủy tại Hội nghị Ban Chấp hành lần thứ 5",
        "recipients": ["Ban Bí thư (để báo cáo)", "Các đồng chí Tỉnh ủy viên", "Lưu Văn phòng Tỉnh ủy"],
    }
    record = (await staff(world, "conclusion_notice.update", "thuky", **edits))["record"]
    status, body = await live.command(world.tokens["thuky"], "conclusion_notice.update", meeting_id=m,
                                      recipients=None)
    assert status == 422
    issued = (await staff(world, "conclusion_notice.issue", "thuky", revision=record["revision"]))["record"]
    assert issued["state"] == "final"

    status, docx_body, _ = await fetch(live, f"/api/meetings/{m}/conclusion-notice.docx", world.tokens["vanphong"])
    assert status == 200 and hashlib.sha256(docx_body).hexdigest() == issued["files"]["docx"]["sha256"]
    status, pdf_body, _ = await fetch(live, f"/api/meetings/{m}/conclusion-notice.pdf", world.tokens["daibieu01"])
    assert status == 200 and hashlib.sha256(pdf_body).hexdigest() == issued["files"]["pdf"]["sha256"]
    required = [
        rules.PARTY, "ĐẢNG BỘ TỈNH BẮC NINH", "*", "Số 123-TB/TU", "Bắc Ninh, ngày 10 tháng 12 năm 2026",
        "THÔNG BÁO", edits["subject"], *CONCLUSIONS.values(), rules.DEFAULT_NOTICE_CLOSING,
        "T/M BAN THƯỜNG VỤ", "BÍ THƯ", "Nguyễn Văn An",
        "Nơi nhận:", "- Ban Bí thư (để báo cáo),", "- Các đồng chí Tỉnh ủy viên,", "- Lưu Văn phòng Tỉnh ủy.",
    ]
    words, document = docx_text(docx_body)
    assert [r for r in required if text(r) not in words] == []
    printed = pdf_text(pdf_body)
    assert [r for r in required if text(r) not in printed] == []
    # The order of a Party document: header, type and subject, body, signature and recipients.
    positions = [printed.index(text(r)) for r in (rules.PARTY, "THÔNG BÁO", edits["subject"],
                                                  CONCLUSIONS["Khai mạc"], "Nơi nhận:")]
    assert positions == sorted(positions)
    party = next(r for t in document.tables for c in t.rows[0].cells for p in c.paragraphs for r in p.runs
                 if r.text == rules.PARTY)
    assert party.bold and party.underline
    status, body = await live.command(world.tokens["thuky"], "conclusion_notice.update", meeting_id=m, number="9")
    assert status == 409 and body["error"]["code"] == "invalid_transition"


async def test_who_may_do_what(world):
    live, m = world.live, world.meeting_id
    await staff(world, "meeting.publish")
    items = [i["id"] for i in (await snapshot(world))["agenda"]]
    # Before the session nothing is concluded or recorded.
    status, body = await live.command(world.tokens["chutri"], "conclusion.set", meeting_id=m, item_id=items[0], text="x")
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    status, body = await live.command(world.tokens["thuky"], "minutes.draft", meeting_id=m)
    assert status == 409
    await staff(world, "meeting.start", "chutri")
    for name, data in (("minutes.draft", {}), ("minutes.update", {"number": "1"}), ("minutes.finalise", {}),
                       ("conclusion_notice.draft", {}), ("conclusion_notice.issue", {})):
        for who in ("daibieu01", "chutri", "khach", "nguoingoai"):
            status, body = await live.command(world.tokens[who], name, meeting_id=m, **data)
            assert status == 403 and body["error"]["code"] == "forbidden", (name, who, body)
    for who in ("daibieu01", "khach"):
        status, body = await live.command(world.tokens[who], "conclusion.set", meeting_id=m, item_id=items[0], text="x")
        assert status == 403, who
    await staff(world, "conclusion.set", "chutri", item_id=items[0], text="Kết luận")
    # An item taken off the agenda takes its conclusion with it.
    extra = (await staff(world, "agenda.add", title="Nội dung phát sinh"))["item_id"]
    await staff(world, "conclusion.set", "thuky", item_id=extra, text="Sẽ bỏ")
    status, body = await live.request("DELETE", f"/api/meetings/{m}/agenda/{extra}", token=world.tokens["vanphong"])
    assert status == 200, body
    assert [c["agenda_item_id"] for c in (await snapshot(world))["conclusions"]] == [items[0]]
    status, body = await live.command(world.tokens["thuky"], "minutes.update", meeting_id=m, number="1")
    assert status == 404 and body["error"]["code"] == "not_found"  # no draft yet
    # A preview drawn from the record, for the staff and the chair only.
    status, body, _ = await fetch(live, f"/api/meetings/{m}/minutes.docx", world.tokens["chutri"])
    assert status == 200 and "Kết luận" in docx_text(body)[0]
    for who in ("daibieu01", "khach"):
        status, _, _ = await fetch(live, f"/api/meetings/{m}/conclusion-notice.docx", world.tokens[who])
        assert status == 404, who
    status, _, _ = await fetch(live, f"/api/meetings/{m}/minutes.docx", world.tokens["nguoingoai"])
    assert status == 404


async def test_finalise_is_refused_without_libreoffice(world, monkeypatch):
    from agendas import office

    live, m = world.live, world.meeting_id
    await staff(world, "meeting.publish")
    await staff(world, "meeting.start", "chutri")
    record = (await staff(world, "minutes.draft", "thuky"))["record"]
    monkeypatch.setattr(office, "find_soffice", lambda: None)
    status, body = await live.command(world.tokens["thuky"], "minutes.finalise", meeting_id=m)
    assert status == 503 and body["error"]["code"] == "office_unavailable", body
    status, body = await live.request("GET", f"/api/meetings/{m}/minutes", token=world.tokens["thuky"])
    assert body["record"]["state"] == "draft" and body["record"]["revision"] == record["revision"]
    status, _, _ = await fetch(live, f"/api/meetings/{m}/minutes.pdf", world.tokens["thuky"])
    assert status == 503
    status, body, _ = await fetch(live, f"/api/meetings/{m}/minutes.docx", world.tokens["thuky"])
    assert status == 200  # the DOCX needs no LibreOffice


async def test_text_no_document_can_hold_is_refused_and_the_final_still_made(world):
    """A control character typed into the draft would break python-docx at finalise: refused on the way in."""
    live, m = world.live, world.meeting_id
    await staff(world, "meeting.publish")
    await staff(world, "meeting.start", "chutri")
    record = (await staff(world, "minutes.draft", "thuky"))["record"]
    for change in ({"opening": "Khai mạc\x01"}, {"chair": {"name": "Nguyễn\x1f Văn A"}},
                   {"items": [{"item_id": None, "notes": "ghi\ud800chú"}]}):
        status, body = await live.request("PATCH", f"/api/meetings/{m}/minutes", token=world.tokens["thuky"],
                                          json=change)
        assert status == 422 and body["error"]["code"] == "invalid", (change, body)
        assert "control character" in json.dumps(body, ensure_ascii=False), body
    status, body = await live.command(world.tokens["thuky"], "minutes.finalise", meeting_id=m,
                                      revision=record["revision"])
    assert status == 200 and body["result"]["record"]["state"] == "final", body


# --- signing -------------------------------------------------------------------------


def make_certificate(folder: Path, password: str) -> tuple[Path, bytes]:
    """A throwaway self-signed signing certificate and key, as PKCS#12; and the certificate (DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Văn phòng Tỉnh ủy Bắc Ninh"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Văn phòng Tỉnh ủy Bắc Ninh (thử nghiệm)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "ky-so.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"ky-so", key, cert, None, serialization.BestAvailableEncryption(password.encode())))
    return path, cert.public_bytes(serialization.Encoding.DER)


async def test_the_final_pdf_is_signed_and_verifies(settings, tmp_path):
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    p12, der = make_certificate(tmp_path, "mat-khau-ky-so")
    signing = dataclasses.replace(settings, signing_cert=p12, signing_password="mat-khau-ky-so")
    async with serving(signing) as live:
        world = await build_world(live)
        await staff(world, "meeting.publish")
        await staff(world, "meeting.start", "chutri")
        await staff(world, "minutes.draft", "thuky")
        final = (await staff(world, "minutes.finalise", "thuky"))["record"]
        assert "Văn phòng Tỉnh ủy Bắc Ninh (thử nghiệm)" in final["signed_by"]
        status, body, _ = await fetch(live, f"/api/meetings/{world.meeting_id}/minutes.pdf", world.tokens["daibieu01"])
        assert status == 200 and hashlib.sha256(body).hexdigest() == final["files"]["pdf"]["sha256"]

    reader = PdfFileReader(io.BytesIO(body))
    [signature] = reader.embedded_signatures
    status = await async_validate_pdf_signature(
        signature, ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)]))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.signing_cert.subject.native["common_name"] == "Văn phòng Tỉnh ủy Bắc Ninh (thử nghiệm)"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert "BIÊN BẢN" in pdf_text(body)

    # A certificate that cannot be opened refuses the final, with a clear code.
    wrong = dataclasses.replace(settings, signing_cert=p12, signing_password="sai-mat-khau")
    async with serving(wrong) as live:  # the same database: the world's sessions still hold
        token, m = world.tokens["thuky"], world.meeting_id
        status, body = await live.command(token, "conclusion_notice.draft", meeting_id=m)
        assert status == 200, body
        status, body = await live.command(token, "conclusion_notice.issue", meeting_id=m)
        assert status == 503 and body["error"]["code"] == "signing_unavailable", body


# --- the command line on the demo's past meeting -------------------------------------------


def phonghop(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PHONGHOP_DEMO_PASSWORD": "mat-khau-demo"})


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("demo")
    seeded = phonghop("demo", "--data-dir", str(folder))
    assert seeded.returncode == 0, seeded.stderr
    meetings = json.loads(phonghop("meetings", "--data-dir", str(folder), "--json").stdout.strip().splitlines()[-1])
    return folder, next(m["id"] for m in meetings if m["status"] == "closed")


def export(demo, what: str, fmt: str, out: Path) -> subprocess.CompletedProcess:
    folder, meeting = demo
    return phonghop("export", what, "--data-dir", str(folder), "--meeting", str(meeting), "--format", fmt,
                    "--out", str(out))


def test_the_demo_past_meeting_exports_its_minutes(demo, tmp_path):
    from server import demo as seeded

    done = export(demo, "minutes", "docx", tmp_path / "bien-ban.docx")
    assert done.returncode == 0, done.stderr
    words, _ = docx_text((tmp_path / "bien-ban.docx").read_bytes())
    done = export(demo, "minutes", "pdf", tmp_path / "bien-ban.pdf")
    assert done.returncode == 0, done.stderr
    printed = pdf_text((tmp_path / "bien-ban.pdf").read_bytes())
    required = [
        rules.PARTY, "ĐẢNG BỘ TỈNH BẮC NINH", "Số", "-BB", "Bắc Ninh, ngày", "BIÊN BẢN",
        "Thời gian bắt đầu: 08 giờ 02 phút", "Địa điểm: Hội trường Tỉnh ủy", "Chủ trì: Đồng chí Nguyễn Văn An",
        "Thư ký (người ghi biên bản): Đồng chí Trần Thị Hoa", "Tài liệu sử dụng tại hội nghị: 1. Chương trình hội nghị.",
        "Có mặt: 40/42 đồng chí", "Vắng mặt: 2 đồng chí", "(vắng có lý do: Đi công tác Trung ương)",
        "Khách mời: 4 đồng chí", "Đồng chí Đỗ Văn Thịnh",
        *(summary for _, _, _, _, summary in seeded.SPEECHES), "(thời lượng 5 phút 12 giây)",
        "Điểm cầu Xã Tiên Du (thời lượng 3 phút 10 giây)",
        f"“{seeded.RESOLUTION}”", "Tán thành: 38/42", "Không tán thành: 1/42", "Kết quả: thông qua",
        *(f"Kết luận của đồng chí chủ trì: {c}" for _, c in seeded.CONCLUSIONS),
        "Hội nghị kết thúc vào hồi", "THƯ KÝ HỘI NGHỊ", "CHỦ TRÌ HỘI NGHỊ",
    ]
    assert [r for r in required if text(r) not in words] == []
    assert [r for r in required if text(r) not in printed] == []
    # Present members by given name: An (Nguyễn Văn An) comes first, Yến (Đinh Thị Yến) last.
    present = re.search(r"Có mặt: 40/42 đồng chí: (.*?) Vắng mặt", words).group(1)
    assert present.startswith("1. Đồng chí Nguyễn Văn An") and "40. Đồng chí Đinh Thị Yến" in present


def test_the_demo_past_meeting_exports_its_conclusion_notice_and_comments(demo, tmp_path):
    from server import demo as seeded

    for fmt in ("docx", "pdf"):
        done = export(demo, "conclusions", fmt, tmp_path / f"thong-bao.{fmt}")
        assert done.returncode == 0, done.stderr
    words, _ = docx_text((tmp_path / "thong-bao.docx").read_bytes())
    printed = pdf_text((tmp_path / "thong-bao.pdf").read_bytes())
    required = [rules.PARTY, "ĐẢNG BỘ TỈNH BẮC NINH", "-TB", "Bắc Ninh, ngày", "THÔNG BÁO",
                "Kết luận của đồng chí Nguyễn Văn An, Bí thư Tỉnh ủy tại hội nghị",
                *(c for _, c in seeded.CONCLUSIONS), "T/M BAN THƯỜNG VỤ", "BÍ THƯ TỈNH ỦY", "Nguyễn Văn An",
                "Nơi nhận:", "- Lưu Văn phòng."]
    assert [r for r in required if text(r) not in words] == []
    assert [r for r in required if text(r) not in printed] == []
    done = export(demo, "comments", "xlsx", tmp_path / "gop-y.xlsx")
    assert done.returncode == 0, done.stderr
    import openpyxl

    assert openpyxl.load_workbook(tmp_path / "gop-y.xlsx").active["A1"].value == "BẢNG TỔNG HỢP Ý KIẾN GÓP Ý"


def test_export_refuses_a_bad_meeting_or_format_in_one_line(demo, tmp_path):
    for args in (("minutes", "xlsx", "1"), ("comments", "pdf", "1"), ("minutes", "docx", "9999"),
                 ("minutes", "docx", "abc"), ("bienban", "docx", "1")):
        what, fmt, meeting = args
        done = phonghop("export", what, "--data-dir", str(demo[0]), "--meeting", meeting, "--format", fmt,
                        "--out", str(tmp_path / "x"))
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("phonghop: "), done.stderr
        assert not (tmp_path / "x").exists()
