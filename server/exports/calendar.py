"""A person's calendar feed as iCalendar (RFC 5545), written with the `icalendar` package.

Pure: the items in, the bytes out. Times carry TZID=Asia/Ho_Chi_Minh with its VTIMEZONE (Vietnam
has kept UTC+7 since 1975, with no daylight saving); DTSTAMP and LAST-MODIFIED are the item's
last change, so the same data always gives the same bytes; SEQUENCE grows with every change, and
a cancelled entry stays in the feed with STATUS:CANCELLED so that calendars strike it out rather
than lose it silently. Text is NFC; the package escapes commas, semicolons and newlines and
folds lines at 75 octets without splitting a character.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from server.domain.text import nfc
from server.domain.times import LOCAL

CONTENT_TYPE = "text/calendar"
PRODID = "-//Phonghop//Lich hop va lich cong tac//VI"
# Vietnam's clocks since 13 June 1975: one STANDARD block covers every meeting the feed can hold.
ZONE_FROM, ZONE_UNTIL = date(1976, 1, 1), date(2200, 1, 1)


@dataclass(frozen=True)
class Item:
    uid: str
    summary: str
    starts: datetime
    ends: datetime | None
    stamp: datetime  # when it last changed
    sequence: int
    location: str = ""
    description: str = ""
    cancelled: bool = False
    tentative: bool = False
    categories: tuple[str, ...] = field(default_factory=tuple)


def feed(name: str, items: list[Item]) -> bytes:
    from icalendar import Calendar, Event, Timezone

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", nfc(name))  # RFC 7986
    cal.add("x-wr-calname", nfc(name))  # what most calendar applications read
    cal.add("x-wr-timezone", LOCAL.key)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    cal.add_component(Timezone.from_tzinfo(LOCAL, tzid=LOCAL.key, first_date=ZONE_FROM, last_date=ZONE_UNTIL))
    for item in sorted(items, key=lambda i: (i.starts, i.uid)):
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", item.stamp.astimezone(UTC))
        event.add("last-modified", item.stamp.astimezone(UTC))
        event.add("dtstart", item.starts.astimezone(LOCAL))
        if item.ends is not None:
            event.add("dtend", item.ends.astimezone(LOCAL))
        event.add("summary", nfc(item.summary))
        if item.location:
            event.add("location", nfc(item.location))
        if item.description:
            event.add("description", nfc(item.description))
        if item.categories:
            event.add("categories", [nfc(c) for c in item.categories])
        event.add("sequence", item.sequence)
        event.add("status", "CANCELLED" if item.cancelled else "TENTATIVE" if item.tentative else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if item.cancelled else "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()
