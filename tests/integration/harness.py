"""Reusable pieces for distls integration tests: real distls processes, real erl nodes.

A "pod" is a loopback alias (pod N has IP 127.0.0.N; on Linux all of 127/8 is
loopback, so there is nothing to set up) with its own distls proxy and an Erlang
node `app@127.0.0.N` that reaches distls through `distls_epmd`. The pods of one
`Cluster` share a work directory, a TLS port (chosen free at start, so two runs on
one machine do not collide) and the cookie `distls-test`.

    cluster = Cluster("example")          # owns every process and file it makes
    try:
        ca = cluster.ca("main")
        pods = [cluster.pod(n, ca.issue(f"app@127.0.0.{n}")) for n in (2, 3)]
        pods[0].connect(pods[1])            # -> True
        pods[0].eval("lists:sort(nodes()).")  # -> [Atom('app@127.0.0.3')]
    finally:
        cluster.close()

Nothing here asserts on timing: every wait polls with a generous deadline, and a
failed wait says what it waited for and shows the processes' logs.

Configuration comes from the environment CTest sets: DISTLS_BIN (the distls
binary), DISTLS_EBIN (distls_epmd.beam), DISTLS_TEST_EBIN (the Erlang helpers in
erl/); each defaults to its place under <repo>/build. DISTLS_KEEP_WORK=1 keeps
the work directory even when everything passed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from erlterm import Atom, format_atom, parse_term

REPO_ROOT = Path(__file__).resolve().parents[2]
COOKIE = "distls-test"
DEADLINE = 30.0  # seconds; generous, so a loaded 2-core machine does not fail tests
LOG_TAIL_LINES = 40
SHORT_TAIL_LINES = 10

T = TypeVar("T")


# ---------------------------------------------------------------------------
# Build artefacts
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Build:
    distls: Path
    ebin: Path
    test_ebin: Path

    @classmethod
    def from_env(cls, build_dir: str | os.PathLike | None = None) -> "Build":
        """Paths from DISTLS_BIN/DISTLS_EBIN/DISTLS_TEST_EBIN, else under build_dir."""
        base = Path(build_dir) if build_dir else REPO_ROOT / "build"
        env = os.environ
        if build_dir is not None:
            env = {}
        # Absolute, since nodes run in directories of their own.
        return cls(
            distls=Path(env.get("DISTLS_BIN") or base / "distls").resolve(),
            ebin=Path(env.get("DISTLS_EBIN") or base / "ebin").resolve(),
            test_ebin=Path(env.get("DISTLS_TEST_EBIN") or base / "test_ebin").resolve(),
        )

    def check(self, need_distls: bool = True) -> None:
        """Raise, naming every missing piece, unless the build is complete."""
        missing = []
        if need_distls and not os.access(self.distls, os.X_OK):
            missing.append(f"distls binary {self.distls}")
        for beam in (self.ebin / "distls_epmd.beam",
                     self.test_ebin / "distls_test_repl.beam",
                     self.test_ebin / "distls_test_plain_epmd.beam"):
            if not beam.is_file():
                missing.append(str(beam))
        if shutil.which("erl") is None:
            missing.append("erl on PATH")
        if missing:
            raise RuntimeError("incomplete build, missing: " + ", ".join(missing)
                               + " (build with cmake, or set DISTLS_BIN, DISTLS_EBIN,"
                               " DISTLS_TEST_EBIN)")


@dataclasses.dataclass(frozen=True)
class ErlRuntime:
    """Where a pod's node runs, when not on the host's own OTP: the words before `erl`
    (test_otp_versions: a chroot into a Debian root with another OTP) and the beams
    that OTP compiled (the distls modules, the helpers in erl/)."""
    prefix: tuple[str, ...]
    ebin: Path
    test_ebin: Path

    def build(self, host: Build) -> Build:
        """The host's build with this runtime's beams: what entry_point_args takes."""
        return dataclasses.replace(host, ebin=self.ebin, test_ebin=self.test_ebin)


# ---------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------

def wait_for(what: str, probe: Callable[[], T], timeout: float = DEADLINE,
             interval: float = 0.1, check: Callable[[], None] | None = None) -> T:
    """Poll probe() until it returns something truthy, and return that.

    check() runs before every probe and should raise when waiting is pointless
    (a process died). Raises TimeoutError naming `what` when the deadline passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


_ports_handed_out: set[int] = set()


