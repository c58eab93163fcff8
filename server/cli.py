"""The `phonghop` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from pathlib import Path

from agendas.rendering.cli import register as register_render
from media.cli import register as register_media
from server import config


def _settings(args: argparse.Namespace) -> config.Settings:
    return config.from_env().with_overrides(
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data folder (default: $PHONGHOP_DATA_DIR or ./data)")


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.app import create_app
    from server.store.migrate import upgrade

    settings = _settings(args)
    upgrade(settings)
    if args.demo:
        from server import demo

        settings = demo.ensure(settings)
    app = create_app(settings)
    loop = _event_loop(settings.event_loop)
    print(f"Phonghop on http://{settings.host}:{settings.port}/  (console: /console, event loop: {loop})", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


def _event_loop(wanted: str) -> str:
    """Install uvloop's event loop policy when asked (or "auto" and installed); the loop's name."""
    if wanted not in ("auto", "uvloop", "asyncio"):
        from server.domain.errors import Invalid

        raise Invalid(f"PHONGHOP_EVENT_LOOP is auto, uvloop or asyncio, not {wanted!r}")
    if wanted == "asyncio":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        if wanted == "uvloop":
            raise
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def cmd_demo(args: argparse.Namespace) -> int:
    from server import demo
    from server.store.migrate import upgrade

    settings = _settings(args)
    upgrade(settings)
    demo.ensure(settings)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from server.store.migrate import upgrade

    settings = _settings(args)
    upgrade(settings)
    print(f"database at the newest schema: {settings.db_url.split('@')[-1]}")
    return 0


def cmd_meetings(args: argparse.Namespace) -> int:
    from server import admin

    settings = _settings(args)
    rows = asyncio.run(admin.list_meetings(settings))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for m in rows:
            print(f"{m['id']:>4}  {m['status']:<11} {m['starts_at'] or '-':<21} {m['title']}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from server import admin

    settings = _settings(args)
    summary = asyncio.run(admin.import_file(settings, Path(args.file)))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from server import admin

    text = asyncio.run(admin.export_meeting(_settings(args), args.meeting))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_export_document(args: argparse.Namespace) -> int:
    from server import admin
    from server.domain.errors import Invalid

    if args.what not in admin.EXPORTS:
        raise Invalid(f"export what? one of {', '.join(admin.EXPORTS)}, not {args.what!r}")
    formats = admin.EXPORTS[args.what][1]
    if args.format not in formats:
        raise Invalid(f"{args.what} is exported as {' or '.join(formats)}, not {args.format!r}")
    if not (args.meeting.isascii() and args.meeting.isdigit() and 0 < int(args.meeting) < 2**31):
        raise Invalid(f"--meeting is a meeting's id (a whole number, see `phonghop meetings`), not {args.meeting!r}")
    body = asyncio.run(admin.export_document(_settings(args), args.what, int(args.meeting), args.format))
    Path(args.out).write_bytes(body)
    print(json.dumps({"file": args.out, "bytes": len(body)}, ensure_ascii=False))
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from server import admin

    settings = _settings(args)
    password = args.password or getpass.getpass("password: ")
    user = asyncio.run(admin.create_user(settings, args.username, args.full_name, password, args.role or []))
    print(json.dumps(user, ensure_ascii=False))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """`phonghop audit verify`: walk the audit log's hash chain; exit 1 at the first broken record."""
    from server import admin
    from server.store import audit

    settings = _settings(args)
    if args.database_url:
        settings = settings.with_overrides(database_url=args.database_url)

    async def run() -> audit.Verdict:
        async with admin.opened(settings) as db, db.read() as session:
            return await audit.verify(session)

    verdict = asyncio.run(run())
    if args.json:
        print(json.dumps(verdict.as_dict(), ensure_ascii=False))
    elif verdict.ok:
        print(f"audit log intact: {verdict.count} records, head {verdict.head}")
    else:
        print(f"audit log BROKEN at record {verdict.broken_id}: {verdict.problem}\n"
              f"  {verdict.count} records before it hold; the last good hash is {verdict.head}")
    return 0 if verdict.ok else 1


def cmd_sim(args: argparse.Namespace) -> int:
    from clients.sim import cli as sim

    return sim.run(args)


def _database_settings(args: argparse.Namespace) -> config.Settings:
    settings = _settings(args)
    if getattr(args, "database_url", None):
        settings = settings.with_overrides(database_url=args.database_url)
    return settings


