"""IPv6 end to end: two pods in network namespaces this test creates, joined by a
veth pair carrying only IPv6 (fd00:d157::2 and ::3). Each runs distls and an
inet6_tcp Erlang node named by its IPv6 address; a dnsmasq in the first namespace
serves their AAAA records; the pods find each other with `--discovery dns-aaaa:` and
cluster over TLS on IPv6. Skipped where network namespaces cannot be made (not
root, no `ip netns`).
"""

import os
import subprocess
import unittest

from erlterm import format_atom
from harness import ErlNode, LogFile, Process, ClusterTestCase, distls_env, wait_for

NET = "fd00:d157::"
SERVICE = "app.distls.test"
EPMD_PORT = 4369   # each namespace has its own loopback: the defaults are free
ADMIN_PORT = 9901
TLS_PORT = 4370


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def can_make_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "needs root for ip netns"
    probe = f"dtlsprobe{os.getpid()}"
    try:
        ip("netns", "add", probe)
        ip("netns", "del", probe)
    except (OSError, subprocess.CalledProcessError) as e:
        return f"cannot create a network namespace: {e}"
    return None


def ns_http_status(ns: str, url: str) -> int:
    code = ("import urllib.request,urllib.error,sys\n"
            "try:\n  print(urllib.request.urlopen(sys.argv[1], timeout=3).status)\n"
            "except urllib.error.HTTPError as e:\n  print(e.code)\n"
            "except OSError:\n  print(0)\n")
    out = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", code, url],
                         capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


SKIP = can_make_namespaces()


