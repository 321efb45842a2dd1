"""Self-renewing certificates under load: three pods with `--cert-source local-ca`
and a 10 s certificate lifetime exchange messages without pause while every distls
renews several times, and the trust bundle walks a CA rotation (old CA -> both ->
new CA). Nothing may drop: no nodedown, no lost or reordered message, and new
handshakes present the renewed certificates.
"""

import os
import time
import unittest
from pathlib import Path

from erlterm import Atom, format_atom
from harness import Ca, ClusterTestCase, wait_for

POD_NUMBERS = (2, 3, 4)
TTL = "10s"          # the shortest distls accepts: renewals every 7-9 s
RENEWALS = 3
SLOW = 120.0         # deadline for waits that span several renewals


def replace_atomically(path: Path, data: bytes) -> None:
    """As a Secret mount or a careful operator updates a file: write aside, rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class RotationTestCase(ClusterTestCase):

    def start_pods(self, ca_cert: Path, ca_key: Path, trust: Path) -> list:
        pods = [self.cluster.pod(n, None, source_args=[
            "--cert-source", "local-ca", "--ca-cert", str(ca_cert), "--ca-key", str(ca_key),
            "--trust-bundle", str(trust), "--cert-ttl", TTL, "--reload-interval", "1s"])
            for n in POD_NUMBERS]
        for pod in pods:
            self.addCleanup(pod.stop)
            self.assertEqual(pod.eval("distls_test_repl:serve().")[0], "ok")
        first, *rest = pods
        for pod in rest:
            self.assertIs(first.connect(pod), True)
        self.cluster.wait_for_mesh(pods)
        return pods

    def start_traffic(self, pods) -> None:
        for pod in pods:
            targets = ", ".join(format_atom(p.name) for p in pods if p is not pod)
            self.assertEqual(pod.eval(f"distls_test_traffic:start([{targets}])."), "ok")

    def stop_traffic(self, pods) -> None:
        for pod in pods:
            round_trips, failures, downs = pod.eval("distls_test_traffic:stop().", timeout=60)
            with self.subTest(pod=pod.name):
                self.assertEqual(failures, [], "lost, wrong or late replies")
                self.assertEqual(downs, [], "nodedown during the test")
                self.assertEqual(len(round_trips), len(pods) - 1)
                for target, n in round_trips:
                    self.assertGreater(n, 100, f"traffic to {target} stalled")

    def assert_new_handshake_presents(self, a, b) -> None:
        """Reconnect a -> b: b's distls sees a's current certificate."""
        mark = b.distls_log.mark()
        a.eval(f"erlang:disconnect_node({format_atom(b.name)}).")
        self.assertIs(a.connect(b), True)
        serial = a.cert_status()["serial"]
        event = wait_for(f"{b.name}'s distls to accept {a.name} again",
                         lambda: b.distls_log.events_since(mark, "tunnel_open", direction="in",
                                                           peer=a.name))[0]
        self.assertEqual(event.fields["peer_serial"], serial)


class RenewalTest(RotationTestCase):

    def test_renewals_under_traffic_drop_nothing(self) -> None:
        ca = self.cluster.ca("renew")
        pods = self.start_pods(ca.cert, ca.key, ca.cert)
        seen = {pod.name: {pod.cert_status()["serial"]} for pod in pods}
        self.start_traffic(pods)

        def renewed_enough() -> bool:
            for pod in pods:
                seen[pod.name].add(pod.cert_status()["serial"])
            return all(len(s) > RENEWALS for s in seen.values())
        wait_for(f"every distls to renew {RENEWALS} times", renewed_enough, SLOW, interval=0.5)

        # The tunnels outlive the certificates they were set up with: they stay open,
        # and say so (a gauge, and each peer's expiry in /peers).
        for pod in pods:
            self.assertGreater(pod.metric("distls_tunnels_peer_cert_expired"), 0, pod.name)
            peers = pod.admin("/peers")["peers"]
            self.assertTrue(any(p.get("peer_cert_expired") for p in peers.values()), peers)
        # The traffic kept going through renewals: the tunnels never noticed.
        before = {p.name: sum(n for _, n in p.eval("distls_test_traffic:stats().")) for p in pods}
        time.sleep(0.5)
        for pod in pods:
            self.assertGreater(sum(n for _, n in pod.eval("distls_test_traffic:stats().")),
                               before[pod.name])
        self.stop_traffic(pods)
        for pod in pods:
            doc = pod.cert_status()
            self.assertGreaterEqual(doc["renewals_ok"], RENEWALS)
            self.assertEqual(doc["renewals_failed"], 0)
            self.assertGreater(doc["expires_in_s"], 0)
        # A fresh handshake presents the latest certificate.
        self.assert_new_handshake_presents(pods[0], pods[1])


class CaRotationTest(RotationTestCase):

    def mount_ca(self, ca: Ca) -> tuple[Path, Path, Path]:
        """What every pod mounts: the signing CA (the local-ca source re-reads it at each
        renewal) and the trust bundle (watched for changes), both starting with `ca`."""
        mount = self.cluster.work / f"mount-{self._testMethodName}"
        mount.mkdir()
        files = mount / "ca.crt", mount / "ca.key", mount / "trust.crt"
        replace_atomically(files[0], ca.cert.read_bytes())
        replace_atomically(files[1], ca.key.read_bytes())
        replace_atomically(files[2], ca.cert.read_bytes())
        return files

    def all_pods(self, pods, what: str, check) -> None:
        wait_for(what, lambda: all(check(p.cert_status()) for p in pods), SLOW, interval=0.5)

    def peers_authenticated_by(self, pod, ca: Ca) -> bool:
        """Every live tunnel of `pod` has a peer certificate from `ca`."""
        peers = [p for p in pod.admin("/peers")["peers"].values() if "peer_cert_issuer" in p]
        return bool(peers) and all(ca.cn in p["peer_cert_issuer"] for p in peers)

    def test_old_ca_then_both_then_new_ca_while_messages_flow(self) -> None:
        old = self.cluster.ca("old", cn="distls CA old")
        new = self.cluster.ca("new", cn="distls CA new")
        signer_cert, signer_key, trust = self.mount_ca(old)
        pods = self.start_pods(signer_cert, signer_key, trust)
        self.start_traffic(pods)

        # 1. Trust both CAs everywhere.
        replace_atomically(trust, old.cert.read_bytes() + new.cert.read_bytes())
        self.all_pods(pods, "every distls to trust both CAs", lambda d: len(d["trust_bundle"]) == 2)
        # 2. The signer switches: every leaf renews under the new CA.
        replace_atomically(signer_key, new.key.read_bytes())
        replace_atomically(signer_cert, new.cert.read_bytes())
        self.all_pods(pods, "every leaf to come from the new CA", lambda d: new.cn in d["issuer"])
        # Nothing dropped so far: tunnels live on with the verification they were set up with.
        self.stop_traffic(pods)

        # 3. Drop the old CA. Tunnels set up under it (all of them here: they were opened
        # before step 2) are judged again and closed; the nodes reconnect through fresh
        # handshakes with the new certificates.
        marks = {p.name: p.distls_log.mark() for p in pods}
        replace_atomically(trust, new.cert.read_bytes())
        self.all_pods(pods, "every distls to trust only the new CA",
                      lambda d: len(d["trust_bundle"]) == 1 and new.cn in d["trust_bundle"][0])
        # Each tunnel is closed by whichever end judges it first: count them over all pods.
        def revoked():
            return [e for p in pods for e in p.distls_log.events_since(marks[p.name], "tunnel_revoked")]
        wait_for("the tunnels set up under the old CA to be closed", revoked)
        self.assertEqual({e.fields["reason"] for e in revoked()}, {"untrusted_chain"})
        first, *rest = pods
        for pod in rest:
            wait_for(f"{first.name} to reach {pod.name} again", lambda pod=pod: first.connect(pod))
        self.cluster.wait_for_mesh(pods)
        for pod in pods:
            wait_for(f"{pod.name}'s peers to be authenticated by the new CA",
                     lambda pod=pod: self.peers_authenticated_by(pod, new))
        self.start_traffic(pods)
        time.sleep(1)  # let some traffic flow; nothing asserts on timing
        self.stop_traffic(pods)
        self.assert_new_handshake_presents(pods[1], pods[2])
        # A node still holding a certificate from the old CA is out now.
        straggler = self.cluster.pod(6, old.issue("app@127.0.0.6"),
                                     trust_bundle=self.cluster.bundle("both", old, new))
        self.addCleanup(straggler.stop)
        mark = pods[0].distls_log.mark()
        self.assertIs(straggler.connect(pods[0]), False)
        wait_for("the old-CA straggler's refusal",
                 lambda: pods[0].distls_log.events_since(mark, "tunnel_refused",
                                                         reason="untrusted_chain"))

    def test_emergency_a_leaked_ca_key_is_cut_off_live(self) -> None:
        # docs/operations.md, "Emergency: a CA key leaked". A node holding a certificate
        # from the leaked CA (the straggler: files from the old CA, trusting both) is
        # connected to everyone when the CA is replaced. Removing the CA from the bundle
        # must cut its live tunnels, not only its next handshake.
        old = self.cluster.ca("leaked", cn="distls CA leaked")
        new = self.cluster.ca("replacement", cn="distls CA replacement")
        signer_cert, signer_key, trust = self.mount_ca(old)
        pods = self.start_pods(signer_cert, signer_key, trust)
        straggler = self.cluster.pod(6, old.issue("app@127.0.0.6"),
                                     trust_bundle=self.cluster.bundle("both", old, new))
        self.addCleanup(straggler.stop)
        for pod in pods:
            self.assertIs(straggler.connect(pod), True)
        for pod in pods:
            self.assertEqual(pod.eval("net_kernel:monitor_nodes(true)."), "ok")
        self.start_traffic(pods)

        # The new CA first (what signs), then the bundle with the new CA only: each
        # distls sees a bundle that does not cover its own certificate, renews at once
        # from the new CA, and then applies the bundle.
        marks = {p.name: p.distls_log.mark() for p in pods}
        replace_atomically(signer_key, new.key.read_bytes())
        replace_atomically(signer_cert, new.cert.read_bytes())
        replace_atomically(trust, new.cert.read_bytes())
        self.all_pods(pods, "every distls to trust only the replacement CA, with a leaf from it",
                      lambda d: d["trust_bundle"] == [d["trust_bundle"][0]] and new.cn in d["trust_bundle"][0]
                      and new.cn in d["issuer"])
        # Each pod reads the bundle on its own schedule (--reload-interval), up to a
        # second apart. The first pod to cut the straggler makes the Erlang nodes drop it
        # everywhere (global's prevent_overlapping_partitions), so a later pod may find
        # its tunnel already closed by the nodes: that pod has nothing left to cut. At
        # least one must have cut it (nothing else ends those tunnels), and every pod
        # must see it go.
        def straggler_end(pod):
            revoked = pod.distls_log.events_since(marks[pod.name], "tunnel_revoked", peer=straggler.name)
            closed = pod.distls_log.events_since(marks[pod.name], "tunnel_closed", peer=straggler.name)
            return revoked or ([] if not closed else [None])

        cut_by = []
        for pod in pods:
            ends = wait_for(f"{pod.name} to cut the straggler's live tunnel, or see the nodes drop it",
                            lambda pod=pod: straggler_end(pod))
            if ends[0] is not None:
                self.assertEqual(ends[0].fields["reason"], "untrusted_chain")
                self.assertGreater(pod.metric("distls_tunnels_revoked_total", 'reason="untrusted_chain"'), 0)
                cut_by.append(pod.name)
            wait_for(f"{pod.name} to see the straggler go", lambda pod=pod: straggler.name not in pod.nodes())
        self.assertTrue(cut_by, "no distls cut the straggler's tunnels when its CA left the bundle")
        # The pods find each other again under the replacement CA; the straggler cannot.
        self.stop_traffic_allowing_reconnects(pods)
        first, *rest = pods
        for pod in rest:
            wait_for(f"{first.name} to reach {pod.name} again", lambda pod=pod: first.connect(pod))
        self.cluster.wait_for_mesh(pods)
        for pod in pods:
            wait_for(f"{pod.name}'s peers to be authenticated by the replacement CA",
                     lambda pod=pod: self.peers_authenticated_by(pod, new))
            self.assertIs(straggler.connect(pod), False)

    def stop_traffic_allowing_reconnects(self, pods) -> None:
        """Traffic across an emergency: tunnels to the straggler and those set up under
        the leaked CA close, so nodedowns are expected; the workers must still answer."""
        for pod in pods:
            round_trips, _, _ = pod.eval("distls_test_traffic:stop().", timeout=60)
            self.assertEqual(len(round_trips), len(pods) - 1)


class FileReloadTest(RotationTestCase):

    def test_file_source_follows_rewritten_files_and_keeps_serving_on_broken_ones(self) -> None:
        ca = self.cluster.ca("files")
        certs = [ca.issue(f"app@127.0.0.{n}") for n in POD_NUMBERS]
        pods = [self.cluster.pod(n, c, extra_distls_args=["--reload-interval", "1s"])
                for n, c in zip(POD_NUMBERS, certs)]
        for pod in pods:
            self.addCleanup(pod.stop)
            self.assertEqual(pod.eval("distls_test_repl:serve().")[0], "ok")
        pods[0].connect(pods[1])
        pods[0].connect(pods[2])
        self.cluster.wait_for_mesh(pods)
        self.start_traffic(pods)
        target, files = pods[1], certs[1]
        first = target.cert_status()["serial"]

        # A half-updated pair: the new cert arrives before its key. Refused, old kept.
        fresh = ca.issue(target.name, label="fresh")
        mark = target.distls_log.mark()
        replace_atomically(files.cert, fresh.cert.read_bytes())
        wait_for("the mismatched pair to be refused",
                 lambda: target.distls_log.events_since(mark, "identity_refused", origin="files"))
        self.assertEqual(target.cert_status()["serial"], first)
        # The key follows: installed.
        replace_atomically(files.key, fresh.key.read_bytes())
        wait_for("the new pair to be installed",
                 lambda: target.cert_status()["serial"] != first)
        second = target.cert_status()["serial"]
        # Garbage in the cert file: refused, the second identity stays in force.
        mark = target.distls_log.mark()
        replace_atomically(files.cert, b"-----BEGIN CERTIFICATE-----\nnot base64\n")
        wait_for("the broken file to be refused",
                 lambda: target.distls_log.events_since(mark, "identity_refused", origin="files"))
        self.assertEqual(target.cert_status()["serial"], second)

        self.stop_traffic(pods)
        self.assert_new_handshake_presents(target, pods[2])


if __name__ == "__main__":
    unittest.main()
