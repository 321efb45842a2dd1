"""What every distls benchmark script needs: free ports, polling, process groups, CPU
and memory from /proc, certificates from `distls ca`, machine facts, plots.

Imported by run.py, idle_tunnels.py, handshakes.py and mesh.py (they run with bench/ as
sys.path[0]). Python 3 stdlib only; plotting is in plots.py (matplotlib).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"
READY_TIMEOUT = 30.0  # seconds; generous for a loaded 2-core machine
LOG_TAIL_LINES = 30
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class BenchError(Exception):
    pass


class Scratch:
    """A run's work directory (logs, certs, sockets); `keep` leaves it behind."""

    def __init__(self, prefix: str, keep: bool) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep


@contextlib.contextmanager
def scratch(prefix: str, keep: bool):
    """The body of a benchmark's main. Interrupted, or failed with a BenchError, it says
    so, keeps the work directory for the logs and exits 130 or 1; otherwise the
    directory goes unless kept."""
    work = Scratch(prefix, keep)
    try:
        yield work
    except KeyboardInterrupt:
        work.keep = True
        print("interrupted; every process stopped", file=sys.stderr)
        raise SystemExit(130) from None
    except BenchError as e:
        work.keep = True
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if work.keep:
            print(f"work directory kept: {work.path}", file=sys.stderr)
        else:
            shutil.rmtree(work.path, ignore_errors=True)


# ---------------------------------------------------------------------------
# Ports, polling, HTTP, EPMD
# ---------------------------------------------------------------------------

_handed_out: set[int] = set()


def free_port(hosts: tuple[str, ...] | list[str] = ("127.0.0.1",)) -> int:
    """A port bindable on every host in `hosts` right now, and not handed out before by
    this process: the kernel may offer the same free port twice before anyone binds it,
    and a mesh picks dozens of ports before starting its sidecars."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        if port not in _handed_out and all(_can_bind(h, port) for h in hosts):
            _handed_out.add(port)
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


def http_get(url: str, timeout: float = 5.0) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return None, ""


def http_status(url: str) -> int | None:
    return http_get(url, timeout=2.0)[0]


def metrics(admin_port: int) -> dict[str, float]:
    """distls /metrics as {'name{labels}': value}; {} when it does not answer."""
    status, body = http_get(f"http://127.0.0.1:{admin_port}/metrics")
    out = {}
    if status != 200:
        return out
    for line in body.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                out[key] = float(value)
            except ValueError:
                pass
    return out


def epmd_names(port: int) -> dict[str, int]:
    """NAMES_REQ to the epmd (or distls) on 127.0.0.1:port; {} when it does not answer."""
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


def port_please(epmd_port: int, full_name: str) -> int:
    """PORT_PLEASE2_REQ with a full node name, as distls_epmd sends it: the port of the
    per-peer loopback listener distls opens for that peer."""
    name = full_name.encode()
    with socket.create_connection(("127.0.0.1", epmd_port), timeout=10) as s:
        s.sendall(struct.pack(">H", 1 + len(name)) + b"z" + name)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    if len(data) < 4 or data[0] != 119 or data[1] != 0:  # PORT2_RESP 'w', result 0
        raise BenchError(f"PORT_PLEASE2 for {full_name} refused: {data[:2]!r}")
    return struct.unpack(">H", data[2:4])[0]


def is_listening(host: str, port: int) -> bool:
    """True once a socket LISTENs on host:port, seen in /proc/net/tcp without connecting."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(host))[0], port)
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            return any(line.split()[1] == want and line.split()[3] == "0A" for line in f)
    except OSError:
        return False


def raise_nofile() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit, for us and every process we start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ---------------------------------------------------------------------------
# /proc: CPU and memory
# ---------------------------------------------------------------------------

KTHREADS = "kernel threads"


def cpu_ticks_by_group(pgids: dict[str, int]) -> dict[str, int]:
    """CPU ticks (user + system) of every process of each process group, in one /proc scan,
    and of all kernel threads together (KTHREADS: ksoftirqd and kworkers carry part of the
    loopback traffic's softirq work when the machine is busy)."""
    want = {pgid: label for label, pgid in pgids.items()}
    totals = {label: 0 for label in pgids}
    totals[KTHREADS] = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        label = want.get(int(fields[2]))
        if label is None and (fields[1] == "2" or entry == "2"):  # children of kthreadd
            label = KTHREADS
        if label is not None:
            totals[label] += int(fields[11]) + int(fields[12])
    return totals


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_cpu_precise(pid: int) -> float:
    """CPU seconds of every live thread of a process with microsecond resolution, from
    se.sum_exec_runtime in /proc/PID/task/*/sched (ms); /proc/PID/stat counts 10 ms ticks,
    too coarse for an idle process over a few seconds. Falls back to the ticks when the
    kernel has no sched file."""
    total, seen = 0.0, False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return proc_cpu_seconds(pid)
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/sched") as f:
                for line in f:
                    if line.startswith("se.sum_exec_runtime"):
                        total += float(line.split(":")[1]) / 1000.0
                        seen = True
                        break
        except OSError:
            continue
    return total if seen else proc_cpu_seconds(pid)


