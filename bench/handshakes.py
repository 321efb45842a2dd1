#!/usr/bin/env python3
"""Mutual TLS handshakes per server CPU-second: distls's TLS listener against
`openssl s_server`, driven by the same client, beside the crypto bound from `openssl speed`.

    python3 bench/handshakes.py [--runs 3] [--seconds 5] [--concurrency 32] [--plot DIR]

Both servers use the same certificate and key (ECDSA P-256 from `distls ca issue`), the
same CA, TLS 1.3 only, TLS_AES_128_GCM_SHA256, X25519, no session tickets, and require
and verify a client certificate. The client is bench/tls_load.c (compiled here with cc
against the system OpenSSL): CONCURRENCY connections in flight on one epoll loop, each a
full handshake with a client certificate (no resumption), one payload, a reply of known
length, then RST. What one "completed handshake" is, per server:

  distls     TLS handshake with client-certificate verification, then the first dist
             frame (send_name for a@127.0.0.14) read through TLS and checked against the
             client certificate (host part in the IP SANs, source address), a connection
             to the registered local node (fake_node.py --mode reply) and the node's
             5-byte status reply carried back through the tunnel: an admitted tunnel,
             end to end. Cross-checked with distls's own distls_tunnels_total.
  s_server   TLS handshake with client-certificate verification (-Verify 1
             -verify_return_error), then one line echoed reversed (-rev): the same
             single round of application data.

The figure is completed handshakes in the timed window / the server process's CPU time
over the same window (utime + stime from /proc/PID/stat, all threads). Making sure the
client is not the limit on 2 cores: the client does not verify the server's chain (two
ECDSA verifications fewer per connection than the server does; --client-verify turns it
on), and the report shows each side's CPU use: a server well below one core means it
waited for the client (s_server serves one connection at a time by design, so for it that
is expected; per CPU-second is unaffected by waiting).

The bound: per handshake the server signs once (CertificateVerify, ECDSA P-256), verifies
twice (the client's certificate against the CA, the client's CertificateVerify) and does
two X25519 operations (its key share and the shared secret); `openssl speed ecdsap256
ecdhx25519` times each, and 1 / (sign + 2 verify + 2 X25519) is the most handshakes one
CPU-second can hold with nothing else done. (OpenSSL's X25519 key generation uses a
fixed-base table and is cheaper than the derive speed measures, so the true bound is a
little higher.)
"""

from __future__ import annotations

import argparse
import re
import shlex
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

from benchlib import (BENCH_DIR, REPO_ROOT, BenchError, PerfRecord, Session, command_output, compile_c,
                      perf_report, perf_usable,
                      describe_failure, find_build, free_port, http_status, install_signal_handlers,
                      issue_cert, loadavg, machine_facts, make_ca, make_plots, metrics, need_tools,
                      proc_cpu_seconds, raise_nofile, read_stdout_line, settle, system_busy_ticks,
                      wait_for, write_json, CLK_TCK, scratch)

IP_CLIENT, IP_SERVER = "127.0.0.14", "127.0.0.15"
NODE_CLIENT, NODE_SERVER = f"a@{IP_CLIENT}", f"b@{IP_SERVER}"
SERVERS = ("distls", "s_server")
DIST_FLAGS = 0x000D_07DF_7FBD
STATUS_REPLY_LEN = 5  # "\0\3sok" from fake_node.py
S_SERVER_LINE = b"sok\n"  # -rev answers "kos\n"


def send_name_frame(name: str) -> bytes:
    n = name.encode()
    body = b"N" + struct.pack(">QIH", DIST_FLAGS, 1, len(n)) + n
    return struct.pack(">H", len(body)) + body


