"""The osv adapter end to end: real lockfiles, a real database from the shared OSV dumps."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from osv_server import require_osv_data

from pipeline_guard.config import Config, StagePolicy
from pipeline_guard.model import Category, Finding, ScannerRun, Severity
from pipeline_guard.orchestrator import ScanRequest, scan
from pipeline_guard.scanner import ScanContext
from pipeline_guard.scanners.osv import OsvScanner
from pipeline_guard.vulndb.importer import import_sources

PROJECT = Path(__file__).parent / "fixtures" / "lockfiles" / "project"


@pytest.fixture(scope="session")
def osv_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PyPI and npm advisories imported once per session (Go deliberately left out)."""
    data = require_osv_data()
    db = tmp_path_factory.mktemp("osv-db") / "osv.sqlite3"
    import_sources([data / "PyPI-all.zip", data / "npm-all.zip"], db)
    return db


def advisory(ecosystem: str, advisory_id: str) -> dict[str, Any]:
    """One advisory straight from the shared dump, to derive expectations from the data."""
    with zipfile.ZipFile(require_osv_data() / f"{ecosystem}-all.zip") as z:
        data: dict[str, Any] = json.loads(z.read(f"{advisory_id}.json"))
    return data


def files_of(root: Path) -> tuple[str, ...]:
    return tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()))


def run_osv(db: Path, root: Path = PROJECT, options: dict[str, Any] | None = None) -> ScannerRun:
    ctx = ScanContext(root=root, files=files_of(root), db_path=db)
    run: ScannerRun = OsvScanner(options).scan(ctx)
    return run


def findings_for(run: ScannerRun, name: str) -> list[Finding]:
    return [f for f in run.findings if f.package and f.package.name == name]


@pytest.fixture(scope="module")
def project_run(osv_db: Path) -> ScannerRun:
    return run_osv(osv_db)


def test_run_succeeds_and_names_the_database(project_run: ScannerRun) -> None:
    # The malformed lockfile is an error (it fails closed in release) and the
    # findings of the other lockfiles are kept.
    [error] = project_run.errors
    assert error.kind == "input"
    assert error.message.startswith("broken/Cargo.lock:7: invalid TOML")
    assert project_run.findings
    assert project_run.scanner == "osv" and project_run.category is Category.SCA
    assert project_run.targets == 4  # requirements.txt, package-lock.json, go.mod, Cargo.lock
    assert project_run.tool_version is not None
    assert project_run.tool_version.startswith("pipeline-guard 0.1.0 / db 20")


def test_old_jinja2_is_flagged_with_fix_advice(project_run: ScannerRun) -> None:
    record = advisory("PyPI", "PYSEC-2021-66")
    fixed = [
        e["fixed"] for r in record["affected"][0]["ranges"] for e in r["events"] if "fixed" in e
    ]
    assert fixed == ["2.11.3"]
    [finding] = findings_for(project_run, "jinja2")
    assert finding.rule_id == "GHSA-g3rq-g295-4j3m"  # GHSA ranks before PYSEC as the primary id
    assert set(finding.advisories) == {"PYSEC-2021-66", *record["aliases"]}
    assert finding.location.path == "requirements.txt" and finding.location.start_line == 2
    assert finding.title.startswith("jinja2 2.10.1: This affects the package jinja2")
    assert finding.message.endswith("Upgrade jinja2 to 2.11.3 or later.")
    assert finding.severity is Severity.MEDIUM  # PYSEC record without a rating: the default
    assert finding.help_url == "https://osv.dev/vulnerability/GHSA-g3rq-g295-4j3m"
    assert finding.package is not None
    assert finding.package.fixed_versions == ("2.11.3",)
    assert finding.package.manifest == "requirements.txt"
    assert finding.package.purl == "pkg:pypi/jinja2@2.10.1"
    assert finding.fingerprint == "" and finding.sources == ()


