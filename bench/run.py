#!/usr/bin/env python3
"""Data-path benchmark of distls against plain, OTP-TLS and stunnel distribution.

Two real Erlang nodes, A (a@127.0.0.2) sending to B (b@127.0.0.3), over five paths,
each started fresh for every run:

  plain          stock inet_tcp distribution through a private epmd
  distls         a distls pod per node, nodes on -epmd_module distls_epmd
  distls-proto   the same pods, nodes on -proto_dist distls
  distls-uds     -proto_dist distls with Unix sockets between node and distls (--socket-dir)
  inet_tls_dist  OTP's -proto_dist inet_tls, TLS 1.3, verify_peer both ways
  stunnel        a stunnel4 pair (TLS 1.3, mutual) in front of plain distribution

Each run measures bulk throughput (64 KiB binaries, windowed and acknowledged by B),
pipelined small messages (64 B, 256 B, 1 KiB) in messages per second, ping-pong round
trips (quantiles for a CDF) and the CPU time of every process of the path over each
timed window. Runs go round-robin over the paths, so a burst of load from elsewhere on
the machine hits every path alike; the median of the runs is reported. See
bench/README.md. Python 3 stdlib only (matplotlib for --plot).
"""

from __future__ import annotations

import argparse
import dataclasses
import queue
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchlib import (CLK_TCK, READY_TIMEOUT, REPO_ROOT, BenchError, PerfRecord, PerfStat, Proc,
                      Session, perf_report, perf_usable,
                      can_connect, compile_modules, cpu_ticks_by_group, describe_failure,
                      epmd_names, find_build, free_port, http_status, install_signal_handlers,
                      is_listening, issue_cert, loadavg, machine_facts, make_ca, make_plots,
                      need_tools, settle, system_ticks, wait_for, write_json, KTHREADS, scratch)

PATHS = ("plain", "distls", "distls-proto", "distls-uds", "inet_tls_dist", "stunnel")
# The distls paths and the Erlang entry point each uses (docs/erlang.md), with the
# module it needs in <build>/ebin.
DISTLS_ENTRY = {"distls": "epmd_module", "distls-proto": "proto_dist", "distls-uds": "proto_dist"}
ENTRY_BEAMS = {"epmd_module": "distls_epmd.beam", "proto_dist": "distls_dist.beam"}
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
# Small messages: 1,000 per acknowledged window (about 1 ms of plain distribution at
# 64 B), 4 windows in flight, as for bulk.
SMALL_SIZES = (64, 256, 1024)
SMALL_WINDOW_MSGS = 1000
WARMUP_MS = 500
WARMUP_PINGS = 2000

TARGET_THROUGHPUT_RATIO = 0.45
TARGET_RTT_OVERHEAD_SHARE = 0.5  # of stunnel's
TARGET_CPU_PER_GB = 1.4  # CPU-seconds per GB, whole path
# The processes of a path by role, for CPU per GB stacked by process.
ROLES = {"node-a": "node A", "node-b": "node B", "distls-a": "sidecar A", "distls-b": "sidecar B",
         "stunnel-a": "sidecar A", "stunnel-b": "sidecar B"}
ROLE_ORDER = ("node A", "sidecar A", "sidecar B", "node B")


# ---------------------------------------------------------------------------
# The five paths
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
    distls_flags: list[str]
    seconds: float
    small_seconds: float
    small_sizes: tuple[int, ...]
    pingpongs: int
    perf_dir: Path | None = None  # --perf: profile the sidecars (and count syscalls)
    sync_dir: Path | None = None  # where run.py tells a profiled driver to go on


def driver_env(env: Env, extra: dict[str, str]) -> dict[str, str]:
    return {**extra, **({"BENCH_SYNC": str(env.sync_dir)} if env.sync_dir else {})}


def erl_argv(env: Env, node: str, extra: list[str]) -> list[str]:
    return ["erl", "-noshell", "-name", node, "-setcookie", COOKIE, "-pa", str(env.bench_ebin),
            *env.erl_flags, *extra]


def driver_args(env: Env) -> list[str]:
    sizes = ",".join(str(s) for s in env.small_sizes) or "none"
    return ["-run", "bench_driver", "main", NODE_B, str(int(env.seconds * 1000)), str(WARMUP_MS),
            str(env.pingpongs), str(WARMUP_PINGS), str(MSG_BYTES), str(WINDOW_MSGS),
            str(WINDOWS_IN_FLIGHT), sizes, str(int(env.small_seconds * 1000)),
            str(SMALL_WINDOW_MSGS)]


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


def setup_plain(env: Env, s: Session, path: str) -> Proc:
    port = start_epmd(s)
    e = {"ERL_EPMD_PORT": str(port)}
    b = s.start("node-b", erl_argv(env, NODE_B, ["-start_epmd", "false", "-kernel",
                "inet_dist_use_interface", "{127,0,0,3}", *B_START]), e)
    wait_registered(port, "b", [b])
    return s.start("node-a", erl_argv(env, NODE_A, ["-start_epmd", "false", "-kernel",
                   "inet_dist_use_interface", "{127,0,0,2}", *driver_args(env)]),
                   driver_env(env, e), pipe_stdout=True)


