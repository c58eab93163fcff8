"""Meeting packs: the sample imports, a meeting survives export and import, bad files are refused."""

from __future__ import annotations

import copy
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from agendas import packs
from server.domain.errors import DomainError, Invalid
from server.store.tables import AgendaItem, Base, Meeting, Participant, Unit, User
from server.store.views import agenda_items, agenda_list

SAMPLE = Path(__file__).resolve().parent.parent / "agendas" / "examples" / "hoi-nghi-bch-tinh.yaml"

MINI = """\
version: 1
units:
  - {code: TW, name: Trung ương, level: Trung ương}
meeting:
  code: M-1
  title: Họp thử
  unit: TW
  participants:
    - {name: Nguyễn Văn Ba, role: chair}
  agenda:
    - {title: Khai mạc}
"""


@pytest.fixture
async def open_db(tmp_path):
    """A factory of fresh SQLite databases, one file each, with the tables created."""
    engines = []

    async def make(name: str = "t.db"):
        engine = create_async_engine("sqlite+aiosqlite:///" + str(tmp_path / name))
        engines.append(engine)
        async with engine.begin() as c:
            await c.run_sync(Base.metadata.create_all)
        return async_sessionmaker(engine, expire_on_commit=False)

    yield make
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def db(open_db):
    async with (await open_db())() as session:
        yield session


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def sample_data() -> dict:
    return yaml.safe_load(sample_text())


async def counts(db) -> dict[str, int]:
    out = {}
    for table in (Unit, User, Meeting, Participant, AgendaItem):
        out[table.__tablename__] = await db.scalar(select(func.count()).select_from(table))
    return out


def refused(text: str) -> Invalid:
    with pytest.raises(Invalid) as caught:
        packs.load(text)
    err = caught.value
    assert err.code == "invalid" and err.status == 422
    assert isinstance(err.details, list) and err.details
    assert "Traceback" not in err.message
    return err


def paths(err: Invalid) -> list[str]:
    return [d["path"] for d in err.details]


# --- the sample ------------------------------------------------------------------------


async def test_sample_loads_and_imports(db):
    pack = packs.load(sample_text())
    result = await packs.import_pack(db, pack)
    await db.commit()

    assert result["participants"] == len(pack.meeting.participants)
    assert 55 <= result["participants"] <= 65
    assert result["accounts"] == 55  # admin, thuky, chutri, daibieu01..40, diemcau01..12
    assert result["agenda_items"] == len(list(pack.walk_agenda()))
    assert result["units"] == 14

    meeting = await db.get(Meeting, result["meeting_id"])
    assert meeting.code == "BCH-BN-2026-12"
    assert meeting.status == "draft" and meeting.last_seq == 0
    assert meeting.starts_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
    assert meeting.quorum == "2/3"

    province = await db.scalar(select(Unit).where(Unit.code == "BN"))
    communes = (await db.scalars(select(Unit).where(Unit.parent_id == province.id))).all()
    assert len(communes) >= 10
    assert {u.level for u in communes} <= {"Xã", "Phường", "Đặc khu"}

    people = (await db.scalars(select(Participant).where(Participant.meeting_id == meeting.id))).all()
    roles = [p.role for p in people]
    assert roles.count("chair") == 1 and roles.count("secretary") == 1
    assert roles.count("delegate") == 40
    operators = [p for p in people if p.role == "operator"]
    assert len(operators) == len(communes)
    assert {p.unit_id for p in operators} == {u.id for u in communes}
    assert not any(p.voting for p in people if p.role in ("guest", "observer", "operator"))
    assert sum(p.voting for p in people) == 42

    users = {u.id: u for u in (await db.scalars(select(User))).all()}
    assert all(u.password_hash is None for u in users.values())
    by_name = {u.username: u for u in users.values()}
    assert by_name["admin"].roles == ["admin"] and by_name["thuky"].roles == ["secretariat"]
    linked = {users[p.user_id].username: p for p in people if p.user_id is not None}
    assert linked["chutri"].role == "chair" and linked["thuky"].role == "secretary"
    assert {f"daibieu{i:02d}" for i in range(1, 41)} <= set(linked)
    assert all(linked[f"daibieu{i:02d}"].voting for i in range(1, 41))
    assert "admin" not in linked

    agenda = agenda_list(await agenda_items(db, meeting.id))
    numbers = [a["number"] for a in agenda]
    assert numbers[:5] == ["1", "1.1", "1.2", "2", "2.1"]
    assert "2.3.1" in numbers
    assert agenda[0]["title"] == "Khai mạc hội nghị"
    assert agenda[-1]["title"].endswith("bế mạc hội nghị")
    assert len([a for a in agenda if a["parent_id"] is None]) == 7
    # Positions are 0..n-1 under each parent.
    siblings: dict = {}
    for a in agenda:
        siblings.setdefault(a["parent_id"], []).append(a["position"])
    assert all(sorted(v) == list(range(len(v))) for v in siblings.values())