def test_aliases_of_one_vulnerability_become_one_finding(project_run: ScannerRun) -> None:
    # Two PYSEC records in the dump describe CVE-2021-42343 for distributed.
    first, second = advisory("PyPI", "PYSEC-2021-871"), advisory("PyPI", "PYSEC-2021-872")
    assert "CVE-2021-42343" in first["aliases"] and "CVE-2021-42343" in second["aliases"]
    [finding] = findings_for(project_run, "distributed")
    assert finding.rule_id == "GHSA-hwqr-f3v9-hwxr"
    assert set(finding.advisories) == {
        "PYSEC-2021-871",
        "PYSEC-2021-872",
        *first["aliases"],
        *second["aliases"],
    }
    assert finding.location.start_line == 4
    assert finding.message.endswith("Upgrade distributed to 2021.10.0 or later.")

    # npm: the GHSA record and the malicious-package (MAL) record of debug 4.4.2.
    [malware] = findings_for(project_run, "debug")
    assert malware.rule_id == "GHSA-4x49-vf9v-38px"
    assert {"GHSA-4x49-vf9v-38px", "MAL-2025-46974", "CVE-2025-59144"} <= set(malware.advisories)
    assert malware.severity is Severity.HIGH
    assert malware.cwes == ("CWE-506",)
    assert malware.cvss_score == 8.8 and malware.cvss_vector is not None
    assert malware.location.path == "web/package-lock.json" and malware.location.start_line == 19


def test_lodash_advisories_once_per_vulnerability(project_run: ScannerRun) -> None:
    lodash = findings_for(project_run, "lodash")
    # 4.17.15 sits twice in the lockfile (nested and hoisted): one finding per vulnerability.
    assert sorted(f.rule_id for f in lodash) == [
        "GHSA-29mw-wpgm-hmr9",
        "GHSA-35jh-r3h4-6jhm",
        "GHSA-p6mc-m468-83gw",
    ]
    assert {f.location.start_line for f in lodash} == {40}  # the direct one, not line 35
    by_id = {f.rule_id: f for f in lodash}
    assert by_id["GHSA-35jh-r3h4-6jhm"].severity is Severity.HIGH
    assert by_id["GHSA-35jh-r3h4-6jhm"].advisories == ("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337")
    assert by_id["GHSA-p6mc-m468-83gw"].message.endswith("Upgrade lodash to 4.17.19 or later.")
    assert by_id["GHSA-29mw-wpgm-hmr9"].title == (
        "lodash 4.17.15: Regular Expression Denial of Service (ReDoS) in lodash"
    )
    assert set(by_id["GHSA-29mw-wpgm-hmr9"].tags) == {
        "dependency",
        "npm",
        "direct",
        "severity:cvss-v3",
    }


def test_counts_and_clean_packages(project_run: ScannerRun) -> None:
    names = [f.package.name for f in project_run.findings if f.package]
    assert names.count("Django") == 21
    assert names.count("minimist") == 2  # dev dependency, included by default
    assert "six" not in names and "ms" not in names  # no advisory affects these versions
    assert len(project_run.findings) == 29


def test_notes_say_what_was_not_checked(project_run: ScannerRun) -> None:
    assert project_run.notes == ("requirements.txt:3 flask>=2: not checked (unpinned)",)
    assert project_run.stale_data == (
        "no Go advisories in the vulnerability database: 1 Go dependency not checked "
        "(run `pipeline-guard db update --ecosystem Go`)",
    )


def test_missing_database_is_a_config_error_with_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "osv.sqlite3"
    run = run_osv(missing)
    assert run.findings == ()
    [error] = run.errors
    assert error.kind == "config"
    assert (
        error.message == f"no vulnerability database at {missing}: run `pipeline-guard db update`"
    )
    assert run.tool_version == "pipeline-guard 0.1.0 / no db"


def test_include_dev_false_skips_dev_dependencies(osv_db: Path) -> None:
    run = run_osv(osv_db, options={"include_dev": False})
    assert findings_for(run, "minimist") == []
    assert len(run.findings) == 27
    assert "1 dev-only dependencies not checked (include_dev: false)" in run.notes


def severity_tags(finding: Finding) -> list[str]:
    return [tag for tag in finding.tags if tag.startswith("severity:")]


