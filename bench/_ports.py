"""Free TCP ports on 127.0.0.1 for servers the benchmarks and tests start.

Ports are handed out outside the kernel's ephemeral range: the kernel never gives those
to an outgoing connection or a port-0 bind, so a port found free stays free until the
server binds it. A port from ``bind(0)`` can be taken in between as the local port of any
outgoing connection (it happened in CI: "address already in use" in a fixture). Each
process walks the range from its own random start, so it never hands out a port twice
and two runs side by side rarely meet; a port something else holds is skipped.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from pathlib import Path

HOST = "127.0.0.1"


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _port_range() -> tuple[int, int]:
    low, high = _ephemeral_range()
    return (20_000, low) if low > 21_000 else (high + 1, 65_536)


_PORT_LOW, _PORT_HIGH = _port_range()
_cursor = random.Random(os.getpid()).randrange(_PORT_LOW, _PORT_HIGH)
_cursor_lock = threading.Lock()


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port_block(count: int = 1) -> int:
    """A base port N with N..N+count-1 on 127.0.0.1 free and not handed out before."""
    global _cursor
    with _cursor_lock:
        for _ in range(_PORT_HIGH - _PORT_LOW):
            base = _cursor if _cursor + count <= _PORT_HIGH else _PORT_LOW
            _cursor = base + count
            if all(_free(base + i) for i in range(count)):
                return base
    raise RuntimeError(f"no {count} free ports in {_PORT_LOW}-{_PORT_HIGH}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing holds, outside the ephemeral range."""
    return free_port_block(1)