def distls_node_args(entry: str, ebin: Path) -> list[str]:
    """The node side of the two entry points, exactly as docs/erlang.md documents them.
    Nothing here assumes how the node then reaches distls (TCP today; -proto_dist may
    move to a Unix socket): the benchmark only starts nodes with the documented flags."""
    if entry == "proto_dist":
        return ["-proto_dist", "distls", "-start_epmd", "false", "-pa", str(ebin)]
    return ["-epmd_module", "distls_epmd", "-start_epmd", "false", "-kernel",
            "inet_dist_use_interface", "{127,0,0,1}", "-pa", str(ebin)]


def setup_distls(env: Env, s: Session, path: str) -> Proc:
    tls_port = free_port((IP_A, IP_B))
    pods = {}
    # distls-uds: each pod's node and distls share a socket directory.
    socket_dirs = {pod: s.work / f"sockets-{pod}" for pod in ("a", "b")} if path == "distls-uds" else {}
    for pod, ip, node in (("a", IP_A, NODE_A), ("b", IP_B, NODE_B)):
        epmd_port, admin_port = free_port(), free_port()
        certs = env.certs[pod]
        uds = ["--socket-dir", str(socket_dirs[pod])] if socket_dirs else []
        proc = s.start(f"distls-{pod}", [
            str(env.distls), "proxy", "--node", node, "--listen", f"{ip}:{tls_port}",
            "--peer-port", str(tls_port), "--epmd", f"127.0.0.1:{epmd_port}",
            "--admin", f"127.0.0.1:{admin_port}", "--cert", str(certs / "tls.crt"),
            "--key", str(certs / "tls.key"), "--trust-bundle", str(certs / "ca.crt"),
            *uds, *env.distls_flags])
        pods[pod] = (proc, epmd_port, admin_port)
    for pod, (proc, _, admin) in pods.items():
        wait_for(f"distls-{pod} /healthz",
                 lambda admin=admin: http_status(f"http://127.0.0.1:{admin}/healthz") == 200,
                 procs=[proc])
    node_args = distls_node_args(DISTLS_ENTRY[path], env.distls_ebin)
    proc_b, epmd_b, admin_b = pods["b"]
    node_env = lambda pod, epmd: {"ERL_EPMD_PORT": str(epmd),
                                  **({"DISTLS_SOCKET_DIR": str(socket_dirs[pod])} if socket_dirs else {})}
    b = s.start("node-b", erl_argv(env, NODE_B, [*node_args, *B_START]), node_env("b", epmd_b))
    wait_for("distls-b /readyz (node b registered)",
             lambda: http_status(f"http://127.0.0.1:{admin_b}/readyz") == 200, procs=[proc_b, b])
    proc_a, epmd_a, _ = pods["a"]
    return s.start("node-a", erl_argv(env, NODE_A, [*node_args, *driver_args(env)]),
                   driver_env(env, node_env("a", epmd_a)), pipe_stdout=True)


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


def setup_inet_tls_dist(env: Env, s: Session, path: str) -> Proc:
    port = start_epmd(s)
    e = {"ERL_EPMD_PORT": str(port)}

    def args(pod: str, iface: str) -> list[str]:
        optfile = ssl_dist_optfile(env.certs[pod], s.work / f"ssl_dist_{pod}.conf")
        return ["-start_epmd", "false", "-proto_dist", "inet_tls", "-ssl_dist_optfile",
                str(optfile), "-kernel", "inet_dist_use_interface", iface]

    b = s.start("node-b", erl_argv(env, NODE_B, [*args("b", "{127,0,0,3}"), *B_START]), e)
    wait_registered(port, "b", [b])
    return s.start("node-a", erl_argv(env, NODE_A, [*args("a", "{127,0,0,2}"), *driver_args(env)]),
                   driver_env(env, e), pipe_stdout=True)


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


def setup_stunnel(env: Env, s: Session, path: str) -> Proc:
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
        driver_env(env, {"BENCH_DIST_PORT": str(client_port)}), pipe_stdout=True)


SETUP = {"plain": setup_plain, "distls": setup_distls, "distls-proto": setup_distls,
         "distls-uds": setup_distls,
         "inet_tls_dist": setup_inet_tls_dist, "stunnel": setup_stunnel}


# ---------------------------------------------------------------------------
# One run of one path
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class RunResult:
    gbps: float
    rtt_median_us: float
    rtt_mean_us: float
    rtt_quantiles_us: list[float]  # 1001 evenly spaced ranks, min to max
    small_mps: dict[int, float]  # payload bytes -> messages per second
    # phase ("bulk", "small64", ..., "rtt") -> process label -> % of one core
    cpu: dict[str, dict[str, float]]
    # phase -> % of one core used by everything outside the benchmark
    other_cpu: dict[str, float | None]
    # phase -> {"kernel threads": %, "irq+softirq": %}: kernel work that belongs to no
    # process (much of it the loopback traffic's receive side), machine-wide
    kernel_cpu: dict[str, dict[str, float]]
    log_findings: list[str]
    # --perf: process label -> {"bulk": perf report, "rtt": syscalls etc. per round trip}
    profile: dict[str, dict] = dataclasses.field(default_factory=dict)

    def cpu_s_per_gb(self) -> dict[str, float]:
        """CPU-seconds per GB of payload over the bulk window, by role."""
        out: dict[str, float] = {}
        for label, pct in self.cpu.get("bulk", {}).items():
            if label in ROLES and self.gbps > 0:
                role = ROLES[label]
                out[role] = out.get(role, 0.0) + pct / 100.0 / self.gbps
        return out

    def kernel_s_per_gb(self) -> float | None:
        k = self.kernel_cpu.get("bulk")
        return sum(k.values()) / 100.0 / self.gbps if k and self.gbps > 0 else None

    def loaded(self) -> bool:
        return any((v or 0.0) > OTHER_LOAD_WARN for v in self.other_cpu.values())


