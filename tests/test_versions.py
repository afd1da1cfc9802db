"""Version orderings against each ecosystem's reference implementation.

Every version string the shared OSV dumps mention for an ecosystem (enumerated
`versions` and range events) is sorted with our ordering; every neighbouring
pair in that order plus a seeded random sample of pairs is then compared by the
reference tool in ONE batch process, and every answer must agree.

Reference tools (the tests skip, saying why, when one is absent):
  dpkg      perl Dpkg::Version (libdpkg-perl, part of dpkg)
  RPM       rpm's own vercmp through `rpm --eval` lua      apt-get install -y rpm
  SemVer    node's `semver` package      npm install --prefix ~/.cache/pipeline-guard-tests semver@7
  Go        golang.org/x/mod/semver      apt-get install -y golang-go golang-golang-x-mod-dev
  Maven     ComparableVersion in /usr/share/maven/lib/maven-artifact-3.x.jar (apt: maven)
  RubyGems  Gem::Version                 apt-get install -y ruby
  Composer  composer/semver + php        apt-get install -y php-cli php-composer-semver
  apk       not packaged for Debian: apk-tools' published test vectors, plus a direct
            port of apk's token-by-token compare to check the key encoding
  NuGet     no .NET here: NuGet.Client's comparer test cases
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_guard.vulndb.versions import (
    InvalidVersion,
    UnknownEcosystem,
    VersionOrdering,
    apk,
    golang,
    ordering_for,
    semver,
    semver_ordering_for,
)

SHARED = Path(
    os.environ.get("PIPELINE_GUARD_SHARED", Path(__file__).resolve().parents[2] / "shared")
)
OSV_DIR = SHARED / "data" / "osv"
NODE_MODULES = Path(
    os.environ.get(
        "PG_NODE_MODULES", Path.home() / ".cache" / "pipeline-guard-tests" / "node_modules"
    )
)
MAVEN_JAR = Path("/usr/share/maven/lib/maven-artifact-3.x.jar")
COMPOSER_SEMVER = Path("/usr/share/php/Composer/Semver/autoload.php")
GO_X_MOD = Path("/usr/share/gocode/src/golang.org/x/mod/semver")
RANDOM_PAIRS = 4000

Pair = tuple[str, str]


def iter_advisories() -> Iterator[dict[str, Any]]:
    for zip_path in sorted(OSV_DIR.glob("*-all.zip")):
        with zipfile.ZipFile(zip_path) as zf:
            for name in zf.namelist():
                yield json.loads(zf.read(name))


@functools.cache
def versions_by_ecosystem() -> dict[str, frozenset[str]]:
    """Every version string each base ecosystem's entries mention, across all zips."""
    found: dict[str, set[str]] = {}
    for adv in iter_advisories():
        for entry in adv.get("affected", []):
            eco = entry["package"]["ecosystem"].split(":", 1)[0]
            bucket = found.setdefault(eco, set())
            bucket.update(entry.get("versions", []))
            for rng in entry.get("ranges", []):
                if rng["type"] == "GIT":
                    continue
                for event in rng["events"]:
                    bucket.update(v for v in event.values() if v != "0")
    return {eco: frozenset(vs) for eco, vs in found.items()}


def parseable(ordering: VersionOrdering, versions: frozenset[str]) -> list[str]:
    out = []
    for v in versions:
        try:
            ordering.key(v)
        except InvalidVersion:
            continue
        out.append(v)
    return out


def sample_pairs(ordering: VersionOrdering, versions: list[str], seed: str) -> list[Pair]:
    """Neighbours in our sort order (the comparisons that matter) plus random pairs."""
    ordered = sorted(versions, key=ordering.key)
    pairs = list(itertools.pairwise(ordered))
    rng = random.Random(seed)
    pairs += [(rng.choice(ordered), rng.choice(ordered)) for _ in range(RANDOM_PAIRS)]
    pairs += [(v, v) for v in rng.sample(ordered, min(50, len(ordered)))]
    return pairs


