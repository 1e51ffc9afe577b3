"""STIX pattern validation at ingest speed: a recogniser of the common subset, the reference parser otherwise.

``stix2-patterns`` (an ANTLR parser) takes milliseconds a pattern, which caps an envelope of indicators at a
few hundred a second. Most patterns are one or a few observation expressions of comparisons joined by AND
and OR; :func:`simple_pattern` recognises exactly such patterns, more strictly than the grammar (only what
the reference parser certainly accepts), and anything it does not recognise goes to the reference parser,
which decides. So no pattern is accepted that ``stix2-patterns`` would refuse (a property test checks it).
"""

from __future__ import annotations

import re
from functools import lru_cache

from stix2patterns.validator import run_validator

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\['\\])*')
      | (?P<float>-?(?:0|[1-9][0-9]*)\.[0-9]+(?![0-9.]))
      | (?P<int>-?(?:0|[1-9][0-9]*)(?![0-9.]))
      | (?P<path>[a-z0-9][a-z0-9-]*[a-z0-9]:[a-z0-9_]+(?:\.[a-z0-9_]+)*)
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<word>AND|OR|NOT|IN|LIKE|MATCHES|EXISTS|true|false)(?![A-Za-z0-9_])
      | (?P<punct>[\[\]\(\),])
    )""",
    re.VERBOSE,
)
_LITERALS = frozenset({"string", "float", "int", "bool"})


def pattern_tokens(pattern: str) -> list[tuple[str, str]] | None:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = pattern.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            return None
        kind = found.lastgroup or ""
        value = found.group(kind)
        if kind == "word" and value in {"true", "false"}:
            kind = "bool"
        tokens.append((kind, value))
        position = found.end()
    return tokens


class PatternParser:
    """Recursive descent over the subset; every method returns False at the first thing it does not know."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0
        self.types: set[str] = set()

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> bool:
        token = self.peek()
        if token[0] == kind and (value is None or token[1] == value):
            self.at += 1
            return True
        return False

    def pattern(self) -> bool:
        if not self.observation():
            return False
        while self.peek() in {("word", "AND"), ("word", "OR")}:
            self.at += 1
            if not self.observation():
                return False
        return self.peek()[0] == "end"

    def observation(self) -> bool:
        self.types = set()
        if not self.take("punct", "[") or not self.comparison():
            return False
        # one object type an observation expression: certainly valid whatever joins its comparisons
        return self.take("punct", "]") and len(self.types) == 1

    def comparison(self) -> bool:
        if not self.term():
            return False
        while self.peek() in {("word", "AND"), ("word", "OR")}:
            self.at += 1
            if not self.term():
                return False
        return True

    def term(self) -> bool:  # noqa: PLR0911 - one return per alternative of the grammar
        if self.take("punct", "("):
            return self.comparison() and self.take("punct", ")")
        negated = self.take("word", "NOT")
        if self.take("word", "EXISTS"):
            return self.path()
        if negated or not self.path():
            return False
        negated = self.take("word", "NOT")
        operator = self.peek()
        if not negated and operator[0] == "op":
            self.at += 1  # an ordering (>, >=, <, <=) never takes a boolean (the grammar refuses it)
            return self.literal(ordering=operator[1] not in {"=", "!="})
        if self.take("word", "IN"):
            if not self.take("punct", "(") or not self.literal():
                return False
            while self.take("punct", ","):
                if not self.literal():
                    return False
            return self.take("punct", ")")
        if self.take("word", "LIKE") or self.take("word", "MATCHES"):
            return self.take("string")
        return False

    def path(self) -> bool:
        token = self.peek()
        if token[0] != "path":
            return False
        if "hashes" in token[1].split(":", 1)[1].split("."):  # hash values: the reference parser checks them
            return False
        self.types.add(token[1].split(":", 1)[0])
        self.at += 1
        return True

    def literal(self, *, ordering: bool = False) -> bool:
        kind = self.peek()[0]
        if kind in _LITERALS and not (ordering and kind == "bool"):
            self.at += 1
            return True
        return False


# The commonest patterns, whole: observations of comparisons ``path op literal`` joined by AND/OR (words
# between spaces), one object type an observation (the backreference). Everything it matches the recursive
# recogniser below accepts too (same tokens, a narrower grammar); it only spares building the tokens.
_GAP = r"[ \t\n\r]"
_ORDERED = r"(?:'(?:[^'\\]|\\['\\])*'|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?![0-9.]))"
_LITERAL = r"(?:" + _ORDERED + r"|(?:true|false)(?![A-Za-z0-9_]))"
_SEGMENT = r"(?!hashes(?![a-z0-9_]))[a-z0-9_]+"  # hash values are checked by the reference parser
_PROPERTY = (
    r":"
    + _SEGMENT
    + r"(?:\."
    + _SEGMENT
    + r")*"
    + _GAP
    + r"*"
    + r"(?:(?:!=|=)"
    + _GAP
    + "*"
    + _LITERAL
    + r"|(?:>=|<=|>|<)"
    + _GAP
    + "*"
    + _ORDERED
    + r")"
)
_OBSERVATION = (
    r"\["
    + _GAP
    + r"*(?P<type>[a-z0-9][a-z0-9-]*[a-z0-9])"
    + _PROPERTY
    + r"(?:"
    + _GAP
    + r"+(?:AND|OR)"
    + _GAP
    + r"+(?P=type)"
    + _PROPERTY
    + r")*"
    + _GAP
    + r"*\]"
)
COMMON_PATTERNS = re.compile(
    _GAP
    + "*"
    + _OBSERVATION
    + r"(?:"
    + _GAP
    + r"+(?:AND|OR)"
    + _GAP
    + r"+"
    + _OBSERVATION.replace("(?P<type>", "(?P<next>").replace("(?P=type)", "(?P=next)")
    + r")*"
    + _GAP
    + "*"
)


def simple_pattern(pattern: str) -> bool:
    """True when ``pattern`` is in the recognised subset (and so certainly valid STIX 2.1)."""
    if COMMON_PATTERNS.fullmatch(pattern):
        return True
    tokens = pattern_tokens(pattern)
    return tokens is not None and PatternParser(tokens).pattern()


@lru_cache(maxsize=65536)
def pattern_errors(pattern: str) -> tuple[str, ...]:
    """Why ``pattern`` is not a valid STIX 2.1 pattern; empty when it is."""
    if simple_pattern(pattern):
        return ()
    try:
        return tuple(str(e) for e in run_validator(pattern, stix_version="2.1"))
    except Exception as error:  # the ANTLR parser raises assorted errors on garbage
        return (str(error),)
