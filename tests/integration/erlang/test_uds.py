"""Unix-domain sockets between a node and its distls (`--socket-dir`, DISTLS_SOCKET_DIR,
for `-proto_dist distls`), with real nodes.

- Nodes in socket-directory mode cluster through distls with each other, with
  `-proto_dist distls` nodes on loopback TCP and with `-epmd_module distls_epmd` nodes,
  in both directions; their distribution sockets are Unix sockets in the directory,
  never TCP, and every peer is still reached over mutual TLS.
- The directory: distls makes it 0770 and refuses one every user may enter; the node's
  socket is 0660; a killed pod leaves stale socket files that the next start replaces.
- A remote console (named, and as a release's remote_console starts it) reaches the
  node at its own socket, without TLS.
- No way around distls: kill a pod's distls and its peers see nodedown.
- A node in socket mode registering with a distls that has no socket directory does
  not start; garbage on distls.sock is refused and counted.
"""

import os
import socket
import stat
import subprocess
import unittest

from erlterm import Atom, format_atom
from harness import COOKIE, DEADLINE, Cluster, ClusterTestCase, LogEvent, Pod, \
    check_remote_consoles, entry_point_args, free_port, wait_for

PROTO_DIST, EPMD_MODULE = "proto_dist", "epmd_module"


def wait_for_event(pod: Pod, mark: int, what: str, event: str, **fields: str) -> LogEvent:
    detail = " ".join(f"{k}={v}" for k, v in fields.items())
    return wait_for(f"{pod.name}'s distls to log {what} ({event} {detail})",
                    lambda: pod.distls_log.events_since(mark, event, **fields))[0]


