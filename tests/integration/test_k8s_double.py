"""The Kubernetes API test double against real clients: the real kubectl (discovery, get,
apply, certificate approve/deny, get -w, jsonpath, RBAC and authentication errors) and
raw HTTP for what the distls client and signer rely on: watch semantics (events after a
resourceVersion, 410 Expired after compaction, timeoutSeconds, bookmarks, closing),
409 on a stale PUT, 401/403 Status objects, injected faults, token rotation, pods by IP.

kubectl tests are skipped, saying so, when kubectl is not on PATH.
"""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest
from pathlib import Path

from harness import wait_for
from k8s_double import CSR_PATH, SIGNER_NAME, ApiError, K8sDouble, free_work_dir

KUBECTL = shutil.which("kubectl")
needs_kubectl = unittest.skipIf(KUBECTL is None, "kubectl is not on PATH: the kubectl checks of "
                                "the Kubernetes API double are skipped")


def make_csr_pem(work: Path, label: str, cn: str = "app@127.0.0.2") -> bytes:
    """A fresh P-256 key and a PEM CSR for it, from the openssl command."""
    key, csr = work / f"{label}.key", work / f"{label}.csr"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-subj", f"/CN={cn}", "-out", str(csr)],
                   check=True, capture_output=True, timeout=60)
    return csr.read_bytes()


def self_signed_pem(work: Path, label: str) -> bytes:
    cert = work / f"{label}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(work / f"{label}.ckey"),
                    "-subj", "/CN=app@127.0.0.2", "-days", "1", "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert.read_bytes()


# What these tests grant explicitly (the double has no such defaults): every service
# account may request certificates, and user "signer" is approver, signer and pod reader.
REQUESTER_RULES = [{"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
                    "verbs": ["create", "get", "list", "watch"]}]
