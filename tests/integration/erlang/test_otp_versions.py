"""Nodes of every supported OTP, 25 through 29, in one cluster through distls.

OTP 25 is the host's (Debian 12's erlang-nox). OTP 27 (Debian 13) and the newest OTP
(Debian unstable: 29) run in Debian roots that mmdebstrap builds once per machine
(otp_roots.py): each of their nodes runs its root's own `erl`, chrooted, on the host's
loopback, with the distls modules and the test REPL compiled by that root's `erlc`
with warnings as errors. distls is the host's, as a sidecar image is the same whatever
OTP the application runs.

- StrictBuildTest: proxy/erlang/*.erl and erl/*.erl compile with warnings as errors on
  each OTP.
- DependentBuildTest: an application depending on distls (examples/rebar3,
  examples/mix) still builds when a distls module warns, as a module may on an OTP
  newer than this test knows: warnings_as_errors is CI's choice, not forced on users.
- MixedClusterTest: nodes of OTP 25, 27 and 29, each with both entry points: first
  connections across versions (net_adm:ping, connect_node), a full mesh with round trips
  between every pair and a ring through all, remote consoles in each root, and no way
  around distls: once a pod's distls is killed its node is down for everyone.
- MixedDiscoveryTest: the same mix forms a cluster from distls's peer set alone.

Skipped, saying why, where the roots cannot be built (not root, no mmdebstrap or
overlayfs, no mirror).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
from pathlib import Path

import otp_roots
from erlterm import Atom, format_atom
from harness import COOKIE, REPO_ROOT, Cluster, ClusterTestCase, Console, ErlRuntime, Pod, \
    can_connect, entry_point_args, listening_addresses, wait_for
from test_proto_dist import DistTestCase, dist_peer_address
from test_recipes import build_env, require_tool, run_build

ERLANG_SIDE = REPO_ROOT / "proxy" / "erlang"
TEST_ERL = REPO_ROOT / "tests" / "integration" / "erl"
EXAMPLES = REPO_ROOT / "examples"
PROTO_DIST, EPMD_MODULE = "proto_dist", "epmd_module"
HOST_MIN_OTP = 25

# ---------------------------------------------------------------------------
# The roots, acquired once for the module and held (shared lock) until its end
# ---------------------------------------------------------------------------

_roots: list[otp_roots.OtpRoot] = []
_roots_unavailable: str | None = None


def roots() -> tuple[otp_roots.OtpRoot, otp_roots.OtpRoot]:
    """(Debian 13's root, Debian unstable's root); SkipTest where they cannot be had."""
    global _roots_unavailable
    if not _roots and _roots_unavailable is None:
        try:
            for spec in (otp_roots.TRIXIE, otp_roots.UNSTABLE):
                _roots.append(otp_roots.acquire(spec))
        except otp_roots.RootUnavailable as e:
            _roots_unavailable = str(e)
            tearDownModule()
    if _roots_unavailable is not None:
        raise unittest.SkipTest(f"no Debian roots with OTP 27 and 29: {_roots_unavailable}")
    return _roots[0], _roots[1]


def tearDownModule() -> None:
    while _roots:
        _roots.pop().close()


def host_otp_release() -> str:
    return subprocess.run(["erl", "-noshell", "-eval",
                           'io:format("~s", [erlang:system_info(otp_release)]), halt().'],
                          capture_output=True, text=True, check=True, timeout=120).stdout


def compile_strictly(prefix: list[str], sources: list[Path], out: Path) -> str:
    """erlc +warnings_as_errors of copies of `sources` into `out` (both under a
    directory the prefix makes visible); the compiler's output, empty when clean."""
    src = out.with_name(out.name + "-src")
    src.mkdir(parents=True)
    out.mkdir(parents=True)
    for source in sources:
        shutil.copy(source, src)
    argv = prefix + ["erlc", "+warnings_as_errors", "-o", str(out),
                     *(str(src / s.name) for s in sources)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise AssertionError(f"erlc +warnings_as_errors failed (exit {result.returncode}):\n"
                             f"{output}")
    return output


def runtime_in(root: otp_roots.OtpRoot, cluster: Cluster) -> ErlRuntime:
    """Nodes in root, with the distls modules and the REPL compiled there, strictly."""
    base = cluster.work / f"otp{root.otp_release}"
    prefix = root.prefix([cluster.work])
    ebin, test_ebin = base / "ebin", base / "test_ebin"
    compile_strictly(prefix, sorted(ERLANG_SIDE.glob("*.erl")), ebin)
    compile_strictly(prefix, sorted(TEST_ERL.glob("*.erl")), test_ebin)
    return ErlRuntime(tuple(prefix), ebin, test_ebin)


def serve(pod: Pod) -> None:
    ok, _pid = pod.eval("distls_test_repl:serve().")
    assert ok == "ok", ok


# ---------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------

class StrictBuildTest(unittest.TestCase):
    """What CI builds: every module with warnings as errors, on each OTP."""

    def test_modules_compile_without_warnings_on_every_otp(self) -> None:
        trixie, unstable = roots()
        work = Path(tempfile.mkdtemp(prefix="distls-strict-build-"))
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        targets = [("host", [], host_otp_release(), HOST_MIN_OTP)]
        targets += [(root.spec.label, root.prefix([work]), root.otp_release, root.spec.min_otp)
                    for root in (trixie, unstable)]
        for label, prefix, release, min_otp in targets:
            with self.subTest(otp=release, where=label):
                self.assertGreaterEqual(int(release), min_otp)
                for name, sources in (("ebin", ERLANG_SIDE.glob("*.erl")),
                                      ("test_ebin", TEST_ERL.glob("*.erl"))):
                    sources = sorted(sources)
                    out = work / f"otp{release}" / name
                    self.assertEqual(compile_strictly(prefix, sources, out), "",
                                     "the compiler said something: a warning")
                    self.assertEqual(sorted(b.stem for b in out.glob("*.beam")),
                                     [s.stem for s in sources])
        self.assertEqual(len({t[2] for t in targets}), 3, f"three OTPs: {targets}")


class DependentBuildTest(unittest.TestCase):
    """The examples, applications depending on distls, built against a copy of
    proxy/erlang in which a module warns: the build goes on, the warning is shown."""

    WARNING = re.compile(r"distls_warns\.erl:\d+(:\d+)?: [Ww]arning: variable 'Unused' is unused")

    def setUp(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="distls-dependent-build-"))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.distls = self.work / "distls"
        shutil.copytree(ERLANG_SIDE, self.distls,
                        ignore=shutil.ignore_patterns("_build", "deps", "ebin"))
        (self.distls / "distls_warns.erl").write_text(
            "%% Warns, as a module may on an OTP newer than its authors tested.\n"
            "-module(distls_warns).\n-export([f/0]).\nf() -> Unused = 1, ok.\n")

    def build(self, tool: list[str], project: Path, env: dict[str, str]) -> str:
        log = self.work / f"{project.name}.log"
        run_build(tool, project, env, log)
        return log.read_text()

    def test_rebar3(self) -> None:
        require_tool("rebar3", "rebar3")
        project = self.work / "rebar3-example"
        shutil.copytree(EXAMPLES / "rebar3", project)
        (project / "_checkouts").mkdir()
        (project / "_checkouts" / "distls").symlink_to(self.distls, target_is_directory=True)
        output = self.build(["rebar3", "compile"], project, build_env(self.work / "rebar3-home"))
        self.assertRegex(output, self.WARNING)
        self.assertTrue((project / "_build" / "default" / "checkouts" / "distls" / "ebin" /
                         "distls_warns.beam").is_file()
                        or (project / "_build" / "default" / "lib" / "distls" / "ebin" /
                            "distls_warns.beam").is_file(), output)

    def test_mix(self) -> None:
        require_tool("mix", "elixir")
        project = self.work / "mix-example"
        shutil.copytree(EXAMPLES / "mix", project)
        mix_exs = project / "mix.exs"
        text, count = re.subn(r'\{:distls, git: [^}]*\}', f'{{:distls, path: "{self.distls}"}}',
                              mix_exs.read_text())
        self.assertEqual(count, 1, "examples/mix/mix.exs: one `{:distls, git: ...}` line")
        mix_exs.write_text(text)
        output = self.build(["mix", "compile"], project, build_env(self.work / "mix-home"))
        self.assertRegex(output, self.WARNING)
        self.assertTrue((project / "_build" / "dev" / "lib" / "distls" / "ebin" /
                         "distls_warns.beam").is_file(), output)


