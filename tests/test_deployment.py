"""The deployment files: docker-compose.yml, Dockerfile, .dockerignore and deploy/.

Nothing is built or started here (no Docker engine is assumed). The tests read the
files the way `docker compose`, the image build and coturn would, and check what an
operator relies on: every setting the server reads reaches it, the services find
each other by name and start in order, no secret has a default, no image floats on
`latest`, and coturn is neither open to anyone nor a door into private networks.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "phonghop.env.example"
TURN_CONF = DEPLOY / "turnserver.conf"
TURN_ENTRYPOINT = DEPLOY / "coturn-entrypoint.sh"
CONFIG_PY = ROOT / "server" / "config.py"
PYPROJECT = ROOT / "pyproject.toml"

SERVICES = {"server", "server-2", "web-assets", "nginx", "media", "postgres", "redis", "coturn"}
NGINX_CONF = DEPLOY / "nginx.conf"
PUBLISH_WEB = DEPLOY / "publish-web.sh"
# Secrets that may stay empty (no demo accounts; minutes finalised unsigned): ${NAME:-}, no value shipped.
OPTIONAL_SECRETS = {"PHONGHOP_DEMO_PASSWORD", "PHONGHOP_SIGNING_PASSWORD"}
# Settings the compose file passes before server/config.py reads them.
PENDING_SETTINGS = {"PHONGHOP_TURN_URLS", "PHONGHOP_TURN_SECRET"}
# What the required variables stand for when a test does not care about their value.
REQUIRED_VALUES = {
    "POSTGRES_PASSWORD": "pg-secret",
    "PHONGHOP_TURN_URLS": "turn:203.0.113.10:3478?transport=udp",
    "PHONGHOP_TURN_SECRET": "turn-secret",
    "PHONGHOP_MEDIA_SECRET": "media-secret",
}
PUBLIC_STUN = re.compile(
    r"stun[0-9]*\.[a-z0-9.-]+|stun:|google|twilio|cloudflare|mozilla|stunprotocol|ekiga|metered|xirsys",
    re.IGNORECASE,
)


# --- reading the files ------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ${X}, ${X:-default}, ${X-default}, ${X:?err}, $$."""

    def replace(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        value = env.get(name)
        if op in (":-", ":?") and not value:
            value = None
        if value is not None:
            return value
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise KeyError(f"{name} is required: {arg}")
        return ""

    return _VARIABLE.sub(replace, text)


def _strings(node, visit):
    """Apply `visit` to every string of a parsed YAML document (keys stay as they are)."""
    if isinstance(node, dict):
        return {k: _strings(v, visit) for k, v in node.items()}
    if isinstance(node, list):
        return [_strings(v, visit) for v in node]
    return visit(node) if isinstance(node, str) else node


def compose_variables() -> dict[str, set[str]]:
    """Each variable the compose file uses, with the operators it is used with."""
    used: dict[str, set[str]] = {}

    def collect(text: str) -> str:
        for m in _VARIABLE.finditer(text):
            name = m.group(1) or m.group(4)
            if name:
                used.setdefault(name, set()).add(m.group(2) or "")
        return text

    _strings(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), collect)
    return used


def load_compose(env: dict[str, str] | None = None) -> dict:
    """The compose file as `docker compose` sees it: parsed, then values interpolated."""
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return _strings(raw, lambda text: interpolate(text, REQUIRED_VALUES if env is None else env))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        instructions.append((word.upper(), rest.strip()))
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def env_example_names() -> dict[str, str]:
    """NAME -> value for the assignments in the env example (commented examples excluded)."""
    names = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            names[m.group(1)] = m.group(2)
    return names


def settings_read_by_server() -> set[str]:
    # _env("NAME"), and _bounded("NAME", ...) for the numbers checked against a range.
    names = set(re.findall(r"""(?:_env|_bounded)\(\s*["']([A-Z0-9_]+)["']""", CONFIG_PY.read_text(encoding="utf-8")))
    return {f"PHONGHOP_{n}" for n in names}


def image_tag(image: str) -> str | None:
    """The tag of an image reference; None when it has none (which means latest)."""
    if "@" in image:
        return image.split("@", 1)[1]  # pinned by digest
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def container_ports(service: dict) -> set[int]:
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def turn_conf() -> list[tuple[str, str]]:
    entries = []
    for line in TURN_CONF.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entries.append((key.strip(), value.strip()))
    return entries