def assert_agrees(
    ordering: VersionOrdering, pairs: list[Pair], reference: Callable[[list[Pair]], list[int]]
) -> None:
    expected = reference(pairs)
    assert len(expected) == len(pairs)
    wrong = [
        (a, b, ours, theirs)
        for (a, b), theirs in zip(pairs, expected, strict=True)
        if (ours := ordering.compare(a, b)) != theirs
    ]
    assert not wrong, f"{len(wrong)} of {len(pairs)} disagree, e.g. {wrong[:10]}"


def run_batch(argv: list[str], stdin: str = "", timeout: float = 300) -> list[str]:
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()


def tsv(pairs: list[Pair]) -> str:
    return "".join(f"{a}\t{b}\n" for a, b in pairs)


def need(path_or_tool: str | Path, why: str) -> None:
    present = (
        Path(path_or_tool).exists()
        if isinstance(path_or_tool, Path)
        else bool(shutil.which(path_or_tool))
    )
    if not present:
        pytest.skip(f"reference not installed: {path_or_tool} ({why})")


def test_data_is_large_enough() -> None:
    by_eco = versions_by_ecosystem()
    for eco in ("PyPI", "Debian", "AlmaLinux", "Alpine", "Go", "Maven"):
        assert len(by_eco[eco]) >= 1000, eco
    semver_strings = by_eco["npm"] | by_eco["crates.io"]
    assert len(semver_strings) >= 750


# --- dpkg -----------------------------------------------------------------------------------

DPKG_SCRIPT = r"""
use Dpkg::Version;
while (my $line = <STDIN>) {
    chomp $line;
    my ($a, $b) = split /\t/, $line;
    print version_compare($a, $b), "\n";
}
"""


def dpkg_reference(pairs: list[Pair]) -> list[int]:
    return [int(x) for x in run_batch(["perl", "-e", DPKG_SCRIPT], tsv(pairs))]


def test_dpkg_matches_dpkg() -> None:
    need("perl", "Dpkg::Version ships with dpkg")
    ordering = ordering_for("Debian:11")
    versions = parseable(ordering, versions_by_ecosystem()["Debian"])
    assert len(versions) >= 10_000
    assert_agrees(ordering, sample_pairs(ordering, versions, "dpkg"), dpkg_reference)


def test_dpkg_edge_cases() -> None:
    pairs = [
        ("1.0~rc1", "1.0"), ("1.0", "1.0-0"), ("1:0.9", "2.0"), ("1.0a", "1.0+"),
        ("1.0~~", "1.0~"), ("2.30-1+deb11u1", "2.30-1"), ("0", "00"),
        ("1.2.3-1ubuntu0.1", "1.2.3-1"), ("1.0.0", "1.0"), ("7.4.052-1", "7.4.52-1"),
    ]  # fmt: skip
    need("perl", "Dpkg::Version ships with dpkg")
    assert_agrees(ordering_for("Debian"), pairs, dpkg_reference)
    with pytest.raises(InvalidVersion):
        ordering_for("Debian").key("kernel-image-2.4.17-ia64")


# --- RPM ------------------------------------------------------------------------------------


def rpm_reference(pairs: list[Pair], tmp_path: Path) -> list[int]:
    data = tmp_path / "pairs.tsv"
    data.write_text(tsv(pairs))
    lua = (
        "%{lua: for line in io.lines('" + str(data) + "') do "
        "local a, b = line:match('^(.-)\\t(.*)$') io.write(rpm.vercmp(a, b), '\\n') end}"
    )
    return [int(x) for x in run_batch(["rpm", "--eval", lua]) if x.strip()]


