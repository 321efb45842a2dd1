"""Debian roots with another Erlang/OTP, so that nodes of that OTP run beside the host's.

A root is a minbase Debian made by mmdebstrap with Debian's own `erlang-nox`, as a user
of that release has it: Debian 13 (trixie) carries OTP 27, Debian unstable the newest
(OTP 29 as of 2026). A command runs in a root through `prefix()`:

    root = acquire(UNSTABLE)          # built once per machine, then reused
    subprocess.run(root.prefix(binds=[work]) + ["erl", ...])

Each such command gets a mount namespace of its own (unshare --mount) holding an
overlay of the root (writes go to a tmpfs, so the cached root never changes), /proc,
the host's /dev, and the `binds` directories at their own paths; then chroot. The
network namespace is the host's, so the node reaches a distls on 127.0.0.1 and its
pod address 127.0.0.N as a host node does. The mounts vanish with the namespace, when
its last process exits: a crashed or killed test leaves none behind.

The cache is /var/cache/distls-test/roots (DISTLS_OTP_ROOTS overrides), one directory
per root keyed on the mmdebstrap arguments, outside any checkout or build directory so
that every run on the machine, CI's included, reuses it. A root older than MAX_AGE is
rebuilt (unstable moves on), as is one that is incomplete or whose `erl` does not run.
A shared flock is held while a root is in use and an exclusive one while it is built:
concurrent runs share a root, and none is rebuilt under a running test.

acquire() raises RootUnavailable (tests skip on it, with its message) where a root
cannot be had: not root, mmdebstrap or overlayfs missing, the mirror unreachable.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Iterable

DEFAULT_CACHE = Path("/var/cache/distls-test/roots")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
MAX_AGE = 30 * 24 * 3600  # seconds
BUILD_TIMEOUT = 1800  # seconds; ~30-60 s on a 2-core machine with a near mirror
RUN_TIMEOUT = 300

# Runs in a fresh mount namespace: root, mount point, directories to bind, `--`, the
# command. The overlay's upper layer is a tmpfs on the mount point, private to this
# namespace, so one mount point serves every concurrent command.
_ENTER = r"""
set -eu
root=$1 mnt=$2
shift 2
mount -t tmpfs -o mode=0755 distls-root "$mnt"
mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
mount -t overlay -o "lowerdir=$root,upperdir=$mnt/upper,workdir=$mnt/work" distls-root "$mnt/root"
new=$mnt/root
mount -t proc proc "$new/proc"
mount --rbind /dev "$new/dev"
while [ "$1" != -- ]; do
  mkdir -p "$new$1"
  mount --bind "$1" "$new$1"
  shift
