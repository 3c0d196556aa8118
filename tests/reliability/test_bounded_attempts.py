"""Whatever a server does, one attempt ends in bounded time and memory with an acexport error.

A scripted server on 127.0.0.1 answers every connection with what a test tells it to (raw
bytes, sent slowly if asked), so the clients meet a trickle, a huge or endless body, a gzip
bomb and a body that is not the gzip it claims. Each test is bounded: the server stops after
its script, and pytest's timeout ends a hang.
"""

from __future__ import annotations

import gc
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator

import anyio
import pytest

from acexport import (
    ActiveCampaign,
    APIConnectionError,
    APITimeoutError,
    AsyncActiveCampaign,
    ResponseValidationError,
)
from acexport._http import MAX_RESPONSE_BYTES
from helpers import KEY

pytestmark = pytest.mark.integration

Script = Callable[[socket.socket], None]
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


class ScriptedServer:
    """Accepts connections on 127.0.0.1 and plays ``script`` on each (at most 20)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and self.connections < 20:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._play, args=(conn,), daemon=True).start()

    def _play(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                conn.recv(65536)  # the request (small; its content does not matter here)
                self.script(conn)
            except OSError:
                pass  # the client gave up: what these tests want

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Script) -> ScriptedServer:
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def trickle(data: bytes, every: float = 0.05, limit: float = 8.0) -> Script:
    """Send ``data`` one byte at a time (for at most ``limit`` seconds)."""

    def script(conn: socket.socket) -> None:
        ends = time.monotonic() + limit
        for byte in data:
            if time.monotonic() > ends:
                return
            conn.sendall(bytes([byte]))
            time.sleep(every)

    return script


def send(head: bytes, body_chunks: Callable[[], Iterator[bytes]]) -> Script:
    def script(conn: socket.socket) -> None:
        conn.sendall(head)
        for chunk in body_chunks():
            conn.sendall(chunk)

    return script


def call_sync(url: str, **options: float) -> None:
    options.setdefault("max_retries", 0)
    with ActiveCampaign(url, KEY, **options) as client:  # type: ignore[arg-type]
        client.users.me()


def call_async(url: str, **options: float) -> None:
    options.setdefault("max_retries", 0)

    async def main() -> None:
        async with AsyncActiveCampaign(url, KEY, **options) as client:  # type: ignore[arg-type]
            await client.users.me()

    anyio.run(main)


CALLS = [pytest.param(call_sync, id="sync"), pytest.param(call_async, id="async")]
BODY = b'{"user":{"id":"1","username":"u","email":"u@example.com"}}'


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY, id="body"),
        pytest.param(HEAD + b"Content-Length: 10\r\n\r\n", id="headers"),
    ],
)
def test_a_trickling_answer_ends_at_the_timeout(
    serve: Callable[[Script], ScriptedServer], call: Callable[..., None], data: bytes
) -> None:
    """One byte every 50 ms never trips a per-read timeout; the attempt's deadline does."""
    server = serve(trickle(data))
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        call(server.url, timeout=0.5)
    # Bounded by the deadline, not by the answer's length (which would take 3 s or more).
    assert time.monotonic() - started < 2.5


def _huge() -> Iterator[bytes]:
    chunk = b" " * 65536
    for _ in range(MAX_RESPONSE_BYTES // len(chunk) + 64):
        yield chunk


def _endless_chunked() -> Iterator[bytes]:
    chunk = b" " * 65536
    for _ in range(MAX_RESPONSE_BYTES // len(chunk) + 64):  # "endless" to the client
        yield b"%x\r\n" % len(chunk) + chunk + b"\r\n"


def _gzip_bomb() -> Iterator[bytes]:
    # 64 MiB of spaces, gzipped: about 64 KB on the wire.
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    yield b"".join(packer.compress(block) for _ in range(64)) + packer.flush()


BIG = [
    pytest.param(
        HEAD + b"Content-Length: %d\r\n\r\n" % (MAX_RESPONSE_BYTES + (1 << 22)), _huge, id="huge"
    ),
    pytest.param(HEAD + b"Transfer-Encoding: chunked\r\n\r\n", _endless_chunked, id="chunked"),
    pytest.param(
        HEAD + b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n", _gzip_bomb, id="gzip"
    ),
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(("head", "body"), BIG)
def test_a_body_over_the_cap_is_not_read_and_not_retried(
    serve: Callable[[Script], ScriptedServer],
    call: Callable[..., None],
    head: bytes,
    body: Callable[[], Iterator[bytes]],
) -> None:
    server = serve(send(head, body))
    with pytest.raises(ResponseValidationError, match="over 8,388,608 bytes") as caught:
        call(server.url, timeout=20, max_retries=3)
    assert server.connections == 1  # GET users/me is idempotent, yet not asked again
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("call", CALLS)
def test_a_body_that_is_not_the_gzip_it_claims_is_an_acexport_error(
    serve: Callable[[Script], ScriptedServer], call: Callable[..., None]
) -> None:
    junk = b"this is not gzip at all"
    head = HEAD + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(junk)
    server = serve(send(head, lambda: iter([junk])))
    with pytest.raises(ResponseValidationError, match="could not be decoded"):
        call(server.url, timeout=5)


@pytest.mark.parametrize("call", CALLS)
def test_a_gzipped_answer_within_the_cap_is_read(
    serve: Callable[[Script], ScriptedServer], call: Callable[..., None]
) -> None:
    packed = gzip.compress(BODY)
    head = HEAD + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
    server = serve(send(head, lambda: iter([packed])))
    call(server.url, timeout=5)  # parses the user: no error
    assert server.connections == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_an_async_client_used_from_a_second_event_loop_gives_an_acexport_error(
    serve: Callable[[Script], ScriptedServer],
) -> None:
    ok = HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY

    def keep_alive(conn: socket.socket) -> None:
        conn.sendall(ok)
        for _ in range(3):  # answer the requests that come on this connection
            if not conn.recv(65536):
                return
            conn.sendall(ok)

    server = serve(keep_alive)
    client = AsyncActiveCampaign(server.url, KEY, max_retries=0, timeout=5)

    async def me(c: AsyncActiveCampaign) -> None:
        await c.users.me()

    anyio.run(me, client)
    with pytest.raises(APIConnectionError) as caught:
        anyio.run(me, client)  # a new event loop: the pooled connection belongs to the old one
    assert "event loop" in str(caught.value)
    assert KEY not in str(caught.value)
    del client, caught
    gc.collect()  # the first loop's transport is reclaimed here, not in another test
