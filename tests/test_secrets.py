"""Jira credentials: environment over file, a 0600 secrets file, tokens bound to their site, masking, and no
token in a repr or a log."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from configuration import logging_config as lc
from configuration import secrets as sc
from data.store.json_store import write_json_atomic

# Shapes no built-in redaction pattern knows, so only their registration can hide them.
FILE_TOKEN = "k7Qw2ZpL9xVb4NtR8sYdFileTok"
ENV_TOKEN = "s3cretEnvTok3n-QrStUvWx"
FILE_PAT = "NjE3ODk5FilePat0123456789"
SITE = "https://acme.atlassian.net"
SETTINGS = {"jira": {"url": SITE + "/", "email": ""}}


@pytest.fixture(autouse=True)
def _no_registered_secrets() -> None:
    lc.clear_registered_secrets()
    yield
    lc.clear_registered_secrets()


@pytest.fixture
def log_dir(tmp_path: Path):
    """Logging into a fresh folder through ``setup_logging``; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    folder = tmp_path / "logs"
    lc.setup_logging(folder, console=False)
    yield folder
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved_level)


def _write_secrets_file(data: dict) -> Path:
    """Put a secrets file in place without going through ``save_credentials`` (which registers tokens itself)."""
    path = sc.secrets_path()
    write_json_atomic(path, data, mode=0o600)
    return path


def _log_text(folder: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (folder / "app.log").read_text(encoding="utf-8")


# --- where credentials come from ------------------------------------------------------------------------------


def test_nothing_configured() -> None:
    credentials = sc.load_credentials()
    assert credentials == sc.JiraCredentials()
    assert credentials.source == "none"
    assert not credentials.has_secret_for("cloud") and not credentials.has_secret_for("datacenter")


def test_secrets_file_is_used_without_environment() -> None:
    _write_secrets_file({"email": "file@example.com", "api_token": FILE_TOKEN, "api_token_origin": SITE,
                         "pat": FILE_PAT, "pat_origin": SITE})
    credentials = sc.load_credentials(SETTINGS)
    assert (credentials.email, credentials.api_token, credentials.pat) == ("file@example.com", FILE_TOKEN, FILE_PAT)
    assert (credentials.source, credentials.origin, credentials.withheld) == ("secrets file", SITE, ())
    assert credentials.has_secret_for("cloud") and credentials.has_secret_for("datacenter")


def test_environment_wins_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    _write_secrets_file({"email": "file@example.com", "api_token": FILE_TOKEN, "pat": FILE_PAT})
    monkeypatch.setenv(sc.ENV_API_TOKEN, ENV_TOKEN)
    monkeypatch.setenv(sc.ENV_EMAIL, "env@example.com")
    credentials = sc.load_credentials({"jira": {"email": "settings@example.com"}})
    assert credentials.api_token == ENV_TOKEN
    assert credentials.email == "env@example.com"
    assert credentials.pat == ""  # the environment's credentials are used as a whole, not mixed with the file's
    assert credentials.source == "environment"


def test_email_from_settings_before_the_file() -> None:
    _write_secrets_file({"email": "file@example.com", "api_token": FILE_TOKEN})
    assert sc.load_credentials({"jira": {"email": "settings@example.com"}}).email == "settings@example.com"
    assert sc.load_credentials({"jira": {"email": ""}}).email == "file@example.com"


def test_datacenter_needs_a_pat_and_cloud_an_email_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sc.ENV_PAT, FILE_PAT)
    credentials = sc.load_credentials()
    assert credentials.has_secret_for("datacenter")
    assert not credentials.has_secret_for("cloud")
    monkeypatch.setenv(sc.ENV_API_TOKEN, ENV_TOKEN)
    assert not sc.load_credentials().has_secret_for("cloud")  # no email yet
    monkeypatch.setenv(sc.ENV_EMAIL, "me@example.com")
    assert sc.load_credentials().has_secret_for("cloud")


# --- the secrets file -----------------------------------------------------------------------------------------


def test_saved_file_is_readable_only_by_its_owner() -> None:
    path = sc.save_credentials(url=SITE + "/jira/", api_token=FILE_TOKEN, email="me@example.com")
    assert path == sc.secrets_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert orjson.loads(path.read_bytes()) == {"api_token": FILE_TOKEN, "api_token_origin": SITE,
                                               "email": "me@example.com"}


