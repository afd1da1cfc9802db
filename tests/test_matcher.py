"""OSV evaluation semantics, alias merging and severity, on real advisories from the dumps."""

from __future__ import annotations

import copy
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipeline_guard.model import Severity
from pipeline_guard.vulndb.matcher import (
    affected_by,
    id_rank,
    is_orderable,
    match_package,
    merge_aliases,
    normalize_name,
    unevaluated_ranges,
)
from pipeline_guard.vulndb.severity import advisory_severity, score_to_severity

SHARED = Path(
    os.environ.get("PIPELINE_GUARD_SHARED", Path(__file__).resolve().parents[2] / "shared")
)
OSV_DIR = SHARED / "data" / "osv"


def advisory(zip_name: str, advisory_id: str) -> dict[str, Any]:
    with zipfile.ZipFile(OSV_DIR / f"{zip_name}-all.zip") as zf:
        return json.loads(zf.read(f"{advisory_id}.json"))  # type: ignore[no-any-return]


def hit(adv: dict[str, Any], eco: str, name: str, version: str) -> str | None:
    found = affected_by(adv, eco, name, version)
    return found.via if found else None


def test_unsorted_pairs_pysec_2021_114() -> None:
    # Events are 2.11 -> 2.11.7, 0 -> 2.11.6, 2.12 -> 2.12.4: evaluated sorted.
    adv = advisory("PyPI", "PYSEC-2021-114")
    assert hit(adv, "PyPI", "wagtail", "2.10.2") == "range"
    assert hit(adv, "PyPI", "wagtail", "2.11.5") == "range"
    assert hit(adv, "PyPI", "wagtail", "2.12.3") == "range"
    assert hit(adv, "PyPI", "wagtail", "2.11.7") is None
    assert hit(adv, "PyPI", "wagtail", "2.12.4") is None
    assert hit(adv, "PyPI", "wagtail", "2.13") is None
    # Sorted, "fixed 2.11.6" closes the range before 2.11.7; the enumeration still lists it.
    assert hit(adv, "PyPI", "wagtail", "2.11.6") == "versions"
    found = affected_by(adv, "PyPI", "Wagtail", "2.12.1")
    assert found is not None
    assert set(found.fixed_versions) == {"2.11.7", "2.11.6", "2.12.4"}


def test_many_unsorted_pairs_pysec_2018_19() -> None:
    adv = advisory("PyPI", "PYSEC-2018-19")  # paramiko, 1.18.0 -> 1.18.5 listed last
    assert hit(adv, "PyPI", "paramiko", "1.18.4") == "range"
    assert hit(adv, "PyPI", "paramiko", "1.18.5") is None
    assert hit(adv, "PyPI", "paramiko", "2.0.7") == "range"
    assert hit(adv, "PyPI", "paramiko", "2.0.8") is None
    assert hit(adv, "PyPI", "paramiko", "2.4.0") is None


def test_last_affected_maven() -> None:
    adv = advisory("Maven", "GHSA-2qrg-x229-3v8q")  # log4j:log4j 1.2 .. last_affected 1.2.17
    assert hit(adv, "Maven", "log4j:log4j", "1.2.17") in ("range", "versions")
    assert affected_by(adv, "Maven", "log4j:log4j", "1.2.17").via == "range"  # type: ignore[union-attr]
    assert hit(adv, "Maven", "log4j:log4j", "1.2.9") == "range"
    assert hit(adv, "Maven", "log4j:log4j", "1.1.3") is None  # before introduced
    assert hit(adv, "Maven", "log4j:log4j", "1.2.18") is None  # above last_affected
    assert affected_by(adv, "Maven", "log4j:log4j", "1.2.17").last_affected == ("1.2.17",)  # type: ignore[union-attr]


