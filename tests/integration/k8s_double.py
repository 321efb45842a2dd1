"""Drive k8s_api_double, the Kubernetes API test double, from integration tests.

    api = K8sDouble(cluster)              # or K8sDouble(work_dir); starts it, waits until ready
    api.apply_rbac_from_deploy()          # deploy/'s Roles and bindings, as a cluster would have them
    api.add_pod("app", "web-0", "127.0.0.2", service_account="web")
    token = api.token_for("app", "web", pod="web-0")   # a token bound to that pod
    api.fail_next("POST", "/apis/certificates.k8s.io", status=503, count=2)
    ...
    [c["metadata"]["name"] for c in api.csrs()]
    api.requests(path_prefix="/apis/certificates.k8s.io")   # what clients asked, and the answers
    api.stop()                            # or let the Cluster stop it

The double's contract (endpoints, control API, what is and is not faithful) is
tests/k8s/README.md. Everything here is a thin layer over its HTTP API: the admin
token for the control API, and any token for the Kubernetes API.

The binary comes from DISTLS_K8S_DOUBLE (CTest sets it), else an explicit path, else
<build>/tests/k8s_api_double.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator

from harness import DEADLINE, REPO_ROOT, LogFile, Process, wait_for

SIGNER_NAME = "distls.io/erlang-dist"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = {"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings",
              "ClusterRoleBinding": "clusterrolebindings"}
DEPLOY = REPO_ROOT / "deploy"
# Where deploy/base runs the signer and deploy/example the sidecars (their kustomizations'
# namespaces and service accounts).
SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT = "distls-system", "distls-signer"
EXAMPLE_NAMESPACE, EXAMPLE_SERVICE_ACCOUNT = "distls-example", "app"


class ApiError(RuntimeError):
    """A non-2xx answer; `status` is the HTTP code, `body` the decoded Status (or text)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        self.reason = body.get("reason") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path} answered {status} {self.reason or ''}: {message}")


def double_binary(build: Any = None) -> Path:
    """Where k8s_api_double is: an explicit path, DISTLS_K8S_DOUBLE, or under the build."""
    if isinstance(build, (str, os.PathLike)) and Path(build).name == "k8s_api_double":
        return Path(build).resolve()
    if os.environ.get("DISTLS_K8S_DOUBLE"):
        return Path(os.environ["DISTLS_K8S_DOUBLE"]).resolve()
    if build is not None and hasattr(build, "distls"):  # a harness.Build
        return (Path(build.distls).parent / "tests" / "k8s_api_double").resolve()
    base = Path(build) if build is not None else REPO_ROOT / "build"
    return (base / "tests" / "k8s_api_double").resolve()


