"""Why Update Data did not run: its own small module, so a command that only computes (``cli.py metrics``)
can name these errors without importing the update machinery (the sources, ``requests``)."""

from __future__ import annotations

from configuration.settings import SettingsError


class UpdateAlreadyRunning(RuntimeError):
    """Another Update Data (another tab, worker or cron job) holds the lock."""


class UpdateRefused(SettingsError):
    """Update Data cannot run with these settings; the message names the file and the key to fix."""
