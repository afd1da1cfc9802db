"""Pulling an image over the OCI Distribution API v2, with no daemon (urllib only).

- Manifests are requested with an `Accept` header naming the OCI and Docker v2
  manifest and index types; indexes / manifest lists are followed to the
  requested platform. Every manifest fetched by digest, and every blob, is
  checked against its sha256 digest; a tag's manifest is checked against the
  registry's `Docker-Content-Digest` header.
- Auth: anonymous first; on 401 the `WWW-Authenticate` challenge decides:
  `Bearer` fetches a token from the realm (with basic credentials when there
  are some, anonymously otherwise), `Basic` sends the credentials. Credentials
  come from `PIPELINE_GUARD_REGISTRY_USER` / `PIPELINE_GUARD_REGISTRY_PASSWORD`,
  else `auths` in `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`).
  Credential helpers are not run. Authorization is never forwarded on a redirect
  (blob storage redirects elsewhere), and https is never redirected to http.
- Plain HTTP only for hosts listed in `insecure_registries`, or for loopback
  hosts when the list holds `loopback` (what `--insecure-registry` sets).
- Transient failures (connection errors, 429, 5xx) are retried with backoff.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path
from typing import Any, BinaryIO, cast

from pipeline_guard.image.blobs import read_capped, verified
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.manifests import ACCEPT, Descriptor, resolve
from pipeline_guard.image.reference import DOCKER_HUB, ImageReference, check_digest
from pipeline_guard.image.sources.base import SourceImage, SourceSettings, from_manifest

USER_ENV = "PIPELINE_GUARD_REGISTRY_USER"
PASSWORD_ENV = "PIPELINE_GUARD_REGISTRY_PASSWORD"  # noqa: S105 - a variable name
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
RETRIES = 3
BACKOFF = 0.5  # seconds, doubled per retry
_TRANSIENT = frozenset({429, 500, 502, 503, 504})
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    origin: str  # where they came from, for messages (never the secret)

    @property
    def basic(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def open_registry_image(reference: ImageReference, settings: SourceSettings) -> SourceImage:
    """The image a `registry:HOST/REPO[:TAG|@DIGEST]` reference names."""
    if reference.host is None:
        raise ImageError(f"{reference} names no registry host", "config")
    client = RegistryClient(reference.host, reference.location, settings)
    tag_or_digest = reference.digest or reference.tag or "latest"
    data, media_type = client.manifest(tag_or_digest)
    manifest, via = resolve(
        data,
        media_type,
        lambda d: client.manifest(d.digest)[0],
        settings.platform,
        f"{reference} manifest",
    )
    return from_manifest(reference, client, manifest, settings.limits, _digest_of(via, data))


def _digest_of(via: Descriptor | None, data: bytes) -> str:
    return via.digest if via is not None else "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """One repository on one registry; holds the token between requests."""

    def __init__(self, host: str, repository: str, settings: SourceSettings) -> None:
        self.host = host
        self.repository = repository
        self.settings = settings
        plain = plain_http_allowed(host, settings.insecure_registries)
        self.base = f"{'http' if plain else 'https'}://{host}/v2/{repository}"
        self._auth: str | None = None
        self._credentials = find_credentials(host, settings.docker_config)
        self._opener = urllib.request.build_opener(_NoDowngradeRedirect())

    def manifest(self, reference: str) -> tuple[bytes, str | None]:
        """The manifest or index `reference` (tag or digest) names, and its media type."""
        url = f"{self.base}/manifests/{urllib.parse.quote(reference, safe=':')}"
        sep = "@" if reference.startswith("sha") and ":" in reference else ":"
        what = f"manifest {self.repository}{sep}{reference}"
        with self._get(url, {"Accept": ", ".join(ACCEPT)}, what) as resp:
            data = read_capped(resp, self.settings.limits.max_metadata_bytes, what)
            media_type = resp.headers.get("Content-Type", "").split(";")[0].strip() or None
            claimed = resp.headers.get("Docker-Content-Digest")
        expected = reference if reference.startswith("sha") and ":" in reference else claimed
        if expected:
            _check(data, check_digest(expected), what)
        return data, media_type

    def open_blob(self, digest: str, what: str) -> BinaryIO:
        url = f"{self.base}/blobs/{check_digest(digest)}"
        return verified(
            cast(BinaryIO, self._get(url, {}, f"{what} from {self.host}")), digest, what
        )

    def _get(self, url: str, headers: dict[str, str], what: str) -> HTTPResponse:
        authenticated = False
        for attempt in range(RETRIES):
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only
            if self._auth:
                request.add_unredirected_header("Authorization", self._auth)
            try:
                return cast(HTTPResponse, self._opener.open(request, timeout=self.settings.timeout))
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code == 401 and not authenticated:
                    self._authenticate(exc.headers.get("WWW-Authenticate", ""), what)
                    authenticated = True
                    continue
                if exc.code in _TRANSIENT and attempt < RETRIES - 1:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                raise self._http_error(exc.code, what) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLError):
                    raise ImageError(
                        f"TLS with registry {self.host} failed for {what}: {reason}. A "
                        "plain-HTTP registry must be allowed with --insecure-registry "
                        "(image.insecure_registries)",
                        "config",
                    ) from None
                if attempt < RETRIES - 1:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                raise ImageError(
                    f"cannot reach registry {self.host} for {what}: {reason}", "missing"
                ) from None
        raise ImageError(f"registry {self.host}: {what} still failing after {RETRIES} tries")

    def _http_error(self, code: int, what: str) -> ImageError:
        if code == 401:
            who = self._credentials.origin if self._credentials else "no credentials"
            return ImageError(
                f"registry {self.host} refused access to {what} ({who}): log in with "
                f"`docker login {self.host}` or set {USER_ENV} and {PASSWORD_ENV}",
                "config",
            )
        if code == 403:
            return ImageError(f"registry {self.host}: access to {what} is forbidden", "config")
        if code == 404:
            return ImageError(f"registry {self.host} has no {what}")
        return ImageError(f"registry {self.host} answered HTTP {code} for {what}")

    def _authenticate(self, challenge: str, what: str) -> None:
        scheme, _, params_text = challenge.strip().partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        if scheme.lower() == "basic":
            if self._credentials is None:
                raise self._http_error(401, what)
            self._auth = self._credentials.basic
        elif scheme.lower() == "bearer" and params.get("realm"):
            self._auth = "Bearer " + self._token(params)
        else:
            raise ImageError(
                f"registry {self.host} asks for unsupported authentication {challenge!r}",
                "config",
            )

    def _token(self, params: dict[str, str]) -> str:
        realm = params["realm"]
        parsed = urllib.parse.urlsplit(realm)
        if parsed.scheme != "https" and not (
            parsed.scheme == "http"
            and plain_http_allowed(parsed.netloc, self.settings.insecure_registries)
        ):
            raise ImageError(
                f"registry {self.host} sends credentials to {realm}, which is not https",
                "config",
            )
        query = {"scope": params.get("scope") or f"repository:{self.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        url = f"{realm}{'&' if parsed.query else '?'}{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url)  # noqa: S310 - scheme checked above
        if self._credentials is not None:
            request.add_unredirected_header("Authorization", self._credentials.basic)
        try:
            with self._opener.open(request, timeout=self.settings.timeout) as resp:
                body = json.loads(read_capped(resp, 1 << 20, "token response"))
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ImageError(
                f"the token service of {self.host} refused the request (HTTP {exc.code})"
                + (
                    f" with credentials from {self._credentials.origin}"
                    if self._credentials
                    else ""
                ),
                "config",
            ) from None
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise ImageError(
                f"cannot get a token for {self.host} from {realm}: {exc}", "missing"
            ) from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ImageError(f"the token service of {self.host} answered without a token")
        return token


class _NoDowngradeRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if req.full_url.startswith("https:") and not newurl.startswith("https:"):
            raise ImageError(f"refusing a redirect from https to {newurl}", "input")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _check(data: bytes, digest: str, what: str) -> None:
    alg, _, expected = digest.partition(":")
    if hashlib.new(alg, data).hexdigest() != expected:
        raise ImageError(f"{what} does not match its digest {digest}: refusing it")


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1, with or without a port."""
    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.split(":")[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plain_http_allowed(host: str, insecure: tuple[str, ...]) -> bool:
    """May `host` be reached over plain HTTP? Only if listed, or loopback under `loopback`."""
    return host in insecure or ("loopback" in insecure and is_loopback(host))


def find_credentials(host: str, config_path: Path | None = None) -> Credentials | None:
    """Credentials for `host`: the environment first, then docker's config.json `auths`."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user and password is not None:
        return Credentials(user, password, f"${USER_ENV}")
    path = config_path or _docker_config_path()
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if _config_host(str(key)) == _config_host(host) and isinstance(entry, dict):
            found = _entry_credentials(entry, f"{path} ({key})")
            if found is not None:
                return found
    return None


def _docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _config_host(key: str) -> str:
    """Docker's config keys are hosts or URLs; Docker Hub has several spellings."""
    host = urllib.parse.urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    return DOCKER_HUB if host in ("index.docker.io", "docker.io", DOCKER_HUB) else host


def _entry_credentials(entry: dict[str, Any], origin: str) -> Credentials | None:
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credentials(entry["username"], entry["password"], origin)
    auth = entry.get("auth")
    if not isinstance(auth, str) or not auth:
        return None
    try:
        user, sep, password = base64.b64decode(auth).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return Credentials(user, password, origin) if sep else None
