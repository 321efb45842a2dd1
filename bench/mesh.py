#!/usr/bin/env python3
"""A full mesh of N Erlang nodes, each behind its own distls, found through DNS.

    python3 bench/mesh.py [--sizes 4,8,16,32] [--entry epmd_module|proto_dist] [--plot DIR]

For each N: pod k is `app@127.0.0.(100+k)` (a loopback alias as pod IP) with its own
distls (TLS on 127.0.0.(100+k), its own EPMD-compatible port on 127.0.0.1, a certificate
it makes itself with --cert-source local-ca from one CA made by `distls ca init`) and
discovery `dns-a:app.mesh.distls.test` through a real dnsmasq on a loopback port, which
answers with all N addresses, as a headless Service does. Nobody calls connect_node: the
mesh forms through distls discovery (distls_discovery in each node) and OTP's global.

Measured, per N:

  - launch -> full mesh: from starting the first distls (all N sidecars start at once,
    then, when every sidecar answers, all N nodes at once, as native sidecars start before
    the app) until every node's nodes() holds the N-1 others, seen from each node's own
    nodeup events (bench/erl/bench_mesh.erl), not by polling; also from the last node up
    to the full mesh
  - distls and node RSS and CPU at idle in the full mesh, over --idle seconds after
    --settle seconds; tunnels per sidecar and TLS handshakes it took (distls /metrics)
  - heal: one pod killed (kill -9 of its node and its distls) and restarted at once on
    the same address; time until every node holds the N-1 others again, and idle RSS
    and CPU again afterwards

Then a least-squares fit of each per-pod figure against N-1 (tunnels per sidecar) and
its value at --extrapolate nodes (300), beside what the per-tunnel memory and the
handshake cost measured by idle_tunnels.py and handshakes.py imply; see
docs/benchmarks.md for the paper estimate.
"""

from __future__ import annotations

import argparse
import random
import shlex
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchlib import (REPO_ROOT, BenchError, Proc, Session, compile_modules, describe_failure,
                      find_build, free_port, http_status, install_signal_handlers, loadavg,
                      machine_facts, make_ca, make_plots, metrics, need_tools, proc_cpu_precise,
                      proc_memory_kib, raise_nofile, wait_for, write_json, scratch)

BASE = 100  # pod k is 127.0.0.(BASE + k)
DOMAIN = "distls.test"
SERVICE = f"app.mesh.{DOMAIN}"
COOKIE = "distls-mesh"
MESH_TIMEOUT = 300.0
ENTRY_BEAMS = {"epmd_module": "distls_epmd.beam", "proto_dist": "distls_dist.beam"}


def dns_a_count(port: int, name: str) -> int:
    """A records for `name` from the DNS server on 127.0.0.1:port; -1 when it does not answer."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    # EDNS0 with a 4096-byte UDP payload: 32 A records do not fit the classic 512 bytes.
    q += b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        try:
            s.sendto(q, ("127.0.0.1", port))
            data, _ = s.recvfrom(4096)
        except OSError:
            return -1
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return -1
    return struct.unpack(">H", data[6:8])[0]


class NodeView:
    """One node's connections, from its `MESH ...` lines (a reader thread per node)."""

    def __init__(self, name: str, proc: Proc, events: list, lock: threading.Lock,
                 log: Path) -> None:
        self.name = name
        self.proc = proc
        self.peers: set[str] = set()
        self.ready_at: float | None = None
        self.up_at: dict[str, float] = {}  # peer -> time of its latest nodeup
        self._events, self._lock = events, lock
        self._log = log
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with open(self._log, "ab") as log:
            self._read_into(log)

    def _read_into(self, log) -> None:
        for raw in iter(self.proc.popen.stdout.readline, b""):
            now = time.monotonic()
            log.write(f"{now:.6f} ".encode() + raw)
            log.flush()
            parts = raw.decode("utf-8", "replace").split()
            if len(parts) < 2 or parts[0] != "MESH":
                continue
            with self._lock:
                if parts[1] == "ready":
                    self.ready_at = now
                elif parts[1] == "up":
                    self.peers.add(parts[2])
                    self.up_at[parts[2]] = now
                elif parts[1] == "down":
                    self.peers.discard(parts[2])
                self._events.append((now, self.name, parts[1], parts[2] if len(parts) > 2 else ""))