def cmd_backup(args: argparse.Namespace) -> int:
    from server import backup

    # With --out -, the archive is standard output: the report goes to standard error.
    manifest = backup.backup(_database_settings(args), args.out, log=lambda line: print(line, file=sys.stderr))
    if args.json:
        files = [m for m, e in manifest["members"].items() if m.startswith("files/") and not e.get("damaged")]
        print(json.dumps({"out": args.out, "database": manifest["database"], "files": len(files),
                          "left_out": manifest["left_out"]}, ensure_ascii=False),
              file=sys.stderr if args.out == "-" else sys.stdout)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from server import backup

    summary = backup.restore(_database_settings(args), args.file, force=args.force,
                             log=(lambda line: None) if args.json else print)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    # bench/ lives beside server/ in the source tree; it is not part of the installed server.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import importlib

    bench = importlib.import_module(f"bench.{args.which}")
    return bench.main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phonghop", description="Paperless meetings and conference coordination")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the server")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    _data_dir_arg(p)
    p.add_argument("--demo", action="store_true", help="seed the demo units, accounts and meetings first")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="seed the demo without serving")
    _data_dir_arg(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("migrate", help="bring the database to the newest schema")
    _data_dir_arg(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("meetings", help="list the meetings")
    _data_dir_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_meetings)

    p = sub.add_parser("import-agenda", help="import a meeting pack (YAML)")
    p.add_argument("file")
    _data_dir_arg(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export-agenda", help="export a meeting as a YAML pack")
    p.add_argument("--meeting", type=int, required=True, help="the meeting's id (see `phonghop meetings`)")
    p.add_argument("--out", help="file to write (default: standard output)")
    _data_dir_arg(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export", help="write a meeting's minutes, conclusion notice or comment summary table")
    p.add_argument("what", help="minutes, conclusions (the conclusion notice) or comments (the summary table)")
    p.add_argument("--meeting", required=True, help="the meeting's id (see `phonghop meetings`)")
    p.add_argument("--format", default="docx", help="docx or pdf (minutes, conclusions); docx or xlsx (comments)")
    p.add_argument("--out", required=True, help="file to write")
    _data_dir_arg(p)
    p.set_defaults(func=cmd_export_document)

    p = sub.add_parser("create-user", help="create an account")
    p.add_argument("username")
    p.add_argument("--full-name", required=True)
    p.add_argument("--password", help="read from the terminal when absent")
    p.add_argument("--role", action="append", choices=["admin", "secretariat"])
    _data_dir_arg(p)
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("audit", help="check the audit log (SECURITY.md)")
    p.add_argument("action", choices=["verify"], help="verify: walk the hash chain, name the first broken record")
    _data_dir_arg(p)
    p.add_argument("--database-url", help="the database (default: $PHONGHOP_DATABASE_URL or SQLite under the data folder)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("sim", help="drive a server with simulated tablets and bridge points (a smoke test)",
                       description="Drive a real server with simulated tablets and bridge points through a whole "
                                   "session; exits 1 on any failure (clients/sim/cli.py).")
    from clients.sim.cli import add_arguments as sim_arguments

    sim_arguments(p)
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("backup", help="write the database and the document store to one archive (while serving)")
    p.add_argument("--out", required=True, help="archive to write (a .tar), or - for standard output")
    _data_dir_arg(p)
    p.add_argument("--database-url", help="the database (default: $PHONGHOP_DATABASE_URL or SQLite under the data folder)")
    p.add_argument("--json", action="store_true", help="a summary as JSON")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup archive into an empty data folder and database")
    p.add_argument("file", help="the archive `phonghop backup` wrote")
    _data_dir_arg(p)
    p.add_argument("--database-url", help="the database (default: $PHONGHOP_DATABASE_URL or SQLite under the data folder)")
    p.add_argument("--force", action="store_true", help="replace the data folder's files and the database's tables")
    p.add_argument("--json", action="store_true", help="a summary as JSON")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("bench", help="run a benchmark (from the source tree)")
    p.add_argument("which", choices=["fanout", "reconnect", "pages", "mixed", "votes", "conference"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the benchmark's own flags, e.g. --json")
    p.set_defaults(func=cmd_bench)

    register_render(sub)
    register_media(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step is noise
    args = build_parser().parse_args(argv)
    from server.domain.errors import DomainError

    try:
        return args.func(args) or 0
    except DomainError as exc:
        print(f"phonghop: {exc.code}: {exc.message}", file=sys.stderr)
        if exc.details:
            for d in exc.details if isinstance(exc.details, list) else [exc.details]:
                print(f"  {d}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
