#!/usr/bin/env python3
"""Data-path benchmark of distls against plain, OTP-TLS and stunnel distribution.

Two real Erlang nodes, A (a@127.0.0.2) sending to B (b@127.0.0.3), over four paths,
each started fresh for every run:

  plain          stock inet_tcp distribution through a private epmd
  distls         a distls pod per node (distls_epmd, or distls_dist with --entry
                 proto_dist), mutual TLS between the pods
  inet_tls_dist  OTP's -proto_dist inet_tls, TLS 1.3, verify_peer both ways
  stunnel        a stunnel4 pair (TLS 1.3, mutual) in front of plain distribution

Each run measures bulk throughput (64 KiB binaries, windowed and acknowledged by B)
and ping-pong round trips. Runs go round-robin over the paths, so a burst of load
from elsewhere on the machine hits every path alike; the median of the runs is
reported. See bench/README.md. Python 3 stdlib only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import queue
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PATHS = ("plain", "distls", "inet_tls_dist", "stunnel")
IP_A, IP_B = "127.0.0.2", "127.0.0.3"
# Two alive names, not one: the plain, inet_tls_dist and stunnel paths share one
# epmd, which holds one registration per alive name.
NODE_A, NODE_B = f"a@{IP_A}", f"b@{IP_B}"
COOKIE = "distls-bench"
MSG_BYTES = 64 * 1024
# 16 x 64 KiB = 1 MiB per acknowledged window, 4 windows in flight. One window is
# ~300 µs of plain distribution at 3+ GB/s and an ack comes back in ~70 µs, so 3 MiB
# queued behind every ack keeps the path busy; 2 and 8 in flight gave results within
# the run-to-run noise. The final drain stays a few milliseconds even at 0.05 GB/s.
WINDOW_MSGS = 16
WINDOWS_IN_FLIGHT = 4
WARMUP_MS = 500
WARMUP_PINGS = 2000
READY_TIMEOUT = 30.0  # seconds; generous for a loaded 2-core machine
LOG_TAIL_LINES = 30

# --entry: the distls path's Erlang side, and the module it needs in <build>/ebin.
ENTRY_BEAMS = {"epmd_module": "distls_epmd.beam", "proto_dist": "distls_dist.beam"}
TARGET_THROUGHPUT_RATIO = 0.45
TARGET_RTT_OVERHEAD_SHARE = 0.5


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# Small helpers: ports, polling, /proc
# ---------------------------------------------------------------------------

def free_port(hosts: tuple[str, ...] = ("127.0.0.1",)) -> int:
    """A port bindable on every host in `hosts` right now."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        if all(_can_bind(h, port) for h in hosts):
            return port
    raise BenchError(f"no port free on all of {hosts}")


def _can_bind(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def wait_for(what: str, probe, timeout: float = READY_TIMEOUT, procs=()):
    """Polls `probe` until it returns something truthy; fails early if a process died."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = probe()
        if value:
            return value
        for p in procs:
            if not p.running():
                raise BenchError(f"{p.label} exited (status {p.popen.returncode}) "
                                 f"while waiting for {what}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def can_connect(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def epmd_names(port: int) -> dict[str, int]:
    """NAMES_REQ to the epmd on 127.0.0.1:port; {} when it does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
            s.sendall(struct.pack(">H", 1) + b"n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return {}
    names = {}
    for m in re.finditer(r"name (\S+) at port (\d+)", data[4:].decode("latin-1")):
        names[m.group(1)] = int(m.group(2))
    return names


def is_listening(host: str, port: int) -> bool:
    """True once a socket LISTENs on host:port, seen in /proc/net/tcp without connecting
    (a probe connection would go all the way through a stunnel pair to B)."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(host))[0], port)
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            return any(line.split()[1] == want and line.split()[3] == "0A" for line in f)
    except OSError:
        return False


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks_by_group(pgids: dict[str, int]) -> dict[str, int]:
    """One /proc scan for several process groups."""
    want = {pgid: label for label, pgid in pgids.items()}
    totals = {label: 0 for label in pgids}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        label = want.get(int(fields[2]))
        if label is not None:
            totals[label] += int(fields[11]) + int(fields[12])
    return totals


def system_busy_ticks() -> int:
    """Busy (non-idle, non-iowait) ticks of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]  # user..steal, minus idle and iowait


def settle(max_wait: float, busy_limit: float = 25.0) -> float | None:
    """Waits until the machine is mostly idle (other agents compiling, say): at most
    `max_wait` seconds, sampled over 0.5 s windows. Returns the last busy % (of all CPUs)."""
    ncpu = len(os.sched_getaffinity(0))
    deadline = time.monotonic() + max_wait
    busy = None
    while time.monotonic() < deadline:
        t0, b0 = time.monotonic(), system_busy_ticks()
        time.sleep(0.5)
        busy = 100.0 * (system_busy_ticks() - b0) / CLK_TCK / (time.monotonic() - t0) / ncpu
        if busy < busy_limit:
            break
    return busy


def tail(path: Path, n: int = LOG_TAIL_LINES) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:]) or "(empty)"


