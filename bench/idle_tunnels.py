#!/usr/bin/env python3
"""Memory per idle tunnel: 1,000 established, idle tunnels through a pair of distls.

    python3 bench/idle_tunnels.py [--tunnels 1000] [--steps 4] [--plot DIR]

The rig, all on loopback aliases:

  this script ──plain TCP──▶ distls A ══mutual TLS══▶ distls B ──plain TCP──▶ fake node B
  (1,000 sockets to A's       (a@127.0.0.12,            (b@127.0.0.13,          (fake_node.py
   per-peer port for b@...)    outbound tunnels)          inbound tunnels)        --mode hold)

Each connection is what a node's dist connection is: it asks A for the per-peer port of
`b@127.0.0.13` (PORT_PLEASE2_REQ with the full name, as distls_epmd does), connects to it
and sends a valid send_name frame for `nK@127.0.0.12`: A dials B with TLS and verifies B's
certificate, B verifies A's, checks the frame's host part against A's certificate and the
source address, connects to the node B registered (ALIVE2_REQ) and forwards the frame.
Every tunnel is then idle: nothing more crosses it. The alive parts differ (n1, n2, ...);
distls binds only the host part to the certificate. Both sidecars' memory is measured:
A holds the outbound ends, B the inbound ends.

Before every sample the script checks the tunnels are really open (/metrics
`distls_tunnels_open` on both sidecars, and the fake node's count of held connections),
waits --idle seconds and reads VmRSS from /proc. The figure is (RSS with N tunnels - RSS
with none) / N, per sidecar. Rig settings, stated because they matter: both distls run
with --handshake-rate 0 (the default 20/s per source would throttle the rig, all of
whose tunnels come from one address), --max-connections / --max-outbound 3 x the tunnel
count, --handshake-timeout 30s; RLIMIT_NOFILE is raised to the hard limit for every
process (distls raises its own too).
"""

from __future__ import annotations

import argparse
import shlex
import socket
import struct
import sys
import time
from pathlib import Path

from benchlib import (PAGE_KIB, REPO_ROOT, BenchError, Session, describe_failure, find_build, free_port, http_status, install_signal_handlers,
                      issue_cert, loadavg, machine_facts, make_ca, make_plots, massif_peak, metrics,
                      need_tools, port_please,
                      proc_cpu_precise, proc_memory_kib, raise_nofile, read_stdout_line,
                      sockstat_tcp_pages, wait_for, write_json, scratch)

IP_A, IP_B = "127.0.0.12", "127.0.0.13"
NODE_A, NODE_B = f"a@{IP_A}", f"b@{IP_B}"
TARGET_KIB_PER_TUNNEL = 64
DIST_FLAGS = 0x000D_07DF_7FBD  # what OTP 25 announces in its send_name: any plausible set
OPEN_DEADLINE = 120.0  # seconds for one batch of tunnels to come up


def send_name_frame(name: str, creation: int = 1) -> bytes:
    """The 'N' form of send_name (OTP 23+): Flags:64, Creation:32, NLen:16, Name."""
    n = name.encode()
    body = b"N" + struct.pack(">QIH", DIST_FLAGS, creation, len(n)) + n
    return struct.pack(">H", len(body)) + body


def tunnels_open(admin: int, direction: str) -> int:
    return int(metrics(admin).get(f'distls_tunnels_open{{direction="{direction}"}}', -1))


def sample(session_procs: dict, admin_a: int, admin_b: int, n: int, holding) -> dict:
    a, b = session_procs["distls-a"], session_procs["distls-b"]
    ma, mb = proc_memory_kib(a.pid), proc_memory_kib(b.pid)
    return {
        "tunnels": n,
        "open_out_a": tunnels_open(admin_a, "out"),
        "open_in_b": tunnels_open(admin_b, "in"),
        "held_by_node_b": holding(),
        "rss_kib_a": ma["VmRSS"], "rss_kib_b": mb["VmRSS"],
        "anon_kib_a": ma.get("RssAnon"), "anon_kib_b": mb.get("RssAnon"),
        "hwm_kib_a": ma.get("VmHWM"), "hwm_kib_b": mb.get("VmHWM"),
        "cpu_s_a": proc_cpu_precise(a.pid), "cpu_s_b": proc_cpu_precise(b.pid),
        "kernel_tcp_kib": sockstat_tcp_pages() * PAGE_KIB,
    }


