"""Commands, one module per concept; importing this package registers them all."""

from server.commands import (  # noqa: F401
    agenda,
    attendance,
    comments,
    documents,
    meetings,
    participants,
    polls,
    records,
    speakers,
    units,
)
