"""A small TCP proxy for fault drills: put it between the app and PostgreSQL or Redis, then cut it.

    proxy = TcpProxy(5432).start()        # listens on 127.0.0.1:proxy.port, forwards to :5432
    proxy.refuse()      # the server is down: the port refuses, open connections are reset
    proxy.blackhole()   # the server hangs: connections are accepted, nothing is ever answered,
                        # and the bytes of open connections are held (the peer hears silence,
                        # but the proxy's kernel still acknowledges them: a frozen server)
    proxy.forward()     # back to normal (held connections are cut; new ones go through)
    proxy.stop()

A network partition drops packets: nothing is acknowledged, which only the kernel can do. In a
network namespace of its own (`PrivateNetwork`, Linux with CAP_SYS_ADMIN, as root in a
container) that is done for real, without touching the machine's network:

    def scenario(network):
        proxy = TcpProxy(5432, unix_socket="/var/run/postgresql/.s.PGSQL.5432").start()
        ...                          # connect through 127.0.0.1:proxy.port, inside the namespace
        network.partition(proxy)     # open connections' packets dropped, new ones never answered
        network.heal(proxy)          # packets flow again; the partitioned connections are cut
    result = PrivateNetwork.run(scenario)

The namespace has only its loopback, so the proxy reaches the server by its Unix socket, which
is a file and is the same in every namespace.

One thread accepts; each connection gets two pump threads. That is plenty for the few
connections of a gunicorn's workers, and it keeps the modes easy to reason about. Used by
`bench/fault_drills.py` and `tests/faults/`; never in the product.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

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
    """127.0.0.1:port → target_host:target_port (or a Unix socket), with modes to simulate a
    dead or hung server."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1", port: int = 0, *,
                 unix_socket: str | None = None):
        self.target = (target_host, target_port)
        self.unix_socket = unix_socket
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

    def client_ports(self) -> list[int]:
        """The local ports of the clients of the open connections."""
        with self._lock:
            pairs = [pair for pair in self._pairs if not pair.closed.is_set()]
        ports = []
        for pair in pairs:
            try:
                ports.append(pair.client.getpeername()[1])
            except OSError:
                pass
        return ports

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
                upstream = self._connect_upstream()
            except OSError:
                _reset(client)
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.add(pair)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair, source, target),
                                 daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        if self.unix_socket is None:
            upstream = socket.create_connection(self.target, timeout=5)
        else:
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.settimeout(5)
            try:
                upstream.connect(self.unix_socket)
            except OSError:
                upstream.close()
                raise
        upstream.settimeout(None)
        return upstream

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


# --- a real network partition, in a network namespace of one thread's own ----------------------
CLONE_NEWNET = 0x40000000
_LOCAL_RULE_PREF = 1000  # the loopback's "lookup local" rule, moved after the partition rules
_DROP_RULE_PREF = 100


class PrivateNetwork:
    """A Linux network namespace entered by one thread (and the threads and processes it
    starts), with nothing in it but a loopback; the machine's network is never touched.

    `partition(proxy)` drops every packet of the proxy's open connections (a blackhole rule on
    each client's port, both ways) and leaves new connections accepted but unanswered, so the
    app's kernel sees what it sees in a partition: no answer and no acknowledgement.
    """

    def __init__(self) -> None:
        self.namespace = ""
        self._dropped: dict[int, list[int]] = {}  # proxy port -> client ports dropped

    # --- entering -------------------------------------------------------------------------
    @staticmethod
    def unavailable() -> str | None:
        """Why a private network cannot be made here, or None when it can."""
        if not sys.platform.startswith("linux"):
            return "network namespaces need Linux"
        if shutil.which("ip") is None:
            return "the `ip` command (iproute2) is missing"
        try:
            PrivateNetwork.run(lambda network: None)
        except OSError as error:
            return f"no network namespace: {error}"
        return None

    @classmethod
    def run(cls, scenario: Callable[["PrivateNetwork"], T], timeout: float = 300) -> T:
        """`scenario(network)` in a new thread inside a new namespace; its result or its error."""
        network, outcome = cls(), {}

        def inside() -> None:
            try:
                network._enter()
                outcome["result"] = scenario(network)
            except BaseException as error:  # noqa: BLE001  (handed to the caller)
                outcome["error"] = error

        thread = threading.Thread(target=inside, name="private-network", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the scenario in the private network ran over {timeout} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _enter(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"unshare(CLONE_NEWNET): {os.strerror(errno)}")
        self.namespace = os.readlink("/proc/thread-self/ns/net")
        self._ip("link", "set", "lo", "up")
        # Rules are read in order and "lookup local" (preference 0) would answer loopback
        # packets first: move it after the place of the partition's rules.
        self._ip("rule", "add", "pref", str(_LOCAL_RULE_PREF), "lookup", "local")
        self._ip("rule", "del", "pref", "0")

    def _ip(self, *args: str) -> None:
        if not self.namespace or os.readlink("/proc/thread-self/ns/net") != self.namespace:
            raise RuntimeError("not inside the private network: refusing to change a network")
        subprocess.run(["ip", *args], check=True, capture_output=True)

    # --- the partition ----------------------------------------------------------------------
    def partition(self, proxy: TcpProxy) -> list[int]:
        """Cut the proxy's clients off: packets of open connections dropped, new connections
        accepted and never answered. The client ports partitioned."""
        proxy.blackhole()
        ports = proxy.client_ports()
        for port in ports:
            for direction in ("sport", "dport"):
                self._ip("rule", "add", "pref", str(_DROP_RULE_PREF), "ipproto", "tcp",
                         direction, str(port), "blackhole")
        self._dropped.setdefault(proxy.port, []).extend(ports)
        return ports

    def heal(self, proxy: TcpProxy) -> None:
        """Packets flow again; the partitioned connections are cut (their clients gave up)."""
        for port in self._dropped.pop(proxy.port, []):
            for direction in ("sport", "dport"):
                self._ip("rule", "del", "pref", str(_DROP_RULE_PREF), "ipproto", "tcp",
                         direction, str(port), "blackhole")
        proxy.forward()