def openssl_speed(seconds: int) -> dict:
    """ECDSA P-256 sign/verify and X25519 operations per second on one core."""
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "ecdsap256", "ecdhx25519"],
                         capture_output=True, text=True, timeout=60 + 10 * seconds).stdout
    res = {}
    m = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out)
    if m:
        res["ecdsap256_sign_per_s"], res["ecdsap256_verify_per_s"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"253 bits ecdh \(X25519\)\s+\S+s\s+([\d.]+)", out)
    if m:
        res["x25519_per_s"] = float(m.group(1))
    if len(res) == 3:
        per = (1 / res["ecdsap256_sign_per_s"] + 2 / res["ecdsap256_verify_per_s"]
               + 2 / res["x25519_per_s"])
        res["bound_per_cpu_s"] = 1 / per
    res["raw"] = "\n".join(l for l in out.splitlines() if "ecdsa" in l or "ecdh" in l or "op/s" in l)
    return res


class DwarfPerfRecord(PerfRecord):
    """`perf record` with DWARF call graphs: Debian's libcrypto has no frame pointers, so
    `-g` stacks stop at its first frame and nothing says which OpenSSL call a sample is in."""

    def __init__(self, pid: int, out: Path, freq: int = 499) -> None:
        self.out = out
        self.log = open(out.with_suffix(".log"), "ab")
        self.popen = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", str(freq),
                                       "--call-graph", "dwarf,16384", "-p", str(pid), "-o", str(out)],
                                      stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                      start_new_session=True)


# Where a sample's CPU goes, by the innermost of these exported OpenSSL functions on its
# stack (Debian ships libcrypto without symbols for its internal functions, so these
# landmarks are what a stack can be judged by). "crypto" is the arithmetic a handshake
# needs (what `openssl speed` times); everything else under OpenSSL is its overhead.
PROFILE_LANDMARKS = (
    ("crypto", "ECDSA P-256 sign/verify", ("EC_POINT_mul", "EVP_DigestSignFinal", "EVP_DigestVerifyFinal",
                                            "EVP_DigestSign", "EVP_DigestVerify", "ECDSA_do_verify",
                                            "ECDSA_do_sign_ex", "BN_mod_inverse")),
    ("crypto", "X25519", ("EVP_PKEY_derive", "EVP_PKEY_generate", "EVP_PKEY_keygen")),
    ("crypto", "AES-GCM, SHA-256, HMAC (records, transcript, key schedule)",
     ("EVP_EncryptUpdate", "EVP_DecryptUpdate", "EVP_CipherUpdate", "EVP_EncryptFinal_ex",
      "EVP_DecryptFinal_ex", "CRYPTO_gcm128_encrypt_ctr32", "CRYPTO_gcm128_decrypt_ctr32",
      "SHA256_Update", "SHA256_Final", "EVP_DigestUpdate", "EVP_DigestFinal_ex", "HMAC_Update",
      "HMAC_Final")),
    ("openssl", "public-key decoders (OSSL_DECODER, the client certificate's key)",
     ("OSSL_DECODER_CTX_new_for_pkey", "OSSL_DECODER_from_data", "OSSL_DECODER_from_bio",
      "OSSL_DECODER_CTX_free")),
    ("openssl", "algorithm fetches (EVP_*_fetch, do_all_provided)",
     ("EVP_MD_fetch", "EVP_KDF_fetch", "EVP_CIPHER_fetch", "EVP_SIGNATURE_fetch", "EVP_KEYMGMT_fetch",
      "EVP_KEYEXCH_fetch", "EVP_MAC_fetch", "EVP_KEYMGMT_do_all_provided", "EVP_RAND_fetch")),
    ("openssl", "key import/export between EVP_PKEY and providers",
     ("EVP_PKEY_CTX_new_from_pkey", "EVP_PKEY_CTX_new_from_name", "EVP_PKEY_fromdata",
      "EVP_PKEY_set_type_by_keymgmt", "EVP_PKEY_get_params", "EVP_PKEY_copy_parameters",
      "EC_GROUP_new_by_curve_name_ex", "EVP_PKEY_CTX_free", "EVP_PKEY_free")),
    ("openssl", "chain verification, minus the signatures (X509_verify_cert)", ("X509_verify_cert",)),
    ("openssl", "certificate parsing (d2i_X509, extensions)",
     ("d2i_X509", "ASN1_item_d2i", "ASN1_item_d2i_ex", "X509_check_purpose", "X509_get_ext_d2i",
      "X509_free")),
    ("openssl", "SSL object setup and teardown", ("SSL_new", "SSL_free", "SSL_clear")),
    ("openssl", "error queue", ("ERR_set_mark", "ERR_pop_to_mark", "ERR_clear_error", "ERR_new",
                                "ERR_set_debug", "ERR_set_error", "ERR_clear_last_mark")),
)
_LANDMARK = {sym: (cat, label) for cat, label, syms in PROFILE_LANDMARKS for sym in syms}
OPENSSL_DSOS = ("libcrypto.so", "libssl.so")


