"""Semgrep adapter: our bundled rule pack plus the project's own rules, run offline.

Recipe: merge the bundled pack into one rule file in `ctx.work_dir`, add the user
rule paths from the `rules` option, run

    semgrep scan --json --metrics=off --disable-version-check --no-rewrite-rule-ids
                 --config <merged pack> --config <user rules>... -- <files>

with `SEMGREP_ENABLE_VERSION_CHECK=0` and `SEMGREP_SEND_METRICS=off` in the
environment (offline, semgrep otherwise retries its version check for ~96 s),
parse the JSON and turn every result into a `Finding`.

Why merge: semgrep spends most of its time loading rules. On the test fixture one
merged file scans in ~2.3 s against ~3.4 s for the seven pack files passed one by
one. `--no-rewrite-rule-ids` keeps each rule's own id (semgrep would otherwise
prefix it with the dotted path of the temp config), so ids are stable.

Targets are explicit files from `ctx.files`, so the config's excludes and a
restricted (staged or changed) file set apply, and semgrep's git-tracked-only
default does not hide untracked files. With only the bundled pack, only files in a
pack language are passed; with user rules every file is passed and semgrep's own
language detection picks. Long lists are split into several runs to stay far
below ARG_MAX.

Registry configs (`auto`, `p/...`, `r/...`, `s/...`, URLs) need the network and
are refused with a config error unless `allow_registry: true`.

Severity, first match wins:

    options.severity[rule_id]          (config override)
    metadata.pipeline_guard.severity   (every bundled rule has one)
    SEVERITY_TABLE[semgrep severity]   ERROR -> high, WARNING -> medium, INFO -> low

Failures: a file semgrep could not parse is still counted as scanned by semgrep,
so each parse (or per-file timeout) error becomes a note naming the file and
line. A rule or config error, or exit code 2+ with no results, is a ScanFailure.
OSS semgrep answers "requires login" for `extra.lines` and `extra.fingerprint`;
both are ignored (the core reads snippets and computes fingerprints itself).

Options (pipeline-guard.yml `scanners.semgrep`):

    rules           list[str]  []      extra rule files/dirs, relative to the scan root
    bundled_rules   bool       true    use pipeline-guard's bundled rule pack
    exclude_rules   list[str]  []      rule ids not to run (bundled or user)
    allow_registry  bool       false   let `rules` name registry configs (needs network)
    severity        map        {}      rule id -> critical|high|medium|low|info
    timeout         number     600     seconds for the whole semgrep run
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline_guard import yamlsafe
from pipeline_guard.fsutil import atomic_write_text
from pipeline_guard.model import Category, Finding, Location, Severity
from pipeline_guard.scanner import (
    ARGV_BUDGET,
    RunOutput,
    ScanContext,
    ScanFailure,
    Scanner,
    argv_batches,
    load_json_report,
    run_tool,
    tool_version,
)

#: semgrep's rule severities -> ours, for rules without metadata.pipeline_guard.severity.
#: The last five are semgrep's newer severity names, accepted in rules since 1.7x.
SEVERITY_TABLE: Mapping[str, Severity] = {
    "ERROR": Severity.HIGH,
    "WARNING": Severity.MEDIUM,
    "INFO": Severity.LOW,
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "INVENTORY": Severity.INFO,
}

#: offline: without these semgrep hangs ~96 s retrying its version check
SEMGREP_ENV: Mapping[str, str] = {
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_SEND_METRICS": "off",
}

#: file name endings semgrep uses to pick a rule language (lowercased), from
#: semgrep's lang.json. None: the language applies to every file.
LANGUAGE_SUFFIXES: Mapping[str, tuple[str, ...] | None] = {
    "python": (".py", ".pyi"),
    "javascript": (".js", ".jsx", ".mjs", ".cjs"),
    "typescript": (".ts", ".tsx"),
    "go": (".go",),
    "java": (".java",),
    "dockerfile": ("dockerfile",),
    "yaml": (".yml", ".yaml"),
    "json": (".json", ".ipynb"),
    "bash": (".bash", ".sh"),
    "ruby": (".rb",),
    "php": (".php", ".tpl", ".phtml"),
    "kotlin": (".kt", ".kts", ".ktm"),
    "scala": (".scala",),
    "csharp": (".cs",),
    "rust": (".rs",),
    "terraform": (".tf", ".tofu", ".hcl", ".tfvars"),
    "generic": None,
    "regex": None,
}
#: semgrep's other names for the languages above
LANGUAGE_ALIASES: Mapping[str, str] = {
    "py": "python",
    "js": "javascript",
    "ts": "typescript",
    "golang": "go",
    "docker": "dockerfile",
    "sh": "bash",
    "kt": "kotlin",
    "c#": "csharp",
    "tf": "terraform",
    "hcl": "terraform",
    "none": "regex",
}

#: configs semgrep fetches from the network rather than reading from disk
REGISTRY_NAMES = frozenset({"auto", "r2c"})
REGISTRY_PREFIXES = ("p/", "r/", "s/", "http://", "https://")

#: bytes of target paths per semgrep run; ARG_MAX here is 2 MiB including the environment

BUNDLED_PACKAGE = "pipeline_guard.scanners"
_CWE = re.compile(r"CWE-(\d+)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_ERROR_LINE = re.compile(r":(\d+):")


@dataclass(frozen=True)
class RulePack:
    """The bundled rules, merged into one semgrep config."""

    text: str  # JSON, which semgrep reads as YAML
    rule_ids: frozenset[str]
    suffixes: tuple[str, ...] | None  # None: some rule applies to every file


class SemgrepScanner(Scanner):
    """Semgrep with pipeline-guard's bundled rule pack and the project's own rules."""

    name = "semgrep"
    category = Category.SAST
    description = "Multi-language SAST (semgrep) with a bundled rule pack and your own rules"
    fast = True
    file_local = True

    def applies(self, ctx: ScanContext) -> bool:
        try:
            if not self._use_bundled() and not self._user_rules():
                return False
            return bool(self._target_files(ctx))
        except ScanFailure:
            return True  # a broken option must surface as this scanner's error, not a skip

    def targets(self, ctx: ScanContext) -> int:
        try:
            return len(self._target_files(ctx))
        except ScanFailure:
            return 0

    def version(self) -> str | None:
        return tool_version("semgrep", distribution="semgrep", env=SEMGREP_ENV)

    def run(self, ctx: ScanContext) -> RunOutput:
        overrides = self._severity_overrides()
        configs = self._configs(ctx)
        files = self._target_files(ctx)
        output = RunOutput([])
        if not files:
            return output
        base = self._base_argv(configs)
        for chunk in argv_batches(files, ARGV_BUDGET):
            report = self._run_chunk(ctx, base, chunk)
            output.findings.extend(
                self._finding(ctx, item, overrides, output.notes) for item in report["results"]
            )
            output.notes.extend(error_notes(ctx, report.get("errors") or []))
        output.notes[:] = list(dict.fromkeys(output.notes))
        return output

    # -- options -----------------------------------------------------------------

    def _use_bundled(self) -> bool:
        return bool(self.options.get("bundled_rules", True))

    def _user_rules(self) -> list[str]:
        rules = self.options.get("rules") or []
        if isinstance(rules, str) or not isinstance(rules, Sequence):
            raise ScanFailure(
                "config", "semgrep.rules must be a list of rule file or directory paths"
            )
        return [str(r) for r in rules]

    def _exclude_rules(self) -> list[str]:
        excluded = self.options.get("exclude_rules") or []
        if isinstance(excluded, str) or not isinstance(excluded, Sequence):
            raise ScanFailure("config", "semgrep.exclude_rules must be a list of rule ids")
        return [str(r) for r in excluded]

    def _severity_overrides(self) -> dict[str, Severity]:
        table = self.options.get("severity") or {}
        if not isinstance(table, Mapping):
            raise ScanFailure("config", "semgrep.severity must map rule ids to severities")
        overrides: dict[str, Severity] = {}
        for rule_id, level in table.items():
            try:
                overrides[str(rule_id)] = Severity.parse(str(level))
            except ValueError as exc:
                raise ScanFailure("config", f"semgrep.severity[{rule_id}]: {exc}") from None
        return overrides

    def _configs(self, ctx: ScanContext) -> list[str]:
        """The --config values: the merged pack, then each user rule path."""
        configs = []
        if self._use_bundled():
            configs.append(str(write_pack(ctx.work_dir)))
        allow_registry = bool(self.options.get("allow_registry", False))
        for value in self._user_rules():
            configs.append(user_config(ctx.root, value, allow_registry=allow_registry))
        if not configs:
            raise ScanFailure(
                "config", "semgrep has no rules: bundled_rules is false and `rules` is empty"
            )
        return configs

    # -- running -----------------------------------------------------------------

    def _base_argv(self, configs: Sequence[str]) -> list[str]:
        argv = [
            "semgrep",
            "scan",
            "--experimental",
            "--json",
            "--metrics=off",
            "--disable-version-check",
            "--no-rewrite-rule-ids",
            # `# nosemgrep` would drop findings without a trace; the core marks
            # them suppressed instead, so they stay visible (pipeline_guard.suppress).
            "--disable-nosem",
        ]
        for config in configs:
            argv += ["--config", config]
        for rule_id in self._exclude_rules():
            argv += ["--exclude-rule", rule_id]
        return argv

    def _run_chunk(self, ctx: ScanContext, base: list[str], chunk: list[str]) -> dict[str, Any]:
        # "--" so a file named like an option is still a target; every exit code is
        # read from the JSON, so none of them is an error by itself
        result = run_tool(
            [*base, "--", *chunk],
            timeout=self.timeout,
            cwd=ctx.root,
            env=SEMGREP_ENV,
            ok_codes=range(256),
        )
        report = parse_report(result.stdout, result.stderr)
        fatal = [e for e in report.get("errors") or [] if e.get("level") == "error"]
        if fatal:
            raise ScanFailure(
                "config" if any(_is_config_error(e) for e in fatal) else "crash",
                "semgrep failed: " + "; ".join(_error_summary(e) for e in fatal),
                result.stderr[-4000:],
            )
        if result.returncode >= 2 and not report["results"]:
            raise ScanFailure(
                "crash", f"semgrep exited with code {result.returncode}", result.stderr[-4000:]
            )
        return report

    # -- normalizing -------------------------------------------------------------

    def _target_files(self, ctx: ScanContext) -> list[str]:
        pack = load_pack()
        if self._user_rules() or pack.suffixes is None:
            candidates = list(ctx.files)  # any language: semgrep picks per file
        else:
            candidates = ctx.files_matching(suffixes=pack.suffixes)
        # a listed file can be gone (a staged deletion); semgrep would abort on it
        return [f for f in candidates if (ctx.root / f).is_file()]

    def _finding(
        self,
        ctx: ScanContext,
        item: Mapping[str, Any],
        overrides: Mapping[str, Severity],
        notes: list[str],
    ) -> Finding:
        rule_id = str(item["check_id"])
        extra: Mapping[str, Any] = item.get("extra") or {}
        metadata: Mapping[str, Any] = extra.get("metadata") or {}
        message = " ".join(str(extra.get("message") or "").split())
        start: Mapping[str, Any] = item.get("start") or {}
        end: Mapping[str, Any] = item.get("end") or {}
        return Finding(
            scanner=self.name,
            category=self.category,
            rule_id=rule_id,
            title=title_of(message) or rule_id,
            message=message or rule_id,
            severity=self._severity(rule_id, extra, overrides, notes),
            confidence=str(metadata.get("confidence") or "").lower() or None,
            location=Location(
                path=ctx.relative(str(item["path"])),
                start_line=start.get("line"),
                end_line=end.get("line"),
                start_column=start.get("col"),
                end_column=end.get("col"),
            ),
            cwes=cwes_of(metadata.get("cwe")),
            help_url=help_url_of(metadata),
            tags=tags_of(metadata),
        )

    def _severity(
        self,
        rule_id: str,
        extra: Mapping[str, Any],
        overrides: Mapping[str, Severity],
        notes: list[str],
    ) -> Severity:
        if rule_id in overrides:
            return overrides[rule_id]
        level = str(extra.get("severity") or "").upper()
        fallback = SEVERITY_TABLE.get(level, Severity.MEDIUM)
        ours = ((extra.get("metadata") or {}).get("pipeline_guard") or {}).get("severity")
        if ours is None:
            return fallback
        try:
            return Severity.parse(str(ours))
        except ValueError:
            notes.append(
                f"semgrep rule {rule_id}: metadata.pipeline_guard.severity {ours!r} is not a "
                f"severity; used semgrep's {level or 'missing'} level ({fallback.label}) instead"
            )
            return fallback


# -- the bundled pack ------------------------------------------------------------


@functools.cache
def load_pack() -> RulePack:
    """The bundled rules, read once per process (rule files, not `*.test.yaml` targets)."""
    folder = resources.files(BUNDLED_PACKAGE) / "rules" / "semgrep"
    rules: list[Any] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml") or entry.name.endswith(".test.yaml"):
            continue
        data = yamlsafe.safe_load(entry.read_text(encoding="utf-8"))
        rules.extend(data["rules"])
    languages = {str(lang).lower() for rule in rules for lang in rule["languages"]}
    return RulePack(
        text=json.dumps({"rules": rules}, sort_keys=True),
        rule_ids=frozenset(str(rule["id"]) for rule in rules),
        suffixes=pack_suffixes(languages),
    )


def pack_suffixes(languages: set[str]) -> tuple[str, ...] | None:
    """File name endings for `languages`; None when one of them covers every file."""
    suffixes: list[str] = []
    for name in sorted(languages):
        lang = LANGUAGE_ALIASES.get(name, name)
        if lang not in LANGUAGE_SUFFIXES:
            raise ValueError(f"semgrep language {name!r} has no entry in LANGUAGE_SUFFIXES")
        endings = LANGUAGE_SUFFIXES[lang]
        if endings is None:
            return None
        suffixes.extend(endings)
    return tuple(dict.fromkeys(suffixes))


def write_pack(work_dir: Path) -> Path:
    """The merged pack as one config file in `work_dir` (named by content, written once)."""
    pack = load_pack()
    digest = hashlib.sha256(pack.text.encode("utf-8")).hexdigest()[:16]
    path = work_dir / f"semgrep-pack-{digest}.yaml"
    if not path.is_file():
        atomic_write_text(path, pack.text)
    return path


# -- user rules ------------------------------------------------------------------


def is_registry_config(value: str) -> bool:
    """Would semgrep fetch this config from the network (its own resolution order)?"""
    return value in REGISTRY_NAMES or value.startswith(REGISTRY_PREFIXES)


def user_config(root: Path, value: str, *, allow_registry: bool) -> str:
    """A user `rules` entry as a --config value: an absolute local path, or a registry id."""
    if is_registry_config(value):
        if not allow_registry:
            raise ScanFailure(
                "config",
                f"semgrep.rules entry {value!r} is a semgrep registry config, which needs "
                "network access; use local rule files, or set allow_registry: true",
            )
        return value
    # absolute, so semgrep never reads a local name such as "secrets" as a product name
    path = (root / value).resolve()
    if not path.exists():
        raise ScanFailure(
            "config", f"semgrep.rules entry {value!r} does not exist (looked for {path})"
        )
    return str(path)


# -- semgrep's JSON --------------------------------------------------------------


def parse_report(stdout: str, stderr: str = "") -> dict[str, Any]:
    """Semgrep's JSON output; ScanFailure("parse") when it is not one."""
    return load_json_report(stdout, "semgrep", stderr)