class Mesh:
    def __init__(self, n: int, args, distls: Path, ebin: Path, bench_ebin: Path, ca: Path,
                 work: Path) -> None:
        self.n, self.args, self.distls, self.ebin, self.bench_ebin = n, args, distls, ebin, bench_ebin
        self.ca, self.work = ca, work
        self.s = Session(work)
        self.ips = [f"127.0.0.{BASE + k}" for k in range(1, n + 1)]
        self.names = [f"app@{ip}" for ip in self.ips]
        self.tls_port = free_port(self.ips)
        self.epmd = {ip: free_port() for ip in self.ips}
        self.admin = {ip: free_port() for ip in self.ips}
        self.distls_procs: dict[str, Proc] = {}
        self.killed: list[Proc] = []
        self.views: dict[str, NodeView] = {}
        self.events: list = []
        self.lock = threading.Lock()
        self.dns_port = free_port()

    def start_dns(self) -> None:
        hosts = self.work / "hosts"
        hosts.write_text("".join(f"{ip} {SERVICE}\n" for ip in self.ips))
        dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        # As tests/integration/harness.py runs it: authoritative for the test domain, no
        # upstream, TTL 0 so every refresh asks again.
        p = self.s.start("dnsmasq", [
            dnsmasq, "--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null",
            "--pid-file", "--no-resolv", "--no-hosts", "--no-poll", "--user=root",
            "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={self.dns_port}",
            f"--addn-hosts={hosts}", "--local-ttl=0", f"--local=/{DOMAIN}/"])
        wait_for(f"dnsmasq to answer {self.n} A records",
                 lambda: dns_a_count(self.dns_port, SERVICE) == self.n, procs=[p])

    def start_distls(self, ip: str) -> Proc:
        argv = [*shlex.split(self.args.distls_wrapper), str(self.distls), "proxy", "--node", f"app@{ip}", "--listen", f"{ip}:{self.tls_port}",
                "--peer-port", str(self.tls_port), "--epmd", f"127.0.0.1:{self.epmd[ip]}",
                "--admin", f"127.0.0.1:{self.admin[ip]}", "--cert-source", "local-ca",
                "--ca-cert", str(self.ca / "ca.crt"), "--ca-key", str(self.ca / "ca.key"),
                "--discovery", f"dns-a:{SERVICE}", "--dns-server", f"127.0.0.1:{self.dns_port}",
                "--refresh", self.args.refresh, *shlex.split(self.args.distls_flags)]
        p = self.s.start(f"distls-{ip}", argv)
        self.distls_procs[ip] = p
        return p

    def wait_distls(self, ips: list[str]) -> None:
        for ip in ips:
            for attempt in range(3):
                try:
                    wait_for(f"distls {ip} /healthz", lambda ip=ip: http_status(
                        f"http://127.0.0.1:{self.admin[ip]}/healthz") == 200,
                        timeout=MESH_TIMEOUT, procs=[self.distls_procs[ip]])
                    break
                except BenchError:
                    # Another program on this shared machine may take a port between our
                    # choosing it and distls binding it: choose again.
                    if attempt == 2 or "Address already in use" not in \
                            self.distls_procs[ip].log.read_text(errors="replace"):
                        raise
                    self.killed.append(self.distls_procs[ip])
                    self.epmd[ip], self.admin[ip] = free_port(), free_port()
                    self.start_distls(ip)


    def start_node(self, ip: str) -> NodeView:
        entry = (["-proto_dist", "distls", "-start_epmd", "false", "-pa", str(self.ebin)]
                 if self.args.entry == "proto_dist" else
                 ["-epmd_module", "distls_epmd", "-start_epmd", "false", "-kernel",
                  "inet_dist_use_interface", "{127,0,0,1}", "-pa", str(self.ebin)])
        argv = ["erl", "-noshell", "-name", f"app@{ip}", "-setcookie", COOKIE,
                "-pa", str(self.bench_ebin), *entry, *shlex.split(self.args.erl_flags),
                "-eval", "bench_mesh:start()"]
        p = self.s.start(f"node-{ip}", argv, {"ERL_EPMD_PORT": str(self.epmd[ip])}, pipe_stdout=True)
        v = NodeView(f"app@{ip}", p, self.events, self.lock, self.work / f"node-{ip}.stdout")
        self.views[ip] = v
        return v

    def full(self, since: float = 0.0, fresh: str | None = None) -> bool:
        """Every node holds the N-1 others; with `fresh`, every other node has seen that
        one come up after `since` (so a stale pre-kill view does not count)."""
        with self.lock:
            for ip, v in self.views.items():
                if len(v.peers) != self.n - 1:
                    return False
                if fresh and v.name != fresh and v.up_at.get(fresh, 0.0) < since:
                    return False
        return True

    def missing(self) -> str:
        """Which node lacks which peers, for a timeout message."""
        with self.lock:
            out = [f"{v.name} lacks {sorted(set(self.names) - v.peers - {v.name})}"
                   for v in self.views.values() if len(v.peers) != self.n - 1]
        return "; ".join(out) or "every node holds N-1 peers (one has not seen the restarted node come up)"

    def wait_full(self, what: str, since: float = 0.0, fresh: str | None = None) -> None:
        try:
            wait_for(what, lambda: self.full(since, fresh), timeout=MESH_TIMEOUT, procs=self.live())
        except BenchError as e:
            raise BenchError(f"{e}: {self.missing()}") from None

    def live(self) -> list[Proc]:
        """Every process that should be running (not the ones killed on purpose)."""
        return [p for p in self.s.procs if p not in self.killed]

    def sample_idle(self) -> dict:
        """RSS, CPU over --idle seconds, tunnels and handshakes of every pod."""
        time.sleep(self.args.settle)
        cpu0 = {ip: (proc_cpu_precise(self.distls_procs[ip].pid),
                     proc_cpu_precise(self.views[ip].proc.pid)) for ip in self.ips}
        t0 = time.monotonic()
        time.sleep(self.args.idle)
        wall = time.monotonic() - t0
        pods = {}
        for ip in self.ips:
            d, nd = self.distls_procs[ip].pid, self.views[ip].proc.pid
            m = metrics(self.admin[ip])
            pods[ip] = {
                "distls_rss_kib": proc_memory_kib(d)["VmRSS"],
                "node_rss_kib": proc_memory_kib(nd)["VmRSS"],
                "distls_cpu_pct": 100 * (proc_cpu_precise(d) - cpu0[ip][0]) / wall,
                "node_cpu_pct": 100 * (proc_cpu_precise(nd) - cpu0[ip][1]) / wall,
                "tunnels_open": m.get('distls_tunnels_open{direction="in"}', 0)
                + m.get('distls_tunnels_open{direction="out"}', 0),
                "tunnels_in_total": m.get('distls_tunnels_total{direction="in"}', 0),
                "tunnels_out_total": m.get('distls_tunnels_total{direction="out"}', 0),
                "handshake_failures": sum(v for k, v in m.items()
                                          if k.startswith("distls_handshake_failures_total")),
            }
        if not self.full():
            raise BenchError("the mesh lost a connection during the idle window")
        return {"window_s": wall, "pods": pods}

    def close(self) -> None:
        self.s.close()


