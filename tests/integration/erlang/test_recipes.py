"""The recipes of docs/erlang.md, built and run: a rebar3 release (examples/rebar3), a
mix release (examples/mix) and a plain Elixir node, each behind its own distls with
`-proto_dist distls`, joining a pod started by the harness (with -epmd_module
distls_epmd: the two entry points mix). The release tooling users reach for works on
them: `ping`, `eval`/`rpc`, `remote_console`/`remote`.

Everything builds offline: the examples' distls dependency is pointed at this
checkout's proxy/erlang (rebar3: _checkouts; mix: a path dependency). Tests skip,
saying so, where rebar3 or Elixir is not installed (Debian: rebar3, elixir).
"""

import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

from erlterm import format_atom
from harness import COOKIE, DEADLINE, REPO_ROOT, ClusterTestCase, Console, LogFile, Pod, \
    Process, can_connect, free_port, listening_addresses, wait_for

EXAMPLES = REPO_ROOT / "examples"
ERLANG_SIDE = REPO_ROOT / "proxy" / "erlang"
BUILD_TIMEOUT = 600  # seconds; a cold mix/rebar3 build on a loaded 2-core machine


def require_tool(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        raise unittest.SkipTest(f"{tool} is not installed (Debian package `{package}`, "
                                "which scripts/bootstrap.sh installs)")


def run_build(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=BUILD_TIMEOUT)
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` in {cwd} exited {result.returncode}:\n"
                           f"{result.stdout[-3000:]}{result.stderr[-3000:]}")


def build_env(home: Path) -> dict[str, str]:
    """A private HOME: no user config, caches or hex credentials leak in or out."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REBAR", "MIX_", "HEX_", "DISTLS_"))}
    return {**env, "HOME": str(home), "MIX_HOME": str(home / ".mix"),
            "HEX_HOME": str(home / ".hex"), "HEX_OFFLINE": "1"}


class RecipeTestCase(ClusterTestCase):
    """One harness pod to join (`peer`), plus helpers for a pod whose node is started
    by something other than the harness (a release, an elixir command)."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.ca = cls.cluster.ca("main")
        cls.peer = cls.cluster.pod(2, cls.ca.issue("app@127.0.0.2"), entry="epmd_module")
        ok, _pid = cls.peer.eval("distls_test_repl:serve().")
        assert ok == "ok", ok

    @classmethod
    def distls_only(cls, n: int) -> Pod:
        """Pod n's distls, with no node: the test starts the node its own way."""
        pod = Pod(cls.cluster, n, cls.ca.issue(f"app@127.0.0.{n}"))
        cls.cluster.pods.append(pod)
        pod.start_distls()
        return pod

    def node_env(self, pod: Pod, **extra: str) -> dict[str, str]:
        return {**os.environ, "POD_IP": pod.ip, "ERL_EPMD_PORT": str(pod.epmd_port),
                "HOME": str(self.cluster.work), **extra}

    def start(self, pod: Pod, label: str, argv: list[str], env: dict[str, str]) -> Process:
        process = self.cluster.spawn(label, argv, LogFile(self.cluster.work / f"{label}.log"),
                                     env=env)
        self.addCleanup(process.stop)
        wait_for(f"{label} to register with distls as app",
                 lambda: "app" in pod._names_or_empty(), check=process.check_running)
        return process

    def assert_peer_joins(self, pod: Pod) -> None:
        """The harness pod connects to pod's node, through both distls."""
        mark = pod.distls_log.mark()
        self.assertIs(self.peer.connect(pod.name), True, f"{self.peer.name} -> {pod.name}")
        wait_for(f"{pod.name}'s distls to log the tunnel from {self.peer.name}",
                 lambda: pod.distls_log.events_since(mark, "tunnel_open", direction="in",
                                                     peer=self.peer.name))

    def assert_listens_on_loopback_only(self, pod: Pod) -> int:
        port = pod.dist_port()
        self.assertEqual(listening_addresses(port), [f"127.0.0.1:{port}"])
        self.assertFalse(can_connect(pod.ip, port))
        return port

    def run_tool(self, argv: list[str], env: dict[str, str]) -> str:
        result = subprocess.run(argv, env=env, capture_output=True, text=True,
                                timeout=DEADLINE * 2)
        self.assertEqual(result.returncode, 0,
                         f"`{' '.join(argv)}` failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    def assert_console(self, label: str, argv: list[str], env: dict[str, str], pod: Pod,
                       prompt: str, command: str, answer: str) -> None:
        console = Console(self.cluster, label, argv, env)
        self.addCleanup(console.close)
        console.expect(prompt.replace("NODE", re.escape(pod.name)))
        console.send(command)
        self.assertEqual(console.expect(answer).group(1), pod.name)
        console.close()


class Rebar3ReleaseTest(RecipeTestCase):
    """examples/rebar3: vm.args.src with `-name app@${POD_IP}` and `-proto_dist distls`."""

    @classmethod
    def setUpClass(cls) -> None:
        require_tool("rebar3", "rebar3")
        super().setUpClass()
        project = cls.cluster.work / "rebar3-example"
        shutil.copytree(EXAMPLES / "rebar3", project)
        # A checkout dependency replaces the git one without touching rebar.config.
        (project / "_checkouts").mkdir()
        (project / "_checkouts" / "distls").symlink_to(ERLANG_SIDE, target_is_directory=True)
        run_build(["rebar3", "release"], project, build_env(cls.cluster.work / "rebar3-home"),
                  cls.cluster.work / "rebar3-build.log")
        cls.bin = project / "_build" / "default" / "rel" / "demo" / "bin" / "demo"

    def test_1_with_erl_dist_port(self) -> None:
        # ERL_DIST_PORT, as gen_cluster's Kubernetes example sets it: relx turns it into
        # -erl_epmd_port, and its own tools then reach the node at localhost:PORT.
        pod = self.distls_only(3)
        fixed = free_port(["127.0.0.1", pod.ip])
        env = self.node_env(pod, ERLANG_COOKIE=COOKIE, ERL_DIST_PORT=str(fixed))
        self.start(pod, "rebar3-release-fixed", [str(self.bin), "foreground"], env)
        self.assertEqual(self.assert_listens_on_loopback_only(pod), fixed)
        self.assertEqual(self.run_tool([str(self.bin), "ping"], env), "pong")
        # The release dials out (asked through its own `eval`): through distls, not to
        # the fixed port on the peer's host.
        mark = pod.distls_log.mark()
        self.assertEqual(self.run_tool([str(self.bin), "eval", "net_kernel:connect_node("
                                        f"{format_atom(self.peer.name)})."], env), "true")
        wait_for(f"{pod.name}'s distls to log its tunnel to {self.peer.name}",
                 lambda: pod.distls_log.events_since(mark, "tunnel_open", direction="out",
                                                     peer=self.peer.name))
        self.assertEqual(self.peer.eval(f"is_pid(rpc:call({format_atom(pod.name)}, erlang, "
                                        f"whereis, [demo_sup]))."), True)
        self.assert_console("rebar3-remote-console-fixed", [str(self.bin), "remote_console"],
                            env, pod, r"\(NODE\)\d+> ", 'io:format("REMOTE ~p~n", [node()]).',
                            r"REMOTE '([^']+)'")

    def test_2_without_a_fixed_port_the_tools_use_nodetool(self) -> None:
        # relx's erl_call asks epmd on the node's host (the pod IP), where nothing
        # listens: distls answers on loopback only. nodetool goes through distls_dist.
        pod = self.distls_only(4)
        env = self.node_env(pod, ERLANG_COOKIE=COOKIE, USE_NODETOOL="1")
        self.start(pod, "rebar3-release", [str(self.bin), "foreground"], env)
        self.assert_listens_on_loopback_only(pod)
        self.assert_peer_joins(pod)
        self.assertEqual(self.run_tool([str(self.bin), "ping"], env), "pong")
        self.assert_console("rebar3-remote-console", [str(self.bin), "remote_console"],
                            env, pod, r"\(NODE\)\d+> ", 'io:format("REMOTE ~p~n", [node()]).',
                            r"REMOTE '([^']+)'")


class MixReleaseTest(RecipeTestCase):
    """examples/mix: rel/env.sh.eex names the node app@$POD_IP; rel/vm.args.eex and
    rel/remote.vm.args.eex carry `-proto_dist distls`."""

    @classmethod
    def setUpClass(cls) -> None:
        require_tool("mix", "elixir")
        super().setUpClass()
        project = cls.cluster.work / "mix-example"
        shutil.copytree(EXAMPLES / "mix", project)
        mix_exs = project / "mix.exs"
        text, count = re.subn(r'\{:distls, git: [^}]*\}', f'{{:distls, path: "{ERLANG_SIDE}"}}',
                              mix_exs.read_text())
        assert count == 1, "examples/mix/mix.exs: expected one `{:distls, git: ...}` line"
        mix_exs.write_text(text)
        run_build(["mix", "release", "--overwrite"], project,
                  {**build_env(cls.cluster.work / "mix-home"), "MIX_ENV": "prod"},
                  cls.cluster.work / "mix-build.log")
        cls.bin = project / "_build" / "prod" / "rel" / "demo" / "bin" / "demo"

    def test_release_joins_and_its_tools_work(self) -> None:
        pod = self.distls_only(5)
        env = self.node_env(pod, RELEASE_COOKIE=COOKIE)
        self.start(pod, "mix-release", [str(self.bin), "start"], env)
        self.assert_listens_on_loopback_only(pod)
        self.assert_peer_joins(pod)
        self.assertEqual(self.peer.eval(f"rpc:call({format_atom(pod.name)}, application, "
                                        f"get_application, ['Elixir.Demo.Application'])."),
                         ("ok", "demo"))
        self.assertEqual(self.run_tool([str(self.bin), "rpc", "IO.puts(node())"], env),
                         pod.name)
        self.assert_console("mix-remote", [str(self.bin), "remote"], env, pod,
                            r"iex\(NODE\)\d+> ", 'IO.puts("REMOTE #{node()}")',
                            r"REMOTE ([\w.@-]+)\r?\n")


class ElixirNodeTest(RecipeTestCase):
    """`elixir --name ... --erl "-proto_dist distls -start_epmd false -pa <ebin>"`."""

    SCRIPT = """
        peer = :"PEER"
        true = Node.connect(peer)
        send({:distls_test_echo, peer}, {:ping, self(), 1, "from elixir"})
        receive do
          {:pong, ^peer, 1, "from elixir"} -> IO.puts("ELIXIR PONG")
        after
          10_000 -> IO.puts("ELIXIR TIMEOUT")
        end
        Process.sleep(:infinity)
    """

    @classmethod
    def setUpClass(cls) -> None:
        require_tool("elixir", "elixir")
        super().setUpClass()

    def test_an_elixir_node_joins(self) -> None:
        pod = self.distls_only(6)
        # -pa inside --erl: elixir's own -pa comes after boot, too late for net_kernel.
        argv = ["elixir", "--name", pod.name, "--cookie", COOKIE,
                "--erl", f"-proto_dist distls -start_epmd false -pa {self.cluster.build.ebin}",
                "-e", self.SCRIPT.replace("PEER", self.peer.name)]
        mark = pod.distls_log.mark()
        process = self.start(pod, "elixir-node", argv, self.node_env(pod))
        wait_for("the Elixir node's round trip to the harness pod",
                 lambda: "ELIXIR" in process.log.text_since(0), check=process.check_running)
        self.assertIn("ELIXIR PONG", process.log.text_since(0))
        wait_for(f"{pod.name}'s distls to log its tunnel to {self.peer.name}",
                 lambda: pod.distls_log.events_since(mark, "tunnel_open", direction="out",
                                                     peer=self.peer.name))
        version = self.peer.eval(f"rpc:call({format_atom(pod.name)}, 'Elixir.System', "
                                 f"version, []).")
        self.assertRegex(version.decode(), r"^\d+\.\d+")  # an Elixir string
        self.assertIn(pod.name, self.peer.nodes())


if __name__ == "__main__":
    unittest.main()
