"""Summarises a JUnit XML report of Ceph's s3-tests run against eddy, as Markdown.

Counts passed, failed, errored and skipped tests, then groups every failure by feature
area (taken from the test's name and markers) and, inside an area, by cause: the S3 error
code and operation of an unexpected ClientError, or the failed assertion with bucket
names and numbers of the run blanked out. s3-tests writes its checks as
`assert actual == expected`, so in an assertion the left side is eddy's answer.

Usage:
    python3 s3_tests_summary.py junit.xml [--s3-tests-commit SHA] [--eddy-version V]
        [--selection EXPR] [--seconds N] [--excluded "reason=count" ...]
"""

import argparse
import re
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter, defaultdict
from dataclasses import dataclass, field

# First match wins: specific features before the generic words (list, copy, ...).
AREAS = [
    ("object lock", ("object_lock", "retention", "legal_hold", "bypass_governance")),
    ("GetObjectAttributes", ("object_attributes",)),
    ("checksums", ("checksum", "cksum", "crc")),
    ("encryption (SSE)", ("encrypt", "sse", "kms", "_enc_", "_enc[")),
    ("CORS", ("cors",)),
    ("lifecycle", ("lifecycle",)),
    ("website", ("website",)),
    ("notifications", ("notification",)),
    ("logging", ("logging",)),
    ("POST Object (browser form)", ("post_object",)),
    ("public access block", ("public_block", "block_public")),
    ("bucket policy", ("policy",)),
    ("ACL / ownership", ("acl", "grant", "ownership", "_perm", "access_bucket", "access_key")),
    ("tagging", ("tagging", "_tags")),
    ("conditional requests", ("if_match", "ifmatch", "if_none", "ifnonematch", "ifmodified",
                              "if_modified", "ifunmodified", "if_unmodified", "conditional")),
    ("versioning", ("version", "delete_marker")),
    ("multipart", ("multipart", "upload_part", "_part_")),
    ("copy", ("copy",)),
    ("range", ("range",)),
    ("signatures and auth headers", ("presigned", "auth", "signature", "expires", "aws2",
                                     "amz_date", "bad_md5", "contentlength")),
    ("anonymous requests", ("anon", "raw_get", "bucket_gone", "object_gone", "unauthenticated")),
    ("listing", ("list",)),
    ("bucket create / naming", ("bucket_create", "bucket_name", "bucket_recreate",
                                "buckets_create", "bucket_head", "bucket_get_location")),
    ("object read / write", ("header", "metadata", "content_", "object_write", "object_read",
                             "torrent", "transfer_encoding")),
]
CLIENT_ERROR = re.compile(r"An error occurred \(([^)]*)\) when calling the (\w+) operation")
FRAME_END = re.compile(r"^\S+\.py:\d+: ")
RUN_NAMES = re.compile(r"s3tests-[a-z0-9]+-\d+|\b[0-9a-f]{32}\b|\b\d{4}-\d\d-\d\dT[\d:.]+Z?")


@dataclass
class Case:
    name: str
    markers: list[str]
    outcome: str  # passed, failed, error, skipped
    cause: str = ""
    source_line: str = ""


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)

    def with_outcome(self, outcome: str) -> list[Case]:
        return [case for case in self.cases if case.outcome == outcome]


def area_of(case: Case) -> str:
    text = case.name.lower() + " " + " ".join(case.markers)
    for area, words in AREAS:
        if any(word in text for word in words):
            return area
    return "other"


def cause_of(message: str, text: str) -> tuple[str, str]:
    """The normalised cause of a failure, and the s3-tests line that raised it."""
    source = ""
    pending = ""
    for line in text.splitlines():
        if line.startswith(">"):
            pending = line[1:].strip()
        elif FRAME_END.match(line):  # the frame that holds `pending` ends here
            if line.startswith("s3tests/") and pending:
                source = pending  # keep the innermost frame inside s3-tests
            pending = ""
    found = CLIENT_ERROR.search(message)
    if found:
        return f"unexpected {found.group(1)} from {found.group(2)}", source
    if "Timeout" in message:
        return "timed out", source
    first = message.splitlines()[0] if message else "(no message)"
    first = RUN_NAMES.sub("…", first)
    return (first[:157] + "…") if len(first) > 160 else first, source


