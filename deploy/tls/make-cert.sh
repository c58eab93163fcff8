#!/bin/sh
# Makes the TLS certificate nginx presents (deploy/nginx.conf), with openssl only: nothing
# is asked of a host outside the site.
#
#   deploy/tls/make-cert.sh hop.tinhuy.local 10.20.0.5      site CA, then a certificate it signs
#   deploy/tls/make-cert.sh --self-signed 10.20.0.5         one self-signed certificate
#   deploy/tls/make-cert.sh --days 365 hop.tinhuy.local     shorter life (default 825 days)
#
# Names and addresses: every name and IP address the tablets and bridge points use to
# reach the site (they go into subjectAltName; browsers read nothing else).
#
# Site CA (the default): the first run makes ca.pem and ca.key, a certificate authority of
# this site alone, valid 10 years. Install ca.pem once on every tablet, console and bridge
# point (Android: Settings > Security > Install a certificate > CA certificate; Windows:
# certmgr.msc > Trusted Root Certification Authorities); then renewing the server's
# certificate (run again) needs nothing on the devices. Keep ca.key off the server: on
# the administrator's offline machine or removable media, in the safe.
#
# Self-signed: simplest, but every device must trust this exact certificate, again at
# each renewal. An office with its own CA (or the Government CA's TLS service) signs
# privkey.pem's request instead: make one with
#   openssl req -new -key privkey.pem -subj "/CN=NAME" -out request.csr
# and put the certificate it returns, followed by its intermediates, in fullchain.pem.
#
# Writes, in TLS_DIR (default: this folder, which docker-compose.yml mounts read-only at
# /etc/nginx/tls): privkey.pem (mode 600), fullchain.pem, and for the site CA ca.pem,
# ca.key. None of them belongs in git (deploy/tls/.gitignore).
set -eu

usage() {
    echo "usage: $0 [--self-signed] [--days N] NAME-OR-IP [NAME-OR-IP ...]" >&2
    exit 64
}

dir=${TLS_DIR:-$(cd "$(dirname "$0")" && pwd)}
days=825  # the longest life Apple devices accept for a TLS certificate
self_signed=no
while [ $# -gt 0 ]; do
    case "$1" in
        --self-signed) self_signed=yes; shift ;;
        --days) [ $# -ge 2 ] || usage; days=$2; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "$0: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
case "$days" in *[!0-9]*|"") echo "$0: --days takes a number of days" >&2; exit 64 ;; esac
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl is needed (apt-get install openssl)" >&2; exit 69; }

san=""
for name in "$@"; do
    case "$name" in
        *[!A-Za-z0-9.:-]*) echo "$0: not a host name or IP address: $name" >&2; exit 64 ;;
    esac
    if printf '%s' "$name" | grep -Eq '^[0-9]+(\.[0-9]+){3}$|:'; then
        entry="IP:$name"
    else
        entry="DNS:$name"
    fi
    san="${san:+$san,}$entry"
done
first=$1

mkdir -p "$dir"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# EC P-256: small and fast on tablets, accepted by every browser in use.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/privkey.pem" 2>/dev/null

if [ "$self_signed" = yes ]; then
    openssl req -x509 -new -key "$work/privkey.pem" -days "$days" -subj "/CN=$first" \
        -addext "subjectAltName=$san" -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" \
        -out "$work/fullchain.pem"
else
    if [ ! -f "$dir/ca.pem" ] || [ ! -f "$dir/ca.key" ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
        openssl req -x509 -new -key "$dir/ca.key" -days 3650 -subj "/CN=Phonghop site CA $first" \
            -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.pem"
        chmod 644 "$dir/ca.pem"
        echo "made the site CA: $dir/ca.pem (install it on the devices); $dir/ca.key (keep it offline)" >&2
    fi
    openssl req -new -key "$work/privkey.pem" -subj "/CN=$first" -out "$work/request.csr"
    printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
        "$san" > "$work/extensions"
    openssl x509 -req -in "$work/request.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$work/extensions" \
        -out "$work/fullchain.pem" 2>/dev/null
fi

chmod 600 "$work/privkey.pem"
chmod 644 "$work/fullchain.pem"
mv "$work/privkey.pem" "$dir/privkey.pem"
mv "$work/fullchain.pem" "$dir/fullchain.pem"
echo "wrote $dir/fullchain.pem and $dir/privkey.pem for $san ($days days)" >&2
