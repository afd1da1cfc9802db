"""Manifest and lockfile parsers on realistic fixtures: every package, version and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_guard.sources.base import Dependency, ManifestError, ParsedManifest
from pipeline_guard.sources.loader import collect, load, manifest_files
from pipeline_guard.sources.registry import source_for

FIXTURES = Path(__file__).parent / "fixtures" / "lockfiles"


def parse(directory: str, filename: str) -> ParsedManifest:
    source = source_for(filename)
    assert source is not None, filename
    return load(FIXTURES / directory, filename, source)


def parse_text(filename: str, text: str) -> ParsedManifest:
    source = source_for(filename)
    assert source is not None, filename
    return source.parse(filename, text)


def rows(manifest: ParsedManifest) -> list[tuple[str, str, int]]:
    return [(d.name, d.version, d.line) for d in manifest.dependencies]


def flags(dep: Dependency) -> str:
    out = {True: "direct", False: "transitive", None: "?"}[dep.direct]
    return out + (" dev" if dep.dev else "") + (" optional" if dep.optional else "")


def by_name(manifest: ParsedManifest) -> dict[tuple[str, str], Dependency]:
    return {(d.name, d.version): d for d in manifest.dependencies}


def not_checked(manifest: ParsedManifest) -> list[tuple[int, str, str]]:
    return [(n.line, n.text, n.reason) for n in manifest.not_checked]


def error_for(filename: str, text: str) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        parse_text(filename, text)
    assert info.value.path == filename
    return info.value


# --- which parser reads which file ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("requirements.txt", "requirements.txt"),
        ("requirements-dev.txt", "requirements.txt"),
        ("dev-requirements.txt", "requirements.txt"),
        ("requirements/prod.txt", "requirements.txt"),
        ("svc/Pipfile.lock", "Pipfile.lock"),
        ("poetry.lock", "poetry.lock"),
        ("uv.lock", "uv.lock"),
        ("pdm.lock", "pdm.lock"),
        ("web/package-lock.json", "package-lock.json"),
        ("npm-shrinkwrap.json", "package-lock.json"),
        ("yarn.lock", "yarn.lock"),
        ("pnpm-lock.yaml", "pnpm-lock.yaml"),
        ("go.mod", "go.mod"),
        ("go.sum", "go.sum"),
        ("Cargo.lock", "Cargo.lock"),
        ("Gemfile.lock", "Gemfile.lock"),
        ("composer.lock", "composer.lock"),
        ("gradle.lockfile", "gradle.lockfile"),
        ("gradle/dependency-locks/compileClasspath.lockfile", "gradle.lockfile"),
        ("pom.xml", "pom.xml"),
        ("src/App/packages.lock.json", "packages.lock.json"),
    ],
)
def test_registry_picks_the_parser_by_file_name(path: str, name: str) -> None:
    source = source_for(path)
    assert source is not None and source.name == name


@pytest.mark.parametrize("path", ["package.json", "notes.txt", "Pipfile", "pyproject.toml"])
def test_registry_ignores_other_files(path: str) -> None:
    assert source_for(path) is None


def test_go_sum_is_read_only_where_no_go_mod_sits_beside_it() -> None:
    files = ["svc/go.mod", "svc/go.sum", "tools/go.sum", "README.md"]
    assert [path for path, _ in manifest_files(files)] == ["svc/go.mod", "tools/go.sum"]


# --- requirements.txt -----------------------------------------------------------------------


def test_requirements_pins_includes_and_constraints() -> None:
    m = parse("requirements", "requirements.txt")
    assert rows(m) == [
        ("Django", "3.2.4", 7),  # a `\` continuation with --hash options: first line
        ("requests", "2.25.1", 10),  # extras and a trailing comment
        ("urllib3", "1.26.4", 11),  # ===
        ("PyYAML", "5.3.1", 12),  # an environment marker
        ("gunicorn", "20.0.4", 19),  # a per-requirement option
        ("Jinja2", "2.10.1", 2),  # from -r requirements/base.txt
        ("certifi", "2020.12.5", 3),
        ("six", "1.15.0", 1),  # from base.txt's own -r common.txt
        ("celery", "5.0.5", 2),  # unpinned here, pinned by -c constraints.txt
        ("flask", "1.1.2", 3),
    ]
    manifests = [d.manifest for d in m.dependencies]
    assert manifests == (
        ["requirements.txt"] * 5
        + ["requirements/base.txt"] * 2
        + ["requirements/common.txt"]
        + ["constraints.txt"] * 2
    )
    # redis is only constrained, never required: not a dependency
    assert "redis" not in {d.name for d in m.dependencies}
    assert not_checked(m) == [
        (14, "numpy==1.21.*", "unpinned"),
        (
            16,
            "-e git+https://github.com/example/internal-lib.git#egg=internal-lib",
            "editable install",
        ),
        (17, "mypkg @ https://files.example.com/mypkg-1.0.tar.gz", "URL or local path"),
        (18, "./vendor/localpkg", "URL or local path"),
    ]
    assert str(m.not_checked[0]) == "requirements.txt:14 numpy==1.21.*: not checked (unpinned)"


def test_requirements_include_cycle_is_followed_once() -> None:
    m = parse("requirements", "requirements/base.txt")
    assert rows(m) == [("Jinja2", "2.10.1", 2), ("certifi", "2020.12.5", 3), ("six", "1.15.0", 1)]
    assert m.notes == [
        "requirements/common.txt:3 includes requirements/base.txt, which includes it back: "
        "the cycle was not followed again"
    ]


def test_requirements_includes_outside_the_root_are_not_followed() -> None:
    m = parse("requirements", "requirements-outside.txt")
    assert rows(m) == [("idna", "2.10", 4)]
    assert not_checked(m) == [
        (1, "-r ../../../../../etc/passwd", "include outside the scan root not followed"),
        (2, "-r /etc/hosts", "include outside the scan root not followed"),
        (3, "-r https://example.com/requirements.txt", "remote include not followed"),
    ]


def test_requirements_include_through_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("leaked==1.0\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "link").symlink_to(outside)
    (root / "requirements.txt").write_text("-r link/secret.txt\nidna==2.10\n")
    m = load(root, "requirements.txt", source_for("requirements.txt"))  # type: ignore[arg-type]
    assert rows(m) == [("idna", "2.10", 2)]
    assert not_checked(m) == [(1, "link/secret.txt", "include outside the scan root")]


def test_requirements_missing_include_names_the_including_line() -> None:
    with pytest.raises(ManifestError) as info:
        parse("requirements", "requirements-missing.txt")
    assert (info.value.path, info.value.line) == ("requirements-missing.txt", 2)
    assert "does-not-exist.txt" in info.value.message


def test_requirements_malformed_line() -> None:
    with pytest.raises(ManifestError) as info:
        parse("requirements", "requirements-bad.txt")
    assert (info.value.path, info.value.line) == ("requirements-bad.txt", 2)
    assert info.value.message.startswith("invalid requirement 'flask=='")


def test_requirements_continuations_comments_and_options() -> None:
    text = (
        "# comment\n"
        "--extra-index-url https://example.com/simple\n"
        "flask==2.0.1 \\\n"
        "    --hash=sha256:abc\n"
        "\n"
        "  # indented comment \\\n"
        "Werkzeug == 2.0.0  # spaces around the operator\n"
        "-rother.txt\n"
        "--constraint=c.txt\n"
        "aiohttp[speedups]>=3.8 ; python_version<'3.12'\n"
        "pkg==${VERSION}\n"
    )
    m = parse_text("requirements.txt", text)
    assert rows(m) == [("flask", "2.0.1", 3), ("Werkzeug", "2.0.0", 7)]
    assert [(i.line, i.path, i.constraint) for i in m.includes] == [
        (8, "other.txt", False),
        (9, "c.txt", True),
    ]
    assert not_checked(m) == [
        (10, "aiohttp[speedups]>=3.8 ; python_version<'3.12'", "unpinned"),
        (11, "pkg==${VERSION}", "environment variable not expanded"),
    ]


# --- Python lockfiles -----------------------------------------------------------------------


def test_pipfile_lock() -> None:
    m = parse("pipenv", "Pipfile.lock")
    assert rows(m) == [
        ("click", "8.0.1", 19),
        ("flask", "2.0.1", 27),
        ("jinja2", "3.0.1", 35),
        ("pytest", "6.2.4", 50),
    ]
    assert [d.dev for d in m.dependencies] == [False, False, False, True]
    assert not_checked(m) == [(43, "internal-tools", "git source")]


def test_poetry_lock_2_0() -> None:
    m = parse("poetry", "poetry.lock")
    assert rows(m) == [
        ("certifi", "2021.5.30", 4),
        ("pyyaml", "5.3.1", 31),
        ("requests", "2.25.1", 41),
        ("urllib3", "1.26.5", 60),
    ]
    assert [d.optional for d in m.dependencies] == [False, True, False, False]
    assert not_checked(m) == [(15, "mylib", "local directory dependency")]


def test_poetry_lock_legacy_category() -> None:
    m = parse("poetry-legacy", "poetry.lock")
    assert rows(m) == [
        ("atomicwrites", "1.4.0", 2),
        ("django", "2.2.10", 10),
        ("pytz", "2019.3", 26),
    ]
    assert [d.dev for d in m.dependencies] == [True, False, False]


def test_poetry_2_groups() -> None:
    m = parse("poetry2", "poetry.lock")
    assert rows(m) == [
        ("black", "21.12b0", 4),
        ("jinja2", "2.11.2", 15),
        ("markupsafe", "2.0.1", 29),
        ("sphinx", "3.0.0", 40),  # a git source still has a released version
    ]
    assert [(d.dev, d.scope) for d in m.dependencies] == [
        (True, "dev"),
        (False, "main,docs"),
        (False, "main,docs"),
        (True, "docs"),
    ]


def test_uv_lock_graph_flags() -> None:
    m = parse("uv", "uv.lock")
    assert rows(m) == [
        ("certifi", "2024.8.30", 6),
        ("charset-normalizer", "3.3.2", 15),
        ("idna", "3.6", 51),
        ("iniconfig", "2.0.0", 57),
        ("pysocks", "1.7.1", 63),
        ("pytest", "8.0.0", 69),
        ("requests", "2.31.0", 79),
        ("urllib3", "2.0.6", 96),
    ]
    assert [flags(d) for d in m.dependencies] == [
        "transitive",
        "transitive",
        "transitive",
        "transitive dev",  # only pytest needs it
        "direct optional",  # the `socks` extra
        "direct dev",
        "direct",  # pytest needs it too, but so does production
        "transitive",
    ]
    # the project itself (editable) is not a dependency; a path dependency is not checked
    assert not_checked(m) == [(91, "shared-utils", "local directory dependency")]


def test_pdm_lock() -> None:
    m = parse("pdm", "pdm.lock")
    assert rows(m) == [
        ("aiohttp", "3.8.1", 14),
        ("aiosignal", "1.3.1", 28),
        ("attrs", "23.2.0", 38),
        ("flake8", "3.9.2", 48),
    ]
    assert [d.dev for d in m.dependencies] == [False, False, False, True]
    assert not_checked(m) == [(58, "localpkg", "local path dependency")]


# --- npm --------------------------------------------------------------------------------------


def test_package_lock_v1_nested_dependencies() -> None:
    m = parse("npm-v1", "package-lock.json")
    assert rows(m) == [
        ("accepts", "1.3.7", 7),
        ("body-parser", "1.19.0", 16),
        ("debug", "2.6.9", 25),  # nested under body-parser
        ("qs", "6.7.0", 33),
        ("debug", "4.3.1", 40),
        ("lodash", "4.17.15", 48),
        ("mocha", "8.2.1", 53),
        ("fsevents", "2.1.3", 59),
        ("ms", "2.1.2", 66),
        ("lodash", "4.17.4", 71),  # "old-lodash": "npm:lodash@4.17.4"
    ]
    deps = by_name(m)
    assert deps[("mocha", "8.2.1")].dev and not deps[("mocha", "8.2.1")].optional
    assert deps[("fsevents", "2.1.3")].dev and deps[("fsevents", "2.1.3")].optional
    assert {d.direct for d in m.dependencies} == {None}  # v1 does not say
    assert [(line, reason) for line, _, reason in not_checked(m)] == [
        (76, "not from a registry"),
        (79, "not from a registry"),
    ]


def test_package_lock_v2_uses_packages_not_the_v1_section() -> None:
    m = parse("npm-v2", "package-lock.json")
    assert rows(m) == [
        ("express", "4.17.1", 19),
        ("jest", "26.6.3", 30),
        ("minimist", "1.2.0", 39),  # node_modules/jest/node_modules/minimist
        ("minimist", "1.2.5", 45),
        ("qs", "6.7.0", 50),
    ]
    assert [flags(d) for d in m.dependencies] == [
        "direct",
        "direct dev",
        "transitive dev",
        "direct",
        "transitive",
    ]


def test_package_lock_v3_workspaces_aliases_links_and_git() -> None:
    m = parse("npm-v3", "package-lock.json")
    assert rows(m) == [
        ("@types/node", "20.11.5", 25),
        ("ansi-regex", "5.0.0", 34),
        ("fsevents", "2.3.3", 42),
        ("lodash", "4.17.20", 55),
        ("string-width", "4.2.3", 65),  # alias string-width-cjs -> the real name
        ("undici-types", "5.26.5", 77),
        ("lodash", "4.17.11", 91),  # packages/ui/node_modules/lodash
    ]
    assert [flags(d) for d in m.dependencies] == [
        "direct dev",
        "transitive",
        "transitive optional",
        "direct",
        "direct",
        "transitive dev",
        "direct",  # the workspace packages/ui asks for it
    ]
    # the workspace link and folder are the project's own code
    assert {d.name for d in m.dependencies}.isdisjoint({"@acme/ui", "monorepo"})
    assert not_checked(m) == [
        (
            60,
            "my-fork@git+ssh://git@github.com/acme/my-fork.git#0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c",
            "not from a registry",
        )
    ]


def test_package_lock_errors() -> None:
    assert error_for("package-lock.json", '{\n  "lockfileVersion": 7\n}').line == 2
    err = error_for("package-lock.json", '{\n  "lockfileVersion": 2,\n  "packages": {\n    "": {\n')
    assert err.line == 5 and err.message.startswith("invalid JSON")
    err = error_for(
        "package-lock.json",
        '{\n  "lockfileVersion": 3,\n  "packages": {\n    "node_modules/a": 1\n  }\n}',
    )
    assert err.line == 4


# --- yarn -------------------------------------------------------------------------------------


def test_yarn_lock_v1() -> None:
    m = parse("yarn-v1", "yarn.lock")
    assert rows(m) == [
        ("@babel/code-frame", "7.12.13", 5),
        ("ansi-regex", "5.0.0", 12),
        ("lodash", "4.17.19", 17),
        ("string-width", "4.2.3", 22),  # string-width-cjs@npm:string-width@^4.2.0
    ]
    assert not_checked(m) == [
        (29, "tiny-lib@file:./vendor/tiny-lib", "not from a registry"),
        (32, "left-pad@git+https://github.com/stevemao/left-pad.git", "not from a registry"),
    ]


def test_yarn_berry() -> None:
    m = parse("yarn-berry", "yarn.lock")
    assert rows(m) == [
        ("@babel/code-frame", "7.12.13", 8),
        ("minimist", "1.2.0", 17),
        ("resolve", "1.22.1", 24),  # patch: of a registry package
        ("strip-ansi", "6.0.1", 49),  # alias key, real name from `resolution`
    ]
    # the workspace itself is skipped, a portal is not checked
    assert [(line, reason) for line, _, reason in not_checked(m)] == [(58, "portal dependency")]


def test_yarn_errors() -> None:
    classic = '# yarn lockfile v1\n\nlodash@^4.17.15:\n  resolved "https://x"\n'
    err = error_for("yarn.lock", classic)
    assert err.line == 3 and "has no version" in err.message
    assert error_for("yarn.lock", "# yarn lockfile v1\nlodash@^4.17.15\n").line == 2
    berry = '__metadata:\n  version: 8\n\n"a@npm:1.0.0":\n  version: 1.0.0\n'
    assert error_for("yarn.lock", berry).line == 4
    assert error_for("yarn.lock", '__metadata:\n  version: 8\n"a@npm:1": [\n').line == 4


# --- pnpm -------------------------------------------------------------------------------------


def test_pnpm_lock_v5() -> None:
    m = parse("pnpm-v5", "pnpm-lock.yaml")
    assert rows(m) == [
        ("@babel/core", "7.12.3", 21),
        ("loose-envify", "1.4.0", 26),
        ("react-dom", "17.0.2", 31),  # /react-dom/17.0.2_react@17.0.2
        ("react", "17.0.2", 40),
        ("string_decoder", "1.3.0", 47),  # an underscore in a name is not a peer suffix
        ("ws", "7.4.5", 51),
    ]
    assert [flags(d) for d in m.dependencies] == [
        "direct dev",
        "transitive",
        "direct",
        "direct",
        "direct",
        "direct",
    ]
    assert not_checked(m) == [
        (
            64,
            "github.com/acme/colors/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
            "not from a registry",
        )
    ]


def test_pnpm_lock_v6() -> None:
    m = parse("pnpm-v6", "pnpm-lock.yaml")
    assert rows(m) == [
        ("express", "4.17.1", 25),
        ("jest-util", "29.7.0", 32),
        ("loose-envify", "1.4.0", 39),
        ("minimist", "1.2.5", 46),
        ("node-fetch", "2.6.0", 50),
        ("qs", "6.7.0", 55),
        ("react-dom", "18.2.0", 60),  # /react-dom@18.2.0(react@18.2.0)
        ("react", "18.2.0", 69),
        ("js-tokens", "4.0.0", 76),
    ]
    dev = [d.name for d in m.dependencies if d.dev]
    assert dev == ["jest-util", "minimist"]
    direct = [d.name for d in m.dependencies if d.direct]
    assert direct == ["express", "jest-util", "node-fetch", "react-dom"]


def test_pnpm_lock_v9_dev_from_the_snapshot_graph() -> None:
    m = parse("pnpm-v9", "pnpm-lock.yaml")
    assert rows(m) == [
        ("ansi-regex", "5.0.1", 39),
        ("js-tokens", "4.0.0", 43),
        ("lodash", "4.17.15", 46),
        ("loose-envify", "1.4.0", 49),
        ("lru-cache", "6.0.0", 53),
        ("minimist", "1.2.0", 57),
        ("react-dom", "18.2.0", 60),
        ("react", "18.2.0", 65),
        ("semver", "7.5.1", 69),
        ("strip-ansi", "6.0.1", 74),  # reached through the alias strip-ansi-cjs
        ("yallist", "4.0.0", 83),
    ]
    assert [d.name for d in m.dependencies if d.dev] == ["lru-cache", "semver", "yallist"]
    # tape (dev) needs minimist, but packages/utils needs it in production
    assert not by_name(m)[("minimist", "1.2.0")].dev
    assert [d.name for d in m.dependencies if d.direct] == [
        "lodash",
        "minimist",
        "react-dom",
        "semver",
        "strip-ansi",
    ]
    assert not_checked(m) == [(78, "tape@5.0.0", "not from a registry")]


def test_pnpm_errors() -> None:
    assert error_for("pnpm-lock.yaml", "packages: {}\n").line == 1
    assert error_for("pnpm-lock.yaml", "lockfileVersion: '3.0'\n").line == 1
    err = error_for("pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [\n")
    assert err.line == 4 and err.message.startswith("invalid YAML")


# --- Go ---------------------------------------------------------------------------------------


def test_go_mod_requires_replaces_and_indirect() -> None:
    m = parse("go", "go.mod")
    assert rows(m) == [
        ("github.com/gin-gonic/gin", "v1.7.0", 8),
        ("github.com/golang-jwt/jwt/v4", "v4.5.0", 9),  # replace ... v4.4.1 => ... v4.5.0
        ("golang.org/x/net", "v0.7.0", 10),
        ("gopkg.in/yaml.v2", "v2.2.7", 11),
        ("github.com/sirupsen/logrus", "v1.8.1", 15),
    ]
    assert [d.direct for d in m.dependencies] == [True, True, True, False, False]
    assert not_checked(m) == [
        (12, "github.com/acme/shared v0.3.1", "replaced by local directory ../shared")
    ]
    assert m.notes == []


def test_go_mod_before_1_17_says_indirect_modules_are_missing() -> None:
    m = parse_text("go.mod", "module x\n\ngo 1.16\n\nrequire golang.org/x/text v0.3.0\n")
    assert rows(m) == [("golang.org/x/text", "v0.3.0", 5)]
    assert m.notes == [
        "go.mod:3 declares go 1.16: before Go 1.17 go.mod does not list indirect dependencies, "
        "so they are not checked (run `go mod tidy -go=1.17`)"
    ]


def test_go_mod_errors() -> None:
    assert error_for("go.mod", "module x\n\nrequire (\n\tgolang.org/x/text v0.3.0\n").line == 3
    assert error_for("go.mod", "module x\nrequire (\n\tgolang.org/x/text\n)\n").line == 3
    assert error_for("go.mod", "module x\nreplace a v1 b v2\n").line == 2


def test_go_sum_without_go_mod() -> None:
    m = parse("gosum-only", "go.sum")
    assert rows(m) == [
        ("github.com/gin-gonic/gin", "v1.6.3", 1),
        ("github.com/gin-gonic/gin", "v1.7.0", 3),
        ("golang.org/x/net", "v0.7.0", 5),
    ]
    assert error_for("go.sum", "a v1.0.0 h1:x=\nbroken line\n").line == 2


# --- other ecosystems -------------------------------------------------------------------------


def test_cargo_lock() -> None:
    m = parse("cargo", "Cargo.lock")
    assert rows(m) == [
        ("bytes", "1.0.1", 6),
        ("hyper", "0.14.9", 12),
        ("smallvec", "1.6.0", 37),  # sparse index is still crates.io
        ("tokio", "1.7.0", 43),
    ]
    # the workspace crate "inventory" has no source and is skipped
    assert not_checked(m) == [(32, "internal-macros 0.2.0", "git source")]


def test_toml_errors_carry_the_line() -> None:
    err = error_for("Cargo.lock", 'version = 3\n\n[[package]]\nname = "a"\nversion = \n')
    assert err.line == 5 and err.message.startswith("invalid TOML")
    assert error_for("poetry.lock", '[[package]]\nversion = "1.0"\n').message == (
        "a [[package]] entry has no `name`"
    )


def test_gemfile_lock() -> None:
    m = parse("ruby", "Gemfile.lock")
    assert rows(m) == [
        ("google-protobuf", "3.21.12", 16),  # the platform variant on line 17 is the same gem
        ("jquery-rails", "4.3.3", 18),
        ("jwt", "2.2.2", 22),
        ("nokogiri", "1.13.10", 23),  # 1.13.10-arm64-darwin
        ("racc", "1.6.2", 25),
        ("rails-dom-testing", "2.0.3", 26),
        ("railties", "6.1.4", 27),
        ("thor", "1.1.0", 28),
    ]
    assert [d.name for d in m.dependencies if d.direct] == [
        "google-protobuf",
        "jquery-rails",
        "nokogiri",
    ]
    assert not_checked(m) == [
        (5, "acme-auth (0.4.0)", "git source"),
        (11, "billing (0.1.0)", "path source"),
    ]
    bad = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack 2.2.3\n"
    assert error_for("Gemfile.lock", bad).line == 4


def test_composer_lock() -> None:
    m = parse("composer", "composer.lock")
    assert rows(m) == [
        ("components/jquery", "3.4.1", 10),  # v3.4.1
        ("maximebf/debugbar", "1.15.0", 31),
        ("phpunit/phpunit", "9.5.4", 59),
    ]
    assert [d.dev for d in m.dependencies] == [False, False, True]
    assert not_checked(m) == [(47, "acme/internal-sdk dev-main", "development branch")]
    assert (
        error_for("composer.lock", '{\n  "packages": [\n    {"version": "1.0"}\n  ]\n}').line == 3
    )


def test_gradle_lockfile() -> None:
    m = parse("gradle", "gradle.lockfile")
    assert rows(m) == [
        ("com.fasterxml.jackson.core:jackson-annotations", "2.9.10", 4),
        ("com.fasterxml.jackson.core:jackson-core", "2.9.10", 5),
        ("com.fasterxml.jackson.core:jackson-databind", "2.9.10", 6),
        ("junit:junit", "4.12", 7),
        ("org.hamcrest:hamcrest-core", "1.3", 8),
        ("org.yaml:snakeyaml", "1.26", 9),  # also in a test configuration, but not only
    ]
    assert [d.dev for d in m.dependencies] == [False, False, False, True, True, False]
    assert m.dependencies[0].scope == "compileClasspath,runtimeClasspath"
    assert error_for("gradle.lockfile", "# header\ncom.acme:lib=compileClasspath\n").line == 2


def test_maven_pom_properties_and_dependency_management() -> None:
    m = parse("maven", "pom.xml")
    assert rows(m) == [
        ("com.fasterxml.jackson.core:jackson-databind", "2.9.10.1", 41),  # ${jackson.version}
        ("org.apache.tomcat.embed:tomcat-embed-core", "9.0.30", 46),  # a property of a property
        ("org.yaml:snakeyaml", "1.26", 51),  # version from dependencyManagement
        ("com.acme:orders-model", "3.1.0", 55),  # ${project.groupId}/${project.version} (parent)
        ("junit:junit", "4.12", 75),
    ]
    assert [(d.scope, d.dev) for d in m.dependencies][-1] == ("test", True)
    assert not_checked(m) == [
        (
            60,
            "org.bouncycastle:bcprov-jdk15on:${bouncycastle.version}",
            "unresolved property ${bouncycastle.version}",
        ),
        (66, "com.google.guava:guava:[30.0-jre,)", "version range"),
        (
            71,
            "org.springframework.boot:spring-boot-starter-web:(no version)",
            "no version (managed by a parent POM or BOM)",
        ),
    ]
    assert len(m.notes) == 1 and "transitive dependencies are not resolved" in m.notes[0]


def test_maven_pom_refuses_entity_expansion() -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE project [\n  <!ENTITY a "aaaaaaaaaa">\n'
        '  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n<project>&b;</project>\n'
    )
    err = error_for("pom.xml", bomb)
    assert err.message.startswith("refused XML")
    assert error_for("pom.xml", "<project>\n  <dependencies>\n</project>\n").line == 3


def test_nuget_packages_lock() -> None:
    m = parse("nuget", "packages.lock.json")
    assert [(d.name, d.version, d.line, d.scope) for d in m.dependencies] == [
        ("BouncyCastle", "1.8.5", 5, "net6.0"),
        ("Newtonsoft.Json", "13.0.1", 11, "net6.0"),
        ("BouncyCastle", "1.8.5", 24, "net48"),
        ("jQuery", "3.4.1", 30, "net48"),
    ]
    assert [d.direct for d in m.dependencies] == [True, False, True, True]


# --- the whole tree ---------------------------------------------------------------------------


def test_collect_keeps_going_past_a_malformed_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Cargo.lock").write_text('[[package]]\nname = "x"\nversion = ')
    (tmp_path / "requirements.txt").write_text("idna==2.10\n")
    (tmp_path / "README.md").write_text("# hi\n")
    result = collect(tmp_path, ["README.md", "a/Cargo.lock", "requirements.txt"])
    assert [(e.path, e.line) for e in result.errors] == [("a/Cargo.lock", 3)]
    assert [(d.manifest, d.name, d.version) for d in result.dependencies] == [
        ("requirements.txt", "idna", "2.10")
    ]


def test_collect_reports_non_utf8_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"idna==2.10 # \xff\xfe\n")
    result = collect(tmp_path, ["requirements.txt"])
    assert [str(e) for e in result.errors] == [
        "requirements.txt: not UTF-8 text (invalid start byte)"
    ]


def test_purls() -> None:
    deps = [
        Dependency("PyPI", "Django_Rest", "3.2.4", "r.txt", 1),
        Dependency("npm", "@babel/core", "7.12.3", "p.json", 1),
        Dependency("Go", "github.com/gin-gonic/gin", "v1.7.0", "go.mod", 1),
        Dependency("Maven", "org.yaml:snakeyaml", "1.26", "pom.xml", 1),
        Dependency("Packagist", "maximebf/debugbar", "1.15.0", "composer.lock", 1),
        Dependency("crates.io", "tokio", "1.7.0", "Cargo.lock", 1),
        Dependency("RubyGems", "jwt", "2.2.2", "Gemfile.lock", 1),
        Dependency("NuGet", "Newtonsoft.Json", "13.0.1", "packages.lock.json", 1),
    ]
    assert [d.purl for d in deps] == [
        "pkg:pypi/django-rest@3.2.4",
        "pkg:npm/%40babel/core@7.12.3",
        "pkg:golang/github.com/gin-gonic/gin@v1.7.0",
        "pkg:maven/org.yaml/snakeyaml@1.26",
        "pkg:composer/maximebf/debugbar@1.15.0",
        "pkg:cargo/tokio@1.7.0",
        "pkg:gem/jwt@2.2.2",
        "pkg:nuget/Newtonsoft.Json@13.0.1",
    ]