def ip_range(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    first, _, last = text.partition("-")
    low = ipaddress.ip_address(first)
    high = ipaddress.ip_address(last) if last else low
    assert low.version == high.version and low <= high, f"bad range {text}"
    return low, high


def in_ranges(address: str, ranges: list[tuple]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(low.version == ip.version and low <= ip <= high for low, high in ranges)


def dockerignore_excludes(path: str) -> bool:
    """Whether the build context leaves `path` out (Docker's rules: last match wins, a
    pattern matching a folder excludes what is inside it)."""
    excluded = False
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex += pattern[i : end + 1]
                i = end + 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(re.fullmatch(regex, p) for p in prefixes):
            excluded = not negate
    return excluded


# --- docker-compose.yml -----------------------------------------------------------------


def test_compose_parses_and_has_every_service():
    compose = load_compose()
    assert "version" not in compose, "the compose specification has no version key"
    assert SERVICES <= set(compose["services"])


def test_every_setting_the_server_reads_is_set_or_documented():
    read = settings_read_by_server()
    assert {"PHONGHOP_DATA_DIR", "PHONGHOP_DATABASE_URL", "PHONGHOP_REDIS_URL"} <= read, (
        "the pattern no longer finds the settings in server/config.py"
    )
    server_env = set(load_compose()["services"]["server"]["environment"])
    documented = ENV_EXAMPLE.read_text(encoding="utf-8")
    missing = sorted(
        name
        for name in read | PENDING_SETTINGS
        if name not in server_env and not re.search(rf"\b{name}\b", documented)
    )
    assert not missing, f"neither set on the server service nor in {ENV_EXAMPLE.name}: {missing}"


def test_server_is_given_only_settings_it_reads():
    server_env = {n for n in load_compose()["services"]["server"]["environment"] if n.startswith("PHONGHOP_")}
    unknown = server_env - settings_read_by_server() - PENDING_SETTINGS
    assert not unknown, f"server/config.py reads no such setting (a typo?): {sorted(unknown)}"


def test_server_reaches_postgres_and_redis_by_service_name():
    env = {
        **REQUIRED_VALUES,
        "POSTGRES_USER": "hop_user",
        "POSTGRES_DB": "hop_db",
        "POSTGRES_PASSWORD": "s3cret",
    }
    compose = load_compose(env)
    server = compose["services"]["server"]["environment"]
    postgres = compose["services"]["postgres"]["environment"]

    db = urlsplit(server["PHONGHOP_DATABASE_URL"])
    assert db.scheme in ("postgresql", "postgres")
    assert db.hostname == "postgres" and "postgres" in compose["services"]
    assert db.port in (None, 5432)
    assert (
        (db.username, db.password, db.path.lstrip("/"))
        == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            postgres["POSTGRES_DB"],
        )
        == ("hop_user", "s3cret", "hop_db")
    )

    redis = urlsplit(server["PHONGHOP_REDIS_URL"])
    assert redis.scheme == "redis"
    assert redis.hostname == "redis" and "redis" in compose["services"]
    assert redis.port in (None, 6379)


def test_server_waits_for_healthy_postgres_and_redis():
    services = load_compose()["services"]
    depends = services["server"]["depends_on"]
    assert isinstance(depends, dict), "depends_on needs the long form to wait for health"
    assert {"postgres", "redis"} <= set(depends)
    for name, condition in depends.items():
        assert condition.get("condition") == "service_healthy", name
        assert "healthcheck" in services[name], f"{name} is waited on but has no healthcheck"


def one_shot_services(compose: dict) -> set[str]:
    """Services that run to completion: what others wait for with service_completed_successfully."""
    return {
        name
        for service in compose["services"].values()
        if isinstance(service.get("depends_on"), dict)
        for name, condition in service["depends_on"].items()
        if condition.get("condition") == "service_completed_successfully"
    }


def test_every_service_but_coturn_has_a_healthcheck():
    compose = load_compose()
    one_shot = one_shot_services(compose)
    assert one_shot == {"web-assets"}
    for name, service in compose["services"].items():
        if name == "coturn":
            continue
        if name in one_shot:
            assert service.get("restart") == "no", f"{name} runs once: compose must not restart it"
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test") not in (["NONE"], "NONE"), name


def test_servers_expose_the_port_the_image_exposes_and_checks_and_only_nginx_publishes():
    exposed = {int(p.split("/")[0]) for word, args in final_stage() if word == "EXPOSE" for p in args.split()}
    services = load_compose()["services"]
    server = services["server"]
    assert {int(p) for p in server["expose"]} == exposed == {8080}
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"nginx"}, "clients reach the site through nginx only (coturn: host network)"
    assert container_ports(services["nginx"]) == {80, 443}
    cmd = " ".join(args for word, args in final_stage() if word in ("CMD", "ENTRYPOINT"))
    assert re.search(r"--port[ =]8080\b", cmd)
    probes = [args for word, args in final_stage() if word == "HEALTHCHECK"] + [
        str(server["healthcheck"]["test"])
    ]
    for probe in probes:
        assert "127.0.0.1:8080/healthz" in probe


