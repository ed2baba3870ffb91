"""Routing: which channel serves a request, and when a failed attempt moves the work to the next.

- `selection`: the order channels are tried in (priority, then weight), cool-downs left out,
  and the channel a worker task goes to.
- `health`: the score every attempt leaves on its channel; failures in a row start a cool-down.
- `failover`: the one loop (`try_channels`) and a policy per path saying which failures move on.
"""
