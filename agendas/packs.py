"""Meeting packs: a meeting (units, accounts, participants, agenda) as one YAML file.

The format, version 1::

    version: 1
    units:                    # a tree of any depth; level names are data
      - code: TW
        name: Trung ương
        level: Trung ương
        children:
          - {code: BN, name: Tỉnh Bắc Ninh, level: Tỉnh, valid_from: 2025-07-01}
    accounts:                 # created if missing, never overwritten; no passwords here
      - {username: thuky, full_name: Trần Thị Hoa, roles: [secretariat], unit: BN}
    meeting:
      code: BCH-BN-2026-12
      title: Hội nghị Ban Chấp hành Đảng bộ tỉnh
      unit: BN
      place: Hội trường Tỉnh ủy
      starts_at: 2026-12-10T08:00:00+07:00   # no zone: read as Asia/Ho_Chi_Minh
      ends_at: 2026-12-10T17:00:00+07:00
      quorum: 2/3
      participants:
        - {name: Nguyễn Văn An, username: chutri, role: chair, title: Bí thư Tỉnh ủy, unit: BN, voting: true}
      agenda:
        - title: Khai mạc hội nghị
          presenter: Đồng chí Bí thư Tỉnh ủy
          minutes: 10
          items: [{title: ..., minutes: 5}]   # at most MAX_DEPTH levels

A `unit:` anywhere names a unit of the file or one already in the database. A unit
at the top of `units` may name its `parent:` (a unit of the file or of the database);
without that key an existing unit keeps its parent and a new one becomes a root.
`voting` defaults by role: the chair, the secretary and delegates vote.

`load` parses and validates (no database); `import_pack` resolves the references and
writes, inside the caller's transaction; `export_pack` writes a meeting back out, and
`load(export_pack(m))` imported into an empty database gives the same export again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import orgtree
from server.domain.agenda import MAX_DEPTH
from server.domain.errors import DomainError, Invalid, NotFound
from server.domain.permissions import GLOBAL_ROLES, MEETING_ROLES, VOTES_BY_DEFAULT
from server.domain.quorum import parse_fraction
from server.domain.text import name_key, nfc, text_key
from server.domain.times import aware, local
from server.store.tables import AgendaItem, Meeting, Participant, Unit, User

FORMAT_VERSION = 1
MAX_BYTES = 2 * 1024 * 1024  # a pack of 3,000 units and 500 participants is well under this
MAX_NESTING = 40  # YAML collections inside each other; a real pack needs about 15
USERNAME = r"^[a-z0-9._-]+$"  # as server.commands.units.UserCreate
# Members vote by default; guests, observers and operators attend without a vote
# (as server.commands.participants).


# --- the format ------------------------------------------------------------------


def _nfc_deep(value: Any) -> Any:
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, list):
        return [_nfc_deep(v) for v in value]
    return value


class _Spec(BaseModel):
    """Unknown fields are refused; every string arrives as NFC, without outer spaces."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _nfc(cls, value: Any) -> Any:
        return _nfc_deep(value)


class UnitSpec(_Spec):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    level: str = Field(min_length=1, max_length=100)
    parent: str | None = Field(default=None, min_length=1, max_length=64)
    valid_from: date | None = None
    valid_to: date | None = None
    children: list[UnitSpec] = Field(default_factory=list)


class AccountSpec(_Spec):
    username: str = Field(min_length=2, max_length=100, pattern=USERNAME)
    full_name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(default_factory=list)
    unit: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("roles")
    @classmethod
    def _roles(cls, roles: list[str]) -> list[str]:
        unknown = sorted(set(roles) - GLOBAL_ROLES)
        if unknown:
            raise ValueError(
                f"unknown account roles {', '.join(map(repr, unknown))}; one of: {', '.join(sorted(GLOBAL_ROLES))}"
                " (roles in a meeting belong to its participants)"
            )
        return sorted(set(roles))