def test_data_folder_is_a_named_volume_where_the_image_keeps_it():
    compose = load_compose()
    env = dict(
        kv.split("=", 1) for word, args in final_stage() if word == "ENV" for kv in args.split() if "=" in kv
    )
    data_dir = env["PHONGHOP_DATA_DIR"]
    assert any(data_dir in args for word, args in final_stage() if word == "VOLUME")
    server = compose["services"]["server"]
    assert server["environment"]["PHONGHOP_DATA_DIR"] == data_dir
    mounts = {v.split(":")[1]: v.split(":")[0] for v in server["volumes"]}
    assert mounts[data_dir] in compose["volumes"], "the data folder must be a named volume"
    pg_mounts = {v.split(":")[1]: v.split(":")[0] for v in compose["services"]["postgres"]["volumes"]}
    assert pg_mounts["/var/lib/postgresql/data"] in compose["volumes"]


def test_no_image_floats_on_latest():
    images = {name: s["image"] for name, s in load_compose()["services"].items() if "image" in s}
    stages: set[str] = set()
    for word, args in dockerfile_instructions():
        if word == "FROM":
            parts = args.split()
            if parts[0] not in stages:
                images[f"Dockerfile FROM {parts[0]}"] = parts[0]
            if len(parts) >= 3 and parts[1].upper() == "AS":
                stages.add(parts[2])
    assert {"postgres", "redis", "coturn"} <= set(images)
    for where, image in images.items():
        tag = image_tag(image)
        assert tag and tag != "latest", f"{where}: {image} has no fixed tag"


def test_secrets_have_no_default_and_every_variable_is_documented():
    used = compose_variables()
    documented = env_example_names()
    assert not set(used) - set(documented), (
        f"not in {ENV_EXAMPLE.name}: {sorted(set(used) - set(documented))}"
    )
    secrets = [n for n in used if re.search(r"(PASSWORD|SECRET)$", n) and n not in OPTIONAL_SECRETS]
    assert {"POSTGRES_PASSWORD", "PHONGHOP_TURN_SECRET"} <= set(secrets)
    for name in secrets:
        assert used[name] == {":?"}, f"{name} must be required (${{{name}:?...}}), never defaulted"
        assert documented[name] == "", f"{ENV_EXAMPLE.name} must not ship a value for {name}"
    for name in OPTIONAL_SECRETS:
        # Optional, so not required; but never given a value by the compose file or the example.
        assert re.search(rf"\$\{{{name}:-\}}", COMPOSE.read_text(encoding="utf-8")), f"{name}: ${{{name}:-}} only"
        assert documented[name] == "", f"{ENV_EXAMPLE.name} must not ship a value for {name}"
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        load_compose({k: v for k, v in REQUIRED_VALUES.items() if k != "POSTGRES_PASSWORD"})


