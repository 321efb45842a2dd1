"""`-proto_dist distls` (distls_dist), the second entry point, with real nodes.

- Nodes started with only `-proto_dist distls -start_epmd false` (no -epmd_module, no
  inet_dist_use_interface) cluster through distls, and with nodes started with
  `-epmd_module distls_epmd`, in both directions.
- Their own listener is on loopback; every outbound connection goes to a per-peer
  loopback port of distls, never to the peer.
- Plain-Erlang habits: net_adm:ping/1, `epmd -names` against distls, `erl -remsh` to a
  local node (named, and as a release's remote_console starts it), `-sname` with
  host names that resolve, and a fixed listen port (`-erl_epmd_port`, which releases
  set from ERL_DIST_PORT).
- Without a distls to register with, a node refuses to start rather than run
  unreachable.
"""

import os
import socket
import subprocess
import unittest

from erlterm import format_atom
from harness import COOKIE, DEADLINE, Cluster, ClusterTestCase, ErlNode, LogEvent, LogFile, Pod, \
    can_connect, check_remote_consoles, distls_env, entry_point_args, epmd_names, epmd_port_please, \
    free_port, http_get, listening_addresses, wait_for

PROTO_DIST, EPMD_MODULE = "proto_dist", "epmd_module"
ROUND_TRIPS = 200


def require_distls_dist(cluster: Cluster) -> None:
    beam = cluster.build.ebin / "distls_dist.beam"
    if not beam.is_file():
        raise RuntimeError(f"{beam} is missing: rebuild (cmake --build build) or set DISTLS_EBIN")


def wait_for_event(pod: Pod, mark: int, what: str, event: str, **fields: str) -> LogEvent:
    detail = " ".join(f"{k}={v}" for k, v in fields.items())
    return wait_for(f"{pod.name}'s distls to log {what} ({event} {detail})",
                    lambda: pod.distls_log.events_since(mark, event, **fields))[0]


def dist_peer_address(pod: Pod, peer: str) -> tuple:
    """Where the socket carrying pod's connection to `peer` goes: ({ip}, port)."""
    ok, address = pod.eval(
        f"inet:peername(proplists:get_value({format_atom(peer)}, "
        f"erlang:system_info(dist_ctrl))).")
    assert ok == "ok", address
    return address


class DistTestCase(ClusterTestCase):
    """Shared assertions: a connection made through distls, and traffic over it."""

    def assert_connects_through_distls(self, src: Pod, dst: Pod, how: str = "connect") -> None:
        """src dials dst (net_kernel:connect_node or net_adm:ping) and the connection is
        a TLS tunnel from src's distls to dst's, reached on a per-peer loopback port."""
        mark_src, mark_dst = src.distls_log.mark(), dst.distls_log.mark()
        if how == "ping":
            self.assertEqual(src.eval(f"net_adm:ping({format_atom(dst.name)})."), "pong",
                             f"{src.name} pings {dst.name}")
        else:
            self.assertIs(src.connect(dst), True, f"{src.name} -> {dst.name}")
        wait_for_event(src, mark_src, f"its tunnel to {dst.name}", "tunnel_open",
                       direction="out", peer=dst.name)
        wait_for_event(dst, mark_dst, f"the tunnel from {src.name}", "tunnel_open",
                       direction="in", peer=src.name)
        # The node's socket goes to distls's port for that peer, on loopback.
        self.assertEqual(dist_peer_address(src, dst.name),
                         ((127, 0, 0, 1), epmd_port_please(src.epmd_port, dst.name)))


