"""Choose where issues come from: the built-in demo when the chosen source is not configured, otherwise a
``JiraClient`` or an ``AzureDevOpsClient`` (``settings.source``).

A token from the secrets file is bound to the origin (scheme, host, port) it was saved for
(``configuration.secrets``); ``make_source`` refuses to hand one to a client for any other origin, whatever
built the credentials, so a changed ``jira.url`` or ``azure_devops.organization_url`` can never receive it.
Environment tokens apply to any URL. Azure DevOps uses the numeric limits of the ``jira`` section (timeout,
retries, requests per second, fetch budget): they describe how patient an update is, not the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from configuration.secrets import (
    ENV_API_TOKEN,
    ENV_AZURE_DEVOPS_PAT,
    ENV_EMAIL,
    ENV_PAT,
    AzureDevOpsCredentials,
    Credentials,
    JiraCredentials,
    secret_kind,
    url_origin,
)
from configuration.settings import chosen_source, is_demo_mode
from data.sources.ado_client import AzureDevOpsClient
from data.sources.base import UpdateError
from data.sources.demo_source import DemoSource
from data.sources.jira_client import JiraClient

# "token: value" reads as a secret to the log redaction (configuration.logging_config), which also filters the
# CLI's error line: these messages never put a colon right after "token".
AZURE_DEVOPS_PAT_MISSING = ("Azure DevOps needs a personal access token; set AZURE_DEVOPS_PAT in the environment "
                            "or save it in the Data source dialog")


def make_source(settings: Mapping[str, Any],
                credentials: Credentials) -> JiraClient | AzureDevOpsClient | DemoSource:
    """The issue source for ``settings``; ``UpdateError`` naming what to set when credentials are missing
    or were saved for another site than the configured URL."""
    if is_demo_mode(settings):
        return DemoSource()
    if chosen_source(settings) == "azure_devops":
        ado = credentials if isinstance(credentials, AzureDevOpsCredentials) else AzureDevOpsCredentials()
        return _azure_devops_client(settings, ado)
    if not isinstance(credentials, JiraCredentials):
        credentials = JiraCredentials()
    jira = settings.get("jira") or {}
    deployment = str(jira.get("deployment") or "cloud")
    if credentials.source == "secrets file" and credentials.origin != url_origin(str(jira.get("url") or "")):
        raise UpdateError(_other_site_message(deployment, credentials.origin))
    if not credentials.has_secret_for(deployment):
        raise UpdateError(_missing_credentials_message(deployment, credentials))
    try:
        return _client(jira, deployment, credentials)
    except ValueError as exc:  # a URL the client cannot use
        raise UpdateError(str(exc)) from None


def _client(jira: Mapping[str, Any], deployment: str, credentials: JiraCredentials) -> JiraClient:
    return JiraClient(
        str(jira["url"]).strip(),
        deployment,
        email=credentials.email,
        api_token=credentials.api_token,
        pat=credentials.pat,
        timeout=float(jira.get("timeout_seconds", 30.0)),
        page_size=int(jira.get("page_size", 100)),
        max_concurrency=int(jira.get("max_concurrency", 4)),
        requests_per_second=float(jira.get("requests_per_second", 10.0)),
        max_retries=int(jira.get("max_retries", 4)),
        fetch_budget=float(jira.get("fetch_budget_seconds", 3600.0)),
    )


def _azure_devops_client(settings: Mapping[str, Any], credentials: AzureDevOpsCredentials) -> AzureDevOpsClient:
    block, limits = settings.get("azure_devops") or {}, settings.get("jira") or {}
    url = str(block.get("organization_url") or "").strip().rstrip("/")
    if credentials.source == "secrets file" and credentials.origin != url_origin(url):
        raise UpdateError(_ado_other_site_message(credentials.origin))
    if not credentials.pat:
        if credentials.withheld is not None:
            raise UpdateError(_ado_other_site_message(credentials.withheld))
        raise UpdateError(AZURE_DEVOPS_PAT_MISSING)
    try:
        return AzureDevOpsClient(
            url,
            str(block.get("project") or "").strip(),
            pat=credentials.pat,
            timeout=float(limits.get("timeout_seconds", 30.0)),
            max_retries=int(limits.get("max_retries", 4)),
            requests_per_second=float(limits.get("requests_per_second", 10.0)),
            fetch_budget=float(limits.get("fetch_budget_seconds", 3600.0)),
        )
    except ValueError as exc:  # a URL the client cannot use
        raise UpdateError(str(exc)) from None


def _ado_other_site_message(origin: str) -> str:
    if not origin:
        return ("The saved Azure DevOps personal access token was stored without the site it belongs to, so it "
                f"is not used: enter it again in the Data source dialog (or set {ENV_AZURE_DEVOPS_PAT})")
    return (f"The saved Azure DevOps personal access token is only sent to the site it was saved for ({origin}) "
            "and azure_devops.organization_url names another one: enter the personal access token again in the "
            f"Data source dialog (or set {ENV_AZURE_DEVOPS_PAT} in the environment)")


def _token_name(deployment: str) -> tuple[str, str]:
    return ("personal access token", ENV_PAT) if deployment == "datacenter" else ("API token", ENV_API_TOKEN)


def _other_site_message(deployment: str, origin: str) -> str:
    token, env = _token_name(deployment)
    where = f"the site it was saved for ({origin})" if origin else "the site it was saved for"
    return (f"The saved {token} is only sent to {where} and jira.url names another one: enter the {token} "
            f"again in the Data source dialog (or set {env} in the environment)")


def _missing_credentials_message(deployment: str, credentials: JiraCredentials) -> str:
    withheld = credentials.withheld_origin(secret_kind(deployment))
    if withheld is not None:
        if not withheld:
            token, env = _token_name(deployment)
            return (f"The saved {token} was stored without the site it belongs to, so it is not used: enter it "
                    f"again in the Data source dialog (or set {env} in the environment)")
        return _other_site_message(deployment, withheld)
    if deployment == "datacenter":
        return (f"Jira Data Center needs a personal access token; set {ENV_PAT} in the environment "
                "or save it in the Data source dialog")
    pairs = ((ENV_EMAIL, credentials.email), (ENV_API_TOKEN, credentials.api_token))
    missing = [name for name, value in pairs if not value]
    return (f"Jira Cloud needs an email and an API token; set {' and '.join(missing)} in the environment "
            "(the email may also be jira.email in the settings) or save them in the Data source dialog")
