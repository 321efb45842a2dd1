#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/: a few valid inputs each, as
distls meets them (real EPMD requests and send_name frames, PEM made by openssl, a
kubeconfig, Kubernetes objects). Run again to refresh them; keys and certificates are
new each time, the rest is the same. Needs python3 and the openssl command."""

import base64
import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def write(target: str, name: str, data) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode() if isinstance(data, str) else data)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def epmd() -> None:
    # ALIVE2_REQ as OTP 25's erl_epmd sends it for register_node("app", 43210).
    write("epmd", "alive2_req", bytes([120, 0xa8, 0xca, 77, 0, 0, 6, 0, 5, 0, 3]) + b"app" + bytes([0, 0]))
    # A hidden node with extra data.
    name, extra = b"remsh_42", b"\x01\x02"
    write("epmd", "alive2_req_hidden",
          bytes([120]) + struct.pack(">HBBHHH", 4371, 72, 0, 6, 5, len(name)) + name
          + struct.pack(">H", len(extra)) + extra)
    write("epmd", "port_please2_req", b"z" + b"app")
    write("epmd", "port_please2_req_full", b"z" + b"app@10.0.0.6")   # distls extension
    write("epmd", "port_please2_req_ipv6", b"z" + b"app@[fd00::6]")
    write("epmd", "names_req", b"n")
    write("epmd", "peers_req", b"D")
    write("epmd", "kill_req", b"k")


def dist_handshake() -> None:
    def new_form(name: bytes, flags=0x0000000d07df7fbd, creation=0x5f3759df) -> bytes:
        return b"N" + struct.pack(">QIH", flags, creation, len(name)) + name

    write("dist_handshake", "send_name_v6", new_form(b"app@10.0.0.5"))
    write("dist_handshake", "send_name_v6_dns", new_form(b"app@app-0.app.shop.svc.cluster.local"))
    write("dist_handshake", "send_name_v6_ipv6", new_form(b"app@fd00::5"))
    write("dist_handshake", "send_name_v5", b"n" + struct.pack(">HI", 5, 0x0007df7d) + b"app@10.0.0.5")
    write("dist_handshake", "node_name", b"app@[::1]")
    write("dist_handshake", "node_name_short", b"app@host_1")


def pem_and_k8s(tmp: Path) -> dict:
    """Keys, certificates and CSRs made by openssl; returns the PEM texts by name."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/O=distls/CN=distls CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=tmp)
    sans = "IP:10.0.0.5,DNS:app-0.app.shop.svc.cluster.local,URI:spiffe://cluster.local/ns/shop/sa/app"
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key",
            "-out", "leaf.csr", "-subj", "/O=distls/CN=app@10.0.0.5", "-addext", "subjectAltName=" + sans,
            "-addext", "keyUsage=critical,digitalSignature",
            "-addext", "extendedKeyUsage=serverAuth,clientAuth", cwd=tmp)
    (tmp / "ext.cnf").write_text(
        "subjectAltName=" + sans + "\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "1", "-extfile", "ext.cnf", "-out", "leaf.crt", cwd=tmp)
    # Valid past 2049, so its notAfter is a GeneralizedTime (RFC 5280 4.1.2.5), as in
    # long-lived CAs.
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "long_lived.key", "-out", "long_lived.crt", "-days", "15000",
            "-subj", "/CN=long-lived CA", cwd=tmp)
    openssl("ec", "-in", "leaf.key", "-out", "leaf_traditional.key", cwd=tmp)
    openssl("genpkey", "-algorithm", "ed25519", "-out", "ed25519.key", cwd=tmp)
    openssl("req", "-new", "-key", "ed25519.key", "-out", "ed25519.csr", "-subj", "/CN=app@fd00::5",
            "-addext", "subjectAltName=IP:fd00::5,DNS:App.Example", cwd=tmp)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa.key", cwd=tmp)
    openssl("rsa", "-in", "rsa.key", "-traditional", "-out", "rsa_traditional.key", cwd=tmp)
    for src, der in [("leaf.crt", "leaf.crt.der"), ("leaf.csr", "leaf.csr.der"),
                     ("long_lived.crt", "long_lived.crt.der")]:
        kind = "x509" if src.endswith(".crt") else "req"
        openssl(kind, "-in", src, "-outform", "DER", "-out", der, cwd=tmp)
    openssl("pkey", "-in", "leaf.key", "-outform", "DER", "-out", "leaf.key.der", cwd=tmp)
    return {p.name: p.read_bytes() for p in tmp.iterdir()}


