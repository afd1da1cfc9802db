"""Risky image configuration, read from the image config (no container is run).

| rule id                  | severity | what                                                      |
| ------------------------ | -------- | --------------------------------------------------------- |
| IMAGE-ROOT-USER          | medium   | no `USER`, or `USER root` / `0`: the process runs as root  |
| (secret detector id)     | detector | a credential in an `ENV` value or a label (secrets engine) |
| IMAGE-ENV-SECRET         | medium   | a non-empty `ENV` whose name says password/secret/token   |
| IMAGE-NO-HEALTHCHECK     | low      | no `HEALTHCHECK` (or `HEALTHCHECK NONE`)                  |
| IMAGE-LATEST-BASE        | low      | the history shows a `:latest` (or untagged) base image    |

Credentials use `pipeline_guard.secrets`' detector table (the same ids and
severities as the `secrets` scanner), run on `NAME=value` lines as if they were
an `.env` file, so its name-based generic detectors apply too. Values are never
shown: snippets carry masks, and raw values are returned for redaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline_guard.image.imageconfig import ImageConfig
from pipeline_guard.model import Severity
from pipeline_guard.secrets.allowlist import is_placeholder
from pipeline_guard.secrets.detectors import CWE as SECRET_CWE
from pipeline_guard.secrets.engine import SecretsEngine
from pipeline_guard.secrets.redact import mask

ROOT_USER = "IMAGE-ROOT-USER"
ENV_SECRET = "IMAGE-ENV-SECRET"  # noqa: S105 - a rule id, not a secret
NO_HEALTHCHECK = "IMAGE-NO-HEALTHCHECK"
LATEST_BASE = "IMAGE-LATEST-BASE"

SEVERITY = {
    ROOT_USER: Severity.MEDIUM,
    ENV_SECRET: Severity.MEDIUM,
    NO_HEALTHCHECK: Severity.LOW,
    LATEST_BASE: Severity.LOW,
}
_DOCKER_DOCS = "https://docs.docker.com/reference/dockerfile/"
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASS|SECRET|TOKEN|APIKEY|API_KEY|ACCESS_KEY|SECRET_KEY|"
    r"PRIVATE_KEY|CREDENTIALS?)$",
    re.IGNORECASE,
)
# `FROM x` untagged means x:latest; `COPY --from=x` may name a build stage, so only an
# explicit `:latest` counts there (the _LATEST pattern finds those anywhere).
_FROM = re.compile(r"\bFROM\s+(?:--platform=\S+\s+)?(?P<ref>[^\s\"']+)")
_LATEST = re.compile(r"(?P<ref>[A-Za-z0-9][\w./-]*(?::\d+/[\w./-]+)?:latest)\b")


@dataclass(frozen=True)
class ConfigIssue:
    rule_id: str
    title: str
    message: str
    severity: Severity
    snippet: str  # what the config says, secrets masked
    cwes: tuple[str, ...] = ()
    help_url: str | None = None
    tags: tuple[str, ...] = ()
    confidence: str | None = None
    redact: tuple[str, ...] = ()  # raw values to scrub from every output


def check_config(config: ImageConfig, engine: SecretsEngine | None = None) -> list[ConfigIssue]:
    """Every issue in an image's configuration, in a stable order."""
    issues = _root_user(config)
    issues.extend(_secrets(config, engine or SecretsEngine()))
    issues.extend(_healthcheck(config))
    issues.extend(_latest_base(config))
    return issues


def _root_user(config: ImageConfig) -> list[ConfigIssue]:
    user = config.user.strip()
    name = user.split(":", 1)[0]
    if name not in ("", "root", "0"):
        return []
    said = f"USER {user}" if user else "no USER instruction"
    return [
        ConfigIssue(
            rule_id=ROOT_USER,
            title="Image runs as root",
            message=(
                f"The image's processes run as root ({said}): a compromise of the process is "
                "a compromise of root in the container. Add a non-root `USER` (name or UID) "
                "to the Dockerfile."
            ),
            severity=SEVERITY[ROOT_USER],
            snippet=f"USER {user}" if user else "USER (unset: root)",
            cwes=("CWE-250",),
            help_url=_DOCKER_DOCS + "#user",
            tags=("image-config", "user"),
        )
    ]