class K8sDouble:
    """A running k8s_api_double.

    cluster_or_workdir: a harness.Cluster (the double's files go in its work directory
    and the cluster stops it on close()) or a directory (then call stop(), or use the
    object as a context manager). build: a harness.Build, a build directory or the
    binary itself; DISTLS_K8S_DOUBLE wins when set.
    """

    def __init__(self, cluster_or_workdir: Any, build: Any = None, *, label: str = "k8s-api",
                 tokens: dict[str, str] | None = None, extra_args: list[str] | None = None) -> None:
        """tokens: {token: "USER[:GROUP1,GROUP2]"} known from the start (--token)."""
        self.binary = double_binary(build)
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"k8s_api_double not found at {self.binary} (build the "
                               "k8s_api_double target, or set DISTLS_K8S_DOUBLE)")
        cluster = None if isinstance(cluster_or_workdir, (str, os.PathLike)) else cluster_or_workdir
        self.work = Path(cluster.work if cluster is not None else cluster_or_workdir)
        self.state_dir = self.work / label
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True)
        self.log = LogFile(self.work / f"{label}.log")
        argv = [str(self.binary), "--state-dir", str(self.state_dir), "--listen", "127.0.0.1:0"]
        for token, who in (tokens or {}).items():
            argv += ["--token", f"{token}={who}"]
        argv += list(extra_args or [])
        if cluster is not None:
            self.process = cluster.spawn(label, argv, self.log)
        else:
            self.process = Process(label, argv, self.log)
        self._tokens: dict[tuple[str, str, str | None], str] = {}
        port_file = self.state_dir / "port"
        wait_for(f"{label} to write {port_file}", port_file.is_file,
                 check=self.process.check_running)
        self.port = int(port_file.read_text().strip())
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca_file = self.state_dir / "ca.crt"
        self.kubeconfig = self.state_dir / "kubeconfig"
        self.admin_token = (self.state_dir / "admin-token").read_text().strip()
        self._ssl = ssl.create_default_context(cafile=str(self.ca_file))

    # -- lifecycle -----------------------------------------------------------

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> "K8sDouble":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- raw HTTP ------------------------------------------------------------

    def connection(self, timeout: float = 30.0) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self._ssl, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = "admin",
                headers: dict[str, str] | None = None,
                timeout: float = 30.0) -> tuple[int, Any, dict[str, str]]:
        """(status, decoded JSON or text, headers). token: "admin" (the default), another
        token, or None for no Authorization header."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {self.admin_token if token == 'admin' else token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read().decode("utf-8", "replace")
            ctype = resp.getheader("Content-Type", "")
            decoded: Any = json.loads(raw) if ctype.startswith("application/json") and raw else raw
            return resp.status, decoded, {k: v for k, v in resp.getheaders()}
        finally:
            conn.close()

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = "admin",
            **kwargs: Any) -> Any:
        """The decoded answer, or ApiError for anything but 2xx."""
        status, decoded, _ = self.request(method, path, body, token=token, **kwargs)
        if not 200 <= status < 300:
            raise ApiError(method, path, status, decoded)
        return decoded

    def control(self, method: str, path: str, body: Any = None) -> Any:
        return self.api(method, "/_double/" + path.lstrip("/"), body)

    # -- identities ----------------------------------------------------------

    def token_for(self, namespace: str, service_account: str, *, pod: str | None = None) -> str:
        """A token for system:serviceaccount:NS:SA (the same one on every call).

        Without pod: a legacy (secret-based) token, whose user has no extra. With pod: a
        projected token bound to that pod, as the kubelet mounts one; the pod must exist in
        NS and run as SA. Its user carries extra authentication.kubernetes.io/pod-name,
        pod-uid, node-name/node-uid (when the pod has spec.nodeName) and credential-id, which
        the API copies into a CSR's spec.extra; it stops working (401) once the pod is deleted
        or replaced by another pod of the same name."""
        key = (namespace, service_account, pod)
        if key not in self._tokens:
            self._tokens[key] = self.add_token(f"system:serviceaccount:{namespace}:{service_account}",
                                               bound_pod=pod)
        return self._tokens[key]

    def add_token(self, user: str, groups: list[str] | None = None, *, token: str | None = None,
                  expires_in: int | None = None, bound_pod: str | None = None) -> str:
        body: dict[str, Any] = {"user": user, "groups": list(groups or [])}
        if token:
            body["token"] = token
        if expires_in:
            body["expiresInSeconds"] = expires_in
        if bound_pod:
            body["boundPod"] = bound_pod
        return self.control("POST", "tokens", body)["token"]

    def rotate_token(self, namespace: str, service_account: str, *, revoke_old: bool = True,
                     pod: str | None = None) -> str:
        """A new token for the service account (bound to `pod` when given); the old ones (of
        that pod, or the legacy ones) stop working unless revoke_old is False. token_for()
        returns the new one afterwards."""
        body: dict[str, Any] = {"user": f"system:serviceaccount:{namespace}:{service_account}",
                                "revokeOld": revoke_old}
        if pod:
            body["boundPod"] = pod
        answer = self.control("POST", "tokens/rotate", body)
        self._tokens[(namespace, service_account, pod)] = answer["token"]
        return answer["token"]

    def revoke_token(self, token: str) -> bool:
        return self.control("DELETE", "tokens/" + urllib.parse.quote(token, safe=""))["revoked"]

    def write_kubeconfig(self, path: Path, *, token: str | None = None,
                         token_file: Path | None = None, user: str = "user") -> Path:
        """A kubeconfig for this server with a token inline, or a tokenFile that client-go
        (and distls) re-read, so rewriting the file rotates the credential."""
        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        cred = f"tokenFile: {token_file}" if token_file is not None else f"token: {token}"
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: k8s-api-double\n  cluster:\n    server: {self.url}\n"
            f"    certificate-authority-data: {ca}\n"
            f"users:\n- name: {user}\n  user:\n    {cred}\n"
            f"contexts:\n- name: k8s-api-double\n  context:\n    cluster: k8s-api-double\n"
            f"    user: {user}\n    namespace: default\n"
            "current-context: k8s-api-double\n")
        path.chmod(0o600)
        return path

    def kubeconfig_for(self, namespace: str, service_account: str, path: Path | None = None, *,
                       pod: str | None = None) -> Path:
        suffix = f"-{pod}" if pod else ""
        path = path or self.state_dir / f"kubeconfig-{namespace}-{service_account}{suffix}"
        return self.write_kubeconfig(path, token=self.token_for(namespace, service_account, pod=pod),
                                     user=f"{namespace}-{service_account}")

    def service_account_dir(self, namespace: str, service_account: str,
                            path: Path | None = None, *, pod: str | None = None
                            ) -> tuple[Path, dict[str, str]]:
        """What a pod running as NS/SA sees: a directory like
        /var/run/secrets/kubernetes.io/serviceaccount (token, ca.crt, namespace) and the
        environment (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT). With pod, the token
        is bound to that pod, as the kubelet's projected token is."""
        suffix = f"-{pod}" if pod else ""
        path = path or self.state_dir / f"serviceaccount-{namespace}-{service_account}{suffix}"
        path.mkdir(parents=True, exist_ok=True)
        _write_atomically(path / "ca.crt", self.ca_file.read_bytes())
        _write_atomically(path / "namespace", namespace.encode())
        _write_atomically(path / "token", self.token_for(namespace, service_account, pod=pod).encode())
        return path, {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.port)}

    def refresh_token_file(self, path: Path, namespace: str, service_account: str, *,
                           revoke_old: bool = True, pod: str | None = None) -> str:
        """As the kubelet does for a projected token: a new token (bound to `pod` when
        given), written over `path` (atomically); with revoke_old the previous one stops
        working at once."""
        token = self.rotate_token(namespace, service_account, revoke_old=revoke_old, pod=pod)
        _write_atomically(path, token.encode())
        return token

    def whoami(self, token: str) -> dict:
        """The user the API sees behind a token (SelfSubjectReview status.userInfo:
        username, uid, groups, extra), as `kubectl auth whoami` shows it."""
        return self.api("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                        token=token)["status"]["userInfo"]

    # -- RBAC ----------------------------------------------------------------

    def set_permissions(self, *, user: str | None = None, group: str | None = None,
                        rules: list[dict]) -> list[dict]:
        """Grant a user or group exactly these rules, replacing what this call granted it
        before. Rules are RBAC PolicyRules ({"apiGroups", "resources", "verbs",
        "resourceNames"?} or {"nonResourceURLs", "verbs"}), plus an optional "namespaces":
        rules without become a ClusterRole + ClusterRoleBinding, rules with one a Role +
        RoleBinding in each namespace (all named double:user:NAME / double:group:NAME).
        API groups count: {"apiGroups": [""]} does not cover certificates.k8s.io."""
        if (user is None) == (group is None):
            raise ValueError("exactly one of user, group")
        kind, name = ("users", user) if user is not None else ("groups", group)
        return self.control("PUT", f"permissions/{kind}/{urllib.parse.quote(name, safe='')}",
                            {"rules": rules})["items"]

    def revoke_permissions(self, *, user: str | None = None, group: str | None = None) -> None:
        kind, name = ("users", user) if user is not None else ("groups", group)
        self.control("DELETE", f"permissions/{kind}/{urllib.parse.quote(name, safe='')}")

    def apply(self, obj: dict, *, token: str | None = "admin") -> dict:
        """Create an object through the API, or replace it when it exists (what `kubectl
        apply` amounts to for the double's types). RBAC kinds, Leases, Events."""
        path = object_path(obj)
        status, body, _ = self.request("POST", path, obj, token=token)
        if status == 201:
            return body
        if status != 409:
            raise ApiError("POST", path, status, body)
        name = obj["metadata"]["name"]
        current = self.api("GET", f"{path}/{name}", token=token)
        replacement = json.loads(json.dumps(obj))
        replacement["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.api("PUT", f"{path}/{name}", replacement, token=token)

    def apply_rbac_from_deploy(self, directories: tuple[str, ...] = ("base", "example")) -> list[dict]:
        """Render deploy/<dir> with the real `kubectl kustomize` (offline) and load every
        Role, ClusterRole, RoleBinding and ClusterRoleBinding found there through the API,
        so that code and manifests are tested together: the signer runs as
        SIGNER_NAMESPACE/SIGNER_SERVICE_ACCOUNT, sidecars as
        EXAMPLE_NAMESPACE/EXAMPLE_SERVICE_ACCOUNT. Returns the objects loaded."""
        loaded = []
        for directory in directories:
            for obj in render_manifests(DEPLOY / directory):
                if obj.get("apiVersion") == f"{RBAC_GROUP}/v1" and obj.get("kind") in RBAC_KINDS:
                    loaded.append(self.apply(obj))
        if not loaded:
            raise AssertionError(f"no RBAC objects found in deploy/{{{','.join(directories)}}}")
        return loaded

    def can_i(self, token: str, verb: str, resource: str, *, group: str = "", namespace: str = "",
              name: str = "", subresource: str = "") -> bool:
        """A SelfSubjectAccessReview, as `kubectl auth can-i` sends it."""
        attrs = {"verb": verb, "group": group, "resource": resource, "namespace": namespace,
                 "name": name, "subresource": subresource}
        review = self.api("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                          {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                           "spec": {"resourceAttributes": attrs}}, token=token)
        return review["status"]["allowed"]

    # -- pods and StatefulSets ---------------------------------------------------

    def add_pod(self, namespace: str, name: str, ip: str | None = None, *,
                service_account: str = "default", phase: str | None = None,
                labels: dict[str, str] | None = None, node: str | None = None,
                owner_references: list[dict] | None = None, hostname: str | None = None,
                subdomain: str | None = None, host_network: bool = False) -> dict:
        """Create or replace a pod (status.podIP, podIPs, phase, spec.serviceAccountName,
        nodeName, hostname, subdomain; metadata labels and ownerReferences as given).
        Without ip the pod is Pending and has no IP yet (set_pod_ip gives it one); phase
        defaults to Running when it has one."""
        pod: dict[str, Any] = {"metadata": {"labels": labels or {}},
                               "spec": {"serviceAccountName": service_account}, "status": {}}
        if owner_references:
            pod["metadata"]["ownerReferences"] = owner_references
        if node:
            pod["spec"]["nodeName"] = node
        if hostname:
            pod["spec"]["hostname"] = hostname
        if subdomain:
            pod["spec"]["subdomain"] = subdomain
        if host_network:
            pod["spec"]["hostNetwork"] = True
        if ip:
            pod["status"].update({"podIP": ip, "podIPs": [{"ip": ip}]})
        pod["status"]["phase"] = phase or ("Running" if ip else "Pending")
        return self.control("PUT", f"namespaces/{namespace}/pods/{name}", pod)

    def pod(self, namespace: str, name: str) -> dict:
        return self.control("GET", f"namespaces/{namespace}/pods/{name}")

    def _replace_pod(self, namespace: str, name: str, change: Callable[[dict], None]) -> dict:
        pod = self.pod(namespace, name)
        change(pod)
        return self.control("PUT", f"namespaces/{namespace}/pods/{name}", pod)

    def set_pod_ip(self, namespace: str, name: str, ip: str) -> dict:
        """The pod's IP appears (and a Pending pod starts Running), as when its sandbox is
        up: watchers see MODIFIED."""
        def change(pod: dict) -> None:
            pod["status"].update({"podIP": ip, "podIPs": [{"ip": ip}]})
            if pod["status"].get("phase") == "Pending":
                pod["status"]["phase"] = "Running"
        return self._replace_pod(namespace, name, change)

    def finish_pod(self, namespace: str, name: str, phase: str = "Succeeded") -> dict:
        """The pod ends (Succeeded or Failed). As on a real cluster it keeps status.podIP
        and podIPs, and still matches fieldSelector=status.podIP=IP."""
        def change(pod: dict) -> None:
            pod["status"]["phase"] = phase
        return self._replace_pod(namespace, name, change)

    def delete_pod(self, namespace: str, name: str) -> dict:
        return self.control("DELETE", f"namespaces/{namespace}/pods/{name}")

    def add_statefulset(self, namespace: str, name: str, *, service_name: str,
                        service_account: str = "default", ips: list[str | None] = (),
                        node_name: str | None = None, labels: dict[str, str] | None = None) -> dict:
        """A StatefulSet (apps/v1: spec.serviceName, replicas = len(ips), selector,
        template.spec.serviceAccountName) and its pods NAME-0..NAME-n as the StatefulSet
        controller makes them: ownerReferences to the set (controller, blockOwnerDeletion),
        spec.hostname NAME-i, spec.subdomain serviceName, labels
        statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
        controller-revision-hash (here NAME- plus a hash of the template, not the
        controller's exact one). ips[i] None: that pod is Pending without an IP."""
        selector = dict(labels or {"app.kubernetes.io/name": name})
        template = {"metadata": {"labels": selector},
                    "spec": {"serviceAccountName": service_account,
                             "containers": [{"name": "app", "image": "app"}]}}
        sts = self.control("PUT", f"namespaces/{namespace}/statefulsets/{name}", {
            "metadata": {"labels": selector},
            "spec": {"serviceName": service_name, "replicas": len(ips),
                     "selector": {"matchLabels": selector}, "template": template},
            "status": {"replicas": len(ips), "readyReplicas": len([ip for ip in ips if ip])}})
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        owner = [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name,
                  "uid": sts["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        for i, ip in enumerate(ips):
            pod_name = f"{name}-{i}"
            self.add_pod(namespace, pod_name, ip, service_account=service_account, node=node_name,
                         owner_references=owner, hostname=pod_name, subdomain=service_name,
                         labels={**selector, "statefulset.kubernetes.io/pod-name": pod_name,
                                 "apps.kubernetes.io/pod-index": str(i),
                                 "controller-revision-hash": f"{name}-{digest}"})
        return sts

    # -- events --------------------------------------------------------------

    def events(self, namespace: str | None = None, *, field_selector: str | None = None,
               token: str | None = "admin") -> list[dict]:
        """core/v1 Events (of one namespace, or all), optionally by field selector, e.g.
        "involvedObject.kind=CertificateSigningRequest,involvedObject.name=csr-x"."""
        path = f"/api/v1/namespaces/{namespace}/events" if namespace else "/api/v1/events"
        if field_selector:
            path += "?fieldSelector=" + urllib.parse.quote(field_selector, safe="")
        return self.api("GET", path, token=token)["items"]

    def csr_events(self, name: str) -> list[dict]:
        """The Events about CSR `name`, wherever they were recorded."""
        return self.events(field_selector="involvedObject.kind=CertificateSigningRequest,"
                                          f"involvedObject.name={name}")

    # -- faults, history, watches, request log -------------------------------

    def fail_next(self, method: str = "*", path_prefix: str = "/", *, count: int = 1,
                  status: int = 503, action: str = "status", watch: bool | None = None,
                  retry_after: int | None = None, delay_ms: int | None = None,
                  message: str | None = None) -> int:
        """The next `count` requests matching method + path prefix fail: action "status"
        answers `status` (a proper Status, Retry-After when given), "hang" never answers,
        "close" drops the connection, "delay" answers late (delay_ms). Returns the rule id."""
        rule: dict[str, Any] = {"method": method, "pathPrefix": path_prefix, "count": count,
                                "action": action, "status": status}
        if watch is not None:
            rule["watch"] = watch
        if retry_after is not None:
            rule["retryAfterSeconds"] = retry_after
        if delay_ms is not None:
            rule["delayMs"] = delay_ms
        if message:
            rule["message"] = message
        return self.control("POST", "faults", rule)["id"]

    def faults(self) -> list[dict]:
        return self.control("GET", "faults")["items"]

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def compact(self, resource_version: str | None = None) -> str:
        """Forget watch history (up to resource_version, default all): a watch from an
        older resourceVersion then gets an ERROR event with a 410 Expired Status."""
        body = {"resourceVersion": resource_version} if resource_version else {}
        return self.control("POST", "compact", body)["compactedResourceVersion"]

    def resource_version(self) -> str:
        return self.control("GET", "status")["resourceVersion"]

    def watches(self) -> list[dict]:
        return self.control("GET", "watches")["items"]

    def wait_for_watch(self, path_contains: str = CSR_PATH, *, user: str | None = None,
                       count: int = 1, timeout: float = DEADLINE) -> list[dict]:
        """Until at least `count` open watches match: the moment a client is listening."""
        def matching() -> list[dict]:
            found = [w for w in self.watches() if path_contains in w["target"]
                     and (user is None or w["user"] == user)]
            return found if len(found) >= count else []
        return wait_for(f"{count} watch(es) on {path_contains}", matching, timeout,
                        check=self.process.check_running)

    def close_watches(self) -> int:
        return self.control("POST", "watches/close")["closed"]

    def bookmark_watches(self) -> int:
        return self.control("POST", "watches/bookmark")["bookmarked"]

    def requests(self, since: int = 0, *, method: str | None = None,
                 path_prefix: str | None = None, user: str | None = None) -> list[dict]:
        """Logged API requests ({seq, time, method, target, path, user, status, watch,
        fault?}), oldest first, filtered."""
        items = self.control("GET", f"requests?since={since}")["items"]
        return [r for r in items
                if (method is None or r["method"] == method)
                and (path_prefix is None or r["path"].startswith(path_prefix))
                and (user is None or r["user"] == user)]

    def last_request_seq(self) -> int:
        return self.control("GET", "status")["lastRequestSeq"]

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    # -- CertificateSigningRequests -------------------------------------------

    def csrs(self, signer_name: str | None = None) -> list[dict]:
        query = ""
        if signer_name:
            query = "?fieldSelector=" + urllib.parse.quote(f"spec.signerName={signer_name}", safe="")
        return self.api("GET", CSR_PATH + query)["items"]

    def csr(self, name: str) -> dict | None:
        status, body, _ = self.request("GET", f"{CSR_PATH}/{name}")
        if status == 404:
            return None
        if status != 200:
            raise ApiError("GET", f"{CSR_PATH}/{name}", status, body)
        return body

    def create_csr(self, request_pem: bytes | str, *, name: str | None = None,
                   generate_name: str = "csr-", signer_name: str = SIGNER_NAME,
                   usages: tuple[str, ...] = ("digital signature", "server auth", "client auth"),
                   expiration_seconds: int | None = 3600, token: str | None = "admin") -> dict:
        pem = request_pem.encode() if isinstance(request_pem, str) else request_pem
        meta = {"name": name} if name else {"generateName": generate_name}
        spec: dict[str, Any] = {"request": base64.b64encode(pem).decode(), "signerName": signer_name,
                                "usages": list(usages)}
        if expiration_seconds is not None:
            spec["expirationSeconds"] = expiration_seconds
        return self.api("POST", CSR_PATH, {"apiVersion": "certificates.k8s.io/v1",
                                           "kind": "CertificateSigningRequest",
                                           "metadata": meta, "spec": spec}, token=token)

    def _condition(self, name: str, ctype: str, reason: str, message: str, token: str | None) -> dict:
        csr = self.api("GET", f"{CSR_PATH}/{name}", token=token)
        csr.setdefault("status", {}).setdefault("conditions", []).append(
            {"type": ctype, "status": "True", "reason": reason, "message": message})
        return self.api("PUT", f"{CSR_PATH}/{name}/approval", csr, token=token)

    def approve(self, name: str, reason: str = "TestApproved", message: str = "approved by the test",
                *, token: str | None = "admin") -> dict:
        return self._condition(name, "Approved", reason, message, token)

    def deny(self, name: str, reason: str = "TestDenied", message: str = "denied by the test",
             *, token: str | None = "admin") -> dict:
        return self._condition(name, "Denied", reason, message, token)

    def issue(self, name: str, certificate_pem: bytes | str, *, token: str | None = "admin") -> dict:
        """Set status.certificate (PEM, leaf first), as a signer does."""
        pem = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        csr = self.api("GET", f"{CSR_PATH}/{name}", token=token)
        csr.setdefault("status", {})["certificate"] = base64.b64encode(pem).decode()
        return self.api("PUT", f"{CSR_PATH}/{name}/status", csr, token=token)

    def delete_csr(self, name: str) -> None:
        self.api("DELETE", f"{CSR_PATH}/{name}")

    def wait_for_csr(self, predicate: Callable[[dict], bool] = lambda c: True, *,
                     what: str = "a CSR", timeout: float = DEADLINE) -> dict:
        """The first CSR (in name order) for which predicate holds, once there is one."""
        def found() -> dict | None:
            return next((c for c in self.csrs() if predicate(c)), None)
        return wait_for(what, found, timeout, check=self.process.check_running)

    # -- watches as a client ---------------------------------------------------

    def watch(self, path: str = CSR_PATH, *, resource_version: str | None = None,
              timeout_seconds: int | None = None, field_selector: str | None = None,
              bookmarks: bool = False, token: str | None = "admin",
              read_timeout: float = 30.0) -> Iterator[dict]:
        """Events ({"type", "object"}) of a watch as they arrive; ends with the stream."""
        params = {"watch": "true"}
        if resource_version is not None:
            params["resourceVersion"] = resource_version
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        if field_selector:
            params["fieldSelector"] = field_selector
        if bookmarks:
            params["allowWatchBookmarks"] = "true"
        target = path + "?" + urllib.parse.urlencode(params)
        conn = self.connection(read_timeout)
        hdrs = {"Accept": "application/json"}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {self.admin_token if token == 'admin' else token}"
        try:
            conn.request("GET", target, headers=hdrs)
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError("GET", target, resp.status, json.loads(resp.read() or b"null"))
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()

    # -- kubectl -----------------------------------------------------------------

    def kubectl(self, *args: str, kubeconfig: Path | None = None, check: bool = True,
                timeout: float = 60.0, input: str | None = None) -> subprocess.CompletedProcess:
        """Run the real kubectl against the double (admin kubeconfig by default), with a
        discovery cache of its own."""
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise RuntimeError("kubectl is not on PATH")
        argv = [kubectl, "--kubeconfig", str(kubeconfig or self.kubeconfig),
                "--cache-dir", str(self.state_dir / "kubectl-cache"), *args]
        env = {**os.environ, "HOME": str(self.state_dir)}
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                                input=input)
        if check and result.returncode != 0:
            raise RuntimeError(f"`{' '.join(args)}` exited {result.returncode}:\n"
                               f"{result.stderr}{result.stdout}\n--- double log tail:\n"
                               f"{self.log.tail(20)}")
        return result


def object_path(obj: dict) -> str:
    """The collection URL of an object of the double's writable kinds."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    namespace = obj.get("metadata", {}).get("namespace")
    plural = {"Lease": "leases", "Event": "events", **RBAC_KINDS}.get(kind)
    if plural is None:
        raise ValueError(f"the double's API does not create {kind}")
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if kind in ("ClusterRole", "ClusterRoleBinding"):
        return f"{base}/{plural}"
    if not namespace:
        raise ValueError(f"{kind} {obj['metadata'].get('name')} has no namespace")
    return f"{base}/namespaces/{namespace}/{plural}"


def render_manifests(directory: Path) -> list[dict]:
    """`kubectl kustomize DIR`, turned into JSON objects by `kubectl annotate --local -o
    json` (no YAML parser needed, no API server asked), as tests/integration/deploy/test_deploy.py
    renders deploy/."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not on PATH: deploy/ cannot be rendered")
    with tempfile.TemporaryDirectory(prefix="distls-render-") as tmp:
        empty = Path(tmp) / "kubeconfig"
        empty.write_text("")
        env = {**os.environ, "KUBECONFIG": str(empty), "HOME": tmp}
        rendered = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True,
                                  text=True, env=env, timeout=120)
        if rendered.returncode != 0:
            raise RuntimeError(f"kubectl kustomize {directory} failed: {rendered.stderr.strip()}")
        as_json = subprocess.run([kubectl, "annotate", "--local", "-f", "-", "-o", "json",
                                  "distls.io/unused-"], input=rendered.stdout, capture_output=True,
                                 text=True, env=env, timeout=120)
        if as_json.returncode != 0:
            raise RuntimeError(f"kubectl could not read the rendered YAML: {as_json.stderr.strip()}")
    objects, decoder, text, i = [], json.JSONDecoder(), as_json.stdout, 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return objects
        obj, i = decoder.raw_decode(text, i)
        objects.extend(obj["items"] if obj.get("kind") == "List" else [obj])


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def free_work_dir(label: str = "k8s-double") -> Path:
    """A fresh temporary directory, for a K8sDouble without a Cluster."""
    return Path(tempfile.mkdtemp(prefix=f"distls-{label}-"))