class HoldCounter:
    """The fake node's latest `HOLDING n` line, read without blocking the rig."""

    def __init__(self, proc) -> None:
        import threading
        self.value = 0
        self.proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in iter(self.proc.popen.stdout.readline, b""):
            line = raw.decode().strip()
            if line.startswith("HOLDING "):
                self.value = int(line.split()[1])

    def __call__(self) -> int:
        return self.value


def run(args, distls: Path, work: Path, wrapper: dict[str, list[str]] | None = None) -> dict:
    """Opens the tunnels step by step, sampling memory at each step. `wrapper` runs a
    sidecar under a profiler (--massif): pod -> argv prefix."""
    ca = make_ca(distls, work)
    certs = {"a": issue_cert(distls, ca, NODE_A, work / "pod-a"),
             "b": issue_cert(distls, ca, NODE_B, work / "pod-b")}
    tls_port = free_port((IP_A, IP_B))
    cap = str(max(4096, 3 * args.tunnels))
    rig = ["--handshake-rate", "0", "--max-connections", cap, "--max-outbound", cap,
           "--handshake-timeout", "30s"]
    s = Session(work)
    try:
        pods = {}
        for pod, ip, node in (("a", IP_A, NODE_A), ("b", IP_B, NODE_B)):
            epmd, admin = free_port(), free_port()
            c = certs[pod]
            proc = s.start(f"distls-{pod}", [
                *(wrapper or {}).get(pod, []), str(distls), "proxy", "--node", node, "--listen", f"{ip}:{tls_port}",
                "--peer-port", str(tls_port), "--epmd", f"127.0.0.1:{epmd}",
                "--admin", f"127.0.0.1:{admin}", "--cert", str(c / "tls.crt"),
                "--key", str(c / "tls.key"), "--trust-bundle", str(c / "ca.crt"),
                *rig, *shlex.split(args.distls_flags)])
            pods[pod] = (proc, epmd, admin)
        for pod, (proc, _, admin) in pods.items():
            wait_for(f"distls-{pod} /healthz",
                     lambda admin=admin: http_status(f"http://127.0.0.1:{admin}/healthz") == 200,
                     procs=[proc])
        nodes = {}
        for pod, alive in (("a", "a"), ("b", "b")):
            proc, epmd, admin = pods[pod]
            node = s.start(f"fake-node-{pod}", [sys.executable, str(REPO_ROOT / "bench" / "fake_node.py"),
                                                "--epmd-port", str(epmd), "--alive", alive,
                                                "--mode", "hold"], pipe_stdout=True)
            read_stdout_line(node, "REGISTERED")
            nodes[pod] = node
            wait_for(f"distls-{pod} /readyz", lambda admin=admin: http_status(
                f"http://127.0.0.1:{admin}/readyz") == 200, procs=[proc, node])
        holding = HoldCounter(nodes["b"])
        (_, epmd_a, admin_a), (_, _, admin_b) = pods["a"], pods["b"]
        procs = {p.label: p for p in s.procs}
        peer_port = port_please(epmd_a, NODE_B)

        time.sleep(args.idle)
        steps = [sample(procs, admin_a, admin_b, 0, holding)]
        print(f"  0 tunnels: distls A {steps[0]['rss_kib_a'] / 1024:.1f} MiB, "
              f"distls B {steps[0]['rss_kib_b'] / 1024:.1f} MiB", flush=True)
        socks: list[socket.socket] = []
        targets = [round(args.tunnels * (k + 1) / args.steps) for k in range(args.steps)]
        t_open = time.monotonic()
        for target in targets:
            while len(socks) < target:
                batch = min(args.batch, target - len(socks))
                for _ in range(batch):
                    k = len(socks) + 1
                    c = socket.create_connection(("127.0.0.1", peer_port), timeout=10)
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    c.sendall(send_name_frame(f"n{k}@{IP_A}"))
                    socks.append(c)
                want = len(socks)
                wait_for(f"{want} tunnels open on both sidecars and held by node B",
                         lambda: (tunnels_open(admin_a, "out") >= want
                                  and tunnels_open(admin_b, "in") >= want and holding() >= want),
                         timeout=OPEN_DEADLINE, procs=s.procs)
            time.sleep(args.idle)
            st = sample(procs, admin_a, admin_b, len(socks), holding)
            if not (st["open_out_a"] == st["open_in_b"] == st["held_by_node_b"] == len(socks)):
                raise BenchError(f"tunnels not all up after the idle wait: {st}")
            steps.append(st)
            print(f"  {len(socks)} tunnels: distls A {st['rss_kib_a'] / 1024:.1f} MiB "
                  f"({(st['rss_kib_a'] - steps[0]['rss_kib_a']) / len(socks):.1f} KiB/tunnel), "
                  f"distls B {st['rss_kib_b'] / 1024:.1f} MiB "
                  f"({(st['rss_kib_b'] - steps[0]['rss_kib_b']) / len(socks):.1f} KiB/tunnel)",
                  flush=True)
        open_s = time.monotonic() - t_open
        # Idle CPU: what 1,000 idle tunnels cost per second with nothing crossing them.
        c0 = sample(procs, admin_a, admin_b, len(socks), holding)
        time.sleep(args.idle_cpu)
        c1 = sample(procs, admin_a, admin_b, len(socks), holding)
        idle_cpu = {pod: 100 * (c1[f"cpu_s_{pod}"] - c0[f"cpu_s_{pod}"]) / args.idle_cpu
                    for pod in ("a", "b")}
        for c in socks:
            c.close()
        wait_for("every tunnel closed", lambda: tunnels_open(admin_a, "out") == 0
                 and tunnels_open(admin_b, "in") == 0, timeout=OPEN_DEADLINE, procs=s.procs)
        time.sleep(args.idle)
        after = sample(procs, admin_a, admin_b, 0, holding)
        if wrapper:  # a profiler writes its file at exit, which takes a while under valgrind
            for pod in wrapper:
                procs[f"distls-{pod}"].stop(grace=60)
        return {"steps": steps, "after_close": after, "open_seconds": open_s,
                "idle_cpu_pct": idle_cpu,
                "rig_flags": rig + shlex.split(args.distls_flags)}
    finally:
        s.close()