def test_last_affected_with_qualifier_maven() -> None:
    adv = advisory("Maven", "GHSA-599f-7c49-w659")  # last_affected 1.2.2.1-jre17
    assert hit(adv, "Maven", "com.guicedee.services:commons-text", "1.2.2.1-jre17") == "range"
    assert hit(adv, "Maven", "com.guicedee.services:commons-text", "1.2.2.2") is None


def test_open_ended_go() -> None:
    adv = advisory("Go", "GO-2020-0040")  # introduced 0, never fixed
    assert (
        hit(adv, "Go", "github.com/shiyanhui/dht", "v0.0.0-20201219151056-5a20f3199263") == "range"
    )
    found = match_package([adv], "Go", "github.com/shiyanhui/dht", "v1.0.0")
    assert [m.records for m in found] == [("GO-2020-0040",)]
    assert found[0].ids == ("GHSA-p6fg-723f-hgpw", "GO-2020-0040", "CVE-2020-36562")
    assert found[0].fixed_versions == ()
    assert found[0].lowest_fix_above() is None


def test_withdrawn_is_skipped() -> None:
    adv = advisory("PyPI", "PYSEC-2021-125")  # ansible, withdrawn 2024-08-02
    assert adv["withdrawn"]
    assert affected_by(adv, "PyPI", "ansible", "2.9.0") is None
    unwithdrawn = {k: v for k, v in adv.items() if k != "withdrawn"}
    assert hit(unwithdrawn, "PyPI", "ansible", "2.9.0") == "range"


def test_pypi_names_are_pep503_normalized() -> None:
    adv = advisory("PyPI", "PYSEC-2020-341")  # listed as "jw.util"
    version = adv["affected"][0]["versions"][0]
    for spelling in ("jw.util", "jw-util", "JW_Util", "jw__util"):
        assert hit(adv, "PyPI", spelling, version) is not None, spelling
    assert normalize_name("PyPI", "Zope.Interface") == "zope-interface"
    assert normalize_name("npm", "Left-Pad") == "Left-Pad"


def test_unparseable_version_matches_only_through_enumeration() -> None:
    adv = advisory("PyPI", "PYSEC-2008-8")  # paramiko < 1.7.2; lists "0.9-doduo"
    assert not is_orderable("PyPI", "0.9-doduo")
    found = affected_by(adv, "PyPI", "paramiko", "0.9-doduo")
    assert found is not None and found.via == "versions"
    assert "not a valid PEP 440 version" in found.notes[0]
    assert affected_by(adv, "PyPI", "paramiko", "0.9-notlisted") is None


