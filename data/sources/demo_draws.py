"""Fast random draws and timestamp formatting for the demo generator: scalars pulled from pre-drawn
chunks, and Jira timestamps with the authors' UTC offsets written in one vectorised pass."""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
OFFSET_MINUTES = (0, 60, -300, 330, 480)
OFFSET_SUFFIX = tuple(f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}{abs(m) % 60:02d}"
                       for m in OFFSET_MINUTES)


class Draws:
    """Pre-drawn uniforms and normals, so the per-issue simulation pulls scalars at list speed."""

    def __init__(self, rng: np.random.Generator, chunk: int = 1 << 16) -> None:
        self._rng, self._chunk = rng, chunk
        self._u: list[float] = []
        self._z: list[float] = []
        self._ui = self._zi = 0

    def uniform(self) -> float:
        if self._ui == len(self._u):
            self._u, self._ui = self._rng.random(self._chunk).tolist(), 0
        self._ui += 1
        return self._u[self._ui - 1]

    def pick(self, count: int) -> int:
        return min(int(self.uniform() * count), count - 1)

    def chance(self, probability: float) -> bool:
        return self.uniform() < probability

    def weighted(self, cumulative: tuple[float, ...]) -> int:
        return min(bisect.bisect_right(cumulative, self.uniform()), len(cumulative) - 1)

    def hours(self, median: float, sigma: float, low: float, high: float) -> int:
        """A log-normal duration in ms: median and spread in hours, clipped to [low, high] hours."""
        if self._zi == len(self._z):
            self._z, self._zi = self._rng.standard_normal(self._chunk).tolist(), 0
        self._zi += 1
        value = median * math.exp(sigma * self._z[self._zi - 1])
        return int(min(max(value, low), high) * HOUR_MS)


class Stamps:
    """Timestamps formatted in one vectorised pass: (container, key) slots with an instant and an offset."""

    def __init__(self) -> None:
        self.slots: list[tuple[dict[str, Any], str]] = []
        self.instants: list[int] = []
        self.offsets: list[int] = []

    def add(self, container: dict[str, Any], key: str, instant_ms: int, offset_index: int) -> None:
        self.slots.append((container, key))
        self.instants.append(instant_ms)
        self.offsets.append(offset_index)

    def fill(self) -> None:
        if not self.slots:
            return
        offsets = np.asarray(self.offsets, dtype=np.int64)
        local = np.asarray(self.instants, dtype=np.int64) + np.asarray(OFFSET_MINUTES)[offsets] * MINUTE_MS
        text = np.datetime_as_string(local.astype("datetime64[ms]"), unit="ms").tolist()
        for (container, key), base, offset in zip(self.slots, text, self.offsets, strict=True):
            container[key] = base + OFFSET_SUFFIX[offset]