def read_lines(stream, q: queue.Queue, log: Path) -> None:
    with open(log, "ab") as f:
        for raw in iter(stream.readline, b""):
            f.write(raw)
            f.flush()
            q.put(raw.decode("utf-8", "replace").rstrip("\n"))
    q.put(None)


def parse_kv(line: str) -> dict[str, int]:
    out = {}
    for word in line.split()[2:]:
        k, _, v = word.partition("=")
        if v.isdigit():
            out[k] = int(v)
    return out


def log_findings(s: Session) -> list[str]:
    """distls warn/error lines, for the report."""
    found = []
    for p in s.procs:
        if not p.label.startswith("distls"):
            continue
        for line in p.log.read_text(errors="replace").splitlines():
            fields = line.split(" ", 2)
            if len(fields) >= 2 and fields[1] in ("warn", "error"):
                found.append(f"{p.label}: {line}")
    return found


def cpu_use(begin, end) -> tuple[dict[str, float], float | None, dict[str, float]]:
    """% of one core per process group between two samples; the % used by all other
    processes; and the kernel's own share (kernel threads, irq + softirq time), which
    carries part of our loopback traffic and is not counted as other load."""
    if not begin or not end or end[0] <= begin[0]:
        return {}, None, {}
    wall = end[0] - begin[0]
    if wall < 0.25:  # a few clock ticks (usually 10 ms each): too coarse to say anything
        return {}, None, {}
    pct = lambda a, b: 100.0 * (b - a) / CLK_TCK / wall
    cpu = {label: pct(begin[1][label], end[1][label]) for label in begin[1] if label != KTHREADS}
    kernel = {KTHREADS: pct(begin[1][KTHREADS], end[1][KTHREADS]),
              "irq+softirq": pct(begin[2][1], end[2][1])}
    other = max(0.0, pct(begin[2][0], end[2][0]) - sum(cpu.values()) - sum(kernel.values()))
    return cpu, other, kernel


def run_once(path: str, env: Env, work: Path) -> RunResult:
    s = Session(work)
    if env.perf_dir:
        env = dataclasses.replace(env, sync_dir=work / "sync")
        env.sync_dir.mkdir()
    try:
        driver = SETUP[path](env, s, path)
        q: queue.Queue = queue.Queue()
        threading.Thread(target=read_lines, args=(driver.popen.stdout, q, work / "node-a.stdout"),
                         daemon=True).start()
        budget = (READY_TIMEOUT + WARMUP_MS / 1000 + env.seconds + 30
                  + len(env.small_sizes) * (env.small_seconds + 30)
                  + (env.pingpongs + WARMUP_PINGS) * 0.002 + 60)
        deadline = time.monotonic() + budget
        pgids = {p.label: p.pgid for p in s.procs}
        bulk = rtt = None
        quantiles: list[float] = []
        small: dict[int, float] = {}
        small_all: dict[int, int] = {}
        samples: dict[str, tuple] = {}  # phase -> (time, ticks per process group, busy ticks)
        prof = Profiler(env.perf_dir, work.name, s.procs) if env.perf_dir else None
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
                phase = line.split()[2]
                if phase.endswith("_ready"):  # only with --perf: attach, then let it go on
                    name = phase[: -len("_ready")]
                    prof.phase(f"{name}_begin")
                    time.sleep(0.5)  # perf attaches in well under this
                    (env.sync_dir / f"go-{name}").touch()
                    continue
                if prof and phase.endswith("_end"):
                    prof.phase(phase)  # stop the profiler before sampling: its exit costs CPU
                samples[phase] = (time.monotonic(), cpu_ticks_by_group(pgids), system_ticks())
            elif word == "bulk":
                bulk = parse_kv(line)
            elif word == "small":
                kv = parse_kv(line)
                small[kv["size"]] = kv["msgs"] / (kv["ns"] / 1e9)
                small_all[kv["size"]] = kv.get("all", 0)
            elif word == "rtt":
                rtt = parse_kv(line)
            elif word == "rtt_quantiles":
                quantiles = [int(x) / 1000 for x in line.split("=", 1)[1].split(",")]
            elif word == "error":
                raise BenchError(f"node-a: {line}")
            elif word == "done":
                break
        if bulk is None or rtt is None:
            driver.popen.wait(timeout=10)
            raise BenchError(f"node-a exited (status {driver.popen.returncode}) without results")
        cpu, other, kernel = {}, {}, {}
        phases = ["bulk", *(f"small{n}" for n in env.small_sizes), "rtt"]
        for phase in phases:
            c, o, k = cpu_use(samples.get(f"{phase}_begin"), samples.get(f"{phase}_end"))
            cpu[phase], other[phase], kernel[phase] = c, o, k
        for p in s.procs:
            if p is not driver and not p.running():
                raise BenchError(f"{p.label} died during the run (status {p.popen.returncode})")
        return RunResult(gbps=bulk["bytes"] / bulk["ns"], rtt_median_us=rtt["median_ns"] / 1000,
                         rtt_mean_us=rtt["mean_ns"] / 1000, rtt_quantiles_us=quantiles,
                         small_mps=small, cpu=cpu, other_cpu=other, kernel_cpu=kernel,
                         log_findings=log_findings(s),
                         profile=prof.results(env.pingpongs, small_all,
                                              bulk.get("all", 0) * MSG_BYTES) if prof else {})
    finally:
        if prof:
            prof.abort()
        s.close()


