"""Jira and Azure DevOps credentials: from the environment first, else from a git-ignored secrets file readable
only by its owner.

Tokens never go into ``app_settings.json``, never into a log line (each loaded token is registered with the
logging redaction filter) and never back to the browser (the UI only learns whether one is set).

A saved token is bound to the site it was saved for. ``save_credentials`` stores, next to each token, the
*origin* (scheme, host and port) of the Jira URL it was entered for, and ``load_credentials(settings)`` only
returns a stored token when ``jira.url`` in ``settings`` has that same origin. Why: the URL is editable (the
settings dialog, ``app_settings.json``, ``cli.py --settings``) and a token sent to a different server is a
token handed to whoever runs that server. A token withheld this way is named in ``JiraCredentials.withheld``
so the UI can ask for it again instead of failing silently.

Environment tokens (``JIRA_API_TOKEN``, ``JIRA_PAT``) are the user's explicit choice for this process and
apply to whatever URL is configured.

The Azure DevOps personal access token follows the same rules: ``AZURE_DEVOPS_PAT`` first (any organization
URL), else the secrets file's ``azure_devops_pat``, bound to the origin of ``azure_devops.organization_url``
it was saved for (``load_azure_devops_credentials``). ``load_credentials`` returns the credentials of the
source ``settings`` choose.

Secrets files written before tokens were bound (a token without an ``*_origin`` entry) are not used at all:
the token is reported as withheld until it is entered again. Binding such a token to the URL found in
``app_settings.json`` at first read was rejected because that URL may already be one an attacker saved, and
the old file cannot tell which site the token really belongs to; entering a token once more is the safe cost.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from configuration.logging_config import register_secret
from configuration.paths import data_file
from configuration.settings import chosen_source
from data.store.json_store import read_json, write_json_atomic

SECRETS_FILE_NAME = ".jira_secrets.json"
ENV_EMAIL = "JIRA_EMAIL"
ENV_API_TOKEN = "JIRA_API_TOKEN"
ENV_PAT = "JIRA_PAT"
ENV_AZURE_DEVOPS_PAT = "AZURE_DEVOPS_PAT"
AZURE_DEVOPS_KIND = "azure_devops_pat"
TOKEN_KINDS: tuple[str, ...] = ("api_token", "pat")
UNKNOWN_ORIGIN = ""
"""The origin reported for a withheld token saved without one (an older secrets file)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str | None) -> str:
    """``scheme://host[:port]`` of an http(s) URL (default port left out, host in lower case), or ``""``.

    Two URLs may share a stored token only when their origins are equal: the path, query and any user
    information play no part, and a URL that cannot be parsed (no host, a bad port) has no origin at all.
    """
    try:
        parts = urlsplit(str(url or "").strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{suffix}"


@dataclass(frozen=True)
class JiraCredentials:
    """The credentials to use for one Jira URL.

    ``origin`` is the site a secrets-file token is bound to (empty for the environment, a form or nothing);
    ``withheld`` lists ``(kind, origin)`` of stored tokens not returned because they belong to another site
    (``origin`` is ``UNKNOWN_ORIGIN`` for a token saved before tokens were bound to a site).
    """

    email: str = ""
    api_token: str = ""
    pat: str = ""
    source: str = "none"  # "environment" | "secrets file" | "form" | "none"
    origin: str = ""
    withheld: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:  # never print a token, even in a debugger or a traceback
        return f"JiraCredentials(email={self.email!r}, api_token={'***' if self.api_token else ''!r}, " \
               f"pat={'***' if self.pat else ''!r}, source={self.source!r}, origin={self.origin!r}, " \
               f"withheld={self.withheld!r})"

    def has_secret_for(self, deployment: str) -> bool:
        return bool(self.pat) if deployment == "datacenter" else bool(self.email and self.api_token)

    def withheld_origin(self, kind: str) -> str | None:
        """The site a stored ``kind`` token belongs to when it was withheld (``""``: unknown), else ``None``."""
        return next((origin for withheld_kind, origin in self.withheld if withheld_kind == kind), None)


def secret_kind(deployment: str) -> str:
    """The token a deployment authenticates with: ``pat`` for Data Center, ``api_token`` for Cloud."""
    return "pat" if deployment == "datacenter" else "api_token"


def secrets_path() -> Path:
    return data_file(SECRETS_FILE_NAME)


def load_jira_credentials(settings: Mapping[str, Any] | None = None) -> JiraCredentials:
    """The credentials for ``settings``' ``jira.url``: the environment's, else the tokens saved for its origin.

    The email may come from ``JIRA_EMAIL``, ``jira.email`` or the secrets file (in that order). A stored token
    saved for another origin, or without one, is not returned (see the module docstring) but listed in
    ``withheld``. Without settings (or without a URL) no stored token is returned.
    """
    stored = read_json(secrets_path(), dict, expect=dict)
    env_token, env_pat = os.environ.get(ENV_API_TOKEN, ""), os.environ.get(ENV_PAT, "")
    jira = (settings or {}).get("jira") or {}
    settings_email = str(jira.get("email") or "") if isinstance(jira, Mapping) else ""
    origin = url_origin(jira.get("url") if isinstance(jira, Mapping) else "")
    email = os.environ.get(ENV_EMAIL) or settings_email or str(stored.get("email") or "")
    if env_token or env_pat:
        credentials = JiraCredentials(email, env_token, env_pat, "environment")
    else:
        tokens: dict[str, str] = {}
        withheld: list[tuple[str, str]] = []
        for kind in TOKEN_KINDS:
            secret = str(stored.get(kind) or "")
            bound_to = str(stored.get(f"{kind}_origin") or "")
            if secret and origin and bound_to == origin:
                tokens[kind] = secret
            elif secret:
                withheld.append((kind, url_origin(bound_to) or UNKNOWN_ORIGIN))
        credentials = JiraCredentials(email, tokens.get("api_token", ""), tokens.get("pat", ""),
                                      "secrets file" if tokens else "none", origin if tokens else "",
                                      tuple(withheld))
    for secret in (env_token, env_pat, *(str(stored.get(kind) or "") for kind in TOKEN_KINDS)):
        register_secret(secret)  # withheld tokens too: they are secrets wherever they would show up
    return credentials


@dataclass(frozen=True)
class AzureDevOpsCredentials:
    """The personal access token to use for one Azure DevOps organization URL.

    ``source`` and ``origin`` as in ``JiraCredentials``; ``withheld`` is the site a stored token belongs to
    when it was not returned because the organization URL names another one (``UNKNOWN_ORIGIN`` when saved
    without a site), ``None`` when nothing was withheld.
    """

    pat: str = ""
    source: str = "none"  # "environment" | "secrets file" | "form" | "none"
    origin: str = ""
    withheld: str | None = None

    def __repr__(self) -> str:  # never print a token, even in a debugger or a traceback
        return f"AzureDevOpsCredentials(pat={'***' if self.pat else ''!r}, source={self.source!r}, " \
               f"origin={self.origin!r}, withheld={self.withheld!r})"


Credentials = JiraCredentials | AzureDevOpsCredentials


def register_azure_devops_pat(pat: str) -> None:
    """Redact the PAT in logs, and the Basic credentials built from it (``base64(":" + PAT)``) too."""
    if pat:
        register_secret(pat)
        register_secret(base64.b64encode(f":{pat}".encode()).decode("ascii"))


def load_azure_devops_credentials(settings: Mapping[str, Any] | None = None) -> AzureDevOpsCredentials:
    """The PAT for ``settings``' ``azure_devops.organization_url``: ``AZURE_DEVOPS_PAT``, else the one saved
    for that URL's origin (another site's, or one saved without a site, is withheld and named)."""
    stored = read_json(secrets_path(), dict, expect=dict)
    secret = str(stored.get(AZURE_DEVOPS_KIND) or "")
    register_azure_devops_pat(secret)
    env_pat = os.environ.get(ENV_AZURE_DEVOPS_PAT, "")
    if env_pat:
        register_azure_devops_pat(env_pat)
        return AzureDevOpsCredentials(env_pat, "environment")
    block = (settings or {}).get("azure_devops") or {}
    origin = url_origin(block.get("organization_url") if isinstance(block, Mapping) else "")
    bound_to = str(stored.get(f"{AZURE_DEVOPS_KIND}_origin") or "")
    if secret and origin and bound_to == origin:
        return AzureDevOpsCredentials(secret, "secrets file", origin)
    return AzureDevOpsCredentials(withheld=(url_origin(bound_to) or UNKNOWN_ORIGIN) if secret else None)


def load_credentials(settings: Mapping[str, Any] | None = None) -> Credentials:
    """The credentials of the source ``settings`` choose (Jira unless ``source`` is ``azure_devops``)."""
    if settings is not None and chosen_source(settings) == "azure_devops":
        return load_azure_devops_credentials(settings)
    return load_jira_credentials(settings)


def save_credentials(*, url: str | None = None, api_token: str | None = None, pat: str | None = None,
                     email: str | None = None) -> Path:
    """Write the secrets file with mode 0600; ``None`` keeps the stored value, ``""`` clears it.

    A token is stored together with the origin of ``url``, the Jira URL it was entered for, and is only ever
    sent there (``load_credentials``). ``ValueError`` (nothing written) when a token comes without a usable URL.
    """
    changes = {"email": email.strip()} if email is not None else {}
    return _write_tokens(url, {"api_token": api_token, "pat": pat}, changes, "the Jira URL")


def save_azure_devops_pat(*, organization_url: str | None, pat: str) -> Path:
    """Store the Azure DevOps PAT bound to the origin of ``organization_url`` (``""`` clears it); mode 0600.
    ``ValueError`` (nothing written) when a PAT comes without a usable URL."""
    register_azure_devops_pat(pat.strip())
    return _write_tokens(organization_url, {AZURE_DEVOPS_KIND: pat}, {}, "the organization URL")


def _write_tokens(url: str | None, tokens: Mapping[str, str | None], changes: Mapping[str, str],
                  url_name: str) -> Path:
    origin = url_origin(url)
    if not origin and any((value or "").strip() for value in tokens.values()):
        raise ValueError(f"A token is saved together with {url_name} it is for: enter the URL first")
    path = secrets_path()
    current = read_json(path, dict, expect=dict)
    for kind, value in tokens.items():
        if value is None:
            continue
        current[kind] = value.strip()
        if value.strip():
            current[f"{kind}_origin"] = origin
            register_secret(value.strip())
        else:
            current.pop(f"{kind}_origin", None)
    current.update(changes)
    write_json_atomic(path, current, indent=2, mode=stat.S_IRUSR | stat.S_IWUSR)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def masked(secret: str) -> str:
    """What the UI may show of a token: whether it is set and its last two characters at most."""
    if not secret:
        return ""
    return "••••••••" + (secret[-2:] if len(secret) >= 12 else "")
