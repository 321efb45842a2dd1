"""End to end on Kubernetes, with our API double: three real Erlang nodes whose distls
(`--cert-source k8s-csr`) each obtain their certificates through the CSR API from
`distls signer`, cluster over mutual TLS, and renew while messages flow; a pod asking
for an identity that is not its own is denied; API faults (429, 5xx, 410, a rotated
token) are survived.
"""

import json
import os
import shutil
import unittest
from pathlib import Path

from erlterm import format_atom
from harness import ClusterTestCase, LogFile, free_port, wait_for
from k8s_double import (CSR_PATH, EXAMPLE_NAMESPACE, EXAMPLE_SERVICE_ACCOUNT, SIGNER_NAMESPACE,
                        SIGNER_SERVICE_ACCOUNT, K8sDouble)

# deploy/'s RBAC is loaded: pods run where deploy/example runs them, the signer as deploy/base's.
NS = EXAMPLE_NAMESPACE
SA = EXAMPLE_SERVICE_ACCOUNT
SIGNER_USER = f"system:serviceaccount:{SIGNER_NAMESPACE}:{SIGNER_SERVICE_ACCOUNT}"
SIGNER = "distls.io/erlang-dist"
TRUST_DOMAIN = "cluster.local"
MAX_TTL = "20s"   # the signer issues this long: every distls renews every ~15 s
SLOW = 120.0


class K8sTestCase(ClusterTestCase):

    @classmethod
    def setUpClass(cls) -> None:
        if shutil.which("kubectl") is None:
            raise unittest.SkipTest("kubectl is not on PATH: deploy/'s RBAC cannot be rendered for the API double")
        super().setUpClass()
        cls.api = K8sDouble(cls.cluster, cls.cluster.build)
        cls.api.apply_rbac_from_deploy(cls.RBAC)
        cls.ca = cls.cluster.ca("k8s")
        cls.signers = [cls.start_signer(i, cls.SIGNER_ARGS + ["--lease-identity", f"signer-{i}"])
                       for i in range(cls.SIGNERS)]

    SIGNERS = 1
    SIGNER_ARGS: list[str] = []
    RBAC: tuple[str, ...] = ("base", "example")  # deploy/ directories whose RBAC is loaded

    @classmethod
    def start_signer(cls, i: int, extra: list[str] = (), *, ca: bool = True):
        kubeconfig = cls.api.write_kubeconfig(cls.cluster.work / f"signer{i}.kubeconfig",
                                              token=cls.api.token_for(SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT),
                                              user="signer")
        log = LogFile(cls.cluster.work / f"signer{i}.log")
        admin = free_port()
        process = cls.cluster.spawn(f"signer{i}", [
            str(cls.cluster.build.distls), "signer", "--kubeconfig", str(kubeconfig),
            *(["--ca-cert", str(cls.ca.cert), "--ca-key", str(cls.ca.key)] if ca else []),
            "--signer-name", SIGNER, "--max-ttl", MAX_TTL, "--trust-domain", TRUST_DOMAIN,
            "--admin", f"127.0.0.1:{admin}", "--resync", "30s", *extra], log)
        wait_for(f"signer{i} to start", lambda: log.events_since(0, "signer_started") or
                 log.events_since(0, "leader_elected") or None, check=process.check_running)
        return process, log

    def pod(self, n: int, *, service_account: str = SA, kubeconfig: Path | None = None, start_node: bool = True,
            in_api: bool = True, token_pod: str | None = None, signer_name: str = SIGNER):
        """Pod app-N at 127.0.0.N whose distls gets its certificate through the CSR API with
        a token bound to pod `token_pod` (default: its own, as the kubelet mounts it)."""
        if in_api:
            self.api.add_pod(NS, f"app-{n}", f"127.0.0.{n}", service_account=service_account)
        kubeconfig = kubeconfig or self.api.kubeconfig_for(NS, service_account, pod=token_pod or f"app-{n}")
        source = ["--cert-source", "k8s-csr", "--kubeconfig", str(kubeconfig), "--signer-name", signer_name,
                  "--trust-bundle", str(self.ca.cert), "--cert-ttl", "10m", "--trust-domain", TRUST_DOMAIN,
                  "--service-account", service_account, "--namespace", NS]
        if not start_node:
            from harness import Pod
            pod = Pod(self.cluster, n, None, source_args=source)
            self.cluster.pods.append(pod)
            pod.start_distls()
        else:
            pod = self.cluster.pod(n, None, source_args=source)
        self.addCleanup(pod.stop)
        return pod

    def denial(self, pod, reason: str) -> dict:
        """Waits for distls to hear that its CSR was denied for `reason`; returns the CSR."""
        event = wait_for(f"{pod.name}'s CSR to be denied ({reason})",
                         lambda: pod.distls_log.events_since(0, "renewal_failed"), SLOW)[0]
        self.assertIn(f"denied: {reason}", event.fields["reason"])
        name = event.fields["reason"].split()[1]
        return self.api.csr(name)