def package_advisories(zip_name: str, name: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(OSV_DIR / f"{zip_name}-all.zip") as zf:
        every = [json.loads(zf.read(n)) for n in zf.namelist()]
    return [a for a in every if any(e["package"]["name"] == name for e in a["affected"])]


def named_versions(advisories: list[dict[str, Any]], name: str) -> set[str]:
    """Every version the advisories mention for the package, in ranges or enumerations."""
    out: set[str] = set()
    for adv in advisories:
        for entry in adv["affected"]:
            if entry["package"]["name"] == name:
                out.update(entry.get("versions", ()))
                for rng in entry.get("ranges", ()):
                    if rng["type"] != "GIT":
                        out.update(v for event in rng["events"] for v in event.values())
    return out


@pytest.mark.parametrize(
    ("name", "records", "named", "affected", "matches"),
    [("tensorflow", 242, 127, 123, 17985), ("django", 116, 367, 360, 4455)],
)
def test_package_index_agrees_with_each_advisory_alone(
    name: str, records: int, named: int, affected: int, matches: int
) -> None:
    # match_package compiles all of a package's advisories into one index (shared
    # version boundaries, overlapping ranges); affected_by evaluates one advisory.
    advisories = package_advisories("PyPI", name)
    versions = sorted(named_versions(advisories, name))
    assert (len(advisories), len(versions)) == (records, named)
    hits = []
    for version in versions:
        together = [(m.records[0], m.via) for m in match_package(advisories, "PyPI", name, version)]
        alone = []
        for adv in advisories:
            found = affected_by(adv, "PyPI", name, version)
            if found is not None:
                alone.append((found.advisory_id, found.via))
        assert together == sorted(alone, key=lambda r: id_rank(r[0])), version
        hits.append(len(together))
    assert (sum(1 for h in hits if h), sum(hits)) == (affected, matches)


def test_two_orderings_in_one_package() -> None:
    # No PyPI record uses a SEMVER range; a copy of a real one does, so the package
    # has a PEP 440 table and a SemVer one.
    ecosystem = advisory("PyPI", "PYSEC-2018-19")  # paramiko < 1.17.6, and later branches
    semver = copy.deepcopy(advisory("PyPI", "PYSEC-2008-8"))  # < 1.7.2, lists "1.7"
    semver["id"] = "TEST-SEMVER-1"
    semver["affected"][0]["ranges"][0]["type"] = "SEMVER"
    both = [semver, ecosystem]

    def found(version: str) -> list[tuple[str, str, tuple[str, ...]]]:
        return [
            (m.records[0], m.via, m.notes) for m in match_package(both, "PyPI", "paramiko", version)
        ]

    assert found("1.7.1") == [("PYSEC-2018-19", "range", ()), ("TEST-SEMVER-1", "range", ())]
    assert found("1.7.2") == [("PYSEC-2018-19", "range", ())]
    assert found("1.18.5") == []
    # "1.7" is PEP 440 but not SemVer: the SEMVER range cannot place it, the enumeration can.
    assert found("1.7") == [
        ("PYSEC-2018-19", "range", ()),
        (
            "TEST-SEMVER-1",
            "versions",
            ("version '1.7' is not a valid SemVer version: matched through the advisory's "
             "enumerated versions only",),
        ),
    ]  # fmt: skip


def test_unparsed_note_names_only_the_advisorys_own_orderings() -> None:
    listed = advisory("PyPI", "PYSEC-2023-61")  # django 3.2 <= v < 3.2.19, lists "3.2a1"
    semver = copy.deepcopy(listed)
    semver["id"] = "TEST-SEMVER-2"
    semver["affected"][0]["ranges"] = [
        {"type": "SEMVER", "events": [{"introduced": "3.2.0"}, {"fixed": "3.2.19"}]}
    ]
    matches = match_package([semver, listed], "PyPI", "django", "3.2a1")
    assert [(m.records[0], m.via) for m in matches] == [
        ("PYSEC-2023-61", "versions"),
        ("TEST-SEMVER-2", "versions"),
    ]
    # PYSEC-2023-61's own range parsed "3.2a1" fine (it lies below `introduced`).
    assert matches[0].notes == ()
    assert matches[1].notes == (
        "version '3.2a1' is not a valid SemVer version: "
        "matched through the advisory's enumerated versions only",
    )


def test_unevaluated_range_is_reported() -> None:
    adv = advisory("PyPI", "PYSEC-2021-371")  # binderhub, fixed "0.2.0-n653", no enumeration
    note = (
        "PYSEC-2021-371: a ECOSYSTEM range was not evaluated ('0.2.0-n653' is not a valid "
        "PEP 440 version); only its enumerated versions are matched"
    )
    assert unevaluated_ranges([adv], "PyPI", "BinderHub") == (("PYSEC-2021-371", note),)
    assert match_package([adv], "PyPI", "binderhub", "0.1.0") == []
    listing = copy.deepcopy(adv)
    listing["affected"][0]["versions"] = ["0.1.0"]
    [found] = match_package([listing], "PyPI", "binderhub", "0.1.0")
    assert (found.via, found.notes) == ("versions", (note,))
    withdrawn = {**adv, "withdrawn": "2024-01-01T00:00:00Z"}
    assert unevaluated_ranges([withdrawn], "PyPI", "binderhub") == ()


def test_a_list_changed_in_place_is_reindexed() -> None:
    # Indexes are cached by the identity of the list and its advisories.
    old, new = advisory("PyPI", "PYSEC-2008-8"), advisory("PyPI", "PYSEC-2018-19")
    advisories = [old]
    assert [m.records for m in match_package(advisories, "PyPI", "paramiko", "1.7.1")] == [
        ("PYSEC-2008-8",)
    ]
    advisories.append(new)
    assert [m.records for m in match_package(advisories, "PyPI", "paramiko", "1.7.1")] == [
        ("PYSEC-2008-8",),
        ("PYSEC-2018-19",),
    ]
    advisories.remove(old)
    assert [m.records for m in match_package(advisories, "PyPI", "paramiko", "1.7.1")] == [
        ("PYSEC-2018-19",)
    ]
    # The same list asked about another spelling of the name answers the same.
    assert [m.name for m in match_package(advisories, "PyPI", "Paramiko", "1.7.1")] == ["Paramiko"]


def test_other_ecosystem_entries_are_ignored() -> None:
    # A GHSA record in the Maven zip that is about a PyPI package.
    adv = advisory("Maven", "GHSA-77rm-9x9h-xj3g")  # protobuf < 3.15.0
    assert hit(adv, "PyPI", "protobuf", "3.14.0") == "range"
    assert hit(adv, "npm", "protobuf", "3.14.0") is None
    assert hit(adv, "PyPI", "protobuf", "3.15.0") is None


def test_limit_events() -> None:
    # No record in the data uses `limit`; add one to a real range.
    adv = copy.deepcopy(advisory("Go", "GO-2020-0040"))
    events = adv["affected"][0]["ranges"][0]["events"]
    events.append({"limit": "1.5.0"})
    assert hit(adv, "Go", "github.com/shiyanhui/dht", "v1.4.9") == "range"
    assert hit(adv, "Go", "github.com/shiyanhui/dht", "v1.5.0") is None
    assert hit(adv, "Go", "github.com/shiyanhui/dht", "v9.0.0") is None
    # Advisories are read-only to the matcher (it caches their compiled form): copy to change.
    adv = copy.deepcopy(adv)
    adv["affected"][0]["ranges"][0]["events"].append({"limit": "*"})
    assert hit(adv, "Go", "github.com/shiyanhui/dht", "v9.0.0") == "range"


def test_merge_pysec_and_ghsa() -> None:
    pysec = advisory("PyPI", "PYSEC-2022-48")
    ghsa = advisory("Maven", "GHSA-77rm-9x9h-xj3g")
    matches = match_package([pysec, ghsa], "PyPI", "protobuf", "3.14.0")
    assert [m.records for m in matches] == [("GHSA-77rm-9x9h-xj3g",), ("PYSEC-2022-48",)]
    merged = merge_aliases(matches)
    assert len(merged) == 1
    m = merged[0]
    assert m.ids == ("GHSA-77rm-9x9h-xj3g", "PYSEC-2022-48", "CVE-2021-22570")
    assert m.primary_id == "GHSA-77rm-9x9h-xj3g"
    assert set(m.records) == {"GHSA-77rm-9x9h-xj3g", "PYSEC-2022-48"}
    assert m.severity == Severity.HIGH
    assert m.severity_source == "CVSS_V3"
    assert m.cvss_score == 7.5
    assert m.cvss_vector is not None and m.cvss_vector.startswith("CVSS:3.1/")
    assert m.cwes == ("CWE-476",)
    assert m.fixed_versions == ("3.15.0",)
    assert m.lowest_fix_above() == "3.15.0"
    assert m.help_url == "https://osv.dev/vulnerability/GHSA-77rm-9x9h-xj3g"
    # Order of input does not change the result.
    assert merge_aliases(list(reversed(matches))) == merged


def test_merge_debian_advisories_sharing_a_cve() -> None:
    # DSA-5139-1 and DSA-5169-1 (openssl, Debian 10) are separate fixes; DSA-5169-1
    # does not mention DSA-5139-1's CVE, so they stay apart.
    first = advisory("Debian", "DSA-5139-1")
    second = advisory("Debian", "DSA-5169-1")
    matches = match_package([first, second], "Debian:10", "openssl", "1.1.1n-0+deb10u1")
    assert [m.records[0] for m in matches] == ["DSA-5139-1", "DSA-5169-1"]
    assert len(merge_aliases(matches)) == 2
    # A copy that shares a CVE merges, and the advice must fix both.
    linked = copy.deepcopy(second)
    linked["id"] = "DSA-9999-1"
    linked["upstream"] = list(first["upstream"])
    merged = merge_aliases(
        match_package([first, linked], "Debian:10", "openssl", "1.1.1n-0+deb10u1")
    )
    assert len(merged) == 1
    assert merged[0].ids[:2] == ("DSA-5139-1", "DSA-9999-1")
    assert merged[0].lowest_fix_above() == "1.1.1n-0+deb10u3"
    assert merged[0].fixed_versions == ("1.1.1n-0+deb10u2", "1.1.1n-0+deb10u3")


def test_lowest_fix_above_picks_the_branch() -> None:
    adv = advisory("Go", "GO-2023-1987")  # stdlib: fixed 1.19.12, 1.20.7, 1.21.0-rc.4
    found = match_package([adv], "Go", "stdlib", "go1.20.3")
    assert found[0].lowest_fix_above() == "1.20.7"
    assert found[0].lowest_fix_above("go1.19.1") == "1.19.12"
    assert found[0].fixed_versions == ("1.19.12", "1.20.7", "1.21.0-rc.4")


def test_id_rank_order() -> None:
    ids = ["CVE-2021-1", "PYSEC-2021-1", "GHSA-aaaa-bbbb-cccc", "DSA-1-1", "XYZ-1"]
    assert sorted(ids, key=id_rank) == [
        "GHSA-aaaa-bbbb-cccc", "PYSEC-2021-1", "DSA-1-1", "CVE-2021-1", "XYZ-1",
    ]  # fmt: skip


# --- severity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [(10.0, Severity.CRITICAL), (9.0, Severity.CRITICAL), (8.9, Severity.HIGH),
     (7.0, Severity.HIGH), (6.9, Severity.MEDIUM), (4.0, Severity.MEDIUM),
     (3.9, Severity.LOW), (0.1, Severity.LOW), (0.0, Severity.INFO)],
)  # fmt: skip
def test_qualitative_scale(score: float, expected: Severity) -> None:
    assert score_to_severity(score) == expected