def test_rpm_matches_rpm(tmp_path: Path) -> None:
    need("rpm", "apt-get install -y rpm")
    ordering = ordering_for("AlmaLinux:9")
    versions = parseable(ordering, versions_by_ecosystem()["AlmaLinux"])
    assert len(versions) >= 9000
    pairs = sample_pairs(ordering, versions, "rpm")
    assert_agrees(ordering, pairs, lambda p: rpm_reference(p, tmp_path))


def test_rpm_edge_cases(tmp_path: Path) -> None:
    need("rpm", "apt-get install -y rpm")
    pairs = [
        ("1.0~rc1-1", "1.0-1"), ("1.0^git1-1", "1.0-1"), ("1.0^git1-1", "1.0.1-1"),
        ("1:1.0-1", "2.0-1"), ("1.0a-1", "1.0-1"), ("1.0-1.el8", "1.0-1.el8_5"),
        ("2.9-1", "2.10-1"), ("1.001-1", "1.1-1"), ("1.0-1.el8.alma", "1.0-1.el8"),
        ("1.0", "1.0-1"), ("a-1", "1-1"), ("1.0.z-1", "1.0.1-1"),
    ]  # fmt: skip
    assert_agrees(ordering_for("Rocky Linux:9"), pairs, lambda p: rpm_reference(p, tmp_path))


# --- SemVer (npm, crates.io, SEMVER ranges) -------------------------------------------------

NODE_SCRIPT = r"""
const semver = require(process.argv[1]);
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
const out = lines.map(l => { const [a, b] = l.split('\t'); return semver.compare(a, b); });
console.log(out.join('\n'));
"""


def node_reference(pairs: list[Pair]) -> list[int]:
    script = ["node", "-e", NODE_SCRIPT, str(NODE_MODULES / "semver")]
    return [int(x) for x in run_batch(script, tsv(pairs))]


def test_semver_matches_node_semver() -> None:
    need("node", "node is needed to run the reference")
    need(NODE_MODULES / "semver", "npm install --prefix ~/.cache/pipeline-guard-tests semver@7")
    by_eco = versions_by_ecosystem()
    ordering = semver_ordering_for("npm")
    # npm and crates.io together have ~850 strings; the Go module versions are
    # SemVer too, which takes the sample well past 1,000.
    strings = by_eco["npm"] | by_eco["crates.io"] | by_eco["Go"]
    versions = parseable(ordering, strings)
    assert len(versions) >= 2500
    assert_agrees(ordering, sample_pairs(ordering, versions, "semver"), node_reference)


def test_semver_rejects_what_node_rejects() -> None:
    for bad in ("1.0", "01.0.0", "1.0.0-01", "1.0.0-", "a.b.c", ""):
        with pytest.raises(InvalidVersion):
            semver.key(bad)
    assert semver.key("v1.2.3+build.5") == semver.key("1.2.3")


# --- Go -------------------------------------------------------------------------------------

GO_PROGRAM = """package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		p := strings.SplitN(in.Text(), "\\t", 2)
		fmt.Fprintln(out, semver.Compare(p[0], p[1]))
	}
}
"""