class ParticipantSpec(_Spec):
    name: str = Field(min_length=1, max_length=200)
    username: str | None = Field(default=None, min_length=2, max_length=100, pattern=USERNAME)
    role: str
    title: str = Field(default="", max_length=300)
    unit: str | None = Field(default=None, min_length=1, max_length=64)
    voting: bool | None = None

    @field_validator("role")
    @classmethod
    def _role(cls, role: str) -> str:
        if role not in MEETING_ROLES:
            raise ValueError(f"unknown role {role!r}; one of: {', '.join(sorted(MEETING_ROLES))}")
        return role

    @property
    def votes(self) -> bool:
        return self.voting if self.voting is not None else self.role in VOTES_BY_DEFAULT


class AgendaSpec(_Spec):
    title: str = Field(min_length=1, max_length=500)
    presenter: str = Field(default="", max_length=300)
    minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    unit: str | None = Field(default=None, min_length=1, max_length=64)
    items: list[AgendaSpec] = Field(default_factory=list)


class MeetingSpec(_Spec):
    code: str | None = Field(default=None, min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=500)
    unit: str = Field(min_length=1, max_length=64)
    place: str = Field(default="", max_length=300)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    quorum: str = Field(default="2/3", max_length=20)
    participants: list[ParticipantSpec] = Field(default_factory=list)
    agenda: list[AgendaSpec] = Field(default_factory=list)

    @field_validator("quorum", mode="before")
    @classmethod
    def _quorum_text(cls, value: Any) -> Any:
        # `quorum: 1` or `quorum: 0.5` arrive from YAML as numbers.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("quorum")
    @classmethod
    def _quorum(cls, value: str) -> str:
        parse_fraction(value)  # ValueError: reported at meeting.quorum
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        return aware(value) if value is not None else None


class Pack(_Spec):
    version: Literal[1]
    units: list[UnitSpec] = Field(default_factory=list)
    accounts: list[AccountSpec] = Field(default_factory=list)
    meeting: MeetingSpec

    def walk_units(self) -> Iterator[tuple[str, UnitSpec, UnitSpec | None]]:
        """(path, unit, parent in the file), parents before their children."""

        def walk(units: list[UnitSpec], prefix: str, parent: UnitSpec | None):
            for i, u in enumerate(units):
                path = f"{prefix}[{i}]"
                yield path, u, parent
                yield from walk(u.children, f"{path}.children", u)

        yield from walk(self.units, "units", None)

    def walk_agenda(self) -> Iterator[tuple[str, AgendaSpec, int]]:
        """(path, item, depth from 1), parents before their sub-items."""

        def walk(items: list[AgendaSpec], prefix: str, depth: int):
            for i, item in enumerate(items):
                path = f"{prefix}[{i}]"
                yield path, item, depth
                yield from walk(item.items, f"{path}.items", depth + 1)

        yield from walk(self.meeting.agenda, "meeting.agenda", 1)

    def units_in_order(self) -> tuple[list[tuple[str, UnitSpec, UnitSpec | None]], list[str]]:
        """The units with every parent in the file before its children, even one named by `parent:`
        further down; and the paths of the `parent:` fields that go round in a circle."""
        trees: list[list[tuple[str, UnitSpec, UnitSpec | None]]] = []
        for entry in self.walk_units():
            if entry[2] is None:
                trees.append([])
            trees[-1].append(entry)
        in_file = {u.code for _, u, _ in self.walk_units()}
        ordered: list[tuple[str, UnitSpec, UnitSpec | None]] = []
        placed: set[str] = set()
        while trees:
            waiting = []
            for tree in trees:
                root = tree[0][1]
                if root.parent is None or root.parent not in in_file or root.parent in placed:
                    ordered += tree
                    placed |= {u.code for _, u, _ in tree}
                else:
                    waiting.append(tree)
            if len(waiting) == len(trees):
                return ordered, [f"{tree[0][0]}.parent" for tree in waiting]
            trees = waiting
        return ordered, []

    def unit_references(self) -> list[tuple[str, str]]:
        """(path, code) of every unit named outside the tree's own nesting."""
        refs = [(f"{path}.parent", u.parent) for path, u, _ in self.walk_units() if u.parent is not None]
        refs += [(f"accounts[{i}].unit", a.unit) for i, a in enumerate(self.accounts) if a.unit is not None]
        refs.append(("meeting.unit", self.meeting.unit))
        refs += [
            (f"meeting.participants[{i}].unit", p.unit)
            for i, p in enumerate(self.meeting.participants)
            if p.unit is not None
        ]
        refs += [(f"{path}.unit", item.unit) for path, item, _ in self.walk_agenda() if item.unit is not None]
        return refs


