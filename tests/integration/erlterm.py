"""Parse the text of an Erlang term as printed by io_lib's ~0tp into Python values.

The test REPL prints every result this way, so the tests can compare plain Python
values instead of strings:

    atom            -> Atom (a str), except true/false -> bool
    integer, float  -> int, float
    "string"        -> str (~p prints a list of printable characters as a string)
    [a, b]          -> list          {a, b} -> tuple          #{k => v} -> dict
    <<"ab">>, <<1>> -> bytes
    <0.1.0>, #Ref<...>, #Port<...>, #Fun<...>  -> Opaque (the text, unparsed)
"""

from __future__ import annotations

import re

__all__ = ["Atom", "Opaque", "ParseError", "parse_term", "format_atom"]


class Atom(str):
    """An Erlang atom; compares equal to the str of its name."""

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"


class Opaque(str):
    """A pid, reference, port or fun: only its printed form is kept."""

    def __repr__(self) -> str:
        return f"Opaque({str.__repr__(self)})"


class ParseError(ValueError):
    pass


_UNQUOTED_ATOM = re.compile(r"[a-z][A-Za-z0-9_@]*")
_NUMBER = re.compile(r"-?\d+(?:#[0-9A-Za-z]+|(?:\.\d+)?(?:[eE][+-]?\d+)?)")
_PID = re.compile(r"<\d+\.\d+\.\d+>")
_OPAQUE = re.compile(r"#(?:Ref|Port|Fun)<[^>]*>")

_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "v": "\v", "b": "\b", "f": "\f",
    "e": "\x1b", "d": "\x7f", "s": " ", "\\": "\\", '"': '"', "'": "'",
}


def format_atom(name: str) -> str:
    """The Erlang source text for an atom, quoted when it must be."""
    if _UNQUOTED_ATOM.fullmatch(name):
        return name
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_term(text: str):
    parser = _Parser(text)
    value = parser.term()
    parser.skip_space()
    if parser.pos != len(text):
        raise parser.error("trailing text")
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> ParseError:
        return ParseError(f"{what} at offset {self.pos} in {self.text!r}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, s: str) -> bool:
        return self.text.startswith(s, self.pos)

    def expect(self, s: str) -> None:
        self.skip_space()
        if not self.peek(s):
            raise self.error(f"expected {s!r}")
        self.pos += len(s)

    def match(self, pattern: re.Pattern) -> str | None:
        m = pattern.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group(0)

    def term(self):
        self.skip_space()
        if self.pos >= len(self.text):
            raise self.error("unexpected end")
        c = self.text[self.pos]
        if c == "{":
            return tuple(self.sequence("{", "}"))
        if c == "[":
            return self.sequence("[", "]")
        if self.peek("#{"):
            self.pos += 1
            return self.map()
        if self.peek("<<"):
            return self.binary()
        if c == '"':
            return self.quoted('"')
        if c == "'":
            return self.atom_value(self.quoted("'"))
        opaque = self.match(_PID) or self.match(_OPAQUE)
        if opaque:
            return Opaque(opaque)
        number = self.match(_NUMBER)
        if number:
            return _number(number)
        name = self.match(_UNQUOTED_ATOM)
        if name:
            return self.atom_value(name)
        raise self.error("unexpected character")

    @staticmethod
    def atom_value(name: str):
        if name == "true":
            return True
        if name == "false":
            return False
        return Atom(name)

    def sequence(self, open_: str, close: str) -> list:
        self.expect(open_)
        items: list = []
        self.skip_space()
        if self.peek(close):
            self.pos += 1
            return items
        while True:
            items.append(self.term())
            self.skip_space()
            if self.peek(","):
                self.pos += 1
            elif self.peek(close):
                self.pos += 1
                return items
            elif self.peek("|"):
                raise self.error("improper lists are not supported")
            else:
                raise self.error(f"expected ',' or {close!r}")

    def map(self) -> dict:
        self.expect("{")
        result: dict = {}
        self.skip_space()
        if self.peek("}"):
            self.pos += 1
            return result
        while True:
            key = self.term()
            self.expect("=>")
            result[_hashable(key)] = self.term()
            self.skip_space()
            if self.peek(","):
                self.pos += 1
            elif self.peek("}"):
                self.pos += 1
                return result
            else:
                raise self.error("expected ',' or '}'")

    def binary(self) -> bytes:
        self.expect("<<")
        self.skip_space()
        if self.peek('"'):
            text = self.quoted('"')
            self.skip_space()
            # ~tp marks a binary printed as UTF-8 text; otherwise it is latin-1.
            encoding = "latin-1"
            if self.peek("/utf8"):
                self.pos += len("/utf8")
                encoding = "utf-8"
            self.expect(">>")
            return text.encode(encoding)
        out = bytearray()
        if self.peek(">>"):
            self.pos += 2
            return bytes(out)
        while True:
            number = self.match(_NUMBER)
            if number is None:
                raise self.error("expected a byte")
            self.skip_space()
            if self.peek(":"):
                raise self.error("bitstrings are not supported")
            out.append(int(number))
            self.skip_space()
            if self.peek(","):
                self.pos += 1
                self.skip_space()
            elif self.peek(">>"):
                self.pos += 2
                return bytes(out)
            else:
                raise self.error("expected ',' or '>>'")

    def quoted(self, quote: str) -> str:
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated quote")
            c = self.text[self.pos]
            self.pos += 1
            if c == quote:
                return "".join(out)
            if c != "\\":
                out.append(c)
                continue
            out.append(self.escape())

    def escape(self) -> str:
        c = self.text[self.pos]
        if c in _ESCAPES:
            self.pos += 1
            return _ESCAPES[c]
        if c == "x":
            m = re.compile(r"x\{([0-9A-Fa-f]+)\}|x([0-9A-Fa-f]{2})").match(self.text, self.pos)
            if not m:
                raise self.error("bad \\x escape")
            self.pos = m.end()
            return chr(int(m.group(1) or m.group(2), 16))
        m = re.compile(r"[0-7]{1,3}").match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return chr(int(m.group(0), 8))
        if c == "^":
            self.pos += 2
            return chr(ord(self.text[self.pos - 1]) % 32)
        raise self.error("bad escape")


def _number(text: str):
    if "#" in text:
        base, digits = text.lstrip("-").split("#")
        value = int(digits, int(base))
        return -value if text.startswith("-") else value
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value