class Profiler:
    """--perf: during bulk, `perf record -e cpu-clock -g` of each sidecar (where its CPU
    goes: kernel, libcrypto, libssl, distls); during the round trips and each
    small-message stream, `perf stat` of the syscalls and context switches of every
    process of the path (what one round trip or one message costs in kernel crossings
    and wake-ups). Both perturb the numbers of the run they profile, so profiled runs
    are for the profile, not for the table."""

    SIDECARS = ("distls-a", "distls-b", "stunnel-a", "stunnel-b")

    def __init__(self, outdir: Path, run: str, procs: list[Proc]) -> None:
        self.outdir, self.run = outdir, run
        self.procs = {p.label: p for p in procs if p.label != "epmd"}
        self.records: dict[str, PerfRecord] = {}
        self.stats: dict[str, PerfStat] = {}
        self.rtt: dict[str, dict[str, float]] = {}
        self.small: dict[int, dict[str, dict[str, float]]] = {}  # size -> label -> counts
        self.bulk: dict[str, dict[str, float]] = {}

    def phase(self, phase: str) -> None:
        if phase == "bulk_begin" and not self.records:
            for label, p in self.procs.items():
                if label in self.SIDECARS:
                    self.records[label] = PerfRecord(p.pid, self.outdir / f"{self.run}-{label}-bulk.data")
        if phase == "bulk_end":
            for r in self.records.values():
                if r.popen.poll() is None:
                    r.stop()
        if phase.endswith("_begin") and not self.stats:
            name = phase[: -len("_begin")]
            for label, p in self.procs.items():
                self.stats[label] = PerfStat(p.pid, self.outdir / f"{self.run}-{label}-{name}.stat")
        elif phase.endswith("_end") and self.stats:
            counts = {label: st.stop() for label, st in self.stats.items()}
            self.stats = {}
            if phase == "rtt_end":
                self.rtt = counts
            elif phase == "bulk_end":
                self.bulk = counts
            elif phase.startswith("small"):
                self.small[int(phase[len("small"): -len("_end")])] = counts

    def abort(self) -> None:
        for r in self.records.values():
            if r.popen.poll() is None:
                r.stop()
        for st in self.stats.values():
            if st.popen.poll() is None:
                st.stop()

    def results(self, pingpongs: int, small_all: dict[int, int], bulk_bytes: int) -> dict[str, dict]:
        out: dict[str, dict] = {}
        if bulk_bytes:
            for label, counts in self.bulk.items():
                out.setdefault(label, {})["bulk_per_mib"] = {
                    k: v * 2**20 / bulk_bytes for k, v in counts.items() if k != "cpu-clock"}
        for size, by_label in self.small.items():
            n = small_all.get(size)
            for label, counts in by_label.items():
                if n:
                    out.setdefault(label, {}).setdefault("per_message", {})[size] = {
                        k: v / n for k, v in counts.items() if k != "cpu-clock"}
                    if "cpu-clock" in counts:
                        out[label]["per_message"][size]["cpu_us"] = counts["cpu-clock"] * 1000 / n
        for label, r in self.records.items():
            out.setdefault(label, {})["bulk"] = perf_report(r.out)
        for label, counts in self.rtt.items():
            out.setdefault(label, {})["rtt_per_round_trip"] = {
                k: v / pingpongs for k, v in counts.items() if k != "cpu-clock"}
            if "cpu-clock" in counts:  # perf stat reports it in ms
                out[label]["rtt_cpu_us_per_round_trip"] = counts["cpu-clock"] * 1000 / pingpongs
        return out


# ---------------------------------------------------------------------------
# Preparation
# ---------------------------------------------------------------------------

def make_certs(distls: Path, out: Path) -> dict[str, Path]:
    ca = make_ca(distls, out)
    return {pod: issue_cert(distls, ca, node, out / f"pod-{pod}")
            for pod, node in (("a", NODE_A), ("b", NODE_B))}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def median(xs: list[float]) -> float:
    return statistics.median(xs)


def quantile(qs: list[float], p: float) -> float:
    """The p-quantile (0..1) from the driver's 1001 evenly spaced ranks."""
    return qs[round(p * (len(qs) - 1))]


RTT_PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999))