class ProtoDistClusterTest(DistTestCase):
    """Pods 2 and 3 use -proto_dist distls, 4 and 5 -epmd_module distls_epmd."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        require_distls_dist(cls.cluster)
        cls.ca = cls.cluster.ca("main")
        issue = lambda n: cls.ca.issue(f"app@127.0.0.{n}")
        cls.proto_a = cls.cluster.pod(2, issue(2), entry=PROTO_DIST)
        # The README's start line with the flag swapped: an explicit loopback interface
        # is obeyed as well.
        cls.proto_b = cls.cluster.pod(3, issue(3), entry=PROTO_DIST,
                                      node_args=["-kernel", "inet_dist_use_interface",
                                                 "{127,0,0,1}"])
        cls.module_a = cls.cluster.pod(4, issue(4), entry=EPMD_MODULE)
        cls.module_b = cls.cluster.pod(5, issue(5), entry=EPMD_MODULE)
        cls.pods = [cls.proto_a, cls.proto_b, cls.module_a, cls.module_b]
        for pod in cls.pods:
            ok, _pid = pod.eval("distls_test_repl:serve().")
            assert ok == "ok", ok

    def require_mesh(self) -> None:
        for pod in self.pods[1:]:
            self.proto_a.connect(pod)
        self.cluster.wait_for_mesh(self.pods)

    def require_mesh_of(self, *pods: Pod) -> None:
        first, *rest = pods
        for pod in rest:
            first.connect(pod)

    def test_1_proto_dist_nodes_cluster_through_distls(self) -> None:
        self.assert_connects_through_distls(self.proto_a, self.proto_b)
        self.assert_round_trips(self.proto_a, self.proto_b, ROUND_TRIPS)
        self.assert_round_trips(self.proto_b, self.proto_a, ROUND_TRIPS)

    def test_2_mixed_entry_points_connect_both_ways(self) -> None:
        self.require_mesh_of(self.proto_a, self.proto_b)
        # module_a and module_b have no connection yet, so each connect below is the
        # first one between its two nodes, in the direction written.
        with self.subTest(direction="epmd_module -> proto_dist"):
            self.assert_connects_through_distls(self.module_a, self.proto_a)
        with self.subTest(direction="proto_dist -> epmd_module, by net_adm:ping"):
            self.assert_connects_through_distls(self.proto_b, self.module_b, how="ping")
        # global connects the rest, through whichever entry point each side has.
        self.cluster.wait_for_mesh(self.pods)
        self.assert_round_trips_between_every_pair(self.pods, 50)

    def test_3_the_listener_is_on_loopback_without_being_told(self) -> None:
        self.require_mesh()
        pod = self.proto_a
        self.assertEqual(pod.eval("application:get_env(kernel, inet_dist_use_interface)."),
                         "undefined", "pod 2 is started without inet_dist_use_interface")
        for p in (self.proto_a, self.proto_b):
            with self.subTest(pod=p.name):
                port = p.dist_port()
                self.assertEqual(listening_addresses(port), [f"127.0.0.1:{port}"])
                self.assertFalse(can_connect(p.ip, port), f"{p.ip}:{port} accepted")
                # Every connection of the node, both directions, is with a local process.
                for peer in (q for q in self.pods if q is not p):
                    ip, _port = dist_peer_address(p, peer.name)
                    self.assertEqual(ip, (127, 0, 0, 1), f"{p.name}'s socket to {peer.name}")

    def test_4_ping_answers_pang_for_a_node_nobody_runs(self) -> None:
        self.require_mesh()
        mark = self.proto_a.distls_log.mark()
        self.assertEqual(self.proto_a.eval("net_adm:ping('app@127.0.0.9')."), "pang")
        # distls was asked, and tried the network: the node did not dial 127.0.0.9 itself.
        wait_for_event(self.proto_a, mark, "its failed dial of 127.0.0.9", "tunnel_failed",
                       direction="out", peer="app@127.0.0.9")
        self.assertNotIn("app@127.0.0.9", self.proto_a.nodes())

    def test_5_epmd_names_and_net_adm_names_list_the_node(self) -> None:
        pod = self.proto_a
        env = {**os.environ, "ERL_EPMD_PORT": str(pod.epmd_port)}
        out = subprocess.run(["epmd", "-names"], env=env, capture_output=True, text=True,
                             timeout=30, check=True).stdout
        self.assertIn(f"up and running on port {pod.epmd_port}", out)
        self.assertIn(f"name app at port {pod.dist_port()}", out)
        # From the node itself, as docs/erlang.md says: at the loopback address.
        self.assertEqual(pod.eval("net_adm:names({127,0,0,1})."),
                         ("ok", [("app", pod.dist_port())]))

    def test_6_remsh_reaches_a_local_node_without_tls(self) -> None:
        pod = self.proto_b
        env = {**os.environ, "ERL_EPMD_PORT": str(pod.epmd_port),
               "HOME": str(self.cluster.work)}
        check_remote_consoles(self, self.cluster, pod, env)


class FixedListenPortTest(DistTestCase):
    """A fixed listen port, as relx sets it from ERL_DIST_PORT (`-erl_epmd_port P`): the
    node listens on 127.0.0.1:P, registers with distls, and still reaches peers only
    through distls. With the stock erl_epmd such a node would dial port P on the
    remote host; here nothing listens there."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        require_distls_dist(cls.cluster)
        cls.ca = cls.cluster.ca("main")
        cls.ports = {}
        cls.pods = []
        for n, entry in ((6, PROTO_DIST), (7, EPMD_MODULE)):
            port = free_port(["127.0.0.1", f"127.0.0.{n}"])
            cls.ports[n] = port
            cls.pods.append(cls.cluster.pod(n, cls.ca.issue(f"app@127.0.0.{n}"), entry=entry,
                                            node_args=["-erl_epmd_port", str(port)]))
        for pod in cls.pods:
            ok, _pid = pod.eval("distls_test_repl:serve().")
            assert ok == "ok", ok

    def test_1_the_node_listens_on_the_fixed_port_on_loopback(self) -> None:
        for pod in self.pods:
            with self.subTest(pod=pod.name, entry=pod.entry):
                port = self.ports[pod.n]
                self.assertEqual(pod.dist_port(), port, "the port registered with distls")
                self.assertEqual(listening_addresses(port), [f"127.0.0.1:{port}"])

    def test_2_peers_are_reached_through_distls_not_the_fixed_port(self) -> None:
        proto, module = self.pods
        # Nothing answers at the peer's address on either fixed port: a node that
        # dialled it directly would fail, whichever port it chose.
        for port in self.ports.values():
            self.assertFalse(can_connect(module.ip, port))
        self.assert_connects_through_distls(proto, module)
        self.assertNotIn(dist_peer_address(proto, module.name)[1], self.ports.values())
        self.assert_round_trips(proto, module, ROUND_TRIPS)
        self.assert_round_trips(module, proto, ROUND_TRIPS)