done
shift
exec chroot "$new" /bin/sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' "$PWD" "$@"
"""


class RootUnavailable(Exception):
    """A root cannot be built or used on this machine; the message says why."""


@dataclasses.dataclass(frozen=True)
class RootSpec:
    suite: str       # what mmdebstrap is given
    label: str       # for messages: "Debian 13"
    min_otp: int     # the oldest OTP major the suite may carry

    def mmdebstrap_args(self, mirror: str) -> list[str]:
        # Unstable's Release file may be past its Valid-Until on a mirror; the packages
        # are still the ones signed.
        return ["--mode=root", "--variant=minbase", "--include=erlang-nox",
                "--aptopt=Acquire::Check-Valid-Until \"false\"", self.suite, mirror]

    def key(self, mirror: str) -> str:
        digest = hashlib.sha256(json.dumps(self.mmdebstrap_args(mirror)).encode()).hexdigest()
        return f"{self.suite}-{digest[:12]}"


TRIXIE = RootSpec("trixie", "Debian 13", 27)
UNSTABLE = RootSpec("unstable", "Debian unstable", 29)


class OtpRoot:
    """A usable root, held with a shared lock until close()."""

    def __init__(self, spec: RootSpec, path: Path, mnt: Path, otp_release: str,
                 lock: IO) -> None:
        self.spec = spec
        self.path = path
        self.otp_release = otp_release
        self._mnt = mnt
        self._lock = lock

    def __repr__(self) -> str:
        return f"OtpRoot({self.spec.label}, OTP {self.otp_release}, {self.path})"

    def prefix(self, binds: Iterable[os.PathLike | str] = ()) -> list[str]:
        """Words that run the command after them in this root, with `binds` (absolute
        host directories) visible at the same paths; the working directory carries
        over when it is one of them (else /)."""
        paths = [str(Path(b).resolve()) for b in binds]
        return _prefix(self.path, self._mnt, paths)

    def run(self, argv: list[str], binds: Iterable[os.PathLike | str] = (),
            **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("timeout", RUN_TIMEOUT)
        return subprocess.run(self.prefix(binds) + argv, capture_output=True, text=True,
                              **kwargs)

    def close(self) -> None:
        self._lock.close()


def _prefix(root: Path, mnt: Path, binds: list[str]) -> list[str]:
    return ["unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", _ENTER, "distls-root", str(root), str(mnt), *binds, "--"]


def cache_dir() -> Path:
    return Path(os.environ.get("DISTLS_OTP_ROOTS") or DEFAULT_CACHE)


def mirror() -> str:
    return os.environ.get("DISTLS_DEBIAN_MIRROR") or DEFAULT_MIRROR


def check_prerequisites() -> None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        raise RootUnavailable("needs root on Linux: mmdebstrap builds the roots, and nodes "
                              "run in them through mount namespaces and chroot")
    missing = [tool for tool in ("mmdebstrap", "unshare", "chroot", "mount")
               if shutil.which(tool) is None]
    if missing:
        raise RootUnavailable(f"missing {', '.join(missing)} (Debian package mmdebstrap, "
                              "which scripts/bootstrap.sh installs)")
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError as e:
        raise RootUnavailable(f"cannot read /proc/filesystems: {e}") from e
    if "\toverlay\n" not in filesystems:
        raise RootUnavailable("the kernel offers no overlayfs (modprobe overlay), which "
                              "keeps the cached roots unchanged while nodes run in them")


def acquire(spec: RootSpec) -> OtpRoot:
    """The root for spec, built first if there is none usable; shared-locked until
    the returned root's close()."""
    check_prerequisites()
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    mnt = cache / "mnt"
    mnt.mkdir(exist_ok=True)
    key = spec.key(mirror())
    path = cache / key
    lock = open(cache / f"{key}.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_SH)
        release = _usable(spec, path, mnt)
        if release is None:
            # Waits for every run using the old root to finish. Not atomic: another
            # run may build it meanwhile, hence the second look.
            fcntl.flock(lock, fcntl.LOCK_EX)
            release = _usable(spec, path, mnt)
            if release is None:
                try:
                    release = _build(spec, path, mnt)
                except RootUnavailable as e:
                    # An old root still serves while the mirror cannot be had.
                    release = _usable(spec, path, mnt, max_age=None)
                    if release is None:
                        raise
                    print(f"otp_roots: keeping the old {spec.label} root: {e}",
                          file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_SH)
        return OtpRoot(spec, path, mnt, release, lock)
    except BaseException:
        lock.close()
        raise


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _usable(spec: RootSpec, path: Path, mnt: Path, max_age: float | None = MAX_AGE) -> str | None:
    """The root's OTP release when it is complete, no older than max_age and runs erl,
    else None."""
    try:
        stamp = json.loads(_stamp(path).read_text())
    except (OSError, ValueError):
        return None
    if stamp.get("args") != spec.mmdebstrap_args(mirror()):
        return None
    if max_age is not None and time.time() - stamp.get("built_at", 0) > max_age:
        return None
    return _otp_release(path, mnt)


def _otp_release(path: Path, mnt: Path) -> str | None:
    if not (path / "usr" / "bin" / "erl").exists():
        return None
    try:
        result = subprocess.run(
            _prefix(path, mnt, []) + ["erl", "-noshell", "-eval",
                                      'io:format("~s~n", [erlang:system_info(otp_release)]),'
                                      ' halt().'],
            capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    release = result.stdout.strip()
    return release if result.returncode == 0 and release.isdigit() else None


def _build(spec: RootSpec, path: Path, mnt: Path) -> str:
    new = path.with_name(path.name + ".new")
    log = path.with_name(path.name + ".log")
    _remove_tree(new)
    argv = ["mmdebstrap", *spec.mmdebstrap_args(mirror())]
    argv.insert(-1, str(new))  # mmdebstrap SUITE TARGET MIRROR
    print(f"\notp_roots: building the {spec.label} root with erlang-nox into {path} "
          f"(once per machine; log: {log})", file=sys.stderr, flush=True)
    started = time.monotonic()
    # In a mount namespace of its own, so that the /proc, /sys and /dev mmdebstrap mounts
    # in the target cannot outlive a killed build (and be deleted through, below).
    with open(log, "w") as out:
        try:
            result = subprocess.run(["unshare", "--mount", "--propagation", "private", "--",
                                     *argv], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=BUILD_TIMEOUT)
            status = result.returncode
        except subprocess.TimeoutExpired:
            status = "timeout"
    elapsed = time.monotonic() - started
    if status != 0:
        _remove_tree(new)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:])
        raise RootUnavailable(f"mmdebstrap could not build the {spec.label} root "
                              f"(exit {status} after {elapsed:.0f} s; is {mirror()} "
                              f"reachable?); last lines of {log}:\n{tail}")
    release = _otp_release(new, mnt)
    if release is None:
        raise RuntimeError(f"the {spec.label} root that mmdebstrap built in {new} does not "
                           "run erl")
    _stamp(path).unlink(missing_ok=True)
    _remove_tree(path)
    new.rename(path)
    _stamp(path).write_text(json.dumps({"args": spec.mmdebstrap_args(mirror()),
                                        "built_at": time.time(),
                                        "build_seconds": round(elapsed, 1),
                                        "otp_release": release}) + "\n")
    print(f"otp_roots: {spec.label} root built in {elapsed:.0f} s: OTP {release}",
          file=sys.stderr, flush=True)
    return release


def _remove_tree(path: Path) -> None:
    """rm -rf, refusing a tree with anything mounted in it: rmtree would go through a
    mount and delete what lies beyond (a leftover /dev bind is the host's /dev)."""
    if not path.exists():
        return
    inside = str(path.resolve()) + "/"
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    busy = [m for m in mounts if m.startswith(inside)]
    if busy:
        raise RuntimeError(f"not removing {path}: mounted inside it: {', '.join(busy)}")
    shutil.rmtree(path)
