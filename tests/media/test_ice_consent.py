"""Consent checks survive a slow link (media/ice.py): aioice sends its consent check once and
gives up after 0.5 s, so a round-trip time above that closed every connection after 30 s. The
check is sent three times instead; other requests keep their retransmissions. This reaches
aioice's private attribute: if aioice changes, this fails (and tests/faults/
test_media_lossy_link.py shows what is at stake)."""

from __future__ import annotations

import aioice.stun

import media.ice  # noqa: F401  (patches aioice on import)


def _tries(retransmissions):  # a Transaction makes its future on the running loop
    request = aioice.stun.Message(message_method=aioice.stun.Method.BINDING,
                                  message_class=aioice.stun.Class.REQUEST)
    transaction = aioice.stun.Transaction(request, ("127.0.0.1", 9), protocol=None,
                                          retransmissions=retransmissions)
    return transaction._Transaction__tries_max


async def test_the_consent_check_is_retransmitted():
    assert _tries(0) == 1 + media.ice.CONSENT_RETRANSMISSIONS == 3
    assert _tries(None) == 1 + aioice.stun.RETRY_MAX  # connectivity checks: unchanged
    assert _tries(4) == 5
