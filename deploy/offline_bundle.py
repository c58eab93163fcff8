"""The offline installation bundle (deploy/make-offline-bundle.sh; docs/deployment.md).

Made on a machine that has what the site lacks (the same Debian release and architecture,
Python 3.11), carried over, and installed there by its own install.sh with
`pip install --no-index`: nothing is fetched on the site's network.

    OUT/wheels/              every Python dependency as a wheel, and Phonghop's own wheel
    OUT/requirements.txt     the exact version of each (what install.sh installs)
    OUT/web/node_modules.tar.gz, package-lock.json
                             the web clients' npm packages, as package-lock.json locks them
    OUT/deploy/, OUT/docs/   nginx, TLS, coturn and compose files, the deployment guide
    OUT/debian-packages.txt  the system packages to bring as .deb files
    OUT/install.sh           checks SHA256SUMS, makes a virtual environment, installs
    OUT/SHA256SUMS

Where the dependencies' wheels come from:
  --from-venv VENV   repacked from what is installed in VENV (a virtual environment set up
                     from pyproject.toml, e.g. by ./dev, where the tests ran): exactly the
                     versions tested, and no network needed to make the bundle;
  otherwise          `pip wheel` with this Python, from the package index (or the index
                     PIP_INDEX_URL names), building the ones that come only as source.

Phonghop's own wheel is made here from the source tree, with what the server needs at
run time beside its modules: the migrations, the web clients, the sample packs.

This file uses the standard library only, and `packaging` (present wherever pip is).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "agendas", "media", "clients")  # pyproject.toml [tool.setuptools.packages.find]
SKIP_DIRS = {"__pycache__", "node_modules", ".pytest_cache", "tests"}
DEPLOY_FILES = ("nginx.conf", "publish-web.sh", "turnserver.conf", "coturn-entrypoint.sh", "phonghop.env.example",
                "tls/make-cert.sh", "debian-packages.txt")
# dist-info files pip writes at install time, not part of the wheel it installed from
INSTALL_ONLY = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def fail(message: str) -> None:
    print(f"offline bundle: {message}", file=sys.stderr)
    sys.exit(1)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name)


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


class WheelWriter:
    """A wheel (PEP 427): files, then the dist-info, then RECORD with every file's hash."""

    def __init__(self, path: Path, dist_info: str) -> None:
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.dist_info = dist_info
        self.records: list[tuple[str, str, int]] = []

    def add(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data, compresslevel=1)
        self.records.append((name, record_hash(data), len(data)))

    def close(self) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in self.records:
            writer.writerow(row)
        writer.writerow((f"{self.dist_info}/RECORD", "", ""))
        self.add_raw(f"{self.dist_info}/RECORD", out.getvalue().encode())
        self.zip.close()

    def add_raw(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        self.zip.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)