def profile_breakdown(data: Path) -> dict:
    """Shares of the samples in `data` (a DwarfPerfRecord): crypto, OpenSSL overhead (by
    landmark), the server's own code (with libc/libstdc++ it calls), the kernel."""
    text = command_output(["perf", "script", "-i", str(data), "-F", "ip,sym,dso"], timeout=600)
    buckets: dict[tuple[str, str], int] = {}
    total = 0
    for block in text.split("\n\n"):
        frames = []
        for line in block.splitlines():
            m = re.match(r"^\s*[0-9a-f]+ (.*) \((.*)\)\s*$", line)
            if m:
                frames.append((m.group(1), m.group(2)))
        if not frames:
            continue
        total += 1
        sym, dso = frames[0]
        if "kernel" in dso or dso.startswith("[k"):
            key = ("kernel", "kernel (syscalls, TCP, scheduling, page faults)")
        elif any(any(d in fdso for d in OPENSSL_DSOS) for _, fdso in frames):
            key = ("openssl", "other OpenSSL (handshake state machine, ASN.1, BIGNUM, malloc inside it)")
            for fsym, fdso in frames:
                name = fsym.split("@")[0]
                if name in _LANDMARK:
                    key = _LANDMARK[name]
                    break
        else:
            key = ("server", "the server's own code (and the libc/libstdc++ it calls)")
        buckets[key] = buckets.get(key, 0) + 1
    rows = sorted(((100.0 * n / total, cat, label) for (cat, label), n in buckets.items()), reverse=True) \
        if total else []
    by_cat: dict[str, float] = {}
    for pct, cat, _ in rows:
        by_cat[cat] = by_cat.get(cat, 0.0) + pct
    return {"samples": total, "categories": by_cat, "rows": rows}


INPROC_CONFIGS = (  # (label, CHAIN, client GROUPS) for tls_inproc.c
    ("distls's settings (chain built once, no root; X25519)", "built", "X25519"),
    ("OpenSSL's defaults (chain built and verified per handshake, root sent; X25519)", "stock", "X25519"),
    ("distls's settings, a client offering P-256 only", "built", "P-256"),
)


def inproc_floor(tool: Path, certs: dict, handshakes: int, rounds: int) -> list[dict]:
    """OpenSSL's own server CPU per handshake, no sockets (tls_inproc.c), per config:
    the median and range of `rounds` runs of `handshakes` each, alternating."""
    got: dict[str, list[float]] = {label: [] for label, _, _ in INPROC_CONFIGS}
    for _ in range(rounds):
        for label, chain, groups in INPROC_CONFIGS:
            out = subprocess.run([str(tool), str(certs["server"]), str(certs["client"]), str(handshakes),
                                  chain, groups], capture_output=True, text=True, timeout=300)
            m = re.search(r"RESULT ok=(\d+) server_us=([\d.]+)", out.stdout)
            if out.returncode != 0 or not m:
                raise BenchError(f"tls_inproc {chain} {groups} failed: {out.stderr.strip()[-300:]}")
            got[label].append(float(m.group(2)))
    return [{"config": label, "server_us": statistics.median(v), "server_us_min": min(v),
             "server_us_max": max(v), "per_cpu_s": 1e6 / statistics.median(v)} for label, v in got.items()]


