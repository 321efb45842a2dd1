"""Nodes that find each other: distls resolves a real dnsmasq on a loopback port
(`--discovery dns-a:` / `dns-srv:`), and distls_epmd's discovery process connects
the node to every listed peer. No test calls net_kernel:connect_node.
"""

import socket
import struct
import threading
import unittest

from erlterm import format_atom
from harness import ClusterTestCase, free_port, wait_for

SERVICE = "app.distls.test"       # the "headless Service"
REFRESH = "2s"


class DiscoveryTestCase(ClusterTestCase):

    def setUp(self) -> None:
        self.dns = self.cluster.dnsmasq()
        self.addCleanup(self.dns.stop)
        self.ca = self.cluster.ca(f"ca-{self._testMethodName}")

    def pod(self, n: int, spec: str, host: str | None = None, refresh: str = REFRESH):
        pod = self.cluster.pod(n, self.ca.issue(f"app@{host or f'127.0.0.{n}'}",
                                                label=f"{self._testMethodName}-{n}"),
                               host=host,
                               extra_distls_args=["--discovery", spec, "--dns-server", self.dns.server,
                                                  "--refresh", refresh])
        self.addCleanup(pod.stop)
        return pod

    def a_records(self, *ns: int) -> None:
        self.dns.set_hosts({SERVICE: [f"127.0.0.{n}" for n in ns]})

    def discovered(self, pod) -> list[str]:
        return sorted(name for name, p in pod.admin("/peers")["peers"].items() if p["discovered"])


class DnsATest(DiscoveryTestCase):

    def test_cluster_forms_grows_and_heals_from_dns_alone(self) -> None:
        self.a_records(2, 3, 4)
        self.dns.start()
        pods = [self.pod(n, f"dns-a:{SERVICE}") for n in (2, 3, 4)]
        self.cluster.wait_for_mesh(pods)
        for pod in pods:
            self.assertEqual(self.discovered(pod), sorted(p.name for p in pods if p is not pod))
            status = pod.admin("/peers")["peers"]
            for other in pods:
                if other is not pod:
                    self.assertTrue(status[other.name]["connected"], f"{pod.name} -> {other.name}")

        # A 4th pod: added to DNS, it joins. "Within two refresh intervals", counted in
        # refreshes rather than seconds so that a loaded machine cannot fail the test.
        fourth = self.pod(5, f"dns-a:{SERVICE}")
        before = pods[0].metric("distls_discovery_refreshes_total", 'result="ok"')
        self.a_records(2, 3, 4, 5)
        everyone = pods + [fourth]
        self.cluster.wait_for_mesh(everyone)
        after = pods[0].metric("distls_discovery_refreshes_total", 'result="ok"')
        self.assertLessEqual(after - before, 2, "joined only after more than two refreshes")

        # A crashed pod (kill -9 of distls and erl) comes back at the same address.
        victim = pods[1]
        victim.kill()
        wait_for(f"the others to see {victim.name} go",
                 lambda: all(victim.name not in p.nodes() for p in everyone if p is not victim))
        victim.start()
        self.cluster.wait_for_mesh(everyone)

    def test_dns_outage_keeps_the_peer_set(self) -> None:
        self.a_records(2, 3)
        self.dns.start()
        a, b = self.pod(2, f"dns-a:{SERVICE}", refresh="1s"), self.pod(3, f"dns-a:{SERVICE}", refresh="1s")
        self.cluster.wait_for_mesh([a, b])
        self.dns.stop()
        failed_before = sum(a.metric("distls_discovery_refreshes_total", f'result="{r}"')
                            for r in ("timeout", "unreachable", "refused", "error"))
        wait_for("refreshes to fail while DNS is down",
                 lambda: sum(a.metric("distls_discovery_refreshes_total", f'result="{r}"')
                             for r in ("timeout", "unreachable", "refused", "error")) >= failed_before + 2)
        self.assertEqual(self.discovered(a), [b.name], "the last good set was dropped")
        # With DNS still down, a dropped connection is redialled from the kept set.
        a.eval(f"erlang:disconnect_node({format_atom(b.name)}).")
        self.cluster.wait_for_mesh([a, b])
        self.assertTrue(a.distls_log.events_since(0, "discovery_failed"))

    def test_a_peer_that_leaves_dns_keeps_its_connection_but_is_not_redialled(self) -> None:
        self.a_records(2, 3)
        self.dns.start()
        a = self.pod(2, f"dns-a:{SERVICE}")
        # b discovers nobody (its static list is itself), so every dial below is a's.
        b = self.pod(3, "static:app@127.0.0.3")
        self.cluster.wait_for_mesh([a, b])
        self.a_records(2)  # b leaves the Service
        wait_for(f"{a.name} to drop {b.name} from its set", lambda: self.discovered(a) == [])
        self.assertEqual(a.nodes(), [b.name], "the live connection must stay")
        # Once it drops, it is not redialled.
        a.eval(f"erlang:disconnect_node({format_atom(b.name)}).")
        mark = a.metric("distls_discovery_refreshes_total", 'result="ok"')
        wait_for("three more refreshes", lambda: a.metric("distls_discovery_refreshes_total",
                                                          'result="ok"') >= mark + 3)
        self.assertEqual(a.nodes(), [])
        self.assertEqual(b.nodes(), [])
        # Back in DNS: redialled.
        self.a_records(2, 3)
        self.cluster.wait_for_mesh([a, b])