# --- load --------------------------------------------------------------------------


class _Refused(yaml.MarkedYAMLError):
    pass


# libyaml when it is there: the pure-Python parser takes ten times as long on a big pack.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """The safe loader, refusing a key written twice in one mapping (the second would win silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        raise _Refused(None, None, f"the key {key_node.value!r} appears twice in one mapping",
                                       key_node.start_mark)
                    seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _scan(text: str) -> None:
    """Refuse anchors and aliases (no "billion laughs") and deep nesting, before any node is built."""
    nesting = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(None, None, "YAML anchors and aliases (&, *) are not allowed in a meeting pack",
                           event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            nesting += 1
            if nesting > MAX_NESTING:
                raise _Refused(None, None, f"the document nests deeper than {MAX_NESTING} levels", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            nesting -= 1


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _problem(path: str, message: str, **extra: object) -> dict:
    return {"path": path, "message": message, **extra}


def _refuse(problems: list[dict]) -> Invalid:
    first = problems[0]
    where = f"{first['path']}: " if first["path"] else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Invalid(f"the meeting pack is not valid: {where}{first['message']}{more}", details=problems)


def _parse(text: str | bytes) -> object:
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise _refuse([_problem("", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _refuse([_problem("", f"the file is not UTF-8 text (byte {exc.start})")]) from None
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _refuse([_problem("", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")])
    loader = None
    try:
        _scan(text)
        loader = _Loader(text)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "unreadable"
        if not isinstance(exc, _Refused):
            problem = f"not valid YAML: {problem}"
        where = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise _refuse([_problem("", f"{problem}{at}", **where)]) from None
    except yaml.YAMLError as exc:
        raise _refuse([_problem("", f"not valid YAML: {str(exc).splitlines()[0]}")]) from None
    except RecursionError:
        raise _refuse([_problem("", "the document nests too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _check(pack: Pack) -> list[dict]:
    """The rules across fields: dates in order, unique codes and usernames, agenda depth."""
    problems: list[dict] = []
    m = pack.meeting
    if m.starts_at and m.ends_at and m.ends_at <= m.starts_at:
        problems.append(_problem("meeting.ends_at", "a meeting must end after it starts"))
    codes: dict[str, str] = {}
    for path, u, parent in pack.walk_units():
        if u.valid_from and u.valid_to and u.valid_to < u.valid_from:
            problems.append(_problem(f"{path}.valid_to", "a unit cannot end before it begins (valid_from)"))
        if u.code in codes:
            problems.append(_problem(f"{path}.code", f"the unit code {u.code!r} is used twice (first at {codes[u.code]})"))
        else:
            codes[u.code] = f"{path}.code"
        if parent is not None and u.parent is not None:
            problems.append(_problem(f"{path}.parent", "a nested unit takes its parent from the nesting; "
                                                       "`parent` is only for units at the top"))
        elif u.parent == u.code:
            problems.append(_problem(f"{path}.parent", "a unit cannot be its own parent"))
    if not problems:
        problems += [
            _problem(path, "these units name each other as parents, in a circle")
            for path in pack.units_in_order()[1]
        ]
    names: dict[str, str] = {}
    for i, a in enumerate(pack.accounts):
        path = f"accounts[{i}].username"
        if a.username in names:
            problems.append(_problem(path, f"the account {a.username!r} is listed twice (first at {names[a.username]})"))
        else:
            names[a.username] = path
    invited: dict[str, str] = {}
    for i, p in enumerate(pack.meeting.participants):
        path = f"meeting.participants[{i}].username"
        if p.username is None:
            continue
        if p.username in invited:
            problems.append(_problem(path, f"the account {p.username!r} is invited twice (first at {invited[p.username]})"))
        else:
            invited[p.username] = path
    for path, item, depth in pack.walk_agenda():
        if depth == MAX_DEPTH and item.items:
            problems.append(_problem(f"{path}.items", f"the agenda nests at most {MAX_DEPTH} levels deep"))
    return problems


def load(text: str | bytes) -> Pack:
    """Parse and validate a pack; every problem raises `Invalid` whose details name the fields.

    Units named by code are only resolved by `import_pack`, against the file and the database.
    """
    data = _parse(text)
    if data is None:
        raise _refuse([_problem("", "the file is empty")])
    if not isinstance(data, dict):
        raise _refuse([_problem("", "a meeting pack is a mapping with version, units, accounts and meeting")])
    if "version" in data and data["version"] != FORMAT_VERSION:
        raise _refuse([_problem("version", f"this server reads meeting packs of version {FORMAT_VERSION}, "
                                           f"not {data['version']!r}")])
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            message = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                message = "unknown field"
            elif e["type"] == "model_type":
                message = "expected a mapping of fields (key: value)"
            elif e["type"] == "missing":
                message = "a required field is missing"
            problems.append(_problem(_path(e["loc"]), message))
        raise _refuse(problems) from None
    problems = _check(pack)
    if problems:
        raise _refuse(problems)
    return pack


# --- import ------------------------------------------------------------------------


async def _units_by_code(db: AsyncSession, codes: set[str]) -> dict[str, Unit]:
    found: dict[str, Unit] = {}
    wanted = sorted(codes)
    for start in range(0, len(wanted), 500):
        rows = await db.scalars(select(Unit).where(Unit.code.in_(wanted[start:start + 500])))
        found.update({u.code: u for u in rows})
    return found


async def _users_by_name(db: AsyncSession, names: set[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    wanted = sorted(names)
    for start in range(0, len(wanted), 500):
        rows = await db.scalars(select(User).where(User.username.in_(wanted[start:start + 500])))
        found.update({u.username: u for u in rows})
    return found


async def _tree(db: AsyncSession) -> dict[int, orgtree.Node]:
    units = (await db.scalars(select(Unit))).all()
    return {u.id: orgtree.Node(u.id, u.parent_id, u.valid_from, u.valid_to) for u in units}


async def import_pack(db: AsyncSession, pack: Pack) -> dict:
    """Write a loaded pack: upsert its units, add missing accounts, create the meeting as a draft.

    Every reference is checked before the first write; the caller owns the transaction
    and rolls it back on any error. Returns the new meeting's id and how many units were
    created or changed, accounts created, participants and agenda items created.
    """
    m = pack.meeting
    if m.code is not None:
        existing = await db.scalar(select(Meeting.id).where(Meeting.code == m.code))
        if existing is not None:
            raise DomainError(f"a meeting with the code {m.code!r} already exists (id {existing}); "
                              "change the code in the file to import it as another meeting",
                              code="meeting_exists", details={"meeting_id": existing})

    file_units = {u.code: u for _, u, _ in pack.walk_units()}
    refs = pack.unit_references()
    stored = await _units_by_code(db, set(file_units) | {code for _, code in refs})
    problems = [
        _problem(path, f"no unit has the code {code!r}, neither in the file nor in the database")
        for path, code in refs
        if code not in file_units and code not in stored
    ]
    file_accounts = {a.username for a in pack.accounts}
    usernames = file_accounts | {p.username for p in m.participants if p.username}
    users = await _users_by_name(db, usernames)
    problems += [
        _problem(f"meeting.participants[{i}].username",
                 f"no account {p.username!r}, neither in the file's accounts nor in the database")
        for i, p in enumerate(m.participants)
        if p.username and p.username not in file_accounts and p.username not in users
    ]
    if problems:
        raise _refuse(problems)

    # Units, parents first; a moved unit may not land under itself.
    units_touched = 0
    nodes: dict[int, orgtree.Node] | None = None
    for _, spec, parent in pack.units_in_order()[0]:
        unit = stored.get(spec.code)
        if parent is not None:
            parent_id: int | None = stored[parent.code].id
        elif "parent" in spec.model_fields_set:
            parent_id = stored[spec.parent].id if spec.parent is not None else None
        else:
            parent_id = unit.parent_id if unit is not None else None
        if unit is None:
            unit = Unit(code=spec.code, name=spec.name, level=spec.level, parent_id=parent_id,
                        valid_from=spec.valid_from, valid_to=spec.valid_to)
            db.add(unit)
            await db.flush()
            stored[spec.code] = unit
            units_touched += 1
            if nodes is not None:
                nodes[unit.id] = orgtree.Node(unit.id, parent_id, unit.valid_from, unit.valid_to)
            continue
        wanted = {"name": spec.name, "level": spec.level, "parent_id": parent_id,
                  "valid_from": spec.valid_from, "valid_to": spec.valid_to}
        changed = {k: v for k, v in wanted.items() if getattr(unit, k) != v}
        if not changed:
            continue
        if "parent_id" in changed:
            if nodes is None:
                nodes = await _tree(db)
            orgtree.check_move(nodes, unit.id, parent_id)
            nodes[unit.id] = orgtree.Node(unit.id, parent_id, spec.valid_from, spec.valid_to)
        for k, v in changed.items():
            setattr(unit, k, v)
        units_touched += 1

    accounts_created = 0
    for a in pack.accounts:
        if a.username in users:
            continue  # never overwritten
        user = User(username=a.username, full_name=a.full_name, password_hash=None, roles=list(a.roles),
                    unit_id=stored[a.unit].id if a.unit else None, active=True)
        db.add(user)
        users[a.username] = user
        accounts_created += 1
    await db.flush()

    meeting = Meeting(
        code=m.code, title=m.title, unit_id=stored[m.unit].id, place=m.place, starts_at=m.starts_at,
        ends_at=m.ends_at, status="draft", quorum=m.quorum, last_seq=0, current_item_id=None,
    )
    db.add(meeting)
    await db.flush()

    for p in m.participants:
        db.add(Participant(
            meeting_id=meeting.id, user_id=users[p.username].id if p.username else None, full_name=p.name,
            title=p.title, unit_id=stored[p.unit].id if p.unit else None, role=p.role, voting=p.votes,
        ))

    items = 0

    async def add_items(specs: list[AgendaSpec], parent_id: int | None) -> None:
        nonlocal items
        for position, spec in enumerate(specs):
            item = AgendaItem(
                meeting_id=meeting.id, parent_id=parent_id, position=position, title=spec.title,
                presenter=spec.presenter, planned_minutes=spec.minutes,
                unit_id=stored[spec.unit].id if spec.unit else None,
            )
            db.add(item)
            items += 1
            if spec.items:
                await db.flush()
                await add_items(spec.items, item.id)

    await add_items(m.agenda, None)
    await db.flush()
    return {
        "meeting_id": meeting.id,
        "units": units_touched,
        "accounts": accounts_created,
        "participants": len(m.participants),
        "agenda_items": items,
    }


# --- export ------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style, no anchors, times as plain ISO 8601 (`2026-12-10T08:00:00+07:00`)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key, as people write them


def _represent_datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())


_Dumper.add_representer(datetime, _represent_datetime)


def dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False,
                     width=4096)


async def _with_ancestors(db: AsyncSession, ids: set[int]) -> dict[int, Unit]:
    found: dict[int, Unit] = {}
    wanted = set(ids)
    while wanted:
        rows = (await db.scalars(select(Unit).where(Unit.id.in_(sorted(wanted))))).all()
        found.update({u.id: u for u in rows})
        wanted = {u.parent_id for u in rows if u.parent_id is not None} - set(found)
    return found


def _unit_tree(units: dict[int, Unit]) -> list[dict]:
    below: dict[int | None, list[Unit]] = {}
    for u in units.values():
        below.setdefault(u.parent_id if u.parent_id in units else None, []).append(u)

    def build(parent_id: int | None) -> list[dict]:
        out = []
        for u in sorted(below.get(parent_id, []), key=lambda u: (text_key(u.name), u.code)):
            entry: dict[str, Any] = {"code": u.code, "name": u.name, "level": u.level}
            if u.valid_from is not None:
                entry["valid_from"] = u.valid_from
            if u.valid_to is not None:
                entry["valid_to"] = u.valid_to
            children = build(u.id)
            if children:
                entry["children"] = children
            out.append(entry)
        return out

    return build(None)


def _time(value: datetime | None) -> datetime | None:
    return local(value) if value is not None else None


async def export_pack(db: AsyncSession, meeting_id: int) -> str:
    """The pack of one meeting: its units with their ancestors, its participants' accounts
    (no passwords), the meeting, its participants (by given name) and its agenda tree."""
    meeting = await db.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"meeting {meeting_id} does not exist")
    people = list((await db.scalars(select(Participant).where(Participant.meeting_id == meeting.id))).all())
    items = list((await db.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id))).all())
    user_ids = sorted({p.user_id for p in people if p.user_id is not None})
    users = {u.id: u for u in (await db.scalars(select(User).where(User.id.in_(user_ids)))).all()} if user_ids else {}

    unit_ids = {meeting.unit_id}
    unit_ids |= {p.unit_id for p in people if p.unit_id is not None}
    unit_ids |= {i.unit_id for i in items if i.unit_id is not None}
    unit_ids |= {u.unit_id for u in users.values() if u.unit_id is not None}
    units = await _with_ancestors(db, unit_ids)

    def code(unit_id: int | None) -> str | None:
        return units[unit_id].code if unit_id is not None else None

    accounts = []
    for u in sorted(users.values(), key=lambda u: u.username):
        entry: dict[str, Any] = {"username": u.username, "full_name": u.full_name}
        if u.roles:
            entry["roles"] = sorted(u.roles)
        if u.unit_id is not None:
            entry["unit"] = code(u.unit_id)
        accounts.append(entry)

    def person_key(p: Participant) -> tuple:
        username = users[p.user_id].username if p.user_id in users else ""
        return name_key(p.full_name), p.full_name, p.role, username, p.title, code(p.unit_id) or "", p.voting

    participants = []
    for p in sorted(people, key=person_key):
        entry = {"name": p.full_name}
        if p.user_id is not None:
            entry["username"] = users[p.user_id].username
        entry["role"] = p.role
        if p.title:
            entry["title"] = p.title
        if p.unit_id is not None:
            entry["unit"] = code(p.unit_id)
        entry["voting"] = bool(p.voting)
        participants.append(entry)

    below: dict[int | None, list[AgendaItem]] = {}
    for i in items:
        below.setdefault(i.parent_id, []).append(i)

    def agenda(parent_id: int | None) -> list[dict]:
        out = []
        for i in sorted(below.get(parent_id, []), key=lambda i: (i.position, i.id)):
            entry: dict[str, Any] = {"title": i.title}
            if i.presenter:
                entry["presenter"] = i.presenter
            if i.planned_minutes is not None:
                entry["minutes"] = i.planned_minutes
            if i.unit_id is not None:
                entry["unit"] = code(i.unit_id)
            sub = agenda(i.id)
            if sub:
                entry["items"] = sub
            out.append(entry)
        return out

    body: dict[str, Any] = {}
    if meeting.code is not None:
        body["code"] = meeting.code
    body["title"] = meeting.title
    body["unit"] = code(meeting.unit_id)
    if meeting.place:
        body["place"] = meeting.place
    if meeting.starts_at is not None:
        body["starts_at"] = _time(meeting.starts_at)
    if meeting.ends_at is not None:
        body["ends_at"] = _time(meeting.ends_at)
    body["quorum"] = meeting.quorum
    body["participants"] = participants
    body["agenda"] = agenda(None)

    pack: dict[str, Any] = {"version": FORMAT_VERSION, "units": _unit_tree(units)}
    if accounts:
        pack["accounts"] = accounts
    pack["meeting"] = body
    return dump(pack)