def test_a_new_file_is_never_visible_with_wider_permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mode is set on the temporary file before it is renamed into place, not after."""
    modes: list[int] = []
    real_replace = os.replace

    def spying_replace(src: str, dst: str) -> None:
        if Path(dst) == sc.secrets_path():
            modes.append(stat.S_IMODE(os.stat(src).st_mode))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    sc.save_credentials(url=SITE, pat=FILE_PAT)
    assert modes == [0o600]


def test_a_loose_existing_file_is_tightened() -> None:
    path = sc.secrets_path()
    path.write_text("{}")
    path.chmod(0o644)
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_none_keeps_and_empty_clears() -> None:
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN, pat=FILE_PAT, email="me@example.com")
    sc.save_credentials(pat="")
    stored = orjson.loads(sc.secrets_path().read_bytes())
    assert stored == {"api_token": FILE_TOKEN, "api_token_origin": SITE, "pat": "", "email": "me@example.com"}


def test_values_are_trimmed() -> None:
    sc.save_credentials(url=SITE, api_token=f"  {FILE_TOKEN}\n")
    assert sc.load_credentials(SETTINGS).api_token == FILE_TOKEN


# --- a saved token is bound to the site it was saved for --------------------------------------------------------


@pytest.mark.parametrize(("url", "origin"), [
    ("https://acme.atlassian.net", SITE),
    ("https://ACME.atlassian.net:443/jira/?q=1#x", SITE),  # case, default port, path, query: same site
    ("https://user:pw@acme.atlassian.net/", SITE),  # user information is no part of the origin
    ("http://acme.atlassian.net", "http://acme.atlassian.net"),
    ("http://acme.atlassian.net:80", "http://acme.atlassian.net"),
    ("https://acme.atlassian.net:8443", "https://acme.atlassian.net:8443"),
    ("http://[::1]:8080/x", "http://[::1]:8080"),
    ("", ""), ("acme.atlassian.net", ""), ("ftp://acme.atlassian.net", ""), ("https://", ""),
    ("https://acme.atlassian.net:99999", ""), ("https://[::1", ""), (None, ""),
])
def test_url_origin(url: str | None, origin: str) -> None:
    assert sc.url_origin(url) == origin


@pytest.mark.parametrize("url", [SITE, SITE + "/jira", "https://Acme.Atlassian.net:443/"])
def test_a_saved_token_is_used_for_its_own_site(url: str) -> None:
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN, email="me@example.com")
    credentials = sc.load_credentials({"jira": {"url": url}})
    assert (credentials.api_token, credentials.source, credentials.origin) == (FILE_TOKEN, "secrets file", SITE)


@pytest.mark.parametrize("url", ["https://evil.example", "http://acme.atlassian.net", SITE + ":8443",
                                 "https://acme.atlassian.net.evil.example", "", "not a url"])
def test_a_saved_token_is_withheld_from_any_other_site(url: str) -> None:
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN, pat=FILE_PAT, email="me@example.com")
    credentials = sc.load_credentials({"jira": {"url": url}})
    assert (credentials.api_token, credentials.pat, credentials.source) == ("", "", "none")
    assert credentials.withheld == (("api_token", SITE), ("pat", SITE))
    assert credentials.withheld_origin("api_token") == SITE
    assert credentials.email == "me@example.com"  # the email is no secret
    assert FILE_TOKEN not in repr(credentials) and FILE_PAT not in repr(credentials)
    assert sc.load_credentials().api_token == ""  # no settings, no URL: no stored token either


def test_each_token_keeps_its_own_site() -> None:
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN)
    sc.save_credentials(url="https://jira.example.org", pat=FILE_PAT)
    cloud = sc.load_credentials({"jira": {"url": SITE}})
    datacenter = sc.load_credentials({"jira": {"url": "https://jira.example.org/"}})
    assert (cloud.api_token, cloud.pat, cloud.withheld) == (FILE_TOKEN, "", (("pat", "https://jira.example.org"),))
    assert (datacenter.api_token, datacenter.pat, datacenter.withheld) == ("", FILE_PAT, (("api_token", SITE),))


def test_saving_a_token_for_a_new_site_moves_it_there() -> None:
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN)
    sc.save_credentials(url="https://other.atlassian.net", api_token=ENV_TOKEN)
    assert sc.load_credentials({"jira": {"url": SITE}}).api_token == ""
    assert sc.load_credentials({"jira": {"url": "https://other.atlassian.net"}}).api_token == ENV_TOKEN


def test_an_old_file_without_sites_is_not_used_until_the_token_is_entered_again() -> None:
    """The chosen migration: a token saved before tokens were bound is withheld (its site is unknown)."""
    _write_secrets_file({"email": "file@example.com", "api_token": FILE_TOKEN, "pat": FILE_PAT})
    credentials = sc.load_credentials(SETTINGS)
    assert (credentials.api_token, credentials.pat, credentials.source) == ("", "", "none")
    assert credentials.withheld == (("api_token", sc.UNKNOWN_ORIGIN), ("pat", sc.UNKNOWN_ORIGIN))
    assert credentials.withheld_origin("pat") == "" and credentials.withheld_origin("other") is None
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN)
    again = sc.load_credentials(SETTINGS)
    assert (again.api_token, again.pat, again.withheld) == (FILE_TOKEN, "", (("pat", sc.UNKNOWN_ORIGIN),))


def test_environment_tokens_apply_to_any_url(monkeypatch: pytest.MonkeyPatch) -> None:
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN)
    monkeypatch.setenv(sc.ENV_API_TOKEN, ENV_TOKEN)
    for url in (SITE, "https://elsewhere.example", ""):
        credentials = sc.load_credentials({"jira": {"url": url}})
        assert (credentials.api_token, credentials.source, credentials.withheld) == (ENV_TOKEN, "environment", ())


@pytest.mark.parametrize("url", [None, "", "acme.atlassian.net", "https://"])
def test_a_token_without_a_usable_url_is_not_saved(url: str | None) -> None:
    with pytest.raises(ValueError, match="Jira URL"):
        sc.save_credentials(url=url, api_token=FILE_TOKEN)
    assert not sc.secrets_path().exists()
    sc.save_credentials(url=url, email="me@example.com", api_token="")  # no token: nothing to bind
    assert orjson.loads(sc.secrets_path().read_bytes()) == {"api_token": "", "email": "me@example.com"}


# --- never shown ----------------------------------------------------------------------------------------------


def test_repr_and_str_hide_tokens() -> None:
    credentials = sc.JiraCredentials("me@example.com", FILE_TOKEN, FILE_PAT, "secrets file")
    for text in (repr(credentials), str(credentials), f"{credentials}", repr([credentials])):
        assert FILE_TOKEN not in text and FILE_PAT not in text
        assert "me@example.com" in text and "***" in text


def test_repr_tells_when_no_token_is_set() -> None:
    text = repr(sc.JiraCredentials(email="me@example.com"))
    assert "***" not in text


@given(hs.text(alphabet=hs.characters(blacklist_characters="•", blacklist_categories=("Cs",)), max_size=80))
def test_masked_reveals_at_most_two_trailing_characters(secret: str) -> None:
    shown = sc.masked(secret)
    if not secret:
        assert shown == ""
        return
    revealed = shown.replace("•", "")
    assert shown.startswith("••••••••")  # says that a token is set
    assert len(revealed) <= 2
    assert secret.endswith(revealed)


@pytest.mark.parametrize(("secret", "revealed"), [("abc", ""), ("a" * 11, ""), ("0123456789AB", "AB"),
                                                  (FILE_TOKEN, "ok")])
def test_masked_shows_the_tail_only_of_long_tokens(secret: str, revealed: str) -> None:
    assert sc.masked(secret) == "••••••••" + revealed


@pytest.mark.parametrize("source", ["environment", "secrets file"])
def test_loaded_tokens_are_redacted_from_logs(log_dir: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    if source == "environment":
        monkeypatch.setenv(sc.ENV_API_TOKEN, ENV_TOKEN)
        monkeypatch.setenv(sc.ENV_PAT, FILE_PAT)
        tokens = (ENV_TOKEN, FILE_PAT)
    else:
        _write_secrets_file({"api_token": FILE_TOKEN, "pat": FILE_PAT})
        tokens = (FILE_TOKEN, FILE_PAT)
    logger = logging.getLogger("data.sources.jira_client")
    logger.info("before loading: %s", tokens[0])
    assert tokens[0] in _log_text(log_dir)  # nothing is redacted until the token is known
    sc.load_credentials()  # no URL: the file's tokens are withheld, and still redacted
    for token in tokens:
        logger.info("request failed with token %s", token)
    lines = _log_text(log_dir).splitlines()[1:]
    assert len(lines) == 2
    for line in lines:
        assert "[REDACTED]" in line
        assert all(token not in line for token in tokens)


def test_saved_tokens_are_redacted_from_logs(log_dir: Path) -> None:
    sc.save_credentials(url=SITE, api_token=FILE_TOKEN)
    logging.getLogger("cli").warning("token was %s", FILE_TOKEN)
    text = _log_text(log_dir)
    assert FILE_TOKEN not in text and "[REDACTED]" in text