class SocketDirTest(ClusterTestCase):
    """Pods 2 and 3: socket-directory mode (2 through DISTLS_SOCKET_DIR, 3 through the
    application environment); 4: -proto_dist distls over TCP; 5: -epmd_module."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.ca = cls.cluster.ca("main")
        cls.dirs = {n: cls.cluster.work / f"pod{n}" / "sock" for n in (2, 3)}
        for d in cls.dirs.values():
            d.parent.mkdir(mode=0o755)
        cls.uds_a = cls.start_uds_pod(2, env=True)
        cls.uds_b = cls.start_uds_pod(3, env=False)
        cls.tcp_proto = cls.cluster.pod(4, cls.ca.issue("app@127.0.0.4"), entry=PROTO_DIST)
        cls.module = cls.cluster.pod(5, cls.ca.issue("app@127.0.0.5"), entry=EPMD_MODULE)
        cls.pods = [cls.uds_a, cls.uds_b, cls.tcp_proto, cls.module]
        for pod in cls.pods:
            ok, _pid = pod.eval("distls_test_repl:serve().")
            assert ok == "ok", ok

    @classmethod
    def start_uds_pod(cls, n: int, env: bool) -> Pod:
        d = cls.dirs[n]
        how = ({"node_env": {"DISTLS_SOCKET_DIR": str(d)}} if env else
               {"node_args": ["-distls", "socket_dir", f'"{d}"']})
        return cls.cluster.pod(n, cls.ca.issue(f"app@127.0.0.{n}"), entry=PROTO_DIST,
                               extra_distls_args=["--socket-dir", str(d)], **how)

    def dist_socket(self, pod: Pod, peer: str):
        """The address of pod's distribution socket to peer: {local, Path} or {Ip, Port}."""
        ok, address = pod.eval(
            f"inet:peername(proplists:get_value({format_atom(peer)}, "
            f"erlang:system_info(dist_ctrl))).")
        self.assertEqual(ok, Atom("ok"), address)
        return address

    def assert_tunnel(self, src: Pod, dst: Pod, how: str = "connect") -> None:
        mark_src, mark_dst = src.distls_log.mark(), dst.distls_log.mark()
        if how == "ping":
            self.assertEqual(src.eval(f"net_adm:ping({format_atom(dst.name)})."), Atom("pong"))
        else:
            self.assertIs(src.connect(dst), True, f"{src.name} -> {dst.name}")
        wait_for_event(src, mark_src, f"its tunnel to {dst.name}", "tunnel_open",
                       direction="out", peer=dst.name)
        wait_for_event(dst, mark_dst, f"the tunnel from {src.name}", "tunnel_open",
                       direction="in", peer=src.name)

    def test_1_socket_nodes_cluster_over_unix_sockets_and_tls(self) -> None:
        self.assert_tunnel(self.uds_a, self.uds_b)
        # Both ends of the node's hop are Unix sockets in its directory.
        self.assertEqual(self.dist_socket(self.uds_a, self.uds_b.name),
                         (Atom("local"), str(self.dirs[2] / "distls.sock").encode()))
        family = self.uds_b.eval(
            f"inet:sockname(proplists:get_value({format_atom(self.uds_a.name)}, "
            f"erlang:system_info(dist_ctrl))).")
        self.assertEqual(family, (Atom("ok"), (Atom("local"), str(self.dirs[3] / "app.sock").encode())))
        self.assert_round_trips(self.uds_a, self.uds_b)
        self.assert_round_trips(self.uds_b, self.uds_a)
        # The node registered without a port: it has none.
        registered = wait_for_event(self.uds_a, 0, "the registration", "node_registered", name="app")
        self.assertEqual(registered.fields.get("port"), "0")

    def test_2_mixed_with_tcp_entry_points_both_ways(self) -> None:
        with self.subTest(direction="tcp proto_dist -> socket node"):
            self.assert_tunnel(self.tcp_proto, self.uds_a)
        with self.subTest(direction="socket node -> epmd_module, by ping"):
            self.assert_tunnel(self.uds_b, self.module, how="ping")
        with self.subTest(direction="epmd_module -> socket node"):
            self.assert_tunnel(self.module, self.uds_a)
        self.cluster.wait_for_mesh(self.pods)
        self.assert_round_trips_between_every_pair(self.pods, 20)

    def test_3_directory_and_socket_modes(self) -> None:
        d = self.dirs[2]
        self.assertEqual(stat.S_IMODE(d.stat().st_mode), 0o770, "made by distls, group only")
        self.assertEqual(stat.S_IMODE((d / "app.sock").stat().st_mode), 0o660)
        self.assertEqual(stat.S_IMODE((d / "distls.sock").stat().st_mode), 0o660)
        # A directory every user of the host may enter stops distls at startup.
        open_dir = self.cluster.work / "open"
        open_dir.mkdir()
        os.chmod(open_dir, 0o777)
        result = subprocess.run(
            [*self.cluster.distls_command, "proxy", "--node", "app@127.0.0.9",
             "--listen", f"127.0.0.9:{free_port(['127.0.0.9'])}", "--epmd", f"127.0.0.1:{free_port()}",
             "--admin", "off", "--cert-source", "local-ca", "--ca-cert", str(self.ca.cert),
             "--ca-key", str(self.ca.key), "--trust-bundle", str(self.ca.cert),
             "--socket-dir", str(open_dir)],
            capture_output=True, text=True, timeout=DEADLINE)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("lets every user of this host reach the node's sockets", result.stderr)
        self.assertEqual(list(open_dir.iterdir()), [], "nothing bound in a refused directory")

    def test_4_garbage_on_the_dial_socket_is_refused(self) -> None:
        pod = self.uds_a
        before = pod.metric("distls_connections_rejected_total", 'reason="dial_bad_name"')
        for payload in (b"\x00\x05hello", b"\x00\x0bapp@.bad..x"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(str(self.dirs[2] / "distls.sock"))
                s.sendall(payload)
                s.settimeout(DEADLINE)
                self.assertEqual(s.recv(1), b"", "distls closes the connection")
        wait_for("the refusals to be counted",
                 lambda: pod.metric("distls_connections_rejected_total",
                                    'reason="dial_bad_name"') >= before + 2)
        self.assertTrue(pod.distls.running)

    def test_5_remote_console_reaches_the_node_at_its_socket(self) -> None:
        pod = self.uds_b
        env = {**os.environ, "ERL_EPMD_PORT": str(pod.epmd_port), "HOME": str(self.cluster.work),
               "DISTLS_SOCKET_DIR": str(self.dirs[3])}
        check_remote_consoles(self, self.cluster, pod, env)

    def test_6_stale_sockets_after_a_killed_pod_are_replaced(self) -> None:
        pod = self.uds_a
        others = [p for p in self.pods if p is not pod]
        for other in others:
            pod.connect(other)
        pod.kill()
        d = self.dirs[2]
        self.assertTrue((d / "app.sock").exists() and (d / "distls.sock").exists(),
                        "kill -9 leaves both socket files behind")
        pod.start()
        ok, _pid = pod.eval("distls_test_repl:serve().")
        self.assertEqual(ok, Atom("ok"))
        for other in others:
            self.assert_tunnel(pod, other)
            self.assert_round_trips(pod, other, 20)

    def test_7_no_way_around_distls(self) -> None:
        # Killing the sidecar ends every tunnel: the node's Unix sockets led only to it.
        pod = self.uds_b
        watcher = self.module
        watcher.connect(pod)
        self.assertIn(pod.name, watcher.nodes())
        os.killpg(pod.distls.popen.pid, 9)
        pod.distls.popen.wait()
        wait_for(f"{pod.name} to drop out of {watcher.name}'s nodes()",
                 lambda: pod.name not in watcher.nodes())
        self.assertEqual(watcher.eval(f"net_adm:ping({format_atom(pod.name)})."), Atom("pang"))


class WithoutSocketDirTest(unittest.TestCase):
    """A node in socket mode whose distls has no --socket-dir: it does not start, and
    distls says why, rather than holding a registration no tunnel can reach."""

    def test_node_refuses_to_start(self) -> None:
        cluster = Cluster(type(self).__name__)
        self.addCleanup(cluster.close)
        ca = cluster.ca("main")
        certs = ca.issue("app@127.0.0.2")
        pod = Pod(cluster, 2, certs, entry=PROTO_DIST)
        cluster.pods.append(pod)
        pod.start_distls()
        d = cluster.work / "sock"
        d.mkdir(mode=0o770)
        argv = ["erl", "-name", pod.name, "-setcookie", COOKIE, "-noshell",
                *entry_point_args(PROTO_DIST, cluster.build),
                "-eval", "io:format(\"booted~n\"), erlang:halt(0)."]
        result = subprocess.run(argv, env={**os.environ, "ERL_EPMD_PORT": str(pod.epmd_port),
                                           "HOME": str(cluster.work), "DISTLS_SOCKET_DIR": str(d)},
                                capture_output=True, text=True, timeout=DEADLINE * 2)
        out = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, out)
        self.assertNotIn("booted", out)
        # OTP words a refused registration as a name in use; distls's log says why.
        self.assertIn("Protocol 'distls'", out)
        wait_for("distls to log why", lambda: pod.distls_log.events_since(
            0, "registration_refused", reason="no_socket_dir"))
        self.assertFalse((d / "app.sock").exists(), "the node removed its socket file")


if __name__ == "__main__":
    unittest.main()
