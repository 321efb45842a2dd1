"""Three pods (127.0.0.2-4) clustered through distls: the mesh forms, messages flow,
nodes are reachable only through distls, and nodes without the right certificate
are refused in both directions. The sidecars run two event loops (--threads 2), so the
tunnels splice on a worker thread as they do on any machine with two CPUs.

The pods are started once for the class; tests that bring in an outsider stop it
again, and every test that needs the mesh first makes sure it is there.
"""

import re
import unittest

from erlterm import format_atom
from harness import ClusterTestCase, LogEvent, Pod, can_connect, epmd_port_please, \
    http_get, listening_addresses, wait_for

POD_NUMBERS = (2, 3, 4)
THREADS = ["--threads", "2", "--admin-expose", "metrics"]
ROUND_TRIPS = 1000

class ClusterTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.ca = cls.cluster.ca("main")
        cls.pods = [cls.cluster.pod(n, cls.ca.issue(f"app@127.0.0.{n}"), extra_distls_args=THREADS)
                    for n in POD_NUMBERS]
        for pod in cls.pods:
            ok, _pid = pod.eval("distls_test_repl:serve().")
            assert ok == "ok", ok

    def others(self, pod) -> list[str]:
        return sorted(p.name for p in self.pods if p is not pod)

    def require_mesh(self) -> None:
        first, *rest = self.pods
        for pod in rest:
            first.connect(pod)
        self.cluster.wait_for_mesh(self.pods)

    def assert_mesh_intact(self) -> None:
        for pod in self.pods:
            self.assertEqual(pod.nodes(), self.others(pod), f"membership seen by {pod.name}")
        a, b = self.pods[0], self.pods[1]
        self.assertEqual(
            a.eval(f"distls_test_repl:round_trips({format_atom(b.name)}, distls_test_echo, 10)."),
            ("ok", 10))

    def wait_for_event(self, pod: Pod, mark: int, what: str, event: str,
                       **fields: str) -> LogEvent:
        """The first `event` with these fields that pod's distls logged after mark."""
        detail = " ".join(f"{k}={v}" for k, v in fields.items())
        return wait_for(f"{pod.name}'s distls to log {what} ({event} {detail})",
                        lambda: pod.distls_log.events_since(mark, event, **fields))[0]

    def test_1_connecting_one_pod_to_the_others_gives_a_full_mesh(self) -> None:
        first, *rest = self.pods
        for pod in rest:
            self.assertIs(first.connect(pod), True, f"{first.name} -> {pod.name}")
        # The other two pods find each other through global, with no help from us.
        self.cluster.wait_for_mesh(self.pods)
        for pod in self.pods:
            self.assertEqual(pod.nodes(), self.others(pod))

    def test_2_messages_round_trip_between_every_pair(self) -> None:
        self.require_mesh()
        self.assert_round_trips_between_every_pair(self.pods, ROUND_TRIPS)

    def test_2b_the_tunnels_are_spread_over_both_event_loops(self) -> None:
        """Each pod holds two tunnels, on its two loops as their load allowed when each
        came (the least loaded, a worker first on a tie; simultaneous connects come and
        go): the worker carries at least one. The round trips cross them."""
        self.require_mesh()
        self.assert_round_trips_between_every_pair(self.pods, 10)

        def loads(pod: Pod) -> dict[str, int] | None:
            status, text = http_get(pod.admin_url + "/metrics")
            self.assertEqual(status, 200, text)
            per_loop = {m[0]: int(m[1]) for m in
                        re.findall(r'^distls_event_loop_tunnels\{loop="(\d+)"\} (\d+)$', text, re.M)}
            open_now = sum(int(v) for v in re.findall(r'^distls_tunnels_open\{direction="\w+"\} (\d+)$', text, re.M))
            # A tunnel counts as open a moment before it takes a loop: ask again then.
            return per_loop if sum(per_loop.values()) == open_now == len(self.pods) - 1 else None

        for pod in self.pods:
            per_loop = wait_for(f"{pod.name}'s tunnels on its event loops", lambda: loads(pod))
            self.assertEqual(set(per_loop), {"0", "1"}, pod.name)
            self.assertGreaterEqual(per_loop["1"], 1, f"{pod.name}: {per_loop}")

    def test_3_only_distls_listens_beyond_loopback(self) -> None:
        self.require_mesh()
        for pod in self.pods:
            with self.subTest(pod=pod.name, listener="node distribution"):
                port = pod.dist_port()
                self.assertEqual(listening_addresses(port), [f"127.0.0.1:{port}"])
                # All of 127/8 is loopback, so only the bound address proves anything:
                # the pod's own IP must not reach the node, 127.0.0.1 must.
                self.assertFalse(can_connect(pod.ip, port), f"{pod.ip}:{port} accepted")
                self.assertTrue(can_connect("127.0.0.1", port), f"127.0.0.1:{port} refused")
            peer = next(p for p in self.pods if p is not pod)
            with self.subTest(pod=pod.name, listener=f"per-peer port for {peer.name}"):
                port = epmd_port_please(pod.epmd_port, peer.name)
                self.assertIsNotNone(port, f"no port for {peer.name}")
                self.assertEqual(listening_addresses(port), [f"127.0.0.1:{port}"])
            with self.subTest(pod=pod.name, listener="TLS"):
                self.assertIn(f"{pod.ip}:{pod.tls_port}", listening_addresses(pod.tls_port))

    def test_4_plain_distribution_at_the_tls_port_is_refused(self) -> None:
        self.require_mesh()
        target = self.pods[1]
        mark = target.distls_log.mark()
        # Same cookie as the cluster: only the missing TLS keeps it out.
        plain = self.cluster.plain_node("plain@127.0.0.9", (target.ip, target.tls_port))
        self.addCleanup(plain.stop)
        self.assertIs(plain.connect(target), False)
        self.assertEqual(plain.eval(f"net_adm:ping({format_atom(target.name)})."), "pang")
        self.assertEqual(plain.nodes(), [])
        # The first bytes are an Erlang handshake frame, not a TLS ClientHello.
        self.wait_for_event(target, mark, "the plain node's refusal", "tunnel_refused",
                            direction="in", reason="not_tls")
        self.assert_mesh_intact()

    def test_5_a_pod_with_a_cert_from_another_ca_is_refused_both_ways(self) -> None:
        self.require_mesh()
        other_ca = self.cluster.ca("other")
        # The outsider trusts both CAs, so each refusal below is the cluster's doing.
        outsider = self.cluster.pod(6, other_ca.issue("app@127.0.0.6"),
                                    trust_bundle=self.cluster.bundle("both", self.ca, other_ca))
        self.addCleanup(outsider.stop)
        member = self.pods[0]

        mark = member.distls_log.mark()
        self.assertIs(outsider.connect(member), False, "outsider -> cluster")
        self.wait_for_event(member, mark, "the outsider's client cert refused", "tunnel_refused",
                            direction="in", reason="untrusted_chain")

        mark = member.distls_log.mark()
        self.assertIs(member.connect(outsider), False, "cluster -> outsider")
        self.wait_for_event(member, mark, "the outsider's server cert refused", "tunnel_failed",
                            direction="out", peer=outsider.name, reason="untrusted_chain")

        self.assertEqual(outsider.nodes(), [])
        self.assert_mesh_intact()

    def test_6_a_pod_presenting_a_cert_for_another_host_is_refused_both_ways(self) -> None:
        self.require_mesh()
        impostor_target = self.pods[1]  # app@127.0.0.3
        impostor = self.cluster.pod(5, self.ca.issue(impostor_target.name, label="impostor"))
        self.addCleanup(impostor.stop)
        member = self.pods[0]

        mark = member.distls_log.mark()
        self.assertIs(impostor.connect(member), False, "impostor -> cluster")
        self.wait_for_event(member, mark, "app@127.0.0.5 refused: its cert names 127.0.0.3",
                            "tunnel_refused", direction="in", node=impostor.name,
                            reason="name_mismatch")

        mark = member.distls_log.mark()
        self.assertIs(member.connect(impostor), False, "cluster -> impostor")
        self.wait_for_event(member, mark, "127.0.0.5 refused: its cert names 127.0.0.3",
                            "tunnel_failed", direction="out", peer=impostor.name,
                            reason="name_mismatch")

        self.assertEqual(impostor.nodes(), [])
        self.assert_mesh_intact()


if __name__ == "__main__":
    unittest.main()
