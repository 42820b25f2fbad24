"""The instrument servers are bounded: backlog, connection pool, line and error lengths.

Truths: the constants of :mod:`mrfm.rig.tcp` (a listen backlog of 512, at most 32
connections served at once per instrument, 1 MiB of unterminated input before a
connection is cut off) and of :mod:`mrfm.rig.instruments.base` (4096-byte requests,
128-character error lines). Loopback only; every loop is bounded and every socket has
a timeout.
"""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc

import pytest

from mrfm.rig.clock import SimClock
from mrfm.rig.instruments.base import MAX_ERROR_REPLY, MAX_LINE
from mrfm.rig.tcp import LISTEN_BACKLOG, MAX_CONNECTIONS, MAX_DISCARD

from .rig_helpers import IDENTITY, RIG_TOML, LineClient, connect_ready, make_rig, port_of

IDN = b"Stanford_Research_Systems,SR830"


@pytest.fixture(scope="module")
def rig():
    r = make_rig(RIG_TOML, clock=SimClock(manual=True))
    yield r
    r.stop()


def _identify(port: int, timeout: float = 20.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"*IDN?\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def test_limits_are_what_the_issue_asks():
    assert LISTEN_BACKLOG >= 128
    assert MAX_CONNECTIONS == 32
    assert MAX_LINE <= 4096 and MAX_ERROR_REPLY <= 128 and MAX_DISCARD <= 1 << 20


def test_320_concurrent_clients_are_all_served_by_at_most_32_handlers(rig):
    server = rig.servers["lockin"]
    port = server.port
    n = 320
    start = threading.Barrier(n + 1, timeout=30)
    replies: list[bytes | BaseException] = [b""] * n
    peak = [0]
    done = threading.Event()

    def client(k: int) -> None:
        try:
            start.wait()
            replies[k] = _identify(port)
        except BaseException as exc:  # noqa: BLE001 - checked below
            replies[k] = exc

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.open_connections)
            time.sleep(0.0005)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n)]
    watcher = threading.Thread(target=watch, daemon=True)
    for t in threads:
        t.start()
    watcher.start()
    start.wait()
    for t in threads:
        t.join(60)
    done.set()
    watcher.join(5)
    failed = [r for r in replies if not (isinstance(r, bytes) and r.startswith(IDN))]
    assert not failed, failed[:3]
    assert 1 <= peak[0] <= MAX_CONNECTIONS
    assert not any(t.is_alive() for t in threads)


def test_clients_beyond_the_pool_wait_in_the_backlog_until_a_slot_frees(rig):
    server = rig.servers["lockin2"]
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5)
            for _ in range(MAX_CONNECTIONS)]
    try:
        deadline = time.monotonic() + 5
        while server.open_connections < MAX_CONNECTIONS:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        waiting = socket.create_connection(("127.0.0.1", server.port), timeout=0.5)
        waiting.sendall(b"*IDN?\n")
        with pytest.raises(TimeoutError):  # connected (in the backlog), not yet served
            waiting.recv(100)
        assert server.open_connections == MAX_CONNECTIONS
        idle.pop().close()  # a slot frees: the waiting client is served
        waiting.settimeout(5)
        assert waiting.recv(100).startswith(b"Stanford_Research_Systems,SR865A")
        waiting.close()
    finally:
        for s in idle:
            s.close()


def test_an_endless_unterminated_line_is_cut_off_with_bounded_memory(rig):
    port = port_of(rig.resources["coarse"])
    chunk = b"A" * 65536
    total = 4 * MAX_DISCARD
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sent = 0
        closed = False
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            while sent < total:
                s.sendall(chunk)
                sent += len(chunk)
            # everything went into the socket buffers: the server must have closed its end
            received = b""
            while len(received) < 65536:
                data = s.recv(65536)
                if not data:
                    closed = True
                    break
                received += data
        except (ConnectionResetError, BrokenPipeError):
            closed = True  # cut off while the client was still sending
        finally:
            s.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert closed
    assert peak - base < 1 << 20  # the 4 MiB stream never accumulates anywhere
    # the instrument itself is fine: a new connection logs in and answers
    c = LineClient(rig.resources["coarse"], "\r\n")
    try:
        data = b""
        while not data.endswith(b"Authorization code: "):
            data += c.read_raw()
        c.send("secret")
        assert c.readline() == "******" and c.readline() == "Authorization success"
        c.send("ver")
        assert c.readline() == "ver" and c.readline().startswith("attocube ANC300")
    finally:
        c.close()


def test_an_overlong_line_then_a_request_on_the_same_connection(rig):
    """Below the cut-off an overlong request costs one short error, nothing more."""
    c = LineClient(rig.resources["lockin"])
    try:
        c.sock.sendall(b"X" * (MAX_DISCARD // 2))
        c.send("")  # its terminator
        assert c.query("*IDN?").startswith(IDN.decode())
    finally:
        c.close()


GARBAGE = [
    b"A" * 4000,
    b"A;" * 2000,
    b"?" * 4000,
    b"{" * 4000,
    b'"' * 4000,
    b"*IDN? " + b"1," * 1990,
    b'{"jsonrpc": "2.0", "method": "x", "params": [], "id": "' + b"i" * 3900 + b'"}',
    bytes(range(14, 256)) * 16,
]


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_garbage_gets_at_most_a_short_error_reply(rig, name):
    """Every line back is short; the instruments that answer errors (ANC300, IDS3010) do.

    After each garbage line the client asks for the identity: the lines before its answer
    are what the garbage got.
    """
    query, _, expected = IDENTITY[name]
    replies = []
    c = connect_ready(rig, name)
    try:
        for junk in GARBAGE:
            c.send(junk)
            c.send(query)
            for _ in range(20):
                line = c.readline()
                if expected in line:
                    break
                replies.append(line.encode())
            else:
                raise AssertionError(f"{name}: no identity after {junk[:20]!r}")
    finally:
        c.close()
    assert all(len(line) <= MAX_ERROR_REPLY for line in replies), max(map(len, replies))
    if name == "coarse":  # echo, error, ERROR; then the echo of the identity query
        assert replies.count(b"ERROR") == len(GARBAGE)
    if name == "interferometer":
        assert len(replies) == len(GARBAGE) and all(b'"error"' in r for r in replies)


def test_stopping_a_rig_wakes_its_accept_loops_at_once():
    """stop() wakes each instrument's accept loop through its socket pair instead of
    waiting for a poll interval (0.1 s): a scan's rig of 8 instruments used to take
    0.4 s to stop. Ten rigs (80 servers) stop in well under the 4 s of polling they
    would need; each is closed for good (its port refuses connections)."""
    rigs = [make_rig(RIG_TOML, clock=SimClock(manual=True)) for _ in range(10)]
    ports = [server.port for r in rigs for server in r.servers.values()]
    assert len(ports) >= 70
    t0 = time.perf_counter()
    for r in rigs:
        r.stop()
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.5, f"{len(ports)} servers took {elapsed:.2f} s to stop"
    for port in ports[:8]:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2.0).close()