# ---------------------------------------------------------------------------
# Clusters of mixed OTPs
# ---------------------------------------------------------------------------

class MixedClusterTest(DistTestCase):
    """Pods 2-3 on the host's OTP 25, 4-5 on Debian 13's OTP 27, 6-7 on Debian
    unstable's OTP 29; the first of each pair with -epmd_module distls_epmd, the second
    with -proto_dist distls."""

    @classmethod
    def setUpClass(cls) -> None:
        trixie, unstable = roots()
        super().setUpClass()
        cls.ca = cls.cluster.ca("main")
        cls.runtimes = {root: runtime_in(root, cls.cluster) for root in (trixie, unstable)}
        cls.expected = {}
        cls.pods = []
        for n, root, entry in ((2, None, EPMD_MODULE), (3, None, PROTO_DIST),
                               (4, trixie, EPMD_MODULE), (5, trixie, PROTO_DIST),
                               (6, unstable, EPMD_MODULE), (7, unstable, PROTO_DIST)):
            pod = cls.cluster.pod(n, cls.ca.issue(f"app@127.0.0.{n}"), entry=entry,
                                  runtime=cls.runtimes.get(root))
            serve(pod)
            cls.expected[pod.name] = root.otp_release if root else host_otp_release()
            cls.pods.append(pod)
        (cls.host_e, cls.host_p, cls.otp27_e, cls.otp27_p,
         cls.otp29_e, cls.otp29_p) = cls.pods

    def require_mesh(self) -> None:
        for pod in self.pods[1:]:
            self.host_e.connect(pod)
        self.cluster.wait_for_mesh(self.pods)

    def test_1_each_node_runs_its_own_otp_listening_on_loopback(self) -> None:
        for pod in self.pods:
            with self.subTest(pod=pod.name, entry=pod.entry):
                self.assertEqual(pod.eval("erlang:system_info(otp_release)."),
                                 self.expected[pod.name])
                port = pod.dist_port()
                self.assertEqual(listening_addresses(port), [f"127.0.0.1:{port}"])
                self.assertFalse(can_connect(pod.ip, port), f"{pod.ip}:{port} accepted")
        releases = sorted(set(self.expected.values()), key=int)
        self.assertEqual(len(releases), 3, f"three OTPs: {releases}")
        self.assertGreaterEqual(int(releases[0]), HOST_MIN_OTP)

    def test_2_first_connections_across_versions(self) -> None:
        # Three disjoint pairs, each connection the first of both of its nodes, in the
        # direction written; both entry points dial and answer across versions.
        for src, dst, how in ((self.otp29_p, self.host_e, "ping"),
                              (self.host_p, self.otp27_e, "ping"),
                              (self.otp27_p, self.otp29_e, "connect")):
            label = (f"OTP {self.expected[src.name]} {src.entry} -> "
                     f"OTP {self.expected[dst.name]} {dst.entry} ({how})")
            with self.subTest(label):
                self.assert_connects_through_distls(src, dst, how)
                self.assert_round_trips(src, dst, 50)
                self.assert_round_trips(dst, src, 50)

    def test_3_a_full_mesh_across_versions(self) -> None:
        self.require_mesh()
        for a in self.pods:
            for b in self.pods:
                if a is b:
                    continue
                with self.subTest(sender=a.name, echo=b.name):
                    self.assert_round_trips(a, b, 20)
                    # Never the peer's own listener: every socket is with distls.
                    self.assertNotEqual(dist_peer_address(a, b.name),
                                        ((127, 0, 0, 1), b.dist_port()))
        # One message through every node, OTP 25 -> 27 -> 29 and back, both entry points.
        ring = [p.name for p in (self.host_e, self.otp27_p, self.otp29_e, self.host_p,
                                 self.otp29_p, self.otp27_e)]
        nodes = "[" + ",".join(format_atom(n) for n in ring) + "]"
        self.assertEqual(self.host_e.eval(f"distls_test_repl:ring({nodes}, {{mixed, <<1,2,3>>}})."),
                         (Atom("ok"), [Atom(n) for n in ring], (Atom("mixed"), b"\x01\x02\x03")))

    def test_4_remote_console_in_each_root(self) -> None:
        # As typed by hand, and as a release's remote_console starts it; no tunnel, no TLS.
        variants = {"named": lambda pod: ["-name", f"console@{pod.ip}"],
                    "remote_console": lambda pod: ["-name", f"undefined@{pod.ip}",
                                                   "-dist_listen", "false"]}
        for pod in (self.otp27_e, self.otp27_p, self.otp29_e, self.otp29_p):
            runtime = pod.runtime
            for label, name_args in variants.items():
                with self.subTest(node=pod.name, entry=pod.entry, variant=label):
                    mark = pod.distls_log.mark()
                    argv = [*runtime.prefix, "erl", *name_args(pod), "-remsh", pod.name,
                            "-setcookie", COOKIE, "-hidden",
                            *entry_point_args(pod.entry, runtime.build(self.cluster.build))]
                    env = {**os.environ, "ERL_EPMD_PORT": str(pod.epmd_port),
                           "HOME": str(self.cluster.work)}
                    console = Console(self.cluster, f"remsh-{pod.n}-{label}", argv, env)
                    self.addCleanup(console.close)
                    console.expect(r"\(" + re.escape(pod.name) + r"\)\d+> ")
                    console.send('io:format("REMOTE ~p ~s~n", '
                                 '[node(), erlang:system_info(otp_release)]).')
                    remote, release = console.expect(r"REMOTE '([^']+)' (\d+)").groups()
                    console.close()
                    self.assertEqual((remote, release), (pod.name, self.expected[pod.name]))
                    self.assertEqual(pod.distls_log.events_since(mark, "tunnel_open"), [])

    def test_9_without_its_distls_a_node_is_cut_off(self) -> None:
        # Last: it kills distls. All four nodes in roots, one after the other.
        self.require_mesh()
        cut_off = []
        for victim in (self.otp27_e, self.otp27_p, self.otp29_e, self.otp29_p):
            with self.subTest(node=victim.name, entry=victim.entry):
                os.killpg(victim.distls.popen.pid, signal.SIGKILL)
                victim.distls.popen.wait()
                cut_off.append(victim)
                live = [p for p in self.pods if p not in cut_off]
                wait_for(f"nodedown of {victim.name} everywhere, its distls killed",
                         lambda: all(victim.name not in p.nodes() for p in live)
                         and victim.nodes() == [])
                # Nothing else leads there, nor out of there.
                self.assertEqual(self.host_p.eval(f"net_adm:ping({format_atom(victim.name)})."),
                                 "pang")
                self.assertEqual(victim.eval(f"net_adm:ping({format_atom(self.host_e.name)})."),
                                 "pang")
                self.assertTrue(victim.node.process.running, "the node itself lives on")
        self.assertEqual(self.host_e.nodes(), [self.host_p.name])


