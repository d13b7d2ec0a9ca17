"""Jira credentials: from the environment first, else from a git-ignored secrets file readable only by its owner.

Tokens never go into ``app_settings.json``, never into a log line (each loaded token is registered with the
logging redaction filter) and never back to the browser (the UI only learns whether one is set).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from configuration.logging_config import register_secret
from configuration.paths import data_file
from data.store.json_store import read_json, write_json_atomic

SECRETS_FILE_NAME = ".jira_secrets.json"
ENV_EMAIL = "JIRA_EMAIL"
ENV_API_TOKEN = "JIRA_API_TOKEN"
ENV_PAT = "JIRA_PAT"


@dataclass(frozen=True)
class JiraCredentials:
    email: str = ""
    api_token: str = ""
    pat: str = ""
    source: str = "none"  # "environment" | "secrets file" | "none"

    def __repr__(self) -> str:  # never print a token, even in a debugger or a traceback
        return f"JiraCredentials(email={self.email!r}, api_token={'***' if self.api_token else ''!r}, " \
               f"pat={'***' if self.pat else ''!r}, source={self.source!r})"

    def has_secret_for(self, deployment: str) -> bool:
        return bool(self.pat) if deployment == "datacenter" else bool(self.email and self.api_token)


def secrets_path() -> Path:
    return data_file(SECRETS_FILE_NAME)


def load_credentials(settings: Mapping[str, Any] | None = None) -> JiraCredentials:
    """Environment variables win over the secrets file; the email may also come from ``jira.email``."""
    stored = read_json(secrets_path(), dict, expect=dict)
    env_token, env_pat = os.environ.get(ENV_API_TOKEN, ""), os.environ.get(ENV_PAT, "")
    settings_email = str(((settings or {}).get("jira") or {}).get("email") or "")
    email = os.environ.get(ENV_EMAIL) or settings_email or str(stored.get("email") or "")
    if env_token or env_pat:
        credentials = JiraCredentials(email, env_token, env_pat, "environment")
    elif stored.get("api_token") or stored.get("pat"):
        credentials = JiraCredentials(email, str(stored.get("api_token") or ""), str(stored.get("pat") or ""),
                                      "secrets file")
    else:
        credentials = JiraCredentials(email=email)
    for secret in (credentials.api_token, credentials.pat):
        if secret:
            register_secret(secret)
    return credentials


def save_credentials(*, api_token: str | None = None, pat: str | None = None, email: str | None = None) -> Path:
    """Write the secrets file with mode 0600; ``None`` keeps the stored value, ``""`` clears it."""
    path = secrets_path()
    current = read_json(path, dict, expect=dict)
    for key, value in (("api_token", api_token), ("pat", pat), ("email", email)):
        if value is not None:
            current[key] = value.strip()
            if key != "email" and value.strip():
                register_secret(value.strip())
    write_json_atomic(path, current, indent=2, mode=stat.S_IRUSR | stat.S_IWUSR)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def masked(secret: str) -> str:
    """What the UI may show of a token: whether it is set and its last two characters at most."""
    if not secret:
        return ""
    return "••••••••" + (secret[-2:] if len(secret) >= 12 else "")
