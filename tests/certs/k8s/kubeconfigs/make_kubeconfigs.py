#!/usr/bin/env python3
"""Writes the kubeconfig fixtures beside this file, each as the tool that writes
kubeconfigs in the wild lays it out, with certificates and keys that belong together so
that tests/certs/k8s/kubeconfig_test.cpp can load them whole:

  kubectl.yaml  the real kubectl (`kubectl config set-cluster/set-credentials/
                set-context/set/use-context` into an empty file): two clusters (one IPv6,
                one with tls-server-name), token, client-certificate, exec and tokenFile
                users, three contexts.  robot.token is the tokenFile it names.
  kind.yaml     `kind get kubeconfig --name distls`: kubeadm's admin.conf (RSA CA and
                RSA client key in PKCS#1 form) renamed to kind-<name> and pointed at the
                published port, marshalled by gopkg.in/yaml.v3 then normalised through
                sigs.k8s.io/yaml (kind's kubeconfig/internal/kubeconfig/encode.go), so
                laid out as in kind's encode_test.go.
  gke.yaml      `gcloud container clusters get-credentials`, twice: exec users running
                gke-gcloud-auth-plugin, whose installHint gcloud's YAML writer folds
                over two lines.
  eks.yaml      `aws eks update-kubeconfig`, twice (once with --profile, once with
                --role-arn and --alias): ARNs as names, exec users with args and env
                lists, dumped by ruamel.yaml in insertion order
                (awscli/customizations/eks/kubeconfig.py, ordered_yaml.py).
  aks.yaml      `az aks get-credentials` then `az aks get-credentials --admin`: the
                kubeconfig AKS serves, merged by azure-cli with PyYAML's
                safe_dump(default_flow_style=False) (this script calls the same), so the
                kubelogin installHint is a double-quoted multi-line string; the admin
                user has a client certificate and a token, its context is <name>-admin.

The cloud names, IDs and hosts are made up. Certificates last 100 years, so that the
fixtures never expire (kubeconfig loading does not check validity anyway). Run again
to refresh them; keys and certificates are new each time. Needs python3-yaml, the
openssl command and kubectl."""

import base64
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DAYS = "36500"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def ca(work: Path, name: str, cn: str, key_args: list[str]) -> None:
    openssl(*[a.format(f"{name}.key") for a in key_args], cwd=work)
    openssl("req", "-x509", "-new", "-key", f"{name}.key", "-subj", f"/CN={cn}", "-days", DAYS,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
            "-out", f"{name}.crt", cwd=work)


def client(work: Path, name: str, ca_name: str, subject: str, key_args: list[str]) -> None:
    openssl(*[a.format(f"{name}.key") for a in key_args], cwd=work)
    openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=work)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca_name}.crt", "-CAkey", f"{ca_name}.key",
            "-CAcreateserial", "-days", DAYS, "-out", f"{name}.crt", cwd=work)


# kubeadm's keys are RSA 2048 in PKCS#1 ("RSA PRIVATE KEY"), AKS's RSA 4096 likewise.
RSA2048 = ["genrsa", "-traditional", "-out", "{}", "2048"]
RSA4096 = ["genrsa", "-traditional", "-out", "{}", "4096"]
P256 = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "{}"]


def kubectl_fixture(work: Path) -> None:
    ca(work, "kubectl-ca", "kubernetes", P256)
    client(work, "kubectl-admin", "kubectl-ca", "/O=system:masters/CN=admin", P256)
    config = work / "kubectl.yaml"
    config.write_text("")
    env = {**os.environ, "HOME": str(work), "KUBECONFIG": str(config)}
    for args in [
        ["set-cluster", "dev", "--server=https://127.0.0.1:6443",
         "--certificate-authority=kubectl-ca.crt", "--embed-certs"],
        ["set-cluster", "prod", "--server=https://[fd00:10:96::1]:6443/k8s",
         "--certificate-authority=kubectl-ca.crt", "--embed-certs",
         "--tls-server-name=kubernetes.default.svc"],
        ["set-credentials", "dev-token", "--token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZXYifQ.c2ln"],
        ["set-credentials", "admin", "--client-certificate=kubectl-admin.crt",
         "--client-key=kubectl-admin.key", "--embed-certs"],
        ["set-credentials", "eks", "--exec-command=aws", "--exec-api-version=client.authentication.k8s.io/v1beta1",
         "--exec-arg=eks,get-token,--cluster-name,prod", "--exec-env=AWS_PROFILE=prod"],
        ["set", "users.robot.tokenFile", "robot.token"],
        ["set-context", "dev", "--cluster=dev", "--user=dev-token", "--namespace=team-a"],
        ["set-context", "prod-admin", "--cluster=prod", "--user=admin"],
        ["set-context", "prod-exec", "--cluster=prod", "--user=eks"],
        ["set-context", "robot", "--cluster=dev", "--user=robot", "--namespace=ci"],
        ["use-context", "dev"],
    ]:
        subprocess.run(["kubectl", "config", *args], env=env, cwd=work, check=True, capture_output=True)
    shutil.copy(config, HERE / "kubectl.yaml")
    (HERE / "robot.token").write_text("robot-token-from-file\n")


