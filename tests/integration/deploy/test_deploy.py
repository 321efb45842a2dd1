"""The Kubernetes deployment (deploy/): every kustomization renders offline with the
real `kubectl kustomize`, and the rendered objects keep the facts the sidecar, the
signer, the image and docs/kubernetes.md rely on.

No cluster is needed. YAML is turned into JSON by `kubectl annotate --local -o json`,
which reads manifests without asking any API server (Python has no YAML parser here).
Render-based tests are skipped, with a message, when kubectl is not installed; the
Dockerfile tests always run.

Flag names are checked against the built binary (`distls proxy --help`, `distls signer
--help`) once that binary knows the k8s-csr source and the signer command; until then
those two tests say they are skipped and why.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
DOCKERFILE = DEPLOY / "image" / "Dockerfile"
DOCKERIGNORE = DEPLOY / "image" / "Dockerfile.dockerignore"
GUIDE = REPO_ROOT / "docs" / "kubernetes.md"
BOOTSTRAP = REPO_ROOT / "scripts" / "bootstrap.sh"

SIDECAR = "distls"            # the native sidecar's container name
APP = "app"                   # the Erlang container's name
EXPECTED_KUSTOMIZATIONS = {"base", "example", "overlays/cert-manager", "overlays/cert-manager/approver"}

# What the sidecar is configured with in deploy/example (the deployment contract).
SIDECAR_CONTRACT = {
    "node": "app@$(POD_IP)",
    "listen": "$(POD_IP):4370",
    "peer-port": "4370",
    "epmd": "127.0.0.1:4369",
    "admin": "0.0.0.0:9901",
    "admin-expose": "probes",
    "allow-peer": "spiffe://cluster.local/ns/$(POD_NAMESPACE)/*",
    "cert-source": "k8s-csr",
    "signer-name": "distls.io/erlang-dist",
    "trust-bundle": "/etc/distls/trust/ca.crt",
    "cert-ttl": "1h",
    "trust-domain": "cluster.local",
    "service-account": "$(SERVICE_ACCOUNT)",
    "discovery": "dns-a:app-headless.$(POD_NAMESPACE).svc.cluster.local",
    "basename": "app",
    # No CPU limit on the sidecar: `auto` would follow the node's CPU count.
    "threads": "2",
}

# scripts/bootstrap.sh installs these for the tests and the demo only; the image's
# build stage does not need them.
TEST_ONLY_PACKAGES = {"python3", "iproute2", "curl", "libgtest-dev", "libgmock-dev",
                      "erlang-src", "dnsmasq-base", "stunnel4", "rebar3", "elixir",
                      "clang-14", "libclang-rt-14-dev", "llvm-14",  # the sanitizer/fuzz build
                      "python3-kubernetes",  # the official client, against the API double
                      # other Debian roots (OTP versions), the image, the .deb, monitoring
                      "buildah", "mmdebstrap", "dpkg-dev", "prometheus", "python3-yaml",
                      # bench/ (charts, the handshake client's openssl, profiles)
                      "python3-matplotlib", "openssl", "linux-perf", "valgrind"}
# Already in debian:bookworm-slim.
SLIM_BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

def kubectl() -> str | None:
    return os.environ.get("KUBECTL") or shutil.which("kubectl")


def kustomization_dirs() -> list[str]:
    """Every directory under deploy/ with a kustomization, relative to deploy/."""
    return sorted(str(p.parent.relative_to(DEPLOY)) for p in DEPLOY.rglob("kustomization.yaml"))


def _offline_env(tmp: str) -> dict[str, str]:
    # An empty kubeconfig and home: nothing here can reach a cluster, even by accident.
    kubeconfig = Path(tmp) / "kubeconfig"
    kubeconfig.write_text("")
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=tmp)
    return env


def yaml_to_objects(yaml_text: str, env: dict[str, str]) -> list[dict]:
    """YAML manifests -> JSON objects, offline (annotate --local reads, never asks)."""
    out = subprocess.run(
        [kubectl(), "annotate", "--local", "-f", "-", "-o", "json", "distls.io/unused-"],
        input=yaml_text, capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0:
        raise AssertionError(f"kubectl could not read the rendered YAML: {out.stderr.strip()}")
    objects, decoder, text, i = [], json.JSONDecoder(), out.stdout, 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, i = decoder.raw_decode(text, i)
        objects.extend(obj["items"] if obj.get("kind") == "List" else [obj])
    return objects


@lru_cache(maxsize=None)
def render(directory: str) -> tuple[dict, ...]:
    with tempfile.TemporaryDirectory(prefix="distls-deploy-") as tmp:
        env = _offline_env(tmp)
        out = subprocess.run([kubectl(), "kustomize", str(DEPLOY / directory)],
                             capture_output=True, text=True, env=env, timeout=120)
        if out.returncode != 0:
            raise AssertionError(f"kubectl kustomize deploy/{directory} failed: {out.stderr.strip()}")
        return tuple(yaml_to_objects(out.stdout, env))


def need_kubectl() -> None:
    if kubectl() is None:
        raise unittest.SkipTest("kubectl is not installed: the kustomizations are not rendered "
                                "(apt-get install kubectl, or set KUBECTL)")


# ---------------------------------------------------------------------------
# Reading rendered objects
# ---------------------------------------------------------------------------

def find(objects, kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o["kind"] == kind
            and (name is None or o["metadata"]["name"] == name)]


def one(objects, kind: str, name: str) -> dict:
    found = find(objects, kind, name)
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name}, found {len(found)}")
    return found[0]


def pod_spec(workload: dict) -> dict | None:
    kind, spec = workload["kind"], workload.get("spec", {})
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return spec["template"]["spec"]
    return None


def workloads(objects) -> list[tuple[dict, dict]]:
    return [(o, s) for o in objects if (s := pod_spec(o)) is not None]


def all_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec.get("containers", [])


def container(spec: dict, name: str) -> dict:
    for c in all_containers(spec):
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name}")


def env_of(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env", [])}


def sidecar_options(c: dict) -> dict[str, str]:
    """The options distls proxy sees: DISTLS_* environment, then the command line."""
    opts = {}
    for name, e in env_of(c).items():
        if name.startswith("DISTLS_") and "value" in e:
            opts[name[len("DISTLS_"):].lower().replace("_", "-")] = e["value"]
    opts.update(flag_args(c.get("args", [])[1:]))
    return opts


def signer_flags(c: dict) -> dict[str, str | None]:
    """The flags of a `distls signer` container (its args after the subcommand)."""
    assert c["args"][0] == "signer", c["args"]
    return flag_args(c["args"][1:])


def flag_args(args: list[str]) -> dict[str, str | None]:
    """--name value / --name=value / --name (a flag when no value follows)."""
    out, i = {}, 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            raise AssertionError(f"unexpected argument {a!r} in {args}")
        if "=" in a:
            k, v = a[2:].split("=", 1)
            out[k] = v
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[a[2:]] = args[i + 1]
            i += 1
        else:
            out[a[2:]] = None
        i += 1
    return out


def field_ref(c: dict, var: str) -> str | None:
    e = env_of(c).get(var)
    return e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") if e else None


def mount_dir(c: dict, volume: str) -> str | None:
    for m in c.get("volumeMounts", []):
        if m["name"] == volume:
            return m["mountPath"]
    return None


def volume(spec: dict, name: str) -> dict:
    for v in spec.get("volumes", []):
        if v["name"] == name:
            return v
    raise AssertionError(f"no volume {name}")


def volume_at(spec: dict, c: dict, path: str) -> dict:
    """The volume mounted (as a whole directory) at the directory holding `path`."""
    d = str(Path(path).parent)
    for m in c.get("volumeMounts", []):
        if m["mountPath"].rstrip("/") == d:
            assert "subPath" not in m, f"{path}: a subPath mount never sees updates"
            return volume(spec, m["name"])
    raise AssertionError(f"{c['name']}: nothing mounted at {d} for {path}")


def resolve(value: str, c: dict, workload: dict) -> str:
    """Expand $(VAR) for the downward-API variables whose value is known offline."""
    def sub(m):
        path = field_ref(c, m.group(1))
        if path == "metadata.namespace":
            return workload["metadata"]["namespace"]
        return m.group(0)
    return re.sub(r"\$\(([A-Z_][A-Z0-9_]*)\)", sub, value)


def duration_seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise AssertionError(f"not a duration: {text!r}")
    return sum(int(n) * units[u] for n, u in parts)


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def container_port(c: dict, name_or_number) -> int:
    if isinstance(name_or_number, int):
        return name_or_number
    for p in c.get("ports", []):
        if p.get("name") == name_or_number:
            return p["containerPort"]
    raise AssertionError(f"{c['name']}: no port named {name_or_number}")


# ---------------------------------------------------------------------------
# RBAC, evaluated as the API server's authorizer would
# ---------------------------------------------------------------------------

def _rule_allows(rule: dict, group: str, resource: str, verb: str, name: str | None) -> bool:
    def has(values, v):
        return v in values or "*" in values
    if not (has(rule.get("apiGroups", []), group) and has(rule.get("resources", []), resource)
            and has(rule.get("verbs", []), verb)):
        return False
    names = rule.get("resourceNames")
    return not names or (name is not None and name in names)


def grants(objects, ns: str, sa: str) -> list[tuple[str | None, dict]]:
    """(namespace or None for cluster-wide, rule) for every rule bound to the account."""
    def binds(b):
        return any(s.get("kind") == "ServiceAccount" and s.get("name") == sa
                   and s.get("namespace", b["metadata"].get("namespace")) == ns
                   for s in b.get("subjects", []))

    def rules(ref, binding_ns):
        if ref["kind"] == "ClusterRole":
            roles = find(objects, "ClusterRole", ref["name"])
        else:
            roles = [r for r in find(objects, "Role", ref["name"])
                     if r["metadata"].get("namespace") == binding_ns]
        assert roles, f"binding to missing {ref['kind']} {ref['name']}"
        return [rule for r in roles for rule in r.get("rules", [])]

    out = []
    for b in find(objects, "ClusterRoleBinding"):
        if binds(b):
            out += [(None, r) for r in rules(b["roleRef"], None)]
    for b in find(objects, "RoleBinding"):
        if binds(b):
            bns = b["metadata"]["namespace"]
            out += [(bns, r) for r in rules(b["roleRef"], bns)]
    return out


def allowed(granted, verb: str, resource: str, group: str = "", name: str | None = None,
            ns: str | None = None) -> bool:
    """Whether `verb` on `resource` is allowed, cluster-wide (ns None) or in `ns`."""
    return any(_rule_allows(rule, group, resource, verb, name)
               for scope, rule in granted if scope is None or scope == ns)


CSR = "certificatesigningrequests"
CERTS = "certificates.k8s.io"
ALL_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete",
             "deletecollection", "approve", "sign", "escalate", "bind", "impersonate")


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

class RenderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_kubectl()

    def test_every_kustomization_renders_offline(self):
        dirs = kustomization_dirs()
        self.assertEqual(EXPECTED_KUSTOMIZATIONS, set(dirs),
                         "a kustomization was added or removed: update this test and "
                         "docs/kubernetes.md")
        for d in dirs:
            with self.subTest(kustomization=d):
                objects = render(d)
                self.assertTrue(objects)
                kinds = {}
                for o in objects:
                    self.assertTrue(o["metadata"].get("name"), o)
                    kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
                print(f"deploy/{d}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))

    def test_no_key_material_or_cookie_in_the_manifests(self):
        # The CA key, trust bundle and cookie are made by hand (docs/kubernetes.md), so
        # that `kubectl apply -k` again can never overwrite them with placeholders.
        for d in kustomization_dirs():
            for s in find(render(d), "Secret"):
                self.assertFalse(s.get("data") or s.get("stringData"),
                                 f"deploy/{d}: Secret {s['metadata']['name']} carries data")
            for c in find(render(d), "ConfigMap"):
                self.assertNotIn("BEGIN", json.dumps(c.get("data", {})),
                                 f"deploy/{d}: ConfigMap {c['metadata']['name']} holds a PEM")

    def test_every_object_made_by_hand_has_its_command_in_the_guide(self):
        guide = GUIDE.read_text()
        rendered = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
                    for d in kustomization_dirs() for o in render(d)}
        needed = set()
        for d in kustomization_dirs():
            for w, spec in workloads(render(d)):
                ns = w["metadata"]["namespace"]
                for v in spec.get("volumes", []):
                    if "secret" in v:
                        needed.add(("secret", ns, v["secret"]["secretName"]))
                    if "configMap" in v:
                        needed.add(("configmap", ns, v["configMap"]["name"]))
                    for src in v.get("projected", {}).get("sources", []):
                        if "configMap" in src:
                            needed.add(("configmap", ns, src["configMap"]["name"]))
                        if "secret" in src:
                            needed.add(("secret", ns, src["secret"]["name"]))
                for c in all_containers(spec):
                    for e in c.get("env", []):
                        ref = e.get("valueFrom", {})
                        if "secretKeyRef" in ref:
                            needed.add(("secret", ns, ref["secretKeyRef"]["name"]))
                        if "configMapKeyRef" in ref:
                            needed.add(("configmap", ns, ref["configMapKeyRef"]["name"]))
            for issuer in find(render(d), "ClusterIssuer"):
                # cert-manager reads a ClusterIssuer's Secret from its own namespace.
                needed.add(("secret", "cert-manager", issuer["spec"]["ca"]["secretName"]))
        # Kubernetes publishes this one in every namespace; distls signer publishes the
        # trust bundle (--publish-trust) in the namespaces it serves.
        needed = {n for n in needed if n[2] != "kube-root-ca.crt"}
        published = set()
        for d in kustomization_dirs():
            for deploy in find(render(d), "Deployment"):
                c = pod_spec(deploy)["containers"][0]
                if c.get("args", [None])[0] != "signer":
                    continue
                flags = signer_flags(c)
                if flags.get("publish-trust"):
                    published |= {("configmap", ns, flags["publish-trust"]) for ns in flags["namespaces"].split(",")}
        self.assertTrue(published & needed, "the example's trust bundle is the signer's to publish")
        self.assertIn("--publish-trust", guide)
        needed -= published
        self.assertTrue(needed)
        for kind, ns, name in sorted(needed):
            if (("Secret" if kind == "secret" else "ConfigMap"), ns, name) in rendered:
                continue
            pattern = (rf"kubectl -n {re.escape(ns)} create "
                       rf"{'secret (?:tls|generic)' if kind == 'secret' else 'configmap'} "
                       rf"{re.escape(name)}\b")
            with self.subTest(object=f"{kind} {ns}/{name}"):
                self.assertRegex(guide, pattern,
                                 f"docs/kubernetes.md must show how {kind} {name} is made")


class SecurityTest(unittest.TestCase):
    """Every pod of every kustomization runs unprivileged, non-root, pinned."""

    @classmethod
    def setUpClass(cls):
        need_kubectl()

    def test_pods_are_locked_down(self):
        for d in kustomization_dirs():
            for w, spec in workloads(render(d)):
                psc = spec.get("securityContext", {})
                self.assertFalse(spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"))
                for c in all_containers(spec):
                    where = f"deploy/{d} {w['kind']}/{w['metadata']['name']} container {c['name']}"
                    with self.subTest(container=where):
                        sc = c.get("securityContext", {})
                        self.assertTrue(sc.get("runAsNonRoot", psc.get("runAsNonRoot")), where)
                        self.assertNotEqual(0, sc.get("runAsUser", psc.get("runAsUser")))
                        self.assertFalse(sc.get("privileged", False))
                        self.assertIs(False, sc.get("allowPrivilegeEscalation"))
                        self.assertIs(True, sc.get("readOnlyRootFilesystem"))
                        self.assertEqual(["ALL"], sc.get("capabilities", {}).get("drop"))
                        self.assertFalse(sc.get("capabilities", {}).get("add"))
                        self.assertEqual("RuntimeDefault",
                                         sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type"))
                        self.assertTrue(c.get("resources", {}).get("requests", {}).get("memory"))
                        self.assertTrue(c.get("resources", {}).get("requests", {}).get("cpu"))

    def test_every_variable_is_set_before_it_is_used(self):
        # The kubelet expands $(VAR) in env only from variables earlier in the list (a
        # strategic-merge patch appends or moves entries), and in command/args from any;
        # an unknown $(VAR) is passed on literally, so distls would see "app@$(POD_IP)".
        ref = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
        for d in kustomization_dirs():
            for w, spec in workloads(render(d)):
                for c in all_containers(spec):
                    names = [e["name"] for e in c.get("env", [])]
                    for i, e in enumerate(c.get("env", [])):
                        for var in ref.findall(e.get("value", "")):
                            with self.subTest(kustomization=d, container=c["name"], env=e["name"]):
                                self.assertIn(var, names[:i], f"$({var}) used before it is set")
                    for arg in c.get("command", []) + c.get("args", []):
                        for var in ref.findall(arg):
                            with self.subTest(kustomization=d, container=c["name"], arg=arg):
                                self.assertIn(var, names)

    def test_every_image_is_pinned_by_a_tag(self):
        for d in kustomization_dirs():
            for w, spec in workloads(render(d)):
                for c in all_containers(spec):
                    image = c["image"]
                    with self.subTest(image=image, container=c["name"]):
                        name, _, tag = image.rpartition(":")
                        self.assertTrue(name and "/" not in tag, f"{image}: no tag")
                        self.assertNotEqual("latest", tag)

    def test_distls_image_tag_is_the_project_version(self):
        version = re.search(r"project\(distls VERSION ([0-9.]+)",
                            (REPO_ROOT / "CMakeLists.txt").read_text()).group(1)
        seen = 0
        for d in kustomization_dirs():
            for w, spec in workloads(render(d)):
                for c in all_containers(spec):
                    if c["image"].split(":")[0].endswith("distls"):
                        self.assertEqual(f"distls:{version}", c["image"])
                        seen += 1
        self.assertGreater(seen, 0)


class ExampleTest(unittest.TestCase):
    """deploy/example: the Erlang StatefulSet with distls as a native sidecar."""

    @classmethod
    def setUpClass(cls):
        need_kubectl()
        cls.objects = render("example")
        cls.sts = one(cls.objects, "StatefulSet", "app")
        cls.spec = pod_spec(cls.sts)
        cls.sidecar = container(cls.spec, SIDECAR)
        cls.app = container(cls.spec, APP)
        cls.opts = sidecar_options(cls.sidecar)

    def test_distls_is_a_native_sidecar(self):
        init = [c["name"] for c in self.spec.get("initContainers", [])]
        self.assertIn(SIDECAR, init)
        self.assertNotIn(SIDECAR, [c["name"] for c in self.spec["containers"]])
        self.assertEqual("Always", self.sidecar.get("restartPolicy"))
        self.assertEqual("proxy", self.sidecar["args"][0])
        # Regular init containers before it run to completion first; none may follow it
        # that waits for the Erlang node (the node starts after all of them).
        for c in self.spec["initContainers"]:
            if c["name"] != SIDECAR:
                self.assertNotIn("restartPolicy", c)

    def test_probes_startup_and_liveness_on_healthz_readiness_on_readyz(self):
        admin_port = port_of(self.opts["admin"])
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                            ("readinessProbe", "/readyz")):
            with self.subTest(probe=probe):
                get = self.sidecar[probe]["httpGet"]
                self.assertEqual(path, get["path"])
                self.assertEqual(admin_port, container_port(self.sidecar, get["port"]))
        # The kubelet probes the pod IP, so the admin server must not be on loopback.
        self.assertFalse(self.opts["admin"].startswith("127."))

    def test_sidecar_configuration_is_the_contract(self):
        self.assertEqual(SIDECAR_CONTRACT, self.opts)

    def test_downward_api_supplies_identity(self):
        self.assertEqual("status.podIP", field_ref(self.sidecar, "POD_IP"))
        self.assertEqual("status.podIP", field_ref(self.app, "POD_IP"))
        self.assertEqual("spec.serviceAccountName", field_ref(self.sidecar, "SERVICE_ACCOUNT"))
        self.assertEqual("metadata.namespace", field_ref(self.sidecar, "POD_NAMESPACE"))

    def test_erlang_node_goes_through_distls(self):
        args = self.app["args"]
        pairs = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("-")}
        self.assertEqual(self.opts["node"], pairs["-name"])
        self.assertEqual("distls_epmd", pairs["-epmd_module"])
        self.assertTrue((REPO_ROOT / "proxy" / "erlang" / "distls_epmd.erl").is_file())
        self.assertEqual("false", pairs["-start_epmd"])
        i = args.index("inet_dist_use_interface")
        self.assertEqual(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"], args[i - 1:i + 2])
        self.assertEqual(str(port_of(self.opts["epmd"])), env_of(self.app)["ERL_EPMD_PORT"]["value"])
        self.assertTrue(self.opts["epmd"].startswith("127.0.0.1:"))
        # The cookie comes from a Secret, never from the manifest.
        self.assertEqual("$(ERLANG_COOKIE)", pairs["-setcookie"])
        self.assertIn("secretKeyRef", env_of(self.app)["ERLANG_COOKIE"]["valueFrom"])
        self.assertEqual(self.opts["basename"], self.opts["node"].split("@")[0])

    def test_distls_epmd_beam_reaches_the_erlang_container(self):
        args = self.app["args"]
        ebin = args[args.index("-pa") + 1]
        vol = next(m["name"] for m in self.app["volumeMounts"] if m["mountPath"] == ebin)
        self.assertIn("emptyDir", volume(self.spec, vol))
        installer = next(c for c in self.spec["initContainers"] if mount_dir(c, vol))
        self.assertNotIn("restartPolicy", installer)
        self.assertEqual(self.sidecar["image"], installer["image"])
        src, dst = installer["command"][-2:]
        self.assertEqual(mount_dir(installer, vol).rstrip("/") + "/", dst)
        # The image puts the beams where the installer copies them from.
        self.assertEqual(src, "/opt/distls/ebin/.")
        self.assertIn("COPY --from=build /build/ebin/ /opt/distls/ebin/", DOCKERFILE.read_text())

    def test_app_eval_expression_parses(self):
        erl = shutil.which("erl")
        if erl is None:
            self.skipTest("erl is not installed")
        args = self.app["args"]
        expr = args[args.index("-eval") + 1]
        check = ('{ok, T, _} = erl_scan:string(os:getenv("EXPR") ++ "."), '
                 '{ok, _} = erl_parse:parse_exprs(T), io:format("parsed~n"), halt(0).')
        out = subprocess.run([erl, "-noshell", "-eval", check], env=dict(os.environ, EXPR=expr),
                             capture_output=True, text=True, timeout=60)
        self.assertEqual("parsed", out.stdout.strip(), out.stdout + out.stderr)

    def test_discovery_names_the_headless_service(self):
        svc_name = self.sts["spec"]["serviceName"]
        svc = one(self.objects, "Service", svc_name)
        self.assertEqual("None", svc["spec"]["clusterIP"])
        self.assertTrue(svc["spec"].get("publishNotReadyAddresses"))
        labels = self.sts["spec"]["template"]["metadata"]["labels"]
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(v, labels.get(k))
        ns = self.sts["metadata"]["namespace"]
        self.assertEqual(f"dns-a:{svc_name}.{ns}.svc.cluster.local",
                         resolve(self.opts["discovery"], self.sidecar, self.sts))
        tls_port = port_of(self.opts["listen"])
        self.assertEqual(tls_port, int(self.opts["peer-port"]))
        self.assertIn(tls_port, [container_port(self.sidecar, p["targetPort"]) for p in svc["spec"]["ports"]])

    def test_trust_bundle_is_a_configmap_directory(self):
        vol = volume_at(self.spec, self.sidecar, self.opts["trust-bundle"])
        self.assertEqual("distls-trust", vol["configMap"]["name"])
        self.assertEqual(Path(self.opts["trust-bundle"]).name,
                         "ca.crt", "the guide creates the ConfigMap with key ca.crt")

    def test_only_the_sidecar_gets_the_service_account_token(self):
        self.assertIs(False, self.spec.get("automountServiceAccountToken"))
        sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount"
        holders = [c["name"] for c in all_containers(self.spec)
                   if any(m["mountPath"] == sa_dir for m in c.get("volumeMounts", []))]
        self.assertEqual([SIDECAR], holders)
        vol = volume_at(self.spec, self.sidecar, sa_dir + "/token")
        paths = set()
        for src in vol["projected"]["sources"]:
            if "serviceAccountToken" in src:
                paths.add(src["serviceAccountToken"]["path"])
                # The kubelet rewrites it well before expiry; distls re-reads the file.
                self.assertLessEqual(src["serviceAccountToken"]["expirationSeconds"], 3607)
            for item in src.get("configMap", {}).get("items", []):
                paths.add(item["path"])
            for item in src.get("downwardAPI", {}).get("items", []):
                paths.add(item["path"])
                self.assertEqual("metadata.namespace", item["fieldRef"]["fieldPath"])
        self.assertEqual({"token", "ca.crt", "namespace"}, paths)

    def test_sidecar_may_request_certificates_and_nothing_else(self):
        ns = self.sts["metadata"]["namespace"]
        sa = self.spec["serviceAccountName"]
        one(self.objects, "ServiceAccount", sa)
        g = grants(self.objects, ns, sa)
        verbs = {v for v in ALL_VERBS if allowed(g, v, CSR, CERTS)}
        self.assertEqual({"create", "get", "list", "watch"}, verbs)
        for sub in (CSR + "/approval", CSR + "/status"):
            self.assertFalse(any(allowed(g, v, sub, CERTS) for v in ALL_VERBS), sub)
        self.assertFalse(allowed(g, "approve", "signers", CERTS, self.opts["signer-name"]))
        self.assertFalse(allowed(g, "sign", "signers", CERTS, self.opts["signer-name"]))
        self.assertFalse(allowed(g, "get", "secrets", ns=ns))

    def test_three_replicas_with_a_disruption_budget(self):
        self.assertEqual(3, self.sts["spec"]["replicas"])
        pdb = one(self.objects, "PodDisruptionBudget", "app")
        self.assertEqual(1, pdb["spec"]["maxUnavailable"])


class SignerTest(unittest.TestCase):
    """deploy/base: distls signer, two replicas behind a Lease."""

    @classmethod
    def setUpClass(cls):
        need_kubectl()
        cls.objects = render("base")
        cls.deploy = one(cls.objects, "Deployment", "distls-signer")
        cls.spec = pod_spec(cls.deploy)
        cls.c = container(cls.spec, "signer")
        assert cls.c["args"][0] == "signer"
        cls.flags = flag_args(cls.c["args"][1:])
        cls.ns = cls.deploy["metadata"]["namespace"]

    def test_namespace(self):
        self.assertEqual("distls-system", self.ns)
        one(self.objects, "Namespace", "distls-system")

    def test_two_replicas_with_leader_election(self):
        self.assertEqual(2, self.deploy["spec"]["replicas"])
        self.assertIn("leader-elect", self.flags)
        self.assertIsNone(self.flags["leader-elect"])
        self.assertEqual(self.ns, resolve(self.flags["lease-namespace"], self.c, self.deploy))
        self.assertEqual("distls-signer", self.flags["lease-name"])
        pdb = one(self.objects, "PodDisruptionBudget", "distls-signer")
        self.assertEqual(1, pdb["spec"]["minAvailable"])

    def test_flags_are_the_contract(self):
        self.assertEqual({
            "signer-name": "distls.io/erlang-dist",
            "ca-cert": "/etc/distls/ca/tls.crt",
            "ca-key": "/etc/distls/ca/tls.key",
            "max-ttl": "1h",
            "trust-domain": "cluster.local",
            "namespaces": "distls-example",
            "publish-trust": "distls-trust",
            "trust-bundle": "/etc/distls/trust/ca.crt",
            "admin": "0.0.0.0:9902",
            "admin-expose": "metrics",
            "leader-elect": None,
            "lease-namespace": "$(POD_NAMESPACE)",
            "lease-name": "distls-signer",
        }, self.flags)

    def test_ca_comes_from_the_tls_secret(self):
        for f in ("ca-cert", "ca-key"):
            vol = volume_at(self.spec, self.c, self.flags[f])
            self.assertEqual("distls-ca", vol["secret"]["secretName"])
            # tls.crt / tls.key: the keys of a kubernetes.io/tls Secret.
            self.assertIn(Path(self.flags[f]).name, ("tls.crt", "tls.key"))
            # Group-readable for fsGroup, never world-readable.
            self.assertEqual(0, vol["secret"]["defaultMode"] & 0o007)
            self.assertEqual(self.spec["securityContext"]["fsGroup"],
                             self.spec["securityContext"]["runAsGroup"])

    def test_probes_on_the_admin_port(self):
        admin_port = port_of(self.flags["admin"])
        for probe in ("livenessProbe", "readinessProbe"):
            get = self.c[probe]["httpGet"]
            self.assertEqual("/healthz", get["path"])
            self.assertEqual(admin_port, container_port(self.c, get["port"]))

    def test_rbac(self):
        sa = self.spec["serviceAccountName"]
        one(self.objects, "ServiceAccount", sa)
        g = grants(self.objects, self.ns, sa)
        signer = self.flags["signer-name"]
        for verb in ("get", "list", "watch"):
            self.assertTrue(allowed(g, verb, CSR, CERTS), verb)
        for verb in ("create", "delete", "patch", "update"):
            self.assertFalse(allowed(g, verb, CSR, CERTS), verb)
        self.assertTrue(allowed(g, "update", CSR + "/approval", CERTS))
        self.assertTrue(allowed(g, "update", CSR + "/status", CERTS))
        self.assertTrue(allowed(g, "approve", "signers", CERTS, signer))
        self.assertTrue(allowed(g, "sign", "signers", CERTS, signer))
        # Never any other signer: least of all the API server's own client signer.
        for other in ("kubernetes.io/kube-apiserver-client", "kubernetes.io/kubelet-serving",
                      "clusterissuers.cert-manager.io/distls-ca"):
            self.assertFalse(allowed(g, "approve", "signers", CERTS, other), other)
            self.assertFalse(allowed(g, "sign", "signers", CERTS, other), other)
        # Pods: list only, and only where a RoleBinding in the served namespace says so
        # (deploy/example brings one); nothing cluster-wide (ns None).
        served = grants(self.objects + render("example"), self.ns, sa)
        self.assertFalse(allowed(served, "list", "pods"), "pods of every namespace")
        self.assertFalse(allowed(served, "list", "pods", ns="kube-system"))
        for n in self.flags["namespaces"].split(","):
            self.assertTrue(allowed(served, "list", "pods", ns=n), n)
            self.assertTrue(allowed(served, "list", "statefulsets", "apps", ns=n), n)
            for verb in ("get", "watch", "create", "update", "delete", "patch"):
                self.assertFalse(allowed(served, verb, "pods", ns=n), verb)
            # The trust bundle it publishes there, and no other ConfigMap.
            bundle = self.flags["publish-trust"]
            for verb in ("get", "update"):
                self.assertTrue(allowed(served, verb, "configmaps", name=bundle, ns=n), verb)
                self.assertFalse(allowed(served, verb, "configmaps", name="kube-root-ca.crt", ns=n), verb)
            self.assertTrue(allowed(served, "create", "configmaps", ns=n))
            self.assertFalse(allowed(served, "list", "configmaps", ns=n))
        # Events on its CSRs (namespace "default": they are cluster-scoped).
        self.assertTrue(allowed(g, "create", "events", ns="default"))
        self.assertFalse(allowed(g, "get", "secrets", ns="distls-example"))
        # Its Lease, in its own namespace only.
        lease = self.flags["lease-name"]
        for verb in ("get", "update"):
            self.assertTrue(allowed(g, verb, "leases", "coordination.k8s.io", lease, ns=self.ns))
            self.assertFalse(allowed(g, verb, "leases", "coordination.k8s.io", lease, ns="kube-system"))
        self.assertTrue(allowed(g, "create", "leases", "coordination.k8s.io", ns=self.ns))

    def test_signer_and_sidecars_agree(self):
        side = sidecar_options(container(pod_spec(one(render("example"), "StatefulSet", "app")), SIDECAR))
        self.assertEqual(self.flags["signer-name"], side["signer-name"])
        self.assertEqual(self.flags["trust-domain"], side["trust-domain"])
        self.assertLessEqual(duration_seconds(side["cert-ttl"]), duration_seconds(self.flags["max-ttl"]))
        # The API accepts no expirationSeconds below 600.
        self.assertGreaterEqual(duration_seconds(side["cert-ttl"]), 600)


class CertManagerOverlayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_kubectl()
        cls.objects = render("overlays/cert-manager")
        cls.sidecar = container(pod_spec(one(cls.objects, "StatefulSet", "app")), SIDECAR)

    def test_sidecar_asks_the_cluster_issuer(self):
        signer = sidecar_options(self.sidecar)["signer-name"]
        prefix = "clusterissuers.cert-manager.io/"
        self.assertTrue(signer.startswith(prefix), signer)
        issuer = one(self.objects, "ClusterIssuer", signer[len(prefix):])
        self.assertNotIn("namespace", issuer["metadata"])
        self.assertTrue(issuer["spec"]["ca"]["secretName"])

    def test_only_the_signer_name_differs_from_the_example(self):
        base = sidecar_options(container(pod_spec(one(render("example"), "StatefulSet", "app")), SIDECAR))
        here = sidecar_options(self.sidecar)
        self.assertEqual({"signer-name"}, {k for k in base.keys() | here.keys() if base.get(k) != here.get(k)})

    def test_distls_approves_and_signs_nothing(self):
        deploy = one(self.objects, "Deployment", "distls-signer")
        c = pod_spec(deploy)["containers"][0]
        flags = signer_flags(c)
        signer = sidecar_options(self.sidecar)["signer-name"]
        self.assertEqual(signer, flags["signer-name"])
        self.assertIn("approve-only", flags)
        self.assertIsNone(flags["approve-only"])
        self.assertNotIn("ca-cert", flags)
        self.assertNotIn("ca-key", flags)
        mounted = {v["name"] for v in pod_spec(deploy)["volumes"]}
        self.assertNotIn("ca", mounted, "the CA key is cert-manager's, never mounted here")
        # The same checks as the signer: namespaces, trust domain, the bundle it publishes.
        base = signer_flags(pod_spec(one(render("base"), "Deployment", "distls-signer"))["containers"][0])
        for f in ("namespaces", "trust-domain", "max-ttl", "publish-trust", "trust-bundle", "leader-elect"):
            self.assertEqual(base.get(f), flags.get(f), f)
        g = grants(self.objects, "distls-system", pod_spec(deploy)["serviceAccountName"])
        self.assertTrue(allowed(g, "approve", "signers", CERTS, signer))
        self.assertFalse(allowed(g, "sign", "signers", CERTS, signer))
        self.assertFalse(allowed(g, "approve", "signers", CERTS, "distls.io/erlang-dist"))
        self.assertFalse(allowed(g, "update", CSR + "/status", CERTS))
        self.assertTrue(allowed(g, "update", CSR + "/approval", CERTS))
        for ns in flags["namespaces"].split(","):
            self.assertTrue(allowed(g, "list", "pods", ns=ns), ns)


# ---------------------------------------------------------------------------
# The image
# ---------------------------------------------------------------------------

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages, args = [], {}
    for ins, rest in dockerfile_instructions(DOCKERFILE.read_text()):
        if ins == "ARG" and not stages:
            k, _, v = rest.partition("=")
            args[k] = v
        if ins == "FROM":
            rest = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest)
            stages.append([])
        if stages:
            stages[-1].append((ins, rest))
    return stages


def installed_packages(stage) -> set[str]:
    pkgs = set()
    for ins, rest in stage:
        if ins == "RUN":
            for cmd in rest.split("&&"):
                words = shlex.split(cmd)
                if "install" in words and any(w.endswith("apt-get") for w in words):
                    after = words[words.index("install") + 1:]
                    pkgs |= {w for w in after if not w.startswith("-")}
    return pkgs


class DockerfileTest(unittest.TestCase):
    """No Docker engine runs here: the Dockerfile is checked by reading it."""

    def setUp(self):
        self.stages = dockerfile_stages()

    def test_two_stages_from_pinned_debian_bookworm(self):
        self.assertEqual(2, len(self.stages))
        build, runtime = (s[0][1] for s in self.stages)
        self.assertEqual("debian:bookworm AS build", build)
        self.assertEqual("debian:bookworm-slim", runtime)

    def test_runtime_runs_distls_as_non_root(self):
        runtime = self.stages[-1]
        users = [rest for ins, rest in runtime if ins == "USER"]
        self.assertTrue(users, "the runtime stage sets no USER")
        uid = users[-1].split(":")[0]
        self.assertTrue(uid.isdigit(), "a numeric USER lets Kubernetes verify runAsNonRoot")
        self.assertEqual("65532", uid)
        entry = [json.loads(rest) for ins, rest in runtime if ins == "ENTRYPOINT"]
        self.assertEqual([["/usr/local/bin/distls"]], entry)
        copies = [rest for ins, rest in runtime if ins == "COPY"]
        self.assertIn("--from=build /build/distls /usr/local/bin/distls", copies)
        self.assertIn("--from=build /build/ebin/ /opt/distls/ebin/", copies)

    def test_build_stage_builds_without_tests(self):
        runs = " ".join(rest for ins, rest in self.stages[0] if ins == "RUN")
        self.assertIn("-DDISTLS_BUILD_TESTS=OFF", runs)
        self.assertIn("cmake --build /build", runs)

    def test_build_stage_has_the_build_packages_of_bootstrap(self):
        # The array ends at a ")" of its own line; comments inside it hold parentheses too.
        m = re.search(r"^PACKAGES=\($(.*?)^\)$", BOOTSTRAP.read_text(), re.S | re.M)
        listed = {p for line in m.group(1).splitlines() for p in line.split("#", 1)[0].split()}
        self.assertIn("libssl-dev", listed)
        wanted = listed - TEST_ONLY_PACKAGES
        self.assertEqual(set(), wanted - installed_packages(self.stages[0]),
                         "scripts/bootstrap.sh builds with packages the image lacks")

    def test_runtime_has_the_shared_libraries_distls_links(self):
        runtime = installed_packages(self.stages[-1])
        self.assertTrue({"libssl3", "libc-ares2", "libyaml-0-2", "libboost-json1.81.0", "libboost-url1.81.0"}
                        <= runtime)
        binary = Path(os.environ.get("DISTLS_BIN") or REPO_ROOT / "build" / "distls")
        if not os.access(binary, os.X_OK) or not shutil.which("ldd") or not shutil.which("dpkg"):
            self.skipTest(f"needs a built {binary}, ldd and dpkg to map libraries to packages")
        ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
        if ldd.returncode != 0:
            self.skipTest(f"ldd cannot read {binary}: {ldd.stdout.strip() or ldd.stderr.strip()}")
        needed = set()
        for line in ldd.stdout.splitlines():
            m = re.search(r"=> (/\S+)", line)
            if not m:
                continue
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(m.group(1))],
                                   capture_output=True, text=True)
            if owner.returncode == 0:
                needed.add(owner.stdout.split(":")[0])
        self.assertTrue(needed)
        self.assertEqual(set(), needed - runtime - SLIM_BASE_PACKAGES,
                         f"{binary} links libraries whose packages the runtime stage lacks")

    def test_build_context_keeps_the_sources(self):
        patterns = [l.strip() for l in DOCKERIGNORE.read_text().splitlines()
                    if l.strip() and not l.startswith("#")]

        def ignored(path):
            return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/"))
                       for p in patterns)

        for needed in ("CMakeLists.txt", "certs", "include", "proxy", "proxy/erlang"):
            self.assertFalse(ignored(needed), needed)
        for junk in (".git", "build", "build-asan"):
            self.assertTrue(ignored(junk), junk)


# ---------------------------------------------------------------------------
# The binary knows the names the manifests use
# ---------------------------------------------------------------------------

class BinaryFlagsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_kubectl()
        cls.binary = Path(os.environ.get("DISTLS_BIN") or REPO_ROOT / "build" / "distls")
        if not os.access(cls.binary, os.X_OK):
            raise unittest.SkipTest(f"no distls binary at {cls.binary}")

    def help(self, *cmd):
        out = subprocess.run([str(self.binary), *cmd, "--help"], capture_output=True, text=True, timeout=30)
        return out.returncode, out.stdout + out.stderr

    def test_proxy_knows_every_sidecar_variable(self):
        rc, text = self.help("proxy")
        self.assertEqual(0, rc, text)
        if "k8s-csr" not in text:
            self.skipTest("distls proxy has no k8s-csr source yet")
        for d in ("example", "overlays/cert-manager"):
            sidecar = container(pod_spec(one(render(d), "StatefulSet", "app")), SIDECAR)
            for name in env_of(sidecar):
                if name.startswith("DISTLS_"):
                    with self.subTest(kustomization=d, variable=name):
                        self.assertRegex(text, rf"\b{name}\b")

    def test_signer_knows_every_flag(self):
        rc, text = self.help("signer")
        if rc != 0 or "--signer-name" not in text:
            self.skipTest("distls has no signer command yet")
        c = container(pod_spec(one(render("base"), "Deployment", "distls-signer")), "signer")
        for flag in flag_args(c["args"][1:]):
            with self.subTest(flag=flag):
                self.assertRegex(text, rf"--{re.escape(flag)}\b")


if __name__ == "__main__":
    unittest.main()
