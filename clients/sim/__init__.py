"""The load simulator: `phonghop sim` drives a real server with simulated tablets and
bridge points, as a smoke test of a deployment and as the load of `phonghop bench mixed`.

- `clients/sim/tablet.py`: one simulated device (a delegate's tablet or a point's
  console): REST calls and a python-socketio connection that applies events by the
  client rule of docs/protocol.md, with what it does timed.
- `clients/sim/session.py`: the `session` scenario, run by a coordinator (the
  secretariat) over worker processes that each drive a share of the devices.
- `clients/sim/cli.py`: the command's flags, credentials and summary.
"""
