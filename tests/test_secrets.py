"""The built-in secrets engine and the `secrets` scanner, on real files.

Canary credentials are built here at run time in their real formats (none is a live key)
so that the repository itself holds no credential-shaped strings.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import string
from pathlib import Path

import pytest

import pipeline_guard
from pipeline_guard.model import Category, ScannerRun, Severity
from pipeline_guard.scanners.secrets import SecretsScanner
from pipeline_guard.secrets import DETECTOR_IDS, SecretsEngine, mask, scrub
from pipeline_guard.secrets.redact import Scrubber

FIXTURE = Path(__file__).parent / "fixtures" / "secrets" / "project"

_rng = random.Random(20240611)
UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


def rand(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def password() -> str:
    return "P" + rand(ALNUM + "!*_-", 15)


PEM_LINES = [rand(B64, 64) for _ in range(12)] + [rand(B64, 20) + "=="]
SLACK_WEBHOOK_SECRET = rand(ALNUM, 24)
# The value each marker in the fixture project is replaced with.
CANARY = {
    "aws_access_key_id": "AKIA" + rand(UPPER_DIGITS, 16),
    "aws_secret_access_key": rand(B64, 40),
    "github_token": "ghp" + "_" + rand(ALNUM, 36),
    "github_fine_grained": "github" + "_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59),
    "gitlab_pat": "glpat" + "-" + rand(ALNUM, 20),
    "slack_token": "xoxb-"
    + rand(string.digits, 12)
    + "-"
    + rand(string.digits, 13)
    + "-"
    + rand(ALNUM, 24),
    "slack_webhook_path": f"T{rand(UPPER_DIGITS, 9)}/B{rand(UPPER_DIGITS, 9)}/"
    + SLACK_WEBHOOK_SECRET,
    "stripe_live_key": "sk" + "_live_" + rand(ALNUM, 24),
    "google_api_key": "AIza" + rand(ALNUM + "_-", 35),
    "private_key_body": "\n".join(PEM_LINES),
    "jwt": b64url({"alg": "HS256", "typ": "JWT"})
    + "."
    + b64url({"sub": "svc-orders", "scope": "orders:write"})
    + "."
    + rand(ALNUM + "_-", 43),
    "npm_token": "npm" + "_" + rand(ALNUM, 36),
    "sendgrid_key": "SG." + rand(ALNUM + "_-", 22) + "." + rand(ALNUM + "_-", 43),
    "twilio_api_key": "SK" + rand(HEX, 32),
    "twilio_auth_token": rand(HEX, 32),
    "azure_account_key": rand(B64, 86) + "==",
    "url_password": password(),
    "db_password": password(),
    "admin_password": password(),
    "registry_password": password(),
    # a lockfile integrity hash that happens to contain a Google-API-key lookalike
    "integrity_lookalike": "Qx+" + "AIza" + rand(ALNUM, 35) + "/" + rand(B64, 42) + "==",
}
# What a finding's redaction list must hold for each canary (the secret part of it).
SECRET_OF = {
    **{k: v for k, v in CANARY.items() if k not in ("slack_webhook_path", "private_key_body")},
    "slack_webhook_path": SLACK_WEBHOOK_SECRET,
}

# (rule, path, line, canary) for every canary in the fixture project.
EXPECTED = {
    ("pg.secret.password-in-url", "app/settings.py", 6, "url_password"),
    ("pg.secret.aws-access-key-id", "app/settings.py", 7, "aws_access_key_id"),
    ("pg.secret.aws-secret-access-key", "app/settings.py", 8, "aws_secret_access_key"),
    ("pg.secret.stripe-live-key", "app/settings.py", 18, "stripe_live_key"),
    ("pg.secret.generic-assignment", "app/settings.py", 20, "admin_password"),
    ("pg.secret.sendgrid-api-key", "app/notify.js", 3, "sendgrid_key"),
    ("pg.secret.google-api-key", "app/notify.js", 4, "google_api_key"),
    ("pg.secret.generic-config-value", ".env", 3, "db_password"),
    ("pg.secret.github-token", ".env", 5, "github_token"),
    ("pg.secret.slack-webhook", "deploy/values.yaml", 7, "slack_webhook_path"),
    ("pg.secret.gitlab-pat", "deploy/values.yaml", 13, "gitlab_pat"),
    ("pg.secret.azure-storage-key", "deploy/storage.tf", 10, "azure_account_key"),
    ("pg.secret.private-key", "keys/deploy_key.pem", 1, "private_key_body"),
    ("pg.secret.jwt", "docs/setup.md", 14, "jwt"),
    ("pg.secret.password-in-url", "package-lock.json", 18, "registry_password"),
}


def render(dest: Path) -> tuple[str, ...]:
    """The fixture project with every @@marker@@ replaced by its canary; its files."""
    shutil.copytree(FIXTURE, dest)
    files = []
    for path in sorted(p for p in dest.rglob("*") if p.is_file()):
        text = path.read_text()
        for name, value in CANARY.items():
            text = text.replace(f"@@{name}@@", value)
        assert "@@" not in text, f"unreplaced marker in {path}"
        path.write_text(text)
        files.append(path.relative_to(dest).as_posix())
    return tuple(files)


def scan(root: Path, files: tuple[str, ...], **options: object) -> ScannerRun:
    from pipeline_guard.scanner import ScanContext

    return SecretsScanner(options).scan(ScanContext(root=root, files=files, work_dir=root))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, ...]]:
    root = tmp_path_factory.mktemp("secrets") / "project"
    return root, render(root)


@pytest.fixture(scope="module")
def project_run(project: tuple[Path, tuple[str, ...]]) -> ScannerRun:
    return scan(*project)


# --- the fixture project ---------------------------------------------------------------


def test_every_canary_is_found_at_its_exact_line(project_run: ScannerRun) -> None:
    assert project_run.errors == ()
    found = {(f.rule_id, f.location.path, f.location.start_line) for f in project_run.findings}
    assert found == {(rule, path, line) for rule, path, line, _ in EXPECTED}
    assert len(project_run.findings) == len(EXPECTED)


def test_no_finding_shows_a_canary(project_run: ScannerRun) -> None:
    secrets = [*SECRET_OF.values(), *PEM_LINES]
    for finding in project_run.findings:
        shown = json.dumps(finding.to_dict())
        for value in secrets:
            assert value not in shown, f"{finding.rule_id} shows a canary"
        assert finding.location.snippet, finding.rule_id


def test_snippets_are_the_masked_lines(project_run: ScannerRun) -> None:
    by_line = {(f.location.path, f.location.start_line): f for f in project_run.findings}
    aws = by_line[("app/settings.py", 7)]
    assert aws.location.snippet == 'AWS_ACCESS_KEY_ID = "AKIA****************"'
    assert aws.location.start_column == 22
    db = by_line[(".env", 3)]
    assert db.location.snippet == "DB_PASSWORD=" + CANARY["db_password"][:4] + "*" * 16
    url = by_line[("app/settings.py", 6)]
    assert url.location.snippet == (
        'DATABASE_URL = "postgres://shop:'
        + mask(CANARY["url_password"])
        + '@db.internal:5432/shop"'
    )
    key = by_line[("keys/deploy_key.pem", 1)]
    assert key.location.snippet == "-----BEGIN RSA PRIVATE KEY-----"
    assert key.location.end_line == 15


def test_redact_holds_every_canary_value(project_run: ScannerRun) -> None:
    expected = {SECRET_OF[name] for *_, name in EXPECTED if name != "private_key_body"}
    assert expected | set(PEM_LINES) == set(project_run.redact)


def test_findings_carry_severity_cwe_and_help(project_run: ScannerRun) -> None:
    by_rule = {f.rule_id: f for f in project_run.findings}
    assert by_rule["pg.secret.aws-secret-access-key"].severity is Severity.CRITICAL
    assert by_rule["pg.secret.private-key"].severity is Severity.CRITICAL
    assert by_rule["pg.secret.aws-access-key-id"].severity is Severity.HIGH
    assert by_rule["pg.secret.jwt"].severity is Severity.MEDIUM
    assert by_rule["pg.secret.generic-assignment"].severity is Severity.MEDIUM
    for finding in project_run.findings:
        assert finding.cwes == ("CWE-798",)
        assert finding.category is Category.SECRET
        assert finding.scanner == "secrets"
        assert finding.help_url and finding.help_url.startswith("https://")
        assert finding.fingerprint == "" and finding.sources == ()
        assert "secret" in finding.tags
    github = by_rule["pg.secret.github-token"]
    assert github.message.startswith("GitHub token in .env at line 5.")
    assert "docs.github.com" in (github.help_url or "")


def test_run_metadata(project_run: ScannerRun, project: tuple[Path, tuple[str, ...]]) -> None:
    assert project_run.tool_version == pipeline_guard.__version__
    assert project_run.category is Category.SECRET
    assert project_run.targets == len(project[1])
    assert project_run.notes == ()
    assert SecretsScanner.fast is True


def test_unrendered_templates_have_no_findings() -> None:
    # Real-world lookalikes: ${VAR}, os.environ, AWS's example keys, the jwt.io token,
    # Azurite's key, postgres:postgres, a test hash, YAML aliases, @@markers@@.
    files = tuple(p.relative_to(FIXTURE).as_posix() for p in FIXTURE.rglob("*") if p.is_file())
    run = scan(FIXTURE, files)
    assert run.errors == ()
    assert [(f.rule_id, f.location.path, f.location.start_line) for f in run.findings] == []


# --- every detector: a true positive and a realistic false-positive guard ---------------

C = CANARY
DETECTOR_CASES = [
    # (detector, path, text, value, false-positive lookalikes on the same kind of file)
    (
        "pg.secret.aws-access-key-id",
        "aws.cfg",
        f"[default]\naws_access_key_id = {C['aws_access_key_id']}\n",
        C["aws_access_key_id"],
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
    ),
    (
        "pg.secret.aws-secret-access-key",
        "credentials.ini",
        f"[default]\naws_secret_access_key = {C['aws_secret_access_key']}\n",
        C["aws_secret_access_key"],
        "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n",
    ),
    (
        "pg.secret.github-token",
        "ci.py",
        f'\nclient = Github("{C["github_token"]}")\n',
        C["github_token"],
        '\nclient = Github(os.environ["GITHUB_TOKEN"])  # e.g. ghp_your_personal_token_here\n'
        'token = "ghp_' + "x" * 36 + '"\n',
    ),
    (
        "pg.secret.github-fine-grained-pat",
        "deploy.sh",
        f"\ncurl -H 'Authorization: Bearer {C['github_fine_grained']}' https://api.github.com\n",
        C["github_fine_grained"],
        "\ncurl -H 'Authorization: Bearer github_pat_" + "X" * 22 + "_" + "X" * 59 + "'\n",
    ),
    (
        "pg.secret.gitlab-pat",
        ".gitlab-ci.yml",
        f"variables:\n  PRIVATE: {C['gitlab_pat']}\n",
        C["gitlab_pat"],
        "\nvariables:\n  GITLAB_TOKEN: $CI_JOB_TOKEN  # or glpat-xxxxxxxxxxxxxxxxxxxx\n",
    ),
    (
        "pg.secret.slack-token",
        "bot.js",
        f'\nconst app = new App({{ token: "{C["slack_token"]}" }});\n',
        C["slack_token"],
        '\nconst app = new App({ token: "xoxb-your-bot-token" });\n'
        'const t = "xoxb-000000000000-000000000000-xxxxxxxxxxxxxxxxxxxxxxxx";\n',
    ),
    (
        "pg.secret.slack-webhook",
        "alerts.py",
        f'\nWEBHOOK = "https://hooks.slack.com/services/{C["slack_webhook_path"]}"\n',
        SLACK_WEBHOOK_SECRET,
        '\nWEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/'
        'XXXXXXXXXXXXXXXXXXXXXXXX"\n',
    ),
    (
        "pg.secret.stripe-live-key",
        "billing.rb",
        f"\nStripe.api_key = '{C['stripe_live_key']}'\n",
        C["stripe_live_key"],
        "\nStripe.api_key = 'sk_test_" + rand(ALNUM, 24) + "'\n"
        "publishable = 'pk_live_" + rand(ALNUM, 24) + "'\n",
    ),
    (
        "pg.secret.google-api-key",
        "maps.html",
        f'\n<script src="https://maps.googleapis.com/maps/api/js?key={C["google_api_key"]}">\n',
        C["google_api_key"],
        '\n<script src="https://maps.googleapis.com/maps/api/js?key=AIzaYOUR_API_KEY_HERE">\n',
    ),
    (
        "pg.secret.private-key",
        "id_ed25519",
        "\n-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + "\n".join(PEM_LINES)
        + "\n-----END OPENSSH PRIVATE KEY-----\n",
        PEM_LINES[0],
        '\nif pem.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n'
        "    raise ValueError('-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----')\n",
    ),
    (
        "pg.secret.jwt",
        "session_test.txt",
        f"\nCookie: session={C['jwt']}\n",
        C["jwt"],
        # the jwt.io sample, and base64 JSON that is not a JWT (no "alg" header)
        "\neyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9l"
        "IiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n"
        + b64url({"page": 2, "size": 50})
        + "."
        + b64url({"cursor": "abc123def"})
        + ".ZmFrZXNpZ25hdHVyZWhlcmU\n",
    ),
    (
        "pg.secret.npm-token",
        ".npmrc",
        f"\n//registry.npmjs.org/:_authToken={C['npm_token']}\n",
        C["npm_token"],
        "\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
    ),
    (
        "pg.secret.sendgrid-api-key",
        "mail.go",
        f'\nclient := sendgrid.NewSendClient("{C["sendgrid_key"]}")\n',
        C["sendgrid_key"],
        '\nclient := sendgrid.NewSendClient(os.Getenv("SENDGRID_API_KEY"))\n',
    ),
    (
        "pg.secret.twilio-api-key",
        "sms.php",
        f"\n$client = new Client('{C['twilio_api_key']}', $secret);\n",
        C["twilio_api_key"],
        # a git sha after "SK" is 40 hex, and Twilio ids are lowercase hex
        "\n$build = 'SK" + rand(HEX, 40) + "';\n$sku = 'SK" + rand(HEX, 32).upper() + "';\n",
    ),
    (
        "pg.secret.twilio-auth-token",
        "sms.py",
        f'\nTWILIO_AUTH_TOKEN = "{C["twilio_auth_token"]}"\n',
        C["twilio_auth_token"],
        '\nTWILIO_AUTH_TOKEN = os.environ["TWILIO_AUTH_TOKEN"]\n'
        'twilio_auth_token = "00000000000000000000000000000000"\n',
    ),
    (
        "pg.secret.azure-storage-key",
        "appsettings.json",
        '\n{"Storage": "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey='
        + C["azure_account_key"]
        + ';EndpointSuffix=core.windows.net"}\n',
        C["azure_account_key"],
        '\n{"Storage": "UseDevelopmentStorage=true", "Emulator": "AccountKey=Eby8vdM02xNOcqFlqUwJ'
        'PLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="}\n',
    ),
    (
        "pg.secret.password-in-url",
        "docker-compose.yml",
        f"environment:\n  REDIS_URL: redis://cache:{C['url_password']}@redis:6379/0\n",
        C["url_password"],
        "\nenvironment:\n  DATABASE_URL: postgres://postgres:postgres@db:5432/app\n"
        "  MONGO: mongodb+srv://<user>:<password>@cluster0.example.net\n"
        "  GIT: https://oauth2:${GITLAB_TOKEN}@gitlab.example.com/group/repo.git\n",
    ),
    (
        "pg.secret.generic-assignment",
        "db.py",
        f'\nconnect(host="db", password="{C["admin_password"]}")\n',
        C["admin_password"],
        '\nconnect(host="db", password=os.environ["DB_PASSWORD"])\n'
        'password = "changeme"\n'
        'token_url = "https://auth.example.org/oauth2/token"\n'
        'secret_name = "prod-database-credentials"\n'
        'password_hash = "5f4dcc3b5aa765d61d8327deb882cf99"\n'
        'SECRET_KEY_ENV = "DJANGO_SECRET_KEY"\n'
        'api_key = "${API_KEY}"\n'
        'next_token = "eyJ2IjoxLCJrIjoiYWJjIn0="\n',
    ),
    (
        "pg.secret.generic-config-value",
        ".env.production",
        f"\nSMTP_PASSWORD={C['db_password']}\n",
        C["db_password"],
        "\nSMTP_PASSWORD=${SMTP_PASSWORD}\nSMTP_PASSWORD_FILE=/run/secrets/smtp\n"
        "API_TOKEN=__API_TOKEN__\n",
    ),
]


each_detector = pytest.mark.parametrize(
    ("detector", "path", "text", "value", "lookalikes"),
    DETECTOR_CASES,
    ids=[c[0].removeprefix("pg.secret.") for c in DETECTOR_CASES],
)


def test_cases_cover_every_detector() -> None:
    assert sorted(c[0] for c in DETECTOR_CASES) == sorted(DETECTOR_IDS)


@each_detector
def test_detector_true_positive(
    detector: str, path: str, text: str, value: str, lookalikes: str
) -> None:
    matches = SecretsEngine().scan_text(text, path)
    assert [(m.detector.id, m.start_line) for m in matches] == [(detector, 2)]
    match = matches[0]
    assert value in match.redact
    assert value not in match.snippet
    assert mask(value) in match.snippet or "PRIVATE KEY" in match.snippet


@each_detector
def test_detector_false_positive_guard(
    detector: str, path: str, text: str, value: str, lookalikes: str
) -> None:
    matches = SecretsEngine().scan_text(lookalikes, path)
    assert [(m.detector.id, m.start_line, m.snippet) for m in matches] == []


def test_specific_detector_wins_over_generic_on_the_same_value() -> None:
    text = f'GITHUB_TOKEN = "{C["github_token"]}"\napi_key = "{C["google_api_key"]}"\n'
    matches = SecretsEngine().scan_text(text, "settings.py")
    assert [(m.detector.id, m.start_line) for m in matches] == [
        ("pg.secret.github-token", 1),
        ("pg.secret.google-api-key", 2),
    ]


def test_two_secrets_on_one_line_are_both_masked_in_each_snippet() -> None:
    line = f"export KEY={C['aws_access_key_id']} SECRET_ACCESS_KEY={C['aws_secret_access_key']}"
    matches = SecretsEngine().scan_text(line + "\n", "env.sh")
    assert [m.detector.id for m in matches] == [
        "pg.secret.aws-access-key-id",
        "pg.secret.aws-secret-access-key",
    ]
    for m in matches:
        assert m.snippet == scrub(line, [C["aws_access_key_id"], C["aws_secret_access_key"]])
        assert C["aws_access_key_id"] not in m.snippet
        assert C["aws_secret_access_key"] not in m.snippet


def test_private_key_in_a_json_string_is_found_and_every_line_redacted() -> None:
    body = "\\n".join(PEM_LINES)
    doc = (
        '{\n  "type": "service_account",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\n'
        + body
        + '\\n-----END PRIVATE KEY-----\\n"\n}\n'
    )
    [match] = SecretsEngine().scan_text(doc, "sa.json")
    assert (match.detector.id, match.start_line, match.end_line) == ("pg.secret.private-key", 3, 3)
    assert set(match.redact) == set(PEM_LINES)
    for line in PEM_LINES:
        assert line not in match.snippet
    assert match.snippet.startswith('  "private_key": "-----BEGIN PRIVATE KEY-----\\n')


def test_long_minified_line_gives_a_short_masked_snippet() -> None:
    js = "var a=1;" * 5000 + f'var k="{C["stripe_live_key"]}";' + "var b=2;" * 5000
    [match] = SecretsEngine().scan_text(js, "app.min.js")
    assert match.detector.id == "pg.secret.stripe-live-key"
    assert match.start_column == 40_000 + len('var k="') + 1
    assert len(match.snippet) < 300
    assert mask(C["stripe_live_key"]) in match.snippet
    assert match.snippet.startswith("…") and match.snippet.endswith("…")


def test_entropy_threshold_gates_the_generic_detectors() -> None:
    text = 'db_password = "Sup3rS3cretP@ss"\n'  # 3.37 bits per character
    assert [m.detector.id for m in SecretsEngine().scan_text(text, "a.py")] == [
        "pg.secret.generic-assignment"
    ]
    assert SecretsEngine(entropy_threshold=3.5).scan_text(text, "a.py") == []


# --- file handling -------------------------------------------------------------------------


def test_binary_oversized_unreadable_and_symlinked_files_are_named_in_notes(
    tmp_path: Path,
) -> None:
    secret_line = f'token = "{C["github_token"]}"\n'.encode()
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + secret_line)
    (tmp_path / "dump.sql").write_bytes(b"-- dump\n" + secret_line * 200)  # ~10 KiB
    (tmp_path / "ok.py").write_bytes(secret_line)
    (tmp_path / "link.py").symlink_to(tmp_path / "ok.py")
    files = ("logo.png", "dump.sql", "ok.py", "link.py", "gone.py")
    run = scan(tmp_path, files, max_file_size=4096)
    assert run.errors == ()
    assert [(f.location.path, f.location.start_line) for f in run.findings] == [("ok.py", 1)]
    notes = "\n".join(run.notes)
    size = (tmp_path / "dump.sql").stat().st_size
    assert (
        f"dump.sql not scanned for secrets: {size} bytes is over max_file_size (4096 bytes)"
        in notes
    )
    assert "1 binary files (a NUL byte in the first 8 KiB) not scanned for secrets: logo.png" in (
        notes
    )
    assert "1 symbolic links" in notes and "link.py" in notes
    assert "gone.py not scanned for secrets: cannot read it (No such file or directory)" in notes
    assert len(run.notes) == 4


def test_default_size_cap_is_two_mebibytes(tmp_path: Path) -> None:
    filler = b"x = 1\n" * (2 * 1024 * 1024 // 6 + 10)
    (tmp_path / "big.py").write_bytes(filler + f'token = "{C["github_token"]}"\n'.encode())
    (tmp_path / "small.py").write_bytes(b"x = 1\n" * 1000)
    run = scan(tmp_path, ("big.py", "small.py"))
    assert run.findings == ()
    assert run.notes == (
        f"big.py not scanned for secrets: {(tmp_path / 'big.py').stat().st_size} bytes is over "
        "max_file_size (2097152 bytes); raise secrets.max_file_size or exclude the file",
    )


def test_non_utf8_and_utf16_files_are_decoded_not_fatal(tmp_path: Path) -> None:
    latin1 = "# Konfiguration für Zürich\n".encode("latin-1") + b"\xff\xfe\x80 broken\n"
    (tmp_path / "legacy.py").write_bytes(latin1 + f'PASSWORD = "{C["admin_password"]}"\n'.encode())
    utf16 = f"# Windows script\r\n$token = '{C['github_token']}'\r\n".encode("utf-16")
    (tmp_path / "setup.ps1").write_bytes(utf16)
    run = scan(tmp_path, ("legacy.py", "setup.ps1"))
    assert run.errors == () and run.notes == ()
    found = sorted((f.location.path, f.location.start_line, f.rule_id) for f in run.findings)
    assert found == [
        ("legacy.py", 3, "pg.secret.generic-assignment"),
        ("setup.ps1", 2, "pg.secret.github-token"),
    ]


def test_lockfile_hashes_are_skipped_but_tokens_in_urls_are_not(
    project_run: ScannerRun,
) -> None:
    lock = [f for f in project_run.findings if f.location.path == "package-lock.json"]
    assert [(f.rule_id, f.location.start_line) for f in lock] == [("pg.secret.password-in-url", 18)]
    # The same lookalike outside a lockfile is flagged: the skip is about lockfiles only.
    text = '"integrity": "sha512-' + CANARY["integrity_lookalike"] + '"\n'
    assert [m.detector.id for m in SecretsEngine().scan_text(text, "notes.json")] == [
        "pg.secret.google-api-key"
    ]
    assert SecretsEngine().scan_text(text, "web/yarn.lock") == []


# --- options -------------------------------------------------------------------------------


def test_options_exclude_detectors_generic_and_severity(
    project: tuple[Path, tuple[str, ...]],
) -> None:
    run = scan(
        *project,
        exclude_detectors=["pg.secret.jwt", "pg.secret.private-key"],
        include_generic=False,
        severity={"pg.secret.github-token": "low"},
    )
    assert run.errors == ()
    rules = sorted(f.rule_id for f in run.findings)
    assert "pg.secret.jwt" not in rules and "pg.secret.private-key" not in rules
    assert not any("generic" in r for r in rules)
    assert len(rules) == len(EXPECTED) - 4
    [github] = [f for f in run.findings if f.rule_id == "pg.secret.github-token"]
    assert github.severity is Severity.LOW


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"exclude_detectors": ["pg.secret.github-tokens"]},
            "secrets.exclude_detectors: unknown detector 'pg.secret.github-tokens'; "
            "did you mean pg.secret.github-token?",
        ),
        ({"max_file_size": "2MB"}, "secrets.max_file_size must be a positive number of bytes"),
        ({"entropy_threshold": 9}, "secrets.entropy_threshold must be between 0 and 8"),
        ({"include_generic": "yes"}, "secrets.include_generic must be true or false"),
        ({"severity": {"pg.secret.jwt": "urgent"}}, "secrets.severity.pg.secret.jwt: unknown"),
    ],
)
def test_bad_options_are_config_errors(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    run = scan(tmp_path, ("a.py",), **options)
    assert [e.kind for e in run.errors] == ["config"]
    assert run.errors[0].message.startswith(message)
    assert run.findings == ()


def test_applies_only_with_files(tmp_path: Path) -> None:
    from pipeline_guard.scanner import ScanContext

    assert not SecretsScanner().applies(ScanContext(root=tmp_path, files=()))
    assert SecretsScanner().applies(ScanContext(root=tmp_path, files=("a.py",)))


# --- redaction -----------------------------------------------------------------------------


def test_mask_keeps_four_characters_of_long_values_only() -> None:
    assert mask(C["aws_access_key_id"]) == "AKIA****************"
    assert mask("ghp_" + "a" * 36) == "ghp_****************"
    assert mask("hunter2-hunter2") == "********"  # 15 characters: nothing kept
    assert mask("x" * 16) == "xxxx" + "*" * 16


def test_scrub_removes_every_value_from_arbitrary_text(project_run: ScannerRun) -> None:
    values = list(project_run.redact)
    text = (
        f"B105: Possible hardcoded password: '{C['admin_password']}'\n"
        f"curl -u ci:{C['registry_password']} https://npm.internal.example.com\n"
        f"{PEM_LINES[3]}\n"
        f"[{C['github_token']}]({C['github_token']})\n"
    )
    out = scrub(text, values)
    for value in [*values, *PEM_LINES]:
        assert value not in out
    assert out.count("ghp_****************") == 2
    assert f"Possible hardcoded password: '{mask(C['admin_password'])}'" in out
    assert scrub("nothing to hide", values) == "nothing to hide"


def test_scrub_masks_the_longest_value_whole() -> None:
    short, long = "Zq81mXw7Lp3vNc5T", "Zq81mXw7Lp3vNc5T-and-more-Kd92"
    assert scrub(f"a {long} b {short}", [short, long]) == "a Zq81**************** b Zq81" + (
        "*" * 16
    )


def test_scrubber_with_many_values() -> None:
    values = [f"tok{n:04d}-" + rand(ALNUM, 20) for n in range(2000)]
    scrubber = Scrubber(values)
    text = " | ".join(values[::7])
    out = scrubber(text)
    assert all(v not in out for v in values)
    assert out.count("tok") == len(values[::7])  # the first four characters stay
    assert scrub(text, tuple(values)) == out


def test_text_whose_lowercase_changes_length_keeps_exact_values() -> None:
    # "İ".lower() is two characters: offsets in the lowercased copy would drift.
    text = (
        "# İstanbul İzmir\n"
        f"aws_secret_access_key = {C['aws_secret_access_key']}\n"
        f'db_password = "{C["admin_password"]}"\n'
    )
    assert len(text.lower()) != len(text)
    matches = SecretsEngine().scan_text(text, "config.ini")
    assert [(m.detector.id, m.start_line, m.redact) for m in matches] == [
        ("pg.secret.aws-secret-access-key", 2, (C["aws_secret_access_key"],)),
        ("pg.secret.generic-assignment", 3, (C["admin_password"],)),
    ]