@unittest.skipIf(SKIP, SKIP or "")
class Ipv6Test(ClusterTestCase):

    def setUp(self) -> None:
        tag = f"{os.getpid() % 100000}"
        self.ns = [f"dtls{tag}a", f"dtls{tag}b"]
        self.addr = [f"{NET}2", f"{NET}3"]
        links = [f"vd{tag}a", f"vd{tag}b"]
        for ns in self.ns:
            ip("netns", "add", ns)
            self.addCleanup(subprocess.run, ["ip", "netns", "del", ns], capture_output=True)
        ip("link", "add", links[0], "type", "veth", "peer", "name", links[1])
        for ns, link, addr in zip(self.ns, links, self.addr):
            ip("link", "set", link, "netns", ns)
            ip("-n", ns, "addr", "add", f"{addr}/64", "dev", link, "nodad")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", link, "up")

    def spawn_in(self, ns: str, label: str, argv: list[str], **kw) -> Process:
        return self.cluster.spawn(label, ["ip", "netns", "exec", ns, *argv],
                                  LogFile(self.cluster.work / f"{label}.log"), **kw)

    def test_two_pods_cluster_over_ipv6_found_through_aaaa(self) -> None:
        work = self.cluster.work
        hosts = work / "v6-hosts"
        hosts.mkdir()
        (hosts / "hosts").write_text("".join(f"{a} {SERVICE}\n" for a in self.addr))
        dns = self.spawn_in(self.ns[0], "dnsmasq-v6", [
            "/usr/sbin/dnsmasq", "--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null",
            "--pid-file", "--no-resolv", "--no-hosts", "--user=root", "--bind-interfaces",
            f"--listen-address={self.addr[0]}", "--port=53", f"--hostsdir={hosts}",
            "--local=/distls.test/", "--local-ttl=0"])
        self.addCleanup(dns.stop)

        ca = self.cluster.ca("v6")
        nodes = []
        for ns, addr in zip(self.ns, self.addr):
            name = f"app@{addr}"
            certs = ca.issue(name, label=f"v6-{addr}")
            distls = self.spawn_in(ns, f"distls-{ns}", [
                str(self.cluster.build.distls), "proxy", "--node", name,
                "--listen", f"[{addr}]:{TLS_PORT}", "--peer-port", str(TLS_PORT),
                "--epmd", f"[::1]:{EPMD_PORT}", "--admin", f"[::1]:{ADMIN_PORT}",
                "--cert", str(certs.cert), "--key", str(certs.key), "--trust-bundle", str(certs.trust_bundle),
                "--discovery", f"dns-aaaa:{SERVICE}", "--dns-server", f"[{self.addr[0]}]:53", "--refresh", "1s"],
                env=distls_env())
            self.addCleanup(distls.stop)
            node = ErlNode(self.cluster, name,
                           ["-proto_dist", "inet6_tcp", "-epmd_module", "distls_epmd", "-start_epmd", "false",
                            "-kernel", "inet_dist_use_interface", "{0,0,0,0,0,0,0,1}",
                            "-pa", str(self.cluster.build.ebin)],
                           {"ERL_EPMD_PORT": str(EPMD_PORT)}, label=f"erl-{ns}",
                           prefix=["ip", "netns", "exec", ns])
            self.addCleanup(node.stop)
            node.wait_ready()
            wait_for(f"{name} ready behind distls in {ns}",
                     lambda ns=ns: ns_http_status(ns, f"http://[::1]:{ADMIN_PORT}/readyz") == 200,
                     check=distls.check_running)
            nodes.append((node, distls))

        (a, da), (b, db) = nodes
        # Nobody calls connect_node: discovery (AAAA records) does it.
        wait_for("the two IPv6 nodes to find each other",
                 lambda: a.nodes() == [b.name] and b.nodes() == [a.name], check=da.check_running)
        self.assertEqual(b.eval("distls_test_repl:serve().")[0], "ok")
        self.assertEqual(a.eval(f"distls_test_repl:round_trips({format_atom(b.name)}, distls_test_echo, 200)."),
                         ("ok", 200))
        # The tunnel really ran over IPv6, between the two addresses.
        opened = LogFile(self.cluster.work / f"distls-{self.ns[1]}.log").events_since(
            0, "tunnel_open", direction="in", peer=a.name)
        self.assertTrue(opened, "no inbound tunnel from the IPv6 peer")
        self.assertTrue(opened[0].fields["from"].startswith(f"[{self.addr[0]}]:"), opened[0].fields["from"])

    def test_admin_beyond_loopback_answers_probes_only_unless_asked(self) -> None:
        # Probes reach the admin port from outside the pod; the peer table and the
        # certificates describe the cluster and stay on loopback (--admin-expose).
        ca = self.cluster.ca("v6-admin")
        certs = ca.issue(f"app@{self.addr[0]}", label="v6-admin")
        rows = {"probes": {"/healthz": 200, "/metrics": 403, "/peers": 403, "/certs": 403},
                "metrics": {"/healthz": 200, "/metrics": 200, "/peers": 403, "/certs": 403},
                "all": {"/healthz": 200, "/metrics": 200, "/peers": 200, "/certs": 200}}
        for expose, expected in rows.items():
            with self.subTest(expose=expose):
                distls = self.spawn_in(self.ns[0], f"distls-admin-{expose}", [
                    str(self.cluster.build.distls), "proxy", "--node", f"app@{self.addr[0]}",
                    "--listen", f"[{self.addr[0]}]:{TLS_PORT}", "--epmd", f"[::1]:{EPMD_PORT}",
                    "--admin", f"[::]:{ADMIN_PORT}", "--admin-expose", expose,
                    "--cert", str(certs.cert), "--key", str(certs.key), "--trust-bundle", str(certs.trust_bundle)],
                    env=distls_env())
                try:
                    outside = f"http://[{self.addr[0]}]:{ADMIN_PORT}"
                    wait_for("the admin server", lambda: ns_http_status(self.ns[1], outside + "/healthz") == 200,
                             check=distls.check_running)
                    got = {path: ns_http_status(self.ns[1], outside + path) for path in expected}
                    self.assertEqual(got, expected)
                    # No node has registered: not ready, and a prober may see that.
                    self.assertEqual(ns_http_status(self.ns[1], outside + "/readyz"), 503)
                    # Loopback gets everything, whatever is exposed.
                    for path in expected:
                        self.assertEqual(ns_http_status(self.ns[0], f"http://[::1]:{ADMIN_PORT}{path}"), 200, path)
                finally:
                    distls.stop()


if __name__ == "__main__":
    unittest.main()
