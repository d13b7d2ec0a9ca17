"""The JQL subset the test Jira server understands, with Jira's wording for what it refuses.

Supported: ``AND`` / ``OR`` / ``NOT`` and parentheses; ``project``, ``key`` (``issuekey``), ``status``,
``issuetype`` (``type``), ``resolution``, ``labels`` with ``=``, ``!=``, ``IN``, ``NOT IN``,
``IS [NOT] EMPTY``;
``updated``, ``created``, ``resolved`` (``resolutiondate``) with ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``
against epoch milliseconds, ``"YYYY-MM-DD HH:mm"``, ``"YYYY/MM/DD"`` (read in the profile time zone) or a
relative period such as ``-5d``; ``ORDER BY`` ``key``, ``updated``, ``created``, ``resolved``, ``status``,
``issuetype``, ``rank`` with ``ASC`` / ``DESC``. Anything else raises ``JqlError`` carrying the message Jira
would put in ``errorMessages``.

Issues are matched on *facts*: a dict per issue with ``project`` (key, lower case), ``project_name``,
``key``, ``key_order``, ``id``, ``status``, ``issuetype``, ``resolution`` (lower case or ``None``), ``labels``
(lower case) and ``updated`` / ``created`` / ``resolved`` (epoch ms or ``None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

Facts = dict[str, Any]
Predicate = Callable[[Facts], bool]

_TOKEN = re.compile(r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|!~|[=<>~(),])"""
                    r"""|(?P<word>[^\s"'=<>!~(),]+)|(?P<bad>\S))""")
_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
_TEXT_FIELDS = {"project": "project", "key": "key", "issuekey": "key", "status": "status",
                "issuetype": "issuetype", "type": "issuetype", "resolution": "resolution", "labels": "labels"}
_DATE_FIELDS = {"updated": "updated", "updateddate": "updated", "created": "created",
                "createddate": "created", "resolved": "resolved", "resolutiondate": "resolved"}
_ORDER_FIELDS = {**_DATE_FIELDS, "key": "key_order", "issuekey": "key_order", "status": "status",
                 "issuetype": "issuetype", "type": "issuetype", "rank": "id", "id": "id"}
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_PERIOD = re.compile(r"([-+]?)((?:\d+[wdhm]\s*)+)")
_PERIOD_PART = re.compile(r"(\d+)([wdhm])")
_PERIOD_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}
_OPERATORS = "'=', '!=', '<', '>', '<=', '>=', 'IN', 'NOT IN', 'IS' and 'IS NOT'"


class JqlError(ValueError):
    """The query cannot run; ``str(error)`` is Jira's ``errorMessages`` entry."""


@dataclass(frozen=True)
class Token:
    kind: str  # "string" | "op" | "word" | "end"
    text: str
    position: int

    @property
    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "word" and self.text.lower() in _KEYWORDS else None


@dataclass
class Query:
    predicate: Predicate | None
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (facts key, descending)

    @property
    def bounded(self) -> bool:
        """Jira Cloud refuses a search with no restriction at all (an empty query or only ORDER BY)."""
        return self.predicate is not None

    def matches(self, facts: Facts) -> bool:
        return self.predicate is None or self.predicate(facts)

    def sort(self, rows: list[Any], facts_of: Callable[[Any], Facts]) -> list[Any]:
        ordered = sorted(rows, key=lambda row: facts_of(row)["key_order"])
        for name, descending in reversed(self.order_by):
            ordered.sort(key=lambda row, n=name: _sortable(facts_of(row).get(n)), reverse=descending)
        return ordered


def _sortable(value: Any) -> tuple:
    return (value is None, value if value is not None else 0)


def parse_jql(text: str, *, tz: tzinfo = UTC, now_ms: Callable[[], int] | None = None) -> Query:
    """Parse ``text`` into a ``Query`` (``JqlError`` with Jira's message when it cannot)."""
    return _Parser(text, tz, now_ms or (lambda: int(datetime.now(UTC).timestamp() * 1000))).parse()