def pem_csr(f: dict) -> None:
    write("pem_csr", "leaf_chain.pem", f["leaf.crt"] + f["ca.crt"])
    write("pem_csr", "leaf_key_and_cert.pem", f["leaf.key"] + f["leaf.crt"] + f["ca.crt"])
    write("pem_csr", "ec_traditional.key", f["leaf_traditional.key"])
    write("pem_csr", "rsa_traditional.key", f["rsa_traditional.key"])
    write("pem_csr", "ed25519.key", f["ed25519.key"])
    write("pem_csr", "leaf.csr", f["leaf.csr"])
    write("pem_csr", "ed25519.csr", f["ed25519.csr"])
    write("pem_csr", "long_lived_key_and_cert.pem", f["long_lived.key"] + f["long_lived.crt"])
    write("pem_csr", "leaf.crt.der", f["leaf.crt.der"])
    write("pem_csr", "long_lived.crt.der", f["long_lived.crt.der"])
    write("pem_csr", "leaf.csr.der", f["leaf.csr.der"])
    write("pem_csr", "leaf.key.der", f["leaf.key.der"])


def k8s_json(f: dict) -> None:
    b64 = lambda b: base64.b64encode(b).decode()
    csr = {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "distls-x7k2p", "generateName": "distls-", "resourceVersion": "4711",
                     "labels": {"app.kubernetes.io/managed-by": "distls"}},
        "spec": {"request": b64(f["leaf.csr"]), "signerName": "distls.io/erlang-dist",
                 "expirationSeconds": 3600,
                 "usages": ["digital signature", "key encipherment", "server auth", "client auth"],
                 "username": "system:serviceaccount:shop:app",
                 "groups": ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"]},
        "status": {}}
    pod = {"metadata": {"name": "app-0", "namespace": "shop"},
           "spec": {"serviceAccountName": "app", "hostname": "app-0", "subdomain": "app"},
           "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]}}
    pods = {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "4712"}, "items": [pod]}
    issued = json.loads(json.dumps(csr))
    issued["status"] = {"certificate": b64(f["leaf.crt"] + f["ca.crt"]),
                        "conditions": [{"type": "Approved", "status": "True", "reason": "DistlsPodVerified",
                                        "message": "pod shop/app-0 verified"}]}
    denied = json.loads(json.dumps(csr))
    denied["status"] = {"conditions": [{"type": "Denied", "status": "True", "reason": "NoSuchPod",
                                        "message": "no pod in namespace shop has IP 10.0.0.5"}]}
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "AlreadyExists",
              "message": "certificatesigningrequests \"distls-x7k2p\" already exists", "code": 409}
    for name, obj in [("csr_and_pods.json", [csr, pods]), ("csr.json", csr), ("pods.json", pods),
                      ("csr_issued.json", issued), ("csr_denied.json", denied), ("status.json", status)]:
        write("k8s_json", name, json.dumps(obj, indent=1))


