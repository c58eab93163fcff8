"""Commands, one module per concept; importing this package registers them all."""

from server.commands import agenda, attendance, meetings, participants, units  # noqa: F401
