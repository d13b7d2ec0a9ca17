"""The subset of WIQL the test Azure DevOps server understands, with Azure DevOps' error texts.

``SELECT [fields] FROM WorkItems [WHERE condition] [ORDER BY [field] [ASC|DESC], ...]`` where a condition is
built from ``AND``, ``OR``, ``NOT`` and parentheses over ``[Ref.Name] op value`` with ``=``, ``<>``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``[NOT] IN (v, ...)``, ``[NOT] UNDER 'path'`` and ``[NOT] CONTAINS 'text'``;
a value is a quoted string (``''`` inside is one quote), a number or ``@project``. Text compares ignore case.

Dates follow Azure DevOps: a literal with a time of day needs ``timePrecision=true`` (else HTTP 400);
without it dates compare by UTC day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.ado_server.store import parse_ado_time

_TOKEN = re.compile(r"""\s*(?:(?P<field>\[[^\]]*\])|(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)
                         |(?P<op><>|!=|>=|<=|=|<|>)|(?P<punct>[(),])|(?P<macro>@\w+)|(?P<word>[A-Za-z_]\w*))""",
                    re.VERBOSE)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class WiqlError(Exception):
    """A query Azure DevOps would refuse; ``str`` is its message."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Query:
    """A parsed query: ``matches(fields)`` and the ``order`` as (reference name, descending) pairs."""

    fields: tuple[str, ...]
    matches: Predicate
    order: tuple[tuple[str, bool], ...]
    conditions: tuple[str, ...]  # every field a condition names (lower case), for tests of what was sent

    def sort_key(self, fields: Mapping[str, Any]) -> tuple:
        return tuple(_Sortable(_comparable(fields.get(name)), descending) for name, descending in self.order)


class _Sortable:
    __slots__ = ("descending", "value")

    def __init__(self, value: Any, descending: bool) -> None:
        self.value, self.descending = value, descending

    def __lt__(self, other: _Sortable) -> bool:
        if self.value == other.value:
            return False
        try:
            less = self.value < other.value
        except TypeError:
            less = str(self.value) < str(other.value)
        return not less if self.descending else less

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Sortable) and self.value == other.value


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, dict):
        return str(value.get("displayName", "")).casefold()
    return value if value is not None else ""


def parse_wiql(text: str, *, field_types: Mapping[str, tuple[str, str]], project: str,
               time_precision: bool) -> Query:
    """``text`` as a ``Query``; ``WiqlError`` with Azure DevOps' wording when it would refuse it.

    ``field_types`` maps lower-case reference names to (reference name as defined, field type: ``dateTime``,
    ``integer``, ...); field names in the query may be written in any case."""
    return _Parser(_tokens(text), field_types, project, time_precision).query()


