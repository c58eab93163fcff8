"""`phonghop media-node` and `phonghop bridge-agent` (registered by server/cli.py).

Nothing of aiortc is imported until one of these commands runs.
"""

from __future__ import annotations

import argparse
import os
import sys


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"PHONGHOP_{name}")
    return value if value not in (None, "") else default


def cmd_media_node(args: argparse.Namespace) -> int:
    from media.service import node_settings, parse_listen, run_node
    from server import config

    secret = args.secret or _env("MEDIA_SECRET")
    if not secret:
        print("phonghop media-node: a secret is required (--secret or PHONGHOP_MEDIA_SECRET)", file=sys.stderr)
        return 2
    try:
        host, port = parse_listen(args.listen)
        settings = config.from_env()
        if args.layers:
            settings = settings.with_overrides(media_layers=args.layers)
        ice = tuple(args.ice_address) if args.ice_address else None
        node = node_settings(settings, node_id=args.node_id, ice_addresses=ice)
    except ValueError as exc:
        print(f"phonghop media-node: {exc}", file=sys.stderr)
        return 2
    return run_node(host=host, port=port, secret=secret, settings=node, parent=args.parent,
                    parent_secret=args.parent_secret, server=args.server, serves=args.serves,
                    advertise=args.advertise)


def cmd_bridge_agent(args: argparse.Namespace) -> int:
    from media import agent

    if args.node and not (args.secret or _env("MEDIA_SECRET")):
        print("phonghop bridge-agent: --node needs the node's secret (--secret or PHONGHOP_MEDIA_SECRET)",
              file=sys.stderr)
        return 2
    args.secret = args.secret or _env("MEDIA_SECRET")
    if not args.ice_address and _env("MEDIA_ICE_ADDRESSES"):
        args.ice_address = [a.strip() for a in _env("MEDIA_ICE_ADDRESSES").split(",")]
    return agent.main(args)


def register(sub) -> None:
    p = sub.add_parser("media-node", help="run a media node as its own process (docs/media.md)")
    p.add_argument("--listen", default="127.0.0.1:8090", help="HOST:PORT of its control API (default 127.0.0.1:8090)")
    p.add_argument("--secret", help="shared secret of the control API (default: $PHONGHOP_MEDIA_SECRET)")
    p.add_argument("--node-id", default="central", help="its name in the tree, e.g. bac-ninh (its peer id on its parent)")
    p.add_argument("--parent", help="the parent node's control API URL: this node relays its main feed")
    p.add_argument("--parent-secret", help="the parent's secret, when it differs from this node's")
    p.add_argument("--server", help="the coordination server's URL: register there (heartbeats); it names the parent")
    p.add_argument("--serves", type=int, help="with --server: the id of the unit whose subtree this node serves")
    p.add_argument("--advertise", help="with --server: this node's control API URL as the server reaches it "
                                       "(default http://LISTEN)")
    p.add_argument("--layers", help="qualities, e.g. 720p:1280x720@1200,360p:640x360@400 (kbit/s)")
    p.add_argument("--ice-address", action="append",
                   help="an address to offer as ICE host candidate (repeat; default: $PHONGHOP_MEDIA_ICE_ADDRESSES "
                        "or every address)")
    p.set_defaults(func=cmd_media_node)

    p = sub.add_parser("bridge-agent", help="a bridge point without a screen: test, send, receive, report (JSON)")
    p.add_argument("--node", help="a media node's control API URL (direct signalling)")
    p.add_argument("--secret", help="that node's secret (default: $PHONGHOP_MEDIA_SECRET)")
    p.add_argument("--server", help="the coordination server's URL: signal through its socket.io as a point's operator")
    p.add_argument("--token", help="a session token of the point's operator, with --server")
    p.add_argument("--pair-code", help="a one-time pairing code of the point's operator, with --server")
    p.add_argument("--meeting", type=int, help="the meeting whose online conference to join, with --server")
    p.add_argument("--device-name", default="phonghop bridge-agent", help="this device's name when pairing")
    p.add_argument("--seated", type=int, help="report this many seated at the point (point.report), with --server")
    p.add_argument("--request-floor", metavar="TOPIC", help="ask for the floor (speaker.request), with --server")
    p.add_argument("--peer-id", default="bridge-agent", help="this point's id (default bridge-agent)")
    p.add_argument("--source", default="synthetic", help="synthetic, or a media file to play in a loop")
    p.add_argument("--duration", type=float, default=10.0, help="seconds to stay joined (0: until stopped)")
    p.add_argument("--no-connection-test", action="store_true", help="skip the connection test")
    p.add_argument("--test-seconds", type=float, default=4.0, help="length of the connection test")
    p.add_argument("--layer", help="the quality to receive (default: the node's best)")
    p.add_argument("--report-every", type=float, default=2.0, help="seconds between stats lines")
    p.add_argument("--fps", type=int, default=15, help="frames per second of the synthetic picture")
    p.add_argument("--size", default="640x360", help="size of the synthetic picture")
    p.add_argument("--color", default="200,120,30", help="R,G,B of the synthetic picture (tells points apart)")
    p.add_argument("--ice-address", action="append", help="an address to offer as ICE host candidate (repeat)")
    p.set_defaults(func=cmd_bridge_agent)
