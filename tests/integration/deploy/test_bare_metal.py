"""docs/bare-metal.md, followed on one machine: three "VMs" on loopback aliases
(10.0.0.5-7 become 127.0.0.5-7), certificates issued by the guide's own commands, each
distls configured by nothing but the guide's proxy.env (environment variables, as
distls.service passes them), each node started with the guide's vm.args flags and no
-pa, finding the distls application in an installed tree (`cmake --install`) through
ERL_LIBS as Erlang finds it in its library directory after the .deb. The nodes must
cluster by discovery alone; then one VM switches to the guide's local-ca lines.

What one machine cannot be is three: each VM gets its own EPMD and admin ports and a
shared free TLS port instead of 4369, 9901 and 4370 (the only changes made to the
guide's values).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

from erlterm import Atom
from harness import (REPO_ROOT, ClusterTestCase, ErlNode, LogFile, distls_env, epmd_names, free_port,
                     http_get, wait_for)

GUIDE = REPO_ROOT / "docs" / "bare-metal.md"
VMS = (5, 6, 7)


def code_block_after(text: str, marker: str, lang: str = "sh") -> str:
    """The first ```lang block after the line containing marker."""
    start = text.index(marker)
    m = re.compile(rf"^```{lang}\n(.*?)^```", re.S | re.M).search(text, start)
    assert m, f"no ```{lang} block after {marker!r} in {GUIDE}"
    return m.group(1)


def env_lines(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if re.match(r"DISTLS_\w+=", line))