def _tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        value = match.group(kind)
        position = match.start(kind)
        if kind == "bad" and value in "\"'":
            raise JqlError(f"Error in the JQL Query: The quoted string '{text[position + 1:]}' has not been "
                           f"completed. (line 1, character {position + 1})")
        if kind == "bad":
            raise JqlError(f"Error in the JQL Query: The character '{value}' is a reserved JQL character. "
                           f"You must enclose it in a string or use the escape '\\u{ord(value):04x}' "
                           f"instead. (line 1, character {position + 1})")
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(Token(kind, value, position))
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, tz: tzinfo, now_ms: Callable[[], int]) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.tz, self.now_ms = tz, now_ms

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def fail(self, expected: str, note: str = "") -> JqlError:
        token = self.token
        if token.kind == "end":
            return JqlError(f"Error in the JQL Query: Expecting {expected} before the end of the query."
                            f"{note}")
        return JqlError(f"Error in the JQL Query: Expecting {expected} but got '{token.text}'.{note} "
                        f"(line 1, character {token.position + 1})")

    def parse(self) -> Query:
        predicate = None
        if self.token.kind != "end" and self.token.keyword != "order":
            predicate = self.parse_or()
        order_by = self.parse_order_by() if self.token.keyword == "order" else []
        if self.token.kind != "end":
            raise self.fail("either 'OR' or 'AND'" if order_by == [] else "',' or the end of the query")
        return Query(predicate, order_by)

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.token.keyword == "or":
            self.advance()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda facts: any(part(facts) for part in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.token.keyword == "and":
            self.advance()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else (lambda facts: all(part(facts) for part in parts))

    def parse_not(self) -> Predicate:
        if self.token.keyword == "not":
            self.advance()
            inner = self.parse_not()
            return lambda facts: not inner(facts)
        if self.token.kind == "op" and self.token.text == "(":
            self.advance()
            inner = self.parse_or()
            if not (self.token.kind == "op" and self.token.text == ")"):
                raise self.fail("')'")
            self.advance()
            return inner
        return self.parse_clause()

    def parse_clause(self) -> Predicate:
        if self.token.kind not in ("word", "string") or self.token.keyword:
            raise self.fail("a field name")
        name = self.advance().text
        if name.lower() in _DATE_FIELDS:
            return self.date_clause(name, _DATE_FIELDS[name.lower()])
        if name.lower() in _TEXT_FIELDS:
            return self.text_clause(name, _TEXT_FIELDS[name.lower()])
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")

    def operator(self) -> str:
        token = self.token
        if token.kind == "op" and token.text in ("=", "!=", "<", "<=", ">", ">="):
            self.advance()
            return token.text
        if token.keyword == "in":
            self.advance()
            return "in"
        if token.keyword == "not" and self.tokens[self.index + 1].keyword == "in":
            self.index += 2
            return "not in"
        if token.keyword == "is":
            self.advance()
            if self.token.keyword == "not":
                self.advance()
                return "is not"
            return "is"
        raise self.fail("operator", f" The valid operators are {_OPERATORS}.")

    def values(self, operator: str) -> list[str] | None:
        """The operand(s); ``None`` stands for EMPTY / NULL."""
        if operator in ("is", "is not"):
            if self.token.keyword not in ("empty", "null"):
                raise self.fail("'EMPTY' or 'NULL'")
            self.advance()
            return None
        if operator in ("in", "not in"):
            if not (self.token.kind == "op" and self.token.text == "("):
                raise self.fail("'('")
            self.advance()
            items = [self.single_value()]
            while self.token.kind == "op" and self.token.text == ",":
                self.advance()
                items.append(self.single_value())
            if not (self.token.kind == "op" and self.token.text == ")"):
                raise self.fail("')'")
            self.advance()
            return items
        return [self.single_value()]

    def single_value(self) -> str:
        if self.token.kind == "string" or (self.token.kind == "word" and self.token.keyword is None):
            value = self.advance().text
            if self.token.kind == "op" and self.token.text == "(":
                raise JqlError(f"Unable to find JQL function '{value}()'.")
            return value
        raise self.fail("either a value, list or function")

    def text_clause(self, name: str, fact: str) -> Predicate:
        operator = self.operator()
        if operator in ("<", "<=", ">", ">="):
            raise JqlError(f"The operator '{operator}' is not supported by the '{name}' field.")
        values = self.values(operator)
        if values is None:
            empty = operator == "is"
            return lambda facts: (not facts.get(fact)) == empty
        wanted = {value.lower() for value in values}
        if fact == "project":
            def hit(facts: Facts) -> bool:
                return facts["project"] in wanted or (facts.get("project_name") or "") in wanted
        elif fact == "labels":
            def hit(facts: Facts) -> bool:
                return bool(wanted.intersection(facts.get("labels") or ()))
        else:
            def hit(facts: Facts) -> bool:
                return facts.get(fact) in wanted
        if operator in ("=", "in"):
            return hit
        return lambda facts: facts.get(fact) is not None and not hit(facts)

    def date_clause(self, name: str, fact: str) -> Predicate:
        operator = self.operator()
        if operator in ("in", "not in"):
            values = self.values(operator) or []
            moments = {self.moment(name, value) for value in values}
            inside = operator == "in"
            return lambda facts: facts.get(fact) is not None and (facts[fact] in moments) == inside
        values = self.values(operator)
        if values is None:
            empty = operator == "is"
            return lambda facts: (facts.get(fact) is None) == empty
        moment = self.moment(name, values[0])
        compare: Callable[[int], bool] = {
            "=": lambda v: v == moment, "!=": lambda v: v != moment, "<": lambda v: v < moment,
            "<=": lambda v: v <= moment, ">": lambda v: v > moment, ">=": lambda v: v >= moment,
        }[operator]
        return lambda facts: facts.get(fact) is not None and compare(facts[fact])

    def moment(self, name: str, value: str) -> int:
        """Epoch ms for a JQL date operand: a number is epoch ms; a date is read in the profile zone."""
        text = value.strip()
        if re.fullmatch(r"\d+", text):
            return int(text)
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
            except ValueError:
                continue
            return int(parsed.replace(tzinfo=self.tz).timestamp() * 1000)
        period = _PERIOD.fullmatch(text)
        if period:
            span = sum(int(n) * _PERIOD_MS[unit] for n, unit in _PERIOD_PART.findall(period.group(2)))
            minute = self.now_ms() // 60_000 * 60_000
            return minute - span if period.group(1) == "-" else minute + span
        raise JqlError(f"Date value '{value}' for field '{name}' is invalid. Valid formats include: "
                       "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
                       "format e.g. '-5d', '4w 2d'.")

    def parse_order_by(self) -> list[tuple[str, bool]]:
        self.advance()
        if self.token.keyword != "by":
            raise self.fail("'by'")
        self.advance()
        order = [self.order_item()]
        while self.token.kind == "op" and self.token.text == ",":
            self.advance()
            order.append(self.order_item())
        return order

    def order_item(self) -> tuple[str, bool]:
        if self.token.kind not in ("word", "string") or self.token.keyword:
            raise self.fail("a field name")
        name = self.advance().text
        fact = _ORDER_FIELDS.get(name.lower())
        if fact is None:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        descending = False
        if self.token.keyword in ("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return fact, descending