class IssueAndRenewTest(K8sTestCase):
    # Two replicas behind one Lease, as deploy/base runs them: only the leader writes.
    SIGNERS = 2
    SIGNER_ARGS = ["--leader-elect", "--lease-namespace", "distls-system"]

    def test_three_nodes_get_certs_from_the_signer_cluster_and_renew(self) -> None:
        pods = [self.pod(n) for n in (2, 3, 4)]
        for pod in pods:
            status = pod.cert_status()
            self.assertEqual(status["source"], "k8s-csr")
            self.assertIn("distls CA", status["issuer"])
            self.assertEqual(pod.eval("distls_test_repl:serve().")[0], "ok")
        first, *rest = pods
        for pod in rest:
            self.assertIs(first.connect(pod), True)
        self.cluster.wait_for_mesh(pods)
        for pod in pods:
            targets = ", ".join(format_atom(p.name) for p in pods if p is not pod)
            self.assertEqual(pod.eval(f"distls_test_traffic:start([{targets}])."), "ok")
        serials = {p.name: {p.cert_status()["serial"]} for p in pods}

        def renewed_twice() -> bool:
            for p in pods:
                serials[p.name].add(p.cert_status()["serial"])
            return all(len(s) >= 3 for s in serials.values())
        wait_for("every distls to renew twice through the CSR API", renewed_twice, SLOW, interval=1)

        for pod in pods:
            round_trips, failures, downs = pod.eval("distls_test_traffic:stop().", timeout=60)
            self.assertEqual(failures, [])
            self.assertEqual(downs, [])
            self.assertTrue(all(n > 10 for _, n in round_trips), round_trips)
        # What the API saw: every CSR of ours approved by the signer with its reason, and issued.
        csrs = self.api.csrs(SIGNER)
        self.assertGreaterEqual(len(csrs), 9)
        for csr in csrs:
            conditions = {c["type"]: c for c in csr["status"].get("conditions", [])}
            self.assertEqual(conditions["Approved"]["reason"], "DistlsPodVerified", csr["metadata"]["name"])
            self.assertTrue(csr["status"].get("certificate"), csr["metadata"]["name"])
            self.assertEqual(csr["spec"]["username"], f"system:serviceaccount:{NS}:{SA}")
        # One leader; every certificate written once, by it.
        leaders = [log for _, log in self.signers if log.events_since(0, "leader_elected")]
        self.assertEqual(len(leaders), 1, "exactly one signer replica leads")
        writes = [r for r in self.api.requests(method="PUT") if r["path"].endswith("/status") and r["status"] == 200]
        self.assertEqual(len(writes), len(csrs), "a CSR's certificate was written more than once")
        self.assertEqual({r["user"] for r in writes}, {SIGNER_USER})
        issued = sum(len(log.events_since(0, "csr_issued")) for _, log in self.signers)
        self.assertEqual(issued, len(csrs), "a replica signed a CSR the other one signed")


