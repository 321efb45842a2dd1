"""deploy/monitoring/ with Debian's Prometheus tools: the alerting rules pass `promtool
check rules` and their unit tests (tests/monitoring/, series that fire and do not fire
each alert); the PrometheusRule carries the same rules; the dashboard's queries are
valid PromQL; and every metric the rules and the dashboard use is one a live distls or
a live `distls signer` exports, whose /metrics `promtool check metrics` accepts.

Finally a real Prometheus, loaded with the rules, scrapes two sidecars and the signer:
every rule evaluates without error on their real series, a peer presenting a
certificate from another CA fires DistlsPeerCertificateRefused, a denied CSR fires
DistlsSignerDenials, and a peer that goes away makes DistlsPeerUnreachable pending.

Regenerate prometheusrule.yaml after editing distls.rules.yaml:
    PYTHONPATH=tests/integration python3 tests/integration/deploy/test_monitoring.py --write-prometheusrule
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
from pathlib import Path

from harness import REPO_ROOT, ClusterTestCase, LogFile, free_port, http_get, wait_for

try:
    import yaml
except ImportError:  # scripts/bootstrap.sh installs python3-yaml
    yaml = None

MONITORING = REPO_ROOT / "deploy" / "monitoring"
RULES = MONITORING / "distls.rules.yaml"
PROMETHEUS_RULE = MONITORING / "prometheusrule.yaml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
PODMONITORS = MONITORING / "podmonitor.yaml"
RULE_TESTS = REPO_ROOT / "tests" / "monitoring" / "distls.rules.test.yaml"

PROMETHEUS_RULE_HEADER = """\
# The alerting rules of distls.rules.yaml as a PrometheusRule, for the Prometheus
# Operator (kube-prometheus-stack): kubectl apply -f deploy/monitoring/prometheusrule.yaml
# The Operator's default ruleSelector wants the `release` label of your Helm release;
# set it to yours. spec is distls.rules.yaml verbatim: edit that file, then run
#   PYTHONPATH=tests/integration python3 tests/integration/deploy/test_monitoring.py --write-prometheusrule
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: distls
  namespace: distls-system
  labels:
    app.kubernetes.io/name: distls
    release: kube-prometheus-stack
spec:
"""

# PromQL words that look like metric names but are not.
PROMQL_WORDS = {"sum", "min", "max", "avg", "count", "rate", "increase", "irate", "without", "by",
                "and", "or", "unless", "ignoring", "on", "group_left", "group_right", "offset",
                "clamp_min", "clamp_max", "abs", "bool", "topk", "bottomk", "label_values",
                "humanize", "humanizeDuration"}


def prometheus_rule_text() -> str:
    body = RULES.read_text()
    body = body[body.index("groups:"):]
    return PROMETHEUS_RULE_HEADER + "".join("  " + line if line.strip() else line
                                            for line in body.splitlines(keepends=True))


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise unittest.SkipTest(f"{tool} is not installed (Debian package prometheus; "
                                "scripts/bootstrap.sh installs it)")
    return path


def need_yaml() -> None:
    if yaml is None:
        raise unittest.SkipTest("python3-yaml is not installed (scripts/bootstrap.sh installs it)")


def rules() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def as_instant_promql(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced by values Prometheus parses."""
    return expr.replace("$__rate_interval", "5m").replace("$instance", ".*")


def metric_names(expr: str) -> set[str]:
    """distls_* identifiers of an expression (label values in quotes excluded)."""
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return {w for w in re.findall(r"\bdistls_[a-z0-9_]+\b", unquoted) if w not in PROMQL_WORDS}


def label_matchers(expr: str) -> dict[str, set[str]]:
    """{metric: label names it is selected by} for every `metric{...}` in expr."""
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"\b(distls_[a-z0-9_]+)\{([^}]*)\}", expr):
        names = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"', m.group(2)))
        out.setdefault(m.group(1), set()).update(names)
    return out


