"""The normalised issue tables kept next to the issue cache, so a restart maps them instead of parsing.

Why: building the tables from ``cache/issues.json`` takes seconds at 50,000 issues and every server process
did it on its first request. ``cache/tables-<data version>-<key digest>.arrow`` holds the three tables of
``IssueFrames`` in Apache Arrow's IPC file format (the format of Feather v2), uncompressed, so loading is a
memory map: numbers and times are used in place without a copy, and every process that maps the same file
shares its pages through the operating system's page cache. Parquet was measured against it: smaller on disk,
but it always decodes into private memory, which is the cost this file exists to avoid.

What is in the file: a fixed magic, the length of a JSON header, the header (the key, each table's column
kinds and row count, the field ids, the skipped-issue count, each section's offset, length and CRC-32), then
one Arrow IPC file per table at 64-byte aligned offsets. Columns are encoded by
``data.metrics.frame_columns`` (objects as dictionary-coded text, categories as codes and categories).

The key: the issue cache's ``data_version``, ``field_mapping_hash`` of the settings the tables were derived
with, ``TABLE_FORMAT_VERSION``, and ``code_version()`` (a digest of the normalisation code and of the pandas
and pyarrow versions, so an upgrade that changes how issues are normalised rebuilds). The JSON cache stays the
source of truth: a missing, stale, truncated or damaged file means the caller builds from it and saves anew.

Writing: the file is written atomically (temporary file, fsync, ``os.replace``) under the issue cache's lock,
only while the issue cache still holds the same data version, and the other ``tables-*.arrow`` files are
then removed (a process that still maps one keeps its pages until it lets go). Readers take no lock: they see
the old file or the new one, never a half-written one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import stat
import struct
import time
import zlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from data.metrics.frame_columns import (
    TABLE_NAMES,
    ColumnData,
    FrameColumns,
    UnsupportedColumnError,
    frames_from_columns,
    frames_to_columns,
)
from data.metrics.issue_tables import IssueFrames
from data.store.issue_cache import issues_path, load_fetch_meta
from data.store.json_store import PersistenceError, file_lock, write_bytes_atomic

logger = logging.getLogger(__name__)

TABLE_FORMAT_VERSION = 1
MAGIC = b"DFTABLES"
_ALIGN = 64
_TABLE_FILE = re.compile(r"^tables-[0-9A-Za-z_-]+-[0-9a-f]{16}\.arrow$")
_OUR_TEMPORARIES = re.compile(r"^\.tables-[0-9A-Za-z_-]+-[0-9a-f]{16}\.arrow\..+\.tmp$")
STRAY_AGE_SECONDS = 60.0
# The modules whose code decides what the tables hold: a change to any of them changes code_version().
_NORMALISATION_MODULES = (
    "data.metrics.issue_frame", "data.metrics.issue_parsing", "data.metrics.issue_derivation",
    "data.metrics.issue_tables", "data.metrics.field_values", "data.metrics.teams", "data.metrics.periods",
    "data.metrics.frame_columns", "configuration.defaults",
)


class TableCacheError(ValueError):
    """The table file cannot be used (damaged, truncated, of another key); the message says why."""


@cache
def code_version() -> str:
    """A digest of the normalisation code and the library versions that shape the tables' dtypes."""
    digest = hashlib.sha256(f"pandas {pd.__version__} pyarrow {pa.__version__}".encode())
    for name in _NORMALISATION_MODULES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        digest.update(name.encode())
        if origin:
            digest.update(Path(origin).read_bytes())
    return digest.hexdigest()[:16]


def table_key(data_version: str, mapping_hash: str) -> dict[str, Any]:
    return {"format": TABLE_FORMAT_VERSION, "data_version": str(data_version), "mapping_hash": str(mapping_hash),
            "code": code_version()}