def command_output(argv: list[str]) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"


# ---------------------------------------------------------------------------
# Processes: each in its own process group, so a kill reaches its children
# ---------------------------------------------------------------------------

class Proc:
    def __init__(self, label: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
                 pipe_stdout: bool = False):
        self.label = label
        self.log = log
        self._logf = open(log, "ab")
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe_stdout else self._logf, stderr=self._logf,
            env={**os.environ, **(env or {})}, start_new_session=True)

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session: the leader's pid is the group id

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        # The leader may be gone while children of the group linger (erl_child_setup).
        self._signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        if self.popen.stdout:
            self.popen.stdout.close()
        self._logf.close()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):  # the whole group is gone already
            pass


class Session:
    """Every process of one run of one path; close() stops them, newest first."""

    def __init__(self, work: Path):
        self.work = work
        self.procs: list[Proc] = []

    def start(self, label: str, argv: list[str], env: dict[str, str] | None = None,
              pipe_stdout: bool = False) -> Proc:
        p = Proc(label, argv, self.work / f"{label}.log", env, pipe_stdout)
        self.procs.append(p)
        return p

    def close(self) -> None:
        interrupted = None
        for p in reversed(self.procs):
            while True:  # a second Ctrl-C must not leave the rest running
                try:
                    p.stop()
                    break
                except KeyboardInterrupt as e:
                    interrupted = e
        if interrupted:
            raise interrupted


# ---------------------------------------------------------------------------
# The four paths
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Env:
    """What every run needs: tools, compiled modules, certificates, options."""
    distls: Path
    distls_ebin: Path
    bench_ebin: Path
    stunnel: str | None
    certs: dict[str, Path]  # "a" / "b" -> dir with tls.crt, tls.key, ca.crt
    erl_flags: list[str]
    seconds: float
    pingpongs: int
    entry: str = "epmd_module"  # how the distls path's nodes reach distls (--entry)


def erl_argv(env: Env, node: str, extra: list[str]) -> list[str]:
    return ["erl", "-noshell", "-name", node, "-setcookie", COOKIE, "-pa", str(env.bench_ebin),
            *env.erl_flags, *extra]


def driver_args(env: Env) -> list[str]:
    return ["-run", "bench_driver", "main", NODE_B, str(int(env.seconds * 1000)), str(WARMUP_MS),
            str(env.pingpongs), str(WARMUP_PINGS), str(MSG_BYTES), str(WINDOW_MSGS),
            str(WINDOWS_IN_FLIGHT)]


B_START = ["-eval", "bench_peer:start()"]


def start_epmd(s: Session) -> int:
    port = free_port(("127.0.0.1", IP_B))
    # B's address too: A's erl_epmd asks the epmd on B's host part. The loopback
    # address is always added by epmd, and registrations arrive there.
    epmd = s.start("epmd", ["epmd", "-port", str(port), "-address", IP_B])
    wait_for(f"epmd on port {port}", lambda: can_connect("127.0.0.1", port), procs=[epmd])
    return port


def wait_registered(port: int, alive: str, procs: list[Proc]) -> None:
    wait_for(f"{alive} registered with epmd :{port}", lambda: alive in epmd_names(port), procs=procs)


def setup_plain(env: Env, s: Session) -> Proc:
    port = start_epmd(s)
    e = {"ERL_EPMD_PORT": str(port)}
    b = s.start("node-b", erl_argv(env, NODE_B, ["-start_epmd", "false", "-kernel",
                "inet_dist_use_interface", "{127,0,0,3}", *B_START]), e)
    wait_registered(port, "b", [b])
    return s.start("node-a", erl_argv(env, NODE_A, ["-start_epmd", "false", "-kernel",
                   "inet_dist_use_interface", "{127,0,0,2}", *driver_args(env)]), e,
                   pipe_stdout=True)


