"""Summarise a conformance run: totals, and the failures grouped by cause.

Reads the JUnit XML that pytest wrote, gives every failed or erroring test the first
cause of `causes.py` that claims it (by test name or by the text of the failure), and
prints Markdown: the totals, one table row per cause with its verdict and count, then
the tests of each cause. Failures no cause claims are listed as `unclassified`, which
means the rules need a look, not that the failure is unimportant.

    summarise.py --suite moto|localstack --target eddy|moto --commit SHA junit.xml
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from causes import CAUSES, Cause

UNCLASSIFIED = Cause(
    key="unclassified",
    title="Not yet classified",
    verdict="unclassified",
    evidence="No rule in causes.py matches; read the failure in the pytest log.",
)


@dataclass(frozen=True)
class Outcome:
    test: str  # pytest's node id without the suite directory
    status: str  # passed, failed, error, skipped
    text: str  # failure message and traceback; empty unless failed or error


def read_junit(path: Path) -> list[Outcome]:
    outcomes = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        test = f"{case.get('classname', '')}::{case.get('name', '')}"
        status, text = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = {"failure": "failed"}.get(child.tag, child.tag)
                text = f"{child.get('message', '')}\n{child.text or ''}"
        if status == "error" and any(o.test == test for o in outcomes):
            continue  # a teardown error after a failure: the test is counted once
        outcomes.append(Outcome(test, status, text if status in ("failed", "error") else ""))
    return outcomes


def cause_of(suite: str, outcome: Outcome) -> Cause:
    for cause in CAUSES[suite]:
        if cause.claims(outcome.test, outcome.text):
            return cause
    return UNCLASSIFIED


def render(suite: str, target: str, commit: str, outcomes: list[Outcome]) -> str:
    totals = Counter(o.status for o in outcomes)
    ran = totals["passed"] + totals["failed"] + totals["error"]
    lines = [
        f"# {suite} SQS suite against {target}",
        "",
        f"Suite commit `{commit}`. {len(outcomes)} tests: {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['error']} errors, {totals['skipped']} skipped"
        + (f" ({100 * totals['passed'] / ran:.0f}% of those that ran passed)." if ran else "."),
        "",
    ]
    if target != "eddy":
        lines += [
            "The causes were written from eddy's failures; against another target a "
            "claimed test may fail for another reason, so read these groups as a guide.",
            "",
        ]
    groups: dict[str, list[Outcome]] = {}
    by_key = {c.key: c for c in [*CAUSES[suite], UNCLASSIFIED]}
    for outcome in outcomes:
        if outcome.status in ("failed", "error"):
            groups.setdefault(cause_of(suite, outcome).key, []).append(outcome)
    if not groups:
        return "\n".join(lines)
    lines += ["| cause | verdict | tests |", "|---|---|---|"]
    for key, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"| {by_key[key].title} (`{key}`) | {by_key[key].verdict} | {len(members)} |")
    for key, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        cause = by_key[key]
        lines += ["", f"## {cause.title} (`{key}`): {len(members)}", "",
                  f"Verdict: {cause.verdict}. {cause.evidence}", ""]
        lines += [f"- `{m.test}`" for m in sorted(members, key=lambda m: m.test)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(CAUSES), required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--commit", default="unknown")
    parser.add_argument("junit", type=Path)
    args = parser.parse_args()
    sys.stdout.write(render(args.suite, args.target, args.commit, read_junit(args.junit)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
