"""The Kubernetes API test double against real clients: the real kubectl (discovery, get,
apply, certificate approve/deny, get -w, jsonpath, describe with events, auth can-i and
whoami, RBAC objects, StatefulSets, RBAC and authentication errors), the official Python
client (Debian's python3-kubernetes), and raw HTTP for what the distls client and signer
rely on: watch semantics (events after a resourceVersion, 410 Expired after compaction,
timeoutSeconds, bookmarks, closing), 409 on a stale PUT, 401/403 Status objects, injected
faults, token rotation, pod-bound tokens and the CSR's spec.extra, RBAC from deploy/,
signing admission, pods by IP, decoding errors as Go reports them.

kubectl tests are skipped, saying so, when kubectl is not on PATH; the official client's
when python3-kubernetes is not installed.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

from harness import wait_for
from k8s_double import (CSR_PATH, EXAMPLE_NAMESPACE, EXAMPLE_SERVICE_ACCOUNT, SIGNER_NAME,
                        SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT, ApiError, K8sDouble, free_work_dir)

KUBECTL = shutil.which("kubectl")
needs_kubectl = unittest.skipIf(KUBECTL is None, "kubectl is not on PATH: the kubectl checks of "
                                "the Kubernetes API double are skipped")


def import_official_client():
    """Debian's python3-kubernetes, for Debian's python3. CMake may run the tests with
    another interpreter of the same version (pyenv's): that one can import the package
    from Debian's dist-packages as well."""
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        debian = "/usr/lib/python3/dist-packages"
        if os.path.isdir(os.path.join(debian, "kubernetes")) and debian not in sys.path:
            sys.path.append(debian)
    try:
        import kubernetes
        return kubernetes
    except ImportError:
        return None


kubernetes = import_official_client()
needs_official_client = unittest.skipIf(
    kubernetes is None, "python3-kubernetes (the official client) is not installed: "
    "scripts/bootstrap.sh installs it")


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


class BoundTokenTest(K8sDoubleTestCase):
    """Projected service-account tokens bound to a pod, and what the API makes of them."""

    EXTRA_KEYS = {"authentication.kubernetes.io/pod-name", "authentication.kubernetes.io/pod-uid",
                  "authentication.kubernetes.io/node-name", "authentication.kubernetes.io/node-uid",
                  "authentication.kubernetes.io/credential-id"}

    def test_csr_spec_extra_names_the_pod(self) -> None:
        pod = self.api.add_pod("bound", "web-0", "127.0.0.20", service_account="web", node="node-1")
        token = self.api.token_for("bound", "web", pod="web-0")
        csr = self.api.create_csr(self.csr_pem(), name=f"{self.name_prefix}-bound", token=token)
        extra = csr["spec"]["extra"]
        self.assertEqual(set(extra), self.EXTRA_KEYS)
        self.assertEqual(extra["authentication.kubernetes.io/pod-name"], ["web-0"])
        self.assertEqual(extra["authentication.kubernetes.io/pod-uid"], [pod["metadata"]["uid"]])
        self.assertEqual(extra["authentication.kubernetes.io/node-name"], ["node-1"])
        self.assertRegex(extra["authentication.kubernetes.io/credential-id"][0], r"^JTI=[0-9a-f-]{36}$")
        # A legacy token of the same service account: no extra at all.
        legacy = self.api.create_csr(self.csr_pem(), name=f"{self.name_prefix}-legacy",
                                     token=self.api.token_for("bound", "web"))
        self.assertNotIn("extra", legacy["spec"])
        self.assertEqual(legacy["spec"]["username"], csr["spec"]["username"])
        # An unscheduled pod's token has no node.
        self.api.add_pod("bound", "web-1", None, service_account="web")
        unscheduled = self.api.whoami(self.api.token_for("bound", "web", pod="web-1"))
        self.assertNotIn("authentication.kubernetes.io/node-name", unscheduled["extra"])

    @needs_kubectl
    def test_kubectl_auth_whoami_shows_the_binding(self) -> None:
        self.api.add_pod("whoami", "app-0", "127.0.0.21", service_account="app", node="node-2")
        kubeconfig = self.api.kubeconfig_for("whoami", "app", pod="app-0")
        out = json.loads(self.api.kubectl("auth", "whoami", "-o", "json", kubeconfig=kubeconfig).stdout)
        info = out["status"]["userInfo"]
        self.assertEqual(info["username"], "system:serviceaccount:whoami:app")
        self.assertEqual(info["extra"]["authentication.kubernetes.io/pod-name"], ["app-0"])
        self.assertEqual(info["extra"]["authentication.kubernetes.io/node-name"], ["node-2"])

    def test_token_dies_with_its_pod(self) -> None:
        self.api.add_pod("gone", "web-0", "127.0.0.22", service_account="web")
        sa_dir, _ = self.api.service_account_dir("gone", "web", pod="web-0")
        token = (sa_dir / "token").read_text()
        self.assertEqual(self.api.request("GET", CSR_PATH, token=token)[0], 200)
        # Replaced by a pod of the same name: another uid, the old token is invalid.
        self.api.delete_pod("gone", "web-0")
        self.assertEqual(self.api.request("GET", CSR_PATH, token=token)[0], 401)
        self.api.add_pod("gone", "web-0", "127.0.0.22", service_account="web")
        self.assertEqual(self.api.request("GET", CSR_PATH, token=token)[0], 401)
        # The kubelet writes a token for the new pod.
        fresh = self.api.refresh_token_file(sa_dir / "token", "gone", "web", pod="web-0")
        self.assertEqual(self.api.request("GET", CSR_PATH, token=fresh)[0], 200)
        # A pod of another service account cannot be named.
        self.api.add_pod("gone", "db-0", "127.0.0.23", service_account="db")
        with self.assertRaises(ApiError) as err:
            self.api.token_for("gone", "web", pod="db-0")
        self.assertEqual(err.exception.status, 400)


class RbacTest(K8sDoubleTestCase):
    """RBAC objects through the API, evaluated as the RBAC authorizer does."""

    MANIFEST = """apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pod-reader
  namespace: rbac-a
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader-reads-pods
  namespace: rbac-a
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: pod-reader
subjects:
  - kind: ServiceAccount
    name: reader
    namespace: rbac-a
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: rbac-test-sts-reader
rules:
  - apiGroups: ["apps"]
    resources: ["statefulsets"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: rbac-test-sts-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: rbac-test-sts-reader
subjects:
  - kind: ServiceAccount
    name: reader
    namespace: rbac-a
"""

    @needs_kubectl
    def test_kubectl_apply_rbac_then_can_i_and_use(self) -> None:
        manifest = self.work / "rbac.yaml"
        manifest.write_text(self.MANIFEST)
        applied = self.api.kubectl("apply", "-f", str(manifest)).stdout
        for what in ("role.rbac.authorization.k8s.io/pod-reader created",
                     "rolebinding.rbac.authorization.k8s.io/reader-reads-pods created",
                     "clusterrole.rbac.authorization.k8s.io/rbac-test-sts-reader created",
                     "clusterrolebinding.rbac.authorization.k8s.io/rbac-test-sts-reader created"):
            self.assertIn(what, applied)
        self.assertIn("unchanged", self.api.kubectl("apply", "-f", str(manifest)).stdout)
        self.assertIn("pod-reader", self.api.kubectl("get", "roles", "-n", "rbac-a").stdout)
        self.assertIn("cluster-admin", self.api.kubectl("get", "clusterroles").stdout)

        reader = self.api.kubeconfig_for("rbac-a", "reader")
        def can_i(*args: str) -> str:
            return self.api.kubectl("auth", "can-i", *args, kubeconfig=reader, check=False).stdout.strip()
        self.assertEqual(can_i("list", "pods", "-n", "rbac-a"), "yes")
        self.assertEqual(can_i("list", "pods", "-n", "rbac-b"), "no")
        self.assertEqual(can_i("delete", "pods", "-n", "rbac-a"), "no")
        self.assertEqual(can_i("list", "statefulsets.apps", "-n", "rbac-b"), "yes")
        self.assertEqual(can_i("update", "certificatesigningrequests/approval"), "no")
        self.api.add_pod("rbac-a", "p", "127.0.0.30")
        self.assertIn("p", self.api.kubectl("get", "pods", "-n", "rbac-a", kubeconfig=reader).stdout)
        refused = self.api.kubectl("get", "pods", "-n", "rbac-b", kubeconfig=reader, check=False)
        self.assertIn('User "system:serviceaccount:rbac-a:reader" cannot list resource "pods" in API group "" '
                      'in the namespace "rbac-b"', refused.stderr)

        # A change to the objects is a change to what is allowed, at once.
        self.api.kubectl("delete", "rolebinding", "reader-reads-pods", "-n", "rbac-a")
        self.assertEqual(can_i("list", "pods", "-n", "rbac-a"), "no")

    def test_api_groups_count(self) -> None:
        user = "system:serviceaccount:groups:any"
        token = self.api.token_for("groups", "any")  # a requester through REQUESTER_RULES
        self.api.set_permissions(user="group-tester", rules=[
            {"apiGroups": [""], "resources": ["certificatesigningrequests"], "verbs": ["create", "list"]}])
        tester = self.api.add_token("group-tester")
        status, body, _ = self.api.request("GET", CSR_PATH, token=tester)
        self.assertEqual(status, 403, body)
        self.assertIn('cannot list resource "certificatesigningrequests" in API group "certificates.k8s.io"',
                      body["message"])
        self.api.set_permissions(user="group-tester", rules=[
            {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
             "verbs": ["list"]}])
        self.assertEqual(self.api.request("GET", CSR_PATH, token=tester)[0], 200)
        self.assertTrue(self.api.can_i(token, "create", "certificatesigningrequests", group="certificates.k8s.io"))
        self.assertFalse(self.api.can_i(token, "create", "certificatesigningrequests"))
        self.assertEqual(self.api.whoami(token)["username"], user)

    def test_signing_admission_checks_conditions(self) -> None:
        # May update /status, may not "sign": neither a certificate nor a Failed condition.
        self.api.set_permissions(user="half-signer", rules=[
            {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
             "verbs": ["get"]},
            {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/status"],
             "verbs": ["update"]}])
        token = self.api.add_token("half-signer")
        name = self.new_csr("half")["metadata"]["name"]
        self.api.approve(name)
        csr = self.api.csr(name)
        csr["status"]["conditions"].append({"type": "Failed", "status": "True", "reason": "SignerFailure",
                                            "message": "cannot sign"})
        status, body, _ = self.api.request("PUT", f"{CSR_PATH}/{name}/status", csr, token=token)
        self.assertEqual(status, 403, body)
        self.assertIn(f'user not permitted to sign requests with signerName "{SIGNER_NAME}"', body["message"])
        with self.assertRaises(ApiError) as err:
            self.api.issue(name, self_signed_pem(self.work, name), token=token)
        self.assertEqual(err.exception.status, 403)
        # The signer of the class may.
        self.assertEqual(self.api.request("PUT", f"{CSR_PATH}/{name}/status", csr,
                                          token=self.signer_token)[0], 200)


class DeployRbacTest(unittest.TestCase):
    """deploy/'s RBAC, rendered by kustomize, loaded into a double with no other grants and
    enforced: what the manifests give the requester and the signer is what they get."""

    @classmethod
    def setUpClass(cls) -> None:
        if KUBECTL is None:
            raise unittest.SkipTest("kubectl is not on PATH: deploy/ cannot be rendered")
        cls.work = free_work_dir("k8s-double-deploy")
        cls.api = K8sDouble(cls.work)
        cls.addClassCleanup(lambda: (cls.api.stop(), shutil.rmtree(cls.work, ignore_errors=True)))
        cls.loaded = cls.api.apply_rbac_from_deploy()

    def test_loaded_objects_are_the_rendered_ones(self) -> None:
        kinds = {o["kind"] for o in self.loaded}
        self.assertLessEqual({"ClusterRole", "ClusterRoleBinding"}, kinds)
        for binding in (o for o in self.loaded if o["kind"].endswith("Binding")):
            for subject in binding.get("subjects", []):
                if subject["kind"] == "ServiceAccount" and binding["kind"] == "ClusterRoleBinding":
                    self.assertTrue(subject.get("namespace"), f"{binding['metadata']['name']}: kustomize "
                                    "sets the subject's namespace")
        # Loading again replaces the objects (same uids), it does not fail on them.
        again = self.api.apply_rbac_from_deploy()
        self.assertEqual([o["metadata"]["uid"] for o in again], [o["metadata"]["uid"] for o in self.loaded])

    def test_requester_and_signer_get_what_deploy_grants(self) -> None:
        requester = self.api.token_for(EXAMPLE_NAMESPACE, EXAMPLE_SERVICE_ACCOUNT)
        stranger = self.api.token_for(EXAMPLE_NAMESPACE, "not-bound")
        signer = self.api.token_for(SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT)
        pem = make_csr_pem(self.work, "deploy")
        csr = self.api.create_csr(pem, name="deploy-requester", token=requester)
        with self.assertRaises(ApiError) as err:
            self.api.create_csr(pem, name="deploy-stranger", token=stranger)
        self.assertEqual(err.exception.status, 403)
        with self.assertRaises(ApiError) as err:
            self.api.approve(csr["metadata"]["name"], token=requester)
        self.assertEqual(err.exception.status, 403)
        approved = self.api.approve(csr["metadata"]["name"], token=signer)
        self.assertEqual(approved["status"]["conditions"][0]["type"], "Approved")
        issued = self.api.issue(csr["metadata"]["name"], self_signed_pem(self.work, "deploy"), token=signer)
        self.assertTrue(issued["status"]["certificate"])


class PodsTest(K8sDoubleTestCase):
    """Pods and StatefulSets as real clusters produce them."""

    def pods_by_ip(self, namespace: str, ip: str) -> list[dict]:
        return self.api.api("GET", f"/api/v1/namespaces/{namespace}/pods?fieldSelector=status.podIP%3D{ip}",
                            token=self.signer_token)["items"]

    def test_finished_pods_keep_their_ip(self) -> None:
        self.api.add_pod("done", "job-0", "127.0.0.40", service_account="web")
        self.api.finish_pod("done", "job-0", "Succeeded")
        self.api.add_pod("done", "job-1", "127.0.0.41", service_account="web")
        self.api.finish_pod("done", "job-1", "Failed")
        for name, ip, phase in (("job-0", "127.0.0.40", "Succeeded"), ("job-1", "127.0.0.41", "Failed")):
            [pod] = self.pods_by_ip("done", ip)
            self.assertEqual((pod["metadata"]["name"], pod["status"]["phase"], pod["status"]["podIPs"]),
                             (name, phase, [{"ip": ip}]))

    def test_ip_appears_later(self) -> None:
        pending = self.api.add_pod("late", "web-0", None, service_account="web")
        self.assertEqual(pending["status"]["phase"], "Pending")
        self.assertNotIn("podIP", pending["status"])
        events: list[dict] = []
        def watch() -> None:
            for e in self.api.watch("/api/v1/namespaces/late/pods",
                                    resource_version=pending["metadata"]["resourceVersion"],
                                    timeout_seconds=20, token=self.signer_token):
                events.append(e)
                return
        reader = threading.Thread(target=watch, daemon=True)
        reader.start()
        self.api.wait_for_watch("/api/v1/namespaces/late/pods", user="signer")
        self.api.set_pod_ip("late", "web-0", "127.0.0.42")
        reader.join(20)
        self.assertEqual([(e["type"], e["object"]["status"]["podIP"], e["object"]["status"]["phase"])
                          for e in events], [("MODIFIED", "127.0.0.42", "Running")])
        self.assertEqual([p["metadata"]["name"] for p in self.pods_by_ip("late", "127.0.0.42")], ["web-0"])

    @needs_kubectl
    def test_statefulset_pods_as_the_controller_makes_them(self) -> None:
        sts = self.api.add_statefulset("sts", "web", service_name="web-headless", service_account="web",
                                       ips=["127.0.0.50", "127.0.0.51", None], node_name="node-3")
        self.assertEqual(sts["spec"]["template"]["spec"]["serviceAccountName"], "web")
        table = self.api.kubectl("get", "statefulsets", "-n", "sts").stdout
        self.assertRegex(table, r"NAME\s+READY\s+AGE\n\s*web\s+2/3\s")
        got = json.loads(self.api.kubectl("get", "sts", "web", "-n", "sts", "-o", "json").stdout)
        self.assertEqual((got["spec"]["serviceName"], got["spec"]["replicas"]), ("web-headless", 3))
        pods = json.loads(self.api.kubectl("get", "pods", "-n", "sts", "-o", "json", "-l",
                                           "statefulset.kubernetes.io/pod-name=web-1").stdout)["items"]
        self.assertEqual(len(pods), 1)
        pod = pods[0]
        self.assertEqual(pod["metadata"]["ownerReferences"], [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": sts["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": True}])
        self.assertEqual((pod["spec"]["hostname"], pod["spec"]["subdomain"], pod["spec"]["nodeName"]),
                         ("web-1", "web-headless", "node-3"))
        self.assertEqual(pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"], "1")
        self.assertTrue(pod["metadata"]["labels"]["controller-revision-hash"].startswith("web-"))
        self.assertEqual(self.api.pod("sts", "web-2")["status"]["phase"], "Pending")


class EventsTest(K8sDoubleTestCase):
    """Events about a CSR, as a signer records them, and where `kubectl describe` finds them."""

    @needs_kubectl
    def test_kubectl_describe_csr_shows_the_events(self) -> None:
        csr = self.new_csr("described")
        name = csr["metadata"]["name"]
        self.api.set_permissions(user="recorder", rules=[
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"],
             "namespaces": ["default"]}])
        recorder = self.api.add_token("recorder")
        # What client-go's recorder writes for a cluster-scoped object: namespace default.
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"generateName": f"{name}.", "namespace": "default"},
                 "involvedObject": {"kind": "CertificateSigningRequest", "name": name,
                                    "uid": csr["metadata"]["uid"], "apiVersion": "certificates.k8s.io/v1",
                                    "resourceVersion": csr["metadata"]["resourceVersion"]},
                 "reason": "DistlsPodVerified", "message": "pod app-2 at 127.0.0.2 runs as app",
                 "type": "Normal", "source": {"component": "distls-signer"},
                 "firstTimestamp": "2024-05-01T10:00:00Z", "lastTimestamp": "2024-05-01T10:00:00Z",
                 "count": 1, "reportingComponent": "distls-signer", "reportingInstance": "signer-0"}
        self.api.api("POST", "/api/v1/namespaces/default/events", event, token=recorder)
        # Recorded elsewhere, it is refused, as the apiserver refuses it.
        with self.assertRaises(ApiError) as err:
            self.api.api("POST", "/api/v1/namespaces/app/events", {**event, "metadata": {"generateName": "x."}},
                         token="admin")
        self.assertEqual(err.exception.status, 422)
        described = self.api.kubectl("describe", "csr", name).stdout
        self.assertIn(f"Name:", described)
        self.assertIn("Requesting User:", described)
        self.assertRegex(described, r"Events:\s*\n\s*Type\s+Reason\s+Age\s+From\s+Message\n"
                                    r"\s*----.*\n\s*Normal\s+DistlsPodVerified\s+\S+\s+distls-signer\s+"
                                    r"pod app-2 at 127.0.0.2 runs as app")
        self.assertEqual([e["reason"] for e in self.api.csr_events(name)], ["DistlsPodVerified"])
        self.assertIn("DistlsPodVerified", self.api.kubectl("get", "events", "-n", "default").stdout)


class DecodingTest(K8sDoubleTestCase):
    """Bodies the apiserver's decoder refuses, with its words."""

    def test_bad_times_and_int32s_are_400(self) -> None:
        name = self.new_csr("decode")["metadata"]["name"]
        csr = self.api.csr(name)
        csr.setdefault("status", {})["conditions"] = [
            {"type": "Approved", "status": "True", "reason": "R", "lastUpdateTime": "now"}]
        status, body, _ = self.api.request("PUT", f"{CSR_PATH}/{name}/approval", csr)
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        self.assertIn('parsing time "now" as "2006-01-02T15:04:05Z07:00": cannot parse "now" as "2006"',
                      body["message"])
        lease = {"metadata": {"name": "decode"},
                 "spec": {"holderIdentity": "a", "renewTime": "2024-05-01T10:00:00.123Z"}}
        status, body, _ = self.api.request("POST", "/apis/coordination.k8s.io/v1/namespaces/d/leases", lease)
        self.assertEqual(status, 400)
        self.assertIn('cannot parse ".123Z" as ".000000"', body["message"])
        lease["spec"] = {"holderIdentity": "a", "leaseTransitions": -2 ** 31 - 1}
        status, body, _ = self.api.request("POST", "/apis/coordination.k8s.io/v1/namespaces/d/leases", lease)
        self.assertEqual(status, 400)
        self.assertIn("json: cannot unmarshal number -2147483649 into Go struct field "
                      "LeaseSpec.spec.leaseTransitions of type int32", body["message"])
        with self.assertRaises(ApiError) as err:
            self.api.create_csr(self.csr_pem(), name=f"{self.name_prefix}-big", expiration_seconds=2 ** 31)
        self.assertEqual(err.exception.status, 400)
        del csr["metadata"]["name"]
        csr["status"] = {}
        status, body, _ = self.api.request("PUT", f"{CSR_PATH}/{name}", csr)
        self.assertEqual((status, body["message"]),
                         (400, f"the name of the object () does not match the name on the URL ({name})"))


class OfficialClientTest(K8sDoubleTestCase):
    """The official Python client (kubernetes.client), as generated from the OpenAPI of a
    real apiserver: its models must deserialize what the double answers."""

    @needs_official_client
    def test_csr_lifecycle_pods_and_leases(self) -> None:
        from kubernetes import client, config, watch
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.api.kubeconfig), client_configuration=cfg)
        api_client = client.ApiClient(cfg)
        certs = client.CertificatesV1Api(api_client)
        core = client.CoreV1Api(api_client)
        coordination = client.CoordinationV1Api(api_client)

        name = f"{self.name_prefix}-official"
        body = client.V1CertificateSigningRequest(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1CertificateSigningRequestSpec(
                request=base64.b64encode(self.csr_pem()).decode(), signer_name=SIGNER_NAME,
                usages=["digital signature", "server auth", "client auth"], expiration_seconds=3600))
        created = certs.create_certificate_signing_request(body)
        self.assertEqual(created.spec.username, "admin")
        listed = certs.list_certificate_signing_request(field_selector=f"metadata.name={name}")
        self.assertEqual([c.metadata.name for c in listed.items], [name])

        seen: list[tuple[str, str]] = []
        def stream() -> None:
            w = watch.Watch()
            for event in w.stream(certs.list_certificate_signing_request, field_selector=f"metadata.name={name}",
                                  resource_version=listed.metadata.resource_version, timeout_seconds=20):
                conditions = event["object"].status.conditions or []
                seen.append((event["type"], ",".join(c.type for c in conditions)))
                w.stop()
        reader = threading.Thread(target=stream, daemon=True)
        reader.start()
        self.api.wait_for_watch(CSR_PATH, user="admin")

        current = certs.read_certificate_signing_request(name)
        current.status.conditions = [client.V1CertificateSigningRequestCondition(
            type="Approved", status="True", reason="OfficialClient", message="approved by kubernetes.client")]
        approved = certs.replace_certificate_signing_request_approval(name, current)
        self.assertEqual(approved.status.conditions[0].reason, "OfficialClient")
        self.assertIsNotNone(approved.status.conditions[0].last_update_time)
        reader.join(20)
        self.assertEqual(seen, [("MODIFIED", "Approved")])

        self.api.add_pod("official", "web-0", "127.0.0.60", service_account="web", node="node-9")
        pods = core.list_namespaced_pod("official", field_selector="status.podIP=127.0.0.60")
        self.assertEqual([(p.metadata.name, p.spec.service_account_name, p.status.pod_ip, p.spec.node_name)
                          for p in pods.items], [("web-0", "web", "127.0.0.60", "node-9")])

        lease = client.V1Lease(metadata=client.V1ObjectMeta(name="official"),
                               spec=client.V1LeaseSpec(holder_identity="replica-a", lease_duration_seconds=15))
        coordination.create_namespaced_lease("official", lease)
        got = coordination.read_namespaced_lease("official", "official")
        self.assertEqual((got.spec.holder_identity, got.spec.lease_duration_seconds), ("replica-a", 15))


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