def summarize(paths: list[str], results: dict[str, list[RunResult]]):
    rows = {}
    for path in paths:
        rs = results[path]
        if not rs:
            continue
        row = {
            "gbps": median([r.gbps for r in rs]),
            "gbps_min": min(r.gbps for r in rs),
            "gbps_max": max(r.gbps for r in rs),
            "rtt": median([r.rtt_median_us for r in rs]),
            "rtt_min": min(r.rtt_median_us for r in rs),
            "rtt_max": max(r.rtt_median_us for r in rs),
            "rtt_mean": median([r.rtt_mean_us for r in rs]),
            "runs": len(rs),
        }
        with_q = [r for r in rs if r.rtt_quantiles_us]
        for name, p in RTT_PERCENTILES:
            row[name] = median([quantile(r.rtt_quantiles_us, p) for r in with_q]) if with_q else None
        row["small"] = {}
        for size in sorted({n for r in rs for n in r.small_mps}):
            vals = [r.small_mps[size] for r in rs if size in r.small_mps]
            row["small"][size] = {"mps": median(vals), "min": min(vals), "max": max(vals)}
        per = [r.cpu_s_per_gb() for r in rs if r.cpu_s_per_gb()]
        if per:
            roles = [role for role in ROLE_ORDER if any(role in p for p in per)]
            row["cpu_per_gb"] = {role: median([p.get(role, 0.0) for p in per]) for role in roles}
            totals = [sum(p.values()) for p in per]
            row["cpu_per_gb_total"] = median(totals)
            row["cpu_per_gb_total_min"], row["cpu_per_gb_total_max"] = min(totals), max(totals)
            others = [r.other_cpu.get("bulk") for r in rs if r.other_cpu.get("bulk") is not None]
            row["other_bulk"] = median(others) if others else None
            kern = [r.kernel_s_per_gb() for r in rs if r.kernel_s_per_gb() is not None]
            row["kernel_s_per_gb"] = median(kern) if kern else None
        rows[path] = row
    plain = rows.get("plain")
    for row in rows.values():
        row["ratio"] = row["gbps"] / plain["gbps"] if plain else None
        row["overhead"] = row["rtt"] - plain["rtt"] if plain else None
        for size, v in row["small"].items():
            base = plain["small"].get(size) if plain else None
            v["ratio"] = v["mps"] / base["mps"] if base else None
    return rows


