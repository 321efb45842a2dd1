#!/usr/bin/env python3
"""The layout rules of docs/architecture.md, checked on a source tree.

Two CMake libraries already make one wrong-way include fail to compile (certs/ sees
only its own rooms of include/). What the compiler cannot see is checked here:

- rooms point one way: cli -> sidecar -> epmd/discovery/admin -> tunnel -> tls ->
  the certs rooms (k8s, renewal -> x509 -> util). A room includes its own headers and
  those of rooms below it, never one beside or above it; certs/ never includes proxy/;
  nothing includes another folder's sources by path ("proxy/...", "../x.hpp");
- every coroutine starts through Tasks::spawn (its failure logged, counted and, for
  an essential task, reported): no `asio::detached`, no `co_spawn` outside tasks.hpp;
- no lambda that holds captures by value is made inside a `co_await` expression: GCC 12
  destroys such a closure twice (a shared_ptr capture then frees what is still in use);
  name it first, then pass it;
- no folder of sources holds more than MAX_FILES files;
- reported, not failed: a header in include/distls/<room>/ that no other room
  includes could sit beside its source.

Usage: check_layout.py [ROOT]  (default: the repository holding this file). Exit 1
with one line per broken rule, naming the file, the line and the rule.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Each room's level: a room may include rooms of a lower level only. Rooms that share
# a level (k8s and renewal; epmd, discovery and admin) are independent of each other.
LEVELS = {
    "util": 0, "x509": 1, "renewal": 2, "k8s": 2,  # certs/
    "tls": 3, "tunnel": 4, "epmd": 5, "discovery": 5, "admin": 5, "sidecar": 6, "cli": 7,  # proxy/
}
CERTS_ROOMS = {"util", "x509", "renewal", "k8s"}
ORDER = "cli -> sidecar -> epmd/discovery/admin -> tunnel -> tls -> k8s/renewal -> x509 -> util"
# Folders of proxy/ and certs/ that hold no C++ (the Erlang application).
NOT_CXX = {"erlang"}
# Known wrong-way includes, each with its reason; one that no longer occurs fails the
# check, so that the list only shrinks.
EXCEPTIONS: dict[tuple[str, str], str] = {}
MAX_FILES = 15
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".c", ".py", ".erl"}
# The only file that may call co_spawn.
SPAWN_HOME = {"include/distls/util/tasks.hpp"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
DETACHED = re.compile(r"\basio::detached\b|\bdetached\s*\)")
CO_SPAWN = re.compile(r"\bco_spawn\s*\(")
CO_AWAIT = re.compile(r"\bco_await\b")
LAMBDA = re.compile(r"\[([^\[\]]*)\]\s*(?:\([^()]*\))?\s*(?:mutable\s*)?(?:->[^{;]*)?\{")


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def room_of(rel: str) -> tuple[str, str] | None:
    """(top, room) for certs/<room>/..., proxy/<room>/..., include/distls/<room>/..."""
    parts = rel.split("/")
    if parts[0] in ("certs", "proxy") and len(parts) > 2:
        return parts[0], parts[1]
    if parts[:2] == ["include", "distls"] and len(parts) > 3:
        return ("certs" if parts[2] in CERTS_ROOMS else "proxy"), parts[2]
    return None


def cxx_files(root: Path) -> list[str]:
    out = []
    for top in ("certs", "proxy", "include"):
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.endswith((".cpp", ".hpp", ".h")):
                    out.append((Path(dirpath) / name).relative_to(root).as_posix())
    return out


def strip_comment(line: str) -> str:
    return line.split("//", 1)[0]


def check_includes(root: Path, files: list[str], report: Report) -> dict[str, set[str]]:
    """The direction rules; returns, per public header, the rooms that include it."""
    used_by: dict[str, set[str]] = {}
    seen_exceptions = set()
    for rel in files:
        where = room_of(rel)
        if where is None:
            report.errors.append(f"{rel}: outside every room: sources go in certs/<room>/ or "
                                 f"proxy/<room>/, shared headers in include/distls/<room>/")
            continue
        top, room = where
        if room not in LEVELS:
            report.errors.append(f"{rel}: room '{room}' has no place in the order ({ORDER}): "
                                 f"add it to LEVELS in tests/layout/check_layout.py and docs/architecture.md")
            continue
        text = (root / rel).read_text(errors="replace").splitlines()
        for n, line in enumerate(text, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(2)
            at = f'{rel}:{n}: #include {m.group(1)}{target}{">" if m.group(1) == "<" else chr(34)}'
            first = target.split("/", 1)[0]
            if first in ("certs", "proxy", "include", "tests") or target.startswith(".."):
                report.errors.append(f"{at}: reaches into another folder's sources; what another "
                                     f"folder includes lives in include/distls/<room>/")
                continue
            if first != "distls" or target.count("/") < 2:
                continue  # a system header, or a private one beside this file
            dest = target.split("/")[1]
            used_by.setdefault(target, set()).add(room)
            if dest == room:
                continue
            if dest not in LEVELS:
                report.errors.append(f"{at}: no room '{dest}' in the order ({ORDER})")
                continue
            if (rel, target) in EXCEPTIONS:
                seen_exceptions.add((rel, target))
                report.notes.append(f"{at}: known exception to '{room} -> {dest}': {EXCEPTIONS[(rel, target)]}")
                continue
            if top == "certs" and dest not in CERTS_ROOMS:
                report.errors.append(f"{at}: certs/ never includes proxy/ ({room} is in certs/, "
                                     f"{dest} in proxy/)")
            elif LEVELS[dest] >= LEVELS[room]:
                below = sorted((r for r in LEVELS if LEVELS[r] < LEVELS[room]), key=lambda r: (-LEVELS[r], r))
                report.errors.append(f"{at}: {room} may include only {', '.join(below) or 'nothing'} "
                                     f"(dependencies point one way: {ORDER})")
    for rel, target in sorted(set(EXCEPTIONS) - seen_exceptions):
        report.errors.append(f"{rel}: the known exception for #include \"{target}\" no longer occurs: "
                             f"remove it from EXCEPTIONS in tests/layout/check_layout.py")
    return used_by


def check_spawns(root: Path, files: list[str], report: Report) -> None:
    for rel in files:
        for n, line in enumerate((root / rel).read_text(errors="replace").splitlines(), 1):
            code = strip_comment(line)
            if DETACHED.search(code):
                report.errors.append(f"{rel}:{n}: a detached coroutine ends without a word when it "
                                     f"throws: start it with Tasks::spawn (include/distls/util/tasks.hpp)")
            elif CO_SPAWN.search(code) and rel not in SPAWN_HOME:
                report.errors.append(f"{rel}:{n}: co_spawn outside Tasks: start coroutines with "
                                     f"Tasks::spawn, which logs and counts how each one ends")


def co_await_statement(code: str, start: int) -> str:
    """From a co_await to the end of its statement (the ';' outside brackets)."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] in "([{":
            depth += 1
        elif code[i] in ")]}":
            depth -= 1
            if depth < 0:
                return code[start:i]
        elif code[i] == ";" and depth == 0:
            return code[start:i]
    return code[start:]


def check_awaited_closures(root: Path, files: list[str], report: Report) -> None:
    for rel in files:
        code = "\n".join(strip_comment(line) for line in (root / rel).read_text(errors="replace").splitlines())
        for m in CO_AWAIT.finditer(code):
            for lam in LAMBDA.finditer(co_await_statement(code, m.end())):
                captures = [c.strip() for c in lam.group(1).split(",") if c.strip()]
                if any(c not in ("this", "&") and not c.startswith("&") for c in captures):
                    n = code.count("\n", 0, m.start()) + 1
                    report.errors.append(f"{rel}:{n}: a lambda capturing by value ([{lam.group(1).strip()}]) "
                                         f"inside a co_await expression: GCC 12 destroys the closure twice; "
                                         f"name it before the co_await")


def check_folder_sizes(root: Path, report: Report) -> None:
    for top in ("certs", "proxy", "include", "tests"):
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            if not any(Path(f).suffix in SOURCE_SUFFIXES for f in filenames):
                continue  # data (fuzz corpora, certificates), not sources
            if len(filenames) > MAX_FILES:
                rel = Path(dirpath).relative_to(root).as_posix()
                report.errors.append(f"{rel}/: {len(filenames)} files, more than {MAX_FILES}: give it "
                                     f"rooms, one concern each")


def note_private_headers(root: Path, used_by: dict[str, set[str]], report: Report) -> None:
    base = root / "include"
    for path in sorted(base.rglob("*.hpp")):
        rel = path.relative_to(base).as_posix()
        parts = rel.split("/")
        if len(parts) < 3:
            continue
        if not (used_by.get(rel, set()) - {parts[1]}):
            report.notes.append(f"include/{rel}: included only from its own room ({parts[1]}): it could "
                                f"sit beside its source (tests may include it from there)")


def check(root: Path) -> Report:
    report = Report()
    files = cxx_files(root)
    used_by = check_includes(root, files, report)
    check_awaited_closures(root, files, report)
    check_spawns(root, files, report)
    check_folder_sizes(root, report)
    note_private_headers(root, used_by, report)
    return report


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2]
    report = check(root)
    for note in report.notes:
        print(f"note: {note}")
    for error in report.errors:
        print(f"error: {error}")
    if report.errors:
        print(f"{len(report.errors)} layout rule(s) broken (docs/architecture.md)")
        return 1
    known = sum(1 for n in report.notes if "known exception" in n)
    print(f"layout: {len(cxx_files(root))} files in their rooms, dependencies one way ({ORDER}), "
          f"{known} known exception(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
