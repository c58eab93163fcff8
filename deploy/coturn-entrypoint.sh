#!/bin/sh
# Starts coturn with deploy/turnserver.conf plus the settings that differ per site,
# read from the environment, so that the secret sits neither in a file under version
# control nor on turnserver's command line (where `ps` would show it).
#
#   TURN_SECRET            the shared secret, the server's PHONGHOP_TURN_SECRET (required)
#   TURN_ALLOWED_PEER_IPS  media nodes on other machines coturn may relay to, as coturn
#                          ranges separated by commas: 10.20.0.0-10.20.0.255,10.30.1.5
#   TURN_EXTERNAL_IP       public address, or public/private, when coturn is behind NAT
#
# The image's own default command is not used: it would look up the external address
# with detect-external-ip, which asks a host outside the deployment.
set -eu
set -f  # no globbing of the values split below

template="${TURN_CONFIG_TEMPLATE:-/etc/coturn/turnserver.conf}"
config="${TURN_RUNTIME_CONFIG:-/tmp/turnserver.conf}"

fail() {
    echo "coturn-entrypoint: $*" >&2
    exit 64
}

secret="${TURN_SECRET:-}"
[ -n "$secret" ] || fail "TURN_SECRET is empty: set PHONGHOP_TURN_SECRET (see deploy/phonghop.env.example)"
case "$secret" in
    *[!A-Za-z0-9._~+/=-]*) fail "TURN_SECRET may hold only letters, digits and ._~+/=- (use: openssl rand -hex 32)" ;;
esac

umask 077
{
    cat "$template"
    echo
    echo "# --- added by coturn-entrypoint.sh from the environment ---"
    printf 'static-auth-secret=%s\n' "$secret"
    for range in $(printf '%s' "${TURN_ALLOWED_PEER_IPS:-}" | tr ',' ' '); do
        case "$range" in
            *[!0-9A-Fa-f.:-]*) fail "TURN_ALLOWED_PEER_IPS: not an address or first-last range: $range" ;;
        esac
        printf 'allowed-peer-ip=%s\n' "$range"
    done
    if [ -n "${TURN_EXTERNAL_IP:-}" ]; then
        case "$TURN_EXTERNAL_IP" in
            *[!0-9A-Fa-f.:/]*) fail "TURN_EXTERNAL_IP: not an address or public/private pair: $TURN_EXTERNAL_IP" ;;
        esac
        printf 'external-ip=%s\n' "$TURN_EXTERNAL_IP"
    fi
} > "$config"

unset TURN_SECRET secret
exec turnserver -c "$config" "$@"