def proc_cpu_split(pid: int) -> tuple[float, float]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_memory_kib(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, VmHWM, VmData (KiB) from /proc/PID/status, and Pss_Anon
    and Private_Dirty from smaps_rollup when the kernel has it."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "VmData", "Threads"):
                out[key] = int(value.split()[0])
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Pss_Anon", "Private_Dirty"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def sockstat_tcp_pages() -> int:
    """Pages of kernel memory held by TCP sockets machine-wide (/proc/net/sockstat 'mem')."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("mem") + 1])
    return 0


def system_busy_ticks() -> int:
    """Busy (non-idle, non-iowait) ticks of all CPUs since boot, from /proc/stat."""
    return system_ticks()[0]


def system_ticks() -> tuple[int, int]:
    """(busy ticks, irq + softirq ticks) of all CPUs since boot, from /proc/stat. With
    IRQ time accounting (this kernel has it) softirq time is charged to no process, so
    the loopback traffic's receive work shows up here, not in the processes' CPU."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4], v[5] + v[6]  # user..steal minus idle, iowait; irq, softirq


def busy_percent(seconds: float = 0.5) -> float:
    """How busy the whole machine is, % of all CPUs, over `seconds`."""
    ncpu = len(os.sched_getaffinity(0))
    t0, b0 = time.monotonic(), system_busy_ticks()
    time.sleep(seconds)
    return 100.0 * (system_busy_ticks() - b0) / CLK_TCK / (time.monotonic() - t0) / ncpu


def settle(max_wait: float, busy_limit: float = 25.0) -> float | None:
    """Waits until the machine is mostly idle (other agents compiling, say): at most
    `max_wait` seconds, sampled over 0.5 s windows. Returns the last busy % (of all CPUs)."""
    deadline = time.monotonic() + max_wait
    busy = None
    while time.monotonic() < deadline:
        busy = busy_percent(0.5)
        if busy < busy_limit:
            break
    return busy


def tail(path: Path, n: int = LOG_TAIL_LINES) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:]) or "(empty)"