def test_severity_source_is_tagged(project_run: ScannerRun) -> None:
    # Every finding says where its severity came from, exactly once.
    assert all(len(severity_tags(f)) == 1 for f in project_run.findings)
    [jinja2] = findings_for(project_run, "jinja2")
    assert jinja2.severity is Severity.MEDIUM and severity_tags(jinja2) == ["severity:default"]
    [debug] = findings_for(project_run, "debug")
    assert severity_tags(debug) == ["severity:cvss-v4"]  # the records rate it with v4 only
    lodash = {f.rule_id: f for f in findings_for(project_run, "lodash")}
    assert lodash["GHSA-35jh-r3h4-6jhm"].cvss_score == 7.2
    assert severity_tags(lodash["GHSA-35jh-r3h4-6jhm"]) == ["severity:cvss-v3"]
    tagged = [t for f in project_run.findings for t in severity_tags(f)]
    assert tagged.count("severity:default") == 23  # jinja2, distributed and Django's 21


def test_severity_override_by_any_alias(osv_db: Path) -> None:
    run = run_osv(osv_db, options={"severity": {"CVE-2020-28493": "critical"}})
    [finding] = findings_for(run, "jinja2")
    assert finding.severity is Severity.CRITICAL
    assert severity_tags(finding) == ["severity:config"]


@pytest.fixture(scope="module")
def limits_run(osv_db: Path, tmp_path_factory: pytest.TempPathFactory) -> ScannerRun:
    """Versions and advisories the matcher can only partly evaluate, in two manifests."""
    root = tmp_path_factory.mktemp("limits")
    # "0.9-doduo" is no PEP 440 version (=== pins it as is); paramiko's advisories
    # enumerate it. PYSEC-2021-371 (binderhub) has one range, fixed in "0.2.0-n653",
    # which is no PEP 440 version either, and enumerates nothing.
    (root / "requirements.txt").write_text("paramiko===0.9-doduo\nbinderhub==0.1.0\n")
    (root / "svc").mkdir()
    (root / "svc" / "requirements.txt").write_text("paramiko===0.9-doduo\n")
    lock = {
        "name": "web",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "web", "dependencies": {"ws": "1.0.0"}},
            "node_modules/ws": {"version": "1.0.0"},
        },
    }
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2))
    return run_osv(osv_db, root)


def test_word_rating_is_tagged_as_database(limits_run: ScannerRun) -> None:
    ws = {f.rule_id: f for f in findings_for(limits_run, "ws")}
    assert sorted(ws) == ["GHSA-2mhh-w6q8-5hxw", "GHSA-5v72-xg48-5rpm", "GHSA-6663-c963-2gqg"]
    rated = advisory("npm", "GHSA-2mhh-w6q8-5hxw")
    assert "severity" not in rated and rated["database_specific"]["severity"] == "LOW"
    assert ws["GHSA-2mhh-w6q8-5hxw"].severity is Severity.LOW
    assert severity_tags(ws["GHSA-2mhh-w6q8-5hxw"]) == ["severity:database"]
    assert ws["GHSA-2mhh-w6q8-5hxw"].cvss_score is None
    assert severity_tags(ws["GHSA-5v72-xg48-5rpm"]) == ["severity:cvss-v3"]