class DiscoveryTest(DistTestCase):
    """distls's discovered peers are dialled with -proto_dist as with -epmd_module: the
    discovery process runs under net_sup (distls_dist:childspecs/0). No connect call."""

    def test_nodes_join_the_peers_distls_discovered(self) -> None:
        require_distls_dist(self.cluster)
        ca = self.cluster.ca("discovery")
        numbers = (8, 9, 10)
        names = [f"app@127.0.0.{n}" for n in numbers]
        # Pod 10 gives both flags: distls_epmd starts discovery, distls_dist must not.
        node_args = {10: ["-epmd_module", "distls_epmd"]}
        pods = [self.cluster.pod(n, ca.issue(name), entry=PROTO_DIST,
                                 node_args=node_args.get(n, []),
                                 extra_distls_args=["--discovery", "static:" + ",".join(names),
                                                    "--refresh", "1s"])
                for n, name in zip(numbers, names)]
        for pod in pods:
            self.addCleanup(pod.stop)
        self.cluster.wait_for_mesh(pods)
        for pod in pods:
            # Its loop is on the stack of the discovery process, whatever it is doing.
            discoverers = pod.eval(
                "length([P || P <- processes(), "
                "{current_stacktrace, Stack} <- [erlang:process_info(P, current_stacktrace)], "
                "lists:any(fun({M, F, _, _}) -> {M, F} =:= {distls_discovery, loop} end, "
                "Stack)]).")
            with self.subTest(pod=pod.name):
                self.assertEqual(discoverers, 1, "distls_discovery processes")


class ShortNamePod(Pod):
    """A pod whose node runs with `-sname ALIVE@HOST`, HOST a short name this machine
    resolves; its distls listens on HOST's address.

    Pods on one machine share the loopback, so two short names may resolve to one
    address: each pod then gets its own TLS port, and each distls is told the other's
    as --peer-port (in a cluster every pod has its own address and one port serves)."""

    def __init__(self, cluster: Cluster, alive: str, host: str, address: str,
                 tls_port: int, peer_port: int, ca) -> None:
        name = f"{alive}@{host}"
        super().__init__(cluster, 1, ca.issue(name), entry=PROTO_DIST)
        self.alive, self.ip, self.name = alive, address, name
        self.tls_port, self.peer_port = tls_port, peer_port
        self.distls_log = LogFile(cluster.work / f"distls-{alive}.log")

    def start_distls(self) -> None:
        argv = [str(self.cluster.build.distls), "proxy", "--node", self.name,
                "--listen", f"{self.ip}:{self.tls_port}", "--peer-port", str(self.peer_port),
                "--epmd", f"127.0.0.1:{self.epmd_port}",
                "--admin", f"127.0.0.1:{self.admin_port}", *self._source_args]
        self.distls = self.cluster.spawn(f"distls {self.name}", argv, self.distls_log,
                                         env=distls_env())
        wait_for(f"distls {self.name} to answer EPMD requests",
                 lambda: self._names_or_none() is not None, check=self.distls.check_running)

    def start_node(self) -> None:
        args = ["-sname", self.name, *entry_point_args(PROTO_DIST, self.cluster.build)]
        self.node = ErlNode(self.cluster, None, args, {"ERL_EPMD_PORT": str(self.epmd_port)},
                            label=self.name)
        self.node.name = self.name
        self.node.wait_ready()
        wait_for(f"{self.name} to register with distls",
                 lambda: self.alive in self._names_or_empty(), check=self.check_running)
        wait_for(f"{self.admin_url}/readyz to answer 200",
                 lambda: http_get(self.admin_url + "/readyz")[0] == 200,
                 check=self.check_running)

    def dist_port(self) -> int:
        return epmd_names(self.epmd_port)[self.alive]


