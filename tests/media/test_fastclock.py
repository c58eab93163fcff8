"""media.fastclock gives aiortc the same times as its own clock, without datetime objects."""

from aiortc import clock

from media import fastclock


def test_the_fast_clock_agrees_with_aiortc_s():
    import media.ice  # noqa: F401  (installs it)

    assert clock.current_ntp_time is fastclock.current_ntp_time
    reference = clock.datetime_to_ntp(clock.current_datetime())
    assert abs(fastclock.current_ntp_time() - reference) < (1 << 32) // 100  # within 10 ms
    assert abs(fastclock.current_ms() - (reference >> 32) * 1000) < 1100
    # The low 32 bits are the fraction of a second: the round trip aiortc computes from them works.
    then = fastclock.current_ntp_time()
    assert clock.datetime_from_ntp(then) <= clock.current_datetime()