def setup_distls(env: Env, s: Session) -> Proc:
    tls_port = free_port((IP_A, IP_B))
    pods = {}
    for pod, ip, node in (("a", IP_A, NODE_A), ("b", IP_B, NODE_B)):
        epmd_port, admin_port = free_port(), free_port()
        certs = env.certs[pod]
        proc = s.start(f"distls-{pod}", [
            str(env.distls), "proxy", "--node", node, "--listen", f"{ip}:{tls_port}",
            "--peer-port", str(tls_port), "--epmd", f"127.0.0.1:{epmd_port}",
            "--admin", f"127.0.0.1:{admin_port}", "--cert", str(certs / "tls.crt"),
            "--key", str(certs / "tls.key"), "--trust-bundle", str(certs / "ca.crt")])
        pods[pod] = (proc, epmd_port, admin_port)
    for pod, (proc, _, admin) in pods.items():
        wait_for(f"distls-{pod} /healthz",
                 lambda admin=admin: http_status(f"http://127.0.0.1:{admin}/healthz") == 200,
                 procs=[proc])
    # The two entry points of docs/erlang.md; the data path after the handshake is the same.
    if env.entry == "proto_dist":
        node_args = ["-proto_dist", "distls", "-start_epmd", "false", "-pa", str(env.distls_ebin)]
    else:
        node_args = ["-epmd_module", "distls_epmd", "-start_epmd", "false", "-kernel",
                     "inet_dist_use_interface", "{127,0,0,1}", "-pa", str(env.distls_ebin)]
    proc_b, epmd_b, admin_b = pods["b"]
    b = s.start("node-b", erl_argv(env, NODE_B, [*node_args, *B_START]),
                {"ERL_EPMD_PORT": str(epmd_b)})
    wait_for("distls-b /readyz (node b registered)",
             lambda: http_status(f"http://127.0.0.1:{admin_b}/readyz") == 200, procs=[proc_b, b])
    proc_a, epmd_a, _ = pods["a"]
    return s.start("node-a", erl_argv(env, NODE_A, [*node_args, *driver_args(env)]),
                   {"ERL_EPMD_PORT": str(epmd_a)}, pipe_stdout=True)


def ssl_dist_optfile(certs: Path, out: Path) -> Path:
    common = [f"{{certfile, \"{certs / 'tls.crt'}\"}}",
              f"{{keyfile, \"{certs / 'tls.key'}\"}}",
              f"{{cacertfile, \"{certs / 'ca.crt'}\"}}",
              "{verify, verify_peer}",
              "{versions, ['tlsv1.3']}",
              # distls negotiates AES-128-GCM; OTP would prefer AES-256-GCM.
              "{ciphers, [#{cipher => aes_128_gcm, key_exchange => any, mac => aead, "
              "prf => sha256}]}"]
    server = common + ["{fail_if_no_peer_cert, true}"]
    # The client checks the dialled host against the server cert, as distls does. OTP 25's
    # inet_tls_dist passes the host as SNI, and ssl then matches it only as a DNS name,
    # never against IP SANs; this match_fun adds the IP comparison. The optfile is
    # evaluated with erl_eval, so a fun is allowed here.
    ip_match = ("{customize_hostname_check, [{match_fun, "
                "fun({dns_id, R}, {iPAddress, P}) -> inet:parse_strict_address(R) =:= "
                "{ok, list_to_tuple(P)}; (_, _) -> default end}]}")
    client = common + [ip_match]
    out.write_text(f"[{{server, [{', '.join(server)}]}},\n {{client, [{', '.join(client)}]}}].\n")
    return out


def setup_inet_tls_dist(env: Env, s: Session) -> Proc:
    port = start_epmd(s)
    e = {"ERL_EPMD_PORT": str(port)}

    def args(pod: str, iface: str) -> list[str]:
        optfile = ssl_dist_optfile(env.certs[pod], s.work / f"ssl_dist_{pod}.conf")
        return ["-start_epmd", "false", "-proto_dist", "inet_tls", "-ssl_dist_optfile",
                str(optfile), "-kernel", "inet_dist_use_interface", iface]

    b = s.start("node-b", erl_argv(env, NODE_B, [*args("b", "{127,0,0,3}"), *B_START]), e)
    wait_registered(port, "b", [b])
    return s.start("node-a", erl_argv(env, NODE_A, [*args("a", "{127,0,0,2}"), *driver_args(env)]),
                   e, pipe_stdout=True)


