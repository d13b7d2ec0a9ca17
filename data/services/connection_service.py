"""What the Data source dialog does for Jira, without Dash: show the connection, test it, save it, switch to the
demo (``azure_devops_connection`` does the same for Azure DevOps, with the rules below).

Secrets: a token typed in the form is used for the test, stored only in the owner-only secrets file on save
(``configuration.secrets.save_credentials``), registered with the log redaction filter before any request,
and never part of a returned message (Jira's words are scrubbed of it). An empty token field keeps the
stored or environment token, but a stored token only for the site it was saved for: with a URL of another
origin (scheme, host, port) and an empty token field, Test connection and Save answer ``REENTER_TOKEN`` and
send nothing anywhere (``configuration.secrets`` binds each saved token to its origin). Environment tokens
apply to any URL. ``app_settings.json`` receives URL, deployment, email and JQL only.

Saving the Jira side makes Jira the chosen source (``source``: ``jira``).

Cache: the issue cache is *of* a source, URL, deployment and JQL (``issue_cache.cache_identity``). When a save
changes that identity the issues are dropped (``clear_issue_cache``) and the message says that the next
Update Data is a full fetch.

Demo → Jira and the field mappings: the demo's mappings are only an overlay applied while no Jira URL is set
and the user has never saved mappings (``dashboard_service.effective_settings``), so connecting a Jira has
nothing of the demo's to reset: the cards then say which fields to map. Mappings the user *saved* (in demo
mode or for an earlier Jira) are user data and are kept; the message asks to check them against the new
Jira's fields, where the modal marks ids that Jira lacks as "not in this Jira".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from configuration.logging_config import register_secret
from configuration.secrets import (
    ENV_API_TOKEN,
    ENV_EMAIL,
    ENV_PAT,
    JiraCredentials,
    load_jira_credentials,
    masked,
    save_credentials,
    secret_kind,
)
from configuration.settings import SettingsError, is_demo_mode, load_app_settings, update_app_settings
from data.sources.jira_client import JiraClient
from data.sources.jira_errors import JiraError
from data.store.issue_cache import cache_identity, clear_issue_cache
from data.store.json_store import PersistenceError

logger = logging.getLogger(__name__)

DEPLOYMENTS = ("cloud", "datacenter")
FULL_FETCH_NOTE = "Click Update Data: a full fetch is next."
TEST_TIMEOUT_SECONDS = 15.0
REENTER_TOKEN = "Enter the {token} again: a saved token is only sent to the site it was saved for"


@dataclass(frozen=True)
class ConnectionForm:
    """What the modal shows: never a token, only whether one is set and where it comes from."""

    url: str
    deployment: str
    email: str
    jql: str
    api_token_status: str
    pat_status: str


@dataclass(frozen=True)
class ConnectionInput:
    """The form's values as typed (tokens may be empty: keep the stored ones)."""

    url: str | None = ""
    deployment: str | None = "cloud"
    email: str | None = ""
    api_token: str | None = ""
    pat: str | None = ""
    jql: str | None = ""


@dataclass(frozen=True)
class ConnectionResult:
    """``ok`` or not, the message for the user, and errors by form input (``url``, ``email``, ``jql``...)."""

    ok: bool
    message: str
    errors: dict[str, str] = field(default_factory=dict)
    full_fetch_next: bool = False


def _text(value: str | None) -> str:
    return (value or "").strip()


_TOKEN_WORDS: dict[str, tuple[str, str, str, str]] = {
    "api_token": ("An API token", "No API token", ENV_API_TOKEN, "API token"),
    "pat": ("A personal access token", "No personal access token", ENV_PAT, "personal access token"),
}


def token_status(credentials: JiraCredentials, kind: str) -> str:
    """"An API token is set (from the environment): ••••••••ab", or how to set one.

    ``kind`` is ``api_token`` or ``pat``; only ``masked()`` of a token ever leaves this function. A stored
    token kept for another site is announced as such, so the user knows why it must be entered again.
    """
    is_set, not_set, env, _ = _TOKEN_WORDS[kind]
    secret = credentials.api_token if kind == "api_token" else credentials.pat
    if secret:
        return f"{is_set} is set (from the {credentials.source}): {masked(secret)}"
    elsewhere = credentials.withheld_origin(kind)
    if elsewhere:
        return (f"{is_set} is saved for {elsewhere} only (a saved token is only sent to the site it was saved "
                f"for): enter it again to use this URL, or set {env} in the environment.")
    if elsewhere is not None:
        return (f"{is_set} was saved without the site it belongs to, so it is not used: enter it again here "
                f"or set {env} in the environment.")
    return f"{not_set} is set: enter one here or set {env} in the environment."