def _tokens(text: str) -> list[Token]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise WiqlError(f"TF51006: The query statement contains an unexpected character at position "
                            f"{position + 1}: {text[position:position + 20]!r}.")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token], field_types: Mapping[str, tuple[str, str]], project: str,
                 time_precision: bool) -> None:
        self.tokens, self.position = tokens, 0
        self.field_types, self.project, self.time_precision = field_types, project, time_precision
        self.conditions: list[str] = []

    def peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() in words:
            self.position += 1
            return True
        return False

    def expect_word(self, word: str) -> None:
        if not self.word(word):
            found = self.peek()
            raise WiqlError(f"TF51006: Expecting '{word}'. The error is caused by "
                            f"«{found.text if found else 'the end of the query'}».")

    def take(self, kind: str, what: str) -> Token:
        token = self.peek()
        if token is None or token.kind != kind:
            raise WiqlError(f"TF51006: Expecting {what}. The error is caused by "
                            f"«{token.text if token else 'the end of the query'}».")
        self.position += 1
        return token

    def punct(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == text:
            self.position += 1
            return True
        return False

    def query(self) -> Query:
        self.expect_word("SELECT")
        selected = [self.field_name()]
        while self.punct(","):
            selected.append(self.field_name())
        self.expect_word("FROM")
        source = self.take("word", "WorkItems")
        if source.text.lower() != "workitems":
            raise WiqlError(f"TF51006: Expecting WorkItems. The error is caused by «{source.text}».")
        matches: Predicate = lambda fields: True  # noqa: E731
        if self.word("WHERE"):
            matches = self.disjunction()
        order: list[tuple[str, bool]] = []
        if self.word("ORDER"):
            self.expect_word("BY")
            while True:
                name = self.field_name()
                descending = self.word("DESC")
                if not descending:
                    self.word("ASC")
                order.append((name, descending))
                if not self.punct(","):
                    break
        if self.peek() is not None:
            raise WiqlError(f"TF51006: The query statement is not complete or has extra text. The error is caused "
                            f"by «{self.peek().text}».")  # type: ignore[union-attr]
        return Query(tuple(selected), matches, tuple(order), tuple(self.conditions))

    def field_name(self) -> str:
        token = self.take("field", "a field name in square brackets")
        name = token.text[1:-1].strip()
        if name.lower() not in self.field_types:
            raise WiqlError(f"TF51005: The query references a field that does not exist. The error is caused "
                            f"by «{token.text}».")
        return self.field_types[name.lower()][0]

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.word("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda fields: any(part(fields) for part in parts)

    def conjunction(self) -> Predicate:
        parts = [self.factor()]
        while self.word("AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else lambda fields: all(part(fields) for part in parts)

    def factor(self) -> Predicate:
        if self.word("NOT"):
            inner = self.factor()
            return lambda fields: not inner(fields)
        if self.punct("("):
            inner = self.disjunction()
            if not self.punct(")"):
                raise WiqlError("TF51006: Expecting ')'. The parentheses of the query do not match.")
            return inner
        return self.condition()

    def condition(self) -> Predicate:
        name = self.field_name()
        self.conditions.append(name.lower())
        field_type = self.field_types[name.lower()][1]
        negate = self.word("NOT")
        if self.word("IN"):
            if not self.punct("("):
                raise WiqlError("TF51006: Expecting '(' after IN.")
            values = [self.value(field_type)]
            while self.punct(","):
                values.append(self.value(field_type))
            if not self.punct(")"):
                raise WiqlError("TF51006: Expecting ')' after the values of IN.")
            keys = [_key(value, field_type) for value in values]
            return _negated(lambda fields: any(_equal(fields.get(name), key, field_type) for key in keys), negate)
        if self.word("UNDER"):
            path = str(self.value(field_type)).casefold()
            return _negated(lambda fields: _under(fields.get(name), path), negate)
        if self.word("CONTAINS"):
            part = str(self.value(field_type)).casefold()
            return _negated(lambda fields: part in _text(fields.get(name)), negate)
        if negate:
            raise WiqlError("TF51006: Expecting IN, UNDER or CONTAINS after NOT.")
        operator = self.take("op", "an operator such as = or >=").text
        key = _key(self.value(field_type), field_type)
        return lambda fields: _compare(fields.get(name), operator, key, field_type)

    def value(self, field_type: str) -> Any:
        token = self.peek()
        if token is None:
            raise WiqlError("TF51006: Expecting a value. The error is caused by «the end of the query».")
        self.position += 1
        if token.kind == "string":
            text = token.text[1:-1].replace("''", "'")
            return self.date(text) if field_type == "dateTime" else text
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "macro" and token.text.lower() == "@project":
            return self.project
        raise WiqlError(f"TF51006: Expecting a value. The error is caused by «{token.text}».")

    def date(self, text: str) -> datetime | tuple[str, datetime]:
        if _DATE_ONLY.match(text):
            moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return moment if self.time_precision else ("day", moment)
        moment = parse_ado_time(text)
        if moment is None:
            raise WiqlError(f"TF51012: The date '{text}' is not valid.")
        if not self.time_precision:
            raise WiqlError(f"VS402612: The date '{text}' has a time of day, which needs the timePrecision=true "
                            "parameter; without it give the date only.")
        return moment


def _negated(predicate: Predicate, negate: bool) -> Predicate:
    return (lambda fields: not predicate(fields)) if negate else predicate


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("displayName") or "").casefold()
    return "" if value is None else str(value).casefold()


def _under(value: Any, path: str) -> bool:
    text = _text(value)
    return text == path or text.startswith(path + "\\")


def _key(value: Any, field_type: str) -> Any:
    if field_type == "dateTime":
        return value
    if field_type in ("integer", "double", "picklistInteger", "picklistDouble"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise WiqlError(f"TF51011: The value '{value}' is not a number.") from None
    return str(value).casefold()


def _value_key(value: Any, key: Any, field_type: str) -> Any:
    """The stored value in the form ``key`` compares with (``None`` when it cannot be compared)."""
    if field_type == "dateTime":
        moment = parse_ado_time(value)
        if moment is None:
            return None
        return moment.date() if isinstance(key, tuple) else moment
    if isinstance(key, float):
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return _text(value)


def _equal(value: Any, key: Any, field_type: str) -> bool:
    return _compare(value, "=", key, field_type)


def _compare(value: Any, operator: str, key: Any, field_type: str) -> bool:
    target = key[1].date() if isinstance(key, tuple) else key
    mine = _value_key(value, key, field_type)
    if mine is None:
        return operator in ("<>", "!=") and value is None
    if operator == "=":
        return mine == target
    if operator in ("<>", "!="):
        return mine != target
    if operator == "<":
        return mine < target
    if operator == "<=":
        return mine <= target
    if operator == ">":
        return mine > target
    return mine >= target