SIGNER_RULES = [
    {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["certificates.k8s.io"],
     "resources": ["certificatesigningrequests/approval", "certificatesigningrequests/status"],
     "verbs": ["update"]},
    {"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": [SIGNER_NAME],
     "verbs": ["approve", "sign"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
]


class K8sDoubleTestCase(unittest.TestCase):
    api: K8sDouble
    work: Path
    signer_token: str

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.work = free_work_dir("k8s-double-test")
        cls.failed = False
        cls.api = K8sDouble(cls.work)
        cls.addClassCleanup(cls._cleanup)
        cls.api.set_permissions(group="system:serviceaccounts", rules=REQUESTER_RULES)
        cls.api.set_permissions(user="signer", rules=SIGNER_RULES)
        cls.signer_token = cls.api.add_token("signer")

    @classmethod
    def _cleanup(cls) -> None:
        cls.api.stop()
        if cls.failed or os.environ.get("DISTLS_KEEP_WORK"):
            print(f"k8s double work directory kept: {cls.work}")
        else:
            shutil.rmtree(cls.work, ignore_errors=True)

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        outcome = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            type(self).failed = True
            print(f"\n==== last lines of {self.api.log.path}:\n{self.api.log.tail(40)}")
        return outcome

    def setUp(self) -> None:
        self.name_prefix = self.id().rsplit(".", 1)[-1].replace("_", "-").lower()[:40]

    def csr_pem(self, label: str = "csr") -> bytes:
        return make_csr_pem(self.work, f"{self.name_prefix}-{label}")

    def new_csr(self, suffix: str, token: str = "admin") -> dict:
        return self.api.create_csr(self.csr_pem(), name=f"{self.name_prefix}-{suffix}", token=token)


class KubectlTest(K8sDoubleTestCase):
    """The real kubectl, end to end."""

    def write_manifest(self, name: str) -> Path:
        path = self.work / f"{name}.yaml"
        request = base64.b64encode(self.csr_pem(name)).decode()
        path.write_text(f"""apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: {name}
spec:
  request: {request}
  signerName: {SIGNER_NAME}
  expirationSeconds: 3600
  usages: ["digital signature", "server auth", "client auth"]
""")
        return path

    @needs_kubectl
    def test_apply_get_approve_and_jsonpath(self) -> None:
        name = f"{self.name_prefix}-csr"
        created = self.api.kubectl("apply", "-f", str(self.write_manifest(name)))
        self.assertIn(f"certificatesigningrequest.certificates.k8s.io/{name} created", created.stdout)

        table = self.api.kubectl("get", "csr").stdout
        self.assertRegex(table, r"NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION")
        self.assertRegex(table, rf"{name}\s+\S+\s+{SIGNER_NAME}\s+admin\s+60m\s+Pending")

        approved = self.api.kubectl("certificate", "approve", name)
        self.assertIn(f"certificatesigningrequest.certificates.k8s.io/{name} approved", approved.stdout)
        condition = self.api.kubectl("get", "csr", name, "-o",
                                     "jsonpath={.status.conditions[0].type} "
                                     "{.status.conditions[0].status} {.status.conditions[0].reason}")
        self.assertEqual(condition.stdout, "Approved True KubectlApprove")
        self.assertRegex(self.api.kubectl("get", "csr", name).stdout, rf"{name}\s.*\sApproved\n")
        # What kubectl did on the wire: GET, then PUT to /approval.
        puts = self.api.requests(method="PUT", path_prefix=f"{CSR_PATH}/{name}")
        self.assertEqual([(r["path"], r["status"]) for r in puts],
                         [(f"{CSR_PATH}/{name}/approval", 200)])

        # Applying the same manifest again changes nothing.
        again = self.api.kubectl("apply", "-f", str(self.work / f"{name}.yaml"))
        self.assertIn(f"certificatesigningrequest.certificates.k8s.io/{name} unchanged", again.stdout)

    @needs_kubectl
    def test_deny_a_service_account_request(self) -> None:
        token = self.api.token_for("app", "web")
        csr = self.new_csr("deny-me", token=token)
        name = csr["metadata"]["name"]
        self.assertEqual(csr["spec"]["username"], "system:serviceaccount:app:web")
        self.assertIn("system:serviceaccounts:app", csr["spec"]["groups"])

        denied = self.api.kubectl("certificate", "deny", name)
        self.assertIn(f"{name} denied", denied.stdout)
        self.assertEqual(self.api.kubectl("get", "csr", name, "-o",
                                          "jsonpath={.status.conditions[*].type}").stdout, "Denied")
        table = self.api.kubectl("get", "csr", name).stdout
        self.assertRegex(table, rf"{name}\s+\S+\s+{SIGNER_NAME}\s+system:serviceaccount:app:web\s+60m\s+Denied")
        # Approved and Denied are mutually exclusive: kubectl refuses, and so does the server.
        refused = self.api.kubectl("certificate", "approve", name, check=False)
        self.assertNotEqual(refused.returncode, 0)
        with self.assertRaises(ApiError) as err:
            self.api.approve(name)
        self.assertEqual(err.exception.status, 422)
        self.assertIn("Approved and Denied conditions are mutually exclusive", err.exception.body["message"])

    @needs_kubectl
    def test_service_account_may_list_but_not_approve(self) -> None:
        name = self.new_csr("sa-view")["metadata"]["name"]
        kubeconfig = self.api.kubeconfig_for("app", "viewer")
        listed = self.api.kubectl("get", "csr", name, kubeconfig=kubeconfig)
        self.assertIn(name, listed.stdout)
        refused = self.api.kubectl("certificate", "approve", name, kubeconfig=kubeconfig, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn('Error from server (Forbidden): certificatesigningrequests.certificates.k8s.io '
                      f'"{name}" is forbidden: User "system:serviceaccount:app:viewer" cannot update '
                      'resource "certificatesigningrequests/approval"', refused.stderr)
        pods = self.api.kubectl("get", "pods", "-n", "app", kubeconfig=kubeconfig, check=False)
        self.assertIn("Forbidden", pods.stderr)

    @needs_kubectl
    def test_unknown_token_is_unauthorized(self) -> None:
        kubeconfig = self.api.write_kubeconfig(self.work / "bad-token.kubeconfig", token="nope")
        result = self.api.kubectl("get", "csr", kubeconfig=kubeconfig, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("You must be logged in to the server", result.stderr)

    @needs_kubectl
    def test_get_watch_streams_new_requests(self) -> None:
        argv = [KUBECTL, "--kubeconfig", str(self.api.kubeconfig), "--cache-dir",
                str(self.api.state_dir / "kubectl-cache"), "get", "csr", "--watch-only"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "HOME": str(self.api.state_dir)})
        def stop() -> None:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        self.addCleanup(stop)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        self.api.wait_for_watch(CSR_PATH, user="admin")
        name = self.new_csr("watched")["metadata"]["name"]
        self.api.approve(name)
        wait_for("kubectl get -w to print the approval",
                 lambda: any(name in l and "Approved" in l for l in lines), timeout=20)
        self.assertTrue(any(name in l and "Pending" in l for l in lines), lines)


class WatchTest(K8sDoubleTestCase):
    """Watch semantics a client's informer loop depends on."""

    def collect(self, n: int, **kwargs) -> list[dict]:
        events = []
        for event in self.api.watch(**kwargs):
            events.append(event)
            if len(events) == n:
                break
        return events

    def test_events_after_the_resource_version(self) -> None:
        rv = self.api.api("GET", CSR_PATH)["metadata"]["resourceVersion"]
        a = self.new_csr("a")
        b = self.new_csr("b")
        self.api.approve(a["metadata"]["name"])
        events = self.collect(3, resource_version=rv, timeout_seconds=10)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", a["metadata"]["name"]), ("ADDED", b["metadata"]["name"]),
                          ("MODIFIED", a["metadata"]["name"])])
        self.assertEqual(events[0]["object"]["kind"], "CertificateSigningRequest")
        # From b's creation on, only what came after it.
        later = self.collect(1, resource_version=b["metadata"]["resourceVersion"], timeout_seconds=10)
        self.assertEqual(later[0]["type"], "MODIFIED")
        self.assertEqual(later[0]["object"]["status"]["conditions"][0]["type"], "Approved")

    def test_bursts_of_changes_all_arrive(self) -> None:
        # Writes from several connections while the watch is busy sending: none may be lost.
        rv = self.api.resource_version()
        pem = self.csr_pem()
        names = [f"{self.name_prefix}-{i}" for i in range(40)]

        def create(batch: list[str]) -> None:
            for name in batch:
                self.api.create_csr(pem, name=name)

        got: list[str] = []
        reader = threading.Thread(target=lambda: got.extend(
            e["object"]["metadata"]["name"] for e in self.collect(len(names), resource_version=rv,
                                                                 timeout_seconds=60)), daemon=True)
        reader.start()
        writers = [threading.Thread(target=create, args=(names[i::4],)) for i in range(4)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        reader.join(60)
        self.assertEqual(sorted(got), sorted(names))

    def test_field_selector_by_name(self) -> None:
        rv = self.api.resource_version()
        self.new_csr("other")
        mine = self.new_csr("mine")["metadata"]["name"]
        events = self.collect(1, resource_version=rv, timeout_seconds=10,
                              field_selector=f"metadata.name={mine}")
        self.assertEqual(events[0]["object"]["metadata"]["name"], mine)

    def test_compaction_answers_410_expired(self) -> None:
        rv = self.api.resource_version()
        self.new_csr("gone")
        self.api.compact()
        events = list(self.api.watch(resource_version=rv, timeout_seconds=10))
        self.assertEqual(len(events), 1, events)  # the ERROR, then the stream ends
        self.assertEqual(events[0]["type"], "ERROR")
        status = events[0]["object"]
        self.assertEqual((status["kind"], status["status"], status["code"], status["reason"]),
                         ("Status", "Failure", 410, "Expired"))
        self.assertIn(f"too old resource version: {rv}", status["message"])
        # Re-listing gives a resourceVersion that works.
        fresh = self.api.api("GET", CSR_PATH)["metadata"]["resourceVersion"]
        self.new_csr("after")
        self.assertEqual(self.collect(1, resource_version=fresh, timeout_seconds=10)[0]["type"], "ADDED")

    def test_timeout_seconds_ends_the_stream(self) -> None:
        start = time.monotonic()
        events = list(self.api.watch(resource_version=self.api.resource_version(), timeout_seconds=1))
        elapsed = time.monotonic() - start
        self.assertEqual(events, [])
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 10)

    def test_close_watches_and_bookmarks(self) -> None:
        got: list[dict] = []
        done = threading.Event()

        def run() -> None:
            for e in self.api.watch(resource_version=self.api.resource_version(), bookmarks=True,
                                    token=self.signer_token):
                got.append(e)
            done.set()

        threading.Thread(target=run, daemon=True).start()
        self.api.wait_for_watch(CSR_PATH, user="signer")
        self.assertGreaterEqual(self.api.bookmark_watches(), 1)
        wait_for("a BOOKMARK", lambda: any(e["type"] == "BOOKMARK" for e in got), timeout=10)
        bookmark = next(e for e in got if e["type"] == "BOOKMARK")
        self.assertEqual(bookmark["object"]["metadata"]["resourceVersion"], self.api.resource_version())
        self.assertGreaterEqual(self.api.close_watches(), 1)
        self.assertTrue(done.wait(10), "the watch did not end after close_watches()")
        wait_for("the watch to be gone", lambda: not self.api.watches(), timeout=10)

    def test_client_leaving_frees_the_watch(self) -> None:
        conn = self.api.connection()
        conn.request("GET", f"{CSR_PATH}?watch=true&resourceVersion={self.api.resource_version()}",
                     headers={"Authorization": f"Bearer {self.api.token_for('app', 'leaver')}"})
        response = conn.getresponse()  # the watch lives as long as this holds the socket
        self.assertEqual(response.status, 200)
        self.api.wait_for_watch(CSR_PATH, user="system:serviceaccount:app:leaver")
        response.close()
        conn.close()
        wait_for("the server to drop the watch of a client that left",
                 lambda: not [w for w in self.api.watches() if w["user"].endswith(":leaver")], timeout=15)


class ApiSemanticsTest(K8sDoubleTestCase):
    """Conflicts, authentication, authorization and the Status objects that say so."""

    def test_stale_resource_version_is_409_conflict(self) -> None:
        csr = self.new_csr("stale")
        name = csr["metadata"]["name"]
        self.api.approve(name)
        csr.setdefault("status", {})["certificate"] = base64.b64encode(
            self_signed_pem(self.work, name)).decode()
        csr["status"]["conditions"] = self.api.csr(name)["status"]["conditions"]
        status, body, _ = self.api.request("PUT", f"{CSR_PATH}/{name}/status", csr)
        self.assertEqual(status, 409)
        self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Conflict", 409))
        self.assertIn("the object has been modified", body["message"])
        # With the current resourceVersion the same update goes through.
        csr["metadata"]["resourceVersion"] = self.api.csr(name)["metadata"]["resourceVersion"]
        issued = self.api.api("PUT", f"{CSR_PATH}/{name}/status", csr, token=self.signer_token)
        self.assertTrue(issued["status"]["certificate"])

    def test_duplicate_name_is_409_already_exists(self) -> None:
        self.new_csr("dup")
        with self.assertRaises(ApiError) as err:
            self.new_csr("dup")
        self.assertEqual((err.exception.status, err.exception.reason), (409, "AlreadyExists"))

    def test_invalid_requests_are_422(self) -> None:
        with self.assertRaises(ApiError) as err:
            self.api.create_csr(self.csr_pem(), name=f"{self.name_prefix}-short", expiration_seconds=60)
        self.assertEqual((err.exception.status, err.exception.reason), (422, "Invalid"))
        self.assertEqual(err.exception.body["details"]["causes"][0]["field"], "spec.expirationSeconds")
        with self.assertRaises(ApiError) as err:
            self.api.create_csr(self.csr_pem(), name=f"{self.name_prefix}-signer", signer_name="nodomain")
        self.assertEqual(err.exception.status, 422)

    def test_requester_identity_comes_from_the_token(self) -> None:
        token = self.api.token_for("team", "app")
        body = {"metadata": {"generateName": "x-"},
                "spec": {"request": base64.b64encode(self.csr_pem()).decode(),
                         "signerName": SIGNER_NAME, "usages": ["client auth"],
                         "username": "system:admin", "groups": ["system:masters"]}}
        csr = self.api.api("POST", CSR_PATH, body, token=token)
        self.assertEqual(csr["spec"]["username"], "system:serviceaccount:team:app")
        self.assertNotIn("system:masters", csr["spec"]["groups"])
        self.assertTrue(csr["metadata"]["name"].startswith("x-"))

    def test_401_and_403_are_status_objects(self) -> None:
        for token in (None, "not-a-token"):
            status, body, _ = self.api.request("GET", CSR_PATH, token=token)
            self.assertEqual(status, 401)
            self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Unauthorized", 401))
        name = self.new_csr("forbidden")["metadata"]["name"]
        with self.assertRaises(ApiError) as err:
            self.api.approve(name, token=self.api.token_for("app", "web"))
        self.assertEqual((err.exception.status, err.exception.reason), (403, "Forbidden"))
        status, body, _ = self.api.request("GET", "/_double/requests", token=self.api.token_for("app", "web"))
        self.assertEqual(status, 403)

    def test_pods_by_ip_for_the_signer(self) -> None:
        self.api.add_pod("app", "web-0", "127.0.0.2", service_account="web")
        self.api.add_pod("app", "web-1", "127.0.0.3", service_account="web", phase="Pending")
        pods = self.api.api("GET", "/api/v1/namespaces/app/pods?fieldSelector=status.podIP%3D127.0.0.3",
                            token=self.signer_token)
        self.assertEqual(pods["kind"], "PodList")
        self.assertEqual([(p["metadata"]["name"], p["spec"]["serviceAccountName"], p["status"]["phase"],
                           p["status"]["podIPs"]) for p in pods["items"]],
                         [("web-1", "web", "Pending", [{"ip": "127.0.0.3"}])])
        self.api.delete_pod("app", "web-1")
        pods = self.api.api("GET", "/api/v1/namespaces/app/pods?fieldSelector=status.podIP%3D127.0.0.3",
                            token=self.signer_token)
        self.assertEqual(pods["items"], [])

    def test_token_rotation(self) -> None:
        old = self.api.token_for("rot", "sa")
        self.assertEqual(self.api.request("GET", CSR_PATH, token=old)[0], 200)
        new = self.api.rotate_token("rot", "sa")
        self.assertNotEqual(new, old)
        self.assertEqual(self.api.request("GET", CSR_PATH, token=old)[0], 401)
        self.assertEqual(self.api.request("GET", CSR_PATH, token=new)[0], 200)
        users = {r["user"] for r in self.api.requests(path_prefix=CSR_PATH)[-2:]}
        self.assertEqual(users, {"", "system:serviceaccount:rot:sa"})


    def test_service_account_dir_and_token_refresh(self) -> None:
        sa_dir, env = self.api.service_account_dir("pod", "runner")
        self.assertEqual((sa_dir / "namespace").read_text(), "pod")
        self.assertEqual(env["KUBERNETES_SERVICE_PORT"], str(self.api.port))
        ctx = ssl.create_default_context(cafile=str(sa_dir / "ca.crt"))
        conn = http.client.HTTPSConnection(env["KUBERNETES_SERVICE_HOST"], int(env["KUBERNETES_SERVICE_PORT"]),
                                           context=ctx, timeout=10)
        old = (sa_dir / "token").read_text()
        conn.request("GET", CSR_PATH, headers={"Authorization": f"Bearer {old}"})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        new = self.api.refresh_token_file(sa_dir / "token", "pod", "runner")
        self.assertEqual((sa_dir / "token").read_text(), new)
        self.assertEqual(self.api.request("GET", CSR_PATH, token=old)[0], 401)
        self.assertEqual(self.api.request("GET", CSR_PATH, token=new)[0], 200)


class FaultTest(K8sDoubleTestCase):
    """Injected failures, as the distls client's retry logic will meet them."""

    def tearDown(self) -> None:
        self.api.clear_faults()

    def test_status_faults_then_recovery(self) -> None:
        seq = self.api.last_request_seq()
        self.api.fail_next("POST", "/apis/certificates.k8s.io", count=2, status=503)
        self.api.fail_next("POST", "/apis/certificates.k8s.io", status=429, retry_after=2)
        for expected in (503, 503):
            with self.assertRaises(ApiError) as err:
                self.new_csr(f"retry-{expected}-{time.monotonic_ns()}")
            self.assertEqual((err.exception.status, err.exception.reason), (503, "ServiceUnavailable"))
        status, body, headers = self.api.request("POST", CSR_PATH, {"spec": {}})
        self.assertEqual((status, body["reason"], headers.get("Retry-After")), (429, "TooManyRequests", "2"))
        self.new_csr("retry-ok")
        self.assertEqual([(r["status"], r.get("fault")) for r in self.api.requests(seq, method="POST")],
                         [(503, "status"), (503, "status"), (429, "status"), (201, None)])

    def test_close_hang_and_delay(self) -> None:
        self.api.fail_next("GET", CSR_PATH, action="close")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            self.api.request("GET", CSR_PATH)

        self.api.fail_next("GET", CSR_PATH, action="hang")
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.api.request("GET", CSR_PATH, timeout=1.0)

        self.api.fail_next("GET", CSR_PATH, action="delay", delay_ms=700)
        start = time.monotonic()
        self.assertEqual(self.api.request("GET", CSR_PATH)[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.65)
        self.assertEqual(self.api.faults(), [])

    def test_watch_only_faults(self) -> None:
        self.api.fail_next("GET", CSR_PATH, watch=True, status=500)
        self.assertEqual(self.api.request("GET", CSR_PATH)[0], 200)  # a list is not a watch
        with self.assertRaises(ApiError) as err:
            next(self.api.watch(timeout_seconds=1))
        self.assertEqual(err.exception.status, 500)


if __name__ == "__main__":
    unittest.main()
