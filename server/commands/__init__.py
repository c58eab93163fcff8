"""Commands, one module per concept; importing this package registers them all."""

from server.commands import (  # noqa: F401
    agenda,
    attendance,
    comments,
    conference,
    directives,
    documents,
    meetings,
    participants,
    polls,
    programmes,
    records,
    speakers,
    units,
)
