#!/bin/sh
# Copies the web clients (scripts, styles, npm packages) from the server image into the
# volume nginx serves them from (docker-compose.yml, service "web-assets"; nginx.conf:
# /static/ and /vendor/). Runs at every `docker compose up`, so an upgraded image brings
# its own files: they go to a new folder, then the link `current` moves to it in one
# step (nginx never sees half a copy), then older copies are removed.
#
#   WEB_SOURCE   the web clients in the image (default /app/clients/web)
#   WEB_TARGET   the volume (default /srv/phonghop/web)
set -eu

source=${WEB_SOURCE:-/app/clients/web}
target=${WEB_TARGET:-/srv/phonghop/web}

[ -f "$source/page.html" ] || { echo "publish-web: no web clients in $source" >&2; exit 66; }
[ -d "$source/node_modules" ] || { echo "publish-web: $source/node_modules is missing (npm ci)" >&2; exit 66; }
[ -d "$target" ] || { echo "publish-web: $target is not a folder (the web volume)" >&2; exit 66; }

release="release-$(date -u +%Y%m%dT%H%M%SZ)-$$"
cp -R "$source" "$target/$release.part"
mv "$target/$release.part" "$target/$release"
ln -s "$release" "$target/current.next"
mv -T "$target/current.next" "$target/current"  # rename(2): atomic

for old in "$target"/release-*; do
    [ "$old" = "$target/$release" ] || rm -rf "$old"
done
echo "publish-web: $target/current -> $release" >&2
