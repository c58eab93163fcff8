"""A lossy, slow link between two TUN interfaces: netem's `delay` and `loss`, in user space.

    python tests/faults/lossy_relay.py --a NAME --b NAME [--delay 0.3] [--loss 0.1] [--seed N]

Creates two TUN interfaces (IPv4 packets, no packet information header) and relays every
packet read from one to the other after `--delay` seconds, dropping each with probability
`--loss` (each direction on its own, as `tc qdisc add ... netem delay 300ms loss 10%` on
both ends of a veth pair does). The test moves one interface into a network namespace, so
a client in that namespace reaches the server only through this link.

Why not netem itself: the kernels this suite runs on may be built without the netem qdisc
(`tc` answers "Specified qdisc kind is unknown"); a TUN device is all this needs, and the
seed makes the loss the same on every run.

Prints `ready` once both interfaces exist. Reads commands on stdin, one a line:
`down` (drop everything, both ways, from now on), `cut-return` (drop what goes from --a to
--b, including what is already delayed: the point's requests still arrive, the answers do
not), `up` (back to the configured loss), `quit`. Prints the packet counts on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import random
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


class Link:
    def __init__(self, a: str, b: str, delay: float, loss: float, seed: int) -> None:
        self.fds = {"a": open_tun(a), "b": open_tun(b)}
        self.delay = delay
        self.loss = loss
        self.random = random.Random(seed)
        self.mode = "up"
        self.generation = {"a": 0, "b": 0}  # bumped to forget what is delayed from a side
        self.counts = {"a>b": 0, "b>a": 0, "dropped": 0}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        for side in ("a", "b"):
            loop.add_reader(self.fds[side], self._read, loop, side)

    def _read(self, loop: asyncio.AbstractEventLoop, side: str) -> None:
        other = "b" if side == "a" else "a"
        while True:
            try:
                packet = os.read(self.fds[side], 65536)
            except BlockingIOError:
                return
            if (self.mode == "down" or (self.mode == "cut-return" and side == "a")
                    or self.random.random() < self.loss):
                self.counts["dropped"] += 1
                continue
            self.counts[f"{side}>{other}"] += 1
            loop.call_later(self.delay, self._deliver, other, packet, self.generation[side], side)

    def _deliver(self, to: str, packet: bytes, generation: int, source: str) -> None:
        if generation != self.generation[source] or self.mode == "down":
            self.counts["dropped"] += 1
            return
        try:
            os.write(self.fds[to], packet)
        except OSError:  # the interface is down or gone: as a wire would, lose it
            self.counts["dropped"] += 1

    def command(self, line: str) -> bool:
        line = line.strip()
        if line in ("up", "down"):
            self.mode = line
        elif line == "cut-return":
            self.mode = line
            self.generation["a"] += 1
        elif line == "quit" or line == "":
            return False
        return True


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True, help="the server's side")
    parser.add_argument("--b", required=True, help="the point's side")
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--loss", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    link = Link(args.a, args.b, args.delay, args.loss, args.seed)
    link.start(loop)
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while link.command((await reader.readline()).decode()):
        print(f"mode {link.mode}", flush=True)
    print(json.dumps(link.counts), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