def test_matcher_notes_name_package_and_advisory_once(limits_run: ScannerRun) -> None:
    paramiko = findings_for(limits_run, "paramiko")
    # Matched through the enumerations, in both manifests.
    assert sorted((f.location.path, f.rule_id) for f in paramiko) == [
        (path, rule)
        for path in ("requirements.txt", "svc/requirements.txt")
        for rule in ("GHSA-232r-66cg-79px", "GHSA-f8q4-jwww-x3wv", "PYSEC-2008-8")
    ]
    assert findings_for(limits_run, "binderhub") == []
    enumerated = (
        "version '0.9-doduo' is not a valid PEP 440 version: "
        "matched through the advisory's enumerated versions only"
    )
    assert limits_run.notes == (
        "requirements.txt:1 paramiko 0.9-doduo: not a valid PyPI version, "
        "only compared with the advisories' listed versions",
        f"PyPI paramiko@0.9-doduo, GHSA-232r-66cg-79px: {enumerated}",
        f"PyPI paramiko@0.9-doduo, GHSA-f8q4-jwww-x3wv: {enumerated}",
        f"PyPI paramiko@0.9-doduo, PYSEC-2008-8: {enumerated}",
        "PyPI binderhub@0.1.0: PYSEC-2021-371: a ECOSYSTEM range was not evaluated "
        "('0.2.0-n653' is not a valid PEP 440 version); only its enumerated versions are "
        "matched, and 0.1.0 is not one of them",
        "svc/requirements.txt:1 paramiko 0.9-doduo: not a valid PyPI version, "
        "only compared with the advisories' listed versions",
    )
    assert limits_run.errors == ()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_db_age_days": -1}, "osv.max_db_age_days must be a number of days >= 0, not -1"),
        ({"include_dev": "no"}, "osv.include_dev must be true or false, not 'no'"),
        ({"severity": {"X": "urgent"}}, "osv.severity: unknown severity 'urgent'"),
    ],
)
def test_bad_options_are_config_errors(osv_db: Path, options: dict[str, Any], message: str) -> None:
    [error] = run_osv(osv_db, options=options).errors
    assert error.kind == "config" and error.message.startswith(message)


def test_stale_database_is_noted(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    imported = datetime.now(UTC) - timedelta(days=30)
    import_sources([require_osv_data() / "npm-all.zip"], db, now=imported)
    root = tmp_path / "app"
    (root / "web").mkdir(parents=True)
    shutil.copy(PROJECT / "web" / "package-lock.json", root / "web" / "package-lock.json")
    run = run_osv(db, root)
    assert run.errors == () and len(run.findings) == 6
    [stale] = run.stale_data
    assert stale.startswith("vulnerability database is stale (npm 30.0 days old; limit 7 days)")
    fresh_enough = run_osv(db, root, options={"max_db_age_days": 60})
    assert fresh_enough.stale_data == ()


def test_no_data_for_any_ecosystem_used_is_an_error(osv_db: Path, tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n\ngo 1.21\n\nrequire golang.org/x/net v0.7.0\n")
    [error] = run_osv(osv_db, tmp_path).errors
    assert error.kind == "config"
    assert "has no advisories for Go" in error.message
    assert error.message.endswith("run `pipeline-guard db update --ecosystem Go`")


def test_only_malformed_lockfiles_is_an_input_error(osv_db: Path, tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_text('{\n  "lockfileVersion": 3,\n  "packages": {\n')
    run = run_osv(osv_db, tmp_path)
    [error] = run.errors
    assert error.kind == "input"
    assert error.message.startswith("no dependency manifest could be read: package-lock.json:4")


def test_applies_only_to_trees_with_manifests(tmp_path: Path) -> None:
    scanner = OsvScanner()
    assert not scanner.applies(ScanContext(root=tmp_path, files=("app.py", "README.md")))
    ctx = ScanContext(root=tmp_path, files=("app.py", "api/poetry.lock", "go.sum", "go.mod"))
    assert scanner.applies(ctx) and scanner.targets(ctx) == 2  # go.sum defers to go.mod


def test_through_the_orchestrator(osv_db: Path) -> None:
    policy = StagePolicy(
        name="release", scanners=("osv",), fail_on_scanner_error=True, fail_on_stale_db=True
    )
    config = Config(stages={"release": policy})
    report = scan(ScanRequest(root=PROJECT, stage="release", config=config, db_path=osv_db))
    [run] = report.runs
    assert run.scanner == "osv" and [e.kind for e in run.errors] == ["input"]
    assert len(report.findings) == 29
    assert all(f.fingerprint for f in report.findings)
    assert len({f.fingerprint for f in report.findings}) == 29
    # The broken Cargo.lock fails the release stage closed; the findings are kept.
    assert not report.verdict.passed and report.verdict.exit_code == 3
    assert report.verdict.reasons[0].startswith("scanner osv failed (input): broken/Cargo.lock")
    # The database has no Go data: a stale-data reason in a stage that fails on it.
    assert any("no Go advisories" in r for r in report.verdict.reasons)
    assert "osv: requirements.txt:3 flask>=2: not checked (unpinned)" in report.notes
