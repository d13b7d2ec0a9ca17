"""``IssueFrames`` ↔ plain typed column arrays, so the tables can be kept in a columnar file and restored
exactly (same columns, order, dtypes, values and categories) without parsing the issues again.

Every column of the three tables is encoded by what it holds:

- ``plain``: a numpy integer or float column (NaN kept as a value);
- ``bool``: a numpy bool column;
- ``datetime``: ``datetime64[<unit>, <tz>]`` or naive ``datetime64[<unit>]`` as int64 ticks (NaT = the
  smallest int64, as pandas stores it);
- ``nullable_bool``: pandas' ``boolean`` as int8 (-1 = NA, 0, 1);
- ``text``: an object column of ``str`` / ``None`` (and NaN, which pandas puts where ``None`` is assigned into
  an object column) as codes into its distinct strings (-1 = None; NaN has a code of its own, ``nan_code``);
- ``text_tuples``: an object column of tuples of ``str`` (the team names) as offsets plus coded strings;
- ``category``: a categorical with ``str`` categories as its codes and categories.

Anything else (an object column mixing numbers and text, a non-default index, categories that are not
text) raises ``UnsupportedColumnError``: the caller then keeps no columnar copy and builds from the issues,
so a value the columns cannot hold exactly is never changed on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from data.metrics.issue_tables import IssueFrames, frame_config

TABLE_NAMES: tuple[str, ...] = ("issues", "intervals", "transitions")
_NAT = np.iinfo(np.int64).min


class UnsupportedColumnError(ValueError):
    """A column holds values the columnar form cannot restore exactly; the message names it."""


@dataclass
class ColumnData:
    """One encoded column: ``kind`` (see the module docstring), its arrays and what restores its dtype.

    ``values`` (plain, bool, datetime, nullable_bool) is a numpy array, or for ``datetime`` on the way back
    also a pandas ``DatetimeArray`` of the right dtype (taken as is, so memory-mapped data is not copied).
    ``codes`` index ``uniques`` (-1 = none); ``nan_code`` (when not -1) is the code standing for NaN, its
    entry in ``uniques`` a placeholder; ``offsets`` delimit each row's codes for ``text_tuples``."""

    name: str
    kind: str
    dtype: str = ""
    values: Any = None
    codes: np.ndarray | None = None
    uniques: list[str] = field(default_factory=list)
    offsets: np.ndarray | None = None
    ordered: bool = False
    nan_code: int = -1


@dataclass
class FrameColumns:
    """The three tables as encoded columns, plus what else ``IssueFrames`` needs to be restored."""

    tables: dict[str, list[ColumnData]]
    field_ids: tuple[tuple[str, str | None], ...]
    skipped_issue_count: int
    row_counts: dict[str, int]


def frames_to_columns(frames: IssueFrames) -> FrameColumns:
    """Encode every column of ``frames``; ``UnsupportedColumnError`` when one cannot be restored exactly."""
    tables = {}
    for name in TABLE_NAMES:
        table = getattr(frames, name)
        if not isinstance(table.index, pd.RangeIndex) or table.index.start != 0 or table.index.step != 1:
            raise UnsupportedColumnError(f"the {name} table has a non-default index")
        if not all(isinstance(column, str) for column in table.columns) or table.columns.has_duplicates:
            raise UnsupportedColumnError(f"the {name} table has column names that are not distinct text")
        tables[name] = [encode_column(column, table[column]) for column in table.columns]
    return FrameColumns(tables, tuple(frames.field_ids), int(frames.skipped_issue_count),
                        {name: len(getattr(frames, name)) for name in TABLE_NAMES})


def frames_from_columns(columns: FrameColumns, settings: Mapping[str, Any]) -> IssueFrames:
    """Restore the tables; ``config`` is that of ``settings``, which must be the settings the frames were
    derived with (the caller keys the stored columns by their mapping hash). ``ValueError`` when the
    columns do not make consistent tables (a damaged file)."""
    config = frame_config(settings)
    if tuple(columns.field_ids) != config.field_ids:
        raise ValueError("the stored tables were parsed with other field mappings")
    tables = {}
    for name in TABLE_NAMES:
        restored = {column.name: decode_column(column) for column in columns.tables[name]}
        table = pd.DataFrame(restored, index=pd.RangeIndex(columns.row_counts[name]), copy=False)
        if len(table) != columns.row_counts[name] or any(len(v) != len(table) for v in restored.values()):
            raise ValueError(f"the stored {name} table has columns of different lengths")
        tables[name] = table
    frames = IssueFrames(tables["issues"], tables["intervals"], tables["transitions"], tuple(columns.field_ids),
                         skipped_issue_count=columns.skipped_issue_count)
    return replace(frames, config=config, memo={})