def reenter_token_message(deployment: str) -> str:
    """What Test connection and Save answer when the only token at hand was saved for another site."""
    return REENTER_TOKEN.format(token=_TOKEN_WORDS[secret_kind(deployment)][3])


def load_connection_form(settings: Mapping[str, Any]) -> ConnectionForm:
    jira = settings.get("jira") or {}
    credentials = load_jira_credentials(settings)
    deployment = str(jira.get("deployment") or "cloud")
    return ConnectionForm(
        url=str(jira.get("url") or ""),
        deployment=deployment if deployment in DEPLOYMENTS else "cloud",
        email=str(jira.get("email") or ""),
        jql=str(jira.get("jql") or ""),
        api_token_status=token_status(credentials, "api_token"),
        pat_status=token_status(credentials, "pat"),
    )


def normalise_url(url: str | None) -> str:
    """The site root without a trailing slash; ValueError (a plain message) when it is not an http(s) URL."""
    text = _text(url)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter the Jira address with https://, e.g. https://your-site.atlassian.net")
    if "@" in parts.netloc:  # user information, even an empty one: never part of a saved URL
        raise ValueError("Leave the user name and token out of the URL: enter them in their own fields")
    return text.rstrip("/")


def _form_errors(form: ConnectionInput, *, jira: bool) -> tuple[str, dict[str, str]]:
    """(normalised URL, errors by input); ``jira`` False (the demo) needs neither URL nor JQL."""
    errors: dict[str, str] = {}
    url = ""
    if jira:
        try:
            url = normalise_url(form.url)
        except ValueError as error:
            errors["url"] = str(error)
    if form.deployment not in DEPLOYMENTS:
        errors["deployment"] = "Choose Jira Cloud or Data Center"
    if jira and not _text(form.jql):
        errors["jql"] = "Enter the JQL of the issues to measure, e.g. project = ABC"
    return url, errors


def _credentials(form: ConnectionInput, url: str, settings: Mapping[str, Any]) -> JiraCredentials:
    """The typed tokens over those usable for ``url`` (the typed URL, not the saved one: a stored token is
    only returned for the origin it was saved for)."""
    jira = dict(settings.get("jira") or {})
    stored = load_jira_credentials({**settings, "jira": {**jira, "url": url}})
    typed_token, typed_pat = _text(form.api_token), _text(form.pat)
    for secret in (typed_token, typed_pat):
        register_secret(secret)
    return JiraCredentials(
        email=_text(form.email) or stored.email,
        api_token=typed_token or stored.api_token,
        pat=typed_pat or stored.pat,
        source="form" if typed_token or typed_pat else stored.source,
        origin=stored.origin,
        withheld=stored.withheld,
    )


def _token_withheld(credentials: JiraCredentials, deployment: str) -> bool:
    """No token for ``deployment`` at hand, while one is saved for another site (or for an unknown one)."""
    kind = secret_kind(deployment)
    return not getattr(credentials, kind) and credentials.withheld_origin(kind) is not None


def scrub_secrets(message: str, *secrets: str) -> str:
    """``message`` with every given secret replaced by ••••."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "••••")
    return message


def _missing_secret_message(deployment: str) -> str:
    if deployment == "datacenter":
        return f"Enter a personal access token (or set {ENV_PAT} in the environment)"
    return f"Enter the email and an API token (or set {ENV_EMAIL} and {ENV_API_TOKEN} in the environment)"


def check_connection(form: ConnectionInput, settings: Mapping[str, Any]) -> ConnectionResult:
    """Ask Jira who we are (``/myself``) with the typed values, then how many issues the JQL matches.

    Saves nothing. The typed token wins; an empty one falls back to the environment or to a token saved for
    this URL's origin. A token saved for another site is never used: the answer asks for it again and no
    request is made.
    """
    url, errors = _form_errors(form, jira=True)
    errors.pop("jql", None)
    if errors:
        return ConnectionResult(False, next(iter(errors.values())), errors)
    deployment = str(form.deployment)
    credentials = _credentials(form, url, settings)
    if _token_withheld(credentials, deployment):
        return ConnectionResult(False, reenter_token_message(deployment))
    if not credentials.has_secret_for(deployment):
        return ConnectionResult(False, _missing_secret_message(deployment))
    timeout = min(float((settings.get("jira") or {}).get("timeout_seconds", 30.0)), TEST_TIMEOUT_SECONDS)
    client = JiraClient(url, deployment, email=credentials.email, api_token=credentials.api_token,
                        pat=credentials.pat, timeout=timeout, max_retries=0)
    secrets = (credentials.api_token, credentials.pat)
    try:
        me = client.test_connection()
    except JiraError as error:
        return ConnectionResult(False, scrub_secrets(str(error), *secrets))
    who = me.get("display_name") or "an unnamed user"
    connected = f"Connected as {who} (time zone {me.get('time_zone')})."
    jql = _text(form.jql)
    if not jql:
        return ConnectionResult(True, f"{connected} Enter a JQL before clicking Update Data.")
    try:
        count = client.count_issues(jql)
    except JiraError as error:
        return ConnectionResult(False, f"{connected} But the JQL failed: {scrub_secrets(str(error), *secrets)}",
                                {"jql": "Jira did not accept this JQL"})
    matches = "The JQL is valid." if count is None else f"The JQL matches about {count:,} issues."
    return ConnectionResult(True, f"{connected} {matches}")


def _identity_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return cache_identity(before) != cache_identity(after)


def apply_connection_change(changes: Mapping[str, Any], before: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Store ``changes``; when the cache identity (source, URL, deployment/project, JQL/filter) changed, drop
    the cached issues. (settings after, whether the identity changed)."""
    after = update_app_settings(changes)
    changed = _identity_changed(before, after)
    if changed:
        clear_issue_cache()
    return after, changed