def start_distls(args, s: Session, distls: Path, certs: Path) -> tuple[object, int, int]:
    port, epmd, admin = free_port((IP_SERVER,)), free_port(), free_port()
    # --handshake-rate 0: every connection comes from one address, and the default
    # per-source limit (20/s) would measure the limiter, not the handshakes.
    proc = s.start("distls", [
        str(distls), "proxy", "--node", NODE_SERVER, "--listen", f"{IP_SERVER}:{port}",
        "--peer-port", str(port), "--epmd", f"127.0.0.1:{epmd}", "--admin", f"127.0.0.1:{admin}",
        "--cert", str(certs / "tls.crt"), "--key", str(certs / "tls.key"),
        "--trust-bundle", str(certs / "ca.crt"), "--handshake-rate", "0",
        "--max-connections", "8192", *shlex.split(args.distls_flags)])
    wait_for("distls /healthz", lambda: http_status(f"http://127.0.0.1:{admin}/healthz") == 200,
             procs=[proc])
    node = s.start("fake-node", [sys.executable, str(BENCH_DIR / "fake_node.py"), "--epmd-port",
                                 str(epmd), "--alive", "b", "--mode", "reply"], pipe_stdout=True)
    read_stdout_line(node, "REGISTERED")
    wait_for("distls /readyz", lambda: http_status(f"http://127.0.0.1:{admin}/readyz") == 200,
             procs=[proc, node])
    return proc, port, admin


def start_s_server(s: Session, certs: Path) -> tuple[object, int]:
    port = free_port((IP_SERVER,))
    proc = s.start("s_server", [
        "openssl", "s_server", "-accept", f"{IP_SERVER}:{port}", "-cert", str(certs / "tls.crt"),
        "-key", str(certs / "tls.key"), "-CAfile", str(certs / "ca.crt"), "-Verify", "1",
        "-verify_return_error", "-verify_quiet", "-tls1_3", "-groups", "X25519",
        "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-num_tickets", "0", "-no_cache",
        "-quiet", "-rev"])
    wait_for("s_server listening", lambda: _listening(IP_SERVER, port), procs=[proc])
    return proc, port


def _listening(host: str, port: int) -> bool:
    from benchlib import is_listening
    return is_listening(host, port)