async def test_round_trip_gives_the_same_file(open_db):
    first = await open_db("one.db")
    async with first() as db:
        result = await packs.import_pack(db, packs.load(sample_text()))
        await db.commit()
        text = await packs.export_pack(db, result["meeting_id"])
        assert await packs.export_pack(db, result["meeting_id"]) == text  # stable

    assert "+07:00" in text and "password" not in text and "&" not in text
    assert "Nguyễn Văn An" in text  # readable Vietnamese, not \u escapes
    exported = yaml.safe_load(text)
    assert "admin" not in [a["username"] for a in exported["accounts"]]  # not a participant
    names = [p["name"] for p in exported["meeting"]["participants"]]
    assert names[0].split()[-1] == "An"  # sorted by given name

    second = await open_db("two.db")
    async with second() as db:
        again = await packs.import_pack(db, packs.load(text))
        await db.commit()
        assert again["participants"] == result["participants"]
        assert again["agenda_items"] == result["agenda_items"]
        assert await packs.export_pack(db, again["meeting_id"]) == text


async def test_export_of_an_unknown_meeting_is_not_found(db):
    with pytest.raises(DomainError) as caught:
        await packs.export_pack(db, 404)
    assert caught.value.code == "not_found"


# --- refusals --------------------------------------------------------------------------


def _set(data: dict, path: list, value) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