def _secrets(config: ImageConfig, engine: SecretsEngine) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for env in config.env:
        key, _, value = env.partition("=")
        issues.extend(_secret_in("ENV", key, value, engine))
    for key, value in config.labels:
        issues.extend(_secret_in("LABEL", key, value, engine))
    return issues


def _secret_in(where: str, key: str, value: str, engine: SecretsEngine) -> list[ConfigIssue]:
    line = f"{key}={value}"
    matches = engine.scan_text(line + "\n", "image-config.env")
    out = [
        ConfigIssue(
            rule_id=m.detector.id,
            title=f"{m.detector.title} in image {where} {key}",
            message=(
                f"The image's {where} {key} holds a {m.detector.title.lower()}: anyone who can "
                f"pull the image can read it (docker inspect). {m.detector.advice}"
            ),
            severity=m.detector.severity,
            snippet=f"{where} {m.snippet}",
            cwes=(SECRET_CWE,),
            help_url=m.detector.help_url,
            tags=("image-config", "secret", where.lower()),
            confidence=m.detector.confidence,
            redact=m.redact,
        )
        for m in matches
    ]
    if out or where != "ENV" or not _looks_secret(key, value):
        return out
    return [
        ConfigIssue(
            rule_id=ENV_SECRET,
            title=f"Secret-looking value in image ENV {key}",
            message=(
                f"The image sets ENV {key} to a value, and its name says it is a credential: "
                "anyone who can pull the image can read it (docker inspect). Pass it at run "
                "time (secrets, env files) instead of baking it into the image."
            ),
            severity=SEVERITY[ENV_SECRET],
            snippet=f"ENV {key}={mask(value)}",
            cwes=(SECRET_CWE,),
            help_url=_DOCKER_DOCS + "#env",
            tags=("image-config", "secret", "env"),
            confidence="medium",
            redact=(value,),
        )
    ]


def _looks_secret(key: str, value: str) -> bool:
    value = value.strip()
    return (
        bool(_SECRET_NAME.search(key))
        and len(value) >= 4
        and not value.startswith(("/", "$", "file:"))  # paths and references, not values
        and not is_placeholder(value)
    )


def _healthcheck(config: ImageConfig) -> list[ConfigIssue]:
    test = config.healthcheck
    if test is not None and test[:1] != ("NONE",):
        return []
    said = "HEALTHCHECK NONE" if test else "no HEALTHCHECK instruction"
    return [
        ConfigIssue(
            rule_id=NO_HEALTHCHECK,
            title="Image has no health check",
            message=(
                f"The image declares {said}: an orchestrator without its own probe cannot "
                "tell a hung container from a healthy one. Add a `HEALTHCHECK` (or define "
                "probes where the image is deployed)."
            ),
            severity=SEVERITY[NO_HEALTHCHECK],
            snippet="HEALTHCHECK NONE" if test else "HEALTHCHECK (unset)",
            help_url=_DOCKER_DOCS + "#healthcheck",
            tags=("image-config", "healthcheck"),
        )
    ]


def _latest_base(config: ImageConfig) -> list[ConfigIssue]:
    seen: dict[str, str] = {}
    for entry in config.history:
        for ref in _latest_refs(entry.created_by):
            seen.setdefault(ref, entry.created_by)
    base = dict(config.labels).get("org.opencontainers.image.base.name")
    if base and _is_latest(base):
        seen.setdefault(base, f"LABEL org.opencontainers.image.base.name={base}")
    return [
        ConfigIssue(
            rule_id=LATEST_BASE,
            title=f"Image built from {ref}",
            message=(
                f"The image's build used {ref}: `latest` moves, so the same Dockerfile builds "
                "a different image tomorrow and a scan today says little about it. Pin the "
                "base image by version tag or digest."
            ),
            severity=SEVERITY[LATEST_BASE],
            snippet=line,
            tags=("image-config", "base-image"),
        )
        for ref, line in seen.items()
    ]


def _latest_refs(line: str) -> list[str]:
    refs = [m.group("ref") for m in _LATEST.finditer(line)]
    refs.extend(
        ref
        for m in _FROM.finditer(line)
        if _is_latest(ref := m.group("ref")) and ref != "scratch" and "$" not in ref
    )
    return list(dict.fromkeys(refs))


def _is_latest(ref: str) -> bool:
    if "@" in ref:
        return False
    last = ref.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")