def kubeconfig(f: dict) -> None:
    b64 = lambda b: base64.b64encode(b).decode()
    write("kubeconfig", "files.yaml", """\
apiVersion: v1
kind: Config
current-context: kind-distls
clusters:
- name: kind-distls
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
    tls-server-name: kubernetes.default.svc
contexts:
- name: kind-distls
  context:
    cluster: kind-distls
    user: kind-distls
    namespace: shop
- name: other
  context: {cluster: kind-distls, user: token}
users:
- name: kind-distls
  user:
    client-certificate: client.crt
    client-key: client.key
- name: token
  user:
    tokenFile: token
""")
    write("kubeconfig", "inline.yaml", f"""\
# As kind and k3s write them: everything inline.
apiVersion: v1
kind: Config
preferences: {{}}
current-context: default
clusters:
- cluster:
    certificate-authority-data: {b64(f["ca.crt"])}
    server: "https://[::1]:6443/k8s"
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
users:
- name: default
  user:
    token: >-
      eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDphcHAifQ.c2ln
""")
    write("kubeconfig", "block_scalars.yaml", """\
---
kind: Config
current-context: 'edge'
clusters:
  - name: edge
    cluster:
      server: "https://api.example.com"
      insecure-skip-tls-verify: true
      extensions: [ {name: x, extension: {a: 1, b: [true, ~, null, "\\u00e9\\t"]}} ]
contexts:
  - name: edge
    context:
      cluster: edge
      user: edge
users:
  - name: edge
    user:
      token: |-
        abc.def.ghi
note: >
  folded
  text
...
""")
    write("kubeconfig", "json.json", json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://10.96.0.1:443",
                                               "certificate-authority": "ca.crt"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "kube-system"}}],
        "users": [{"name": "u", "user": {"client-certificate-data": b64(f["leaf.crt"]),
                                         "client-key-data": b64(f["leaf.key"])}}]}, indent=2))
    # As kubectl, kind, gcloud, aws and az lay them out (tests/certs/k8s/kubeconfigs/).
    for real in sorted((HERE.parent / "certs" / "k8s" / "kubeconfigs").glob("*.yaml")):
        write("kubeconfig", "real_" + real.name, real.read_bytes())


def config() -> None:
    seeds = {
        "file_source": ["--node", "app@10.0.0.5", "--listen", "10.0.0.5:4370", "--cert", "pod/tls.crt",
                        "--key", "pod/tls.key", "--trust-bundle", "pod/ca.crt"],
        "local_ca": ["--node=app@app-0.app.shop.svc.cluster.local", "--cert-source=local-ca",
                     "--ca-cert", "ca/ca.crt", "--ca-key", "ca/ca.key", "--cert-ttl", "1h30m",
                     "--epmd", "[::1]:4369", "--admin", "off", "--discovery", "static:app@10.0.0.6,app@10.0.0.7",
                     "--basename", "app", "--refresh", "10s", "--tls-min", "1.2"],
        "k8s_csr_env": ["DISTLS_NODE=app@fd00::5", "DISTLS_CERT_SOURCE=k8s-csr",
                        "DISTLS_TRUST_BUNDLE=/var/run/distls/ca.crt", "DISTLS_TRUST_DOMAIN=cluster.local",
                        "DISTLS_SERVICE_ACCOUNT=app", "DISTLS_CERT_TTL=2d", "--discovery", "dns-srv:app.shop.svc",
                        "--dns-server", "127.0.0.1:5353,[::1]:53,10.96.0.10", "--max-connections", "100",
                        "--handshake-timeout", "5s", "--peer-idle-timeout", "1d1h1m1s", "--log-level", "debug"],
        "discovery_dns_a": ["--node", "app@10.0.0.5", "--cert", "c", "--key", "k", "--trust-bundle", "t",
                            "--discovery", "dns-a:app.shop.svc.cluster.local", "--peer-port", "4370",
                            "--handshake-rate", "0.5", "--allow-peer", "spiffe://cluster.local/ns/shop/*",
                            "--log-format", "json", "--drain-timeout", "30s", "--reload-interval", "1m",
                            "--uri-san", "spiffe://cluster.local/ns/shop/sa/app", "--signer-name", "example.com/x"],
    }
    for name, words in seeds.items():
        write("config", name, "\n".join(words))


def main() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    epmd()
    dist_handshake()
    config()
    with tempfile.TemporaryDirectory() as d:
        files = pem_and_k8s(Path(d))
    pem_csr(files)
    k8s_json(files)
    kubeconfig(files)


if __name__ == "__main__":
    main()