def stunnel_conf(path: Path, certs: Path, accept: str, connect: str, client: bool) -> Path:
    lines = [
        "foreground = yes",
        f"pid = {path.with_suffix('.pid')}",
        "syslog = no",
        "debug = info",  # one connection per run: logs its handshake and cipher, no more
        "[dist]",
        f"client = {'yes' if client else 'no'}",
        f"accept = {accept}",
        f"connect = {connect}",
        f"cert = {certs / 'tls.crt'}",
        f"key = {certs / 'tls.key'}",
        f"CAfile = {certs / 'ca.crt'}",
        "verifyChain = yes",
        "sslVersionMin = TLSv1.3",
        "sslVersionMax = TLSv1.3",
        # The suite distls negotiates; stunnel would prefer AES-256-GCM.
        "ciphersuites = TLS_AES_128_GCM_SHA256",
        # stunnel's defaults already, stated so the comparison is on record as fair.
        "socket = l:TCP_NODELAY=1",
        "socket = r:TCP_NODELAY=1",
    ]
    if client:
        # What distls checks outbound: the dialled host is in the server cert's IP SANs.
        lines.append(f"checkIP = {IP_B}")
    else:
        lines.append("requireCert = yes")
    path.write_text("\n".join(lines) + "\n")
    return path


def setup_stunnel(env: Env, s: Session) -> Proc:
    if not env.stunnel:
        raise BenchError("stunnel4 not found on PATH")
    port = start_epmd(s)
    dist_b = free_port()
    server_port = free_port((IP_B,))
    client_port = free_port()
    b = s.start("node-b", erl_argv(env, NODE_B, [
        "-start_epmd", "false", "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
        "inet_dist_listen_min", str(dist_b), "inet_dist_listen_max", str(dist_b), *B_START]),
        {"ERL_EPMD_PORT": str(port)})
    server = s.start("stunnel-b", [env.stunnel, str(stunnel_conf(
        s.work / "stunnel-b.conf", env.certs["b"], f"{IP_B}:{server_port}",
        f"127.0.0.1:{dist_b}", client=False))])
    client = s.start("stunnel-a", [env.stunnel, str(stunnel_conf(
        s.work / "stunnel-a.conf", env.certs["a"], f"127.0.0.1:{client_port}",
        f"{IP_B}:{server_port}", client=True))])
    wait_registered(port, "b", [b])
    wait_for("stunnel-b listening", lambda: is_listening(IP_B, server_port), procs=[server])
    wait_for("stunnel-a listening", lambda: is_listening("127.0.0.1", client_port), procs=[client])
    return s.start("node-a", erl_argv(env, NODE_A, [
        "-epmd_module", "bench_epmd", "-start_epmd", "false", "-kernel",
        "inet_dist_use_interface", "{127,0,0,1}", *driver_args(env)]),
        {"BENCH_DIST_PORT": str(client_port)}, pipe_stdout=True)


SETUP = {"plain": setup_plain, "distls": setup_distls, "inet_tls_dist": setup_inet_tls_dist,
         "stunnel": setup_stunnel}


# ---------------------------------------------------------------------------
# One run of one path
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class RunResult:
    gbps: float
    rtt_median_us: float
    rtt_mean_us: float
    rtt_p99_us: float
    cpu_bulk: dict[str, float]  # process label -> % of one core over the timed bulk window
    other_cpu: float | None  # % of one core used by everything else during that window
    other_cpu_rtt: float | None  # the same over the timed round trips
    log_findings: list[str]


def read_lines(stream, q: queue.Queue, log: Path) -> None:
    with open(log, "ab") as f:
        for raw in iter(stream.readline, b""):
            f.write(raw)
            f.flush()
            q.put(raw.decode("utf-8", "replace").rstrip("\n"))
    q.put(None)