BAD = {
    "unknown role": (["meeting", "participants", 3, "role"], "chu-tri", "meeting.participants[3].role"),
    "global role in a meeting": (["meeting", "participants", 4, "role"], "admin", "meeting.participants[4].role"),
    "meeting role on an account": (["accounts", 2, "roles"], ["chair"], "accounts[2].roles"),
    "duplicate unit code": (["units", 0, "children", 0, "children", 1, "code"], "BN-P-BACGIANG",
                            "units[0].children[0].children[1].code"),
    "bad quorum": (["meeting", "quorum"], "3/2", "meeting.quorum"),
    "quorum not a fraction": (["meeting", "quorum"], "hai phần ba", "meeting.quorum"),
    "unknown field": (["meeting", "participants", 0, "email"], "an@example.org", "meeting.participants[0].email"),
    "unknown top field": (["passwords"], {"admin": "x"}, "passwords"),
    "four-level agenda": (["meeting", "agenda", 1, "items", 2, "items", 0, "items"], [{"title": "Quá sâu"}],
                          "meeting.agenda[1].items[2].items[0].items"),
    "ends before it starts": (["meeting", "ends_at"], datetime(2026, 12, 9, 17, 0), "meeting.ends_at"),
    "bad username": (["accounts", 0, "username"], "Quản Trị", "accounts[0].username"),
    "duplicate account": (["accounts", 1, "username"], "admin", "accounts[1].username"),
    "account invited twice": (["meeting", "participants", 3, "username"], "daibieu01",
                              "meeting.participants[3].username"),
    "empty title": (["meeting", "agenda", 0, "title"], "  ", "meeting.agenda[0].title"),
    "text where a number goes": (["meeting", "agenda", 0, "minutes"], "mười", "meeting.agenda[0].minutes"),
    "unit ends before it begins": (["units", 0, "children", 0, "valid_to"], datetime(2020, 1, 1).date(),
                                   "units[0].children[0].valid_to"),
    "missing meeting": (["meeting"], None, "meeting"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_fields_are_named(case):
    path, value, where = BAD[case]
    err = refused(yaml.safe_dump(_set(sample_data(), path, value), allow_unicode=True))
    assert where in paths(err), err.details
    assert where in err.message


def test_every_problem_is_listed():
    data = _set(sample_data(), ["meeting", "participants", 3, "role"], "chu-tri")
    data = _set(data, ["meeting", "quorum"], "5/3")
    err = refused(yaml.safe_dump(data, allow_unicode=True))
    assert {"meeting.participants[3].role", "meeting.quorum"} <= set(paths(err))
    assert "and 1 more" in err.message


def test_other_versions_are_refused():
    err = refused(MINI.replace("version: 1", "version: 2"))
    assert paths(err) == ["version"]


@pytest.mark.parametrize(
    "text",
    [
        "meeting: [unclosed\n  title: x\n",
        "version: 1\n\tmeeting: x\n",
        "",
        "- a\n- b\n",
        "chỉ là một dòng chữ",
        "--- {a: 1}\n--- {b: 2}\n",
        "!!python/object/apply:os.system ['echo pwned']\n",
        "version: 1\nversion: 1\nmeeting: {}\n",
        "[" * 5000 + "]" * 5000,
        "version: 1\nmeeting: {title: 'chuông \x07'}\n",
    ],
    ids=["unclosed", "tab", "empty", "list", "scalar", "two documents", "python tag", "duplicate key", "deep",
         "control character"],
)
def test_not_a_pack(text):
    err = refused(text)
    assert err.details[0]["path"] == ""


def test_not_yaml_says_where():
    err = refused("version: 1\nmeeting: [unclosed\n  title: x\n")
    assert "line" in err.details[0] and "YAML" in err.message


def test_alias_bomb_is_refused_before_it_expands():
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    err = refused("\n".join(lines) + "\n")
    assert "alias" in err.message


def test_even_a_single_alias_is_refused():
    text = MINI.replace("units:\n  - {code: TW", "units:\n  - &tw {code: TW") + "extra: *tw\n"
    err = refused(text)
    assert "alias" in err.message


def test_a_huge_file_is_refused():
    text = MINI + "# " + "x" * (3 * 1024 * 1024) + "\n"
    err = refused(text)
    assert "MB" in err.message
    with pytest.raises(Invalid):
        packs.load(text.encode())


def test_bytes_are_read_as_utf8():
    pack = packs.load(MINI.encode("utf-8-sig"))
    assert pack.meeting.title == "Họp thử"
    with pytest.raises(Invalid):
        packs.load(MINI.encode("utf-16"))


async def test_unknown_unit_code_is_named_at_import_and_nothing_is_written(db):
    data = _set(sample_data(), ["meeting", "participants", 5, "unit"], "BN-X-KHONGCO")
    data = _set(data, ["meeting", "agenda", 0, "unit"], "KHONGCO")
    pack = packs.load(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(Invalid) as caught:
        await packs.import_pack(db, pack)
    assert set(paths(caught.value)) == {"meeting.participants[5].unit", "meeting.agenda[0].unit"}
    await db.commit()
    assert set((await counts(db)).values()) == {0}


async def test_unknown_username_is_named_at_import(db):
    text = MINI.replace("{name: Nguyễn Văn Ba, role: chair}", "{name: Nguyễn Văn Ba, username: ai-do, role: chair}")
    with pytest.raises(Invalid) as caught:
        await packs.import_pack(db, packs.load(text))
    assert paths(caught.value) == ["meeting.participants[0].username"]


async def test_reimport_of_the_same_meeting_is_refused_and_changes_nothing(db):
    await packs.import_pack(db, packs.load(sample_text()))
    await db.commit()
    before = await counts(db)

    data = _set(sample_data(), ["units", 0, "name"], "Trung ương (đổi tên)")
    with pytest.raises(DomainError) as caught:
        await packs.import_pack(db, packs.load(yaml.safe_dump(data, allow_unicode=True)))
    assert caught.value.code == "meeting_exists"
    assert not isinstance(caught.value, Invalid)
    await db.commit()  # nothing was written before the refusal
    assert await counts(db) == before
    assert await db.scalar(select(Unit.name).where(Unit.code == "TW")) == "Trung ương"


async def test_a_second_pack_reuses_units_and_accounts(db):
    await packs.import_pack(db, packs.load(sample_text()))
    await db.commit()
    thuky = await db.scalar(select(User).where(User.username == "thuky"))
    thuky.password_hash = "kept"
    await db.commit()

    text = """\
version: 1
units:
  - {code: BN-X-TIENDU, name: Xã Tiên Du (mới), level: Xã}
accounts:
  - {username: thuky, full_name: Không ghi đè, roles: [admin]}
  - {username: kythuat.tiendu, full_name: Lê Văn Cầu, unit: BN-X-TIENDU}
meeting:
  code: BTV-TIENDU-01
  title: Họp Ban Thường vụ Đảng ủy xã
  unit: BN-X-TIENDU
  participants:
    - {name: Trần Thị Hoa, username: thuky, role: secretary}
    - {name: Lê Văn Cầu, username: kythuat.tiendu, role: operator}
  agenda:
    - {title: Khai mạc, unit: BN}
"""
    result = await packs.import_pack(db, packs.load(text))
    await db.commit()
    assert result["units"] == 1 and result["accounts"] == 1
    commune = await db.scalar(select(Unit).where(Unit.code == "BN-X-TIENDU"))
    province = await db.scalar(select(Unit).where(Unit.code == "BN"))
    assert commune.name == "Xã Tiên Du (mới)"
    assert commune.parent_id == province.id  # a root of the file keeps its place in the tree
    assert commune.valid_from is None  # the file says what the unit is
    await db.refresh(thuky)
    assert thuky.full_name == "Trần Thị Hoa" and thuky.roles == ["secretariat"] and thuky.password_hash == "kept"
    people = (await db.scalars(select(Participant).where(Participant.meeting_id == result["meeting_id"]))).all()
    by_role = {p.role: p for p in people}
    assert by_role["secretary"].voting and not by_role["operator"].voting  # defaults by role
    assert by_role["secretary"].user_id == thuky.id


async def test_a_unit_cannot_move_under_itself(db):
    await packs.import_pack(db, packs.load(MINI))
    text = MINI.replace("M-1", "M-2").replace(
        "units:\n  - {code: TW, name: Trung ương, level: Trung ương}",
        "units:\n  - {code: BN, name: Bắc Ninh, level: Tỉnh, children: [{code: TW, name: Trung ương, level: Trung ương}]}\n"
        "  - {code: X, name: X, level: Xã, parent: BN}",
    )
    await packs.import_pack(db, packs.load(text))  # TW moves under the new BN: allowed
    text = text.replace("M-2", "M-3").replace(
        "- {code: BN, name: Bắc Ninh, level: Tỉnh, children: [{code: TW, name: Trung ương, level: Trung ương}]}",
        "- {code: TW, name: Trung ương, level: Trung ương, children: [{code: BN, name: Bắc Ninh, level: Tỉnh}]}",
    )
    with pytest.raises(DomainError):
        await packs.import_pack(db, packs.load(text))  # BN under TW, while TW is under BN


def test_a_unit_named_as_its_own_parent_is_refused():
    text = MINI.replace("{code: TW, name: Trung ương, level: Trung ương}",
                        "{code: TW, name: Trung ương, level: Trung ương, parent: TW}")
    assert paths(refused(text)) == ["units[0].parent"]


async def test_a_top_unit_may_name_a_parent_further_down(db):
    text = MINI.replace(
        "units:\n  - {code: TW, name: Trung ương, level: Trung ương}",
        "units:\n  - {code: X, name: Xã Một, level: Xã, parent: BN}\n"
        "  - {code: TW, name: Trung ương, level: Trung ương, children: [{code: BN, name: Bắc Ninh, level: Tỉnh}]}",
    ).replace("unit: TW", "unit: X")
    await packs.import_pack(db, packs.load(text))
    units = {u.code: u for u in (await db.scalars(select(Unit))).all()}
    assert units["X"].parent_id == units["BN"].id and units["BN"].parent_id == units["TW"].id


def test_units_naming_each_other_as_parents_are_refused():
    text = MINI.replace(
        "units:\n  - {code: TW, name: Trung ương, level: Trung ương}",
        "units:\n  - {code: TW, name: Trung ương, level: Trung ương}\n"
        "  - {code: A, name: A, level: Tỉnh, parent: B}\n  - {code: B, name: B, level: Tỉnh, parent: A}",
    )
    assert paths(refused(text)) == ["units[1].parent", "units[2].parent"]


# --- text and times ----------------------------------------------------------------------


async def test_nfd_text_is_stored_nfc(db):
    nfd = unicodedata.normalize("NFD", MINI)
    assert nfd != MINI
    result = await packs.import_pack(db, packs.load(nfd))
    await db.commit()
    meeting = await db.get(Meeting, result["meeting_id"])
    assert meeting.title == "Họp thử" and unicodedata.is_normalized("NFC", meeting.title)
    person = await db.scalar(select(Participant).where(Participant.meeting_id == meeting.id))
    assert person.full_name == "Nguyễn Văn Ba"
    unit = await db.scalar(select(Unit).where(Unit.code == "TW"))
    assert unit.name == "Trung ương" and unit.level == "Trung ương"
    item = await db.scalar(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id))
    assert item.title == "Khai mạc"


async def test_times_without_a_zone_are_read_as_vietnam_time(db):
    text = MINI.replace("  unit: TW\n", "  unit: TW\n  starts_at: 2026-12-10 08:00:00\n  ends_at: 2026-12-10T10:30:00Z\n", 1)
    result = await packs.import_pack(db, packs.load(text))
    await db.commit()
    meeting = await db.get(Meeting, result["meeting_id"])
    assert meeting.starts_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2026, 12, 10, 10, 30, tzinfo=UTC)
    out = await packs.export_pack(db, meeting.id)
    assert "starts_at: 2026-12-10T08:00:00+07:00" in out
    assert "ends_at: 2026-12-10T17:30:00+07:00" in out
