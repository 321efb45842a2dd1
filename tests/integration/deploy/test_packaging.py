"""The Debian package and its systemd units (cmake/install.cmake, cmake/package.cmake,
deploy/systemd/): `cpack -G DEB` packages this build; its Depends names the package of
every library distls links; installed with apt into a fresh Debian 12 root (the
mmdebstrap minbase of image_store.py, with systemd and Debian's erlang-base),
`distls --version` runs, `erl` finds distls_epmd and loads the distls application with
no -pa, both units pass `systemd-analyze verify` and stay under an exposure of 2.0 in
`systemd-analyze security`, and the user and the key directories exist with their modes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from harness import REPO_ROOT, Build
from image_store import BASE_NAMES, ImageStore, missing_tools

UNITS = ("/usr/lib/systemd/system/distls.service", "/usr/lib/systemd/system/distls-signer.service")
EBIN = "/usr/lib/erlang/lib/distls-{version}/ebin"
MAX_EXPOSURE = 20  # systemd-analyze's scale of 0-100, printed as 0.0-10.0: at most 2.0
# Not libraries: what the package depends on beside them, and why (cmake/package.cmake).
DEPENDS_BESIDE_LIBRARIES = {"procps"}  # /bin/kill in distls.service's ExecReload


def project_version() -> str:
    m = re.search(r"project\(distls VERSION (\S+)", (REPO_ROOT / "CMakeLists.txt").read_text())
    return m.group(1)


def build_dir() -> Path:
    return Build.from_env().distls.parent


def control_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "--field", str(deb), field], check=True, capture_output=True,
                          text=True).stdout.strip()


def depends_names(depends: str) -> set[str]:
    """Package names of a Depends field (alternatives all count)."""
    return {alt.split()[0].split(":")[0] for part in depends.split(",") for alt in part.split("|") if alt.strip()}


_built: dict[str, object] = {}


def built_deb() -> Path:
    """The .deb of this build, made once per test run (cpack -G DEB)."""
    if "deb" in _built:
        return _built["deb"]
    missing = [t for t in ("cpack", "dpkg-deb", "dpkg-shlibdeps") if shutil.which(t) is None]
    if missing:
        raise unittest.SkipTest("not installed: " + ", ".join(missing) + " (cmake, dpkg-dev)")
    config = build_dir() / "CPackConfig.cmake"
    if not config.is_file():
        raise unittest.SkipTest(f"no {config}: configure the build with CMake first")
    out = Path(tempfile.mkdtemp(prefix="distls-deb-"))
    _built["out"] = out
    started = time.monotonic()
    result = subprocess.run(["cpack", "-G", "DEB", "--config", str(config), "-B", str(out)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"cpack failed:\n{result.stdout}{result.stderr}")
    debs = sorted(out.glob("*.deb"))
    assert len(debs) == 1, debs
    print(f"{debs[0].name}: {debs[0].stat().st_size // 1024} KiB, cpack took "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    _built["deb"] = debs[0]
    return debs[0]


def tearDownModule() -> None:
    if "out" in _built:
        shutil.rmtree(_built["out"], ignore_errors=True)


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.deb = built_deb()
        cls.version = project_version()

    # -- the .deb as a file ----------------------------------------------------------

    def test_name_and_control(self) -> None:
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
        self.assertEqual(f"distls_{self.version}_{arch}.deb", self.deb.name)
        self.assertEqual("distls", control_field(self.deb, "Package"))
        self.assertEqual(self.version, control_field(self.deb, "Version"))

    def test_contents(self) -> None:
        listing = subprocess.run(["dpkg-deb", "--contents", str(self.deb)], check=True, capture_output=True,
                                 text=True).stdout
        files = {line.split()[5].removeprefix(".") for line in listing.splitlines()
                 if line.split()[5][-1] != "/"}
        modes = {line.split()[5].removeprefix("."): line.split()[0] for line in listing.splitlines()}
        ebin = EBIN.format(version=self.version)
        expected = {"/usr/bin/distls", f"{ebin}/distls_epmd.beam", f"{ebin}/distls_dist.beam",
                    f"{ebin}/distls_discovery.beam", f"{ebin}/distls.app", *UNITS,
                    "/usr/lib/sysusers.d/distls.conf", "/etc/distls/proxy.env", "/etc/distls/signer.env",
                    "/usr/share/doc/distls/README.md", "/usr/share/doc/distls/bare-metal.md",
                    "/usr/share/doc/distls/configuration.md", "/usr/share/doc/distls/operations.md"}
        self.assertEqual(set(), expected - files, "missing from the package")
        self.assertEqual("-rwxr-xr-x", modes["/usr/bin/distls"])
        stray = {f for f in files if not f.startswith(("/usr/bin/", "/usr/lib/", "/usr/share/doc/distls/",
                                                         "/etc/distls/"))}
        self.assertEqual(set(), stray, "files outside the layout of cmake/install.cmake")
        # Stripped (CPACK_STRIP_FILES): no debug sections in a package of a RelWithDebInfo build.
        with tempfile.TemporaryDirectory() as x:
            subprocess.run(["dpkg-deb", "--extract", str(self.deb), x], check=True)
            sections = subprocess.run(["readelf", "-S", f"{x}/usr/bin/distls"], capture_output=True,
                                      text=True).stdout
            self.assertNotIn(".debug_info", sections)
            units = {u: Path(x + u).read_text() for u in UNITS}
        self.assertIn("ExecStart=/usr/bin/distls proxy\n", units[UNITS[0]])
        self.assertIn("EnvironmentFile=/etc/distls/proxy.env\n", units[UNITS[0]])
        self.assertIn("ExecStart=/usr/bin/distls signer\n", units[UNITS[1]])

    def test_conffiles_and_maintainer_scripts(self) -> None:
        with tempfile.TemporaryDirectory() as x:
            subprocess.run(["dpkg-deb", "--control", str(self.deb), x], check=True)
            self.assertEqual(["/etc/distls/proxy.env", "/etc/distls/signer.env"],
                             Path(x, "conffiles").read_text().split())
            for script in ("postinst", "postrm"):
                self.assertTrue(os.access(Path(x, script), os.X_OK), script)
                check = subprocess.run(["sh", "-n", str(Path(x, script))], capture_output=True, text=True)
                self.assertEqual(0, check.returncode, check.stderr)

    def test_depends_names_the_package_of_every_linked_library(self) -> None:
        ldd = subprocess.run(["ldd", str(Build.from_env().distls)], capture_output=True, text=True, check=True)
        needed = set()
        for path in re.findall(r"=> (/\S+)", ldd.stdout):
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", re.sub(r"^/usr", "", os.path.realpath(path))],
                                       capture_output=True, text=True)
            self.assertEqual(0, owner.returncode, f"no package owns {path}")
            needed.add(owner.stdout.split(":")[0])
        depends = depends_names(control_field(self.deb, "Depends"))
        print(f"Depends: {control_field(self.deb, 'Depends')}")
        self.assertEqual(set(), needed - depends, "linked libraries whose packages Depends lacks")
        self.assertEqual(set(), depends - needed - DEPENDS_BESIDE_LIBRARIES, "Depends names more than distls needs")


class FreshRootTest(unittest.TestCase):
    """The .deb installed by apt in a fresh bookworm root (a working container of the
    store's debian:bookworm), as on a new machine: with systemd and Debian's Erlang."""

    @classmethod
    def setUpClass(cls) -> None:
        if os.geteuid() != 0:
            raise unittest.SkipTest("buildah --isolation chroot needs root")
        if missing_tools():
            raise unittest.SkipTest("not installed: " + ", ".join(missing_tools())
                                    + " (scripts/bootstrap.sh installs them)")
        cls.deb, cls.version = built_deb(), project_version()
        cls.logs = Path(tempfile.mkdtemp(prefix="distls-fresh-root-"))
        cls.store = ImageStore()
        cls.store.__enter__()
        cls.addClassCleanup(cls.store.__exit__, None, None, None)
        started = time.monotonic()
        cls.store.ensure_base(cls.logs / "mmdebstrap.log")
        cls.ctr = cls.store.container(BASE_NAMES[0])
        cls.store.buildah("copy", cls.ctr, str(cls.deb), "/tmp/")
        apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends"]
        # systemd first, so that the package's postinst finds systemd-sysusers, as on a machine.
        for argv in (["apt-get", "update", "-q"], [*apt, "systemd", "erlang-base"], [*apt, f"/tmp/{cls.deb.name}"]):
            out = cls.store.run(cls.ctr, argv, check=False, timeout=1200)
            with open(cls.logs / "apt.log", "a") as log:
                log.write(out.stdout + out.stderr)
            if out.returncode != 0:
                raise AssertionError(f"{' '.join(argv)} in the fresh root failed (log {cls.logs}/apt.log):\n"
                                     f"{out.stdout[-3000:]}{out.stderr}")
        cls.installed = out.stdout
        # The logs stay only when setting up failed.
        cls.addClassCleanup(shutil.rmtree, cls.logs, True)
        print(f"fresh root with the package ready in {time.monotonic() - started:.0f} s", file=sys.stderr)

    def run_in_root(self, *argv: str) -> str:
        out = self.store.run(self.ctr, list(argv), check=False)
        self.assertEqual(0, out.returncode, f"{' '.join(argv)}:\n{out.stdout}{out.stderr}")
        return out.stdout

    def test_distls_runs(self) -> None:
        self.assertEqual("/usr/bin/distls\n", self.run_in_root("sh", "-c", "command -v distls"))
        self.assertRegex(self.run_in_root("distls", "--version"), rf"^distls {re.escape(self.version)} \(OpenSSL 3")

    def test_erl_finds_the_distls_application_without_pa(self) -> None:
        ebin = EBIN.format(version=self.version)
        out = self.run_in_root("erl", "-noshell", "-eval",
                               'io:format("~s~n~p~n~p~n", [code:which(distls_epmd), application:load(distls), '
                               'application:get_key(distls, modules)]), halt().')
        self.assertEqual([f"{ebin}/distls_epmd.beam", "ok", "{ok,[distls_discovery,distls_dist,distls_epmd]}"],
                         out.split())

    def test_units_pass_systemd_analyze_verify(self) -> None:
        out = self.store.run(self.ctr, ["systemd-analyze", "verify", *UNITS], check=False)
        self.assertEqual((0, ""), (out.returncode, (out.stdout + out.stderr).strip()))
        # The check has teeth: a unit naming a missing binary fails it.
        self.run_in_root("sh", "-c", f"sed 's|/usr/bin/distls|/usr/bin/distls-missing|' {UNITS[0]} "
                                     "> /etc/systemd/system/distls-broken.service")
        broken = self.store.run(self.ctr, ["systemd-analyze", "verify", "/etc/systemd/system/distls-broken.service"],
                                check=False)
        self.assertNotEqual(0, broken.returncode)
        self.assertIn("distls-missing", broken.stdout + broken.stderr)
        self.run_in_root("rm", "/etc/systemd/system/distls-broken.service")

    def test_units_are_hardened(self) -> None:
        for unit in UNITS:
            with self.subTest(unit=unit):
                out = self.store.run(self.ctr, ["systemd-analyze", "security", "--offline=yes",
                                                f"--threshold={MAX_EXPOSURE}", unit], check=False)
                overall = re.search(r"Overall exposure level for \S+: (\S+ \S+)", out.stdout)
                print(f"{unit}: exposure {overall.group(1) if overall else '?'}")
                self.assertEqual(0, out.returncode, out.stdout[-4000:] + out.stderr)

    def test_user_directories_and_conffiles(self) -> None:
        passwd = self.run_in_root("getent", "passwd", "distls").strip().split(":")
        self.assertEqual(("/nonexistent", "/usr/sbin/nologin"), (passwd[5], passwd[6]))
        self.assertLess(int(passwd[2]), 1000, "a system user")
        modes = self.run_in_root("stat", "-c", "%n %a %U:%G", "/etc/distls", "/etc/distls/tls", "/etc/distls/signer")
        self.assertEqual(["/etc/distls 755 root:root", "/etc/distls/tls 750 root:distls",
                          "/etc/distls/signer 700 root:root"], modes.splitlines())
        conffiles = self.run_in_root("dpkg-query", "--showformat=${Conffiles}", "--show", "distls")
        self.assertEqual(["/etc/distls/proxy.env", "/etc/distls/signer.env"], conffiles.split()[0::2])
        # The sysusers path ran (systemd was installed first), not the useradd fallback.
        self.assertIn("Creating user 'distls'", self.installed)

    def test_z_purge_keeps_the_keys(self) -> None:
        self.run_in_root("sh", "-c", "echo key > /etc/distls/tls/tls.key")
        self.run_in_root("dpkg", "--purge", "distls")
        self.assertEqual("", self.run_in_root("sh", "-c", "command -v distls || true"))
        self.assertEqual("key\n", self.run_in_root("cat", "/etc/distls/tls/tls.key"))
        gone = self.store.run(self.ctr, ["test", "-e", "/etc/distls/proxy.env"], check=False)
        self.assertNotEqual(0, gone.returncode, "purge removes the conffiles")


if __name__ == "__main__":
    unittest.main()