def table_path(data_version: str, mapping_hash: str) -> Path:
    """``cache/tables-<data version>-<digest of the whole key>.arrow``."""
    key = table_key(data_version, mapping_hash)
    digest = hashlib.sha256(orjson.dumps(key, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    safe_version = re.sub(r"[^0-9A-Za-z_-]", "_", str(data_version)) or "none"
    return issues_path().with_name(f"tables-{safe_version}-{digest}.arrow")


def load_tables(data_version: str, mapping_hash: str, settings: Mapping[str, Any]) -> IssueFrames | None:
    """The tables of this key from their file, or ``None`` when there is none or it cannot be used (then a
    warning is logged: the caller rebuilds from the issue cache and saves a new file)."""
    path = table_path(data_version, mapping_hash)
    try:
        columns = _read(path, table_key(data_version, mapping_hash))
        return frames_from_columns(columns, settings) if columns is not None else None
    except (TableCacheError, ValueError, KeyError, TypeError, IndexError, OSError, pa.ArrowException) as exc:
        logger.warning("The table cache %s cannot be used (%s); rebuilding it from the issue cache",
                       path.name, exc)
        return None


def save_tables(frames: IssueFrames, data_version: str, mapping_hash: str) -> Path | None:
    """Write the tables of this key (atomic, under the issue cache's lock) and remove the other table files.

    Returns the path written, or ``None`` when nothing was written: the issue cache moved on to another data
    version meanwhile, or a column cannot be held exactly (logged; the tables are then built from the issue
    cache on every start). Raises ``PersistenceError`` when the file cannot be written."""
    try:
        columns = frames_to_columns(frames)
    except UnsupportedColumnError as exc:
        logger.warning("The issue tables are not kept in a table cache: %s", exc)
        return None
    payload = _encode(columns, table_key(data_version, mapping_hash))
    path = table_path(data_version, mapping_hash)
    with file_lock(issues_path()):
        current = (load_fetch_meta() or {}).get("data_version")
        if str(current) != str(data_version):
            logger.info("Not saving the tables of data version %s: the issue cache now holds %s",
                        data_version, current)
            return None
        write_bytes_atomic(path, payload)
        _remove_other_files(keep=path.name)
    return path


def _remove_other_files(*, keep: str) -> None:
    folder = issues_path().parent
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if _TABLE_FILE.match(name) and name != keep:
            _remove(folder / name, older_than=None)
        elif _OUR_TEMPORARIES.match(name):
            _remove(folder / name, older_than=STRAY_AGE_SECONDS)


def _remove(path: Path, *, older_than: float | None) -> None:
    try:
        if older_than is not None and time.time() - path.stat().st_mtime < older_than:
            return
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("Could not remove %s: %s", path.name, exc.strerror or exc)


# ---------------------------------------------------------------- the file


def _encode(columns: FrameColumns, key: Mapping[str, Any]) -> bytes:
    blobs, specs = {}, {}
    for name in TABLE_NAMES:
        batch, specs[name] = _record_batch(columns.tables[name], columns.row_counts[name])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, batch.schema) as writer:
            writer.write_batch(batch)  # one batch even for no rows: it carries the categories of an empty table
        blobs[name] = sink.getvalue()
    header: dict[str, Any] = {
        "key": dict(key), "field_ids": [list(pair) for pair in columns.field_ids],
        "skipped_issue_count": columns.skipped_issue_count, "row_counts": columns.row_counts,
        "columns": specs, "sections": {},
    }
    # The header's length depends on the offsets it lists: place the sections after a generous bound.
    bound = _aligned(len(MAGIC) + 8 + len(orjson.dumps(header)) + 200 * len(TABLE_NAMES) + 64)
    offset = bound
    for name in TABLE_NAMES:
        header["sections"][name] = {"offset": offset, "length": blobs[name].size,
                                    "crc32": zlib.crc32(memoryview(blobs[name]))}
        offset = _aligned(offset + blobs[name].size)
    header_bytes = orjson.dumps(header)
    if len(MAGIC) + 8 + len(header_bytes) > bound:
        raise PersistenceError("The table cache header did not fit its space")
    parts = [MAGIC, struct.pack("<Q", len(header_bytes)), header_bytes]
    out = bytearray(b"".join(parts).ljust(bound, b"\0"))
    for name in TABLE_NAMES:
        out += memoryview(blobs[name])
        out += b"\0" * (_aligned(len(out)) - len(out))
    return bytes(out)


def _aligned(size: int) -> int:
    return (size + _ALIGN - 1) // _ALIGN * _ALIGN


def _record_batch(columns: list[ColumnData], rows: int) -> tuple[pa.RecordBatch, list[dict[str, Any]]]:
    arrays, specs = [], []
    for column in columns:
        arrays.append(_arrow_array(column))
        specs.append({"name": column.name, "kind": column.kind, "dtype": column.dtype, "ordered": column.ordered,
                      "nan_code": column.nan_code})
    names = [f"c{position}" for position in range(len(columns))]
    if not arrays:
        return pa.RecordBatch.from_arrays([pa.nulls(rows)], names=["_rows"]), specs
    return pa.RecordBatch.from_arrays(arrays, names=names), specs


def _arrow_array(column: ColumnData) -> pa.Array:
    if column.kind in ("plain", "nullable_bool"):
        return pa.array(column.values)
    if column.kind == "bool":
        return pa.array(column.values.view("uint8"))
    if column.kind == "datetime":
        ticks = pa.array(column.values.view("int64"))
        unit, tz = _datetime_unit(column.dtype)
        # The ticks as they are (NaT = the smallest int64, no null bitmap), so reading maps them unchanged.
        return pa.Array.from_buffers(pa.timestamp(unit, tz), len(ticks), [None, ticks.buffers()[1]])
    if column.kind in ("text", "category"):
        return _dictionary(column.codes, column.uniques)
    if column.kind == "text_tuples":
        return pa.ListArray.from_arrays(pa.array(column.offsets.astype("int32")),
                                        _dictionary(column.codes, column.uniques))
    raise TableCacheError(f"column {column.name}: unknown kind {column.kind!r}")


def _dictionary(codes: Any, uniques: list[str]) -> pa.DictionaryArray:
    indices = pa.array(codes.astype("int32"), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(uniques, type=pa.string()))


def _datetime_unit(dtype: str) -> tuple[str, str | None]:
    """The unit and time zone of a pandas datetime dtype's name (``datetime64[us, UTC]`` → ``us``, ``UTC``)."""
    match = re.match(r"^datetime64\[(s|ms|us|ns)(?:, (.+))?\]$", dtype)
    if match is None:
        raise TableCacheError(f"a time column of dtype {dtype}")
    return match.group(1), match.group(2)


def _read(path: Path, key: Mapping[str, Any]) -> FrameColumns | None:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO in its place would block the reader forever
            raise TableCacheError("it is not a regular file")
        source = pa.memory_map(str(path), "r")
    except FileNotFoundError:
        return None
    buffer = source.read_buffer()
    header = _header(buffer)
    if header.get("key") != dict(key):
        raise TableCacheError("its key differs from its name")
    tables = {}
    for name in TABLE_NAMES:
        section = header["sections"][name]
        offset, length = int(section["offset"]), int(section["length"])
        if offset < 0 or length < 0 or offset + length > buffer.size:
            raise TableCacheError(f"the {name} table lies beyond the end of the file (truncated?)")
        blob = buffer.slice(offset, length)
        if zlib.crc32(memoryview(blob)) != section["crc32"]:
            raise TableCacheError(f"the {name} table's checksum does not match (damaged)")
        table = pa.ipc.open_file(blob).read_all()
        tables[name] = _columns_of(table, header["columns"][name], int(header["row_counts"][name]))
    return FrameColumns(tables, tuple((str(k), v) for k, v in header["field_ids"]),
                        int(header["skipped_issue_count"]), {n: int(header["row_counts"][n]) for n in TABLE_NAMES})


def _header(buffer: pa.Buffer) -> dict[str, Any]:
    start = len(MAGIC) + 8
    if buffer.size < start or buffer.slice(0, len(MAGIC)).to_pybytes() != MAGIC:
        raise TableCacheError("not a table cache file")
    (length,) = struct.unpack("<Q", buffer.slice(len(MAGIC), 8).to_pybytes())
    if start + length > buffer.size:
        raise TableCacheError("its header is truncated")
    header = orjson.loads(buffer.slice(start, length).to_pybytes())
    if not isinstance(header, dict):
        raise TableCacheError("its header is not an object")
    return header


def _columns_of(table: pa.Table, specs: list[dict[str, Any]], rows: int) -> list[ColumnData]:
    if table.num_rows != rows or (specs and table.num_columns != len(specs)):
        raise TableCacheError("a table's shape differs from its header")
    times = [f"c{i}" for i, spec in enumerate(specs) if spec["kind"] == "datetime"]
    # pyarrow turns the time columns into pandas arrays that use the mapped ticks in place.
    as_pandas = table.select(times).to_pandas(split_blocks=True) if times else None
    columns = []
    for position, spec in enumerate(specs):
        array = table.column(position).combine_chunks()
        column = ColumnData(spec["name"], spec["kind"], spec["dtype"], ordered=bool(spec.get("ordered")),
                            nan_code=int(spec.get("nan_code", -1)))
        if spec["kind"] == "datetime":
            column.values = as_pandas[f"c{position}"].array
        elif spec["kind"] in ("plain", "bool", "nullable_bool"):
            column.values = array.to_numpy(zero_copy_only=False)
        elif spec["kind"] in ("text", "category"):
            column.codes, column.uniques = _codes_of(array)
        elif spec["kind"] == "text_tuples":
            column.offsets = array.offsets.to_numpy(zero_copy_only=False).astype("int64")
            column.codes, column.uniques = _codes_of(array.values)
        else:
            raise TableCacheError(f"column {spec['name']}: unknown kind {spec['kind']!r}")
        columns.append(column)
    return columns


def _codes_of(array: pa.Array) -> tuple[Any, list[str]]:
    if not isinstance(array, pa.DictionaryArray):
        raise TableCacheError("a text column is not dictionary-coded")
    codes = array.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return codes, array.dictionary.to_pylist()
