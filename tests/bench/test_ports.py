"""``bench._ports``: free ports outside the kernel's ephemeral range, never handed out twice
in a process, skipping ports something else holds."""

from __future__ import annotations

import socket

import pytest

from bench import _ports


def walk(monkeypatch: pytest.MonkeyPatch, low: int, high: int, start: int) -> None:
    """Point the allocator at ports ``low``..``high - 1``, its walk at ``start``."""
    monkeypatch.setattr(_ports, "_PORT_LOW", low)
    monkeypatch.setattr(_ports, "_PORT_HIGH", high)
    monkeypatch.setattr(_ports, "_cursor", start)


def test_ports_are_outside_the_ephemeral_range() -> None:
    low, high = _ports._ephemeral_range()
    for _ in range(50):
        port = _ports.free_port()
        assert not low <= port <= high
        assert 1024 < port < 65_536


def test_no_port_is_handed_out_twice() -> None:
    singles = [_ports.free_port() for _ in range(200)]
    blocks = [_ports.free_port_block(10) for _ in range(3)]
    handed = singles + [base + i for base in blocks for i in range(10)]
    assert len(set(handed)) == len(handed) == 230


def test_a_held_port_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        low = held.getsockname()[1]
        walk(monkeypatch, low, low + 50, low)  # a range whose first port another holds
        port = _ports.free_port()
        assert port != low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # and it really is free


def test_a_block_does_not_run_past_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    low, high = _ports._PORT_LOW, _ports._PORT_LOW + 40
    walk(monkeypatch, low, high, high - 5)  # too close to the end for 10 ports
    base = _ports.free_port_block(10)
    assert low <= base
    assert base + 10 <= high


def test_a_range_with_nothing_free_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        walk(monkeypatch, port, port + 1, port)
        with pytest.raises(RuntimeError, match="no 1 free ports"):
            _ports.free_port()