class DenialTest(K8sTestCase):

    def test_a_sibling_asking_for_another_pods_identity_is_denied(self) -> None:
        # app-7's distls holds app-6's token (same service account, as every replica of a
        # StatefulSet): it asks for 127.0.0.7, which is not the pod its token is bound to.
        self.api.add_pod(NS, "app-6", "127.0.0.6", service_account=SA)
        pod = self.pod(7, token_pod="app-6", start_node=False)
        csr = self.denial(pod, "WrongIP")
        self.assertEqual(csr["spec"]["extra"]["authentication.kubernetes.io/pod-name"], ["app-6"])
        status, body = __import__("harness").http_get(pod.admin_url + "/readyz")
        self.assertEqual(status, 503)
        self.assertIn("no identity", body)
        self.assertTrue(self.signers[0][1].events_since(0, "csr_denied", reason="WrongIP"))
        # `kubectl describe csr` says why: the signer records an Event with the decision.
        described = self.api.kubectl("describe", "csr", csr["metadata"]["name"]).stdout
        self.assertIn("WrongIP", described)
        self.assertIn("app-6", described)

    def test_a_token_bound_to_no_pod_is_denied(self) -> None:
        # A legacy service-account token (a Secret): spec.extra names no pod.
        kubeconfig = self.api.write_kubeconfig(self.cluster.work / "legacy.kubeconfig",
                                               token=self.api.token_for(NS, SA), user="legacy")
        pod = self.pod(8, kubeconfig=kubeconfig, start_node=False)
        csr = self.denial(pod, "NotPodBound")
        self.assertNotIn("extra", csr["spec"])
        self.assertIn("NotPodBound", self.api.kubectl("describe", "csr", csr["metadata"]["name"]).stdout)


class PodLifecycleTest(K8sTestCase):
    """What real clusters do to pods and their IPs, and the signer does not deny for."""

    def test_a_finished_pod_that_kept_the_ip_does_not_block_the_pod_that_has_it_now(self) -> None:
        # A Job's pod finished (or a pod was evicted): it keeps status.podIP in the API
        # while the network hands the address to a new pod.
        self.api.add_pod(NS, "batch-1", "127.0.0.9", service_account=SA)
        self.api.finish_pod(NS, "batch-1", phase="Succeeded")
        self.api.add_pod(NS, "evicted-1", "127.0.0.9", service_account=SA)
        self.api.finish_pod(NS, "evicted-1", phase="Failed")
        pod = self.pod(9)
        self.assertIn("distls CA", pod.cert_status()["issuer"])
        self.assertFalse(any(log.events_since(0, "csr_denied") for _, log in self.signers))

    def test_a_pod_whose_ip_reaches_the_api_after_its_sidecar_asks_is_issued(self) -> None:
        # The kubelet gives the sidecar POD_IP before the API shows it: the CSR waits.
        self.api.add_pod(NS, "app-10", None, service_account=SA)
        pod = self.pod(10, in_api=False, start_node=False)
        signer_log = self.signers[0][1]
        wait_for("the signer to wait for the pod's IP",
                 lambda: signer_log.events_since(0, "csr_waiting", reason="PodIPPending"))
        self.api.set_pod_ip(NS, "app-10", "127.0.0.10")
        wait_for("the certificate", lambda: pod.cert_status().get("serial"), SLOW)
        self.assertFalse(signer_log.events_since(0, "csr_denied"))
        self.assertEqual(pod.distls_log.events_since(0, "renewal_failed"), [])


class NamespaceAllowListTest(K8sTestCase):
    SIGNER_ARGS = ["--namespaces", "distls-example,web"]

    def test_pods_of_other_namespaces_are_denied(self) -> None:
        other = "shop"
        self.api.set_permissions(group=f"system:serviceaccounts:{other}", rules=[{
            "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
            "verbs": ["create", "get", "list", "watch"]}])
        self.api.add_pod(other, "app-11", "127.0.0.11", service_account=SA)
        kubeconfig = self.api.kubeconfig_for(other, SA, pod="app-11")
        pod = self.pod(11, kubeconfig=kubeconfig, in_api=False, start_node=False)
        self.denial(pod, "NamespaceNotServed")
        self.assertIn("namespaces=distls-example,web", self.signers[0][1].text_since(0))