def error_notes(ctx: ScanContext, errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """One note per file semgrep did not fully scan (syntax errors, per-file timeouts)."""
    notes = []
    for error in errors:
        if error.get("level") == "error":
            continue
        path = error.get("path")
        if not path:
            notes.append(f"semgrep warning: {_error_summary(error)}")
            continue
        where = ctx.relative(str(path))
        line = _error_line(error)
        if line is not None:
            where = f"{where}:{line}"
        if _is_syntax_error(error):
            notes.append(f"{where}: semgrep could not parse this file; it was not fully scanned")
        else:
            notes.append(f"{where}: semgrep {_error_type(error)}; it was not fully scanned")
    return notes


def title_of(message: str) -> str:
    """The first sentence of a rule message, without its full stop."""
    first = _SENTENCE_END.split(message.strip(), maxsplit=1)[0]
    return first.rstrip(".").strip()


def cwes_of(value: Any) -> tuple[str, ...]:
    """ "CWE-<n>" ids from metadata.cwe, a string or a list ("CWE-78: Improper ...")."""
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    ids = [f"CWE-{m.group(1)}" for entry in entries for m in _CWE.finditer(str(entry))]
    return tuple(dict.fromkeys(ids))


def help_url_of(metadata: Mapping[str, Any]) -> str | None:
    """The first reference URL, else the rule's source or shortlink."""
    refs = metadata.get("references")
    refs = [refs] if isinstance(refs, str) else refs if isinstance(refs, list) else []
    for candidate in [*refs, metadata.get("source"), metadata.get("shortlink")]:
        if isinstance(candidate, str) and candidate.startswith(("https://", "http://")):
            return candidate
    return None


def tags_of(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The rule's category and OWASP Top 10 entries ("A03:2021 - Injection")."""
    owasp = metadata.get("owasp")
    owasp = [owasp] if isinstance(owasp, str) else owasp if isinstance(owasp, list) else []
    category = metadata.get("category")
    tags = [str(category)] if category else []
    return tuple(dict.fromkeys([*tags, *(str(o) for o in owasp)]))


def _error_type(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    # e.g. ["PartialParsing", [spans]]: the name comes first
    return str(kind[0] if isinstance(kind, list) and kind else kind or "error")


def _is_syntax_error(error: Mapping[str, Any]) -> bool:
    kind = _error_type(error).lower()
    return "syntax" in kind or "parsing" in kind or "lexical" in kind


def _is_config_error(error: Mapping[str, Any]) -> bool:
    kind = _error_type(error).lower()
    return (
        "rule" in kind
        or "pattern" in kind
        or "config" in str(error.get("message", "")).lower()
        or "yaml" in str(error.get("message", "")).lower()
    )


def _error_line(error: Mapping[str, Any]) -> int | None:
    for span in error.get("spans") or []:
        line = (span.get("start") or {}).get("line")
        if isinstance(line, int) and line > 0:
            return line
    match = _ERROR_LINE.search(str(error.get("message", "")))
    return int(match.group(1)) if match else None


def _error_summary(error: Mapping[str, Any]) -> str:
    text = str(error.get("message") or error.get("long_msg") or error.get("short_msg") or "")
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{_error_type(error)}: {first}" if first else _error_type(error)
