"""MLflow's search grammar for runs and experiments, parsed and compiled to SQLAlchemy.

``metrics.auc > 0.9 and params.model = 'rf' and tags.team IN ('risk', 'fraud')``: comparisons
joined by AND only, as in MLflow; every error names the token at fault.
"""

from __future__ import annotations

import base64
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mlpipex.errors import Invalid
from mlpipex.store import schema as t

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

# Run attributes by their MLflow names; "created" is MLflow's alias of start_time.
_RUN_STRING_ATTRS = {
    "run_id": "id",
    "run_name": "name",
    "status": "status",
    "user_id": "user_id",
    "lifecycle_stage": "lifecycle_stage",
    "commit": "commit",
    "parent_run_id": "parent_id",
    "entry_point": "entry_point",
}
_RUN_NUMERIC_ATTRS = {"start_time": "start_time", "end_time": "end_time", "created": "start_time"}
_EXP_STRING_ATTRS = {"name": "name", "experiment_id": "id", "lifecycle_stage": "lifecycle_stage"}
_EXP_NUMERIC_ATTRS = {"creation_time": "created_at", "last_update_time": "updated_at"}
_DATASET_FIELDS = ("name", "digest", "context", "uri")

_WS = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_]+")
_BARE_KEY = re.compile(r"[\w.\-/:]+")
_OP = re.compile(r"(<=|>=|!=|<>|=|<|>|(?:NOT\s+IN|IN|ILIKE|LIKE)\b)", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_QUOTED = {"'": re.compile(r"'((?:[^'\\]|\\.)*)'"), '"': re.compile(r'"((?:[^"\\]|\\.)*)"')}


@dataclass(frozen=True)
class Comparison:
    entity: str  # metrics, params, tags, attributes, datasets
    key: str
    op: str  # canonical: =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN
    value: float | str | tuple[str, ...]


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
    frozenset(("attributes", k) for k in (*_RUN_NUMERIC_ATTRS, *_EXP_NUMERIC_ATTRS)),
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


# -- compiling -------------------------------------------------------------------------------


def _string_cmp(
    col: sa.ColumnElement[Any], op: str, value: Any, dialect: str
) -> sa.ColumnElement[bool]:
    if op in ("=", "!="):
        return _numeric_cmp(col, op, value)
    if op == "IN":
        return col.in_(list(value))
    if op == "NOT IN":
        return col.not_in(list(value))
    if op == "ILIKE":
        return col.ilike(value)
    if dialect == "sqlite":
        # SQLite's LIKE ignores case; GLOB does not, and MLflow's LIKE is case-sensitive.
        glob = re.sub(r"[*?\[]", lambda m: f"[{m.group(0)}]", value)
        glob = glob.replace("%", "*").replace("_", "?")
        return col.op("GLOB")(glob)
    return col.like(value)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _numeric_cmp(col: sa.ColumnElement[Any], op: str, value: Any) -> sa.ColumnElement[bool]:
    out: sa.ColumnElement[bool] = _COMPARE[op](col, value)  # only the one asked for is built
    return out


def run_conditions(clauses: Sequence[Comparison], dialect: str) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on the runs table; each key's rows are found through a subquery."""
    out: list[sa.ColumnElement[bool]] = []
    for c in clauses:
        if c.entity == "attributes":
            key = c.key.lower()
            if key in _RUN_NUMERIC_ATTRS:
                out.append(_numeric_cmp(t.runs.c[_RUN_NUMERIC_ATTRS[key]], c.op, c.value))
            elif key in _RUN_STRING_ATTRS:
                out.append(_string_cmp(t.runs.c[_RUN_STRING_ATTRS[key]], c.op, c.value, dialect))
            else:
                raise _unknown_attr(c.key, [*_RUN_STRING_ATTRS, *_RUN_NUMERIC_ATTRS])
        elif c.entity == "metrics":
            m = t.latest_metrics.c
            cond = (
                sa.or_(m.is_nan, m.value != c.value)
                if c.op == "!="
                else sa.and_(~m.is_nan, _numeric_cmp(m.value, c.op, c.value))
            )
            out.append(t.runs.c.id.in_(sa.select(m.run_id).where(m.key == c.key, cond)))
        elif c.entity == "datasets":
            if c.key not in _DATASET_FIELDS:
                raise Invalid(
                    f"invalid filter: datasets.{c.key} is not searchable",
                    hint="use datasets." + ", datasets.".join(_DATASET_FIELDS),
                )
            i = t.run_inputs.c
            out.append(
                t.runs.c.id.in_(
                    sa.select(i.run_id).where(_string_cmp(i[c.key], c.op, c.value, dialect))
                )
            )
        else:
            kv = t.params if c.entity == "params" else t.run_tags
            out.append(
                t.runs.c.id.in_(
                    sa.select(kv.c.run_id).where(
                        kv.c.key == c.key, _string_cmp(kv.c.value, c.op, c.value, dialect)
                    )
                )
            )
    return out


def experiment_conditions(
    clauses: Sequence[Comparison], dialect: str
) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    for c in clauses:
        key = c.key.lower()
        if c.entity == "tags":
            et = t.experiment_tags.c
            out.append(
                t.experiments.c.id.in_(
                    sa.select(et.experiment_id).where(
                        et.key == c.key, _string_cmp(et.value, c.op, c.value, dialect)
                    )
                )
            )
        elif c.entity == "attributes" and key in _EXP_NUMERIC_ATTRS:
            out.append(_numeric_cmp(t.experiments.c[_EXP_NUMERIC_ATTRS[key]], c.op, c.value))
        elif c.entity == "attributes" and key in _EXP_STRING_ATTRS:
            value = c.value
            if key == "experiment_id":  # ids are integers stored, strings shown
                value = (
                    tuple(_int_id(v) for v in value) if isinstance(value, tuple) else _int_id(value)
                )
            out.append(_string_cmp(t.experiments.c[_EXP_STRING_ATTRS[key]], c.op, value, dialect))
        elif c.entity == "attributes":
            raise _unknown_attr(c.key, [*_EXP_STRING_ATTRS, *_EXP_NUMERIC_ATTRS])
        else:
            raise Invalid(
                f"invalid experiment filter: {c.entity}.{c.key} does not apply",
                hint="filter by name, creation_time, last_update_time or tags.",
            )
    return out


def _int_id(v: Any) -> Any:
    return int(v) if isinstance(v, str) and v.isdigit() else v


def _unknown_attr(key: str, known: Sequence[str]) -> Invalid:
    return Invalid(
        f"invalid filter: unknown attribute {key!r}", hint="attributes are " + ", ".join(known)
    )


# -- ordering and pages ----------------------------------------------------------------------

_ORDER = re.compile(r"^\s*(?P<ident>.+?)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.IGNORECASE)


def run_order(order_by: Sequence[str] | None) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms for MLflow's order_by strings (``metrics.auc DESC``); runs without the key
    and NaN metrics come last either way, as in MLflow."""
    out: list[sa.ColumnElement[Any]] = []
    for text in order_by or []:
        m = _ORDER.match(text)
        if m is None:
            raise Invalid(f"invalid order_by {text!r}", hint="write e.g. 'metrics.auc DESC'")
        s = _Scanner(m.group("ident"), "order_by", RUNS)
        entity, key = _identifier(s, dict(s.grammar.entities))
        if not s.at_end():
            raise s.fail("ASC or DESC")
        desc = (m.group("dir") or "ASC").upper() == "DESC"
        col: sa.ColumnElement[Any]
        if entity == "attributes":
            name = {**_RUN_STRING_ATTRS, **_RUN_NUMERIC_ATTRS}.get(key.lower())
            if name is None:
                raise _unknown_attr(key, [*_RUN_STRING_ATTRS, *_RUN_NUMERIC_ATTRS])
            col = t.runs.c[name]
        elif entity == "metrics":
            lm = t.latest_metrics.c
            col = (
                sa.select(sa.case((lm.is_nan, sa.null()), else_=lm.value))
                .where(lm.run_id == t.runs.c.id, lm.key == key)
                .scalar_subquery()
            )
        elif entity in ("params", "tags"):
            kv = t.params if entity == "params" else t.run_tags
            col = (
                sa.select(kv.c.value)
                .where(kv.c.run_id == t.runs.c.id, kv.c.key == key)
                .scalar_subquery()
            )
        else:
            raise Invalid(f"invalid order_by {text!r}: cannot order by {entity}")
        out += [sa.case((col.is_(None), 1), else_=0), col.desc() if desc else col.asc()]
    return out


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