def save_connection(form: ConnectionInput) -> ConnectionResult:
    """Store URL, deployment, email and JQL in the settings and a typed token in the secrets file.

    An empty URL means the demo data (the JQL is then optional). Nothing is written when a value is invalid
    (``errors`` names the inputs), nor when the URL names another site than the saved token's and the token
    field is empty (the token must be entered again: ``reenter_token_message``).
    """
    try:
        before = load_app_settings()
    except SettingsError as error:
        return ConnectionResult(False, f"The settings file cannot be used: {error}")
    url, errors = _form_errors(form, jira=bool(_text(form.url)))
    if errors:
        return ConnectionResult(False, "Fix the marked fields; nothing was saved.", errors)
    deployment = str(form.deployment)
    jql, email = _text(form.jql), _text(form.email)
    changes = {"source": "jira", "jira": {"url": url, "deployment": deployment, "email": email, "jql": jql}}
    typed = _text(form.pat) if deployment == "datacenter" else _text(form.api_token)
    if typed and not url:
        return ConnectionResult(False, "Fix the marked fields; nothing was saved.",
                                {"url": "Enter the Jira URL this token is for: a token is only sent to the site "
                                        "it was saved for"})
    if url and not typed and _token_withheld(_credentials(form, url, before), deployment):
        return ConnectionResult(False, reenter_token_message(deployment))
    try:
        after, changed = apply_connection_change(changes, before)
        if typed:
            save_credentials(url=url, **{secret_kind(deployment): typed})
    except (SettingsError, PersistenceError, OSError, ValueError) as error:
        return ConnectionResult(False, f"The Jira settings could not be saved: {error}")
    logger.info("Jira settings saved",
                extra={"url": url, "deployment": deployment, "source_changed": changed})
    return ConnectionResult(True, _saved_message(before, after, changed), full_fetch_next=changed)


def _saved_message(before: Mapping[str, Any], after: Mapping[str, Any], changed: bool) -> str:
    parts = ["Jira settings saved."]
    if changed:
        parts.append(FULL_FETCH_NOTE)
    if is_demo_mode(after):
        return " ".join([*parts, "No Jira URL is set, so the dashboard shows the demo data."])
    deployment = after["jira"]["deployment"]
    credentials = load_jira_credentials(after)
    if not credentials.has_secret_for(deployment):
        parts.append(_missing_secret_message(deployment) + " before updating.")
    elif credentials.source == "environment":
        env = ENV_PAT if deployment == "datacenter" else ENV_API_TOKEN
        parts.append(f"The token from the environment ({env}) is used; it takes precedence over a saved one.")
    if changed and (before.get("dora_flow_config") or {}).get("last_updated"):
        parts.append("Your saved field mappings were kept: check them against this Jira's fields in "
                     "Configure Field Mappings.")
    return " ".join(parts)


def use_demo_data(settings: Mapping[str, Any] | None = None) -> ConnectionResult:
    """Choose Jira without a URL (the other Jira and Azure DevOps settings and the tokens stay for reconnecting)."""
    try:
        before = dict(settings) if settings is not None else load_app_settings()
        _, changed = apply_connection_change({"source": "jira", "jira": {"url": ""}}, before)
    except (SettingsError, PersistenceError) as error:
        return ConnectionResult(False, f"Could not switch to the demo data: {error}")
    note = " Click Update Data to load it." if changed else ""
    return ConnectionResult(True, "Switched to the demo data." + note, full_fetch_next=changed)