class MixedDiscoveryTest(ClusterTestCase):
    """Pods 8-12 (host OTP 25; OTP 27 and 29 with each entry point) list each other as
    distls's static peer set; nobody calls connect."""

    def test_nodes_of_every_otp_join_the_discovered_peers(self) -> None:
        trixie, unstable = roots()
        ca = self.cluster.ca("discovery")
        layout = ((8, None, PROTO_DIST), (9, trixie, EPMD_MODULE), (10, trixie, PROTO_DIST),
                  (11, unstable, EPMD_MODULE), (12, unstable, PROTO_DIST))
        names = [f"app@127.0.0.{n}" for n, _, _ in layout]
        runtimes = {root: runtime_in(root, self.cluster) for root in (trixie, unstable)}
        pods = []
        for (n, root, entry), name in zip(layout, names):
            pods.append(self.cluster.pod(n, ca.issue(name), entry=entry,
                                         runtime=runtimes.get(root),
                                         extra_distls_args=["--discovery",
                                                            "static:" + ",".join(names),
                                                            "--refresh", "1s"]))
            self.addCleanup(pods[-1].stop)
        self.cluster.wait_for_mesh(pods)
        for pod in pods:
            with self.subTest(pod=pod.name, entry=pod.entry):
                discoverers = pod.eval(
                    "length([P || P <- processes(), "
                    "{current_stacktrace, Stack} <- [erlang:process_info(P, current_stacktrace)], "
                    "lists:any(fun({M, F, _, _}) -> {M, F} =:= {distls_discovery, loop} end, "
                    "Stack)]).")
                self.assertEqual(discoverers, 1, "distls_discovery processes")


if __name__ == "__main__":
    unittest.main()