def parse_kv(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def log_findings(s: Session) -> list[str]:
    """distls warn/error lines and any stunnel/erl complaints, for the report."""
    found = []
    for p in s.procs:
        if not p.label.startswith("distls"):
            continue
        for line in p.log.read_text(errors="replace").splitlines():
            fields = line.split(" ", 2)
            if len(fields) >= 2 and fields[1] in ("warn", "error"):
                found.append(f"{p.label}: {line}")
    return found


def cpu_use(begin, end) -> tuple[dict[str, float], float | None]:
    """% of one core per process group between two samples, and the % used by all
    other processes (softirq work for our sockets can land there too: a few % is normal)."""
    if not begin or not end or end[0] <= begin[0]:
        return {}, None
    wall = end[0] - begin[0]
    if wall < 0.25:  # a few clock ticks (usually 10 ms each): too coarse to say anything
        return {}, None
    cpu = {label: 100.0 * (end[1][label] - begin[1][label]) / CLK_TCK / wall for label in begin[1]}
    other = max(0.0, 100.0 * (end[2] - begin[2]) / CLK_TCK / wall - sum(cpu.values()))
    return cpu, other


def run_once(path: str, env: Env, work: Path) -> RunResult:
    s = Session(work)
    try:
        driver = SETUP[path](env, s)
        q: queue.Queue = queue.Queue()
        threading.Thread(target=read_lines, args=(driver.popen.stdout, q, work / "node-a.stdout"),
                         daemon=True).start()
        budget = (READY_TIMEOUT + WARMUP_MS / 1000 + env.seconds + 30
                  + (env.pingpongs + WARMUP_PINGS) * 0.002 + 60)
        deadline = time.monotonic() + budget
        pgids = {p.label: p.pgid for p in s.procs}
        bulk = rtt = None
        samples: dict[str, tuple] = {}  # phase -> (time, ticks per process group, busy ticks)
        while True:
            try:
                line = q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise BenchError(f"node-a gave no result within {budget:.0f}s")
            if line is None:
                break
            if not line.startswith("BENCH "):
                continue
            word = line.split()[1]
            if word == "phase":
                samples[line.split()[2]] = (time.monotonic(), cpu_ticks_by_group(pgids),
                                            system_busy_ticks())
            elif word == "bulk":
                bulk = parse_kv(line)
            elif word == "rtt":
                rtt = parse_kv(line)
            elif word == "error":
                raise BenchError(f"node-a: {line}")
            elif word == "done":
                break
        if bulk is None or rtt is None:
            driver.popen.wait(timeout=10)
            raise BenchError(f"node-a exited (status {driver.popen.returncode}) without results")
        cpu, other = cpu_use(samples.get("bulk_begin"), samples.get("bulk_end"))
        _, other_rtt = cpu_use(samples.get("rtt_begin"), samples.get("rtt_end"))
        for p in s.procs:
            if p is not driver and not p.running():
                raise BenchError(f"{p.label} died during the run (status {p.popen.returncode})")
        return RunResult(gbps=bulk["bytes"] / bulk["ns"], rtt_median_us=rtt["median_ns"] / 1000,
                         rtt_mean_us=rtt["mean_ns"] / 1000, rtt_p99_us=rtt["p99_ns"] / 1000,
                         cpu_bulk=cpu, other_cpu=other, other_cpu_rtt=other_rtt,
                         log_findings=log_findings(s))
    finally:
        s.close()


def describe_failure(path: str, work: Path, err: BaseException) -> str:
    parts = [f"{path}: {err}"]
    for log in sorted(work.glob("*.log")) + sorted(work.glob("*.stdout")):
        parts.append(f"--- {log} (last {LOG_TAIL_LINES} lines)\n{tail(log)}")
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# Preparation: modules, certificates, machine facts
# ---------------------------------------------------------------------------

def compile_modules(out: Path) -> Path:
    ebin = out / "ebin"
    ebin.mkdir()
    srcs = sorted(str(p) for p in (REPO_ROOT / "bench" / "erl").glob("*.erl"))
    r = subprocess.run(["erlc", "-o", str(ebin), *srcs], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"erlc failed:\n{r.stdout}{r.stderr}")
    return ebin


def make_certs(distls: Path, out: Path) -> dict[str, Path]:
    ca = out / "ca"
    certs = {}
    steps = [[str(distls), "ca", "init", "--out", str(ca)]]
    for pod, node in (("a", NODE_A), ("b", NODE_B)):
        certs[pod] = out / f"pod-{pod}"
        steps.append([str(distls), "ca", "issue", "--ca-dir", str(ca), "--node", node,
                      "--out", str(certs[pod])])
    for argv in steps:
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"{' '.join(argv)} failed: {r.stdout}{r.stderr}")
    return certs


def machine_facts(distls: Path, stunnel: str | None) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    otp = command_output(["erl", "-noshell", "-eval",
                          'io:format("~s (erts ~s, crypto linked to ~s)", '
                          '[begin {ok, V} = file:read_file(filename:join([code:root_dir(), '
                          '"releases", erlang:system_info(otp_release), "OTP_VERSION"])), '
                          'string:trim(V) end, erlang:system_info(version), '
                          'case crypto:info_lib() of [{_, _, L} | _] -> L end]), halt().'])
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "kernel": f"{platform.system()} {platform.release()}",
        "otp": otp,
        "openssl": command_output(["openssl", "version"]),
        "distls": command_output([str(distls), "version"]),
        "stunnel": command_output([stunnel, "-version"]).splitlines()[1] if stunnel else "absent",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def median(xs: list[float]) -> float:
    return statistics.median(xs)


