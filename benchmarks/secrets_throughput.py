"""Throughput of the built-in secrets engine on a generated, realistic corpus.

Writes about 20 MB of source, docs, config, a lockfile and minified JS (fixed seed, so
runs compare) with a known set of planted credentials, scans every file with the engine
the way the `secrets` scanner does, and prints MB/s per kind of file and overall, the
planted secrets found, and anything else flagged (false positives on this corpus).

    .venv/bin/python benchmarks/secrets_throughput.py [--mb 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from pipeline_guard.secrets import SecretsEngine

SEED = 20240611
ALNUM = string.ascii_letters + string.digits

WORDS = tuple(
    " ".join(
        (
            "the token is read from the environment before the client connects to the api",
            "and a password must never be logged secret values are rotated each quarter by",
            "the key management service which stores credentials encrypted at rest see the",
            "docs for the request handler config loader session cache user account billing",
            "report export",
        )
    ).split(" ")
)

# Lines that mention credentials without containing one (what the generic detectors must
# look at and reject), and neutral lines; `--dense` sets the share of the former.
PY_CREDENTIAL_LINES = (
    "def {w}_{w2}(request, token=None):",
    "    password = os.environ.get('DB_PASSWORD')",
    "    api_key = settings.API_KEY",
    "    secret_name = '{w}-{w2}-secret'",
    "    token_url = 'https://auth.example.org/oauth/token'",
    "    headers = {{'Authorization': f'Bearer {{token}}'}}",
    "# {w} {w2}: the key is derived per session",
)
PY_LINES = (
    "def {w}_{w2}(request, limit={n}):",
    '    """Return the {w} for the {w2} request."""',
    "    for {w} in range({n}):",
    "        total += {w}.{w2}({n}) * {n}",
    "    logger.info('%s %s', {w}, {w2})",
    "    if not {w}: raise ValueError('missing {w2}')",
    "    return {{'{w}': {w}, '{w2}': {n}}}",
    "import {w}",
    "",
)
MD_CREDENTIAL_LINES = (
    "Set the token with `export API_TOKEN=...` and never commit your password.",
    "```bash\ncurl -H 'Authorization: Bearer $TOKEN' https://api.example.org/{w}\n```",
    "A secret is rotated every {n} days by the key management service.",
)
MD_LINES = (
    "## {W} {w2}",
    "The {w} and the {w2} are configured with `PG_{W2}`; see https://docs.example.org/{w}.",
    "| {w} | {w2} | {n} |",
    "",
)
YAML_CREDENTIAL_LINES = (
    "    secretName: {w}-{w2}-tls",
    "    password: ${{DB_PASSWORD}}",
    "    token: '{{{{ .Values.{w}.token }}}}'",
)
YAML_LINES = (
    "  {w}:",
    "    image: registry.example.org/{w}/{w2}:1.{n}",
    "    replicas: {n}",
    "    key: {w}.{w2}",
)

PLANTED = {
    "aws": "AKIA{u16}",
    "github": "ghp_{a36}",
    "gitlab": "glpat-{a20}",
    "slack": "xoxb-{d12}-{d12}-{a24}",
    "stripe": "sk_live_{a24}",
    "google": "AIza{a35}",
    "npm": "npm_{a36}",
}


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _fill(rng: random.Random, template: str) -> str:
    w, w2 = rng.choice(WORDS), rng.choice(WORDS)
    return template.format(w=w, w2=w2, W=w.title(), W2=w2.upper(), n=rng.randint(1, 9999))


def _text(
    rng: random.Random,
    templates: tuple[str, ...],
    credential: tuple[str, ...],
    size: int,
    density: float,
) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        line = _fill(rng, rng.choice(credential if rng.random() < density else templates))
        out.append(line)
        total += len(line) + 1
    return "\n".join(out) + "\n"


def _lockfile(rng: random.Random, size: int) -> str:
    out = ['{\n  "name": "app",\n  "lockfileVersion": 3,\n  "packages": {']
    total = 0
    while total < size:
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}"
        sha = _rand(rng, ALNUM + "+/", 86)
        entry = (
            f'    "node_modules/{name}": {{\n      "version": "1.{rng.randint(0, 99)}.0",\n'
            f'      "resolved": "https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz",\n'
            f'      "integrity": "sha512-{sha}=="\n    }},'
        )
        out.append(entry)
        total += len(entry)
    return "\n".join([*out, "  }\n}\n"])


def _minified(rng: random.Random, size: int) -> str:
    parts = []
    total = 0
    while total < size:
        part = f"function {rng.choice(WORDS)}(a,b){{return a.{rng.choice(WORDS)}(b)+{total}}};"
        parts.append(part)
        total += len(part)
    return "".join(parts) + "\n"


def _plant(rng: random.Random, text: str, kind: str) -> tuple[str, int]:
    value = PLANTED[kind].format(
        u16=_rand(rng, string.ascii_uppercase + string.digits, 16),
        a36=_rand(rng, ALNUM, 36),
        a35=_rand(rng, ALNUM, 35),
        a24=_rand(rng, ALNUM, 24),
        a20=_rand(rng, ALNUM, 20),
        d12=_rand(rng, string.digits, 12),
    )
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    lines.insert(at, f'CREDENTIAL = "{value}"')
    return "\n".join(lines), at + 1


DENSITY = 0.1


def build_corpus(
    root: Path, megabytes: float, density: float = DENSITY
) -> dict[tuple[str, int], str]:
    """Write the corpus; return {(path, line): planted kind}."""
    rng = random.Random(SEED)
    budget = int(megabytes * 1024 * 1024)
    planted: dict[tuple[str, int], str] = {}
    plan = [  # (kind, share of the budget, file size)
        ("py", 0.40, 40_000),
        ("md", 0.25, 60_000),
        ("yaml", 0.10, 20_000),
        ("lock", 0.15, 1_500_000),
        ("js", 0.10, 500_000),
    ]
    kinds = list(PLANTED)
    for ext, share, size in plan:
        for i in range(max(1, int(budget * share) // size)):
            rel = f"{ext}/f{i:04d}.{ext}" if ext != "lock" else f"lock{i}/package-lock.json"
            if ext == "py":
                text = _text(rng, PY_LINES, PY_CREDENTIAL_LINES, size, density)
            elif ext == "md":
                text = _text(rng, MD_LINES, MD_CREDENTIAL_LINES, size, density)
            elif ext == "yaml":
                text = _text(rng, YAML_LINES, YAML_CREDENTIAL_LINES, size, density)
            elif ext == "lock":
                text = _lockfile(rng, size)
            else:
                text = _minified(rng, size)
            if ext in ("py", "md", "yaml") and i % 25 == 0:
                kind = kinds[len(planted) % len(kinds)]
                text, line = _plant(rng, text, kind)
                planted[(rel, line)] = kind
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return planted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="corpus size in MB")
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    parser.add_argument(
        "--dense",
        type=float,
        default=DENSITY,
        help="share of lines that mention credentials without containing one (default 0.1; "
        "1.0 is the worst case for the name-based detectors)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pg-secrets-bench-") as tmp:
        root = args.keep or Path(tmp)
        planted = build_corpus(root, args.mb, args.dense)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        engine = SecretsEngine()
        by_kind_bytes: Counter[str] = Counter()
        by_kind_time: defaultdict[str, float] = defaultdict(float)
        found: set[tuple[str, int]] = set()
        extra: list[str] = []
        started = time.perf_counter()
        for path in files:
            rel = path.relative_to(root).as_posix()
            t0 = time.perf_counter()
            result = engine.scan_file(path, rel)
            kind = rel.split("/", 1)[0].rstrip("0123456789")
            by_kind_time[kind] += time.perf_counter() - t0
            by_kind_bytes[kind] += path.stat().st_size
            for m in result.matches:
                key = (rel, m.start_line)
                if key in planted:
                    found.add(key)
                else:
                    extra.append(f"{rel}:{m.start_line} {m.detector.id}")
        elapsed = time.perf_counter() - started
    total = sum(by_kind_bytes.values())
    print(f"corpus: {len(files)} files, {total / 1e6:.1f} MB")
    for kind in sorted(by_kind_bytes):
        rate = by_kind_bytes[kind] / 1e6 / max(by_kind_time[kind], 1e-9)
        print(f"  {kind:5s} {by_kind_bytes[kind] / 1e6:6.1f} MB  {rate:7.1f} MB/s")
    print(f"total: {elapsed:.2f} s, {total / 1e6 / elapsed:.1f} MB/s")
    print(f"planted secrets found: {len(found)}/{len(planted)}")
    print(f"other findings (false positives on this corpus): {len(extra)}")
    for line in extra[:10]:
        print(f"  {line}")
    return 0 if len(found) == len(planted) else 1


if __name__ == "__main__":
    sys.exit(main())