def test_severity_sources_on_real_records() -> None:
    cvss = advisory_severity(advisory("Maven", "GHSA-77rm-9x9h-xj3g"))
    assert (cvss.severity, cvss.source, cvss.score) == (Severity.HIGH, "CVSS_V3", 7.5)
    assert cvss.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"

    go = advisory_severity(advisory("Go", "GO-2020-0040"))  # Go rates nothing
    assert (go.severity, go.source, go.score) == (Severity.MEDIUM, "default", None)

    alma = advisory_severity(advisory("AlmaLinux", "ALSA-2019:0975"))  # "Important: ..."
    assert (alma.severity, alma.source) == (Severity.HIGH, "vendor")

    ghsa = advisory("Maven", "GHSA-77rm-9x9h-xj3g")
    word_only = {k: v for k, v in ghsa.items() if k != "severity"}
    assert advisory_severity(word_only).severity == Severity.HIGH  # database_specific HIGH
    assert advisory_severity(word_only).source == "database"

    broken = {**ghsa, "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]}
    assert advisory_severity(broken).source == "database"  # a bad vector is not trusted


def test_cvss_v4_is_scored() -> None:
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    info = advisory_severity({"id": "X", "severity": [{"type": "CVSS_V4", "score": vector}]})
    assert (info.severity, info.source, info.score) == (Severity.CRITICAL, "CVSS_V4", 9.3)