def read(path: str) -> Report:
    report = Report()
    for node in ElementTree.parse(path).iter("testcase"):
        module = node.get("classname", "").rsplit(".", 1)[-1]
        name = node.get("name", "")
        if module == "test_headers":
            name = f"test_headers.{name}"
        markers = []
        for prop in node.iter("property"):
            if prop.get("name") == "markers" and prop.get("value"):
                markers = prop.get("value", "").split(",")
        case = Case(name, markers, "passed")
        for outcome in ("failure", "error", "skipped"):
            child = node.find(outcome)
            if child is None:
                continue
            case.outcome = {"failure": "failed", "error": "error"}.get(outcome, "skipped")
            case.cause, case.source_line = cause_of(child.get("message", ""), child.text or "")
            break
        report.cases.append(case)
    return report


def render(report: Report, args: argparse.Namespace) -> str:
    out = ["# s3-tests against eddy", ""]
    if args.s3_tests_commit:
        out.append(f"- s3-tests commit: `{args.s3_tests_commit}`")
    if args.eddy_version:
        out.append(f"- eddy: `{args.eddy_version}`")
    if args.selection:
        out.append(f"- selection: `-m \"{args.selection}\"`")
    if args.seconds is not None:
        out.append(f"- run time: {args.seconds} s")
    total = len(report.cases)
    counts = Counter(case.outcome for case in report.cases)
    out += ["", "| in scope | passed | failed | errored | skipped |", "|---|---|---|---|---|",
            f"| {total} | {counts['passed']} | {counts['failed']} | {counts['error']} "
            f"| {counts['skipped']} |", ""]
    if args.excluded:
        out += ["Not run:", ""]
        out += [f"- {reason}: {count}" for reason, count in
                (item.rsplit("=", 1) for item in args.excluded)]
        out.append("")

    broken = report.with_outcome("failed") + report.with_outcome("error")
    by_area: dict[str, list[Case]] = defaultdict(list)
    for case in broken:
        by_area[area_of(case)].append(case)
    out += ["## Failures and errors by area", "", "| area | count | main cause |", "|---|---|---|"]
    ranked = sorted(by_area.items(), key=lambda item: (-len(item[1]), item[0]))
    for area, cases in ranked:
        top, top_count = Counter(case.cause for case in cases).most_common(1)[0]
        out.append(f"| {area} | {len(cases)} | {top} ({top_count}) |")
    for area, cases in ranked:
        out += ["", f"### {area} ({len(cases)})", ""]
        by_cause: dict[str, list[Case]] = defaultdict(list)
        for case in cases:
            by_cause[case.cause].append(case)
        for cause, group in sorted(by_cause.items(), key=lambda item: (-len(item[1]), item[0])):
            out.append(f"- {len(group)} × `{cause}`")
            for case in sorted(group, key=lambda case: case.name):
                flags = " (marked fails_on_rgw)" if "fails_on_rgw" in case.markers else ""
                line = f" — `{case.source_line}`" if case.source_line and "assert" in cause else ""
                out.append(f"  - {case.name}{flags}{line}")

    skipped = report.with_outcome("skipped")
    if skipped:
        out += ["", f"## Skipped ({len(skipped)})", ""]
        for cause, count in Counter(case.cause for case in skipped).most_common():
            out.append(f"- {count} × {cause}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit_xml")
    parser.add_argument("--s3-tests-commit")
    parser.add_argument("--eddy-version")
    parser.add_argument("--selection")
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--excluded", action="append", default=[])
    args = parser.parse_args(argv[1:])
    sys.stdout.write(render(read(args.junit_xml), args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
