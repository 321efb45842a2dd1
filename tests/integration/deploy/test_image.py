"""The container image, built for real and run: deploy/image/Dockerfile is built with
Debian's buildah (no daemon, `--isolation chroot`, vfs storage) from a debian:bookworm
made by mmdebstrap (tests/integration/image_store.py), with nothing pulled from a
registry. Then the image runs `distls --version` and `distls ca init/issue` as its uid
65532, its binary finds every shared library in its own packages, and three pods whose
distls proxies run from the image's root filesystem (chroot, as uid 65532, the image's
own libraries) and whose Erlang nodes load the image's distls_epmd cluster over mutual
TLS.

The image is cached in the store under a tag keyed on the Dockerfile, its ignore file,
every file of the build context and the base: an unchanged tree reuses it, any change
rebuilds (4-5 minutes on 2 idle cores; more on a loaded machine). ctest label `slow`:
scripts/test.sh --slow and .ci/run run it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from erlterm import Atom, format_atom
from harness import REPO_ROOT, Build, Cluster, wait_for
from image_store import ImageStore, missing_tools

DOCKERFILE = REPO_ROOT / "deploy" / "image" / "Dockerfile"
IGNOREFILE = REPO_ROOT / "deploy" / "image" / "Dockerfile.dockerignore"
TAG_PREFIX = "localhost/distls-test:"
KEEP_IMAGES = 3  # tags of other trees kept, so that switching branches does not rebuild
UID = 65532
POD_NUMBERS = (2, 3, 4)


# ---------------------------------------------------------------------------
# The build context and its key
# ---------------------------------------------------------------------------

def _pattern_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as the regex buildah's matcher uses: `*` and `?` stay within
    one path element, `**` crosses them, the pattern is anchored at the context root."""
    p = os.path.normpath(pattern.strip()).lstrip("/")
    out, i = "", 0
    while i < len(p):
        if p.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif p.startswith("**", i):
            out, i = out + ".*", i + 2
        elif p[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif p[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(p[i]), i + 1
    return re.compile(out + r"\Z")


def context_files(root: Path = REPO_ROOT, ignorefile: Path = IGNOREFILE) -> list[Path]:
    """The files buildah sends as the build context, relative to root. A path is left out
    when it or a directory above it matches a pattern. Were a pattern ever to re-include
    (`!`), everything is kept: a key over too many files only costs a rebuild."""
    lines = [l.strip() for l in ignorefile.read_text().splitlines()]
    patterns = [l for l in lines if l and not l.startswith("#")]
    if any(p.startswith("!") for p in patterns):
        patterns = []
    regexes = [_pattern_regex(p) for p in patterns]

    def ignored(rel: str) -> bool:
        return any(r.match(rel) for r in regexes)

    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not ignored(str(rel_dir / d)))
        found += [rel_dir / f for f in sorted(filenames) if not ignored(str(rel_dir / f))]
    return sorted(found)


def context_key(base_key: str) -> str:
    h = hashlib.sha256()
    for path in (DOCKERFILE, IGNOREFILE):
        h.update(path.read_bytes())
    h.update(base_key.encode())
    for rel in context_files():
        full = REPO_ROOT / rel
        h.update(str(rel).encode() + b"\0")
        if full.is_symlink():
            h.update(b"link:" + os.readlink(full).encode())
        else:
            h.update(oct(full.stat().st_mode & 0o111).encode())
            h.update(hashlib.sha256(full.read_bytes()).digest())
    return h.hexdigest()[:20]


def image_distls_command(root: Path, work: Path) -> list[str]:
    """Runs the image's /usr/local/bin/distls as in a container: chrooted into the image's
    root filesystem (so the image's own libraries load) as uid 65532, with /proc and /dev,
    and the test's work directory bound at the same path. The mounts live in a mount
    namespace of the process's own, so they vanish with it, whatever happens."""
    script = ('set -e; mkdir -p "$2$1"; mount --bind "$1" "$2$1"; mount -t proc proc "$2/proc"; '
              'mount --rbind /dev "$2/dev"; root=$2; shift 2; '
              f'exec chroot --userspec={UID}:{UID} --groups={UID} "$root" /usr/local/bin/distls "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "distls-in-image",
            str(work), str(root)]


def process_root_maps(pid: int) -> list[str]:
    """The files a process has mapped (/proc/PID/maps, paths as the host sees them)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({line.split(None, 5)[5] for line in maps.splitlines()
                   if len(line.split(None, 5)) == 6 and line.split(None, 5)[5].startswith("/")})


class ImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        if os.geteuid() != 0:
            raise unittest.SkipTest("building with buildah --isolation chroot and chrooting "
                                    "into the image need root")
        if missing_tools():
            raise unittest.SkipTest("not installed: " + ", ".join(missing_tools())
                                    + " (scripts/bootstrap.sh installs them)")
        cls.logs = Path(tempfile.mkdtemp(prefix="distls-image-"))
        cls.store = ImageStore()
        cls.store.__enter__()
        cls.addClassCleanup(cls.store.__exit__, None, None, None)
        started = time.monotonic()
        base = cls.store.ensure_base(cls.logs / "mmdebstrap.log")
        print(f"base ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
        cls.tag = TAG_PREFIX + context_key(base)
        if cls.store.image_exists(cls.tag):
            print(f"{cls.tag}: built before from this very tree, reused", file=sys.stderr)
        else:
            cls.build_image()
        cls.ctr = cls.store.container(cls.tag)
        cls.root = cls.store.mount(cls.ctr)
        # The logs stay only when setting up failed, for the message that points at them.
        cls.addClassCleanup(shutil.rmtree, cls.logs, True)

    @classmethod
    def build_image(cls) -> None:
        log = cls.logs / "build.log"
        started = time.monotonic()
        try:
            cls.store.buildah("build", "--isolation", "chroot", "--pull=never", "--network", "host",
                              "--file", str(DOCKERFILE), "--ignorefile", str(IGNOREFILE),
                              "--tag", cls.tag, str(REPO_ROOT), log=log, timeout=3600)
        except Exception:
            print(f"image build failed; last lines of {log}:\n"
                  + "\n".join(log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
            raise
        print(f"{cls.tag}: built in {time.monotonic() - started:.0f} s", file=sys.stderr)
        for old in cls.store.images(TAG_PREFIX)[KEEP_IMAGES:]:
            cls.store.buildah("rmi", old["name"], check=False)

    def run_in_image(self, *argv: str, volumes: tuple[str, ...] = ()) -> str:
        out = self.store.run(self.ctr, list(argv), volumes=volumes, check=False)
        self.assertEqual(0, out.returncode, f"{' '.join(argv)} in the image:\n{out.stdout}{out.stderr}")
        return out.stdout

    # -- the image as built --------------------------------------------------------

    def test_runs_distls_as_uid_65532(self) -> None:
        config = self.store.buildah("inspect", "--type", "image", "--format",
                                    "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}", self.tag).stdout
        self.assertEqual(f"{UID}:{UID} [/usr/local/bin/distls]", config.strip())
        # buildah run applies the image's USER, as a container runtime does.
        self.assertEqual(str(UID), self.run_in_image("id", "-u").strip())
        version = self.run_in_image("/usr/local/bin/distls", "--version")
        self.assertRegex(version, r"^distls \d+\.\d+\.\d+ \(OpenSSL 3\.")
        print(version.strip())

    def test_ca_init_and_issue(self) -> None:
        with tempfile.TemporaryDirectory(prefix="distls-image-ca-") as out:
            os.chown(out, UID, UID)
            self.run_in_image("/usr/local/bin/distls", "ca", "init", "--out", "/out/ca",
                              volumes=(f"{out}:/out",))
            self.run_in_image("/usr/local/bin/distls", "ca", "issue", "--ca-dir", "/out/ca", "--node",
                              "app@10.0.0.5", "--out", "/out/pod", volumes=(f"{out}:/out",))
            ca, pod = Path(out, "ca"), Path(out, "pod")
            for key in (ca / "ca.key", pod / "tls.key"):
                st = key.stat()
                self.assertEqual((UID, 0o600), (st.st_uid, st.st_mode & 0o777), key)
            verify = subprocess.run(["openssl", "verify", "-CAfile", str(ca / "ca.crt"), str(pod / "tls.crt")],
                                    capture_output=True, text=True)
            self.assertEqual(0, verify.returncode, verify.stdout + verify.stderr)
            text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage",
                                   "-in", str(pod / "tls.crt")], capture_output=True, text=True).stdout
            self.assertIn("IP Address:10.0.0.5", text)
            self.assertIn("TLS Web Server Authentication", text)
            self.assertIn("TLS Web Client Authentication", text)

    def test_every_library_comes_from_the_images_own_packages(self) -> None:
        ldd = self.run_in_image("ldd", "/usr/local/bin/distls")
        self.assertNotIn("not found", ldd)
        libraries = re.findall(r"=> (/\S+)", ldd)
        self.assertGreaterEqual(len(libraries), 5, ldd)
        owners = set()
        for lib in libraries:
            real = self.run_in_image("readlink", "-f", lib).strip()
            owner = self.store.run(self.ctr, ["dpkg", "-S", real], check=False)
            if owner.returncode != 0:  # usrmerge: dpkg knows /lib/..., ldd says /usr/lib/...
                owner = self.store.run(self.ctr, ["dpkg", "-S", re.sub(r"^/usr", "", real)], check=False)
            self.assertEqual(0, owner.returncode, f"{lib} ({real}) belongs to no package of the image")
            owners.add(owner.stdout.split(":")[0])
        print("distls's libraries come from: " + ", ".join(sorted(owners)))
        self.assertTrue({"libssl3", "libc-ares2", "libboost-json1.81.0", "libc6"} <= owners, owners)

    def test_the_erlang_side_is_in_the_image(self) -> None:
        ebin = self.root / "opt" / "distls" / "ebin"
        for module in ("distls_epmd", "distls_dist", "distls_discovery"):
            self.assertTrue((ebin / f"{module}.beam").is_file(), module)
        app = (ebin / "distls.app").read_text()
        self.assertIn("{modules, [distls_discovery, distls_dist, distls_epmd]}", app)

    # -- a cluster whose proxies run from the image ---------------------------------------

    def test_three_pods_cluster_through_the_images_distls(self) -> None:
        build = Build(distls=self.root / "usr" / "local" / "bin" / "distls",
                      ebin=self.root / "opt" / "distls" / "ebin",
                      test_ebin=Build.from_env().test_ebin)
        cluster = Cluster("image", build=build)
        self.addCleanup(cluster.close)
        os.chown(cluster.work, UID, UID)
        cluster.distls_command = image_distls_command(self.root, cluster.work)
        try:
            ca = cluster.ca("image")  # `distls ca init` of the image
            pods = [cluster.pod(n, ca.issue(f"app@127.0.0.{n}")) for n in POD_NUMBERS]
            for pod in pods:
                ok, _ = pod.eval("distls_test_repl:serve().")
                self.assertEqual(Atom("ok"), ok)
                # The node loaded the image's distls_epmd.
                where = pod.eval("code:which(distls_epmd).")
                self.assertTrue(str(where).startswith(str(self.root)), where)
            first, *rest = pods
            for pod in rest:
                self.assertIs(first.connect(pod), True)
            cluster.wait_for_mesh(pods)
            for a in pods:
                b = pods[(pods.index(a) + 1) % len(pods)]
                self.assertEqual((Atom("ok"), 100), a.eval(
                    f"distls_test_repl:round_trips({format_atom(b.name)}, distls_test_echo, 100).", timeout=120))
            for pod in pods:
                # The wrapper's words exec one another: the pid is distls's own.
                pid = pod.distls.popen.pid
                status = Path(f"/proc/{pid}/status").read_text()
                self.assertRegex(status, rf"\nUid:\s+{UID}\s+{UID}\s+{UID}\s+{UID}\n", "distls runs as 65532")
                self.assertEqual(f"{self.root}/usr/local/bin/distls", os.readlink(f"/proc/{pid}/exe"))
                libs = [m for m in process_root_maps(pid) if ".so" in m]
                for name in ("libssl.so", "libcrypto.so", "libcares.so", "libboost_json.so", "libstdc++.so"):
                    mapped = [m for m in libs if Path(m).name.startswith(name)]
                    self.assertTrue(mapped, f"{name} is not mapped by distls")
                    for m in mapped:
                        self.assertTrue(m.startswith(str(self.root) + "/"), f"{m}: not the image's own")
                # The sidecar's tunnels really carried the traffic.
                self.assertGreaterEqual(pod.metric("distls_tunnels_total", 'direction="in"')
                                        + pod.metric("distls_tunnels_total", 'direction="out"'), 2)
        except Exception:
            cluster.failed = cluster.report_on_close = True
            raise


if __name__ == "__main__":
    unittest.main()
