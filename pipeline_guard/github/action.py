"""The GitHub Action's publish step, after the scan step wrote its reports.

    python -m pipeline_guard.github.action --report-dir DIR [--comment true]
        [--instance KEY] [--on-clean update|delete|resolve] [--sarif-file PATH]
        [--scan-exit-code N]

It reads `DIR/pipeline-guard.json`, then: sets the step outputs (verdict and
counts, in `$GITHUB_OUTPUT`), appends the Markdown summary to the job summary,
prints annotations for new findings, posts or updates the sticky PR comment,
and copies the SARIF file where the workflow wants it. It exits 0 whatever the
findings: the action's last step fails the job with the scan's exit code, so
publishing always happens first. A missing or unreadable report is reported
as an error annotation and `verdict=error`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pipeline_guard.github.comment import DEFAULT_INSTANCE, OnClean, publish_report_comment
from pipeline_guard.github.report_file import load_report
from pipeline_guard.github.summary import annotate, append_step_summary, command
from pipeline_guard.model import ScanReport, Severity
from pipeline_guard.reporters import markdown
from pipeline_guard.reporters.json_report import ReportFormatError

REPORT_NAME = "pipeline-guard.json"
SARIF_NAME = "pipeline-guard.sarif"


@dataclass(frozen=True)
class PublishOptions:
    """What the publish step was asked to do (the action's inputs)."""

    report_dir: Path
    comment: bool = True
    instance: str = DEFAULT_INSTANCE
    on_clean: OnClean = OnClean.UPDATE
    sarif_file: Path | None = None
    scan_exit_code: int | None = None


def report_outputs(report: ScanReport) -> dict[str, str]:
    """Step outputs for a report: verdict, exit code and counts of active findings."""
    active = report.active
    by_severity = Counter(f.severity for f in active)
    outputs = {
        "verdict": "passed" if report.verdict.passed else "failed",
        "exit-code": str(report.verdict.exit_code),
        "findings": str(len(active)),
        "new": str(sum(1 for f in active if f.baseline_state == "new")),
        "suppressed": str(len(report.findings) - len(active)),
    }
    outputs.update({s.label: str(by_severity[s]) for s in sorted(Severity, reverse=True)})
    return outputs


def write_outputs(values: Mapping[str, str], env: Mapping[str, str] | None = None) -> None:
    """Append step outputs to `$GITHUB_OUTPUT` (the heredoc form, safe for any value)."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def publish(
    options: PublishOptions,
    env: Mapping[str, str] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Publish the scan's results to GitHub; 0 unless the arguments are wrong."""
    env = os.environ if env is None else env
    path = options.report_dir / REPORT_NAME
    try:
        report = load_report(path)
    except ReportFormatError as exc:
        code = options.scan_exit_code
        why = f"the scan wrote no usable report ({exc})"
        if code is not None:
            why += f"; it exited with code {code}: see the scan step's log"
        print(command("error", why, title="pipeline-guard"), file=out)
        write_outputs({"verdict": "error", "exit-code": str(code if code is not None else 2),
                       "sarif-file": ""}, env)  # fmt: skip
        return 0
    outputs = report_outputs(report)
    outputs["sarif-file"] = _place_sarif(options)
    outputs["report-dir"] = str(options.report_dir.resolve())
    append_step_summary(markdown.render(report), env)
    for line in annotate(report).lines:
        print(line, file=out)
    if options.comment:
        result = publish_report_comment(
            report, instance=options.instance, on_clean=options.on_clean, env=env
        )
        outputs["comment-url"] = result.url or ""
        if result.note:
            level = "warning" if result.action == "fallback" else "notice"
            print(command(level, result.note, title="pipeline-guard comment"), file=out)
        print(f"pipeline-guard: PR comment {result.action}", file=out)
    write_outputs(outputs, env)
    return 0


def _place_sarif(options: PublishOptions) -> str:
    source = options.report_dir / SARIF_NAME
    if not source.is_file():
        return ""
    if options.sarif_file is None:
        return str(source.resolve())
    target = options.sarif_file
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return str(target.resolve())


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def _exit_code(value: str) -> int | None:
    return int(value) if value.strip() else None


def parse_args(argv: Sequence[str] | None = None) -> PublishOptions:
    """The publish step's options from its command line."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline_guard.github.action",
        description="Publish a pipeline-guard scan to GitHub (outputs, summary, "
        "annotations, PR comment, SARIF file).",
    )
    parser.add_argument("--report-dir", type=Path, required=True)
    parser.add_argument("--comment", type=_bool, default=True)
    parser.add_argument("--instance", default=DEFAULT_INSTANCE)
    parser.add_argument("--on-clean", type=OnClean, default=OnClean.UPDATE,
                        choices=list(OnClean))  # fmt: skip
    parser.add_argument("--sarif-file", default="")
    parser.add_argument("--scan-exit-code", type=_exit_code, default=None)
    args = parser.parse_args(argv)
    return PublishOptions(
        report_dir=args.report_dir,
        comment=args.comment,
        instance=args.instance or DEFAULT_INSTANCE,
        on_clean=args.on_clean,
        sarif_file=Path(args.sarif_file) if args.sarif_file else None,
        scan_exit_code=args.scan_exit_code,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for `python -m pipeline_guard.github.action`."""
    options = parse_args(argv)
    try:
        return publish(options)
    except ValueError as exc:  # a bad instance key
        print(command("error", str(exc), title="pipeline-guard"), file=sys.stdout)
        return 2


if __name__ == "__main__":
    sys.exit(main())