class AbandonedTest(K8sTestCase):
    SIGNERS = 0

    def test_csrs_older_than_any_requester_waits_are_denied_not_signed(self) -> None:
        # The signer is down while a pod asks; by the time it is back the request is older
        # than a requester waits: signing it now would certify a key nobody holds.
        pod = self.pod(12, start_node=False)
        first = wait_for("a CSR", lambda: self.api.csrs(SIGNER))[0]["metadata"]["name"]
        __import__("time").sleep(6)  # older than --max-pending-age below; nothing asserts on time
        process, log = self.start_signer(0, ["--max-pending-age", "5s"])
        self.addCleanup(process.stop)
        wait_for(f"{first} to be denied as abandoned",
                 lambda: log.events_since(0, "csr_denied", csr=first, reason="Abandoned"), SLOW)
        self.assertFalse(self.api.csr(first)["status"].get("certificate"))


class LeaderHandoverTest(K8sTestCase):
    SIGNERS = 2
    SIGNER_ARGS = ["--leader-elect", "--lease-namespace", "distls-system"]

    def test_a_stopping_leader_hands_the_lease_over(self) -> None:
        def leader():
            found = [(p, log) for p, log in self.signers if log.events_since(0, "leader_elected")]
            return found[0] if len(found) == 1 else None
        process, log = wait_for("one leader", leader)
        follower_log = next(l for p, l in self.signers if l is not log)
        process.stop()  # SIGTERM
        self.assertEqual(process.popen.returncode, 0, "the signer did not shut down cleanly")
        self.assertTrue(log.events_since(0, "leader_released", ok="true"), log.tail())
        # Released (no holder), not expired: the follower takes over at its next look,
        # rather than a lease duration later, and says from whom.
        event = wait_for("the follower to lead", lambda: follower_log.events_since(0, "leader_elected"))[0]
        self.assertEqual(event.fields["detail"], "took over from nobody")
        lease = self.api.api("GET", "/apis/coordination.k8s.io/v1/namespaces/distls-system/leases/distls-signer")
        self.assertEqual(lease["spec"]["holderIdentity"], follower_log.events_since(0, "leader_elected")[0].fields["identity"])
        # And it signs.
        pod = self.pod(13, start_node=False)
        wait_for("a certificate from the new leader", lambda: pod.cert_status().get("serial"), SLOW)


class ApiFaultsTest(K8sTestCase):

    def test_throttling_server_errors_lost_watches_and_token_rotation(self) -> None:
        # 429 twice on create: the client retries by itself.
        self.api.fail_next("POST", CSR_PATH, count=2, status=429)
        token_file = self.cluster.work / "app.token"
        self.api.add_pod(NS, "app-7", "127.0.0.7", service_account=SA)
        token_file.write_text(self.api.token_for(NS, SA, pod="app-7"))
        kubeconfig = self.api.write_kubeconfig(self.cluster.work / "app.kubeconfig", token_file=token_file,
                                               user="app")
        pod = self.pod(7, kubeconfig=kubeconfig, in_api=False)
        seen = self.api.requests(method="POST")
        self.assertEqual([r["status"] for r in seen if CSR_PATH in r["path"]][:3], [429, 429, 201])

        # A 503 on the next create: that renewal fails, is logged, and the next one works.
        before = pod.cert_status()["renewals_ok"]
        self.api.fail_next("POST", CSR_PATH, count=1, status=503)
        wait_for("a renewal to fail on the 503",
                 lambda: pod.distls_log.events_since(0, "renewal_failed"), SLOW)
        wait_for("a renewal to succeed after it",
                 lambda: pod.cert_status()["renewals_ok"] > before, SLOW)

        # The token rotates (the kubelet rewrites the projected token file): distls
        # re-reads it; the old one no longer works.
        new_token = self.api.rotate_token(NS, SA, revoke_old=True, pod="app-7")
        token_file.write_text(new_token)
        before = pod.cert_status()["renewals_ok"]
        wait_for("a renewal with the rotated token", lambda: pod.cert_status()["renewals_ok"] > before, SLOW)
        self.assertEqual(pod.cert_status()["expires_in_s"] > 0, True)


if __name__ == "__main__":
    unittest.main()