def short_loopback_names() -> list[tuple[str, str]]:
    """(short host name, its IPv4 address) for names this machine resolves to loopback."""
    found = {}
    for host in ("localhost", socket.gethostname().split(".")[0]):
        try:
            infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            continue
        addresses = [info[4][0] for info in infos if info[4][0].startswith("127.")]
        if addresses and host not in found:
            found[host] = addresses[0]
    return list(found.items())


class ShortNamesTest(DistTestCase):
    """Two `-sname` nodes whose hosts are names (DNS SANs), e.g. `localhost` and this
    machine's host name."""

    @classmethod
    def setUpClass(cls) -> None:
        names = short_loopback_names()
        if len(names) < 2:
            raise unittest.SkipTest(
                f"needs two short host names resolving to loopback, found {names}: "
                "localhost and a host name that is not localhost")
        super().setUpClass()
        require_distls_dist(cls.cluster)
        ca = cls.cluster.ca("main")
        (host_a, ip_a), (host_b, ip_b) = names[:2]
        port_a, port_b = free_port([ip_a]), free_port([ip_b])
        cls.pods = []
        for pod in (ShortNamePod(cls.cluster, "alpha", host_a, ip_a, port_a, port_b, ca),
                    ShortNamePod(cls.cluster, "beta", host_b, ip_b, port_b, port_a, ca)):
            cls.cluster.pods.append(pod)
            pod.start()
            ok, _pid = pod.eval("distls_test_repl:serve().")
            assert ok == "ok", ok
            cls.pods.append(pod)

    def test_short_names_cluster_through_distls(self) -> None:
        a, b = self.pods
        self.assertEqual(a.eval("net_kernel:longnames()."), False)
        self.assert_connects_through_distls(a, b)
        self.assert_round_trips(a, b, ROUND_TRIPS)
        self.assert_round_trips(b, a, ROUND_TRIPS)


class WithoutDistlsTest(unittest.TestCase):
    """No distls at $ERL_EPMD_PORT: the node stops at boot, naming the problem, instead
    of running where no peer can reach it."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.cluster = Cluster(cls.__name__, need_distls=False)
        cls.addClassCleanup(cls.cluster.close)
        require_distls_dist(cls.cluster)

    def boot(self, label: str, extra: list[str]) -> tuple[int, str]:
        closed_port = free_port()
        argv = ["erl", "-name", "app@127.0.0.2", "-setcookie", COOKIE, "-noshell",
                *entry_point_args(PROTO_DIST, self.cluster.build), *extra,
                "-eval", "io:format(\"booted~n\"), erlang:halt(0)."]
        result = subprocess.run(argv, env={**os.environ, "ERL_EPMD_PORT": str(closed_port),
                                           "HOME": str(self.cluster.work)},
                                capture_output=True, text=True, timeout=DEADLINE * 2)
        (self.cluster.work / f"{label}.log").write_text(result.stdout + result.stderr)
        return result.returncode, result.stdout + result.stderr

    def test_boot_fails_when_distls_does_not_answer(self) -> None:
        status, out = self.boot("no-distls", [])
        self.assertNotEqual(status, 0)
        self.assertNotIn("booted", out)
        self.assertIn("Protocol 'distls': register/listen error", out)

    def test_boot_fails_with_a_fixed_port_too(self) -> None:
        # erl_epmd would carry on unregistered here (it does so with -erl_epmd_port).
        status, out = self.boot("no-distls-fixed-port", ["-erl_epmd_port", str(free_port())])
        self.assertNotEqual(status, 0)
        self.assertNotIn("booted", out)
        self.assertIn("not_registered_with_distls", out)


if __name__ == "__main__":
    unittest.main()
