# syntax=docker/dockerfile:1
#
# Phonghop server image: the coordination server and the web clients it serves.
#
#   docker compose build            (see docker-compose.yml and deploy/)
#
# The build reaches PyPI and the npm registry; the running container reaches no
# host outside the deployment. For a site without internet, build elsewhere and
# carry the image over (docker save / docker load).

# --- web clients: npm packages only, no build step --------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY clients/web/package.json clients/web/package-lock.json ./
# Exactly the locked versions; no install scripts (the packages are plain ES modules).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- server ------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PHONGHOP_DATA_DIR=/var/lib/phonghop

# /srv/phonghop/web: where the web-assets service publishes the web clients for nginx
# (an empty volume mounted there takes this owner).
RUN groupadd --system --gid 10001 phonghop \
 && useradd --system --uid 10001 --gid phonghop --home-dir /var/lib/phonghop \
            --no-create-home --shell /usr/sbin/nologin phonghop \
 && mkdir -p /var/lib/phonghop /srv/phonghop/web \
 && chown phonghop:phonghop /var/lib/phonghop /srv/phonghop/web

# LibreOffice converts Word, ODT and PowerPoint uploads to PDF, and the minutes and
# conclusion notices too; DejaVu Sans draws the Vietnamese of the watermarks on
# confidential pages; Liberation Serif 2 (Times New Roman's metrics, with Vietnamese)
# prints the minutes. The slim image has no fonts at all. pg_dump and pg_restore (15, as
# the postgres service) make and restore `phonghop backup` archives.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-liberation2 libreoffice-writer-nogui \
        libreoffice-impress-nogui postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, read from pyproject.toml, so that a change to the code alone
# does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The packages that pyproject.toml installs (tests/test_deployment.py keeps this list
# in step with [tool.setuptools.packages.find]).
COPY server ./server
COPY agendas ./agendas
COPY media ./media
COPY clients ./clients
COPY --from=web /web/node_modules ./clients/web/node_modules

# Editable install: the `phonghop` command, with the code staying in /app. The server
# finds the web clients beside its own package (server/app.py: WEB_ROOT), so they
# must stay at /app/clients/web rather than be copied into site-packages.
RUN pip install --no-cache-dir --no-deps --editable . \
 && python -m compileall -q -x node_modules server agendas media clients \
 && rm -rf build

USER 10001:10001
VOLUME ["/var/lib/phonghop"]
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# `serve` would migrate too; doing it first makes a failed migration stop the
# container with its own message instead of a half-started server.
CMD ["sh", "-c", "phonghop migrate && exec phonghop serve --host 0.0.0.0 --port 8080"]
