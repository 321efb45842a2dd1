"""distls_epmd against a scripted EPMD server inside the test.

The real distls answers correctly and promptly; this server does on demand what
distls will not: replies split byte by byte, refusals, garbage, silence, a
connection left open. One erl node (no distribution needed) calls the module's
lookups directly, with ERL_EPMD_PORT pointing at the scripted server.
"""

import socket
import struct
import threading
import time
import unittest
from typing import Callable

from harness import ClusterTestCase, ErlNode, Cluster, free_port

Handler = Callable[[socket.socket, bytes], None]


def port2_resp(port: int, name: bytes = b"app", high: int = 6, low: int = 5) -> bytes:
    return (b"w\x00" + struct.pack(">HBBHHH", port, 77, 0, high, low, len(name)) + name
            + b"\x00\x00")


class ScriptedEpmd:
    """Accepts EPMD requests and hands each to `handler(conn, body)`; records bodies."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.handler: Handler = lambda conn, body: None
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            header = self._recv_exactly(conn, 2)
            body = self._recv_exactly(conn, struct.unpack(">H", header)[0])
            self.requests.append(body)
            self.handler(conn, body)
        except OSError:
            pass

    @staticmethod
    def _recv_exactly(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()
        for conn in self._open:
            conn.close()


def reply(data: bytes, close: bool = True) -> Handler:
    def handler(conn: socket.socket, body: bytes) -> None:
        conn.sendall(data)
        if close:
            conn.close()
        else:  # keep it open until the client goes away
            while conn.recv(100):
                pass
    return handler


def reply_bytewise(data: bytes) -> Handler:
    def handler(conn: socket.socket, body: bytes) -> None:
        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            time.sleep(0.01)
        conn.close()
    return handler


def silence(conn: socket.socket, body: bytes) -> None:
    while conn.recv(100):
        pass


class DistlsEpmdTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls) -> None:
        cls.cluster = Cluster(cls.__name__, need_distls=False)
        cls.addClassCleanup(cls.cluster.close)
        cls.epmd = ScriptedEpmd()
        cls.addClassCleanup(cls.epmd.close)
        cls.node = ErlNode(cls.cluster, None,
                           ["-pa", str(cls.cluster.build.ebin)],
                           {"ERL_EPMD_PORT": str(cls.epmd.port)}, label="probe")
        cls.node.wait_ready()

    def setUp(self) -> None:
        self.epmd.requests.clear()

    def lookup(self, expr: str):
        return self.node.eval(expr)

    def test_address_please_sends_the_full_name_and_answers_loopback(self) -> None:
        self.epmd.handler = reply(port2_resp(40001))
        self.assertEqual(self.lookup('distls_epmd:address_please("app", "127.0.0.3", inet).'),
                         ("ok", (127, 0, 0, 1), 40001, 6))
        self.assertEqual(self.epmd.requests, [b"zapp@127.0.0.3"])

    def test_a_reply_in_pieces_is_reassembled(self) -> None:
        self.epmd.handler = reply_bytewise(port2_resp(40002, b"app"))
        self.assertEqual(self.lookup('distls_epmd:address_please("app", "db.example", inet).'),
                         ("ok", (127, 0, 0, 1), 40002, 6))
        self.assertEqual(self.epmd.requests, [b"zapp@db.example"])

    def test_a_reply_on_a_connection_left_open_is_used_at_once(self) -> None:
        self.epmd.handler = reply(port2_resp(40003), close=False)
        self.assertEqual(self.lookup('distls_epmd:address_please("app", "127.0.0.4", inet).'),
                         ("ok", (127, 0, 0, 1), 40003, 6))

    def test_port_please_takes_a_host_as_address_atom_or_string(self) -> None:
        self.epmd.handler = reply(port2_resp(40004))
        for expr, sent in [('distls_epmd:port_please("app", {127,0,0,3}).', b"zapp@127.0.0.3"),
                           ("distls_epmd:port_please(app, 'h.example').", b"zapp@h.example"),
                           ('distls_epmd:port_please("app", "10.1.2.3", 5000).', b"zapp@10.1.2.3")]:
            with self.subTest(expr=expr):
                self.epmd.requests.clear()
                self.assertEqual(self.lookup(expr), ("port", 40004, 6))
                self.assertEqual(self.epmd.requests, [sent])

    def test_an_unknown_node_is_an_error(self) -> None:
        self.epmd.handler = reply(b"w\x01")
        self.assertEqual(self.lookup('distls_epmd:address_please("nope", "127.0.0.3", inet).'),
                         ("error", "noport"))
        self.assertEqual(self.lookup('distls_epmd:port_please("nope", "127.0.0.3").'), "noport")

    def test_a_connection_closed_without_reply_is_an_error(self) -> None:
        self.epmd.handler = lambda conn, body: conn.close()
        self.assertEqual(self.lookup('distls_epmd:address_please("app", "127.0.0.3", inet).'),
                         ("error", "closed"))
        self.assertEqual(self.lookup('distls_epmd:port_please("app", "127.0.0.3").'), "closed")

    def test_a_truncated_reply_is_an_error(self) -> None:
        self.epmd.handler = reply(port2_resp(40005)[:7])
        result = self.lookup('distls_epmd:address_please("app", "127.0.0.3", inet).')
        self.assertEqual(result[0], "error")
        self.assertEqual(result[1][0], "truncated_reply")

    def test_garbage_is_an_error(self) -> None:
        self.epmd.handler = reply(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        result = self.lookup('distls_epmd:address_please("app", "127.0.0.3", inet).')
        self.assertEqual(result[0], "error")
        self.assertEqual(result[1][0], "garbage_from_epmd")

    def test_silence_times_out(self) -> None:
        self.epmd.handler = silence
        self.assertEqual(self.lookup('distls_epmd:address_please("app", "127.0.0.3", inet).'),
                         ("error", "timeout"))
        # port_please's own, shorter timeout is honoured.
        self.assertEqual(self.lookup('distls_epmd:port_please("app", "127.0.0.3", 200).'),
                         ("error", "timeout"))

    def test_no_distls_listening_is_an_error(self) -> None:
        # The port is read from -epmd_port (ERL_EPMD_PORT), so this needs its own node.
        port = free_port()
        lonely = ErlNode(self.cluster, None, ["-pa", str(self.cluster.build.ebin)],
                         {"ERL_EPMD_PORT": str(port)}, label="lonely")
        self.addCleanup(lonely.stop)
        lonely.wait_ready()
        self.assertEqual(lonely.eval('distls_epmd:address_please("app", "127.0.0.3", inet).'),
                         ("error", "econnrefused"))

    def test_names_asks_the_local_listener(self) -> None:
        def names(conn: socket.socket, body: bytes) -> None:
            conn.sendall(struct.pack(">I", self.epmd.port) + b"name app at port 45678\n")
            conn.close()
        self.epmd.handler = names
        self.assertEqual(self.lookup("distls_epmd:names()."), ("ok", [("app", 45678)]))
        self.assertEqual(self.epmd.requests, [b"n"])

    def test_inet6_asks_and_answers_ipv6_loopback(self) -> None:
        try:
            epmd6 = ScriptedEpmd("::1", self.epmd.port)
        except OSError as e:
            self.skipTest(f"no IPv6 loopback here: {e}")
        self.addCleanup(epmd6.close)
        epmd6.handler = reply(port2_resp(40006))
        self.assertEqual(self.lookup('distls_epmd:address_please("app", "fd00::5", inet6).'),
                         ("ok", (0, 0, 0, 0, 0, 0, 0, 1), 40006, 6))
        self.assertEqual(epmd6.requests, [b"zapp@fd00::5"])
        self.assertEqual(self.epmd.requests, [])


if __name__ == "__main__":
    unittest.main()