def parse_exposition(text: str) -> dict[str, list[dict[str, str]]]:
    """{family: [labels of each sample]}; a family with HELP/TYPE and no sample has []."""
    families: dict[str, list[dict[str, str]]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            families.setdefault(line.split()[2], [])
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            families.setdefault(m.group(1), []).append(labels)
    return families


# ---------------------------------------------------------------------------
# The files, with promtool
# ---------------------------------------------------------------------------

class RulesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.promtool = need("promtool")
        need_yaml()

    def promtool_run(self, *args: str, cwd: Path | None = None) -> str:
        out = subprocess.run([self.promtool, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
        self.assertEqual(0, out.returncode, f"promtool {' '.join(args)}:\n{out.stdout}{out.stderr}")
        return out.stdout

    def test_rules_pass_promtool_check(self) -> None:
        out = self.promtool_run("check", "rules", "--lint=all", "--lint-fatal", str(RULES))
        print(out.strip())
        self.assertIn(f"SUCCESS: {len(rules())} rules found", out)

    def test_every_rule_is_an_alert_with_severity_and_text(self) -> None:
        names = [r.get("alert") for r in rules()]
        self.assertNotIn(None, names, "a recording rule: give it a test here first")
        self.assertEqual(len(names), len(set(names)), "two alerts share a name")
        for r in rules():
            with self.subTest(alert=r["alert"]):
                self.assertTrue(r["alert"].startswith("Distls"))
                self.assertIn(r["labels"]["severity"], ("warning", "critical"))
                self.assertTrue(r["annotations"]["summary"] and r["annotations"]["description"])

    def test_the_alerts_docs_operations_names_exist(self) -> None:
        # The issue's list: expiring identity, failing renewals, rising handshake
        # failures, an unreachable discovered peer, a signer not leading, denials.
        for alert in ("DistlsIdentityExpiringSoon", "DistlsRenewalsFailing", "DistlsHandshakeFailuresHigh",
                      "DistlsPeerUnreachable", "DistlsSignerNotLeading", "DistlsSignerDenials"):
            self.assertIn(alert, {r["alert"] for r in rules()})
        guide = (REPO_ROOT / "docs" / "operations.md").read_text()
        for r in rules():
            self.assertIn(r["alert"], guide, "docs/operations.md does not explain this alert")

    def test_promtool_unit_tests_pass(self) -> None:
        print(self.promtool_run("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent).strip())

    def test_every_alert_has_series_that_fire_it_and_series_that_do_not(self) -> None:
        spec = yaml.safe_load(RULE_TESTS.read_text())
        fired, quiet = set(), set()
        for group in spec["tests"]:
            for check in group.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
                # Series of another instance that must stay quiet sit beside the firing ones:
                # exp_alerts lists every alert expected, so a second one fails the test.
        names = {r["alert"] for r in rules()}
        self.assertEqual(set(), names - fired, "alerts no test fires")
        self.assertEqual(set(), names - quiet, "alerts no test expects to stay quiet")

    def test_prometheusrule_carries_the_same_rules(self) -> None:
        self.assertEqual(prometheus_rule_text(), PROMETHEUS_RULE.read_text(),
                         "deploy/monitoring/prometheusrule.yaml differs from distls.rules.yaml: run "
                         "PYTHONPATH=tests/integration "
                         "python3 tests/integration/deploy/test_monitoring.py --write-prometheusrule")
        obj = yaml.safe_load(PROMETHEUS_RULE.read_text())
        self.assertEqual(("monitoring.coreos.com/v1", "PrometheusRule"), (obj["apiVersion"], obj["kind"]))
        self.assertEqual(yaml.safe_load(RULES.read_text()), obj["spec"])

    def test_dashboard_queries_are_valid_promql(self) -> None:
        exprs = dashboard_exprs()
        self.assertGreater(len(exprs), 15)
        # promtool parses PromQL only inside rules: one recording rule per query.
        doc = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"distls:dashboard_query_{i}", "expr": as_instant_promql(e)} for i, e in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="distls-dashboard-") as f:
            json.dump(doc, f)
            f.flush()
            self.promtool_run("check", "rules", f.name)

    def test_dashboard_is_importable(self) -> None:
        dash = json.loads(DASHBOARD.read_text())
        self.assertEqual("distls", dash["uid"])
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        self.assertEqual("datasource", variables["datasource"]["type"])
        self.assertEqual("prometheus", variables["datasource"]["query"])
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        for p in dash["panels"]:
            with self.subTest(panel=p["title"]):
                g = p["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24)
                for t in p.get("targets", []):
                    # Every query goes to the data source the importer picks.
                    self.assertEqual("${datasource}", t["datasource"]["uid"])
                    self.assertTrue(metric_names(t["expr"]), t["expr"])

    def test_podmonitors_select_the_pods_of_deploy(self) -> None:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            self.skipTest("kubectl is not installed: deploy/ is not rendered")
        with tempfile.TemporaryDirectory(prefix="distls-monitoring-") as home:
            (Path(home) / "kubeconfig").write_text("")
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home, "KUBECONFIG": f"{home}/kubeconfig"}
            objects = []
            for d in ("base", "example"):
                out = subprocess.run([kubectl, "kustomize", str(REPO_ROOT / "deploy" / d)], env=env,
                                     capture_output=True, text=True, timeout=120)
                self.assertEqual(0, out.returncode, out.stderr)
                objects += [o for o in yaml.safe_load_all(out.stdout) if o]
        monitors = [o for o in yaml.safe_load_all(PODMONITORS.read_text()) if o]
        self.assertEqual({"distls-sidecars", "distls-signer"}, {m["metadata"]["name"] for m in monitors})
        for m in monitors:
            with self.subTest(podmonitor=m["metadata"]["name"]):
                wanted = m["spec"]["selector"]["matchLabels"]
                pods = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")
                        and o["metadata"]["namespace"] == m["metadata"]["namespace"]
                        and wanted.items() <= o["spec"]["template"]["metadata"]["labels"].items()]
                self.assertEqual(1, len(pods), f"{wanted} in {m['metadata']['namespace']}")
                spec = pods[0]["spec"]["template"]["spec"]
                containers = spec.get("initContainers", []) + spec["containers"]
                for ep in m["spec"]["podMetricsEndpoints"]:
                    self.assertEqual("/metrics", ep["path"])
                    ports = [c["name"] for c in containers for p in c.get("ports", []) if p.get("name") == ep["port"]]
                    self.assertEqual(1, len(ports), f"one container port named {ep['port']}")
                    c = next(c for c in containers if c["name"] == ports[0])
                    self.assertTrue(c["image"].split("/")[-1].startswith("distls"), c["image"])


# ---------------------------------------------------------------------------
# Live: a sidecar of each kind, the signer, and a real Prometheus
# ---------------------------------------------------------------------------

# deploy/'s RBAC is loaded: pods run where deploy/example runs them, the signer as deploy/base's.
from k8s_double import (EXAMPLE_NAMESPACE as NS, EXAMPLE_SERVICE_ACCOUNT as SA,  # noqa: E402
                        SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT)
SIGNER = "distls.io/erlang-dist"


class LiveTest(ClusterTestCase):
    """Pod 2 renews from a local CA, pod 3 through the CSR API and `distls signer`;
    each discovers the other. One CSR is denied and one peer shows a certificate from
    another CA, so that the counters the alerts read have samples."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.promtool = need("promtool")
        need_yaml()
        super().setUpClass()
        from k8s_double import K8sDouble
        c = cls.cluster
        cls.api = K8sDouble(c, c.build)
        cls.api.apply_rbac_from_deploy()
        cls.ca = c.ca("main")
        kubeconfig = cls.api.write_kubeconfig(c.work / "signer.kubeconfig",
                                              token=cls.api.token_for(SIGNER_NAMESPACE, SIGNER_SERVICE_ACCOUNT),
                                              user="signer")
        cls.signer_admin = free_port()
        cls.signer_log = LogFile(c.work / "signer.log")
        cls.signer = c.spawn("signer", [
            str(c.build.distls), "signer", "--kubeconfig", str(kubeconfig), "--ca-cert", str(cls.ca.cert),
            "--ca-key", str(cls.ca.key), "--signer-name", SIGNER, "--max-ttl", "1h",
            "--admin", f"127.0.0.1:{cls.signer_admin}", "--leader-elect", "--lease-namespace", "distls-system",
            "--resync", "30s"], cls.signer_log)
        wait_for("the signer to lead", lambda: cls.signer_log.events_since(0, "leader_elected"),
                 check=cls.signer.check_running)
        discovery = ["--discovery", "static:app@127.0.0.2,app@127.0.0.3"]
        cls.local = c.pod(2, None, source_args=[
            "--cert-source", "local-ca", "--ca-cert", str(cls.ca.cert), "--ca-key", str(cls.ca.key)],
            extra_distls_args=discovery)
        cls.api.add_pod(NS, "app-3", "127.0.0.3", service_account=SA)
        cls.csr_pod = c.pod(3, None, source_args=[
            "--cert-source", "k8s-csr", "--kubeconfig", str(cls.api.kubeconfig_for(NS, SA, pod="app-3")),
            "--signer-name", SIGNER, "--trust-bundle", str(cls.ca.cert), "--cert-ttl", "10m",
            "--namespace", NS], extra_distls_args=discovery)
        cls.pods = [cls.local, cls.csr_pod]
        c.wait_for_mesh(cls.pods)
        cls.deny_a_csr()
        cls.present_a_foreign_certificate(cls.local)

    @classmethod
    def deny_a_csr(cls) -> None:
        """A CSR made with app-3's own token for an IP that is not app-3's: WrongIP."""
        key, csr = cls.cluster.work / "stray.key", cls.cluster.work / "stray.csr"
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=app@127.0.0.99",
                        "-addext", "subjectAltName=IP:127.0.0.99"], check=True, capture_output=True, timeout=60)
        name = cls.api.create_csr(csr.read_bytes(), token=cls.api.token_for(NS, SA, pod="app-3"),
                                  expiration_seconds=600)["metadata"]["name"]
        wait_for("the signer to deny the stray CSR", lambda: any(
            c["type"] == "Denied" for c in (cls.api.csr(name) or {}).get("status", {}).get("conditions", [])))

    @classmethod
    def present_a_foreign_certificate(cls, pod) -> None:
        """A TLS client with a certificate from a CA the pods do not trust."""
        other = cls.cluster.ca("other", cn="not the distls CA").issue("app@127.0.0.9")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(other.cert, other.key)
        mark = pod.distls_log.mark()
        try:
            with socket.create_connection((pod.ip, pod.tls_port), timeout=10) as raw:
                with ctx.wrap_socket(raw) as tls:
                    tls.recv(1)  # TLS 1.3: the refusal arrives after the client's handshake
        except (OSError, ssl.SSLError):
            pass
        wait_for("distls to refuse the foreign certificate", lambda: pod.distls_log.events_since(
            mark, "tunnel_refused", reason="untrusted_chain"), check=pod.check_running)

    # -- /metrics ------------------------------------------------------------------

    def metrics(self, url: str) -> str:
        status, body = http_get(url + "/metrics")
        self.assertEqual(200, status, url)
        return body

    def live_outputs(self) -> dict[str, str]:
        out = {p.name: self.metrics(p.admin_url) for p in self.pods}
        out["signer"] = self.metrics(f"http://127.0.0.1:{self.signer_admin}")
        return out

    def test_promtool_accepts_every_metrics_page(self) -> None:
        for who, text in self.live_outputs().items():
            with self.subTest(source=who):
                out = subprocess.run([self.promtool, "check", "metrics"], input=text, capture_output=True,
                                     text=True, timeout=60)
                self.assertEqual(0, out.returncode, f"{who}:\n{out.stdout}{out.stderr}")

    def test_rules_and_dashboard_use_only_exported_metrics_and_labels(self) -> None:
        exported: dict[str, list[dict[str, str]]] = {}
        for text in self.live_outputs().values():
            for family, samples in parse_exposition(text).items():
                exported.setdefault(family, []).extend(samples)
        exprs = [r["expr"] for r in rules()] + [as_instant_promql(e) for e in dashboard_exprs()]
        used = set().union(*(metric_names(e) for e in exprs))
        self.assertEqual(set(), used - exported.keys(), "metrics used by the rules or the dashboard "
                                                        "that neither distls nor the signer exports")
        checked = []
        for expr in exprs:
            for metric, labels in label_matchers(expr).items():
                samples = exported[metric]
                if not samples:
                    continue  # an event counter with no event here: its labels are unseen
                # instance and job come from Prometheus's scrape, not from distls.
                seen = set().union(*(s.keys() for s in samples)) | {"instance", "job"}
                self.assertEqual(set(), labels - seen, f"{metric} has no such label ({expr})")
                checked.append(metric)
        print(f"{len(used)} metrics used, all exported; labels checked on {len(set(checked))} of them")
        # The samples this class provoked, so that the label check above had work to do.
        for metric in ("distls_handshake_failures_total", "distls_signer_decisions_total",
                       "distls_renewals_total", "distls_k8s_requests_total"):
            self.assertIn(metric, checked)

    # -- a real Prometheus -----------------------------------------------------------

    def test_prometheus_evaluates_the_rules_on_live_series(self) -> None:
        prometheus = need("prometheus")
        port = free_port()
        work = self.cluster.work / "prometheus"
        work.mkdir()
        targets = [f"127.0.0.1:{p.admin_port}" for p in self.pods]
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [str(RULES)],
                  "scrape_configs": [
                      {"job_name": "distls", "static_configs": [{"targets": targets}]},
                      {"job_name": "distls-signer", "static_configs": [
                          {"targets": [f"127.0.0.1:{self.signer_admin}"], "labels": {"namespace": "distls-system"}}]}]}
        (work / "prometheus.yml").write_text(json.dumps(config))
        log = LogFile(self.cluster.work / "prometheus.log")
        server = self.cluster.spawn("prometheus", [
            prometheus, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"], log, cwd=work)
        url = f"http://127.0.0.1:{port}"

        def query(path: str, **params: str):
            status, body = http_get(f"{url}/api/v1/{path}?{urllib.parse.urlencode(params)}")
            return json.loads(body)["data"] if status == 200 else None

        def all_up() -> bool:
            data = query("targets")
            return data is not None and len(data["activeTargets"]) == 3 and \
                all(t["health"] == "up" for t in data["activeTargets"])
        wait_for("Prometheus to scrape both sidecars and the signer", all_up, 60, check=server.check_running)

        def evaluated() -> list[dict] | None:
            data = query("rules")
            if data is None:
                return None
            rs = [r for g in data["groups"] for r in g["rules"]]
            return rs if rs and all(r.get("lastEvaluation", "").startswith("2") and
                                    not r["lastEvaluation"].startswith("0001") for r in rs) else None
        evaluated_rules = wait_for("every rule to be evaluated", evaluated, 60, check=server.check_running)
        self.assertEqual({r["alert"] for r in rules()}, {r["name"] for r in evaluated_rules})
        for r in evaluated_rules:
            self.assertEqual("ok", r["health"], f"{r['name']}: {r.get('lastError')}")

        def active(name: str, state: str | None = None) -> list[dict]:
            data = query("alerts") or {"alerts": []}
            return [a for a in data["alerts"] if a["labels"]["alertname"] == name
                    and (state is None or a["state"] == state)]
        refused = wait_for("DistlsPeerCertificateRefused to fire", lambda: active(
            "DistlsPeerCertificateRefused", "firing"), 60, check=server.check_running)
        self.assertEqual({("in", "untrusted_chain", f"127.0.0.1:{self.local.admin_port}")},
                         {(a["labels"]["direction"], a["labels"]["reason"], a["labels"]["instance"]) for a in refused})
        denied = wait_for("DistlsSignerDenials to fire", lambda: active("DistlsSignerDenials", "firing"), 60,
                          check=server.check_running)
        self.assertEqual({"WrongIP"}, {a["labels"]["reason"] for a in denied})
        # A full mesh and a leading signer: these stay quiet.
        for name in ("DistlsPeerUnreachable", "DistlsSignerNotLeading", "DistlsIdentityExpiringSoon",
                     "DistlsRenewalsFailing"):
            self.assertEqual([], active(name), name)

        # Pod 3's node stops (its distls stays, as in a crash-looping app container): the
        # two still discover each other, with no tunnel between them.
        self.csr_pod.node.stop()
        pending = wait_for("DistlsPeerUnreachable to be pending for both pods", lambda: len(active(
            "DistlsPeerUnreachable", "pending")) == 2 and active("DistlsPeerUnreachable", "pending"), 60,
            check=server.check_running)
        self.assertEqual(sorted(targets), sorted(a["labels"]["instance"] for a in pending))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-prometheusrule"]:
        PROMETHEUS_RULE.write_text(prometheus_rule_text())
        print(f"wrote {PROMETHEUS_RULE}")
    else:
        unittest.main()
