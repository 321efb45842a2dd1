"""A buildah image store of our own, for tests that build and run images with Debian's
buildah and no daemon: `--storage-driver vfs`, `--isolation chroot`, and nothing pulled
from any registry. Its base images, `debian:bookworm` and `debian:bookworm-slim`, are
one minbase bookworm made by Debian's mmdebstrap from the Debian mirror.

    with ImageStore() as store:            # waits for other runs using the store
        store.ensure_base()                # ~1 min the first time, then cached
        ctr = store.container("docker.io/library/debian:bookworm")
        store.run(ctr, ["cat", "/etc/debian_version"])

Everything lives under DISTLS_IMAGE_CACHE (default /var/cache/distls-test/image), kept
between runs: the base (keyed on the mmdebstrap command, rebuilt when that changes) and
the images tests build (they key their own tags). One run at a time holds the store: a
lock file serializes test runs on one machine, and working containers a killed run left
behind are removed when the next one takes the lock. Delete the directory to start over.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("DISTLS_IMAGE_CACHE", "/var/cache/distls-test/image"))
BASE_NAMES = ("docker.io/library/debian:bookworm", "docker.io/library/debian:bookworm-slim")
# A minbase bookworm (Essential and Priority: required packages, apt), as the Docker
# Hub images are; its sources are the suite, -updates and -security, which mmdebstrap
# adds by itself for a stable release.
MMDEBSTRAP_ARGS = ["--variant=minbase", "--mode=root", "--format=tar", "bookworm"]
LOCK_DEADLINE = 3600.0  # another run's cold image build takes minutes, not an hour

# Short names resolve to docker.io, which is blocked: a missing image is an error here,
# never a download (every command also says --pull=never).
REGISTRIES_CONF = """\
unqualified-search-registries = ["docker.io"]
short-name-mode = "enforcing"

[[registry]]
location = "docker.io"
blocked = true
"""


class ImageStoreError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    return [t for t in ("buildah", "mmdebstrap") if shutil.which(t) is None]


class ImageStore:
    def __init__(self, cache: Path = CACHE) -> None:
        self.cache = Path(cache)
        self.root = self.cache / "storage"
        self.runroot = self.cache / "run"
        self._lock = None

    # -- the lock --------------------------------------------------------------------

    def __enter__(self) -> "ImageStore":
        self.cache.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.cache / "lock", "w")
        deadline = time.monotonic() + LOCK_DEADLINE
        said = False
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    print(f"waiting for another test run to release {self.cache}/lock", file=sys.stderr)
                    said = True
                if time.monotonic() > deadline:
                    raise ImageStoreError(f"{self.cache}/lock still held after {LOCK_DEADLINE:.0f} s")
                time.sleep(2)
        (self.cache / "registries.conf").write_text(REGISTRIES_CONF)
        (self.cache / "storage.conf").write_text(
            f'[storage]\ndriver = "vfs"\ngraphroot = "{self.root}"\nrunroot = "{self.runroot}"\n')
        # Whatever a killed run left: nobody else can be using it while we hold the lock.
        self.buildah("rm", "--all", check=False)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.buildah("rm", "--all", check=False)
        finally:
            self._lock.close()  # releases the flock
            self._lock = None

    # -- buildah ---------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {**os.environ,
                "CONTAINERS_REGISTRIES_CONF": str(self.cache / "registries.conf"),
                "CONTAINERS_STORAGE_CONF": str(self.cache / "storage.conf"),
                "BUILDAH_ISOLATION": "chroot"}

    def buildah(self, *args: str, check: bool = True, timeout: float = 600,
                capture: bool = True, log: Path | None = None) -> subprocess.CompletedProcess:
        if self._lock is None:
            raise ImageStoreError("use the store inside `with ImageStore() as store:`")
        argv = ["buildah", "--root", str(self.root), "--runroot", str(self.runroot),
                "--storage-driver", "vfs", *args]
        if log is not None:
            with open(log, "ab") as out:
                result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(),
                                        timeout=timeout)
        else:
            result = subprocess.run(argv, capture_output=capture, text=True, env=self.env(), timeout=timeout)
        if check and result.returncode != 0:
            detail = f"; see {log}" if log is not None else f":\n{result.stdout}{result.stderr}"
            raise ImageStoreError(f"`{' '.join(argv)}` exited {result.returncode}{detail}")
        return result

    def image_exists(self, name: str) -> bool:
        return self.buildah("images", "--quiet", name, check=False).returncode == 0

    def container(self, image: str) -> str:
        """A new working container of `image` (removed when the store is left)."""
        return self.buildah("from", "--pull=never", "--quiet", image).stdout.strip()

    def run(self, ctr: str, argv: list[str], *, user: str | None = None, check: bool = True,
            timeout: float = 600, volumes: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        """argv in the container, chroot isolation, host network (no daemon, no netns)."""
        opts = ["--isolation", "chroot", "--network", "host"]
        if user is not None:
            opts += ["--user", user]
        for v in volumes:
            opts += ["--volume", v]
        return self.buildah("run", *opts, ctr, "--", *argv, check=check, timeout=timeout)

    def mount(self, ctr: str) -> Path:
        return Path(self.buildah("mount", ctr).stdout.strip())

    def remove(self, ctr: str) -> None:
        self.buildah("rm", ctr, check=False)

    def images(self, prefix: str) -> list[dict]:
        """[{name, id, created}] of the images whose name starts with prefix, newest first."""
        out = self.buildah("images", "--json").stdout
        found = []
        for image in json.loads(out or "[]"):
            for name in image.get("names") or []:
                if name.startswith(prefix):
                    found.append({"name": name, "id": image["id"], "created": image.get("createdatraw", "")})
        return sorted(found, key=lambda i: i["created"], reverse=True)

    # -- the base ----------------------------------------------------------------------

    def base_key(self) -> str:
        version = subprocess.run(["mmdebstrap", "--version"], capture_output=True, text=True).stdout.strip()
        return hashlib.sha256(json.dumps([MMDEBSTRAP_ARGS, version]).encode()).hexdigest()[:16]

    def ensure_base(self, log: Path | None = None) -> str:
        """debian:bookworm and debian:bookworm-slim in the store; returns the base's key."""
        key = self.base_key()
        stamp = self.cache / "base.key"
        if stamp.exists() and stamp.read_text() == key and all(self.image_exists(n) for n in BASE_NAMES):
            return key
        started = time.monotonic()
        tarball = self.cache / f"base-{key}.tar"
        with open(log or os.devnull, "ab") as out:
            result = subprocess.run(["mmdebstrap", *MMDEBSTRAP_ARGS, str(tarball)], stdout=out,
                                    stderr=subprocess.STDOUT, timeout=1800)
        if result.returncode != 0:
            tarball.unlink(missing_ok=True)
            raise ImageStoreError(f"mmdebstrap exited {result.returncode}" + (f"; see {log}" if log else ""))
        try:
            ctr = self.buildah("from", "--pull=never", "--quiet", "scratch").stdout.strip()
            self.buildah("add", ctr, str(tarball), "/")
            # What the Docker Hub image sets; RUN lines find apt-get through PATH.
            self.buildah("config", "--cmd", '["bash"]', "--env",
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ctr)
            self.buildah("commit", "--rm", "--quiet", ctr, BASE_NAMES[0])
            for name in BASE_NAMES[1:]:
                self.buildah("tag", BASE_NAMES[0], name)
        finally:
            tarball.unlink(missing_ok=True)
        stamp.write_text(key)
        print(f"base image {key}: mmdebstrap and commit took {time.monotonic() - started:.0f} s",
              file=sys.stderr)
        return key
