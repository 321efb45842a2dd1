"""A stand-in for cert-manager's CertificateSigningRequest controller with a CA issuer
(pkg/controller/certificatesigningrequests/ca), for the API double: it signs only CSRs
of its own signerName that are Approved and neither Denied nor Failed, honours
spec.expirationSeconds, copies the request's SANs and usages, and writes the leaf and
the CA into status.certificate. It runs as cert-manager's service account with the RBAC
cert-manager grants itself (sign on clusterissuers.cert-manager.io/*), so the double's
signing admission applies to it as to the real one.

    standin = CertManagerStandIn(api, work_dir, ca, "clusterissuers.cert-manager.io/distls-ca")
    ...
    standin.stop()
"""

from __future__ import annotations

import base64
import datetime
import subprocess
import threading
from pathlib import Path

from k8s_double import CSR_PATH, ApiError, K8sDouble

NAMESPACE, SERVICE_ACCOUNT = "cert-manager", "cert-manager"
USER = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"

# The CSR usages cert-manager maps to extensions.
KEY_USAGES = {"digital signature": "digitalSignature", "key encipherment": "keyEncipherment"}
EXT_USAGES = {"server auth": "serverAuth", "client auth": "clientAuth"}


class CertManagerStandIn:
    def __init__(self, api: K8sDouble, work: Path, ca, signer_name: str) -> None:
        self.api, self.ca, self.signer_name = api, ca, signer_name
        self.dir = work / "cert-manager"
        self.dir.mkdir(exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        api.set_permissions(user=USER, rules=[
            {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/status"],
             "verbs": ["update", "patch"]},
            {"apiGroups": ["certificates.k8s.io"], "resources": ["signers"],
             "resourceNames": ["clusterissuers.cert-manager.io/*"], "verbs": ["sign"]},
        ])
        self.token = api.token_for(NAMESPACE, SERVICE_ACCOUNT)
        self.signed: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            try:
                csrs = self.api.api("GET", CSR_PATH, token=self.token)["items"]
            except (ApiError, OSError) as e:
                self.errors.append(str(e))
                continue
            for csr in csrs:
                if self._due(csr):
                    try:
                        self._sign(csr)
                    except (ApiError, OSError, subprocess.CalledProcessError) as e:
                        self.errors.append(f"{csr['metadata']['name']}: {e}")

    def _due(self, csr: dict) -> bool:
        if csr["spec"].get("signerName") != self.signer_name or csr.get("status", {}).get("certificate"):
            return False
        types = {c["type"] for c in csr.get("status", {}).get("conditions", []) if c.get("status") == "True"}
        return "Approved" in types and not types & {"Denied", "Failed"}

    def _sign(self, csr: dict) -> None:
        name = csr["metadata"]["name"]
        req = self.dir / f"{name}.csr"
        req.write_bytes(base64.b64decode(csr["spec"]["request"]))
        now = datetime.datetime.now(datetime.timezone.utc)
        # cert-manager backdates nothing and honours expirationSeconds as the duration.
        end = now + datetime.timedelta(seconds=csr["spec"].get("expirationSeconds", 90 * 24 * 3600))
        usages = csr["spec"].get("usages", [])
        ext = self.dir / f"{name}.ext"
        ext.write_text("basicConstraints=critical,CA:FALSE\n"
                       f"keyUsage=critical,{','.join(KEY_USAGES[u] for u in usages if u in KEY_USAGES)}\n"
                       f"extendedKeyUsage={','.join(EXT_USAGES[u] for u in usages if u in EXT_USAGES)}\n")
        conf = self.dir / "ca.cnf"
        conf.write_text(f"""[ca]
default_ca = ca
[ca]
dir = {self.dir}
database = {self.dir}/index.txt
serial = {self.dir}/serial
new_certs_dir = {self.dir}
certificate = {self.ca.cert}
private_key = {self.ca.key}
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = optional
""")
        crt = self.dir / f"{name}.crt"
        fmt = "%Y%m%d%H%M%SZ"
        subprocess.run(["openssl", "ca", "-batch", "-config", str(conf), "-in", str(req), "-out", str(crt),
                        "-startdate", now.strftime(fmt), "-enddate", end.strftime(fmt), "-extfile", str(ext),
                        "-notext"], check=True, capture_output=True, timeout=60)
        chain = crt.read_bytes() + Path(self.ca.cert).read_bytes()
        csr.setdefault("status", {})["certificate"] = base64.b64encode(chain).decode()
        self.api.api("PUT", f"{CSR_PATH}/{name}/status", csr, token=self.token)
        self.signed.append(name)