def free_port(hosts: Iterable[str] = ("127.0.0.1",)) -> int:
    """A TCP port that nothing listens on at any of `hosts` right now.

    The port comes from the kernel (bind to port 0), and is never handed out
    twice by this process, so two ports picked back to back differ.
    """
    hosts = list(hosts)
    for _ in range(200):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        if port in _ports_handed_out or not all(_can_bind(h, port) for h in hosts[1:]):
            continue
        _ports_handed_out.add(port)
        return port
    raise RuntimeError(f"no free port on {hosts}")


def _can_bind(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def distls_env() -> dict[str, str]:
    """The environment for distls: ours, minus every DISTLS_* variable, since distls
    reads its options from those and the harness's own settings share the prefix."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DISTLS_")}


def can_connect(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """(status, body); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""


def listening_addresses(port: int) -> list[str]:
    """Local addresses (`ip:port`) of TCP listeners on `port`, from `ss -ltnH`."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    return [line.split()[3] for line in out.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# EPMD client (to inspect a distls EPMD-compatible listener from outside)
# ---------------------------------------------------------------------------

def _epmd_request(port: int, request: bytes, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">H", len(request)) + request)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def epmd_names(port: int, timeout: float = 5.0) -> dict[str, int]:
    """NAMES_REQ: {alive name: distribution port} registered at 127.0.0.1:port."""
    reply = _epmd_request(port, b"n", timeout)
    if len(reply) < 4:
        raise ValueError(f"short NAMES reply {reply!r}")
    names = {}
    for line in reply[4:].decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "name" and parts[2:4] == ["at", "port"]:
            names[parts[1]] = int(parts[4])
    return names


def epmd_port_please(port: int, name: str, timeout: float = 5.0) -> int | None:
    """PORT_PLEASE2_REQ for `name` (an alive name or a full node name)."""
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        request = b"z" + name.encode()
        s.sendall(struct.pack(">H", len(request)) + request)
        while len(reply) < 4:
            data = s.recv(65536)
            if not data:
                break
            reply += data
    if len(reply) >= 2 and reply[:1] == b"w" and reply[1] != 0:
        return None
    if len(reply) < 4 or reply[:2] != b"w\x00":
        raise ValueError(f"bad PORT2_RESP {reply!r}")
    return struct.unpack(">H", reply[2:4])[0]


# ---------------------------------------------------------------------------
# Processes and their logs
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LogEvent:
    """One distls log line: `ts level event key=value...`."""
    ts: str
    level: str
    event: str
    fields: dict[str, str]
    line: str

    def matches(self, event: str | None = None, **fields: str) -> bool:
        return ((event is None or self.event == event)
                and all(self.fields.get(k) == v for k, v in fields.items()))


_LOG_LINE = re.compile(r"(\S+) (debug|info|warn|error) (\S+)(.*)")
_LOG_FIELD = re.compile(r'\s+([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)')
_LOG_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)")


def parse_log_line(line: str) -> LogEvent | None:
    """The event on a distls log line, or None for a line of another shape."""
    m = _LOG_LINE.fullmatch(line.rstrip("\n"))
    if not m:
        return None
    fields = {}
    for key, value in _LOG_FIELD.findall(m.group(4)):
        if value.startswith('"'):
            value = _LOG_ESCAPE.sub(
                lambda e: chr(int(e.group(1)[1:], 16)) if len(e.group(1)) == 3 else e.group(1),
                value[1:-1])
        fields[key] = value
    return LogEvent(m.group(1), m.group(2), m.group(3), fields, line)


class LogFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """A position; text_since(mark) is what was logged after it."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def text_since(self, mark: int = 0) -> str:
        try:
            with open(self.path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def lines_since(self, mark: int = 0) -> list[str]:
        return self.text_since(mark).splitlines()

    def events_since(self, mark: int = 0, event: str | None = None, **fields: str) -> list[LogEvent]:
        """distls log events after `mark` with this name and these field values."""
        events = (parse_log_line(line) for line in self.lines_since(mark))
        return [e for e in events if e is not None and e.matches(event, **fields)]

    def tail(self, n: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.lines_since()[-n:])


class Process:
    """A child in its own process group, killed with the whole group on stop().

    On Linux it also gets SIGKILL if the test runner dies (setpriv --pdeathsig),
    so a killed test run leaves nothing behind.
    """

    def __init__(self, label: str, argv: list[str], log: LogFile, *, env: dict | None = None,
                 cwd: Path | None = None, pipe_stdio: bool = False) -> None:
        self.label = label
        self.argv = argv
        self.log = log
        prefix = []
        if sys.platform.startswith("linux") and shutil.which("setpriv"):
            prefix = ["setpriv", "--pdeathsig", "KILL", "--"]
        self._stopped = False
        self._log_file = open(log.path, "ab")
        self.popen = subprocess.Popen(
            prefix + argv,
            stdin=subprocess.PIPE if pipe_stdio else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe_stdio else self._log_file,
            stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def check_running(self) -> None:
        if not self.running:
            raise RuntimeError(f"{self.label} exited with status {self.popen.returncode}; "
                               f"last lines of {self.log.path}:\n"
                               f"{self.log.tail(SHORT_TAIL_LINES)}")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the group, SIGKILL whatever is left after `grace` seconds."""
        if self._stopped:
            return
        self._stopped = True
        if self.running:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Also reaches children that outlived the leader.
        self._signal_group(signal.SIGKILL)
        self.popen.wait()
        # stdout, when piped, belongs to its reader thread, which sees EOF now.
        if self.popen.stdin is not None:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        self._log_file.close()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class ErlangError(RuntimeError):
    """An expression raised, or could not be parsed, on the Erlang side."""


class ErlNode:
    """An `erl` node running distls_test_repl, driven through stdin/stdout.

    eval("Expr.") sends one line and returns the parsed result; see erlterm for
    how Erlang terms map to Python values.
    """

    def __init__(self, cluster: "Cluster", name: str | None, extra_args: list[str],
                 env: dict[str, str], label: str | None = None,
                 prefix: Iterable[str] = (), test_ebin: Path | None = None) -> None:
        """name=None starts a node without distribution; label then names its files.
        prefix: words before `erl` (e.g. `ip netns exec NS`); test_ebin: the REPL's
        beams, when not the build's (another OTP's, see ErlRuntime)."""
        self.cluster = cluster
        self.name = name
        self.label = label = label or name
        self.log = LogFile(cluster.work / f"{label}.log")
        argv = [*prefix, "erl", *(["-name", name] if name else []), "-setcookie", COOKIE, "-noshell",
                # No busy-waiting schedulers: several nodes share 2 cores.
                "+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none",
                *extra_args,
                "-pa", str(test_ebin or cluster.build.test_ebin),
                "-s", "distls_test_repl", "start"]
        home = cluster.work / f"{label}.home"
        home.mkdir(exist_ok=True)
        self._answers: dict[int, tuple[str, str]] = {}
        self._ready = threading.Event()
        self._closed = threading.Event()
        self._cond = threading.Condition()
        self._seq = 0
        self.process = cluster.spawn(
            f"erl {label}", argv, self.log, pipe_stdio=True, cwd=home,
            env={**os.environ, "HOME": str(home), **env})
        self._reader = threading.Thread(target=self._read, name=f"read {label}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stdout = self.process.popen.stdout
        with stdout, open(self.log.path, "ab") as log:
            for raw in stdout:
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if line.startswith("@@READY"):
                    self._ready.set()
                elif line.startswith(("@@RESULT ", "@@ERROR ")):
                    kind, seq, text = (line.split(" ", 2) + [""])[:3]
                    with self._cond:
                        self._answers[int(seq)] = (kind, text)
                        self._cond.notify_all()
        with self._cond:
            self._closed.set()
            self._cond.notify_all()

    def check_running(self) -> None:
        if self._closed.is_set() or not self.process.running:
            self.process.popen.poll()
            raise RuntimeError(f"erl node {self.label} is gone (status "
                               f"{self.process.popen.returncode}); last lines of "
                               f"{self.log.path}:\n{self.log.tail(SHORT_TAIL_LINES)}")

    def wait_ready(self, timeout: float = DEADLINE) -> None:
        wait_for(f"erl node {self.label} to boot", self._ready.is_set, timeout,
                 check=self.check_running)

    def eval_text(self, expr: str, timeout: float = DEADLINE) -> str:
        """Evaluate and return the result as Erlang printed it (~0tp)."""
        line = expr.replace("\n", " ").strip()
        if not line.endswith("."):
            line += "."
        self.check_running()
        self._seq += 1
        seq = self._seq
        stdin = self.process.popen.stdin
        try:
            stdin.write(line.encode("utf-8") + b"\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):
            self._closed.wait(5)
            self.check_running()
            raise
        deadline = time.monotonic() + timeout
        with self._cond:
            while seq not in self._answers:
                left = deadline - time.monotonic()
                if self._closed.is_set():
                    break
                if left <= 0:
                    raise TimeoutError(f"{self.label}: no answer to `{line}` after {timeout:.0f} s")
                self._cond.wait(left)
            answer = self._answers.pop(seq, None)
        if answer is None:
            self.check_running()
            raise RuntimeError(f"{self.label}: stdout closed while evaluating `{line}`")
        kind, text = answer
        if kind == "@@ERROR":
            raise ErlangError(f"{self.label}: `{line}` raised {text}")
        return text

    def eval(self, expr: str, timeout: float = DEADLINE):
        return parse_term(self.eval_text(expr, timeout))

    def stop(self) -> None:
        """End of input halts the REPL; the process group goes after that."""
        if self.process.running:
            try:
                self.process.popen.stdin.close()
                self.process.popen.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.process.stop()
        self._reader.join(timeout=10)

    # Conveniences shared by pods and plain nodes.

    def connect(self, other: "ErlNode | Pod | str") -> bool:
        return self.eval(f"net_kernel:connect_node({format_atom(_node_name(other))}).")

    def nodes(self) -> list[str]:
        return sorted(self.eval("nodes()."))


def _node_name(node: "ErlNode | Pod | str") -> str:
    return node if isinstance(node, str) else node.name


class Console:
    """A program on a pseudo-terminal, typed into as a person would: `erl -remsh`,
    a release's `remote_console`. erl only starts a remote shell on a terminal.

    expect(pattern) waits for a regex in the output not yet consumed; send(line)
    types a line. Everything it printed goes to <work>/<label>.log. close() kills
    its process group (it runs in a session of its own); register it as a cleanup.
    """

    def __init__(self, cluster: "Cluster", label: str, argv: list[str],
                 env: dict[str, str], cwd: Path | None = None) -> None:
        import pty  # Unix only, like the rest of the suite; imported where needed
        self.label = label
        self.log = LogFile(cluster.work / f"{label}.log")
        master, slave = pty.openpty()
        prefix = []
        if sys.platform.startswith("linux") and shutil.which("setpriv"):
            prefix = ["setpriv", "--pdeathsig", "KILL", "--"]
        # TERM matters: on a terminal it cannot drive, erl falls back to a local shell.
        self.popen = subprocess.Popen(prefix + argv, stdin=slave, stdout=slave, stderr=slave,
                                      env={"TERM": "xterm", **env}, cwd=cwd,
                                      start_new_session=True)
        os.close(slave)
        self._master = master
        self._output = ""
        self._consumed = 0
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, name=f"read {label}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with open(self.log.path, "ab") as log:
            while True:
                try:
                    data = os.read(self._master, 65536)
                except OSError:  # EIO: every holder of the terminal has gone
                    data = b""
                if not data:
                    break
                log.write(data)
                log.flush()
                with self._cond:
                    self._output += data.decode("utf-8", "replace")
                    self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def expect(self, pattern: str, timeout: float = DEADLINE) -> re.Match:
        """The first match of `pattern` after what earlier expects consumed."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = regex.search(self._output, self._consumed)
                if m:
                    self._consumed = m.end()
                    return m
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    state = "exited" if self._eof else "still running"
                    raise TimeoutError(f"{self.label} ({state}) never printed /{pattern}/; "
                                       f"it printed:\n{self._output[-3000:]}")
                self._cond.wait(min(left, 0.5))

    def send(self, line: str) -> None:
        os.write(self._master, line.encode("utf-8") + b"\n")

    def wait(self, timeout: float = DEADLINE) -> int:
        return self.popen.wait(timeout=timeout)

    def close(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.popen.wait()
        self._reader.join(timeout=10)
        try:
            os.close(self._master)
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path
    trust_bundle: Path


class Ca:
    """A CA made by `distls ca init`; issue() runs `distls ca issue`."""

    def __init__(self, cluster: "Cluster", label: str, ttl: str | None = None,
                 cn: str | None = None) -> None:
        self.cluster = cluster
        self.label = label
        self.cn = cn or "distls CA"
        self.dir = cluster.work / f"ca-{label}"
        cluster.run_distls(["ca", "init", "--out", str(self.dir), "--cn", self.cn]
                           + (["--ttl", ttl] if ttl else []))
        self.cert = self.dir / "ca.crt"
        self.key = self.dir / "ca.key"

    def issue(self, node: str, ttl: str | None = None, label: str | None = None) -> CertFiles:
        out = self.cluster.work / f"certs-{label or node}-{self.label}"
        self.cluster.run_distls(["ca", "issue", "--ca-dir", str(self.dir), "--node", node,
                                 "--out", str(out)] + (["--ttl", ttl] if ttl else []))
        return CertFiles(out / "tls.crt", out / "tls.key", out / "ca.crt")


class Dnsmasq:
    """A real dnsmasq on a loopback port serving the test's "headless Service".

    A/AAAA records come from a hosts directory that dnsmasq re-reads by itself when a
    file changes (set_hosts); SRV records are command-line options, so set_srv
    restarts it. stop()/start() simulate the DNS server going away and coming back.
    """

    DOMAIN = "distls.test"  # every name served lives under it

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self.port = free_port()
        self.hostsdir = cluster.work / "dns-hosts"
        self.hostsdir.mkdir(exist_ok=True)
        self.log = LogFile(cluster.work / "dnsmasq.log")
        self.srv: list[tuple[str, str, int]] = []
        self.process: Process | None = None
        self._generation = 0

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_hosts(self, records: dict[str, list[str]]) -> None:
        """Replace every A/AAAA record: {name: [address, ...]}."""
        lines = [f"{addr} {name}" for name, addrs in records.items() for addr in addrs]
        self._generation += 1
        # Written beside the watched directory and renamed in: dnsmasq sees one complete file.
        tmp = self.cluster.work / f"dns-hosts.{self._generation}"
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.hostsdir / "hosts")
        if self.process is not None:
            read = f"read {self.hostsdir / 'hosts'}"
            wait_for("dnsmasq to read the new hosts file",
                     lambda: self.log.text_since(0).count(read) >= self._generation)

    def set_srv(self, records: list[tuple[str, str, int]]) -> None:
        """Replace every SRV record: [(service name, target, port)]; restarts dnsmasq."""
        self.srv = list(records)
        if self.process is not None:
            self.stop()
            self.start()

    def start(self) -> "Dnsmasq":
        argv = [shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "--keep-in-foreground",
                "--log-facility=-", "--conf-file=/dev/null", "--pid-file",
                "--no-resolv", "--no-hosts", "--no-poll", "--user=root",
                "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={self.port}",
                f"--hostsdir={self.hostsdir}", "--local-ttl=0",
                # Authoritative for the test domain, as a cluster DNS is for its zone:
                # a name with only A records gets an empty AAAA answer, not REFUSED.
                f"--local=/{self.DOMAIN}/"]
        argv += [f"--srv-host={name},{target},{port}" for name, target, port in self.srv]
        self.process = self.cluster.spawn("dnsmasq", argv, self.log)
        self.process.argv = argv
        wait_for(f"dnsmasq to listen on {self.server}",
                 lambda: f"127.0.0.1:{self.port}" in " ".join(listening_addresses(self.port))
                 or self._udp_bound(), check=self.process.check_running)
        return self

    def _udp_bound(self) -> bool:
        out = subprocess.run(["ss", "-lunH", f"sport = :{self.port}"], check=True,
                             capture_output=True, text=True).stdout
        return f"127.0.0.1:{self.port}" in out

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


# ---------------------------------------------------------------------------
# Pods and the cluster that owns them
# ---------------------------------------------------------------------------

ENTRY_POINTS = ("epmd_module", "proto_dist")


def entry_point_args(entry: str, build: Build) -> list[str]:
    """The `erl` arguments of a node behind distls, by entry point (docs/erlang.md):
    `epmd_module` (-epmd_module distls_epmd, as in the README) or `proto_dist`
    (-proto_dist distls, which keeps its listener on loopback by itself)."""
    if entry == "epmd_module":
        return ["-epmd_module", "distls_epmd", "-start_epmd", "false",
                "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
                "-pa", str(build.ebin)]
    if entry == "proto_dist":
        return ["-proto_dist", "distls", "-start_epmd", "false", "-pa", str(build.ebin)]
    raise ValueError(f"unknown entry point {entry!r}; one of {ENTRY_POINTS}")


# The two ways a person reaches a running node's shell: typed by hand, and as a
# release's remote_console starts it (relx: a dynamic name, no listener, hidden).
REMOTE_CONSOLE_VARIANTS = {
    "named": lambda pod: ["-name", f"console@{pod.ip}"],
    "remote_console": lambda pod: ["-name", f"undefined@{pod.ip}", "-dist_listen", "false"],
}


def check_remote_consoles(test: unittest.TestCase, cluster: "Cluster", pod: "Pod",
                          env: dict[str, str]) -> None:
    """`erl -remsh` with -proto_dist distls reaches `pod`'s node in both variants, as a
    hidden node, and without a tunnel: distls hands a node of its own pod the node's
    own address (no TLS)."""
    for label, name_args in REMOTE_CONSOLE_VARIANTS.items():
        with test.subTest(variant=label):
            mark = pod.distls_log.mark()
            argv = ["erl", *name_args(pod), "-remsh", pod.name, "-setcookie", COOKIE, "-hidden",
                    *entry_point_args("proto_dist", cluster.build)]
            console = Console(cluster, f"remsh-{label}", argv, env)
            test.addCleanup(console.close)
            console.expect(r"\(" + pod.name.replace(".", r"\.") + r"\)\d+> ")
            console.send('io:format("REMOTE ~p ~p~n", [node(), length(nodes(hidden))]).')
            remote, hidden = console.expect(r"REMOTE '([^']+)' (\d+)").groups()
            test.assertEqual(remote, pod.name)
            test.assertGreaterEqual(int(hidden), 1, "the console is a hidden node")
            console.close()
            test.assertEqual(pod.distls_log.events_since(mark, "tunnel_open"), [],
                             "a node of the pod is reached directly, no TLS")
    test.assertTrue(pod.node.process.running)


class Pod:
    """distls proxy + `app@127.0.0.N` node on loopback alias 127.0.0.N."""

    def __init__(self, cluster: "Cluster", n: int, certs: CertFiles | None,
                 trust_bundle: Path | None = None, extra_distls_args: Iterable[str] = (),
                 source_args: Iterable[str] | None = None, entry: str = "epmd_module",
                 node_args: Iterable[str] = (), host: str | None = None,
                 runtime: ErlRuntime | None = None, node_env: dict[str, str] | None = None) -> None:
        """certs: files for `--cert-source file`; or source_args: the whole cert-source
        part of the command line (e.g. local-ca with its CA files). entry: how the node
        reaches distls (see entry_point_args); node_args: more `erl` arguments. host:
        the node name's host part when it is a DNS name rather than the pod's IP.
        runtime: where the node runs, when not on the host's OTP (distls always does).
        node_env: more environment for the node (e.g. DISTLS_SOCKET_DIR)."""
        self.cluster = cluster
        self.n = n
        self.ip = f"127.0.0.{n}"
        self.name = f"app@{host or self.ip}"
        self.certs = certs
        self.trust_bundle = trust_bundle or (certs.trust_bundle if certs else None)
        if source_args is None:
            if certs is None:
                raise ValueError("a pod needs certs or source_args")
            source_args = ["--cert-source", "file", "--cert", str(certs.cert),
                           "--key", str(certs.key), "--trust-bundle", str(self.trust_bundle)]
        self._source_args = list(source_args)
        self.tls_port = cluster.tls_port
        self.epmd_port = free_port()
        self.admin_port = free_port()
        self.distls_log = LogFile(cluster.work / f"distls-{n}.log")
        self.distls: Process | None = None
        self.node: ErlNode | None = None
        self._extra_distls_args = list(extra_distls_args)
        self.entry = entry
        self._node_args = list(node_args)
        self._node_env = dict(node_env or {})
        self.runtime = runtime

    def __repr__(self) -> str:
        return f"Pod({self.name}, epmd {self.epmd_port}, tls {self.ip}:{self.tls_port})"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> "Pod":
        self.start_distls()
        self.start_node()
        return self

    def start_distls(self) -> None:
        argv = [*self.cluster.distls_command, "proxy",
                "--node", self.name,
                "--listen", f"{self.ip}:{self.tls_port}",
                "--peer-port", str(self.tls_port),
                "--epmd", f"127.0.0.1:{self.epmd_port}",
                "--admin", f"127.0.0.1:{self.admin_port}",
                *self._source_args,
                *self._extra_distls_args]
        self.distls = self.cluster.spawn(f"distls {self.ip}", argv, self.distls_log,
                                         env=distls_env())
        # A real NAMES request, not a bare connect: distls rightly logs half-sent requests.
        wait_for(f"distls {self.ip} to answer EPMD requests on 127.0.0.1:{self.epmd_port}",
                 lambda: self._names_or_none() is not None, check=self.distls.check_running)

    def start_node(self) -> None:
        build, prefix = self.cluster.build, ()
        if self.runtime is not None:
            build, prefix = self.runtime.build(build), self.runtime.prefix
        args = entry_point_args(self.entry, build) + self._node_args
        self.node = ErlNode(self.cluster, self.name, args,
                            {"ERL_EPMD_PORT": str(self.epmd_port), **self._node_env},
                            prefix=prefix, test_ebin=build.test_ebin)
        self.node.wait_ready()
        wait_for(f"{self.name} to register with distls",
                 lambda: "app" in self._names_or_empty(), check=self.check_running)
        wait_for(f"{self.admin_url}/readyz to answer 200",
                 lambda: http_get(self.admin_url + "/readyz")[0] == 200,
                 check=self.check_running)

    def _names_or_none(self) -> dict[str, int] | None:
        try:
            return epmd_names(self.epmd_port)
        except (OSError, ValueError):
            return None

    def _names_or_empty(self) -> dict[str, int]:
        return self._names_or_none() or {}

    def check_running(self) -> None:
        if self.distls is not None:
            self.distls.check_running()
        if self.node is not None:
            self.node.check_running()

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
        if self.distls is not None:
            self.distls.stop()

    # What tests do with a pod.

    def eval(self, expr: str, timeout: float = DEADLINE):
        return self.node.eval(expr, timeout)

    def connect(self, other: "Pod | ErlNode | str") -> bool:
        return self.node.connect(other)

    def nodes(self) -> list[str]:
        return self.node.nodes()

    def kill(self) -> None:
        """kill -9 of the node and its distls, as a crashed pod."""
        for process in (self.node.process if self.node else None, self.distls):
            if process is not None and process.running:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()

    def admin(self, path: str) -> dict:
        status, body = http_get(self.admin_url + path)
        if status != 200:
            raise RuntimeError(f"{self.admin_url}{path} answered {status}: {body}")
        return json.loads(body)

    def metric(self, name: str, labels: str = "") -> float:
        """One sample from /metrics (0 when absent), e.g. metric("x_total", 'result="ok"')."""
        status, body = http_get(self.admin_url + "/metrics")
        key = f"{name}{{{labels}}}" if labels else name
        for line in body.splitlines():
            if line.startswith(key + " "):
                return float(line.split()[-1])
        return 0.0

    def cert_status(self) -> dict:
        """The admin /certs document: the identity this pod's distls presents now."""
        status, body = http_get(self.admin_url + "/certs")
        if status != 200:
            raise RuntimeError(f"{self.admin_url}/certs answered {status}: {body}")
        return json.loads(body)

    def dist_port(self) -> int:
        """The port the node registered with distls, i.e. its distribution listener."""
        return epmd_names(self.epmd_port)["app"]


class Cluster:
    """Owns a work directory and every process started for a test class.

    close() stops everything (nodes first, then distls), whatever happened;
    register it with addClassCleanup/addCleanup right after construction.
    """

    def __init__(self, label: str, build: Build | None = None,
                 tls_port: int | None = None, need_distls: bool = True,
                 distls_command: list[str] | None = None) -> None:
        """distls_command: the words that run distls for pods and `distls ca` (default:
        the build's binary); e.g. a wrapper that runs an image's distls in its root."""
        self.build = build or Build.from_env()
        self.build.check(need_distls)
        self.distls_command = list(distls_command or [str(self.build.distls)])
        self.work = Path(tempfile.mkdtemp(prefix=f"distls-{label}-"))
        self.processes: list[Process] = []
        self.pods: list[Pod] = []
        self.failed = False
        self.report_on_close = False  # print diagnostics() in close(), before stopping
        if tls_port is None:
            tls_port = int(os.environ.get("DISTLS_IT_TLS_PORT", "0")) or free_port(
                [f"127.0.0.{n}" for n in range(1, 10)])
        self.tls_port = tls_port

    def spawn(self, label: str, argv: list[str], log: LogFile, **kwargs) -> Process:
        process = Process(label, argv, log, **kwargs)
        self.processes.append(process)
        return process

    def run_distls(self, args: list[str]) -> subprocess.CompletedProcess:
        argv = [*self.distls_command, *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                env=distls_env())
        if result.returncode != 0:
            raise RuntimeError(f"`{' '.join(argv)}` exited {result.returncode}:\n"
                               f"{result.stderr}{result.stdout}")
        return result

    def ca(self, label: str, ttl: str | None = None, cn: str | None = None) -> Ca:
        return Ca(self, label, ttl, cn)

    def dnsmasq(self) -> Dnsmasq:
        return Dnsmasq(self)

    def bundle(self, label: str, *cas: Ca) -> Path:
        """A trust bundle file holding the certificates of several CAs."""
        path = self.work / f"bundle-{label}.crt"
        path.write_bytes(b"".join(ca.cert.read_bytes() for ca in cas))
        return path

    def pod(self, n: int, certs: CertFiles | None, **kwargs) -> Pod:
        """Start pod n (127.0.0.n) and wait until its node is registered and ready."""
        pod = Pod(self, n, certs, **kwargs)
        self.pods.append(pod)
        try:
            pod.start()
        except Exception as e:
            self.failed = self.report_on_close = True
            raise RuntimeError(f"starting {pod} failed: {e}") from e
        return pod

    def plain_node(self, name: str, target: tuple[str, int]) -> ErlNode:
        """A node with stock inet_tcp distribution and no distls, whose every lookup
        answers `target` (see erl/distls_test_plain_epmd.erl)."""
        ip = name.split("@", 1)[1]
        args = ["-epmd_module", "distls_test_plain_epmd", "-start_epmd", "false",
                "-kernel", "inet_dist_use_interface", "{" + ip.replace(".", ",") + "}"]
        node = ErlNode(self, name, args, {"DISTLS_TEST_TARGET": f"{target[0]}:{target[1]}"})
        node.wait_ready()
        return node

    def wait_for_mesh(self, pods: list[Pod], timeout: float = DEADLINE) -> None:
        """Until every pod's nodes() is exactly the other pods."""
        def meshed() -> bool:
            return all(p.nodes() == sorted(q.name for q in pods if q is not p) for p in pods)
        wait_for("a full mesh of " + ", ".join(p.name for p in pods), meshed, timeout,
                 interval=0.2)

    def diagnostics(self) -> str:
        parts = [f"work directory: {self.work}"]
        seen = set()
        for process in self.processes:
            if process.log.path in seen:
                continue
            seen.add(process.log.path)
            state = "running" if process.running else f"exited {process.popen.returncode}"
            parts.append(f"==== {process.label} ({state}), last lines of {process.log.path}:\n"
                         f"{process.log.tail()}")
        return "\n".join(parts)

    def close(self) -> None:
        """Stop every process (never raises for one that is already gone)."""
        if self.report_on_close:
            print("\n" + self.diagnostics(), file=sys.stderr)
        for pod in reversed(self.pods):
            try:
                pod.stop()
            except Exception as e:  # keep going: the rest must still be stopped
                print(f"stopping {pod}: {e}", file=sys.stderr)
        for process in reversed(self.processes):
            process.stop()
        if self.failed or os.environ.get("DISTLS_KEEP_WORK"):
            print(f"distls test work directory kept: {self.work}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


class ClusterTestCase(unittest.TestCase):
    """A TestCase that owns a Cluster for the whole class and, when a test fails
    or errors, prints the tail of every process's log right after it."""

    cluster: Cluster

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cluster = Cluster(cls.__name__)
        cls.addClassCleanup(cls.cluster.close)

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        outcome = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            type(self).cluster.failed = True
            print("\n" + type(self).cluster.diagnostics(), file=sys.stderr)
        return outcome

    def assert_round_trips(self, a: "Pod", b: "Pod", n: int = 100) -> None:
        """`n` messages from a's node to an echo process on b's node and back."""
        self.assertEqual(
            a.eval(f"distls_test_repl:round_trips({format_atom(b.name)}, distls_test_echo, {n}).",
                   timeout=300),
            (Atom("ok"), n))

    def assert_round_trips_between_every_pair(self, pods: "list[Pod]", n: int) -> None:
        for a in pods:
            for b in pods:
                if a is not b:
                    with self.subTest(sender=a.name, echo=b.name):
                        self.assert_round_trips(a, b, n)
