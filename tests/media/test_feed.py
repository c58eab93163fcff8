"""Feeds and feed tracks without a network: keyframe gating, pacing, timestamps, overflow."""

from __future__ import annotations

import pytest

from media.feed import Feed, FeedTrack, vp8_is_keyframe
from media.keyframes import KeyframePacer
from media.settings import parse_layers

KEY = b"\x00rest"  # VP8 frame tag with P=0: a keyframe
DELTA = b"\x01rest"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_vp8_keyframe_bit():
    assert vp8_is_keyframe(KEY) and not vp8_is_keyframe(DELTA) and not vp8_is_keyframe(b"")


def test_pacer_coalesces_requests_within_the_interval():
    clock = FakeClock()
    pacer = KeyframePacer(0.5, clock)
    assert not pacer.take()  # nothing asked
    pacer.request("join")
    assert pacer.take()  # the first goes at once
    for _ in range(5):
        pacer.request("loss")  # a room losing the same packet
    assert not pacer.take()
    clock.now += 0.2
    assert not pacer.take()
    clock.now += 0.31
    assert pacer.take()  # one keyframe answers all five
    assert not pacer.take()
    assert pacer.granted == 2 and pacer.requests == {"join": 1, "loss": 5}


def test_pacer_counts_an_unasked_keyframe_as_the_answer():
    clock = FakeClock()
    pacer = KeyframePacer(0.5, clock)
    pacer.request("join")
    pacer.satisfied()
    assert not pacer.pending and not pacer.take()


async def test_a_track_waits_for_a_keyframe_and_asks_for_one():
    feed = Feed("main:hi", "video")
    track = FeedTrack("video", feed)
    assert feed.pacer.requests["join"] == 1
    feed.publish(DELTA, 3000, False)
    feed.publish(DELTA, 6000, False)
    assert track.backlog == 0 and track.dropped == 2
    feed.publish(KEY, 9000, True)
    feed.publish(DELTA, 12000, False)
    first, second = await track.recv(), await track.recv()
    assert first.keyframe and bytes(first) == KEY and not second.keyframe
    assert second.pts - first.pts == 3000  # the feed's spacing is kept
    assert first.time_base.denominator == 90000


async def test_the_same_bytes_go_to_every_track():
    feed = Feed("main:hi", "video")
    tracks = [FeedTrack("video", feed) for _ in range(3)]
    feed.publish(KEY, 0, True)
    packets = [await t.recv() for t in tracks]
    assert all(p.data is packets[0].data for p in packets)  # one object, never copied
    assert feed.consumers == 3


async def test_switching_feeds_keeps_timestamps_moving_forward():
    a, b = Feed("A:video", "video"), Feed("B:video", "video")
    track = FeedTrack("video", a)
    a.publish(KEY, 900_000, True)
    a.publish(DELTA, 903_000, False)
    p1, p2 = await track.recv(), await track.recv()
    track.switch(b, reason="floor")
    assert b.pacer.requests["floor"] == 1
    a.publish(DELTA, 906_000, False)  # the old feed no longer reaches the track
    b.publish(KEY, 10, True)  # another clock entirely
    b.publish(DELTA, 3010, False)
    p3, p4 = await track.recv(), await track.recv()
    assert p1.pts < p2.pts < p3.pts < p4.pts
    assert p4.pts - p3.pts == 3000


async def test_a_consumer_that_falls_behind_restarts_from_a_keyframe():
    feed = Feed("main:hi", "video")
    track = FeedTrack("video", feed, queue_size=4)
    feed.publish(KEY, 0, True)
    for i in range(1, 6):
        feed.publish(DELTA, i * 3000, False)
    assert feed.pacer.requests["overflow"] == 1
    assert track.backlog == 0
    feed.publish(DELTA, 99_000, False)
    assert track.backlog == 0  # still waiting
    feed.publish(KEY, 102_000, True)
    assert (await track.recv()).keyframe


async def test_a_lazy_track_joins_when_read():
    feed = Feed("main:hi", "video")
    track = FeedTrack("video", feed, lazy=True)
    assert feed.consumers == 0 and track.target is feed
    feed.publish(KEY, 0, True)  # before the sender reads: not queued
    assert track.backlog == 0
    import asyncio
    reader = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    assert feed.consumers == 1
    feed.publish(KEY, 3000, True)
    assert (await reader).keyframe
    track.stop()
    assert feed.consumers == 0


async def test_audio_is_never_gated():
    feed = Feed("main:audio", "audio")
    track = FeedTrack("audio", feed)
    feed.publish(b"opus", 960, True)
    packet = await track.recv()
    assert packet.time_base.denominator == 48000 and feed.pacer.requests == {}


def test_layers_from_text():
    layers = parse_layers("720p:1280x720@1200, 360p:640x360@400")
    assert [(x.name, x.width, x.height, x.bitrate) for x in layers] == [
        ("720p", 1280, 720, 1_200_000), ("360p", 640, 360, 400_000)]
    for bad in ("720p:1280x720", "a:1281x720@1", "a:16x16@1,a:32x32@1", ""):
        with pytest.raises(ValueError):
            parse_layers(bad)


def test_turn_credentials_are_short_lived_and_signed():
    import base64
    import hashlib
    import hmac

    from media.ice import ice_servers, turn_credentials
    from media.settings import TurnServer

    got = turn_credentials(["turn:10.0.0.5:3478?transport=udp"], "s3cret", user="xa-1", ttl=600, now=1000)
    assert got["username"] == "1600:xa-1"
    assert got["credential"] == base64.b64encode(hmac.new(b"s3cret", b"1600:xa-1", hashlib.sha1).digest()).decode()
    with pytest.raises(ValueError):
        turn_credentials(["stun:example.invalid"], "s3cret", user="x")
    with pytest.raises(ValueError):
        ice_servers(TurnServer("stun:example.invalid"))
    assert ice_servers(None) == []
