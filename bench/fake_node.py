#!/usr/bin/env python3
"""A stand-in for the local Erlang node of a distls pod, for the benchmarks that need
thousands of tunnels (bench/idle_tunnels.py, bench/handshakes.py).

It registers with distls exactly as a node does (EPMD ALIVE2_REQ on distls's EPMD port,
the connection held open for its lifetime), listens on 127.0.0.1 and accepts the
connections distls makes for admitted tunnels. A real node would answer the peer's
send_name within its handshake and then expect the peer's challenge; these peers are
not nodes, so a real node would close every tunnel after net_setuptime. This one:

  --mode hold   reads and discards whatever arrives and keeps every connection open
                until distls closes it: the tunnels stay up and idle
  --mode reply  reads the send_name frame distls forwards, answers with the status
                frame a node would send ("sok"), half-closes and waits for distls to
                close: one admitted tunnel, visible to the client as 5 bytes

Prints `LISTEN <port>`, `REGISTERED <creation>` and, in hold mode, `HOLDING <n>` after
every change of the number of held connections (at most every 0.2 s). Stdlib only.
"""

from __future__ import annotations

import argparse
import resource
import selectors
import socket
import struct
import sys
import time

STATUS_OK = b"\x00\x03sok"  # dist handshake status frame: Len:16 = 3, 's', "ok"


def alive2_req(alive: str, port: int) -> bytes:
    name = alive.encode()
    # 'x', port, node type 77 (normal), protocol 0 (tcp/ipv4), highest/lowest dist version
    # 6/5, name, no extra: what OTP 25's erl_epmd sends.
    body = (struct.pack(">BHBBHHH", 120, port, 77, 0, 6, 5, len(name)) + name
            + struct.pack(">H", 0))
    return struct.pack(">H", len(body)) + body


def register(epmd_port: int, alive: str, port: int) -> tuple[socket.socket, int]:
    s = socket.create_connection(("127.0.0.1", epmd_port), timeout=10)
    s.sendall(alive2_req(alive, port))
    head = b""
    while len(head) < 2:
        chunk = s.recv(2 - len(head))
        if not chunk:
            raise SystemExit(f"distls closed the registration of {alive!r}")
        head += chunk
    tag, result = head[0], head[1]
    need = {118: 4, 121: 2}.get(tag)  # ALIVE2_X_RESP: creation:32; ALIVE2_RESP: creation:16
    if need is None or result != 0:
        raise SystemExit(f"registration of {alive!r} refused: tag {tag} result {result}")
    rest = b""
    while len(rest) < need:
        chunk = s.recv(need - len(rest))
        if not chunk:
            raise SystemExit("distls closed the registration early")
        rest += chunk
    s.settimeout(None)
    return s, int.from_bytes(rest, "big")


class Conn:
    __slots__ = ("sock", "buf", "answered")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.answered = False


def serve(listener: socket.socket, registration: socket.socket, mode: str) -> None:
    sel = selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)
    sel.register(registration, selectors.EVENT_READ, "registration")
    held = 0
    reported, last_report = -1, 0.0
    while True:
        for key, _ in sel.select(timeout=0.2):
            if key.data is None:
                while True:
                    try:
                        s, _ = listener.accept()
                    except BlockingIOError:
                        break
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ, Conn(s))
                    held += 1
            elif key.data == "registration":
                # distls went away: a node's registration ends with it.
                if not registration.recv(4096):
                    return
            else:
                c: Conn = key.data
                try:
                    data = c.sock.recv(65536)
                except ConnectionError:
                    data = b""
                if not data:
                    sel.unregister(c.sock)
                    c.sock.close()
                    held -= 1
                    continue
                if mode == "reply" and not c.answered:
                    c.buf += data
                    if len(c.buf) >= 2 and len(c.buf) >= 2 + int.from_bytes(c.buf[:2], "big"):
                        c.answered = True
                        c.buf = b""
                        try:
                            c.sock.sendall(STATUS_OK)
                            c.sock.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
        now = time.monotonic()
        if mode == "hold" and held != reported and now - last_report >= 0.2:
            print(f"HOLDING {held}", flush=True)
            reported, last_report = held, now


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epmd-port", type=int, required=True, help="distls's --epmd port on 127.0.0.1")
    ap.add_argument("--alive", required=True, help="the alive part to register (distls --node's)")
    ap.add_argument("--mode", choices=("hold", "reply"), required=True)
    args = ap.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    port = listener.getsockname()[1]
    print(f"LISTEN {port}", flush=True)
    registration, creation = register(args.epmd_port, args.alive, port)
    print(f"REGISTERED {creation}", flush=True)
    try:
        serve(listener, registration, args.mode)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
