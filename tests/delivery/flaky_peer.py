"""A real HTTP server on 127.0.0.1 standing in front of a node's inbox, misbehaving on purpose."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class FlakyPeer:
    target: str  # the real inbox URL
    # Each request takes the next behaviour from this script; when empty, requests pass through.
    script: list[str] = field(default_factory=list)
    down: bool = False
    seen: list[str] = field(default_factory=list)
    hang_seconds: float = 3.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_behaviour(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else "pass"

    def forward(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.target, content=body, headers=headers, timeout=30)


def _handler(peer: FlakyPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if peer.down:
                # As good as a dead host: no answer at all.
                self.close_connection = True
                return
            headers = {k: v for k, v in self.headers.items() if k.lower().startswith(("probatio-", "content-type"))}
            behaviour = peer.next_behaviour()
            peer.seen.append(behaviour)
            if behaviour == "500":
                self._answer(500, b'{"error":"internal"}')
                return
            if behaviour == "refuse":
                # A refusal that sending again unchanged cannot fix (say, the peer's directory was wrong).
                self._answer(422, b'{"error":"invalid","detail":"to_state: not ours"}')
                return
            answer = peer.forward(body, headers)
            if behaviour == "twice":
                answer = peer.forward(body, headers)
            if behaviour == "store_then_hang":
                # The peer stored it, but the answer never arrives in time.
                time.sleep(peer.hang_seconds)
                self.close_connection = True
                return
            self._answer(answer.status_code, answer.content)

        def _answer(self, status: int, content: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler


@contextmanager
def flaky_peer(peer: FlakyPeer) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/inbox"
    finally:
        server.shutdown()
        server.server_close()