def summarize(paths: list[str], results: dict[str, list[RunResult]]):
    rows = {}
    for path in paths:
        rs = results[path]
        if not rs:
            continue
        rows[path] = {
            "gbps": median([r.gbps for r in rs]),
            "gbps_min": min(r.gbps for r in rs),
            "gbps_max": max(r.gbps for r in rs),
            "rtt": median([r.rtt_median_us for r in rs]),
            "rtt_min": min(r.rtt_median_us for r in rs),
            "rtt_max": max(r.rtt_median_us for r in rs),
            "rtt_mean": median([r.rtt_mean_us for r in rs]),
            "runs": len(rs),
        }
    plain = rows.get("plain")
    for row in rows.values():
        row["ratio"] = row["gbps"] / plain["gbps"] if plain else None
        row["overhead"] = row["rtt"] - plain["rtt"] if plain else None
    return rows


def fmt(x, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def table_lines(paths: list[str], rows: dict) -> list[str]:
    out = ["| path | throughput GB/s | range | × plain | RTT median µs | range | RTT mean µs "
           "| RTT overhead µs | runs |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for path in paths:
        r = rows.get(path)
        if r is None:
            out.append(f"| {path} | not measured | | | | | | | 0 |")
            continue
        out.append(
            f"| {path} | {r['gbps']:.3f} | {r['gbps_min']:.3f}–{r['gbps_max']:.3f} "
            f"| {fmt(r['ratio'], '.1%')} | {r['rtt']:.1f} | {r['rtt_min']:.1f}–{r['rtt_max']:.1f} "
            f"| {r['rtt_mean']:.1f} | {fmt(r['overhead'], '+.1f')} | {r['runs']} |")
    return out


def target_lines(rows: dict) -> list[str]:
    d, p, st = rows.get("distls"), rows.get("plain"), rows.get("stunnel")
    if d and p:
        ok = d["ratio"] >= TARGET_THROUGHPUT_RATIO
        t1 = (f"{'PASS' if ok else 'MISS'}  distls throughput {d['ratio']:.1%} of plain "
              f"(target >= {TARGET_THROUGHPUT_RATIO:.0%})")
    else:
        t1 = "n/a   distls throughput vs plain: a path was not measured"
    if d and p and st:
        limit = TARGET_RTT_OVERHEAD_SHARE * st["overhead"]
        ok = d["overhead"] <= limit
        t2 = (f"{'PASS' if ok else 'MISS'}  distls RTT overhead {d['overhead']:+.1f} µs vs stunnel "
              f"{st['overhead']:+.1f} µs (target <= half: {limit:+.1f} µs)")
    else:
        t2 = "n/a   distls RTT overhead vs stunnel: a path was not measured"
    return [t1, t2]


def cpu_lines(paths: list[str], results: dict[str, list[RunResult]]) -> list[str]:
    """Median CPU use of each process over the timed bulk window (100% = one core)."""
    out = []
    for path in paths:
        rs = [r for r in results[path] if r.cpu_bulk]
        if not rs:
            continue
        labels = [l for l in rs[0].cpu_bulk if l != "epmd"]
        parts = [f"{l} {median([r.cpu_bulk.get(l, 0.0) for r in rs]):.0f}%" for l in labels]
        others = [r.other_cpu for r in rs if r.other_cpu is not None]
        if others:
            parts.append(f"everything else {median(others):.0f}%")
        out.append(f"{path}: " + ", ".join(parts))
    return out


OTHER_LOAD_WARN = 25.0  # % of one core used by others in a timed window


def load_warning(results: dict[str, list[RunResult]]) -> str | None:
    loaded = [f"{path} run {i + 1}" for path, rs in results.items() for i, r in enumerate(rs)
              if max(r.other_cpu or 0.0, r.other_cpu_rtt or 0.0) > OTHER_LOAD_WARN]
    if not loaded:
        return None
    return (f"{len(loaded)} run(s) measured while other processes used > {OTHER_LOAD_WARN:.0f}% "
            f"of a core ({', '.join(loaded)}); on a small machine that moves both throughput "
            "and round trips, so compare with care (--settle helps)")


def write_markdown(file: Path, args, paths, rows, results, facts, loads, notes) -> None:
    lines = ["# distls data-path benchmark", "",
             f"`bench/run.py {shlex.join(args.argv)}`".replace("`bench/run.py `", "`bench/run.py`")
             + f" (runs {args.runs}, bulk {args.seconds:g} s, {args.pingpongs} round trips)"
             + f"; A = `{NODE_A}` sends to B = `{NODE_B}`; 64 KiB binaries for bulk; "
             "median of the runs.", ""]
    lines += table_lines(paths, rows)
    lines += ["", "Targets:", ""] + [f"- {t}" for t in target_lines(rows)]
    if warning := load_warning(results):
        lines += ["", f"Warning: {warning}."]
    lines += ["", "CPU during the timed bulk window (median over runs, 100% = one core):", ""]
    lines += [f"- {c}" for c in cpu_lines(paths, results)]
    lines += ["", "Per run: GB/s / RTT median µs (other load: CPU used by processes outside "
              "the benchmark during the bulk / round-trip window, % of one core):", ""]
    for path in paths:
        runs = ", ".join(f"{r.gbps:.3f} / {r.rtt_median_us:.1f}"
                         + (f" (other load {r.other_cpu:.0f}% / {r.other_cpu_rtt:.0f}%)"
                            if r.other_cpu is not None and r.other_cpu_rtt is not None else "")
                         for r in results[path])
        lines.append(f"- {path}: {runs or 'none'}")
    lines += ["", "Machine:", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    lines.append(f"- load average at start / end: {loads[0]} / {loads[1]}")
    if notes:
        lines += ["", "Notes from this run:", ""] + [f"- {n}" for n in notes]
    file.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def is_loaded(r: RunResult) -> bool:
    return max(r.other_cpu or 0.0, r.other_cpu_rtt or 0.0) > OTHER_LOAD_WARN


def measure(path: str, run: int, env: Env, work: Path, args, notes: list[str]) -> RunResult | None:
    """One run of one path, repeated (--retry-loaded) while other processes loaded the
    machine; None when it failed, after printing the logs."""
    for attempt in range(args.retry_loaded + 1):
        rundir = work / (f"run{run}-{path}" + (f"-retry{attempt}" if attempt else ""))
        rundir.mkdir()
        if args.settle > 0:
            busy = settle(args.settle)
            if busy is not None and busy >= 25.0:
                print(f"  (machine still {busy:.0f}% busy after {args.settle:g} s; "
                      "measuring anyway)", flush=True)
        t0 = time.monotonic()
        try:
            r = run_once(path, env, rundir)
        except (BenchError, OSError, subprocess.SubprocessError) as e:
            print(describe_failure(path, rundir, e), file=sys.stderr, flush=True)
            notes.append(f"run {run} of {path} failed: {e}")
            return None
        cpu = ", ".join(f"{k} {v:.0f}%" for k, v in r.cpu_bulk.items() if k != "epmd")
        if r.other_cpu is not None:
            cpu += f"; other {r.other_cpu:.0f}%"
        if r.other_cpu_rtt is not None:
            cpu += f"; other load in RTT {r.other_cpu_rtt:.0f}%"
        retry = is_loaded(r) and attempt < args.retry_loaded
        print(f"run {run} {path:<13} {r.gbps:7.3f} GB/s  RTT median {r.rtt_median_us:7.1f} µs"
              f"  mean {r.rtt_mean_us:7.1f} µs  ({time.monotonic() - t0:.1f} s; "
              f"CPU in bulk: {cpu}){'  -> loaded, measuring again' if retry else ''}", flush=True)
        if not retry:
            return r
    return None  # not reached: the last attempt always returns


def parse_args(argv: list[str]):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=REPO_ROOT / "build",
                    help="build directory holding distls and ebin/distls_epmd.beam [<repo>/build]")
    ap.add_argument("--runs", type=int, default=3, help="runs per path; the median is reported [3]")
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="timed bulk transfer per run, after a 0.5 s warm-up [3]")
    ap.add_argument("--pingpongs", type=int, default=20000,
                    help=f"timed round trips per run, after {WARMUP_PINGS} warm-up ones [20000]")
    ap.add_argument("--paths", default=",".join(PATHS),
                    help=f"comma-separated subset of {','.join(PATHS)} [all]")
    ap.add_argument("--markdown", type=Path, help="also write the table and machine facts here")
    ap.add_argument("--erl-flags", default="",
                    help="extra emulator flags for every node, e.g. '+sbwt none' [none]")
    ap.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                    help="before each run, wait up to this long for the machine to be <25%% busy, "
                         "so other work (a compile) does not skew one path [0: off]")
    ap.add_argument("--retry-loaded", type=int, default=0, metavar="N",
                    help="measure a run again, up to N times, when other processes used more "
                         f"than {OTHER_LOAD_WARN:.0f}%% of a core during it [0]")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, certs)")
    ap.add_argument("--entry", choices=ENTRY_BEAMS, default="epmd_module",
                    help="how the distls path's nodes reach distls: -epmd_module distls_epmd "
                         "or -proto_dist distls [epmd_module]")
    args = ap.parse_args(argv)
    args.argv = []  # for the report: the command line without --markdown and its file
    skip = False
    for a in argv:
        if not skip and not a.startswith("--markdown"):
            args.argv.append(a)
        skip = a == "--markdown"
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    bad = [p for p in paths if p not in PATHS]
    if bad or not paths:
        ap.error(f"--paths: unknown {bad}; choose from {','.join(PATHS)}")
    if args.runs < 1 or args.seconds <= 0 or args.pingpongs < 1 or args.retry_loaded < 0:
        ap.error("--runs, --seconds and --pingpongs must be positive, --retry-loaded >= 0")
    return args, paths