def test_every_server_setting_of_the_env_example_reaches_the_servers():
    """A setting described in deploy/phonghop.env.example is passed to both server processes
    (issue 8: the PDF signing settings were not): set, it arrives; left empty, the server
    reads it as unset and keeps its default."""
    # Assignments and commented examples ("#   PHONGHOP_MEDIA_LAYERS=...") alike.
    documented = set(re.findall(r"^#?\s*(PHONGHOP_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    assert {"PHONGHOP_SIGNING_CERT", "PHONGHOP_SIGNING_PASSWORD"} <= documented
    values = {name: f"value-of-{name.lower()}" for name in documented}
    services = load_compose({**values, **REQUIRED_VALUES})["services"]
    for service in ("server", "server-2"):
        environment = services[service]["environment"]
        missing = sorted(documented - set(environment))
        assert not missing, f"{service} is not given {missing} (add NAME: ${{NAME:-}} to docker-compose.yml)"
    server = services["server"]["environment"]
    assert server["PHONGHOP_SIGNING_CERT"] == "value-of-phonghop_signing_cert"
    assert server["PHONGHOP_SIGNING_PASSWORD"] == "value-of-phonghop_signing_password"

    # Left empty, every passthrough is the server's default (server/config.py treats "" as unset).
    from server import config

    empty = load_compose(REQUIRED_VALUES)["services"]["server"]["environment"]
    passed_empty = {k: v for k, v in empty.items() if k.startswith("PHONGHOP_") and v == ""}
    assert {"PHONGHOP_SIGNING_CERT", "PHONGHOP_SIGNING_PASSWORD"} <= set(passed_empty)
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("PHONGHOP_")]:
            mp.delenv(name)
        defaults = config.from_env()
        for name, value in passed_empty.items():
            mp.setenv(name, value)
        assert config.from_env() == defaults
    assert defaults.signing_cert is None


def test_turn_settings_reach_both_the_server_and_coturn():
    compose = load_compose({**REQUIRED_VALUES, "PHONGHOP_TURN_SECRET": "shared-one"})
    server, coturn = compose["services"]["server"], compose["services"]["coturn"]
    assert (
        server["environment"]["PHONGHOP_TURN_SECRET"] == coturn["environment"]["TURN_SECRET"] == "shared-one"
    )
    assert server["environment"]["PHONGHOP_TURN_URLS"].startswith("turn")
    # coturn hands out relay addresses on the host: host networking, nothing published.
    assert coturn.get("network_mode") == "host" and "ports" not in coturn
    mounts = {v.split(":")[1]: v.split(":")[0] for v in coturn["volumes"]}
    assert mounts["/etc/coturn/turnserver.conf"] == "./deploy/turnserver.conf"
    script = next(target for target, source in mounts.items() if source == "./deploy/coturn-entrypoint.sh")
    assert script in coturn["entrypoint"], "the image's own entrypoint would look up an outside address"


# --- Dockerfile and .dockerignore -------------------------------------------------------


def test_dockerfile_builds_the_web_clients_and_runs_phonghop_unprivileged():
    instructions = dockerfile_instructions()
    froms = [args.split()[0] for word, args in instructions if word == "FROM"]
    assert froms[0].startswith("node:20") and froms[-1].startswith("python:3.11-slim")
    runs = [args for word, args in instructions if word == "RUN"]
    assert any("npm ci" in r and "--omit=dev" in r for r in runs)
    for r in runs:
        for pip in re.findall(r"pip install[^&;]*", r):
            assert "--no-cache-dir" in pip, pip
    assert any("node_modules" in args and "--from=" in args for word, args in instructions if word == "COPY")

    users = [args for word, args in final_stage() if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    command = " ".join(args for word, args in final_stage() if word in ("CMD", "ENTRYPOINT"))
    assert "phonghop migrate" in command and "phonghop serve" in command
    assert re.search(r"--host[ =]0\.0\.0\.0", command)


def test_dockerfile_reaches_nothing_outside_the_package_registries():
    text = "\n".join(f"{word} {args}" for word, args in dockerfile_instructions())
    assert not re.search(r"playwright\s+install", text, re.IGNORECASE)
    assert not re.search(r"\b(curl|wget)\b", text)
    assert not [args for word, args in dockerfile_instructions() if word == "ADD" and "://" in args]
    urls = re.findall(r"https?://[^\s'\"]+", text)
    assert all(urlsplit(u).hostname in ("127.0.0.1", "localhost") for u in urls), urls


def test_dockerfile_copies_every_package_pyproject_installs():
    find = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in find["include"]}
    copied = {args.split()[-1].strip("./") for word, args in final_stage() if word == "COPY"}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    for package in packages:
        assert not dockerignore_excludes(f"{package}/__init__.py"), package


def test_dockerignore_keeps_the_context_to_the_code():
    for path in (
        ".git/HEAD",
        "data/phonghop.db",
        "clients/web/node_modules/preact/package.json",
        "server/__pycache__/app.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".ruff_cache/CACHEDIR.TAG",
        "deploy/phonghop.env",
        ".env",
    ):
        assert dockerignore_excludes(path), f"{path} would be sent to the build"
    for path in (
        "pyproject.toml",
        "server/app.py",
        "server/store/migrations/env.py",
        "clients/web/package.json",
        "clients/web/package-lock.json",
        "clients/web/page.html",
    ):
        assert not dockerignore_excludes(path), f"{path} is needed by the build"


# --- coturn ---------------------------------------------------------------------------------


def test_coturn_uses_short_lived_credentials_and_no_outside_stun():
    keys = [key for key, _ in turn_conf()]
    assert "use-auth-secret" in keys
    assert "static-auth-secret" not in keys, "the secret comes from the environment, never from this file"
    assert not {"lt-cred-mech", "no-auth", "allow-loopback-peers"} & set(keys)
    assert "no-tcp-relay" in keys and "no-multicast-peers" in keys and "no-cli" in keys
    for path in (TURN_CONF, TURN_ENTRYPOINT, COMPOSE, ENV_EXAMPLE, DOCKERFILE):
        hits = PUBLIC_STUN.findall(path.read_text(encoding="utf-8"))
        assert not hits, f"{path.name} names a STUN server outside the deployment: {hits}"


def test_coturn_relays_to_the_media_network_and_no_other_private_range():
    entries = turn_conf()
    denied = [ip_range(v) for k, v in entries if k == "denied-peer-ip"]
    allowed = [ip_range(v) for k, v in entries if k == "allowed-peer-ip"]

    def relayed(address: str) -> bool:  # coturn's order: allowed wins over denied
        return in_ranges(address, allowed) or not in_ranges(address, denied)

    for private in (
        "10.0.0.1",
        "172.16.5.5",
        "172.31.255.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
    ):
        assert not relayed(private), f"coturn would relay into {private}"
    assert relayed("203.0.114.7"), "a media node on a public address must stay reachable"

    subnets = [c["subnet"] for c in load_compose()["networks"]["default"]["ipam"]["config"]]
    assert subnets, "the compose network needs a fixed subnet for coturn's allowed-peer-ip"
    for subnet in subnets:
        network = ipaddress.ip_network(subnet)
        assert network.is_private
        assert relayed(str(network[1])) and relayed(str(network[-2])), (
            f"coturn's allowed-peer-ip does not cover the media network {subnet} of docker-compose.yml"
        )
        # The allowance is that network only, not a wider private range.
        assert not relayed(str(network[0] - 1)) and not relayed(str(network[-1] + 1))


@pytest.fixture
def fake_turnserver(tmp_path: Path) -> Path:
    """A `turnserver` on PATH that records its arguments and environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "turnserver"
    stub.write_text('#!/bin/sh\necho "$@" > "$STUB_OUT.args"\nenv > "$STUB_OUT.env"\n')
    stub.chmod(0o755)
    return bin_dir


def run_entrypoint(tmp_path: Path, bin_dir: Path, **env: str) -> subprocess.CompletedProcess:
    sh = shutil.which("sh")
    if not sh:
        pytest.skip("no POSIX sh on this machine")
    full_env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "TURN_CONFIG_TEMPLATE": str(TURN_CONF),
        "TURN_RUNTIME_CONFIG": str(tmp_path / "turnserver.conf"),
        "STUB_OUT": str(tmp_path / "stub"),
        **env,
    }
    return subprocess.run(
        [sh, str(TURN_ENTRYPOINT), "--verbose"], env=full_env, capture_output=True, text=True, timeout=30
    )


def test_coturn_entrypoint_appends_the_site_settings(tmp_path, fake_turnserver):
    done = run_entrypoint(
        tmp_path,
        fake_turnserver,
        TURN_SECRET="0123abcd",
        TURN_ALLOWED_PEER_IPS="10.20.0.0-10.20.0.255, 10.30.1.5",
        TURN_EXTERNAL_IP="203.0.113.10/192.168.1.10",
    )
    assert done.returncode == 0, done.stderr
    config = tmp_path / "turnserver.conf"
    text = config.read_text()
    assert text.startswith(TURN_CONF.read_text())
    assert "\nstatic-auth-secret=0123abcd\n" in text
    assert "\nallowed-peer-ip=10.20.0.0-10.20.0.255\nallowed-peer-ip=10.30.1.5\n" in text
    assert "\nexternal-ip=203.0.113.10/192.168.1.10\n" in text
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert (tmp_path / "stub.args").read_text().split() == ["-c", str(config), "--verbose"]
    assert "0123abcd" not in (tmp_path / "stub.env").read_text(), "the secret must not stay in coturn's env"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TURN_SECRET is empty"),
        ({"TURN_SECRET": "with space"}, "TURN_SECRET may hold only"),
        ({"TURN_SECRET": "ok\nlt-cred-mech"}, "TURN_SECRET may hold only"),
        ({"TURN_SECRET": "ok", "TURN_ALLOWED_PEER_IPS": "10.0.0.0/8"}, "not an address"),
        ({"TURN_SECRET": "ok", "TURN_EXTERNAL_IP": "1.2.3.4\nno-auth"}, "not an address"),
    ],
)
def test_coturn_entrypoint_refuses_what_would_break_or_open_the_config(
    tmp_path, fake_turnserver, env, message
):
    done = run_entrypoint(tmp_path, fake_turnserver, **env)
    assert done.returncode == 64 and message in done.stderr
    assert not (tmp_path / "stub.args").exists(), "coturn must not start"


# --- nginx, the server processes, the web volume, the media node ----------------------------


def server_services(compose: dict) -> dict[str, dict]:
    """The services that run `phonghop serve`: the image's default command, the server's build."""
    base = compose["services"]["server"]
    return {
        name: s
        for name, s in compose["services"].items()
        if s.get("build") == base["build"] and "command" not in s and "entrypoint" not in s
    }


def nginx_blocks(text: str, keyword: str) -> dict[str, str]:
    """`keyword NAME { ... }` blocks of nginx.conf (no nesting inside them), by NAME."""
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return {m.group(1): m.group(2) for m in re.finditer(rf"\b{keyword}\s+([^{{\s]+(?:\s+[^{{\s]+)?)\s*\{{([^{{}}]*)\}}", body)}


def mounts(service: dict) -> dict[str, tuple[str, str]]:
    """target -> (source, options)."""
    out = {}
    for entry in service.get("volumes", []):
        source, target, *options = entry.split(":")
        out[target] = (source, options[0] if options else "rw")
    return out


def test_two_server_processes_share_one_definition():
    compose = load_compose()
    servers = server_services(compose)
    assert set(servers) == {"server", "server-2"}
    first, second = servers["server"], servers["server-2"]
    assert first == second, "server-2 repeats server (YAML merge), so the two never drift apart"
    assert "ports" not in first, "clients come through nginx"


def test_nginx_upstreams_are_the_server_processes():
    compose = load_compose()
    conf = NGINX_CONF.read_text(encoding="utf-8")
    upstreams = nginx_blocks(conf, "upstream")
    assert set(upstreams) == {"phonghop", "phonghop_sticky"}
    expected = {f"{name}:8080" for name in server_services(compose)}
    for name, body in upstreams.items():
        servers = set(re.findall(r"^\s*server\s+(\S+)", body, flags=re.M))
        assert servers == expected, f"upstream {name} lists {servers}, compose runs {expected}"
    # socket.io needs every request of one client on one process: a hash on the full
    # client address (ip_hash would take only the first three bytes of IPv4).
    assert re.search(r"^\s*hash \$binary_remote_addr consistent;", upstreams["phonghop_sticky"], flags=re.M)
    locations = nginx_blocks(conf, "location")
    assert "http://phonghop_sticky" in locations["/socket.io/"]
    assert "http://phonghop_sticky" in locations["/media/"]
    assert "Upgrade $http_upgrade" in locations["/socket.io/"]
    assert re.search(r"proxy_read_timeout\s+(\d+)h;", locations["/socket.io/"])


def test_nginx_locations_keep_the_inherited_headers():
    """nginx's trap: one add_header (or proxy_set_header) in a location drops all those of the
    server block there. Every location that adds headers repeats HSTS, and every one that
    sets proxy headers repeats Host and the forwarded ones."""
    conf = NGINX_CONF.read_text(encoding="utf-8")
    server_level = re.findall(r"^        (add_header|proxy_set_header) (\S+)", conf, flags=re.M)
    assert ("add_header", "Strict-Transport-Security") in server_level
    forwarded = {name for kind, name in server_level if kind == "proxy_set_header"} - {"Connection"}
    assert forwarded == {"Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"}
    for where, body in nginx_blocks(conf, "location").items():
        if "add_header" in body:
            assert "add_header Strict-Transport-Security" in body, f"location {where} loses HSTS"
        if "proxy_set_header" in body:
            for name in forwarded:
                assert f"proxy_set_header {name} " in body, f"location {where} loses {name}"


def test_nginx_gets_its_config_certificates_and_the_upload_limit():
    services = load_compose({**REQUIRED_VALUES, "PHONGHOP_MAX_UPLOAD_MB": "321"})["services"]
    nginx = services["nginx"]
    assert image_tag(nginx["image"])
    target = mounts(nginx)
    template_dir, output_dir = "/etc/nginx/templates", nginx["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"]
    assert output_dir == "/etc/nginx"
    assert target[f"{template_dir}/nginx.conf.template"] == ("./deploy/nginx.conf", "ro")
    assert nginx["environment"]["NGINX_ENVSUBST_FILTER"] == "PHONGHOP_"
    assert target["/etc/nginx/tls"] == ("./deploy/tls", "ro")
    conf = NGINX_CONF.read_text(encoding="utf-8")
    for path in re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", conf):
        assert path.startswith("/etc/nginx/tls/"), path
    assert (DEPLOY / "tls" / "make-cert.sh").stat().st_mode & 0o111
    # The same upload limit for nginx and every server process.
    assert "client_max_body_size ${PHONGHOP_MAX_UPLOAD_MB}m;" in conf
    assert nginx["environment"]["PHONGHOP_MAX_UPLOAD_MB"] == "321"
    for name, server in server_services(load_compose({**REQUIRED_VALUES, "PHONGHOP_MAX_UPLOAD_MB": "321"})).items():
        assert server["environment"]["PHONGHOP_MAX_UPLOAD_MB"] == "321", name
    variables = set(re.findall(r"\$\{?(PHONGHOP_\w+)", conf))
    assert variables <= set(nginx["environment"]), f"nginx.conf uses {variables}, unset in the nginx service"
    # HTTP only redirects.
    http = next(b for b in re.split(r"\n    server \{", conf)[1:] if "listen 80 " in b)
    assert "return 301 https://" in http and "proxy_pass" not in http
    assert re.search(r'add_header Strict-Transport-Security "max-age=\d+', conf)


def test_page_images_are_offloaded_from_the_servers_data_volume_only_where_allowed():
    compose = load_compose()
    nginx = compose["services"]["nginx"]
    conf = NGINX_CONF.read_text(encoding="utf-8")
    locations = nginx_blocks(conf, "location")
    for name, server in server_services(compose).items():
        env = server["environment"]
        prefix = env["PHONGHOP_ACCEL_REDIRECT"]
        data_dir = env["PHONGHOP_DATA_DIR"]
        volume = {t: s for t, (s, _) in mounts(server).items()}[data_dir]
        assert mounts(nginx)[data_dir] == (volume, "ro"), "nginx reads the servers' data volume, read-only"
        internal = {where for where, body in locations.items() if where.startswith(prefix)}
        # Only the shared page and zoom images: never blobs/, marked/ (watermarked) or the key.
        assert internal == {f"{prefix}pages/", f"{prefix}zoom/"}, name
        for where in internal:
            body = locations[where]
            assert re.search(r"^\s*internal;", body, flags=re.M), f"{where} must not answer outside requests"
            folder = where[len(prefix):]
            assert re.search(rf"alias {re.escape(data_dir)}/files/{folder};", body), where
            assert "add_header ETag $upstream_http_etag" in body and "etag off;" in body
        # nginx, at its fixed address, is the one proxy the servers believe.
        address = nginx["networks"]["default"]["ipv4_address"]
        assert env["PHONGHOP_TRUSTED_PROXIES"] == address
        config = compose["networks"]["default"]["ipam"]["config"][0]
        assert ipaddress.ip_address(address) in ipaddress.ip_network(config["subnet"])
        assert ipaddress.ip_address(address) not in ipaddress.ip_network(config["ip_range"]), (
            "a fixed address outside the range Docker hands out, or a container started first may take it")


def test_web_clients_are_published_to_the_volume_nginx_serves():
    services = load_compose()["services"]
    web, nginx = services["web-assets"], services["nginx"]
    assert web["image"] == services["server"]["image"], "the files come from the server's own image"
    script_target = next(t for t, (s, _) in mounts(web).items() if s == "./deploy/publish-web.sh")
    assert script_target in web["entrypoint"]
    volume_at = {s: t for t, (s, _) in mounts(web).items()}["phonghop-web"]
    assert volume_at == "/srv/phonghop/web"
    assert mounts(nginx)[volume_at] == ("phonghop-web", "ro")
    assert nginx["depends_on"]["web-assets"]["condition"] == "service_completed_successfully"
    locations = nginx_blocks(NGINX_CONF.read_text(encoding="utf-8"), "location")
    assert f"alias {volume_at}/current/;" in locations["/static/"]
    assert f"alias {volume_at}/current/node_modules/;" in locations["/vendor/"]
    assert "return 404" in locations["/static/node_modules/"]
    # The image owns the folder, so the volume mounted there is writable by its user.
    runs = " ".join(args for word, args in final_stage() if word == "RUN")
    assert "/srv/phonghop/web" in runs and re.search(r"chown [^&]*/srv/phonghop/web", runs)


def test_publish_web_switches_to_a_complete_copy(tmp_path):
    source, target = tmp_path / "web", tmp_path / "volume"
    (source / "node_modules" / "preact").mkdir(parents=True)
    (source / "page.html").write_text("<!doctype html>")
    (source / "node_modules" / "preact" / "index.js").write_text("export {}")
    target.mkdir()
    env = {**os.environ, "WEB_SOURCE": str(source), "WEB_TARGET": str(target)}
    for version in ("v1", "v2"):
        (source / "app.css").write_text(version)
        done = subprocess.run(["sh", str(PUBLISH_WEB)], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert (target / "current").is_symlink()
        assert (target / "current" / "app.css").read_text() == version
        assert (target / "current" / "node_modules" / "preact" / "index.js").exists()
    assert [p.name for p in target.iterdir() if p.name != "current"] == [os.readlink(target / "current")]
    (source / "node_modules" / "preact" / "index.js").unlink()
    (source / "node_modules" / "preact").rmdir()
    (source / "node_modules").rmdir()
    done = subprocess.run(["sh", str(PUBLISH_WEB)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "node_modules" in done.stderr
    assert (target / "current" / "app.css").read_text() == "v2", "a failed copy leaves the last one"


def test_every_phonghop_command_of_the_site_is_one_the_cli_knows():
    """The media node's flags (and any other `phonghop` command compose or the image runs)
    parse with server/cli.py's own parser."""
    from server.cli import build_parser

    commands = []
    for name, service in load_compose()["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command and command[0] == "phonghop":
            commands.append((name, command[1:]))
    assert any(args[0] == "media-node" for _, args in commands)
    image_cmd = " ".join(args for word, args in final_stage() if word == "CMD")
    for part in re.findall(r"phonghop ([^&\"]+)", image_cmd):
        commands.append(("Dockerfile CMD", part.split()))
    parser = build_parser()
    for where, args in commands:
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"{where}: `phonghop {' '.join(args)}` is not a command server/cli.py accepts")
    media = load_compose()["services"]["media"]
    parsed = parser.parse_args(media["command"][1:])
    assert parsed.parent.startswith("http://server:8080/"), "a child of the servers' embedded node"
    port = int(parsed.listen.rsplit(":", 1)[1])
    assert {int(p) for p in media["expose"]} == {port}
    assert "PHONGHOP_MEDIA_SECRET" in media["environment"]


def test_the_deployment_guide_is_linked_and_states_the_legal_frame():
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "docs/deployment.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    prose = " ".join(re.sub(r"^>", "", guide, flags=re.M).split())  # lines joined, quote marks off
    assert "may be put into Phonghop only on a network approved for them, never on equipment connected " \
           "to the internet" in prose
    for law in ("29/2018/QH14", "117/2025/QH15", "26/2020/NĐ-CP", "05/2011/QH13"):
        assert law in guide, law
    for topic in ("## Sizing", "## TLS", "## Firewall", "## coturn", "## Backups and the restore drill",
                  "## Upgrading", "## Installing without internet", "## Monitoring"):
        assert topic in guide, topic
    # Every command the guide gives for the phonghop CLI is one it knows.
    from server.cli import build_parser

    commands = {line.split()[0] for line in re.findall(r"\bphonghop ([a-z][a-z-]+)", guide)}
    known = set(build_parser()._subparsers._group_actions[0].choices)
    assert commands <= known, f"the guide names commands the CLI lacks: {sorted(commands - known)}"


# --- `docker compose config`, when the plugin is installed ---------------------------------


def test_security_and_the_guide_state_the_same_legal_paragraph():
    """Which law on state secrets applies is stated once, word for word the same in both
    documents, naming both laws and leaving the choice to the operator's legal officer."""
    def paragraph(path: Path) -> str:
        text = path.read_text(encoding="utf-8")
        start = text.index("**Which law applies")
        return " ".join(text[start:text.index("\n\n", start)].split())

    security, guide = paragraph(ROOT / "SECURITY.md"), paragraph(ROOT / "docs" / "deployment.md")
    assert security == guide
    for must in ("29/2018/QH14", "117/2025/QH15", "legal officer", "confirm"):
        assert must in security, must
    assert "Article" not in security  # no article numbers we could not check