def summarize(res: dict) -> dict:
    steps, n = res["steps"], res["steps"][-1]["tunnels"]
    out = {}
    for pod in ("a", "b"):
        base = steps[0][f"rss_kib_{pod}"]
        per = [(st[f"rss_kib_{pod}"] - base) / st["tunnels"] for st in steps[1:]]
        # Slope between the first and last step: the marginal cost, without one-time
        # allocations (OpenSSL's first handshake, the per-peer listener).
        first = steps[1]
        slope = ((steps[-1][f"rss_kib_{pod}"] - first[f"rss_kib_{pod}"])
                 / (steps[-1]["tunnels"] - first["tunnels"])) if len(steps) > 2 else per[-1]
        out[pod] = {"kib_per_tunnel": per[-1], "slope_kib_per_tunnel": slope,
                    "per_step": per, "rss_kib_0": base, "rss_kib_n": steps[-1][f"rss_kib_{pod}"],
                    "rss_kib_after_close": res["after_close"][f"rss_kib_{pod}"]}
    out["kernel_tcp_kib_per_tunnel"] = ((steps[-1]["kernel_tcp_kib"] - steps[0]["kernel_tcp_kib"]) / n)
    out["tunnels"] = n
    return out


def report(res: dict, summ: dict) -> list[str]:
    n = summ["tunnels"]
    lines = ["| tunnels | distls A (outbound) VmRSS MiB | KiB/tunnel | distls B (inbound) VmRSS MiB "
             "| KiB/tunnel | kernel TCP memory MiB |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    s0 = res["steps"][0]
    for st in res["steps"]:
        per = lambda pod: ("—" if not st["tunnels"] else
                           f"{(st[f'rss_kib_{pod}'] - s0[f'rss_kib_{pod}']) / st['tunnels']:.1f}")
        lines.append(f"| {st['tunnels']} | {st['rss_kib_a'] / 1024:.1f} | {per('a')} "
                     f"| {st['rss_kib_b'] / 1024:.1f} | {per('b')} | {st['kernel_tcp_kib'] / 1024:.1f} |")
    after = res["after_close"]
    lines.append(f"| 0 (all closed) | {after['rss_kib_a'] / 1024:.1f} | | {after['rss_kib_b'] / 1024:.1f} "
                 f"| | {after['kernel_tcp_kib'] / 1024:.1f} |")
    lines.append("")
    for pod, what in (("a", "distls A (outbound ends)"), ("b", "distls B (inbound ends)")):
        v = summ[pod]
        ok = v["kib_per_tunnel"] <= TARGET_KIB_PER_TUNNEL
        lines.append(f"- {'PASS' if ok else 'MISS'}  {what}: {v['kib_per_tunnel']:.1f} KiB per idle "
                     f"tunnel with {n} tunnels (slope between steps {v['slope_kib_per_tunnel']:.1f}; "
                     f"target <= {TARGET_KIB_PER_TUNNEL})")
    lines.append(f"- kernel: {summ['kernel_tcp_kib_per_tunnel']:.1f} KiB of TCP socket memory per tunnel "
                 "(all six sockets of a tunnel, machine-wide; not in any RSS)")
    lines.append(f"- idle CPU with {n} tunnels: distls A {res['idle_cpu_pct']['a']:.2f}%, "
                 f"distls B {res['idle_cpu_pct']['b']:.2f}% of a core")
    lines.append(f"- {n} tunnels opened in {res['open_seconds']:.1f} s (batches, each waited for)")
    return lines


def massif_profile(args, distls: Path, work: Path) -> list[str]:
    """Where an idle tunnel's memory goes: both sidecars under valgrind's massif (heap
    profiler) with --massif tunnels open, and the allocation sites at the heap's peak."""
    files = {pod: work / f"massif-{pod}.out" for pod in ("a", "b")}
    wrapper = {pod: ["valgrind", "--tool=massif", "--threshold=0.5", "--max-snapshots=40",
                     f"--massif-out-file={f}"] for pod, f in files.items()}
    margs = argparse.Namespace(**{**vars(args), "tunnels": args.massif, "steps": 1,
                                  "batch": min(args.batch, 20), "idle_cpu": 1.0})
    run(margs, distls, work, wrapper)
    lines = [f"Heap at its peak with {args.massif} idle tunnels (valgrind massif; "
             "share of the heap, bytes, allocation site):", ""]
    for pod, what in (("a", "distls A (outbound ends)"), ("b", "distls B (inbound ends)")):
        lines.append(f"{what}:")
        lines += [f"    {l}" for l in massif_peak(files[pod])]
    return lines


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=REPO_ROOT / "build")
    ap.add_argument("--tunnels", type=int, default=1000, help="idle tunnels to open [1000]")
    ap.add_argument("--steps", type=int, default=4, help="memory samples on the way up [4]")
    ap.add_argument("--batch", type=int, default=100, help="tunnels dialled at once [100]")
    ap.add_argument("--idle", type=float, default=3.0,
                    help="seconds the tunnels sit idle before each memory sample [3]")
    ap.add_argument("--idle-cpu", type=float, default=10.0,
                    help="seconds over which idle CPU is measured with every tunnel open [10]")
    ap.add_argument("--distls-flags", default="", help="extra `distls proxy` flags for both sidecars")
    ap.add_argument("--json", type=Path, help="write every number here")
    ap.add_argument("--markdown", type=Path, help="write the table here")
    ap.add_argument("--plot", type=Path, metavar="DIR", help="write idle_tunnels.png (and idle.json) here")
    ap.add_argument("--massif", type=int, default=0, metavar="N",
                    help="afterwards, profile both sidecars' heaps with valgrind massif with N "
                         "idle tunnels and print the largest allocation sites [0: off]")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    if args.tunnels < 1 or args.steps < 1 or args.batch < 1:
        ap.error("--tunnels, --steps and --batch must be positive")
    distls, _ = find_build(args.build)
    hard = raise_nofile()
    if hard < 3 * args.tunnels + 100:
        print(f"RLIMIT_NOFILE hard limit {hard} is too low for {args.tunnels} tunnels", file=sys.stderr)
        return 2
    install_signal_handlers()
    with scratch("distls-idle-", args.keep) as work_dir:
        work = work_dir.path
        facts = machine_facts(distls)
        print(f"idle tunnels: {args.tunnels} through distls A ({IP_A}) -> distls B ({IP_B}); "
              f"work dir {work}; load {loadavg()}", flush=True)
        try:
            res = run(args, distls, work)
        except (BenchError, OSError) as e:
            work_dir.keep = True
            print(describe_failure("idle tunnels", work, e), file=sys.stderr)
            return 1
        summ = summarize(res)
        lines = report(res, summ)
        if args.massif:
            need_tools("valgrind", "ms_print")
            mdir = work / "massif"
            mdir.mkdir()
            try:
                lines += [""] + massif_profile(args, distls, mdir)
            except (BenchError, OSError) as e:
                work_dir.keep = True
                print(describe_failure("massif profile", mdir, e), file=sys.stderr)
                return 1
        print()
        print("\n".join(lines))
        data = {"kind": "idle", **res, "summary": summ, "machine": facts, "argv": argv}
        if args.json:
            write_json(args.json, data)
        if args.markdown:
            args.markdown.write_text("# Memory per idle tunnel\n\n`bench/idle_tunnels.py "
                                     + shlex.join(argv) + "`\n\n" + "\n".join(lines) + "\n")
        if args.plot:
            write_json(args.plot / "idle.json", data)
            for png in make_plots("idle", args.plot / "idle.json", args.plot):
                print(f"wrote {png}")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
