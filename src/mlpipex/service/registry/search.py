"""MLflow's search grammar for runs and experiments, parsed (store/tracking/search.py compiles
the comparisons to SQL).

``metrics.auc > 0.9 and params.model = 'rf' and tags.team IN ('risk', 'fraud')``: comparisons
joined by AND only, as in MLflow; every error names the token at fault.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlpipex.errors import Invalid
from mlpipex.store.tracking.search import EXP_NUMERIC_ATTRS, RUN_NUMERIC_ATTRS, OrderTerm
from mlpipex.store.tracking.search import Comparison as Comparison  # the parser's output

_ENTITIES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
    "dataset": "datasets",
    "datasets": "datasets",
}
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")

_WS = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_]+")
_BARE_KEY = re.compile(r"[\w.\-/:]+")
_OP = re.compile(r"(<=|>=|!=|<>|=|<|>|(?:NOT\s+IN|IN|ILIKE|LIKE)\b)", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_QUOTED = {"'": re.compile(r"'((?:[^'\\]|\\.)*)'"), '"': re.compile(r'"((?:[^"\\]|\\.)*)"')}


class _Scanner:
    def __init__(self, text: str, what: str, grammar: Grammar) -> None:
        self.text, self.pos, self.what, self.grammar = text, 0, what, grammar

    def skip(self) -> None:
        m = _WS.match(self.text, self.pos)
        assert m is not None
        self.pos = m.end()

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def token(self) -> str:
        rest = self.text[self.pos :]
        m = re.match(r"'[^']*'?|\"[^\"]*\"?|[\w.\-/:`]+|\S", rest)
        return m.group(0) if m else rest[:20]

    def fail(self, expected: str) -> Invalid:
        found = repr(self.token()) if not self.at_end() else "the end of the filter"
        return Invalid(
            f"invalid {self.what}: expected {expected} at character {self.pos + 1}, found {found}",
            hint="see MLflow's search syntax: "
            "metrics.auc > 0.9 and params.model = 'rf' and tags.team IN ('a', 'b')",
        )

    def match(self, rx: re.Pattern[str]) -> str | None:
        self.skip()
        m = rx.match(self.text, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group(0)

    def quoted(self) -> str | None:
        self.skip()
        rx = _QUOTED.get(self.text[self.pos : self.pos + 1])
        m = rx.match(self.text, self.pos) if rx else None
        if m is None:
            return None
        self.pos = m.end()
        return re.sub(r"\\(.)", r"\1", m.group(1))


@dataclass(frozen=True)
class Grammar:
    """What a filter may name: entity prefixes (spelling -> entity), and which entities and
    (entity, key) pairs compare as numbers. Runs, experiments and versions share RUNS."""

    entities: Mapping[str, str]
    numeric_entities: frozenset[str]
    numeric_keys: frozenset[tuple[str, str]]

    def numeric(self, entity: str, key: str) -> bool:
        return entity in self.numeric_entities or (entity, key.lower()) in self.numeric_keys


RUNS = Grammar(
    _ENTITIES,
    frozenset({"metrics"}),
    frozenset(("attributes", k) for k in (*RUN_NUMERIC_ATTRS, *EXP_NUMERIC_ATTRS)),
)


def parse_filter(
    text: str | None, what: str = "filter", grammar: Grammar = RUNS
) -> list[Comparison]:
    """The comparisons of a filter string; None or blank is no filter."""
    s = _Scanner(text or "", what, grammar)
    out: list[Comparison] = []
    if s.at_end():
        return out
    while True:
        out.append(_comparison(s))
        if s.at_end():
            return out
        start = s.pos
        word = s.match(_WORD)
        if word is None or word.upper() != "AND":
            s.pos = start
            if word is not None and word.upper() == "OR":
                raise Invalid(
                    f"invalid {what}: 'OR' at character {start + 1} is not supported",
                    hint="MLflow's grammar joins comparisons with AND only",
                )
            raise s.fail("AND")


def _identifier(s: _Scanner, entities: dict[str, str]) -> tuple[str, str]:
    start = s.pos
    word = s.match(_WORD)
    if word is None:
        raise s.fail("an identifier such as metrics.auc, params.model or tags.team")
    if s.text[s.pos : s.pos + 1] != ".":
        return "attributes", word  # MLflow reads a bare name as an attribute
    s.pos += 1
    entity = entities.get(word.lower())
    if entity is None:
        s.pos = start
        raise s.fail("an identifier prefixed metrics., params., tags., attributes. or datasets.")
    rx = {"`": re.compile(r"`([^`]+)`")}.get(s.text[s.pos : s.pos + 1])
    m = rx.match(s.text, s.pos) if rx else None
    if m is not None:
        s.pos = m.end()
        return entity, m.group(1)
    key = s.quoted() if s.text[s.pos : s.pos + 1] == '"' else s.match(_BARE_KEY)
    if not key:
        raise s.fail(f"a key after {word}.")
    return entity, key


def _value(s: _Scanner, op: str) -> float | str | tuple[str, ...]:
    if op in ("IN", "NOT IN"):
        if s.match(re.compile(r"\(")) is None:
            raise s.fail(f"a parenthesized list of quoted values after {op}")
        items = []
        while True:
            v = s.quoted()
            if v is None:
                raise s.fail("a quoted string in the list")
            items.append(v)
            if s.match(re.compile(r"\)")) is not None:
                return tuple(items)
            if s.match(re.compile(r",")) is None:
                raise s.fail("',' or ')'")
    quoted = s.quoted()
    if quoted is not None:
        return quoted
    num = s.match(_NUMBER)
    if num is not None:
        return float(num)
    raise s.fail("a value (a quoted string or a number)")


def _comparison(s: _Scanner) -> Comparison:
    entity, key = _identifier(s, dict(s.grammar.entities))
    op_text = s.match(_OP)
    if op_text is None:
        raise s.fail("a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)")
    op = " ".join(op_text.upper().split()).replace("<>", "!=")
    at = s.pos
    value = _value(s, op)
    _check(s, at, entity, key, op, value)
    return Comparison(entity, key, op, value)


def _check(
    s: _Scanner, at: int, entity: str, key: str, op: str, value: float | str | tuple[str, ...]
) -> None:
    name = f"{entity}.{key}"
    numeric = s.grammar.numeric(entity, key)
    allowed = _NUMERIC_OPS if numeric else _STRING_OPS
    if op not in allowed:
        raise Invalid(
            f"invalid {s.what}: operator {op!r} does not apply to {name}",
            hint="use one of " + ", ".join(allowed),
        )
    found = s.text[at : s.pos].strip()
    if numeric and not isinstance(value, float):
        raise Invalid(f"invalid {s.what}: {name} compares with a number, found {found!r}")
    if not numeric and isinstance(value, float):
        raise Invalid(
            f"invalid {s.what}: {name} compares with a quoted string, found {found!r}",
            hint=f"write {name} {op} '{found}'",
        )


# -- ordering and pages ----------------------------------------------------------------------

_ORDER = re.compile(r"^\s*(?P<ident>.+?)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.IGNORECASE)


def parse_order(order_by: Sequence[str] | None) -> tuple[OrderTerm, ...]:
    """MLflow's order_by strings (``metrics.auc DESC``), parsed; store/tracking/search.py makes
    them ORDER BY terms."""
    out = []
    for text in order_by or []:
        m = _ORDER.match(text)
        if m is None:
            raise Invalid(f"invalid order_by {text!r}", hint="write e.g. 'metrics.auc DESC'")
        s = _Scanner(m.group("ident"), "order_by", RUNS)
        entity, key = _identifier(s, dict(s.grammar.entities))
        if not s.at_end():
            raise s.fail("ASC or DESC")
        out.append(OrderTerm(entity, key, (m.group("dir") or "ASC").upper() == "DESC", text))
    return tuple(out)


def check_max_results(max_results: int, most: int) -> int:
    """max_results when it is within 1..most, else refused in MLflow's words."""
    if not 1 <= max_results <= most:
        raise Invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied: "
            f"it must be between 1 and {most}"
        )
    return max_results


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise Invalid(f"invalid page token {token!r}", hint="pass the token a previous page returned")


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()
