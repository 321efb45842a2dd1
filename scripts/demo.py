#!/usr/bin/env python3
"""distls in one minute: three Erlang "pods" on one machine, clustered over mutual TLS.

Each pod is a loopback alias (127.0.0.2, .3, .4) running a distls proxy and an
Erlang node `app@127.0.0.N` that uses `-epmd_module distls_epmd`. The script makes
a CA, starts the pods, connects them, shows each node's membership, passes a
message around the ring, and stops everything.

    scripts/demo.py [--build DIR]      # DIR holds distls, ebin/, test_ebin/ (default ./build)

It uses the integration-test harness (tests/integration/harness.py), so it needs
the same build: `cmake --build build` first.
"""

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

from erlterm import format_atom  # noqa: E402
from harness import Build, Cluster  # noqa: E402

POD_NUMBERS = (2, 3, 4)


def say(text: str) -> None:
    print(text, flush=True)


def run(build: Build) -> int:
    cluster = Cluster("demo", build)
    try:
        ca = cluster.ca("demo")
        say(f"1. created a CA (distls ca init): {ca.cert}")

        pods = []
        for n in POD_NUMBERS:
            name = f"app@127.0.0.{n}"
            certs = ca.issue(name)
            pod = cluster.pod(n, certs)
            pods.append(pod)
            say(f"2. pod {pod.ip}: cert for {name} issued, distls listening for TLS on "
                f"{pod.ip}:{pod.tls_port}, node {name} registered (its own port "
                f"127.0.0.1:{pod.dist_port()}, loopback only)")

        first, *rest = pods
        for pod in rest:
            ok = first.connect(pod)
            say(f"3. {first.name} connects to {pod.name}: {'ok' if ok else 'FAILED'}")
            if not ok:
                raise RuntimeError(f"could not connect {first.name} to {pod.name}")
        cluster.wait_for_mesh(pods)
        for pod in pods:
            say(f"4. {pod.name} sees: {', '.join(pod.nodes())}")

        for pod in pods:
            pod.eval("distls_test_repl:serve().")
        route = [p.name for p in rest] + [first.name]
        message = f"hello from {first.name}"
        ok, visited, echoed = first.eval(
            "distls_test_repl:ring([" + ",".join(format_atom(n) for n in route) + "], "
            + '"' + message + '").')
        if ok != "ok":
            raise RuntimeError(f"ring failed: {ok}")
        say(f'5. message "{echoed}" went around the ring: '
            + " -> ".join([first.name, *visited]))

        opened = first.distls_log.events_since(0, "tunnel_open")
        for event in opened:
            f = event.fields
            say(f"6. {first.name}'s distls tunnel {f.get('direction')} "
                f"{f.get('peer', '?')}: {f.get('tls', '?')} {f.get('cipher', '')}".rstrip())
    except Exception as e:
        say(f"demo failed: {e}")
        # close() then keeps the work directory and prints every process's last log lines.
        cluster.failed = cluster.report_on_close = True
        return 1
    finally:
        cluster.close()
        say("7. stopped every node and proxy")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build",
                        help="CMake build directory with distls, ebin/, test_ebin/ (default: ./build)")
    args = parser.parse_args()
    build = Build.from_env(args.build)
    try:
        build.check()
    except RuntimeError as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2
    say(f"distls demo: pods {', '.join(f'127.0.0.{n}' for n in POD_NUMBERS)} "
        f"using {build.distls}")
    status = run(build)
    say("done" if status == 0 else "failed")
    return status


if __name__ == "__main__":
    sys.exit(main())