def agg(idle: dict) -> dict:
    pods = list(idle["pods"].values())
    med = lambda k: statistics.median(p[k] for p in pods)
    return {
        "distls_rss_kib_median": med("distls_rss_kib"),
        "distls_rss_kib_max": max(p["distls_rss_kib"] for p in pods),
        "node_rss_kib_median": med("node_rss_kib"),
        "distls_cpu_pct_median": med("distls_cpu_pct"),
        "distls_cpu_pct_max": max(p["distls_cpu_pct"] for p in pods),
        "node_cpu_pct_median": med("node_cpu_pct"),
        "tunnels_per_pod_median": med("tunnels_open"),
        "tunnels_per_pod_max": max(p["tunnels_open"] for p in pods),
        "handshakes_total": sum(p["tunnels_in_total"] for p in pods),
        "handshake_failures_total": sum(p["handshake_failures"] for p in pods),
    }


def run_size(n: int, args, distls: Path, ebin: Path, bench_ebin: Path, ca: Path, work: Path) -> dict:
    m = Mesh(n, args, distls, ebin, bench_ebin, ca, work)
    try:
        m.start_dns()
        t0 = time.monotonic()
        for ip in m.ips:
            m.start_distls(ip)
        m.wait_distls(m.ips)
        t_sidecars = time.monotonic()
        for ip in m.ips:
            m.start_node(ip)
        wait_for(f"all {n} nodes up", lambda: all(v.ready_at for v in m.views.values()),
                 timeout=MESH_TIMEOUT, procs=m.live())
        t_nodes = max(v.ready_at for v in m.views.values())
        m.wait_full(f"a full mesh of {n}")
        with m.lock:
            t_mesh = max(max(v.up_at.values()) for v in m.views.values())
        print(f"  N={n}: sidecars up {t_sidecars - t0:.1f} s, nodes up {t_nodes - t0:.1f} s, "
              f"full mesh {t_mesh - t0:.1f} s after launch", flush=True)
        idle = m.sample_idle()
        a = agg(idle)
        print(f"  N={n}: idle over {idle['window_s']:.0f} s: distls RSS median "
              f"{a['distls_rss_kib_median'] / 1024:.1f} MiB, CPU median {a['distls_cpu_pct_median']:.2f}% "
              f"(max {a['distls_cpu_pct_max']:.2f}%), tunnels/pod {a['tunnels_per_pod_median']:.0f}, "
              f"handshakes {a['handshakes_total']:.0f}", flush=True)

        # Heal: a pod crashes (node and sidecar, kill -9) and comes back on its address.
        victim = m.ips[n // 2]
        name = f"app@{victim}"
        t_kill = time.monotonic()
        for p in (m.views[victim].proc, m.distls_procs[victim]):
            p.kill()
            m.killed.append(p)
        m.start_distls(victim)
        m.wait_distls([victim])
        m.start_node(victim)
        wait_for(f"{name} back", lambda: m.views[victim].ready_at, timeout=MESH_TIMEOUT, procs=m.live())
        t_back = m.views[victim].ready_at
        m.wait_full(f"the mesh of {n} healed", t_kill, name)
        with m.lock:
            t_healed = max([max(m.views[victim].up_at.values())]
                           + [v.up_at[name] for ip, v in m.views.items() if ip != victim])
        print(f"  N={n}: pod {victim} killed and restarted: node back {t_back - t_kill:.1f} s, "
              f"mesh healed {t_healed - t_kill:.1f} s after the kill", flush=True)
        idle2 = m.sample_idle()
        a2 = agg(idle2)
        return {
            "n": n,
            "launch_to_sidecars_s": t_sidecars - t0,
            "launch_to_nodes_s": t_nodes - t0,
            "launch_to_mesh_s": t_mesh - t0,
            "ready_to_mesh_s": t_mesh - t_nodes,
            "heal_s": t_healed - t_kill,
            "heal_node_back_s": t_back - t_kill,
            "heal_after_node_back_s": t_healed - t_back,
            "idle_window_s": idle["window_s"],
            **a,
            "after_heal": a2,
            "idle": idle,
            "idle_after_heal": idle2,
        }
    finally:
        m.close()


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares a + b*x."""
    if len(xs) < 2:
        return ys[0], 0.0
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - b * mx, b


def report(rows: list[dict], args) -> list[str]:
    lines = ["| N | launch → full mesh s | last node up → mesh s | heal s (kill → healed) "
             "| tunnels / sidecar | handshakes | distls RSS MiB (median / max) | distls idle CPU % "
             "(median / max) | node RSS MiB | node idle CPU % | after heal: distls RSS / CPU % |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        h = r["after_heal"]
        lines.append(
            f"| {r['n']} | {r['launch_to_mesh_s']:.1f} | {r['ready_to_mesh_s']:.1f} | {r['heal_s']:.1f} "
            f"| {r['tunnels_per_pod_median']:.0f} | {r['handshakes_total']:.0f} "
            f"| {r['distls_rss_kib_median'] / 1024:.1f} / {r['distls_rss_kib_max'] / 1024:.1f} "
            f"| {r['distls_cpu_pct_median']:.2f} / {r['distls_cpu_pct_max']:.2f} "
            f"| {r['node_rss_kib_median'] / 1024:.1f} | {r['node_cpu_pct_median']:.2f} "
            f"| {h['distls_rss_kib_median'] / 1024:.1f} / {h['distls_cpu_pct_median']:.2f} |")
    x = [r["n"] - 1 for r in rows]
    big = args.extrapolate
    lines.append("")
    lines.append(f"Fitted against tunnels per sidecar (N-1), and at N = {big} ({big - 1} tunnels per sidecar):")
    lines.append("")
    for key, label, unit, scale in (
            ("distls_rss_kib_median", "distls RSS", "MiB", 1 / 1024),
            ("distls_cpu_pct_median", "distls idle CPU", "% of a core", 1),
            ("node_cpu_pct_median", "node idle CPU", "% of a core", 1),
            ("launch_to_mesh_s", "launch → full mesh", "s", 1),
            ("heal_s", "heal", "s", 1)):
        ys = [r[key] * scale for r in rows]
        a, b = fit(x, ys)
        if len(rows) < 2:
            lines.append(f"- {label}: {ys[0]:.2f} {unit} (one size: nothing to fit)")
        elif b <= 0:
            lines.append(f"- {label}: no growth with N measured ({min(ys):.2f}–{max(ys):.2f} {unit})")
        else:
            lines.append(f"- {label}: {a:.2f} + {b:.4f} × (N-1) {unit}; at N = {big}: "
                         f"{a + b * (big - 1):.1f} {unit}")
    hs = [r["handshakes_total"] for r in rows]
    lines.append(f"- handshakes to form the mesh: measured {', '.join(f'{h:.0f}' for h in hs)} for N = "
                 f"{', '.join(str(r['n']) for r in rows)} (N(N-1)/2 = "
                 f"{', '.join(str(r['n'] * (r['n'] - 1) // 2) for r in rows)}); at N = {big}: "
                 f"{big * (big - 1) // 2} cluster-wide, {big - 1} per sidecar")
    return lines


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=REPO_ROOT / "build")
    ap.add_argument("--sizes", default="4,8,16,32", help="mesh sizes N [4,8,16,32]")
    ap.add_argument("--entry", choices=ENTRY_BEAMS, default="epmd_module",
                    help="the nodes' entry point: -epmd_module distls_epmd or -proto_dist distls")
    ap.add_argument("--refresh", default="5s", help="distls --refresh (discovery interval) [5s, the default]")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after the mesh forms before the idle window [5]")
    ap.add_argument("--idle", type=float, default=15.0, help="idle window, seconds [15]")
    ap.add_argument("--extrapolate", type=int, default=300, help="cluster size to extrapolate to [300]")
    ap.add_argument("--distls-flags", default="", help="extra `distls proxy` flags for every sidecar")
    ap.add_argument("--erl-flags", default="", help="extra emulator flags for every node")
    ap.add_argument("--distls-wrapper", default="",
                    help="a command every distls runs under, e.g. 'valgrind --log-file=vg.%%p' "
                         "(timings are then meaningless) [none]")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--plot", type=Path, metavar="DIR", help="write mesh.png (and mesh.json) here")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    try:
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        ap.error("--sizes: comma-separated integers")
    if not sizes or any(n < 2 or n > 150 for n in sizes):
        ap.error("--sizes: each between 2 and 150 (pods are 127.0.0.101 onwards)")
    distls, ebin = find_build(args.build, (ENTRY_BEAMS[args.entry],))
    need_tools("erl", "erlc")
    if not (shutil.which("dnsmasq") or Path("/usr/sbin/dnsmasq").exists()):
        print("dnsmasq not found (apt-get install dnsmasq-base)", file=sys.stderr)
        return 2
    raise_nofile()
    install_signal_handlers()
    with scratch("distls-mesh-", args.keep) as work_dir:
        work = work_dir.path
        bench_ebin = compile_modules(work)
        ca = make_ca(distls, work)
        facts = machine_facts(distls)
        print(f"mesh: sizes {sizes}, entry {args.entry}, refresh {args.refresh}; work dir {work}; "
              f"load {loadavg()}", flush=True)
        rows = []
        for n in sizes:
            d = work / f"n{n}"
            d.mkdir()
            try:
                rows.append(run_size(n, args, distls, ebin, bench_ebin, ca, d))
            except (BenchError, OSError, subprocess.SubprocessError) as e:
                work_dir.keep = True
                print(describe_failure(f"N={n}", d, e), file=sys.stderr)
        if not rows:
            return 1
        lines = report(rows, args)
        print()
        print("\n".join(lines))
        data = {"kind": "mesh", "sizes": [{k: v for k, v in r.items() if k not in ("idle", "idle_after_heal")}
                                          for r in rows],
                "raw": rows, "machine": facts, "argv": argv, "entry": args.entry,
                "refresh": args.refresh}
        if args.json:
            write_json(args.json, data)
        if args.markdown:
            args.markdown.write_text("# Mesh\n\n`bench/mesh.py " + shlex.join(argv) + "`\n\n"
                                     + "\n".join(lines) + "\n")
        if args.plot:
            write_json(args.plot / "mesh.json", data)
            for png in make_plots("mesh", args.plot / "mesh.json", args.plot):
                print(f"wrote {png}")
        return 0 if len(rows) == len(sizes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