# --- Phonghop's own wheel ------------------------------------------------------------------------


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def build_project_wheel(out: Path) -> Path:
    """Phonghop as a pure-Python wheel: its packages with every file they use at run time."""
    meta = project()
    name, version = meta["name"], meta["version"]
    dist_info = f"{wheel_name(name)}-{version}.dist-info"
    path = out / f"{wheel_name(name)}-{version}-py3-none-any.whl"
    wheel = WheelWriter(path, dist_info)
    count = 0
    for package in PACKAGES:
        for folder, dirs, files in os.walk(ROOT / package):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for file in sorted(files):
                if file.startswith(".") or file.endswith((".pyc", ".pyo")):
                    continue
                source = Path(folder) / file
                wheel.add(source.relative_to(ROOT).as_posix(), source.read_bytes())
                count += 1
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {meta.get('description', '')}",
        f"Requires-Python: {meta.get('requires-python', '>=3.11')}",
    ]
    lines += [f"Requires-Dist: {requirement}" for requirement in meta.get("dependencies", [])]
    wheel.add(f"{dist_info}/METADATA", ("\n".join(lines) + "\n").encode())
    wheel.add(f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: phonghop offline_bundle\n"
                                    b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    scripts = meta.get("scripts", {})
    entry = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
    wheel.add(f"{dist_info}/entry_points.txt", entry.encode())
    wheel.add(f"{dist_info}/top_level.txt", ("\n".join(PACKAGES) + "\n").encode())
    wheel.close()
    print(f"offline bundle: {path.name}: {count} files")
    return path


# --- the dependencies ----------------------------------------------------------------------------


def dependency_closure() -> list:
    """Installed distributions (importlib.metadata) that Phonghop's requirements need, with
    their own requirements, markers and extras evaluated for this interpreter."""
    from importlib import metadata

    from packaging.requirements import Requirement

    wanted: dict[str, metadata.Distribution] = {}
    pending = [(Requirement(r), "") for r in project()["dependencies"]]
    extras_seen: set[tuple[str, str]] = set()
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        key = normalize(requirement.name)
        try:
            dist = wanted.get(key) or metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            fail(f"{requirement.name} is required ({requirement}) but not installed in {sys.prefix}")
        if dist.version not in requirement.specifier:
            fail(f"{requirement.name} {dist.version} is installed, and {requirement} is required")
        first = key not in wanted
        wanted[key] = dist
        for wanted_extra in [""] * first + sorted(requirement.extras):
            if (key, wanted_extra) in extras_seen:
                continue
            extras_seen.add((key, wanted_extra))
            for text in dist.requires or []:
                inner = Requirement(text)
                if inner.marker is None and wanted_extra:
                    continue  # unconditional ones were followed with the plain name
                if inner.marker is not None and not inner.marker.evaluate({"extra": wanted_extra}):
                    continue
                pending.append((inner, wanted_extra))
    wanted.pop("phonghop", None)
    return sorted(wanted.values(), key=lambda d: normalize(d.metadata["Name"]))


def compressed_tags(tags: list[str]) -> str:
    parts = [t.split("-") for t in tags]
    return "-".join(".".join(sorted({p[i] for p in parts}, key=[q[i] for q in parts].index)) for i in range(3))


def repack(dist, out: Path) -> Path:
    """An installed distribution back into the wheel it came from (its RECORD's files, the
    dist-info as the wheel had it); compiled caches, scripts pip generated and files
    installed outside site-packages are left out."""
    name = dist.metadata["Name"]
    info_dir = Path(dist._path)  # the .dist-info folder
    wheel_meta = info_dir / "WHEEL"
    if not wheel_meta.exists():
        fail(f"{name} was not installed from a wheel ({info_dir}): install it again with pip")
    tags = [line.split(":", 1)[1].strip() for line in wheel_meta.read_text().splitlines() if line.startswith("Tag:")]
    path = out / f"{wheel_name(name)}-{dist.version}-{compressed_tags(tags)}.whl"
    site = info_dir.parent
    wheel = WheelWriter(path, info_dir.name)
    for entry in dist.files or []:
        relative = Path(str(entry))
        if relative.parts[0] == ".." or "__pycache__" in relative.parts or relative.suffix in (".pyc", ".pyo"):
            continue
        if relative.parts[0] == info_dir.name and relative.name in INSTALL_ONLY:
            continue
        source = site / relative
        if source.is_file():
            wheel.add(relative.as_posix(), source.read_bytes())
    wheel.close()
    return path


def wheels_from_venv(venv: Path, out: Path) -> list[str]:
    """Run this file with the environment's Python to repack its distributions."""
    python = venv / "bin" / "python"
    if not python.exists():
        fail(f"no Python at {python}: --from-venv takes a virtual environment's folder")
    done = subprocess.run([str(python), __file__, "--repack-into", str(out)], capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"repacking {venv} failed: {done.stderr.strip()}")
    return json.loads(done.stdout.splitlines()[-1])


def wheels_from_index(python: str, out: Path) -> list[str]:
    requirements = out.parent / "requirements-in.txt"
    requirements.write_text("\n".join(project()["dependencies"]) + "\n")
    done = subprocess.run([python, "-m", "pip", "wheel", "--wheel-dir", str(out), "--requirement", str(requirements)])
    requirements.unlink()
    if done.returncode != 0:
        fail("pip wheel failed: it needs the package index (or PIP_INDEX_URL), or use --from-venv")
    pins = []
    for wheel in sorted(out.glob("*.whl")):
        dist, version = wheel.name.split("-")[:2]
        pins.append(f"{normalize(dist)}=={version}")
    return pins


# --- npm packages, files, the installer ------------------------------------------------------------


def npm_tarball(out: Path) -> int:
    """clients/web/node_modules as `npm ci` installed it, its production packages only,
    each checked against package-lock.json."""
    web = ROOT / "clients" / "web"
    lock = json.loads((web / "package-lock.json").read_text(encoding="utf-8"))
    packages = {k: v for k, v in lock.get("packages", {}).items() if k.startswith("node_modules/") and not v.get("dev")}
    if not (web / "node_modules").is_dir():
        fail("clients/web/node_modules is missing: run `npm ci` in clients/web (./dev setup) first")
    with tarfile.open(out / "node_modules.tar.gz", "w:gz", compresslevel=6) as tar:
        for key, entry in sorted(packages.items()):
            folder = web / key
            manifest = folder / "package.json"
            if not manifest.exists():
                fail(f"{key} of package-lock.json is not installed: run `npm ci` in clients/web")
            installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
            if installed != entry.get("version"):
                fail(f"{key} is {installed}, package-lock.json locks {entry.get('version')}: run `npm ci`")
            tar.add(folder, arcname=key)
    shutil.copy2(web / "package-lock.json", out / "package-lock.json")
    return len(packages)


INSTALL_SH = r"""#!/bin/sh
# Installs Phonghop from this bundle, with no network: deploy/offline_bundle.py made it.
#
#   ./install.sh [PREFIX]        default /opt/phonghop: PREFIX/venv, the `phonghop` command
#
# Needs Python 3.11 with venv (Debian: python3.11 python3.11-venv, in debian-packages.txt).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-/opt/phonghop}
python=${PYTHON:-python3.11}

cd "$here"
sha256sum --quiet --check SHA256SUMS || { echo "install: the bundle is damaged (SHA256SUMS)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || { echo "install: $python is not Python 3.11" >&2; exit 1; }
"$python" -m venv "$prefix/venv"
# Only the wheels of this bundle: no package index is asked, whatever pip.conf says.
PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$prefix/venv/bin/python" -m pip install --quiet \
    --no-index --find-links "$here/wheels" --requirement "$here/requirements.txt"
web=$("$prefix/venv/bin/python" -c 'import pathlib, clients; print(pathlib.Path(clients.__file__).parent / "web")')
rm -rf "$web/node_modules"
tar -xzf "$here/web/node_modules.tar.gz" -C "$web"
echo "install: Phonghop in $prefix/venv; the command is $prefix/venv/bin/phonghop"
echo "install: next, docs/deployment.md (settings, nginx, TLS, the database, phonghop migrate)"
"""


def write_bundle(out: Path, *, from_venv: Path | None, python: str) -> None:
    if out.exists() and any(out.iterdir()):
        fail(f"{out} is not empty")
    wheels = out / "wheels"
    wheels.mkdir(parents=True)
    pins = wheels_from_venv(from_venv, wheels) if from_venv else wheels_from_index(python, wheels)
    own = build_project_wheel(wheels)
    meta = project()
    pins.append(f"{normalize(meta['name'])}=={meta['version']}")
    (out / "requirements.txt").write_text("\n".join(pins) + "\n")
    (out / "web").mkdir()
    npm = npm_tarball(out / "web")
    for relative in DEPLOY_FILES:
        target = out / "deploy" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "deploy" / relative, target)
    shutil.copy2(ROOT / "docker-compose.yml", out / "deploy" / "docker-compose.yml")
    (out / "docs").mkdir()
    shutil.copy2(ROOT / "docs" / "deployment.md", out / "docs" / "deployment.md")
    shutil.copy2(ROOT / "deploy" / "debian-packages.txt", out / "debian-packages.txt")
    installer = out / "install.sh"
    installer.write_text(INSTALL_SH)
    installer.chmod(0o755)
    sums = []
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        sums.append(f"{digest}  {path.relative_to(out).as_posix()}")
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    print(f"offline bundle: {out}: {len(pins)} Python packages ({own.name} included), {npm} npm packages")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", help="the bundle's folder (must be empty or new)")
    parser.add_argument("--from-venv", type=Path, help="repack the wheels from this virtual environment")
    parser.add_argument("--python", default=sys.executable, help="the Python 3.11 whose pip fetches the wheels")
    parser.add_argument("--repack-into", type=Path, help=argparse.SUPPRESS)  # run inside --from-venv's Python
    args = parser.parse_args(argv)
    if args.repack_into:
        pins = []
        for dist in dependency_closure():
            repack(dist, args.repack_into)
            pins.append(f"{normalize(dist.metadata['Name'])}=={dist.version}")
        print(json.dumps(pins))
        return 0
    if not args.out:
        parser.error("the bundle's folder is required")
    write_bundle(Path(args.out).resolve(), from_venv=args.from_venv, python=args.python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
