"""Keyframe pacing: every request is honoured, at most one keyframe per interval.

A keyframe is needed when a receiver joins (it cannot decode a delta frame), when a
receiver lost packets it could not recover (its decoder sends a PLI or FIR), and when
the floor changes (the picture changes entirely). Keyframes are large: a room of
receivers all losing a packet at once must not turn into a storm of them. So the
requests are coalesced: a request made less than `interval` after the last keyframe
waits until the interval is over, and all requests waiting then are answered by the
same keyframe. A keyframe that comes for any other reason answers them too.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

# join: a receiver joined or moved to this feed; retry: it is still waiting for one;
# loss: a receiver's PLI/FIR; floor: the floor changed; overflow: a receiver fell behind;
# manual: asked through the node's interface.
REASONS = ("join", "retry", "loss", "floor", "overflow", "manual")


class KeyframePacer:
    def __init__(self, interval: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self.pending = False
        self.requests: Counter[str] = Counter()  # by reason
        self.granted = 0  # keyframes this pacer asked for

    def request(self, reason: str) -> None:
        self.requests[reason] += 1
        self.pending = True

    def take(self) -> bool:
        """True when a keyframe should be made (or asked for) now; the caller then makes it."""
        if not self.pending:
            return False
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            return False
        self.pending = False
        self._last = now
        self.granted += 1
        return True

    def satisfied(self) -> None:
        """A keyframe went out (asked for or not): the waiting requests are answered."""
        self.pending = False
        self._last = self._clock()

    def as_dict(self) -> dict:
        return {"granted": self.granted, "pending": self.pending, "requests": dict(self.requests)}
