#!/bin/sh
# Makes the offline installation bundle: deploy/offline_bundle.py says what is in it.
#
#   deploy/make-offline-bundle.sh OUT                      wheels from the package index
#   deploy/make-offline-bundle.sh --from-venv .venv OUT    wheels repacked from a tested venv
#   tar -cf phonghop-offline.tar -C OUT .                  to carry it over
#
# Run it on Debian 12 with Python 3.11 on the site's architecture, after `./dev setup`
# (clients/web/node_modules comes from there). On the site: ./install.sh [PREFIX].
set -eu
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then
    python=.venv/bin/python
fi
exec "$python" deploy/offline_bundle.py "$@"