def main(argv: list[str]) -> int:
    args, paths = parse_args(argv)
    build = args.build if args.build.is_absolute() else (Path.cwd() / args.build)
    distls = build / "distls"
    distls_ebin = build / "ebin"
    # Needed even without the distls path: every TLS path uses certificates from `distls ca`.
    if not os.access(distls, os.X_OK):
        print(f"distls binary not found at {distls} (--build)", file=sys.stderr)
        return 2
    beam = ENTRY_BEAMS[args.entry]
    if "distls" in paths and not (distls_ebin / beam).exists():
        print(f"{distls_ebin}/{beam} not found (--build)", file=sys.stderr)
        return 2
    for tool in ("erl", "erlc", "epmd"):
        if not shutil.which(tool):
            print(f"{tool} not found on PATH", file=sys.stderr)
            return 2
    stunnel = shutil.which("stunnel4") or shutil.which("stunnel")

    # SIGTERM/SIGHUP take the same way out as Ctrl-C: through every finally.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    work = Path(tempfile.mkdtemp(prefix="distls-bench-"))
    keep = args.keep
    results: dict[str, list[RunResult]] = {p: [] for p in paths}
    notes: list[str] = []
    try:
        env = Env(distls=distls, distls_ebin=distls_ebin, bench_ebin=compile_modules(work),
                  stunnel=stunnel, certs=make_certs(distls, work), erl_flags=shlex.split(args.erl_flags),
                  seconds=args.seconds, pingpongs=args.pingpongs, entry=args.entry)
        facts = machine_facts(distls, stunnel)
        loads = [loadavg(), ""]
        print(f"distls data-path benchmark: {', '.join(paths)}; {args.runs} run(s), "
              f"{args.seconds:g} s bulk, {args.pingpongs} round trips; distls entry point "
              f"{args.entry}; work dir {work}")
        print(f"{facts['nproc']} CPUs ({facts['cpu']}), {facts['kernel']}, OTP {facts['otp']}, "
              f"load {loads[0]}", flush=True)
        for run in range(1, args.runs + 1):
            for path in paths:
                r = measure(path, run, env, work, args, notes)
                if r is None:
                    keep = True
                    continue
                results[path].append(r)
                for finding in r.log_findings:
                    print(f"  {finding}", flush=True)
                    notes.append(f"run {run} {finding}")
        loads[1] = loadavg()
        rows = summarize(paths, results)
        print()
        print("\n".join(table_lines(paths, rows)))
        print()
        print("\n".join(target_lines(rows)))
        if warning := load_warning(results):
            print(f"warning: {warning}")
        print()
        print("CPU during the timed bulk window (median, 100% = one core):")
        print("\n".join(f"  {c}" for c in cpu_lines(paths, results)))
        print(f"load average at start / end: {loads[0]} / {loads[1]}")
        if args.markdown:
            write_markdown(args.markdown, args, paths, rows, results, facts, loads, notes)
            print(f"wrote {args.markdown}")
        missing = [p for p in paths if not results[p]]
        if missing:
            print(f"could not measure: {', '.join(missing)}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        print("interrupted; every process stopped", file=sys.stderr)
        keep = True
        return 130
    finally:
        if keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
