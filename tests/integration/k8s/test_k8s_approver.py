"""cert-manager as the CA and distls as the approver (docs/kubernetes.md, "cert-manager as
the CA, distls as the approver"), and the trust bundle the signer publishes into every
namespace it serves, on the API double with deploy/'s RBAC: no human approves anything,
no CA key reaches distls, no bundle is copied by hand.
"""

import base64
import os
import unittest

from cert_manager_standin import USER as CERT_MANAGER_USER, CertManagerStandIn
from harness import wait_for
from k8s_double import CSR_PATH, SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT
from test_k8s_e2e import NS, SLOW, TRUST_DOMAIN, K8sTestCase

ISSUER = "clusterissuers.cert-manager.io/distls-ca"


class ApproverTest(K8sTestCase):
    """deploy/overlays/cert-manager: the approver's RBAC (approve for the issuer's
    signerName only) and a cert-manager that signs what is approved."""
    SIGNERS = 0
    RBAC = ("overlays/cert-manager",)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.standin = CertManagerStandIn(cls.api, cls.cluster.work, cls.ca, ISSUER)
        cls.approver, cls.approver_log = cls.start_signer(0, ["--approve-only", "--signer-name", ISSUER,
                                                              "--namespaces", NS], ca=False)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.standin.stop()
        super().tearDownClass()

    def test_distls_approves_cert_manager_signs_and_the_pods_cluster(self) -> None:
        pods = [self.pod(n, signer_name=ISSUER) for n in (2, 3)]
        self.assertIs(pods[0].connect(pods[1]), True)
        for pod in pods:
            self.assertIn("distls CA", pod.cert_status()["issuer"])
        csrs = [c for c in self.api.csrs(ISSUER) if c["status"].get("certificate")]
        self.assertGreaterEqual(len(csrs), 2)
        for csr in csrs:
            approved = [c for c in csr["status"]["conditions"] if c["type"] == "Approved"]
            self.assertEqual(approved[0]["reason"], "DistlsPodVerified")
        writes = self.api.requests(method="PUT")
        approvals = {r["user"] for r in writes if r["path"].endswith("/approval") and r["status"] == 200}
        statuses = {r["user"] for r in writes if r["path"].endswith("/status") and r["status"] == 200}
        self.assertEqual(approvals, {f"system:serviceaccount:{SIGNER_NAMESPACE}:{SIGNER_SERVICE_ACCOUNT}"})
        self.assertEqual(statuses, {CERT_MANAGER_USER}, "distls wrote a certificate in --approve-only")
        self.assertEqual(self.standin.errors, [])
        # cert-manager honoured expirationSeconds: the sidecar asked for 10 minutes.
        self.assertLessEqual(pods[0].cert_status()["expires_in_s"], 600)

    def test_a_denied_request_is_never_signed(self) -> None:
        self.api.add_pod(NS, "app-4", "127.0.0.4", service_account="app")
        pod = self.pod(5, token_pod="app-4", start_node=False, signer_name=ISSUER)
        csr = self.denial(pod, "WrongIP")
        name = csr["metadata"]["name"]
        self.assertNotIn(name, self.standin.signed)
        self.assertFalse(self.api.csr(name)["status"].get("certificate"))


class TrustPublishingTest(K8sTestCase):
    """--publish-trust: ConfigMap distls-trust in every served namespace follows one file."""
    SIGNERS = 0

    def test_the_bundle_follows_its_source_old_then_both_then_new(self) -> None:
        old = self.ca
        new = self.cluster.ca("k8s-next", cn="distls CA next")
        source = self.cluster.work / "trust-source.pem"
        source.write_bytes(old.cert.read_bytes())
        process, log = self.start_signer(0, ["--namespaces", NS, "--publish-trust", "distls-trust",
                                             "--trust-bundle", str(source)])
        path = f"/api/v1/namespaces/{NS}/configmaps/distls-trust"

        def published() -> str:
            try:
                return self.api.api("GET", path)["data"]["ca.crt"]
            except Exception:  # noqa: BLE001 - not there yet
                return ""
        wait_for("the bundle to be published", lambda: published() == old.cert.read_text())
        cm = self.api.api("GET", path)
        self.assertEqual(cm["metadata"]["labels"]["app.kubernetes.io/managed-by"], "distls-signer")
        # A CA rotation: both, then the new one; every served namespace follows the file.
        source.write_bytes(old.cert.read_bytes() + new.cert.read_bytes())
        wait_for("both CAs to be published", lambda: published() == old.cert.read_text() + new.cert.read_text(), SLOW)
        source.write_bytes(new.cert.read_bytes())
        wait_for("the new CA alone to be published", lambda: published() == new.cert.read_text(), SLOW)
        # A hand edit of the copy is put back; a broken source publishes nothing.
        cm = self.api.api("GET", path)
        cm["data"]["ca.crt"] = "edited by hand"
        self.api.api("PUT", path, cm)
        wait_for("the copy to be put back", lambda: published() == new.cert.read_text(), SLOW)
        source.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
        wait_for("the broken source to be noticed", lambda: log.events_since(0, "trust_bundle_unusable"), SLOW)
        self.assertEqual(published(), new.cert.read_text())
        writes = [r for r in self.api.requests(path_prefix=f"/api/v1/namespaces/{NS}/configmaps")
                  if r["method"] in ("POST", "PUT") and r["user"] != "admin"]
        self.assertEqual({r["user"] for r in writes},
                         {f"system:serviceaccount:{SIGNER_NAMESPACE}:{SIGNER_SERVICE_ACCOUNT}"})


if __name__ == "__main__":
    unittest.main()