class BareMetalGuideTest(ClusterTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        c = cls.cluster
        guide = GUIDE.read_text()
        cls.files_env = env_lines(code_block_after(guide, "`/etc/distls/proxy.env` on `10.0.0.5`"))
        cls.local_ca_env = env_lines(code_block_after(guide, "With a CA on every machine, replace"))
        cls.vm_args = code_block_after(guide, "and says in `vm.args`", lang="").splitlines()
        issue = code_block_after(guide, "**Files issued on an administrator's machine**")

        # The guide's issuing commands, verbatim but for the addresses.
        bin_dir = c.work / "bin"
        bin_dir.mkdir()
        (bin_dir / "distls").symlink_to(c.build.distls)
        admin = c.work / "admin"
        admin.mkdir()
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", issue.replace("10.0.0.", "127.0.0.")],
                             cwd=admin, capture_output=True, text=True, timeout=120,
                             env={**distls_env(), "PATH": f"{bin_dir}:{os.environ['PATH']}"})
        assert run.returncode == 0, run.stdout + run.stderr
        cls.admin = admin

        # What `cmake --install` (and the .deb, with the prefix /usr) lays out.
        cls.install = c.work / "install"
        build_dir = Path(c.build.distls).parent
        run = subprocess.run(["cmake", "--install", str(build_dir), "--prefix", "/usr"],
                             env={**os.environ, "DESTDIR": str(cls.install)}, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        cls.erl_libs = cls.install / "usr" / "lib" / "erlang" / "lib"
        cls.epmd_ports = {n: free_port() for n in VMS}
        cls.admin_ports = {n: free_port() for n in VMS}
        cls.distls: dict[int, object] = {}
        cls.nodes: dict[int, ErlNode] = {}

    @classmethod
    def vm_env(cls, n: int, guide_env: dict[str, str]) -> dict[str, str]:
        """The guide's variables for VM n, with this machine's ports and directories."""
        tls_dir = cls.cluster.work / f"vm{n}" / "tls"
        env = {}
        for key, value in guide_env.items():
            value = value.replace("10.0.0.5", f"10.0.0.{n}").replace("10.0.0.", "127.0.0.")
            value = value.replace(":4370", f":{cls.cluster.tls_port}")
            env[key] = value.replace("/etc/distls/tls/", f"{tls_dir}/")
        env.update(DISTLS_PEER_PORT=str(cls.cluster.tls_port), DISTLS_EPMD=f"127.0.0.1:{cls.epmd_ports[n]}",
                   DISTLS_ADMIN=f"127.0.0.1:{cls.admin_ports[n]}")
        return env

    @classmethod
    def install_files(cls, n: int, *files: Path) -> None:
        tls_dir = cls.cluster.work / f"vm{n}" / "tls"
        tls_dir.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, tls_dir / f.name)
            (tls_dir / f.name).chmod(0o640)

    @classmethod
    def start_vm(cls, n: int, guide_env: dict[str, str]) -> None:
        log = LogFile(cls.cluster.work / f"distls-vm{n}.log")
        # `distls proxy` and nothing else on the command line: distls.service's ExecStart.
        cls.distls[n] = cls.cluster.spawn(f"distls vm{n}", [str(cls.cluster.build.distls), "proxy"], log,
                                          env={**distls_env(), **cls.vm_env(n, guide_env)})
        wait_for(f"vm{n}'s distls to answer EPMD requests", lambda: cls.names(n) is not None,
                 check=cls.distls[n].check_running)
        # -name and -setcookie are the harness's (the same name, the suite's cookie).
        flags = [w for line in cls.vm_args if not line.startswith(("-name ", "-setcookie "))
                 for w in line.split()]
        node = ErlNode(cls.cluster, f"app@127.0.0.{n}", flags,
                       {"ERL_EPMD_PORT": str(cls.epmd_ports[n]), "ERL_LIBS": str(cls.erl_libs)})
        node.wait_ready()
        cls.nodes[n] = node
        wait_for(f"vm{n}'s node to register", lambda: "app" in (cls.names(n) or {}))

    @classmethod
    def names(cls, n: int):
        try:
            return epmd_names(cls.epmd_ports[n])
        except (OSError, ValueError):
            return None

    def wait_for_cluster(self) -> None:
        def meshed() -> bool:
            return all(sorted(self.nodes[n].eval("nodes().")) ==
                       [Atom(f"app@127.0.0.{m}") for m in VMS if m != n] for n in VMS)
        wait_for("the three nodes to find each other through discovery", meshed, 60, interval=0.5)

    def test_the_guide_from_nothing(self) -> None:
        self.assertEqual(["-name app@10.0.0.5", "-setcookie <the cookie>", "-proto_dist distls",
                          "-start_epmd false"], self.vm_args)
        for n in VMS:
            issued = self.admin / f"127.0.0.{n}"
            self.install_files(n, issued / "tls.crt", issued / "tls.key", issued / "ca.crt")
            self.start_vm(n, self.files_env)
        self.wait_for_cluster()
        for n in VMS:
            # No -pa: the application came from the installed library directory.
            where = self.nodes[n].eval("code:which(distls_dist).")
            version = re.search(r"project\(distls VERSION (\S+)", (REPO_ROOT / "CMakeLists.txt").read_text())[1]
            self.assertEqual(str(self.erl_libs / f"distls-{version}" / "ebin" / "distls_dist.beam"), where)
            status, body = http_get(f"http://127.0.0.1:{self.admin_ports[n]}/readyz")
            self.assertEqual(200, status, body)

        # VM 5 switches to the local-ca lines; its node restarts with it (Requires=).
        self.install_files(5, self.admin / "ca" / "ca.crt", self.admin / "ca" / "ca.key")
        self.nodes[5].stop()
        self.distls[5].stop()
        self.start_vm(5, {**{k: v for k, v in self.files_env.items()
                             if k not in ("DISTLS_CERT", "DISTLS_KEY", "DISTLS_TRUST_BUNDLE")},
                          **self.local_ca_env})
        self.wait_for_cluster()
        status, body = http_get(f"http://127.0.0.1:{self.admin_ports[5]}/certs")
        self.assertEqual(200, status, body)
        self.assertIn('"source":"local-ca"', body.replace(" ", ""))


if __name__ == "__main__":
    unittest.main()