def encode_column(name: str, series: pd.Series) -> ColumnData:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = list(dtype.categories)
        if not all(type(c) is str for c in categories) or dtype.categories.dtype != object:
            raise UnsupportedColumnError(f"column {name}: categories that are not text")
        codes = np.asarray(series.cat.codes.to_numpy())
        return ColumnData(name, "category", str(codes.dtype), codes=codes, uniques=categories,
                          ordered=bool(dtype.ordered))
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        utc = series.dt.tz_convert(None) if isinstance(dtype, pd.DatetimeTZDtype) else series
        ticks = np.asarray(utc.to_numpy())  # numpy datetime64 ticks, UTC for a time-zone aware column
        return ColumnData(name, "datetime", str(dtype), values=ticks.view(np.int64))
    if isinstance(dtype, pd.BooleanDtype):
        values = np.where(series.isna().to_numpy(), -1, series.fillna(False).to_numpy(dtype=bool)).astype(np.int8)
        return ColumnData(name, "nullable_bool", str(dtype), values=values)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return ColumnData(name, "bool", str(dtype), values=series.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return ColumnData(name, "plain", str(dtype), values=series.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        return _encode_objects(name, series.to_numpy())
    raise UnsupportedColumnError(f"column {name}: dtype {dtype} has no columnar form")


def _encode_objects(name: str, values: np.ndarray) -> ColumnData:
    if all(value is None or type(value) is str or _is_nan(value) for value in values):
        codes, uniques = _code_texts(values)
        nan_rows = np.fromiter((_is_nan(value) for value in values), dtype=bool, count=len(values))
        if not nan_rows.any():
            return ColumnData(name, "text", "object", codes=codes, uniques=uniques)
        codes[nan_rows] = len(uniques)
        return ColumnData(name, "text", "object", codes=codes, uniques=[*uniques, ""], nan_code=len(uniques))
    if all(type(value) is tuple and all(type(item) is str for item in value) for value in values):
        lengths = np.fromiter((len(value) for value in values), dtype=np.int64, count=len(values))
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        flat = np.array([item for value in values for item in value], dtype=object)
        codes, uniques = _code_texts(flat)
        return ColumnData(name, "text_tuples", "object", codes=codes, uniques=uniques, offsets=offsets)
    kinds = sorted({type(value).__name__ for value in values})
    raise UnsupportedColumnError(f"column {name}: values of mixed kinds ({', '.join(kinds)})")


def _is_nan(value: Any) -> bool:
    return type(value) is float and value != value


def _code_texts(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    if len(values) == 0:
        return np.zeros(0, dtype=np.int32), []
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    return codes.astype(np.int32), [str(u) for u in uniques]


def decode_column(column: ColumnData) -> Any:
    """The column's values in their original dtype (numpy arrays are used without copying)."""
    kind = column.kind
    if kind == "plain":
        return _checked_dtype(np.asarray(column.values), column)
    if kind == "bool":
        values = np.asarray(column.values)
        return values.view(np.bool_) if values.dtype == np.uint8 else _checked_dtype(values, column)
    if kind == "datetime":
        return _datetimes(column)
    if kind == "nullable_bool":
        values = np.asarray(column.values)
        if values.size and (values.min() < -1 or values.max() > 1):
            raise ValueError(f"column {column.name}: a boolean outside -1, 0, 1")
        return pd.arrays.BooleanArray(values == 1, values == -1)
    if kind == "text":  # a Series of dtype object: a bare array of strings would be inferred as pandas' str
        return pd.Series(_texts(column.codes, column.uniques, column.name, column.nan_code), dtype=object, copy=False)
    if kind == "text_tuples":
        return pd.Series(_text_tuples(column), dtype=object, copy=False)
    if kind == "category":
        return _categorical(column)
    raise ValueError(f"column {column.name}: unknown kind {kind!r}")


def _checked_dtype(values: np.ndarray, column: ColumnData) -> np.ndarray:
    if str(values.dtype) != column.dtype:
        raise ValueError(f"column {column.name}: stored as {values.dtype}, expected {column.dtype}")
    return values


def _datetimes(column: ColumnData) -> Any:
    values = column.values
    if not isinstance(values, np.ndarray):
        if str(values.dtype) != column.dtype:
            raise ValueError(f"column {column.name}: stored as {values.dtype}, expected {column.dtype}")
        return values
    dtype = pd.api.types.pandas_dtype(column.dtype)
    unit = dtype.unit if isinstance(dtype, pd.DatetimeTZDtype) else np.datetime_data(dtype)[0]
    naive = pd.Series(np.asarray(values, dtype=np.int64).view(f"M8[{unit}]"))
    return (naive.dt.tz_localize("UTC").dt.tz_convert(dtype.tz) if isinstance(dtype, pd.DatetimeTZDtype)
            else naive).array


def _texts(codes: np.ndarray | None, uniques: list[str], name: str, nan_code: int = -1) -> np.ndarray:
    codes = np.asarray(codes if codes is not None else np.zeros(0, dtype=np.int32))
    if codes.size and (codes.min() < -1 or codes.max() >= len(uniques)):
        raise ValueError(f"column {name}: a code outside its {len(uniques)} strings")
    if nan_code >= len(uniques):
        raise ValueError(f"column {name}: its NaN code is outside its {len(uniques)} strings")
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = uniques
    table[-1] = None
    if nan_code >= 0:
        table[nan_code] = np.nan
    return table[codes]


def _text_tuples(column: ColumnData) -> np.ndarray:
    flat = _texts(column.codes, column.uniques, column.name)
    offsets = np.asarray(column.offsets)
    if offsets.size == 0 or offsets[0] != 0 or offsets[-1] != len(flat) or np.any(np.diff(offsets) < 0):
        raise ValueError(f"column {column.name}: offsets that do not delimit its values")
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    out = np.empty(len(offsets) - 1, dtype=object)
    bounds = offsets.tolist()
    for row in range(len(out)):
        value = tuple(flat[bounds[row]:bounds[row + 1]])
        out[row] = shared.setdefault(value, value)
    return out


def _categorical(column: ColumnData) -> pd.Categorical:
    codes = np.asarray(column.codes).astype(column.dtype, copy=False)
    if codes.size and (codes.min() < -1 or codes.max() >= len(column.uniques)):
        raise ValueError(f"column {column.name}: a code outside its {len(column.uniques)} categories")
    categories = pd.Index(column.uniques, dtype=object)
    return pd.Categorical.from_codes(codes, categories=categories, ordered=column.ordered)