def kind_fixture(work: Path) -> None:
    ca(work, "kind-ca", "kubernetes", RSA2048)
    client(work, "kind-admin", "kind-ca", "/O=kubeadm:cluster-admins/CN=kubernetes-admin", RSA2048)
    (HERE / "kind.yaml").write_text(f"""\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {b64(work / "kind-ca.crt")}
    server: https://127.0.0.1:41235
  name: kind-distls
contexts:
- context:
    cluster: kind-distls
    user: kind-distls
  name: kind-distls
current-context: kind-distls
kind: Config
preferences: {{}}
users:
- name: kind-distls
  user:
    client-certificate-data: {b64(work / "kind-admin.crt")}
    client-key-data: {b64(work / "kind-admin.key")}
""")


def gke_fixture(work: Path) -> None:
    ca(work, "gke-ca", "c4a1e0f2-5d7b-4c39-9a0e-2f7d1b6c8e41", RSA2048)
    hint = ("Install gke-gcloud-auth-plugin for use with kubectl by following "
            "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin")
    names = [("gke_acme-prod_europe-west1_erlang", "https://34.76.12.201"),
             ("gke_acme-dev_us-central1-a_sandbox", "https://35.202.7.14")]
    doc = {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": b64(work / "gke-ca.crt"), "server": server},
                      "name": name} for name, server in names],
        "contexts": [{"context": {"cluster": name, "user": name}, "name": name} for name, _ in names],
        "current-context": names[-1][0],
        "kind": "Config",
        "preferences": {},
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "gke-gcloud-auth-plugin",
            "installHint": hint, "provideClusterInfo": True}}} for name, _ in names],
    }
    (HERE / "gke.yaml").write_text(yaml.safe_dump(doc, default_flow_style=False))


def eks_fixture(work: Path) -> None:
    ca(work, "eks-ca", "kubernetes", RSA2048)
    data = b64(work / "eks-ca.crt")

    def entries(region: str, name: str, endpoint: str, extra_args: list[str], env, alias=None):
        arn = f"arn:aws:eks:{region}:123456789012:cluster/{name}"
        exec_ = {"apiVersion": "client.authentication.k8s.io/v1beta1",
                 "args": ["--region", region, "eks", "get-token", "--cluster-name", name, *extra_args],
                 "command": "aws"}
        if env:
            exec_["env"] = [{"name": "AWS_PROFILE", "value": env}]
        return ({"cluster": {"certificate-authority-data": data, "server": endpoint}, "name": arn},
                {"name": arn, "user": {"exec": exec_}},
                {"context": {"cluster": arn, "user": arn}, "name": alias or arn})

    first = entries("eu-west-1", "erlang-prod", "https://4F1C2B7E9A0D3E5F6A7B8C9D0E1F2A3B.gr7.eu-west-1.eks.amazonaws.com",
                    [], "prod")
    second = entries("us-east-2", "erlang-staging",
                     "https://9D8C7B6A5F4E3D2C1B0A9F8E7D6C5B4A.yl4.us-east-2.eks.amazonaws.com",
                     ["--role", "arn:aws:iam::123456789012:role/erlang-deployer"], None, alias="staging")
    doc = {"apiVersion": "v1", "clusters": [first[0], second[0]], "contexts": [first[2], second[2]],
           "current-context": second[2]["name"], "kind": "Config", "preferences": {},
           "users": [first[1], second[1]]}
    (HERE / "eks.yaml").write_text(yaml.safe_dump(doc, default_flow_style=False, sort_keys=False))


def aks_fixture(work: Path) -> None:
    ca(work, "aks-ca", "ca", RSA4096)
    client(work, "aks-admin", "aks-ca", "/O=system:masters/CN=masterclient", RSA4096)
    server = "https://erlang-prod-dns-4f1c2b7e.hcp.westeurope.azmk8s.io:443"
    cluster = {"cluster": {"certificate-authority-data": b64(work / "aks-ca.crt"), "server": server},
               "name": "erlang-prod"}
    user = {"name": "clusterUser_rg-erlang_erlang-prod", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "args": ["get-token", "--environment", "AzurePublicCloud",
                 "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
                 "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
                 "--tenant-id", "2f1a6c3e-8b7d-4e59-a0c4-d6b9e3f71a28", "--login", "devicecode"],
        "command": "kubelogin", "env": None,
        "installHint": "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
                       "To learn more, please go to https://aka.ms/aks/kubelogin\n",
        "provideClusterInfo": False}}}
    admin = {"name": "clusterAdmin_rg-erlang_erlang-prod", "user": {
        "client-certificate-data": b64(work / "aks-admin.crt"),
        "client-key-data": b64(work / "aks-admin.key"),
        "token": "5d3c0f1b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615f4"
                 "e3d2c1b0a9f8e7d6c5b4a3928170615f4e3d2c1b0a9f8e7d6c5b4a392817061a"}}
    doc = {"apiVersion": "v1", "clusters": [cluster],
           "contexts": [{"context": {"cluster": "erlang-prod", "user": user["name"]}, "name": "erlang-prod"},
                        {"context": {"cluster": "erlang-prod", "user": admin["name"]},
                         "name": "erlang-prod-admin"}],
           "current-context": "erlang-prod-admin", "kind": "Config", "preferences": {},
           "users": [user, admin]}
    (HERE / "aks.yaml").write_text(yaml.safe_dump(doc, default_flow_style=False))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="distls-kubeconfigs-") as tmp:
        work = Path(tmp)
        kubectl_fixture(work)
        kind_fixture(work)
        gke_fixture(work)
        eks_fixture(work)
        aks_fixture(work)


if __name__ == "__main__":
    main()
