"""check_layout.py on small synthetic trees: a tree that keeps every rule passes, and
each rule, broken once, fails with a message naming the file, the include and the rule.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import unittest
from unittest import mock
from pathlib import Path

import check_layout

CHECKER = Path(check_layout.__file__).resolve()
# A tree that keeps every rule.
GOOD = {
    "certs/util/log.cpp": '#include "distls/util/log.hpp"\n',
    "include/distls/util/log.hpp": "#pragma once\n",
    "certs/x509/pem.cpp": '#include "distls/x509/pem.hpp"\n#include "pem_block.hpp"\n#include <string>\n',
    "certs/x509/pem_block.hpp": "#pragma once\n",
    "include/distls/x509/pem.hpp": '#pragma once\n#include "distls/util/log.hpp"\n',
    "include/distls/epmd/node_registry.hpp": "#pragma once\n",
    "include/distls/tunnel/inbound_listener.hpp": "#pragma once\n",
    "proxy/tunnel/tunnel.cpp": '#include "distls/x509/pem.hpp"\n#include "distls/tunnel/inbound_listener.hpp"\n',
    "proxy/epmd/epmd_service.cpp": '#include "distls/tunnel/inbound_listener.hpp"\n'
                                   '// asio::detached in a comment is no call\n',
    "proxy/cli/main.cpp": '#include "distls/epmd/node_registry.hpp"\n#include "distls/util/log.hpp"\n',
    "include/distls/util/tasks.hpp": "#pragma once\nvoid f() { boost::asio::co_spawn(ex, t, h); }\n",
}


class CheckLayoutTest(unittest.TestCase):
    def tree(self, changes: dict[str, str | None]) -> Path:
        root = Path(self.enterContext(tempfile.TemporaryDirectory()))
        files = {**GOOD, **changes}
        for rel, text in files.items():
            if text is not None:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text)
        return root

    def errors(self, changes: dict[str, str | None]) -> list[str]:
        return check_layout.check(self.tree(changes)).errors

    def test_a_tree_that_keeps_the_rules_passes(self) -> None:
        self.assertEqual([], self.errors({}))

    def test_a_wrong_way_include_fails_naming_file_line_include_and_rule(self) -> None:
        errors = self.errors({"proxy/tunnel/tunnel.cpp":
                              '#include "distls/x509/pem.hpp"\n#include "distls/cli/proxy_command.hpp"\n'})
        self.assertEqual(1, len(errors), errors)
        self.assertIn('proxy/tunnel/tunnel.cpp:2: #include "distls/cli/proxy_command.hpp"', errors[0])
        self.assertIn("tunnel may include only tls, k8s, renewal, x509, util", errors[0])
        self.assertIn("one way", errors[0])

    def test_rooms_on_one_level_do_not_include_each_other(self) -> None:
        errors = self.errors({"proxy/discovery/discovery.cpp": '#include "distls/epmd/node_registry.hpp"\n'})
        self.assertEqual(1, len(errors), errors)
        self.assertIn("discovery may include only", errors[0])

    def test_certs_never_includes_proxy(self) -> None:
        for include in ('"distls/tunnel/inbound_listener.hpp"', '<distls/sidecar/config.hpp>'):
            with self.subTest(include=include):
                errors = self.errors({"certs/x509/pem.cpp": f"#include {include}\n"})
                self.assertEqual(1, len(errors), errors)
                self.assertIn(f"certs/x509/pem.cpp:1: #include {include}", errors[0])
                self.assertIn("certs/ never includes proxy/", errors[0])

    def test_a_header_inside_include_is_held_to_its_room(self) -> None:
        errors = self.errors({"include/distls/x509/pem.hpp": '#pragma once\n#include "distls/renewal/rotation.hpp"\n'})
        self.assertEqual(1, len(errors), errors)
        self.assertIn("include/distls/x509/pem.hpp:2", errors[0])

    def test_reaching_into_another_folders_sources_fails(self) -> None:
        for include in ('"proxy/sidecar/config.hpp"', '"../x509/pem_block.hpp"'):
            with self.subTest(include=include):
                errors = self.errors({"certs/k8s/signer.cpp": f"#include {include}\n"})
                self.assertEqual(1, len(errors), errors)
                self.assertIn("reaches into another folder's sources", errors[0])

    def test_a_room_outside_the_order_fails(self) -> None:
        errors = self.errors({"proxy/grpc/server.cpp": "int x;\n"})
        self.assertEqual(1, len(errors), errors)
        self.assertIn("room 'grpc' has no place in the order", errors[0])

    def test_a_detached_coroutine_fails(self) -> None:
        errors = self.errors({"proxy/epmd/epmd_service.cpp":
                              "void f() {\n  co_spawn(ex, serve(), boost::asio::detached);\n}\n"})
        self.assertEqual(1, len(errors), errors)
        self.assertIn("proxy/epmd/epmd_service.cpp:2: a detached coroutine", errors[0])

    def test_co_spawn_outside_tasks_fails(self) -> None:
        errors = self.errors({"certs/renewal/rotation.cpp": "void f() { co_spawn(ex, run(), handler); }\n"})
        self.assertEqual(1, len(errors), errors)
        self.assertIn("certs/renewal/rotation.cpp:1: co_spawn outside Tasks", errors[0])

    def test_a_closure_holding_values_inside_a_co_await_fails(self) -> None:
        errors = self.errors({"proxy/epmd/peer_listeners.cpp":
                              "asio::awaitable<void> f() {\n"
                              "  co_await accept_loop(acceptor,\n"
                              "                       [this, l](tcp::socket s) { go(l, std::move(s)); });\n"
                              "  co_await drive([this, &n](std::size_t& w) { return w; }, Flush::all);\n"
                              "  auto on_accept = [this, l](tcp::socket s) { go(l, std::move(s)); };\n"
                              "  co_await accept_loop(acceptor, on_accept);\n"
                              "}\n"})
        self.assertEqual(1, len(errors), errors)
        self.assertIn("proxy/epmd/peer_listeners.cpp:2: a lambda capturing by value ([this, l])", errors[0])

    def test_a_crowded_folder_fails_but_data_does_not(self) -> None:
        crowded = {f"proxy/tunnel/f{i}.cpp": "" for i in range(check_layout.MAX_FILES)}
        corpus = {f"tests/fuzz/corpus/epmd/seed{i}": "" for i in range(40)}
        errors = self.errors({**crowded, **corpus})
        self.assertEqual(1, len(errors), errors)
        self.assertIn(f"proxy/tunnel/: {check_layout.MAX_FILES + 1} files", errors[0])

    def test_a_known_exception_is_a_note_and_one_that_no_longer_occurs_fails(self) -> None:
        wrong_way = {"include/distls/tunnel/inbound_listener.hpp": '#pragma once\n#include "distls/epmd/node_registry.hpp"\n'}
        known = {("include/distls/tunnel/inbound_listener.hpp", "distls/epmd/node_registry.hpp"): "a reason"}
        self.assertEqual(1, len(self.errors(wrong_way)))
        with mock.patch.dict(check_layout.EXCEPTIONS, known):
            report = check_layout.check(self.tree(wrong_way))
            self.assertEqual([], report.errors)
            self.assertTrue(any("known exception" in n and "a reason" in n for n in report.notes), report.notes)
            errors = self.errors({})
            self.assertEqual(1, len(errors), errors)
            self.assertIn("no longer occurs", errors[0])

    def test_headers_only_their_own_room_includes_are_reported_not_failed(self) -> None:
        report = check_layout.check(self.tree({"include/distls/x509/csr.hpp": "#pragma once\n",
                                               "certs/x509/csr.cpp": '#include "distls/x509/csr.hpp"\n'}))
        self.assertEqual([], report.errors)
        self.assertTrue(any(n.startswith("include/distls/x509/csr.hpp: included only from its own room")
                            for n in report.notes), report.notes)

    def test_the_command_exits_1_and_names_the_rule(self) -> None:
        root = self.tree({"certs/util/log.cpp": '#include "distls/tls/tls_context.hpp"\n'})
        run = subprocess.run([sys.executable, str(CHECKER), str(root)], capture_output=True, text=True)
        self.assertEqual(1, run.returncode, run.stdout)
        self.assertIn('error: certs/util/log.cpp:1: #include "distls/tls/tls_context.hpp": certs/ never '
                      'includes proxy/', run.stdout)


if __name__ == "__main__":
    unittest.main()
