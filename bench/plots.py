#!/usr/bin/env python3
"""PNG charts of the benchmark results, with matplotlib's Agg backend (no display).

    plots.py KIND RESULTS.json OUTDIR     KIND: run, idle, handshakes, mesh

The benchmark scripts call draw() through benchlib.make_plots (--plot DIR); this
command line is for redrawing from a kept JSON file, and is what make_plots runs with
Debian's /usr/bin/python3 when the python3 first on PATH has no matplotlib.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import FuncFormatter  # noqa: E402

DPI = 110
# One colour per path, the same in every chart.
PATH_COLORS = {"plain": "#4d4d4d", "distls": "#1f77b4", "distls-proto": "#17becf", "distls-uds": "#2ca02c",
               "inet_tls_dist": "#d62728", "stunnel": "#ff7f0e"}
ROLE_COLORS = {"node A": "#9ecae1", "sidecar A": "#3182bd", "sidecar B": "#e6550d",
               "node B": "#fdae6b"}


def _size_label(n: int) -> str:
    return f"{n // 1024} KiB" if n >= 1024 and n % 1024 == 0 else f"{n} B"


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _subtitle(data: dict) -> str:
    m = data.get("machine", {})
    return (f"{m.get('nproc', '?')} CPUs, {m.get('kernel', '')}, {m.get('date', '')}")


# ---------------------------------------------------------------------------
# run.py
# ---------------------------------------------------------------------------

def draw_run(data: dict, out: Path) -> list[Path]:
    paths = [p for p in data["paths"] if p in data["summary"]]
    summary = data["summary"]
    sizes = sorted(int(s) for s in data.get("small_sizes", [])) + [data.get("bulk_bytes", 65536)]
    files = []

    # Throughput by message size: absolute and relative to plain.
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    plain = summary.get("plain")
    for path in paths:
        row = summary[path]
        xs, mbs, ratios = [], [], []
        for n in sizes:
            if n == data.get("bulk_bytes", 65536):
                mb, base = row["gbps"] * 1000, plain["gbps"] * 1000 if plain else None
            else:
                v = row["small"].get(str(n))
                if not v:
                    continue
                mb = v["mps"] * n / 1e6
                pv = plain["small"].get(str(n)) if plain else None
                base = pv["mps"] * n / 1e6 if pv else None
            xs.append(n)
            mbs.append(mb)
            ratios.append(100 * mb / base if base else None)
        color = PATH_COLORS.get(path)
        ax.plot(xs, mbs, marker="o", label=path, color=color)
        if plain and path != "plain":
            ax2.plot(xs, ratios, marker="o", label=path, color=color)
    for a in (ax, ax2):
        a.set_xscale("log", base=2)
        a.set_xticks(sizes)
        a.set_xticklabels([_size_label(n) for n in sizes])
        a.set_xlabel("message payload (Erlang binary), pipelined")
        a.grid(True, which="both", alpha=0.3)
    ax.set_yscale("log")
    ax.set_ylabel("payload throughput, MB/s (log)")
    ax.set_title("Throughput by message size, A → B")
    ax.legend()
    ax2.axhline(45, color="#1f77b4", linestyle="--", linewidth=1)
    ax2.text(sizes[0], 46, "bulk target: 45% of plain", color="#1f77b4", fontsize=8)
    ax2.set_ylabel("% of plain distribution, same run")
    ax2.set_title("Relative to plain")
    ax2.set_ylim(bottom=0)
    ax2.legend()
    fig.suptitle(f"distls data path — median of the runs; {_subtitle(data)}", fontsize=9)
    files.append(_save(fig, out / "throughput_by_size.png"))

    # Round-trip CDF, every run's quantiles pooled.
    fig, ax = plt.subplots(figsize=(8, 4.8))
    hi = 0.0
    for path in paths:
        qs = sorted(q for r in data["runs"][path] for q in r.get("rtt_quantiles_us", []))
        if not qs:
            continue
        ys = [(i + 0.5) / len(qs) for i in range(len(qs))]
        ax.plot(qs, ys, label=f"{path} (p50 {summary[path]['rtt']:.0f} µs)",
                color=PATH_COLORS.get(path))
        hi = max(hi, qs[int(0.999 * (len(qs) - 1))])
    ax.set_xscale("log")
    ax.set_xlim(right=hi * 1.2 if hi else None)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("round trip A → B → A, µs (log; cut at the slowest path's p99.9)")
    ax.set_ylabel("fraction of round trips")
    ax.set_title("Round-trip time, small message ping-pong (CDF)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.text(0.01, 0.01, _subtitle(data), fontsize=7, color="#666666")
    files.append(_save(fig, out / "rtt_cdf.png"))

    # CPU per GB, stacked by process.
    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    roles = ["node A", "sidecar A", "sidecar B", "node B"]
    shown = [p for p in paths if "cpu_per_gb" in summary[p]]
    bottoms = [0.0] * len(shown)
    for role in roles:
        vals = [summary[p]["cpu_per_gb"].get(role, 0.0) for p in shown]
        if not any(vals):
            continue
        ax.bar(shown, vals, bottom=bottoms, label=role, color=ROLE_COLORS[role])
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    # Kernel work charged to no process (softirq of the loopback traffic, kernel threads),
    # machine-wide: drawn on top, hatched, outside the path's total.
    kern = [summary[p].get("kernel_s_per_gb") or 0.0 for p in shown]
    if any(kern):
        ax.bar(shown, kern, bottom=bottoms, label="kernel, no process\n(softirq, kthreads;\nnot in the total)",
               color="white", edgecolor="#999999", hatch="///")
    # Linear scale, so the stacks compare honestly; a path far above the rest
    # (inet_tls_dist: its receiving node does everything) is cut off and labelled.
    tops = [b + k for b, k in zip(bottoms, kern)] if any(kern) else bottoms
    ordinary = sorted(tops)[: max(1, len(tops) - 1)]
    top = max(max(ordinary) * 1.3, 1.6)
    if max(tops) <= top:
        top = max(tops) * 1.15
    ax.set_ylim(0, top)
    for i, (total, t) in enumerate(zip(bottoms, tops)):
        if t > top:
            ax.text(i, top * 0.97, f"{total:.2f}\n(off scale)", ha="center", va="top", fontsize=9,
                    color="black", bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"))
        else:
            ax.text(i, t, f"{total:.2f}", ha="center", va="bottom", fontsize=9)
    ax.axhline(1.4, color="#1f77b4", linestyle="--", linewidth=1)
    ax.text(-0.4, 1.42, "target for distls: 1.4", color="#1f77b4", fontsize=8)
    ax.set_ylabel("CPU-seconds per GB of payload")
    ax.set_title("CPU per GB of bulk transfer (64 KiB messages), by process")
    ax.legend(title="process\n(A sends, B receives)", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(True, axis="y", alpha=0.3)
    fig.text(0.01, 0.01, _subtitle(data), fontsize=7, color="#666666")
    files.append(_save(fig, out / "cpu_per_gb.png"))
    return files


# ---------------------------------------------------------------------------
# idle_tunnels.py
# ---------------------------------------------------------------------------

def draw_idle(data: dict, out: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(8, 4.8))
    steps = data["steps"]
    xs = [s["tunnels"] for s in steps]
    base = min(steps[0]["rss_kib_a"], steps[0]["rss_kib_b"]) / 1024
    for side, label, color, style, marker in (("a", "sidecar A (outbound ends)", "#3182bd", "-", "o"),
                                              ("b", "sidecar B (inbound ends)", "#e6550d", "--", "s")):
        ys = [s[f"rss_kib_{side}"] / 1024 for s in steps]
        ax.plot(xs, ys, marker=marker, linestyle=style, label=label, color=color, markersize=7,
                markerfacecolor="none" if side == "b" else color)
    after = data.get("after_close")
    if after:
        ax.text(xs[-1], base, f"after closing all: A {after['rss_kib_a'] / 1024:.0f} MiB, "
                f"B {after['rss_kib_b'] / 1024:.0f} MiB", ha="right", va="bottom", fontsize=8)
    ax.plot([0, xs[-1]], [base, base + xs[-1] * 64 / 1024], linestyle="--", color="#2ca02c",
            label="target slope: 64 KiB per tunnel")
    ax.set_xlabel("idle tunnels open through the sidecar")
    ax.set_ylabel("distls resident memory (VmRSS), MiB")
    ax.set_title("Memory of idle tunnels")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.text(0.01, 0.01, _subtitle(data), fontsize=7, color="#666666")
    return [_save(fig, out / "idle_tunnels.png")]


# ---------------------------------------------------------------------------
# handshakes.py
# ---------------------------------------------------------------------------

def draw_handshakes(data: dict, out: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(8, 4.8))
    names, vals, errs, colors = [], [], [], []
    for key, label, color in (("distls", "distls proxy\n(handshake + send_name\n+ tunnel to node)", "#1f77b4"),
                              ("s_server", "openssl s_server\n(handshake + one\nline echoed)", "#7f7f7f")):
        r = data["servers"].get(key)
        if not r:
            continue
        names.append(label)
        vals.append(r["per_cpu_s"])
        errs.append([[r["per_cpu_s"] - r["per_cpu_s_min"]], [r["per_cpu_s_max"] - r["per_cpu_s"]]])
        colors.append(color)
    bars = ax.bar(names, vals, color=colors)
    for b, e in zip(bars, errs):
        ax.errorbar(b.get_x() + b.get_width() / 2, b.get_height(), yerr=e, color="black", capsize=4)
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v * 1.02, f"{v:.0f}", ha="center", va="bottom")
    bound = data.get("crypto_bound_per_cpu_s")
    if bound:
        ax.axhline(bound, color="#2ca02c", linestyle="--")
        ax.text(-0.4, bound * 1.01, f"crypto bound (openssl speed): {bound:.0f}", color="#2ca02c",
                fontsize=8, va="bottom")
    s = data["servers"].get("s_server")
    if s:
        ax.axhline(2 * s["per_cpu_s"], color="#1f77b4", linestyle=":")
        ax.text(0.6, 2 * s["per_cpu_s"] * 1.01, "target: 2 × s_server", color="#1f77b4",
                fontsize=8, va="bottom")
    ax.set_ylabel("mutual TLS 1.3 handshakes per server CPU-second")
    ax.set_title("Handshakes per server CPU-second (X25519, ECDSA P-256, client cert)")
    ax.set_ylim(0, max(vals + [bound or 0, 2 * (s["per_cpu_s"] if s else 0)]) * 1.15)
    ax.grid(True, axis="y", alpha=0.3)
    fig.text(0.01, 0.01, _subtitle(data), fontsize=7, color="#666666")
    return [_save(fig, out / "handshakes.png")]


# ---------------------------------------------------------------------------
# mesh.py
# ---------------------------------------------------------------------------

def draw_mesh(data: dict, out: Path) -> list[Path]:
    rows = sorted(data["sizes"], key=lambda r: r["n"])
    ns = [r["n"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    ax = axes[0][0]
    ax.plot(ns, [r["launch_to_mesh_s"] for r in rows], marker="o", label="launch → full mesh")
    ax.plot(ns, [r["ready_to_mesh_s"] for r in rows], marker="o", label="last node up → full mesh")
    ax.plot(ns, [r.get("heal_s") for r in rows], marker="o", label="pod restarted → healed")
    ax.set_ylabel("seconds")
    ax.set_title("Time to full mesh and to heal")
    ax.legend(fontsize=8)
    ax = axes[0][1]
    ax.plot(ns, [r["distls_rss_kib_median"] / 1024 for r in rows], marker="o", label="distls, median pod")
    ax.plot(ns, [r["distls_rss_kib_max"] / 1024 for r in rows], marker="o", label="distls, largest pod")
    ax.set_ylabel("VmRSS, MiB")
    ax.set_title("distls memory per pod in the full mesh (idle)")
    ax.legend(fontsize=8)
    ax = axes[1][0]
    ax.plot(ns, [r["distls_cpu_pct_median"] for r in rows], marker="o", label="distls")
    ax.plot(ns, [r["node_cpu_pct_median"] for r in rows], marker="o", label="Erlang node")
    ax.set_ylabel("% of one core (median pod)")
    ax.set_title(f"Idle CPU per pod over {rows[0]['idle_window_s']:.0f} s in the full mesh")
    ax.legend(fontsize=8)
    ax = axes[1][1]
    ax.plot(ns, [r["tunnels_per_pod_median"] for r in rows], marker="o", label="tunnels per sidecar")
    ax.plot(ns, [r["handshakes_total"] for r in rows], marker="o", label="handshakes to form the mesh")
    ax.plot(ns, [r["n"] * (r["n"] - 1) // 2 for r in rows], linestyle="--", color="#7f7f7f",
            label="N(N-1)/2: one per pair")
    ax.set_ylabel("count")
    ax.set_title("Tunnels and handshakes")
    ax.legend(fontsize=8)
    for row in axes:
        for a in row:
            a.set_xlabel("pods (N)")
            a.set_xticks(ns)
            a.grid(True, alpha=0.3)
            a.set_ylim(bottom=0)
    fig.suptitle(f"Mesh of N pods on loopback, DNS discovery via dnsmasq; {_subtitle(data)}",
                 fontsize=9)
    return [_save(fig, out / "mesh.png")]


DRAW = {"run": draw_run, "idle": draw_idle, "handshakes": draw_handshakes, "mesh": draw_mesh}


def draw(kind: str, data: dict, outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    return DRAW[kind](data, outdir)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in DRAW:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for p in draw(sys.argv[1], json.loads(Path(sys.argv[2]).read_text()), Path(sys.argv[3])):
        print(p)