def command_output(argv: list[str], timeout: float = 60) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
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
        self.argv = argv
        self._logf = open(log, "ab")
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe_stdout else self._logf, stderr=self._logf,
            env={**os.environ, **(env or {})}, start_new_session=True)

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session: the leader's pid is the group id

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group, as a crashed pod."""
        self._signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

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
    """Every process of one measurement; close() stops them, newest first."""

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


def read_stdout_line(proc: Proc, prefix: str, timeout: float = READY_TIMEOUT) -> str:
    """The first line of a piped stdout that starts with `prefix` (blocking read)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = proc.popen.stdout.readline()
        if not raw:
            raise BenchError(f"{proc.label} exited (status {proc.popen.poll()}) before '{prefix}'")
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith(prefix):
            return line
    raise BenchError(f"{proc.label}: no '{prefix}' line within {timeout:.0f}s")


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP take the same way out as Ctrl-C: through every finally."""
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)


# ---------------------------------------------------------------------------
# Build products, modules, certificates
# ---------------------------------------------------------------------------

def find_build(build: Path, need_beams: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """(distls binary, ebin dir) of a build directory, or exit 2 naming what is missing."""
    build = build if build.is_absolute() else (Path.cwd() / build)
    distls, ebin = build / "distls", build / "ebin"
    if not os.access(distls, os.X_OK):
        print(f"distls binary not found at {distls} (--build)", file=sys.stderr)
        sys.exit(2)
    for beam in need_beams:
        if not (ebin / beam).exists():
            print(f"{ebin}/{beam} not found (--build)", file=sys.stderr)
            sys.exit(2)
    return distls, ebin


def need_tools(*tools: str) -> None:
    for tool in tools:
        if not shutil.which(tool):
            print(f"{tool} not found on PATH (scripts/bootstrap.sh installs it)", file=sys.stderr)
            sys.exit(2)


def compile_modules(out: Path) -> Path:
    """bench/erl/*.erl compiled with erlc into out/ebin."""
    ebin = out / "ebin"
    ebin.mkdir(exist_ok=True)
    srcs = sorted(str(p) for p in (BENCH_DIR / "erl").glob("*.erl"))
    r = subprocess.run(["erlc", "-o", str(ebin), *srcs], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"erlc failed:\n{r.stdout}{r.stderr}")
    return ebin


def make_ca(distls: Path, out: Path) -> Path:
    ca = out / "ca"
    run_checked([str(distls), "ca", "init", "--out", str(ca)])
    return ca


def issue_cert(distls: Path, ca: Path, node: str, out: Path) -> Path:
    """`distls ca issue`: out/tls.crt (leaf + chain), out/tls.key, out/ca.crt."""
    run_checked([str(distls), "ca", "issue", "--ca-dir", str(ca), "--node", node, "--out", str(out)])
    return out


def run_checked(argv: list[str]) -> str:
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed: {r.stdout}{r.stderr}")
    return r.stdout


def compile_c(src: Path, out: Path, libs: list[str]) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BenchError("no C compiler (cc) for " + src.name)
    run_checked([cc, "-O2", "-o", str(out), str(src), *libs])
    return out


def distls_proxy_argv(distls: Path, node: str, listen: str, peer_port: int, epmd_port: int,
                      admin_port: int, certs: Path, extra: list[str] = ()) -> list[str]:
    return [str(distls), "proxy", "--node", node, "--listen", listen,
            "--peer-port", str(peer_port), "--epmd", f"127.0.0.1:{epmd_port}",
            "--admin", f"127.0.0.1:{admin_port}", "--cert", str(certs / "tls.crt"),
            "--key", str(certs / "tls.key"), "--trust-bundle", str(certs / "ca.crt"), *extra]


def describe_failure(what: str, work: Path, err: BaseException) -> str:
    parts = [f"{what}: {err}"]
    for log in sorted(work.glob("*.log")) + sorted(work.glob("*.stdout")):
        parts.append(f"--- {log} (last {LOG_TAIL_LINES} lines)\n{tail(log)}")
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# Machine facts, reports, plots
# ---------------------------------------------------------------------------

def machine_facts(distls: Path, stunnel: str | None = None) -> dict[str, str]:
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
                          'case crypto:info_lib() of [{_, _, L} | _] -> L end]), halt().']) \
        if shutil.which("erl") else "absent"
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
                break
    except OSError:
        pass
    stunnel_v = "absent"
    if stunnel:
        lines = command_output([stunnel, "-version"]).splitlines()
        stunnel_v = lines[1] if len(lines) > 1 else (lines[0] if lines else "unknown")
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "otp": otp,
        "openssl": command_output(["openssl", "version"]),
        "distls": command_output([str(distls), "version"]),
        "stunnel": stunnel_v,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def make_plots(kind: str, data_file: Path, outdir: Path) -> list[Path]:
    """PNG charts for one script's results (plots.py). matplotlib comes from Debian's
    python3-matplotlib; when this interpreter cannot import it (a pyenv or venv python3
    first on PATH), Debian's /usr/bin/python3 draws them from the JSON file instead."""
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        import plots  # noqa: F401  (needs matplotlib)
    except ImportError:
        system_python = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system_python) and \
                os.access(system_python, os.X_OK):
            r = subprocess.run([system_python, str(BENCH_DIR / "plots.py"), kind, str(data_file),
                                str(outdir)], capture_output=True, text=True)
            if r.returncode == 0:
                return [Path(p) for p in r.stdout.split()]
            raise BenchError(f"plotting with {system_python} failed:\n{r.stderr}")
        raise BenchError("matplotlib is not installed (apt-get install python3-matplotlib; "
                         "scripts/bootstrap.sh installs it)")
    return plots.draw(kind, json.loads(data_file.read_text()), outdir)


# ---------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------

def _short_site(site: str) -> str:
    """'43.5% (13,107,200B) 0x4A: ns::f(long args) [clone .actor] (file.cpp:52)' ->
    '43.5% (13,107,200B) ns::f (file.cpp:52)': coroutine frames have very long names."""
    site = re.sub(r"0x[0-9A-Fa-f]+: ", "", site).strip()
    m = re.match(r"^([\d.]+% \([\d,]+B\))\s+(.*?)(\s\([^()]*\))?$", site)
    if not m:
        return site
    func = m.group(2).replace("(anonymous namespace)", "{anon}")
    func = re.sub(r"\(.*", "", func).strip()
    return f"{m.group(1)} {func}{m.group(3) or ''}"


def massif_peak(massif_file: Path, top: int = 8) -> list[str]:
    """The largest allocation sites at the peak of a valgrind massif profile (ms_print),
    as 'share (bytes) function (file:line)' lines, most bytes first."""
    text = command_output(["ms_print", "--threshold=0.5", str(massif_file)], timeout=120)
    m = re.search(r"Detailed snapshots: \[([^\]]*)\]", text)
    peak = None
    if m:
        for item in m.group(1).split(","):
            if "peak" in item:
                peak = int(item.split()[0])
    if peak is None:
        return [f"(no peak snapshot in {massif_file})"]
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines)
                  if re.match(rf"^\s*{peak}\s+[\d,]+\s+[\d,]+", l)), None)
    if start is None:
        return [f"(peak snapshot {peak} not found in ms_print output)"]
    out = []
    for l in lines[start + 1:]:
        if l.startswith("---") or re.match(r"^\s*\d+\s+[\d,]+\s+[\d,]+", l):
            break
        # Top-level sites ("->") and, indented, their callers one level down ("| ->").
        m = re.match(r"^(\| )?->(.*)$", l)
        if m:
            out.append(("    " if m.group(1) else "") + _short_site(m.group(2)))
        elif l and l[0].isdigit() and "heap allocation" in l:
            out.append(l.strip())
    return out[:3 * top]


# perf: software events only (cpu-clock, tracepoints), which work in VMs without a PMU.
SYSCALLS = ("read", "write", "readv", "writev", "sendto", "recvfrom", "sendmsg", "recvmsg",
            "epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "futex", "accept4",
            "connect", "close", "setsockopt", "sched_yield", "clock_nanosleep", "nanosleep")


def perf_usable() -> str | None:
    """None when `perf record -e cpu-clock` and syscall tracepoints work here, else why not."""
    if not shutil.which("perf"):
        return "perf is not installed (apt-get install linux-perf)"
    r = subprocess.run(["perf", "stat", "-e", "cpu-clock,raw_syscalls:sys_enter", "--", "true"],
                       capture_output=True, text=True)
    if r.returncode != 0 or "not supported" in r.stderr:
        return "perf cannot count cpu-clock and syscall tracepoints here: " + r.stderr.strip()[-200:]
    return None


class PerfRecord:
    """`perf record -e cpu-clock -g` attached to one process until stop()."""

    def __init__(self, pid: int, out: Path, freq: int = 1999) -> None:
        self.out = out
        self.log = open(out.with_suffix(".log"), "ab")
        self.popen = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", str(freq), "-g",
                                       "-p", str(pid), "-o", str(out)], stdin=subprocess.DEVNULL,
                                      stdout=self.log, stderr=self.log, start_new_session=True)

    def stop(self) -> None:
        try:
            self.popen.send_signal(signal.SIGINT)
            self.popen.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.popen.kill()
            self.popen.wait()
        self.log.close()


def perf_report(data: Path, top: int = 12) -> dict:
    """Shares of the samples by DSO (kernel, libcrypto, ...) and the top symbols."""
    def rows(sort: str) -> list[tuple[float, str]]:
        txt = command_output(["perf", "report", "-i", str(data), "--no-children", "--sort", sort,
                              "--stdio", "-g", "none", "--percent-limit", "0.5"], timeout=300)
        out = []
        for line in txt.splitlines():
            m = re.match(r"^\s+([\d.]+)%\s+(.*\S)\s*$", line)
            if m:
                out.append((float(m.group(1)), re.sub(r"\s+", " ", m.group(2))))
        return out
    return {"dso": rows("dso")[:top], "symbols": rows("dso,sym")[:top]}


class PerfStat:
    """`perf stat` of syscalls (by type) and context switches of one process until stop()."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        # Only the tracepoints this kernel has: one unknown event fails the whole perf stat.
        events = ["raw_syscalls:sys_enter", "context-switches", "cpu-clock"] + [
            f"syscalls:sys_enter_{s}" for s in SYSCALLS
            if any(Path(d, "events/syscalls", f"sys_enter_{s}").exists()
                   for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"))]
        self.popen = subprocess.Popen(["perf", "stat", "-x", ",", "-o", str(out), "-e", ",".join(events),
                                       "-p", str(pid)], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)

    def stop(self) -> dict[str, float]:
        try:
            self.popen.send_signal(signal.SIGINT)
            self.popen.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.popen.kill()
            self.popen.wait()
        counts = {}
        try:
            for line in self.out.read_text().splitlines():
                parts = line.split(",")
                if len(parts) > 3 and parts[0].replace(".", "").isdigit():
                    name = parts[2].replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter",
                                                                                "syscalls")
                    counts[name] = float(parts[0])
        except OSError:
            pass
        return counts