class DnsSrvTest(DiscoveryTestCase):

    def test_srv_targets_become_node_names(self) -> None:
        hosts = {n: f"pod{n}.{SERVICE}" for n in (2, 3, 4)}
        self.dns.set_hosts({host: [f"127.0.0.{n}"] for n, host in hosts.items()})
        self.dns.set_srv([(f"_erlang._tcp.{SERVICE}", host, 4370) for host in hosts.values()])
        self.dns.start()
        pods = [self.pod(n, f"dns-srv:_erlang._tcp.{SERVICE}", host=hosts[n]) for n in hosts]
        self.cluster.wait_for_mesh(pods)
        self.assertEqual(sorted(pods[0].nodes()), sorted(f"app@{hosts[n]}" for n in (3, 4)))


class RefusingAaaaDns:
    """A resolver some networks have: A questions answered, AAAA questions REFUSED
    (what dnsmasq will not do on demand, so a few lines of our own, on loopback UDP)."""

    def __init__(self, name: str, addresses: list[str]) -> None:
        self.name, self.addresses = name, addresses
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.port = free_port()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve(self) -> None:
        while self.running:
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                continue
            self.sock.sendto(self.answer(query), peer)

    def answer(self, query: bytes) -> bytes:
        qid = query[:2]
        labels, i = [], 12
        while query[i]:
            labels.append(query[i + 1:i + 1 + query[i]].decode())
            i += 1 + query[i]
        question = query[12:i + 5]
        qtype = struct.unpack(">H", query[i + 1:i + 3])[0]
        if qtype == 28:  # AAAA
            return qid + struct.pack(">HHHHH", 0x8405, 1, 0, 0, 0) + question  # REFUSED
        if ".".join(labels) != self.name or qtype != 1:
            return qid + struct.pack(">HHHHH", 0x8403, 1, 0, 0, 0) + question  # NXDOMAIN
        records = b"".join(struct.pack(">HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(a) for a in self.addresses)
        return qid + struct.pack(">HHHHH", 0x8400, 1, len(self.addresses), 0, 0) + question + records

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


class RecordTypeTest(DiscoveryTestCase):
    """--discovery dns-a:, dns-aaaa: or dns: (both), as gen_cluster's record_type."""

    def test_both_families_use_what_answered_when_the_other_is_refused(self) -> None:
        dns = RefusingAaaaDns(SERVICE, ["127.0.0.2", "127.0.0.3"])
        self.addCleanup(dns.stop)
        pods = []
        for n in (2, 3):
            pod = self.cluster.pod(n, self.ca.issue(f"app@127.0.0.{n}", label=f"refusing-{n}"),
                                   extra_distls_args=["--discovery", f"dns:{SERVICE}", "--dns-server", dns.server,
                                                      "--refresh", "1s"])
            self.addCleanup(pod.stop)
            pods.append(pod)
        # The AAAA refusal is reported, and the A records are used rather than nothing.
        self.cluster.wait_for_mesh(pods)
        failed = pods[0].distls_log.events_since(0, "discovery_failed", reason="refused")
        self.assertTrue(failed)
        self.assertEqual(failed[0].fields["used_partial_answer"], "true")
        self.assertEqual(self.discovered(pods[0]), ["app@127.0.0.3"])

    def test_a_only_never_asks_for_aaaa(self) -> None:
        dns = RefusingAaaaDns(SERVICE, ["127.0.0.2", "127.0.0.3"])
        self.addCleanup(dns.stop)
        pods = [self.cluster.pod(n, self.ca.issue(f"app@127.0.0.{n}", label=f"a-only-{n}"),
                                 extra_distls_args=["--discovery", f"dns-a:{SERVICE}", "--dns-server", dns.server,
                                                    "--refresh", "1s"]) for n in (2, 3)]
        for pod in pods:
            self.addCleanup(pod.stop)
        self.cluster.wait_for_mesh(pods)
        self.assertFalse(pods[0].distls_log.events_since(0, "discovery_failed"))


class StaticTest(DiscoveryTestCase):

    def test_static_list(self) -> None:
        spec = "static:" + ",".join(f"app@127.0.0.{n}" for n in (2, 3, 4))
        pods = [self.pod(n, spec) for n in (2, 3, 4)]
        self.cluster.wait_for_mesh(pods)


if __name__ == "__main__":
    unittest.main()
