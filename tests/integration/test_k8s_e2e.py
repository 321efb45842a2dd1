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
        cls.api.apply_rbac_from_deploy()
        cls.ca = cls.cluster.ca("k8s")
        cls.signers = [cls.start_signer(i, cls.SIGNER_ARGS + ["--lease-identity", f"signer-{i}"])
                       for i in range(cls.SIGNERS)]

    SIGNERS = 1
    SIGNER_ARGS: list[str] = []

    @classmethod
    def start_signer(cls, i: int, extra: list[str] = ()):
        kubeconfig = cls.api.write_kubeconfig(cls.cluster.work / f"signer{i}.kubeconfig",
                                              token=cls.api.token_for(SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT),
                                              user="signer")
        log = LogFile(cls.cluster.work / f"signer{i}.log")
        admin = free_port()
        process = cls.cluster.spawn(f"signer{i}", [
            str(cls.cluster.build.distls), "signer", "--kubeconfig", str(kubeconfig),
            "--ca-cert", str(cls.ca.cert), "--ca-key", str(cls.ca.key), "--signer-name", SIGNER,
            "--max-ttl", MAX_TTL, "--trust-domain", TRUST_DOMAIN, "--admin", f"127.0.0.1:{admin}",
            "--resync", "30s", *extra], log)
        wait_for(f"signer{i} to start", lambda: log.events_since(0, "signer_started") or
                 log.events_since(0, "leader_elected") or None, check=process.check_running)
        return process, log

    def pod(self, n: int, *, service_account: str = SA, pod_service_account: str | None = None,
            kubeconfig: Path | None = None, start_node: bool = True):
        self.api.add_pod(NS, f"app-{n}", f"127.0.0.{n}", service_account=pod_service_account or service_account)
        kubeconfig = kubeconfig or self.api.kubeconfig_for(NS, service_account)
        source = ["--cert-source", "k8s-csr", "--kubeconfig", str(kubeconfig), "--signer-name", SIGNER,
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

    def test_a_pod_asking_for_someone_elses_identity_is_denied(self) -> None:
        # The pod at 127.0.0.6 runs as "db", but its distls asks as "app".
        pod = self.pod(6, service_account=SA, pod_service_account="db", start_node=False)
        event = wait_for("the denial to reach distls",
                         lambda: pod.distls_log.events_since(0, "renewal_failed"))[0]
        self.assertIn("denied: WrongServiceAccount", event.fields["reason"])
        self.assertIn("runs as db", event.fields["reason"])
        status, body = __import__("harness").http_get(pod.admin_url + "/readyz")
        self.assertEqual(status, 503)
        self.assertIn("no identity", body)
        signer_log = self.signers[0][1]
        self.assertTrue(signer_log.events_since(0, "csr_denied", reason="WrongServiceAccount"))


class ApiFaultsTest(K8sTestCase):

    def test_throttling_server_errors_lost_watches_and_token_rotation(self) -> None:
        # 429 twice on create: the client retries by itself.
        self.api.fail_next("POST", CSR_PATH, count=2, status=429)
        token_file = self.cluster.work / "app.token"
        token_file.write_text(self.api.token_for(NS, SA))
        kubeconfig = self.api.write_kubeconfig(self.cluster.work / "app.kubeconfig", token_file=token_file,
                                               user="app")
        pod = self.pod(7, kubeconfig=kubeconfig)
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
        new_token = self.api.rotate_token(NS, SA, revoke_old=True)
        token_file.write_text(new_token)
        before = pod.cert_status()["renewals_ok"]
        wait_for("a renewal with the rotated token", lambda: pod.cert_status()["renewals_ok"] > before, SLOW)
        self.assertEqual(pod.cert_status()["expires_in_s"] > 0, True)


if __name__ == "__main__":
    unittest.main()
