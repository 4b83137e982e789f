"""A small TCP proxy for fault drills: put it between the app and PostgreSQL or Redis, then cut it.

    proxy = TcpProxy(5432).start()        # listens on 127.0.0.1:proxy.port, forwards to :5432
    proxy.refuse()      # the server is down: the port refuses, open connections are reset
    proxy.blackhole()   # the server hangs: connections are accepted, nothing is ever answered,
                        # and the bytes of open connections are held (the peer hears silence)
    proxy.forward()     # back to normal (held connections are cut; new ones go through)
    proxy.stop()

One thread accepts; each connection gets two pump threads. That is plenty for the few
connections of a gunicorn's workers, and it keeps the modes easy to reason about. Used by
`bench/fault_drills.py` and `tests/faults/`; never in the product.
"""
from __future__ import annotations

import socket
import struct
import threading

FORWARD, REFUSE, BLACKHOLE = "forward", "refuse", "blackhole"


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed server's kernel does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket | None):
        self.client, self.upstream = client, upstream
        self.closed = threading.Event()

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            for sock in (self.client, self.upstream):
                if sock is not None:
                    _reset(sock)


class TcpProxy:
    """127.0.0.1:port → target_host:target_port, with modes to simulate a dead or hung server."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1", port: int = 0):
        self.target = (target_host, target_port)
        self.port = port
        self.mode = FORWARD
        self._lock = threading.Lock()
        self._pairs: set[_Pair] = set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.accepted = 0

    # --- control ------------------------------------------------------------------------
    def start(self) -> "TcpProxy":
        self._listen()
        return self

    def forward(self) -> None:
        """Normal service again: held connections are cut (their peer gave up on them)."""
        with self._lock:
            previous, self.mode = self.mode, FORWARD
        if previous == BLACKHOLE:
            self._cut_all()
        self._flowing.set()
        if self._listener is None:
            self._listen()

    def refuse(self) -> None:
        """The server is down: connections are refused and every open one is reset."""
        with self._lock:
            self.mode = REFUSE
        self._close_listener()
        self._cut_all()
        self._flowing.set()

    def blackhole(self) -> None:
        """The server hangs: new connections are accepted, never answered; open ones go silent."""
        with self._lock:
            self.mode = BLACKHOLE
        self._flowing.clear()
        if self._listener is None:
            self._listen()

    def cut(self) -> None:
        """Reset every open connection (the mode stays)."""
        self._cut_all()

    def stop(self) -> None:
        self._stopped.set()
        self._close_listener()
        self._cut_all()
        self._flowing.set()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for pair in self._pairs if not pair.closed.is_set())

    # --- machinery ----------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True,
                                        name=f"tcp-proxy-{self.port}")
        self._thread.start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
            self._thread = None

    def _cut_all(self) -> None:
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
        for pair in pairs:
            pair.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopped.is_set() and self._listener is listener:
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            client.settimeout(None)
            if self.mode == BLACKHOLE:
                pair = _Pair(client, None)  # accepted, never answered
                with self._lock:
                    self._pairs.add(pair)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.add(pair)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair, source, target),
                                 daemon=True).start()

    def _pump(self, pair: _Pair, source: socket.socket, target: socket.socket) -> None:
        while not pair.closed.is_set():
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            while not self._flowing.wait(0.1):  # blackhole: hold the bytes, say nothing
                if pair.closed.is_set():
                    return
            try:
                target.sendall(data)
            except OSError:
                break
        pair.close()
        with self._lock:
            self._pairs.discard(pair)