def run_one(server: str, args, distls: Path, certs: dict, tls_load: Path, work: Path) -> dict:
    s = Session(work)
    try:
        extra = {}
        if server == "distls":
            proc, port, admin = start_distls(args, s, distls, certs["server"])
            payload, expect = send_name_frame(NODE_CLIENT), STATUS_REPLY_LEN
            before = metrics(admin)
        else:
            proc, port = start_s_server(s, certs["server"])
            payload, expect = S_SERVER_LINE, len(S_SERVER_LINE)
        client = s.start("tls_load", [
            str(tls_load), "--connect", f"{IP_SERVER}:{port}", "--bind", IP_CLIENT,
            "--cert", str(certs["client"] / "tls.crt"), "--key", str(certs["client"] / "tls.key"),
            "--ca", str(certs["client"] / "ca.crt"), *(["--verify"] if args.client_verify else []),
            "--groups", "X25519", "--concurrency", str(args.concurrency),
            "--warmup", str(args.warmup), "--seconds", str(args.seconds),
            "--send", payload.hex(), "--expect", str(expect)], pipe_stdout=True)
        helpers = [p for p in s.procs if p.label == "fake-node"]
        read_stdout_line(client, "BEGIN", timeout=60 + args.warmup)
        t0, c0, b0 = time.monotonic(), proc_cpu_seconds(proc.pid), system_busy_ticks()
        h0 = {p.label: proc_cpu_seconds(p.pid) for p in helpers}
        rec = DwarfPerfRecord(proc.pid, args.perf / f"{work.name}.data") if args.perf else None
        read_stdout_line(client, "END", timeout=60 + args.seconds)
        if rec:
            rec.stop()
            extra["profile"] = perf_report(rec.out, top=20)
            extra["breakdown"] = profile_breakdown(rec.out)
        t1, c1, b1 = time.monotonic(), proc_cpu_seconds(proc.pid), system_busy_ticks()
        h1 = {p.label: proc_cpu_seconds(p.pid) for p in helpers}
        result = read_stdout_line(client, "RESULT", timeout=30)
        kv = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", result)}
        wall = t1 - t0
        server_cpu = c1 - c0
        if server_cpu <= 0:
            raise BenchError(f"{server} used no CPU in the window")
        if server == "distls":
            after = metrics(admin)
            key = 'distls_tunnels_total{direction="in"}'
            extra["distls_tunnels_total_delta"] = after.get(key, 0) - before.get(key, 0)
            extra["distls_handshake_failures"] = {
                k: v - before.get(k, 0) for k, v in after.items()
                if k.startswith("distls_handshake_failures_total") and v - before.get(k, 0) > 0}
        busy = 100.0 * (b1 - b0) / CLK_TCK / wall
        return {
            "server": server,
            "completed": int(kv["completed"]),
            "failed": int(kv["failed_connect"] + kv["failed_handshake"] + kv["failed_reply"]),
            "per_cpu_s": kv["completed"] / server_cpu,
            "per_wall_s": kv["completed"] / kv["elapsed"],
            "server_cpu_pct": 100 * server_cpu / wall,
            "client_cpu_pct": 100 * kv["client_cpu"] / kv["elapsed"],
            "helper_cpu_pct": {k: 100 * (h1[k] - h0[k]) / wall for k in h0},
            "machine_busy_pct": busy,  # % of one core, all CPUs together
            "mean_latency_ms": kv["mean_latency_ms"],
            **extra,
        }
    finally:
        s.close()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=REPO_ROOT / "build")
    ap.add_argument("--runs", type=int, default=3, help="runs per server, alternating [3]")
    ap.add_argument("--seconds", type=float, default=5.0, help="timed window per run [5]")
    ap.add_argument("--warmup", type=float, default=1.0, help="untimed seconds before it [1]")
    ap.add_argument("--concurrency", type=int, default=32, help="connections in flight [32]")
    ap.add_argument("--servers", default=",".join(SERVERS), help=f"subset of {','.join(SERVERS)}")
    ap.add_argument("--client-verify", action="store_true",
                    help="the client verifies the server's chain too (costs client CPU)")
    ap.add_argument("--speed-seconds", type=int, default=3,
                    help="seconds per `openssl speed` test (0: skip the bound) [3]")
    ap.add_argument("--inproc", type=int, default=300, metavar="N",
                    help="also time N handshakes per configuration inside one process over memory "
                         "BIOs (tls_inproc.c): OpenSSL's own floor, no sockets (0: skip) [300]")
    ap.add_argument("--distls-flags", default="", help="extra `distls proxy` flags")
    ap.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                    help="before each run wait up to this long for the machine to be < 25%% busy")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--plot", type=Path, metavar="DIR", help="write handshakes.png (and handshakes.json)")
    ap.add_argument("--perf", type=Path, metavar="DIR",
                    help="profile each server over its timed window with perf (cpu-clock, DWARF call "
                         "graphs) into DIR and print where its CPU goes: crypto, OpenSSL overhead, "
                         "own code, kernel (slows the server: not for the table)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    servers = [x for x in args.servers.split(",") if x]
    if any(x not in SERVERS for x in servers) or not servers:
        ap.error(f"--servers: choose from {','.join(SERVERS)}")
    distls, _ = find_build(args.build)
    need_tools("openssl")
    if args.perf:
        if why := perf_usable():
            print(f"--perf: {why}", file=sys.stderr)
            return 2
        args.perf = args.perf.resolve()
        args.perf.mkdir(parents=True, exist_ok=True)
    raise_nofile()
    install_signal_handlers()
    with scratch("distls-handshakes-", args.keep) as work_dir:
        work = work_dir.path
        tls_load = compile_c(BENCH_DIR / "tls_load.c", work / "tls_load", ["-lssl", "-lcrypto"])
        ca = make_ca(distls, work)
        certs = {"server": issue_cert(distls, ca, NODE_SERVER, work / "server"),
                 "client": issue_cert(distls, ca, NODE_CLIENT, work / "client")}
        facts = machine_facts(distls)
        print(f"handshakes: {', '.join(servers)}; {args.runs} run(s) of {args.seconds:g} s, "
              f"concurrency {args.concurrency}; work dir {work}; load {loadavg()}", flush=True)
        speed = {}
        if args.speed_seconds > 0:
            speed = openssl_speed(args.speed_seconds)
            if "bound_per_cpu_s" in speed:
                print(f"openssl speed: ECDSA P-256 sign {speed['ecdsap256_sign_per_s']:.0f}/s, verify "
                      f"{speed['ecdsap256_verify_per_s']:.0f}/s, X25519 {speed['x25519_per_s']:.0f}/s"
                      f" -> bound {speed['bound_per_cpu_s']:.0f} handshakes per CPU-second", flush=True)
        floor = []
        if args.inproc > 0:
            inproc = compile_c(BENCH_DIR / "tls_inproc.c", work / "tls_inproc", ["-lssl", "-lcrypto"])
            floor = inproc_floor(inproc, certs, args.inproc, 3)
            for f in floor:
                print(f"OpenSSL alone, in one process: {f['per_cpu_s']:.0f} handshakes per server CPU-s "
                      f"({f['server_us']:.0f} µs, {f['server_us_min']:.0f}–{f['server_us_max']:.0f}) with "
                      f"{f['config']}", flush=True)
        runs: dict[str, list[dict]] = {x: [] for x in servers}
        for i in range(1, args.runs + 1):
            for server in servers:
                if args.settle:
                    settle(args.settle)
                rundir = work / f"run{i}-{server}"
                rundir.mkdir()
                try:
                    r = run_one(server, args, distls, certs, tls_load, rundir)
                except (BenchError, OSError, subprocess.SubprocessError) as e:
                    work_dir.keep = True
                    print(describe_failure(server, rundir, e), file=sys.stderr)
                    continue
                runs[server].append(r)
                extra = ""
                if server == "distls":
                    extra = f"; distls counted {r['distls_tunnels_total_delta']:.0f} tunnels in the run"
                    if r["distls_handshake_failures"]:
                        extra += f"; failures {r['distls_handshake_failures']}"
                print(f"run {i} {server:<8} {r['per_cpu_s']:7.0f} handshakes per server CPU-s "
                      f"({r['completed']} in {args.seconds:g} s, {r['per_wall_s']:.0f}/s; failed "
                      f"{r['failed']}; server {r['server_cpu_pct']:.0f}% of a core, client "
                      f"{r['client_cpu_pct']:.0f}%, machine {r['machine_busy_pct']:.0f}%{extra})",
                      flush=True)
        summary = {}
        for server, rs in runs.items():
            if not rs:
                continue
            vals = [r["per_cpu_s"] for r in rs]
            summary[server] = {"per_cpu_s": statistics.median(vals), "per_cpu_s_min": min(vals),
                               "per_cpu_s_max": max(vals),
                               "server_cpu_pct": statistics.median(r["server_cpu_pct"] for r in rs),
                               "client_cpu_pct": statistics.median(r["client_cpu_pct"] for r in rs),
                               "per_wall_s": statistics.median(r["per_wall_s"] for r in rs),
                               "runs": len(rs)}
        lines = ["| server | handshakes per server CPU-s | range | handshakes/s (wall) "
                 "| server CPU, % of a core | client CPU | runs |",
                 "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for server, v in summary.items():
            lines.append(f"| {server} | {v['per_cpu_s']:.0f} | {v['per_cpu_s_min']:.0f}–"
                         f"{v['per_cpu_s_max']:.0f} | {v['per_wall_s']:.0f} | {v['server_cpu_pct']:.0f}% "
                         f"| {v['client_cpu_pct']:.0f}% | {v['runs']} |")
        bound = speed.get("bound_per_cpu_s")
        for f in floor:
            lines.append(f"| OpenSSL alone, no sockets: {f['config']} | {f['per_cpu_s']:.0f} | "
                         f"{1e6 / f['server_us_max']:.0f}–{1e6 / f['server_us_min']:.0f} | | | | 3 |")
        if bound:
            lines.append(f"| crypto bound (openssl speed) | {bound:.0f} | | | | | |")
        lines.append("")
        d, o = summary.get("distls"), summary.get("s_server")
        if d and o:
            ok = d["per_cpu_s"] >= 2 * o["per_cpu_s"]
            lines.append(f"- {'PASS' if ok else 'MISS'}  distls {d['per_cpu_s']:.0f} handshakes per "
                         f"CPU-second = {d['per_cpu_s'] / o['per_cpu_s']:.2f} x openssl s_server's "
                         f"{o['per_cpu_s']:.0f} (target >= 2 x)")
        if bound and d:
            lines.append(f"- distls reaches {d['per_cpu_s'] / bound:.0%} of the crypto bound ({bound:.0f})")
        if floor and d:
            f = floor[0]
            lines.append(f"- OpenSSL alone with distls's settings, no sockets: {f['per_cpu_s']:.0f} per CPU-s "
                         f"({f['server_us']:.0f} µs); distls's server spends {1e6 / d['per_cpu_s']:.0f} µs per "
                         f"handshake, {1e6 / d['per_cpu_s'] - f['server_us']:.0f} µs of it outside OpenSSL's "
                         f"handshake (sockets, the node connection, its own code)"
                         + (f"; 2 x s_server would need {1e6 / (2 * o['per_cpu_s']):.0f} µs" if o else ""))
        for server, rs in runs.items():
            prof = next((r["profile"] for r in rs if "profile" in r), None)
            if prof:
                lines += ["", f"{server} during the timed window (perf, cpu-clock), by DSO: "
                          + ", ".join(f"{name} {pct:.0f}%" for pct, name in prof["dso"][:8]), "```"]
                lines += [f"{pct:5.1f}%  {sym}" for pct, sym in prof["symbols"][:20]] + ["```"]
            br = next((r["breakdown"] for r in rs if r.get("breakdown", {}).get("samples")), None)
            if br:
                cats = br["categories"]
                lines += ["", f"{server}: where its CPU goes by call stack ({br['samples']} samples): crypto "
                          f"{cats.get('crypto', 0):.0f}%, OpenSSL overhead {cats.get('openssl', 0):.0f}%, "
                          f"the server's own code {cats.get('server', 0):.0f}%, kernel "
                          f"{cats.get('kernel', 0):.0f}%", "```"]
                lines += [f"{pct:5.1f}%  {cat:<8} {label}" for pct, cat, label in br["rows"]] + ["```"]
        print()
        print("\n".join(lines))
        data = {"kind": "handshakes", "servers": summary, "runs": runs, "speed": speed, "inproc": floor,
                "crypto_bound_per_cpu_s": bound, "machine": facts, "argv": argv,
                "concurrency": args.concurrency, "client_verify": args.client_verify}
        if args.json:
            write_json(args.json, data)
        if args.markdown:
            args.markdown.write_text("# Handshakes per server CPU-second\n\n`bench/handshakes.py "
                                     + shlex.join(argv) + "`\n\n" + "\n".join(lines) + "\n")
        if args.plot and summary:
            write_json(args.plot / "handshakes.json", data)
            for png in make_plots("handshakes", args.plot / "handshakes.json", args.plot):
                print(f"wrote {png}")
        return 0 if all(runs[x] for x in servers) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