def go_reference(pairs: list[Pair], tmp_path: Path) -> list[int]:
    src = tmp_path / "cmp.go"
    src.write_text(GO_PROGRAM)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": "/usr/share/gocode",
        "GOCACHE": str(tmp_path / "gocache"),
        "GOFLAGS": "",
    }
    exe = tmp_path / "cmp"
    build = subprocess.run(
        ["go", "build", "-o", str(exe), str(src)], env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    # x/mod/semver needs the "v" prefix.
    return [int(x) for x in run_batch([str(exe)], tsv([("v" + a, "v" + b) for a, b in pairs]))]


def test_go_matches_x_mod_semver(tmp_path: Path) -> None:
    need("go", "apt-get install -y golang-go")
    need(GO_X_MOD, "apt-get install -y golang-golang-x-mod-dev")
    ordering = ordering_for("Go")
    versions = parseable(ordering, versions_by_ecosystem()["Go"])
    assert len(versions) >= 2000
    pairs = sample_pairs(ordering, versions, "go")
    pairs += [("1.2", "1.2.0"), ("1", "1.0.0"), ("1.0.0+incompatible", "1.0.0")]
    assert_agrees(ordering, pairs, lambda p: go_reference(p, tmp_path))


def test_go_prefixes_and_toolchain_names() -> None:
    go = ordering_for("Go")
    assert go.compare("v1.2.3", "1.2.3") == 0
    assert go.compare("v2.0.0+incompatible", "2.0.0") == 0
    assert go.compare("v0.0.0-20210101000000-abcdef123456", "0.0.1") == -1
    assert go.compare("go1.21rc2", "1.21.0") == -1
    assert go.compare("go1.21.0", "1.21.0") == 0
    assert go.compare("go1.20", "1.20.0") == 0
    assert golang.toolchain_semver("go1.9beta1") == "1.9.0-beta.1"
    with pytest.raises(InvalidVersion):
        go.key("gopher")


# --- Maven ----------------------------------------------------------------------------------


def maven_reference(pairs: list[Pair]) -> list[int]:
    """ComparableVersion's main() compares each argument with the one before it."""
    args = [v for pair in pairs for v in pair]
    lines = run_batch(
        ["java", "-cp", str(MAVEN_JAR), "org.apache.maven.artifact.versioning.ComparableVersion",
         *args]
    )  # fmt: skip
    # Result lines look like "   1.0 < 1.0.1"; the one after argument 2k-1 compares the pair.
    results = [line.strip() for line in lines if line.startswith("   ")]
    out = []
    for (a, b), line in zip(pairs, results[0::2], strict=False):
        op = line[len(a) + 1 : len(line) - len(b) - 1]
        out.append({"<": -1, "==": 0, ">": 1}[op])
    return out


def test_maven_matches_comparable_version() -> None:
    need("java", "apt-get install -y default-jre-headless")
    need(MAVEN_JAR, "apt-get install -y maven")
    ordering = ordering_for("Maven")
    versions = parseable(ordering, versions_by_ecosystem()["Maven"])
    assert len(versions) >= 4000
    pairs = sample_pairs(ordering, versions, "maven")
    pairs += [
        ("1.0.0.x1", "1.0.0-x2"), ("1-ga", "1"), ("1.0-SNAPSHOT", "1.0"), ("1.0.sp1", "1.0"),
        ("1.0-alpha1", "1.0-a1"), ("1.0-cr1", "1.0-rc1"), ("2.0.RELEASE", "2.0"),
        ("1.0-final", "1.0"), ("1-1.foo-bar1baz-.1", "1-1.foo-bar-1-baz-0.1"),
        ("1.0.0-M1", "1.0.0-milestone-1"), ("1.0-xyz", "1.0-abc"), ("1.0-sp", "1.0"),
    ]  # fmt: skip
    assert_agrees(ordering, pairs, maven_reference)


# --- RubyGems -------------------------------------------------------------------------------

RUBY_SCRIPT = r"""
$stdin.each_line do |line|
  a, b = line.chomp.split("\t", 2)
  puts Gem::Version.new(a) <=> Gem::Version.new(b)
end
"""


def ruby_reference(pairs: list[Pair]) -> list[int]:
    return [int(x) for x in run_batch(["ruby", "-e", RUBY_SCRIPT], tsv(pairs))]


def test_rubygems_matches_gem_version() -> None:
    need("ruby", "apt-get install -y ruby")
    ordering = ordering_for("RubyGems")
    versions = parseable(ordering, versions_by_ecosystem()["RubyGems"])
    assert len(versions) >= 300  # the GHSA subset holds only four gems
    pairs = sample_pairs(ordering, versions, "rubygems")
    pairs += [
        ("1.0.a", "1"), ("1.0.0", "1"), ("1.a.0.1", "1.a"), ("1.a.0.b", "1.a"),
        ("1.0.0.a.0.0.1", "1.a.1"), ("1-1", "1.pre.1"), ("1.0.RC1", "1.0.rc1"),
        ("2.0.0.beta", "2.0.0.alpha"), ("0.0.0.0.1", "0.0.0.0.0.a"), ("1.8.2", "1.8.10"),
    ]  # fmt: skip
    assert_agrees(ordering, pairs, ruby_reference)


# --- Composer -------------------------------------------------------------------------------

PHP_SCRIPT = r"""
require '/usr/share/php/Composer/Semver/autoload.php';
$p = new Composer\Semver\VersionParser();
while (($line = fgets(STDIN)) !== false) {
    [$a, $b] = explode("\t", rtrim($line, "\n"), 2);
    echo version_compare($p->normalize($a), $p->normalize($b)), "\n";
}
"""


def php_reference(pairs: list[Pair]) -> list[int]:
    return [int(x) for x in run_batch(["php", "-r", PHP_SCRIPT], tsv(pairs))]


def test_packagist_matches_composer() -> None:
    need("php", "apt-get install -y php-cli")
    need(COMPOSER_SEMVER, "apt-get install -y php-composer-semver")
    ordering = ordering_for("Packagist")
    versions = parseable(ordering, versions_by_ecosystem()["Packagist"])
    assert len(versions) >= 150  # the GHSA subset holds four Composer packages
    pairs = sample_pairs(ordering, versions, "composer")
    pairs += [
        ("v1.2", "1.2.0"), ("1.0.0-beta2", "1.0.0-beta10"), ("1.0.0-RC1", "1.0.0-rc.1"),
        ("1.0.0-alpha", "1.0.0-beta"), ("1.0.0", "1.0.0-p1"), ("1.0.0-patch2", "1.0.0-pl1"),
        ("1.0.0-dev", "1.0.0-alpha"), ("2.0.0.0", "2.0"), ("1.0.0+build", "1.0.0"),
        ("2010-01-02", "2010.01.03"), ("1.0-stable", "1.0"), ("1.0.0-b1", "1.0.0-beta1"),
    ]  # fmt: skip
    assert_agrees(ordering, pairs, php_reference)
    with pytest.raises(InvalidVersion):
        ordering.key("dev-main")


# --- apk ------------------------------------------------------------------------------------

# From apk-tools test/version.data (the cases valid under the current tokenizer,
# plus its "~hash" and leading-zero cases).
APK_VECTORS = """
2.34 > 0.1.0_alpha
23_foo > 4_beta
1.0 < 1.0bc
0.1.0_alpha = 0.1.0_alpha
0.1.0_alpha2 > 0.1.0_alpha
0.1.0_alpha < 2.2.39-r1
1.0.4-r3 < 1.0.4-r4
1.1 > 1.1_alpha1
1.2.1 > 1.2
1.2 < 1.3_alpha
1.3_alpha2 < 1.3_alpha3
0.7.0 < 0.8_beta1
3.10.18-r1 > 2.3.0b-r1
2.3.0b-r1 < 2.3.0b-r2
0.12.3 > 0.12
0.12 < 0.13_beta1
1.2.11 < 1.2.12.1
2.1.15-r3 > 1.2.11
0.2.0-r1 < 3.1_p16
3.1_p16 < 3.1_p17
1.06-r6 < 006
006 > 1.0.0
1.2.2-r1 > 1.2.2
20050718-r2 > 3.9.8-r5
3.9.8-r5 > 2.01.01_alpha10
1.0 > 0.99.3.20040818
1.39 > 1.00_beta2
4.2.52_p2-r1 < 4.2.52_p4-r2
4.2.52_p4-r2 > 1.02.07
1.02.07 < 1.02.10-r1
2.18.3-r10 > 1.05-r18
20060720 > 3.0.20060720
2.5.1-r8 < 2.5.1a-r1
1.3.5-r10 > 1.3.5-r8
20040401 > 2.0.0_rc3-r1
3.0.0-r2 < 021109-r3
0.9.16-r1 < 3.9_pre20060124
3.9_pre20060124 > 0.01
6b-r7 > 1.12-r7
0.10.0-r1 > 0.10.0
0.10.0 < 0.10.1_rc1
1.1a < 1.3a
0.15.1b-r2 > 0.15.1b
22.7.3-r1 > 22.7
2.10.1 > 02.08.01b
8.1.2.20050715-r1 < 20030215
1.6d > 1.2.07.8
1.2.07.8 < 1.2.12.04
1.07-r1 < 1.07.5
1.07.5 > 1.07
0.59s-r11 < 0.65
4.20 > 0.20070118
0.20070118 < 0.20070207_rc1
3.7_p1 > 1.3
4.5_p1 < 4.5_p1-r1
0.9.8c-r1 < 0.9.8d
1.8.5 < 1.8.5_p2
2.9.11_pre20051101-r3 > 2.9.11_pre20051101
1.6.8_p12-r1 > 1.6.8_p9-r2
0.9.28-r2 < 0.9.28.1
087-r1 < 103
7.0.17 < 7.0.174
1.3-r0 < 1.3.1-r0
1.3_pre1-r1 < 1.3.2
1.0_p10-r0 > 1.0_p9-r0
0.1.0_alpha_pre2 < 0.1.0_alpha
1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0
"""


def test_apk_matches_published_vectors() -> None:
    ordering = ordering_for("Alpine:v3.18")
    cases = [line.split() for line in APK_VECTORS.strip().splitlines()]
    wrong = [
        (a, op, b) for a, op, b in cases if ordering.compare(a, b) != {"<": -1, "=": 0, ">": 1}[op]
    ]
    assert not wrong
    assert len(cases) >= 65


def test_apk_commit_hash_and_bad_tails() -> None:
    ordering = ordering_for("Alpine")
    # At the first differing token type the later type in the grammar sorts lower:
    # the end of a version is later than a "~hash".
    assert ordering.compare("1.0~abc123", "1.0") == 1
    assert ordering.compare("1.0~abc123", "1.0-r1") == 1
    assert ordering.compare("1.0~abc123-r1", "1.0~abc123-r0") == 1
    # Alpine secdb fix versions that break the grammar still order as apk orders them.
    assert ordering.compare("1.18.-r2", "1.18") == -1
    assert ordering.compare("0.12.5.-r0", "0.12.4-r9") == 1
    with pytest.raises(InvalidVersion):
        ordering.key("r1.0")


def _apk_direct_compare(a: str, b: str) -> int:
    """apk_version_compare ported as a token walk, independent of the key encoding."""
    ta, tb = apk.key(a), apk.key(b)
    for x, y in zip(ta, tb, strict=False):
        if x[0] != y[0]:
            return -1 if x[0] < y[0] else 1
        if x[1] != y[1]:
            return -1 if x[1] < y[1] else 1  # type: ignore[operator]
        if x[0] in (-7, -8):  # both at the end, or both at an invalid token
            return 0
    return 0


def test_apk_key_is_a_total_order_on_alpine_versions() -> None:
    ordering = ordering_for("Alpine")
    versions = parseable(ordering, versions_by_ecosystem()["Alpine"])
    assert len(versions) >= 1400
    pairs = sample_pairs(ordering, versions, "apk")
    assert_agrees(ordering, pairs, lambda ps: [_apk_direct_compare(a, b) for a, b in ps])
    ordered = sorted(versions, key=ordering.key)
    # Transitivity spot check: sorting is stable under re-sorting a shuffled copy.
    shuffled = ordered[:]
    random.Random(1).shuffle(shuffled)
    assert [ordering.key(v) for v in sorted(shuffled, key=ordering.key)] == [
        ordering.key(v) for v in ordered
    ]


# --- NuGet ----------------------------------------------------------------------------------

# From NuGet.Client test/NuGet.Core.Tests/NuGet.Versioning.Test/VersionComparerTests.cs.
NUGET_VECTORS = [
    ("1.0.0", "=", "1.0.0"), ("1.0.0-BETA", "=", "1.0.0-beta"),
    ("1.0.0-BETA+AA", "=", "1.0.0-beta+aa"),
    ("1.0.0-BETA.X.y.5.77.0+AA", "=", "1.0.0-beta.x.y.5.77.0+aa"),
    ("1.0.0", "=", "1.0.0+beta"), ("1.0", "=", "1.0.0.0"), ("1.0+test", "=", "1.0.0.0"),
    ("1.0.0.1-1.2.A", "=", "1.0.0.1-1.2.a+A"), ("1.0.01", "=", "1.0.1.0"),
    ("0.0.0", "<", "1.0.0"), ("1.0.0", "<", "1.1.0"), ("1.0.0", "<", "1.0.1"),
    ("1.999.9999", "<", "2.1.1"), ("1.0.0-BETA", "<", "1.0.0-beta2"),
    ("1.0.0-beta+AA", "<", "1.0.0+aa"), ("1.0.0-BETA", "<", "1.0.0-beta.1+AA"),
    ("1.0.0-BETA.X.y.5.77.0+AA", "<", "1.0.0-beta.x.y.5.79.0+aa"),
    ("1.0.0-BETA.X.y.5.79.0+AA", "<", "1.0.0-beta.x.y.5.790.0+abc"),
    ("1.0.0", "<", "1.0.0.1"), ("1.0.0.1-alpha", "<", "1.0.0.1-pre"),
    ("1.0.0-pre", "<", "1.0.0.1-alpha"), ("1.0.0", "<", "1.0.0.1-alpha"),
    ("0.9.9.1", "<", "1.0.0"), ("1.2.0", "<", "1.10.0"),
    ("1.0", "<", "1.0.0.1"), ("1.0.0.1-1.2.A", "<", "1.0.0.1-1.2.a.A+A"),
]  # fmt: skip


def test_nuget_matches_nuget_client_cases() -> None:
    ordering = ordering_for("NuGet")
    wrong = [
        (a, op, b)
        for a, op, b in NUGET_VECTORS
        if ordering.compare(a, b) != {"<": -1, "=": 0, ">": 1}[op]
    ]
    assert not wrong
    versions = parseable(ordering, versions_by_ecosystem()["NuGet"])
    assert len(versions) == len(versions_by_ecosystem()["NuGet"])  # every advisory version parses


# --- PyPI and dispatch ----------------------------------------------------------------------


def test_pep440_rejects_legacy_versions() -> None:
    ordering = ordering_for("PyPI")
    invalid = set(versions_by_ecosystem()["PyPI"]) - set(
        parseable(ordering, versions_by_ecosystem()["PyPI"])
    )
    # packaging 22+ has no LegacyVersion: these are left to the enumerated versions.
    assert {"0.1-bulbasaur", "0.3m1", "2.0.0-final"} <= invalid
    assert 50 <= len(invalid) <= 100
    assert ordering.compare("1.0rc1", "1.0") == -1
    assert ordering.compare("1.0.post1", "1.0") == 1
    assert ordering.compare("1.0", "1.0.0") == 0


def test_ordering_for_dispatch() -> None:
    assert ordering_for("Debian:12") is ordering_for("Ubuntu:22.04:LTS")
    assert ordering_for("Maven:https://maven.google.com").name == "Maven"
    assert ordering_for("AlmaLinux:8").name == "RPM"
    assert semver_ordering_for("Go").name == "Go"
    assert semver_ordering_for("crates.io").name == "SemVer"
    with pytest.raises(UnknownEcosystem):
        ordering_for("Nonexistent")
    assert isinstance(ordering_for("PyPI"), VersionOrdering)
