"""SIGTERM under traffic ends the process cleanly: distls stops accepting, lets tunnels
drain for --drain-timeout, closes what is left, waits for every coroutine to end and
exits 0 with nothing left running (`shutdown ... tasks_left=0`). Under the sanitized
build (scripts/test.sh --sanitized) a use of a destroyed object at shutdown is a report
that fails sanitizer.reports; here it is the exit status and the log that say it.
"""

import signal
import unittest

from erlterm import format_atom
from harness import ClusterTestCase, wait_for


class ShutdownTest(ClusterTestCase):

    def test_sigterm_under_traffic_exits_cleanly(self) -> None:
        ca = self.cluster.ca("shutdown")
        pods = [self.cluster.pod(n, ca.issue(f"app@127.0.0.{n}"), extra_distls_args=["--drain-timeout", "2s"])
                for n in (2, 3)]
        for pod in pods:
            self.addCleanup(pod.stop)
            self.assertEqual(pod.eval("distls_test_repl:serve().")[0], "ok")
        a, b = pods
        self.assertIs(a.connect(b), True)
        self.assertEqual(a.eval(f"distls_test_traffic:start([{format_atom(b.name)}])."), "ok")
        wait_for("traffic to flow", lambda: a.eval("distls_test_traffic:stats().")[0][1] > 50)
        mark = b.distls_log.mark()
        b.distls.popen.send_signal(signal.SIGTERM)
        status = b.distls.popen.wait(timeout=60)
        self.assertEqual(status, 0, b.distls_log.tail())
        done = b.distls_log.events_since(mark, "shutdown")
        self.assertTrue(done, b.distls_log.tail())
        self.assertEqual(done[-1].fields["tasks_left"], "0", done[-1].line)
        self.assertEqual(done[-1].fields["detail"], "drain timeout", "the tunnel was live until closed")
        self.assertFalse(b.distls_log.events_since(mark, "shutdown_incomplete"))
        self.assertFalse(b.distls_log.events_since(mark, "task_failed"))
        a.eval("distls_test_traffic:stop().", timeout=60)

    def test_second_signal_cuts_the_drain_short(self) -> None:
        ca = self.cluster.ca("shutdown-twice")
        pods = [self.cluster.pod(n, ca.issue(f"app@127.0.0.{n}"), extra_distls_args=["--drain-timeout", "600s"])
                for n in (4, 5)]
        for pod in pods:
            self.addCleanup(pod.stop)
        a, b = pods
        self.assertIs(a.connect(b), True)
        mark = b.distls_log.mark()
        b.distls.popen.send_signal(signal.SIGTERM)
        wait_for("the drain to start", lambda: b.distls_log.events_since(mark, "draining"))
        b.distls.popen.send_signal(signal.SIGTERM)
        self.assertEqual(b.distls.popen.wait(timeout=60), 0, b.distls_log.tail())
        done = b.distls_log.events_since(mark, "shutdown")
        self.assertEqual(done[-1].fields["detail"], "second signal")
        self.assertEqual(done[-1].fields["tasks_left"], "0")


if __name__ == "__main__":
    unittest.main()