def fmt(x, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def table_lines(paths: list[str], rows: dict) -> list[str]:
    out = ["| path | bulk GB/s | range | × plain | RTT p50 µs | range | p90 | p99 | p99.9 "
           "| RTT overhead µs (p50) | runs |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for path in paths:
        r = rows.get(path)
        if r is None:
            out.append(f"| {path} | not measured | | | | | | | | | 0 |")
            continue
        out.append(
            f"| {path} | {r['gbps']:.3f} | {r['gbps_min']:.3f}–{r['gbps_max']:.3f} "
            f"| {fmt(r['ratio'], '.1%')} | {r['rtt']:.1f} | {r['rtt_min']:.1f}–{r['rtt_max']:.1f} "
            f"| {fmt(r['p90'], '.1f')} | {fmt(r['p99'], '.1f')} | {fmt(r['p99.9'], '.1f')} "
            f"| {fmt(r['overhead'], '+.1f')} | {r['runs']} |")
    return out


def small_table_lines(paths: list[str], rows: dict, sizes: tuple[int, ...]) -> list[str]:
    if not sizes:
        return []
    head = "| path | " + " | ".join(f"{size_label(n)} msgs/s | × plain" for n in sizes) + " |"
    out = [head, "| --- |" + " ---: | ---: |" * len(sizes)]
    for path in paths:
        r = rows.get(path)
        if r is None:
            continue
        cells = []
        for n in sizes:
            v = r["small"].get(n)
            cells += [f"{v['mps'] / 1000:.0f} k ({v['min'] / 1000:.0f}–{v['max'] / 1000:.0f})"
                      if v else "—", fmt(v and v["ratio"], ".1%")]
        out.append(f"| {path} | " + " | ".join(cells) + " |")
    return out


def cpu_table_lines(paths: list[str], rows: dict) -> list[str]:
    out = ["| path | " + " | ".join(ROLE_ORDER) + " | whole path | range | kernel, no process "
           "| other load |",
           "| --- |" + " ---: |" * (len(ROLE_ORDER) + 4)]
    for path in paths:
        r = rows.get(path)
        if r is None or "cpu_per_gb" not in r:
            continue
        cells = [fmt(r["cpu_per_gb"].get(role), ".2f") for role in ROLE_ORDER]
        out.append(f"| {path} | " + " | ".join(cells)
                   + f" | {r['cpu_per_gb_total']:.2f} | {r['cpu_per_gb_total_min']:.2f}–"
                   f"{r['cpu_per_gb_total_max']:.2f} | {fmt(r['kernel_s_per_gb'], '.2f')} "
                   f"| {fmt(r['other_bulk'], '.0f')}% |")
    return out


def size_label(n: int) -> str:
    return f"{n // 1024} KiB" if n >= 1024 and n % 1024 == 0 else f"{n} B"


def target_lines(rows: dict) -> list[str]:
    out = []
    p, st, otp = rows.get("plain"), rows.get("stunnel"), rows.get("inet_tls_dist")
    for name in DISTLS_ENTRY:
        d = rows.get(name)
        if not d:
            continue
        if p:
            ok = d["ratio"] >= TARGET_THROUGHPUT_RATIO
            out.append(f"{'PASS' if ok else 'MISS'}  {name}: bulk throughput {d['ratio']:.1%} of "
                       f"plain (target >= {TARGET_THROUGHPUT_RATIO:.0%})")
        if p and st and otp:
            limit = min(TARGET_RTT_OVERHEAD_SHARE * st["overhead"], otp["overhead"])
            ok = d["overhead"] <= limit
            out.append(f"{'PASS' if ok else 'MISS'}  {name}: RTT overhead {d['overhead']:+.1f} µs; "
                       f"stunnel {st['overhead']:+.1f}, inet_tls_dist {otp['overhead']:+.1f} "
                       f"(target <= half of stunnel's and <= inet_tls_dist's: {limit:+.1f} µs)")
        if "cpu_per_gb_total" in d:
            ok = d["cpu_per_gb_total"] <= TARGET_CPU_PER_GB
            out.append(f"{'PASS' if ok else 'MISS'}  {name}: whole path "
                       f"{d['cpu_per_gb_total']:.2f} CPU-s/GB (target <= {TARGET_CPU_PER_GB})")
        for size, v in sorted(d["small"].items()):
            rivals = {k: rows[k]["small"].get(size) for k in ("stunnel", "inet_tls_dist")
                      if k in rows and rows[k]["small"].get(size)}
            if not rivals:
                continue
            ok = all(v["mps"] > r["mps"] for r in rivals.values())
            vs = ", ".join(f"{k} {r['mps'] / 1000:.0f} k" for k, r in rivals.items())
            out.append(f"{'PASS' if ok else 'MISS'}  {name}: {size_label(size)} messages "
                       f"{v['mps'] / 1000:.0f} k/s ({fmt(v['ratio'], '.1%')} of plain), ahead of "
                       f"{vs}")
    return out or ["n/a   a path the targets compare with was not measured"]


def cpu_lines(paths: list[str], results: dict[str, list[RunResult]]) -> list[str]:
    """Median CPU use of each process over the timed bulk window (100% = one core)."""
    out = []
    for path in paths:
        rs = [r for r in results[path] if r.cpu.get("bulk")]
        if not rs:
            continue
        labels = [l for l in rs[0].cpu["bulk"] if l != "epmd"]
        parts = [f"{l} {median([r.cpu['bulk'].get(l, 0.0) for r in rs]):.0f}%" for l in labels]
        kern = [sum(r.kernel_cpu["bulk"].values()) for r in rs if r.kernel_cpu.get("bulk")]
        if kern:
            parts.append(f"kernel threads + softirq {median(kern):.0f}%")
        others = [r.other_cpu["bulk"] for r in rs if r.other_cpu.get("bulk") is not None]
        if others:
            parts.append(f"other processes {median(others):.0f}%")
        out.append(f"{path}: " + ", ".join(parts))
    return out


OTHER_LOAD_WARN = 25.0  # % of one core used by others in a timed window


def load_warning(results: dict[str, list[RunResult]]) -> str | None:
    loaded = [f"{path} run {i + 1}" for path, rs in results.items() for i, r in enumerate(rs)
              if r.loaded()]
    if not loaded:
        return None
    return (f"{len(loaded)} run(s) measured while other processes used > {OTHER_LOAD_WARN:.0f}% "
            f"of a core ({', '.join(loaded)}); on a small machine that moves both throughput "
            "and round trips, so compare with care (--settle helps)")


def report_lines(args, paths, rows, results) -> list[str]:
    lines = table_lines(paths, rows)
    if args.small_sizes:
        lines += ["", "Small messages, pipelined (messages per second, median and range of the runs):",
                  ""] + small_table_lines(paths, rows, args.small_sizes)
    lines += ["", "CPU-seconds per GB of payload during bulk, by process (median of the runs; "
              "whole path = both nodes and both sidecars; kernel, no process = kernel threads "
              "and irq/softirq time, machine-wide, not in the whole path; other load = % of a "
              "core used by processes outside the benchmark):", ""] + cpu_table_lines(paths, rows)
    lines += ["", "Targets:", ""] + [f"- {t}" for t in target_lines(rows)]
    if warning := load_warning(results):
        lines += ["", f"Warning: {warning}."]
    return lines


def profile_lines(paths: list[str], results: dict[str, list[RunResult]]) -> list[str]:
    """--perf: the first run of each path's profile, as text."""
    out = []
    for path in paths:
        prof = next((r.profile for r in results[path] if r.profile), None)
        if not prof:
            continue
        out.append(f"{path}:")
        for label in sorted(prof):
            p = prof[label]
            if "bulk_per_mib" in p:
                c = p["bulk_per_mib"]
                calls = ", ".join(f"{k} {v:.1f}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])
                                  if k not in ("syscalls", "context-switches") and v >= 0.05)
                out.append(f"  {label} per MiB of bulk: {c.get('syscalls', 0):.1f} syscalls ({calls}), "
                           f"{c.get('context-switches', 0):.1f} context switches")
            if "bulk" in p:
                dso = ", ".join(f"{name} {pct:.0f}%" for pct, name in p["bulk"]["dso"][:6])
                out.append(f"  {label} during bulk, CPU by DSO: {dso}")
                for pct, sym in p["bulk"]["symbols"][:8]:
                    out.append(f"      {pct:5.1f}%  {sym}")
            if "rtt_per_round_trip" in p:
                c = p["rtt_per_round_trip"]
                calls = ", ".join(f"{k} {v:.1f}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])
                                  if k not in ("syscalls", "context-switches") and v >= 0.05)
                out.append(f"  {label} per round trip: {c.get('syscalls', 0):.1f} syscalls ({calls}), "
                           f"{c.get('context-switches', 0):.1f} context switches, "
                           f"{p.get('rtt_cpu_us_per_round_trip', 0):.1f} µs CPU")
            for size, c in sorted(p.get("per_message", {}).items()):
                calls = ", ".join(f"{k} {v:.3f}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])
                                  if k not in ("syscalls", "context-switches", "cpu_us") and v >= 0.005)
                out.append(f"  {label} per {size_label(size)} message: {c.get('syscalls', 0):.3f} syscalls "
                           f"({calls}), {c.get('context-switches', 0):.3f} context switches, "
                           f"{c.get('cpu_us', 0):.2f} µs CPU")
    return out


def write_markdown(file: Path, args, paths, rows, results, facts, loads, notes) -> None:
    lines = ["# distls data-path benchmark", "",
             f"`bench/run.py {shlex.join(args.argv)}`".replace("`bench/run.py `", "`bench/run.py`")
             + f" (runs {args.runs}, bulk {args.seconds:g} s, small messages "
             f"{args.small_seconds:g} s per size, {args.pingpongs} round trips)"
             + f"; A = `{NODE_A}` sends to B = `{NODE_B}`; 64 KiB binaries for bulk; "
             "median of the runs.", ""]
    lines += report_lines(args, paths, rows, results)
    lines += ["", "CPU during the timed bulk window (median over runs, 100% = one core):", ""]
    lines += [f"- {c}" for c in cpu_lines(paths, results)]
    lines += ["", "Per run: GB/s / RTT median µs (other load: CPU used by processes outside "
              "the benchmark during the bulk / round-trip window, % of one core):", ""]
    for path in paths:
        runs = ", ".join(f"{r.gbps:.3f} / {r.rtt_median_us:.1f}"
                         + (f" (other load {r.other_cpu['bulk']:.0f}% / {r.other_cpu['rtt']:.0f}%)"
                            if r.other_cpu.get("bulk") is not None
                            and r.other_cpu.get("rtt") is not None else "")
                         for r in results[path])
        lines.append(f"- {path}: {runs or 'none'}")
    if prof := profile_lines(paths, results):
        lines += ["", "Profile (--perf; profiled runs are slower than unprofiled ones):", "", "```"]
        lines += prof + ["```"]
    lines += ["", "Machine:", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    lines.append(f"- load average at start / end: {loads[0]} / {loads[1]}")
    if notes:
        lines += ["", "Notes from this run:", ""] + [f"- {n}" for n in notes]
    file.write_text("\n".join(lines) + "\n")


def json_report(args, paths, rows, results, facts, loads) -> dict:
    return {
        "kind": "run",
        "argv": args.argv,
        "paths": paths,
        "small_sizes": list(args.small_sizes),
        "bulk_bytes": MSG_BYTES,
        "summary": {p: {**r, "small": {str(k): v for k, v in r["small"].items()}}
                    for p, r in rows.items()},
        "runs": {p: [{**dataclasses.asdict(r), "cpu_s_per_gb": r.cpu_s_per_gb(),
                      "small_mps": {str(k): v for k, v in r.small_mps.items()}}
                     for r in results[p]] for p in paths},
        "machine": facts,
        "load": loads,
    }


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

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
        cpu = ", ".join(f"{k} {v:.0f}%" for k, v in r.cpu.get("bulk", {}).items() if k != "epmd")
        others = [f"{ph} {v:.0f}%" for ph, v in r.other_cpu.items() if v is not None and v > 5]
        if others:
            cpu += "; other load " + ", ".join(others)
        small = " ".join(f"{size_label(n)} {v / 1000:.0f}k/s" for n, v in sorted(r.small_mps.items()))
        retry = r.loaded() and attempt < args.retry_loaded
        print(f"run {run} {path:<13} {r.gbps:6.3f} GB/s  RTT p50 {r.rtt_median_us:6.1f} µs  "
              f"{small}  ({time.monotonic() - t0:.1f} s; CPU in bulk: {cpu})"
              f"{'  -> loaded, measuring again' if retry else ''}", flush=True)
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
    ap.add_argument("--small-seconds", type=float, default=1.0,
                    help="timed stream per small-message size per run, after 0.3 s [1]")
    ap.add_argument("--small-sizes", default=",".join(str(n) for n in SMALL_SIZES),
                    help="payload bytes of the small-message streams, or 'none' [64,256,1024]")
    ap.add_argument("--pingpongs", type=int, default=20000,
                    help=f"timed round trips per run, after {WARMUP_PINGS} warm-up ones [20000]")
    ap.add_argument("--paths", default=",".join(PATHS),
                    help=f"comma-separated subset of {','.join(PATHS)} [all]")
    ap.add_argument("--markdown", type=Path, help="also write the tables and machine facts here")
    ap.add_argument("--json", type=Path, help="also write every number (and the RTT quantiles) here")
    ap.add_argument("--plot", type=Path, metavar="DIR",
                    help="write PNG charts (throughput by size, RTT CDF, CPU per GB) and "
                         "run.json into DIR (needs python3-matplotlib)")
    ap.add_argument("--erl-flags", default="",
                    help="extra emulator flags for every node, e.g. '+sbwt none' [none]")
    ap.add_argument("--distls-flags", default="",
                    help="extra `distls proxy` flags for every distls, e.g. '--max-connections 4096' [none]")
    ap.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                    help="before each run, wait up to this long for the machine to be <25%% busy, "
                         "so other work (a compile) does not skew one path [0: off]")
    ap.add_argument("--retry-loaded", type=int, default=0, metavar="N",
                    help="measure a run again, up to N times, when other processes used more "
                         f"than {OTHER_LOAD_WARN:.0f}%% of a core during it [0]")
    ap.add_argument("--perf", type=Path, metavar="DIR",
                    help="profile with perf into DIR: cpu-clock samples of each sidecar during "
                         "bulk, syscalls and context switches of every process per round trip "
                         "(profiled runs are slower: use them for the profile, not the table)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, certs)")
    args = ap.parse_args(argv)
    args.argv = []  # for the report: the command line without output files
    skip = False
    for a in argv:
        if not skip and not a.split("=")[0] in ("--markdown", "--json", "--plot", "--perf"):
            args.argv.append(a)
        skip = a in ("--markdown", "--json", "--plot", "--perf")
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    bad = [p for p in paths if p not in PATHS]
    if bad or not paths:
        ap.error(f"--paths: unknown {bad}; choose from {','.join(PATHS)}")
    try:
        args.small_sizes = tuple(int(x) for x in args.small_sizes.split(",")
                                 if x.strip() and x.strip() != "none")
    except ValueError:
        ap.error("--small-sizes: comma-separated byte counts, or 'none'")
    if (args.runs < 1 or args.seconds <= 0 or args.small_seconds <= 0 or args.pingpongs < 1
            or args.retry_loaded < 0 or any(n < 1 for n in args.small_sizes)):
        ap.error("--runs, --seconds, --small-seconds, --small-sizes and --pingpongs must be "
                 "positive, --retry-loaded >= 0")
    return args, paths


def main(argv: list[str]) -> int:
    args, paths = parse_args(argv)
    beams = tuple(ENTRY_BEAMS[DISTLS_ENTRY[p]] for p in paths if p in DISTLS_ENTRY)
    # Needed even without a distls path: every TLS path uses certificates from `distls ca`.
    distls, distls_ebin = find_build(args.build, beams)
    need_tools("erl", "erlc", "epmd")
    stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
    if args.perf:
        if why := perf_usable():
            print(f"--perf: {why}", file=sys.stderr)
            return 2
        args.perf = args.perf.resolve()
        args.perf.mkdir(parents=True, exist_ok=True)
    install_signal_handlers()

    results: dict[str, list[RunResult]] = {p: [] for p in paths}
    notes: list[str] = []
    with scratch("distls-bench-", args.keep) as work_dir:
        work = work_dir.path
        env = Env(distls=distls, distls_ebin=distls_ebin, bench_ebin=compile_modules(work),
                  stunnel=stunnel, certs=make_certs(distls, work),
                  erl_flags=shlex.split(args.erl_flags), distls_flags=shlex.split(args.distls_flags),
                  seconds=args.seconds, small_seconds=args.small_seconds,
                  small_sizes=args.small_sizes, pingpongs=args.pingpongs, perf_dir=args.perf)
        facts = machine_facts(distls, stunnel)
        loads = [loadavg(), ""]
        print(f"distls data-path benchmark: {', '.join(paths)}; {args.runs} run(s), "
              f"{args.seconds:g} s bulk, small messages {','.join(map(str, args.small_sizes)) or 'none'}"
              f" ({args.small_seconds:g} s each), {args.pingpongs} round trips; work dir {work}")
        print(f"{facts['nproc']} CPUs ({facts['cpu']}), {facts['kernel']}, OTP {facts['otp']}, "
              f"load {loads[0]}", flush=True)
        for run in range(1, args.runs + 1):
            for path in paths:
                r = measure(path, run, env, work, args, notes)
                if r is None:
                    work_dir.keep = True
                    continue
                results[path].append(r)
                for finding in r.log_findings:
                    print(f"  {finding}", flush=True)
                    notes.append(f"run {run} {finding}")
        loads[1] = loadavg()
        rows = summarize(paths, results)
        print()
        print("\n".join(report_lines(args, paths, rows, results)))
        print()
        print("CPU during the timed bulk window (median, 100% = one core):")
        print("\n".join(f"  {c}" for c in cpu_lines(paths, results)))
        print(f"load average at start / end: {loads[0]} / {loads[1]}")
        if prof := profile_lines(paths, results):
            print()
            print("Profile (--perf; profiled runs are slower than unprofiled ones):")
            print("\n".join(prof))
        if args.markdown:
            write_markdown(args.markdown, args, paths, rows, results, facts, loads, notes)
            print(f"wrote {args.markdown}")
        report = json_report(args, paths, rows, results, facts, loads)
        if args.json:
            write_json(args.json, report)
            print(f"wrote {args.json}")
        if args.plot:
            data = args.plot / "run.json"
            write_json(data, report)
            for png in make_plots("run", data, args.plot):
                print(f"wrote {png}")
        missing = [p for p in paths if not results[p]]
        if missing:
            print(f"could not measure: {', '.join(missing)}", file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
