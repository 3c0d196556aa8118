"""The fake on a real loopback socket: :class:`FakeServer` (from ``FakeActiveCampaign.serve()``)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ._replies import Reply

__all__ = ["FakeServer"]

_MAX_BODY = 16 * 1024 * 1024
_MAX_CHUNKS = 100_000
_JOIN_SECONDS = 5.0
_POLL_SECONDS = 0.02


class _Responder(Protocol):
    def _respond(
        self, method: str, path: str, query: str, token: str | None, body: bytes
    ) -> Reply: ...

    def _enter(self) -> None: ...

    def _exit(self) -> None: ...


class _BodyError(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30.0  # an idle keep-alive connection is closed after this long

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # headers and body go out at once, no Nagle delay
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server._track(self, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server._track(self, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr log."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            try:
                size = int(length)
            except ValueError as exc:
                raise _BodyError("bad Content-Length") from exc
            if size < 0 or size > _MAX_BODY:
                raise _BodyError("body too large")
            return self.rfile.read(size)
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return b""
        parts: list[bytes] = []
        total = 0
        for _ in range(_MAX_CHUNKS):
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BodyError("bad chunk size") from exc
            if size == 0:
                for _ in range(100):  # trailers, up to the blank line
                    if self.rfile.readline(65536) in (b"\r\n", b"\n", b""):
                        break
                return b"".join(parts)
            total += size
            if total > _MAX_BODY:
                raise _BodyError("body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)
        raise _BodyError("too many chunks")

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self._send(Reply(400, json.dumps({"message": str(exc)}).encode()))
            return
        fake = self.server.fake
        split = urlsplit(self.path)
        fake._enter()
        try:
            try:
                reply = fake._respond(
                    self.command,
                    unquote(split.path),
                    split.query,
                    self.headers.get("Api-Token"),
                    body,
                )
            except Exception as exc:  # a bug in the fake: answer 500 rather than hang up
                reply = Reply(500, json.dumps({"message": f"fake error: {exc!r}"}).encode())
            if reply.delay > 0:
                time.sleep(reply.delay)
        finally:
            fake._exit()
        if reply.reset is not None:
            self._reset()
        else:
            self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if reply.body:
            self.wfile.write(reply.body)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST and no response."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):  # a platform without SO_LINGER: plain close
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drops the makefile's reference so close() really closes
        sock.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: _Responder) -> None:
        self.fake = fake
        self._live_lock = threading.Lock()
        self._live: dict[_Handler, threading.Thread] = {}
        super().__init__(("127.0.0.1", 0), _Handler)

    def _track(self, handler: _Handler, *, add: bool) -> None:
        with self._live_lock:
            if add:
                self._live[handler] = threading.current_thread()
            else:
                self._live.pop(handler, None)

    def _live_handlers(self) -> list[tuple[_Handler, threading.Thread]]:
        with self._live_lock:
            return list(self._live.items())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-response are normal here: keep stderr quiet."""


class FakeServer:
    """The fake serving HTTP/1.1 on ``127.0.0.1`` (an ephemeral port) in background threads.

    Made by ``FakeActiveCampaign.serve()``, already listening. Use it as a context manager
    (or call :meth:`close`): closing stops accepting, ends open keep-alive connections and
    joins the threads with a bound (a few seconds at most).

    ``url`` is the base URL *without* ``/api/3``, e.g. ``"http://127.0.0.1:50123"``.
    """

    def __init__(self, fake: _Responder) -> None:
        """Bind and start serving (use ``FakeActiveCampaign.serve()`` rather than this)."""
        self._server = _Server(fake)
        host, port = self._server.server_address[:2]
        self.host: str = str(host)
        """The bound address, ``"127.0.0.1"``."""
        self.port: int = int(port)
        """The bound port."""
        self.url: str = f"http://{self.host}:{self.port}"
        """The base URL without ``/api/3``."""
        self._closed = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"acexport-fake-ac-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    def close(self) -> None:
        """Stop serving, drop open connections, join the threads (bounded). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._thread.join(_JOIN_SECONDS)
        self._server.server_close()
        live = self._server._live_handlers()
        for handler, _ in live:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _JOIN_SECONDS
        for _, thread in live:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FakeServer:
        """Return the (already running) server."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the server."""
        self.close()

    def __repr__(self) -> str:
        """``FakeServer(url=..., closed=...)``."""
        return f"FakeServer(url={self.url!r}, closed={self._closed!r})"
