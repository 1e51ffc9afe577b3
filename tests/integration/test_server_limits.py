"""``borderwatch serve`` against hostile clients, over real sockets: bodies refused unread, slow headers and
bodies cut off, and the server answering its health check while 100 slow connections and oversized bodies
arrive, without its memory growing by the bodies' size (the light version of ``bench/api_load.py``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, migrate
from tests.integration.api_support import build_world

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
UPLOAD_CAP = 8 << 20


@dataclass
class Server:
    host: str
    port: int
    pid: int
    token: str

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def rss_peak(self) -> int:
        """The server process's peak resident memory so far, bytes (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{folder / 'serve.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    world = build_world(Settings(database_url=url, data_dir=folder / "data"), agencies=("a",))
    port = _free_port()
    env = {
        **os.environ,
        "BORDERWATCH_DATABASE_URL": url,
        "BORDERWATCH_DATA_DIR": str(folder / "data"),
        "BORDERWATCH_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "BORDERWATCH_HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "BORDERWATCH_HTTP_MAX_UPLOAD_BYTES": str(UPLOAD_CAP),
    }
    command = [str(Path(sys.executable).parent / "borderwatch"), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=folder, stderr=subprocess.DEVNULL)
    running = Server("127.0.0.1", port, process.pid, world.tokens["analyst_a"])
    try:
        deadline = time.monotonic() + 60
        while _status(running, "GET /api/health") != 200:
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def _status(server: Server, request_line: str) -> int | None:
    try:
        with server.connect(timeout=2) as sock:
            sock.sendall(f"{request_line} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(4096)
    except OSError:
        return None
    return int(head.split()[1]) if head.startswith(b"HTTP/1.1") else None


def _read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _head(path: str, *, length: int, token: str | None = None, kind: str = "application/json") -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: t", f"Content-Type: {kind}", f"Content-Length: {length}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_stranger_s_body_is_refused_before_it_is_read(server: Server) -> None:
    """Only the headers are sent: the answer comes at once (nothing waits for the body), and the connection
    closes. A stranger's upload within the cap: 401; a gigabyte: 413 from its length alone."""
    for length, status in ((UPLOAD_CAP // 2, b"401"), (1 << 30, b"413")):
        with server.connect(timeout=5) as sock:
            sock.sendall(_head("/api/uploads", length=length, kind="multipart/form-data; boundary=x"))
            answer = _read_response(sock)
        assert answer.startswith(b"HTTP/1.1 " + status), answer[:300]
        assert b"connection: close" in answer.lower()
    with server.connect(timeout=5) as sock:  # over the JSON endpoints' cap, signed in or not
        sock.sendall(_head("/api/declarations", length=1 << 30, token=server.token))
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 413") and b"too_large" in answer, answer[:300]


def test_headers_sent_too_slowly_are_cut_off(server: Server) -> None:
    started = time.monotonic()
    with server.connect(timeout=10) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\n")
        answer = b""
        for byte in b"X-Slow: " + b"a" * 40:  # one byte every 0.1 s: 4 s in all if nobody stops it
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                answer = sock.recv(4096)
            except BlockingIOError:
                continue
            finally:
                sock.setblocking(True)
            break
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert HEADER_TIMEOUT * 0.9 <= elapsed < HEADER_TIMEOUT + 1.5, elapsed


def test_a_body_that_stops_arriving_is_cut_off(server: Server) -> None:
    started = time.monotonic()
    with server.connect(timeout=10) as sock:
        sock.sendall(_head("/api/declarations", length=1000, token=server.token) + b'{"lrn": ')
        answer = _read_response(sock)
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert elapsed < BODY_TIMEOUT + 1.5, elapsed


def _stream(sock: socket.socket, head: bytes, chunks: Iterator[bytes]) -> bytes:
    """Send ``head`` then ``chunks`` while listening: the answer of a server that stops reading midway."""
    answer: list[bytes] = []

    def listen() -> None:
        try:
            while data := sock.recv(65536):
                answer.append(data)
        except OSError:
            pass

    listener = threading.Thread(target=listen)
    listener.start()
    try:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
    except OSError:  # the server answered and closed the connection
        pass
    listener.join(timeout=10)
    return b"".join(answer)


def test_oversized_uploads_stop_at_the_cap(server: Server) -> None:
    """A 40 MiB chunked upload (no length announced) against an 8 MiB cap: 413 once the cap is passed."""
    head = (
        "POST /api/uploads HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        f"Authorization: Bearer {server.token}\r\nContent-Type: multipart/form-data; boundary=B\r\n\r\n"
    ).encode()
    part = b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n\r\n'
    block = b"x" * (1 << 20)

    def chunks() -> Iterator[bytes]:
        yield b"%x\r\n%s\r\n" % (len(part), part)
        for _ in range(40):
            yield b"%x\r\n%s\r\n" % (len(block), block)

    before = server.rss_peak()
    with server.connect(timeout=10) as sock:
        answer = _stream(sock, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"too_large" in answer
    assert server.rss_peak() - before < UPLOAD_CAP


def _slow_client(server: Server, stop: threading.Event) -> None:
    """Keeps one connection that sends a header byte every 0.2 s; opens another when the server cuts it."""
    while not stop.is_set():
        try:
            with server.connect(timeout=5) as sock:
                sock.sendall(b"GET /api/health HTTP/1.1\r\n")
                while not stop.is_set():
                    sock.sendall(b"a")
                    time.sleep(0.2)
        except OSError:
            time.sleep(0.05)


def _oversized(server: Server, *, authenticated: bool, total: int) -> None:
    """Streams ``total`` bytes of a chunked body until the server refuses it."""
    lines = ["POST /api/declarations HTTP/1.1", "Host: t", "Content-Type: application/json"]
    lines.append("Transfer-Encoding: chunked")
    if authenticated:
        lines.append(f"Authorization: Bearer {server.token}")
    chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
    try:
        with server.connect(timeout=10) as sock:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            for _ in range(total >> 16):
                sock.sendall(chunk)
    except OSError:
        return


def test_health_stays_answered_under_slow_connections_and_oversized_bodies(server: Server) -> None:
    stop = threading.Event()
    slow = [threading.Thread(target=_slow_client, args=(server, stop), daemon=True) for _ in range(100)]
    before = server.rss_peak()
    for thread in slow:
        thread.start()
    body = 64 << 20
    oversized = [
        threading.Thread(target=_oversized, args=(server,), kwargs={"authenticated": a, "total": body})
        for a in (True, False, True, False)
    ]
    latencies: list[float] = []
    try:
        time.sleep(0.5)
        for thread in oversized:
            thread.start()
        for _ in range(30):
            started = time.perf_counter()
            status = _status(server, "GET /api/health")
            latencies.append(time.perf_counter() - started)
            assert status == 200
            time.sleep(0.05)
        for thread in oversized:
            thread.join(timeout=30)
    finally:
        stop.set()
    latencies.sort()
    assert latencies[-1] < 1.0, latencies[-5:]  # a loose bound: the bench measures p99 on a quiet machine
    grown = server.rss_peak() - before
    assert grown < body // 4, f"server memory grew by {grown >> 20} MiB"
