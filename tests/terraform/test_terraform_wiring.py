"""The wiring of terraform/, read from the HCL itself (python-hcl2), offline.

What it holds: every variable used is declared and every declared one used; the names
and defaults agree with eddy.toml.example; the notification is created after the queue
policy; the mapping reports batch item failures; the visibility timeout rule holds; the
role names the resources of every statement; the function is the zip that `cargo lambda
build` produces. The cross-variable preconditions are evaluated by `terraform console`
(no provider needed) for the defaults and for the cases they must refuse.
"""

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

hcl2 = pytest.importorskip(
    "hcl2", reason="python-hcl2 is not installed: pip install -r tests/terraform/requirements.txt"
)

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
EDDY_TOML = ROOT / "eddy.toml.example"

# eddy.toml keys that only `eddy up` has: on AWS the account and the credentials come from
# the provider's credential chain, never from Terraform variables, and queue URLs are AWS's.
LOCAL_ONLY_TOML_KEYS = {"account_id", "access_key_id", "secret_access_key", "additional_credentials", "sqs_queue_url_host"}

# Where the Lambda's package comes from (cargo lambda writes target/lambda/<binary>/bootstrap.zip).
BUILD_COMMAND = "cargo lambda build --release --output-format zip -p eddy-lambda"
ZIP_FROM_ROOT = "target/lambda/eddy-lambda/bootstrap.zip"

# The environment the function is given; the function's code must read these names.
FUNCTION_ENVIRONMENT = {"DESTINATION_BUCKET", "DESTINATION_PREFIX"}

VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")


# --- loading ---------------------------------------------------------------------------


def serialization_options():
    try:
        from hcl2.utils import SerializationOptions
    except ImportError:
        version = getattr(hcl2, "__version__", "unknown")
        pytest.fail(
            f"the `hcl2` module ({hcl2.__file__}, version {version}) is not python-hcl2 >= 8. "
            "It is probably bc-python-hcl2, which checkov installs under the same name: install "
            "checkov in its own virtualenv (bash tests/terraform/install-tools.sh) and "
            "`pip install --force-reinstall -r tests/terraform/requirements.txt`."
        )
    return SerializationOptions(with_comments=False, strip_string_quotes=True, explicit_blocks=False)


class Terraform:
    """Every top-level block of terraform/*.tf, by address."""

    def __init__(self, directory):
        options = serialization_options()
        self.variables, self.resources, self.data, self.locals, self.outputs = {}, {}, {}, {}, {}
        self.other = []
        for path in sorted(directory.glob("*.tf")):
            doc = hcl2.loads(path.read_text(), serialization_options=options)
            for kind, items in doc.items():
                for item in items:
                    if kind == "variable":
                        self._add(self.variables, item)
                    elif kind in ("resource", "data"):
                        target, prefix = (self.resources, "") if kind == "resource" else (self.data, "data.")
                        for rtype, named in item.items():
                            self._add(target, {f"{prefix}{rtype}.{name}": body for name, body in named.items()})
                    elif kind == "locals":
                        self._add(self.locals, item)
                    elif kind == "output":
                        self._add(self.outputs, item)
                    else:
                        self.other.append((kind, item))

    @staticmethod
    def _add(target, items):
        for name, body in items.items():
            assert name not in target, f"{name} is declared twice"
            target[name] = body

    def of_type(self, rtype):
        return {addr: body for addr, body in self.resources.items() if addr.startswith(rtype + ".")}

    def one(self, rtype):
        found = self.of_type(rtype)
        assert len(found) == 1, f"expected one {rtype}, found {sorted(found)}"
        return next(iter(found.items()))


@pytest.fixture(scope="module")
def tf():
    return Terraform(TERRAFORM_DIR)


def strings(value):
    """Every string inside a parsed value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def expr(value):
    """The expression of a `${...}` value that is one interpolation, else the value."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        inner = value[2:-1]
        if "${" not in inner:
            return inner
    return value


def block(body, name):
    """The single nested block `name` of a body."""
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected one {name} block, got {blocks!r}"
    return blocks[0]


def preconditions(body):
    return [p for lifecycle in body.get("lifecycle", []) for p in lifecycle.get("precondition", [])]


def address_of(reference):
    """`aws_sqs_queue.main.arn` -> `aws_sqs_queue.main`; `aws_s3_bucket.this["source"].id` -> `aws_s3_bucket.this["source"]`."""
    match = re.match(r'^(data\.)?([a-z0-9_]+\.[A-Za-z0-9_-]+(?:\["[^"]+"\])?)', expr(reference))
    assert match, f"not a reference: {reference!r}"
    return (match.group(1) or "") + match.group(2)


def default_of(tf, name):
    return tf.variables[name].get("default")


# --- variables -------------------------------------------------------------------------


def test_every_variable_used_is_declared_and_every_declared_one_used(tf):
    used = set()
    for section in (tf.resources, tf.data, tf.locals, tf.outputs):
        for text in strings(section):
            used.update(VAR_REF.findall(text))
    for _, item in tf.other:
        for text in strings(item):
            used.update(VAR_REF.findall(text))
    declared = set(tf.variables)
    assert used - declared == set(), f"used but not declared: {sorted(used - declared)}"
    assert declared - used == set(), f"declared but never used: {sorted(declared - used)}"


def test_every_variable_has_a_type_a_description_and_a_validation(tf):
    for name, body in tf.variables.items():
        assert body.get("type"), f"variable {name} has no type"
        assert len(body.get("description", "")) >= 20, f"variable {name} has no real description"
        validations = body.get("validation", [])
        assert validations, f"variable {name} has no validation block"
        for validation in validations:
            assert f"var.{name}" in validation["condition"], f"a validation of {name} does not test {name}"
            assert validation.get("error_message"), f"a validation of {name} has no error message"


def test_variable_names_and_defaults_agree_with_eddy_toml(tf):
    toml = tomllib.loads(EDDY_TOML.read_text())
    shared = set(toml) - LOCAL_ONLY_TOML_KEYS
    missing = shared - set(tf.variables)
    assert not missing, f"eddy.toml keys without a Terraform variable of the same name: {sorted(missing)}"
    expected_type = {bool: "bool", int: "number", float: "number", str: "string"}
    for key in sorted(shared):
        local_default = toml[key]
        body = tf.variables[key]
        assert expr(body["type"]) == expected_type[type(local_default)], f"{key}: type {body['type']} vs eddy.toml {local_default!r}"
        default = body.get("default")
        if key == "visibility_timeout_seconds":
            # null means 6 x function_timeout_seconds, which must come out at eddy's default.
            assert default is None
            default = 6 * default_of(tf, "function_timeout_seconds")
        assert type(default) is type(local_default) and default == local_default, (
            f"{key}: Terraform default {default!r}, eddy.toml default {local_default!r}"
        )


def test_local_only_settings_are_not_variables(tf):
    assert LOCAL_ONLY_TOML_KEYS & set(tf.variables) == set()
    # Credentials must not reach the provider block either.
    for kind, item in tf.other:
        if kind == "provider":
            for provider in item.values():
                assert not {"access_key", "secret_key", "token"} & set(provider), provider


def test_tfvars_example_sets_only_declared_variables(tf):
    example = hcl2.loads((TERRAFORM_DIR / "terraform.tfvars.example").read_text(), serialization_options=serialization_options())
    assert set(example) <= set(tf.variables), f"unknown variables: {sorted(set(example) - set(tf.variables))}"
    assert not LOCAL_ONLY_TOML_KEYS & set(example)


# --- queues and notification -------------------------------------------------------------


def test_queue_redrives_to_the_dlq_which_accepts_only_the_queue(tf):
    queues = tf.of_type("aws_sqs_queue")
    main = queues["aws_sqs_queue.main"]
    dlq = queues["aws_sqs_queue.dlq"]
    assert expr(main["name"]) == "var.queue_name" and expr(dlq["name"]) == "var.dlq_name"
    assert main["sqs_managed_sse_enabled"] is True and dlq["sqs_managed_sse_enabled"] is True
    redrive = expr(main["redrive_policy"])
    assert redrive.startswith("jsonencode(")
    assert re.search(r"deadLetterTargetArn\s*=\s*aws_sqs_queue\.dlq\.arn", redrive), redrive
    assert re.search(r"maxReceiveCount\s*=\s*var\.max_receive_count", redrive), redrive
    assert "redrive_policy" not in dlq

    _, allow = tf.one("aws_sqs_queue_redrive_allow_policy")
    assert address_of(allow["queue_url"]) == "aws_sqs_queue.dlq"
    allow_policy = expr(allow["redrive_allow_policy"])
    assert re.search(r'redrivePermission\s*=\s*"byQueue"', allow_policy), allow_policy
    assert re.search(r"sourceQueueArns\s*=\s*\[aws_sqs_queue\.main\.arn\]", allow_policy), allow_policy

    assert expr(main["message_retention_seconds"]) == "var.message_retention_seconds"
    assert expr(dlq["message_retention_seconds"]) == "var.dlq_message_retention_seconds"
    assert default_of(tf, "dlq_message_retention_seconds") > default_of(tf, "message_retention_seconds")


def test_visibility_timeout_is_derived_from_the_function_timeout(tf):
    queue = tf.resources["aws_sqs_queue.main"]
    assert expr(queue["visibility_timeout_seconds"]) == "local.visibility_timeout_seconds"
    local = re.sub(r"\s+", "", expr(tf.locals["visibility_timeout_seconds"]))
    assert local == "coalesce(var.visibility_timeout_seconds,6*var.function_timeout_seconds)", local
    # With the defaults: null -> 6 x 5 s = 30 s, at least the function timeout.
    timeout = default_of(tf, "function_timeout_seconds")
    visibility = default_of(tf, "visibility_timeout_seconds")
    effective = 6 * timeout if visibility is None else visibility
    assert effective >= timeout
    assert effective == 30


def test_queue_policy_lets_only_the_source_bucket_of_this_account_send(tf):
    _, policy = tf.one("aws_sqs_queue_policy")
    assert address_of(policy["queue_url"]) == "aws_sqs_queue.main"
    document = tf.data[address_of(policy["policy"])]
    statements = document["statement"]
    allows = [s for s in statements if s.get("effect", "Allow") == "Allow"]
    assert len(allows) == 1, allows
    allow = allows[0]
    assert allow["actions"] == ["sqs:SendMessage"]
    assert [address_of(r) for r in allow["resources"]] == ["aws_sqs_queue.main"]
    assert allow["principals"] == [{"type": "Service", "identifiers": ["s3.amazonaws.com"]}]
    conditions = {c["variable"]: c for c in allow["condition"]}
    assert set(conditions) == {"aws:SourceArn", "aws:SourceAccount"}
    assert conditions["aws:SourceArn"]["test"] in ("ArnEquals", "ArnLike")
    assert [expr(v) for v in conditions["aws:SourceArn"]["values"]] == ['aws_s3_bucket.this["source"].arn']
    assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
    assert [expr(v) for v in conditions["aws:SourceAccount"]["values"]] == ["local.account_id"]
    assert expr(tf.locals["account_id"]) == "data.aws_caller_identity.current.account_id"
    for statement in statements:
        if statement is not allow:
            assert statement["effect"] == "Deny", statement


def test_notification_sends_object_created_to_the_queue_after_the_policy(tf):
    address, notification = tf.one("aws_s3_bucket_notification")
    assert address_of(notification["bucket"]) == 'aws_s3_bucket.this["source"]'
    assert expr(tf.locals["buckets"]["source"]["name"]) == "var.source_bucket_name"
    queue = block(notification, "queue")
    assert address_of(queue["queue_arn"]) == "aws_sqs_queue.main"
    assert queue["events"] == ["s3:ObjectCreated:*"]
    assert "var.notification_filter_prefix" in queue["filter_prefix"]
    assert "var.notification_filter_suffix" in queue["filter_suffix"]
    policy_address, policy = tf.one("aws_sqs_queue_policy")
    assert address_of(policy["queue_url"]) == address_of(queue["queue_arn"])
    depends_on = [expr(d) for d in notification.get("depends_on", [])]
    assert policy_address in depends_on, f"{address} must depend on {policy_address}: {depends_on}"


# --- function and mapping ------------------------------------------------------------------


def test_mapping_feeds_the_function_and_reports_batch_item_failures(tf):
    _, mapping = tf.one("aws_lambda_event_source_mapping")
    assert address_of(mapping["event_source_arn"]) == "aws_sqs_queue.main"
    assert address_of(mapping["function_name"]) == "aws_lambda_function.copy"
    response_types = expr(mapping["function_response_types"])
    assert "var.report_batch_item_failures" in response_types and '"ReportBatchItemFailures"' in response_types
    assert re.fullmatch(r'var\.report_batch_item_failures\s*\?\s*\["ReportBatchItemFailures"\]\s*:\s*\[\]', response_types)
    assert default_of(tf, "report_batch_item_failures") is True
    assert expr(mapping["batch_size"]) == "var.batch_size"
    assert expr(mapping["maximum_batching_window_in_seconds"]) == "var.maximum_batching_window_seconds"
    assert expr(block(mapping, "scaling_config")["maximum_concurrency"]) == "var.maximum_concurrency"


def test_function_is_the_zip_that_cargo_lambda_builds(tf):
    function = tf.resources["aws_lambda_function.copy"]
    assert function["runtime"] == "provided.al2023"
    assert function["handler"] == "bootstrap"
    assert [expr(a) for a in function["architectures"]] == ["var.lambda_architecture"]
    assert default_of(tf, "lambda_architecture") in ("x86_64", "arm64")
    assert expr(function["filename"]) == "local.lambda_zip_path"
    assert expr(function["source_code_hash"]) == "filebase64sha256(local.lambda_zip_path)"
    assert "var.lambda_zip_path" in tf.locals["lambda_zip_path"] and "path.module" in tf.locals["lambda_zip_path"]
    default_zip = default_of(tf, "lambda_zip_path")
    assert default_zip == "../" + ZIP_FROM_ROOT
    assert (TERRAFORM_DIR / default_zip).resolve() == (ROOT / ZIP_FROM_ROOT).resolve()
    assert expr(function["timeout"]) == "var.function_timeout_seconds"
    assert expr(function["memory_size"]) == "var.function_memory_mb"
    assert expr(function["function_name"]) == "var.function_name"
    variables = block(function, "environment")["variables"]
    assert set(variables) == FUNCTION_ENVIRONMENT
    assert expr(variables["DESTINATION_BUCKET"]) == 'aws_s3_bucket.this["destination"].id'
    assert expr(variables["DESTINATION_PREFIX"]) == "var.destination_prefix"
    assert expr(tf.locals["buckets"]["destination"]["name"]) == "var.destination_bucket_name"


def test_function_log_group_exists_before_the_function(tf):
    function = tf.resources["aws_lambda_function.copy"]
    group_address, group = tf.one("aws_cloudwatch_log_group")
    assert group_address in [expr(d) for d in function.get("depends_on", [])]
    assert expr(group["name"]) == "local.log_group_name"
    assert tf.locals["log_group_name"] == "/aws/lambda/${var.function_name}"
    assert expr(group["retention_in_days"]) == "var.log_retention_days"


def test_lambda_crate_produces_the_zip_and_reads_the_environment():
    """Once crates/eddy-lambda exists: its binary is named so that cargo lambda writes
    target/lambda/eddy-lambda/bootstrap.zip, and the workspace reads the environment
    variables that Terraform sets."""
    crate = ROOT / "crates" / "eddy-lambda"
    manifest = crate / "Cargo.toml"
    if not manifest.exists():
        pytest.skip("crates/eddy-lambda does not exist yet")
    cargo = tomllib.loads(manifest.read_text())
    binaries = [b["name"] for b in cargo.get("bin", [])]
    if not binaries and (crate / "src" / "main.rs").exists():
        binaries = [cargo["package"]["name"]]
    binaries += [p.stem for p in (crate / "src" / "bin").glob("*.rs")]
    zip_directory = Path(ZIP_FROM_ROOT).parent.name
    assert zip_directory in binaries, (
        f"cargo lambda writes target/lambda/<binary name>/bootstrap.zip; the binaries of {manifest} are "
        f"{binaries}, so {ZIP_FROM_ROOT} would not exist (inside the zip the executable is always `bootstrap`)"
    )
    sources = "\n".join(p.read_text() for p in (ROOT / "crates").glob("*/src/**/*.rs"))
    for name in sorted(FUNCTION_ENVIRONMENT):
        assert f'"{name}"' in sources, f"Terraform sets {name} for the function, but no crate reads it"


# --- permissions -----------------------------------------------------------------------------


def test_every_policy_statement_names_its_resources(tf):
    documents = {a: d for a, d in tf.data.items() if a.startswith("data.aws_iam_policy_document.")}
    assert documents
    for address, document in documents.items():
        for statement in document["statement"]:
            where = f"{address} statement {statement.get('sid', '?')}"
            assert "not_resources" not in statement and "not_actions" not in statement, where
            if statement["actions"] == ["sts:AssumeRole"]:
                # A trust policy names who may assume the role, not resources.
                assert statement.get("principals"), where
                assert "resources" not in statement, where
                continue
            resources = statement.get("resources", [])
            assert resources, f"{where} names no resources"
            for resource in resources:
                assert resource.strip() not in ("*", ""), f"{where} has resource {resource!r}"
                assert not re.fullmatch(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:\*", resource), f"{where}: {resource!r}"
            if statement.get("effect", "Allow") == "Allow":
                for action in statement["actions"]:
                    assert "*" not in action, f"{where} allows the wildcard action {action}"


def test_function_role_has_least_privilege(tf):
    function = tf.resources["aws_lambda_function.copy"]
    role_address = address_of(function["role"])
    assert role_address == "aws_iam_role.function"
    role = tf.resources[role_address]
    trust = tf.data[address_of(role["assume_role_policy"])]["statement"]
    assert trust == [
        {"sid": trust[0].get("sid"), "effect": "Allow", "actions": ["sts:AssumeRole"],
         "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]}
    ], trust
    assert not tf.of_type("aws_iam_role_policy_attachment"), "managed policies grant Resource \"*\""
    assert "managed_policy_arns" not in role

    policies = [p for p in tf.of_type("aws_iam_role_policy").values() if address_of(p["role"]) == role_address]
    assert len(policies) == 1
    statements = tf.data[address_of(policies[0]["policy"])]["statement"]
    grants = {}
    for statement in statements:
        assert statement.get("effect", "Allow") == "Allow"
        for resource in statement["resources"]:
            grants.setdefault(expr(resource), set()).update(statement["actions"])

    source_objects = '${aws_s3_bucket.this["source"].arn}/*'
    destination_objects = '${aws_s3_bucket.this["destination"].arn}/*'
    queue = "aws_sqs_queue.main.arn"
    logs = "${aws_cloudwatch_log_group.function.arn}:*"
    # Needed, and the most that is allowed, per resource: read-only on the source (a write
    # there would raise new events), write-only on the destination.
    source_actions = grants.pop(source_objects)
    assert "s3:GetObject" in source_actions
    assert source_actions <= {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"}
    assert grants.pop('aws_s3_bucket.this["source"].arn', set()) <= {"s3:ListBucket"}
    destination_actions = grants.pop(destination_objects)
    assert "s3:PutObject" in destination_actions
    assert destination_actions <= {"s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"}
    assert grants.pop(queue) == {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    }
    assert grants.pop(logs) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert grants == {}, f"grants beyond the pipeline's needs: {grants}"
    for text in strings(statements):
        assert "dlq" not in text, "the function has no business with the dead-letter queue"


def test_kms_key_policy_limits_the_services_it_admits(tf):
    _, key = tf.one("aws_kms_key")
    assert key["enable_key_rotation"] is True
    policy = expr(key["policy"])
    services = re.findall(r"Principal\s*=\s*\{\s*Service\s*=", policy)
    assert len(services) == 2
    assert len(re.findall(r"Condition\s*=", policy)) == len(services), "each service statement needs a condition"
    assert not re.search(r"Principal\s*=\s*\"\*\"|AWS\s*=\s*\"\*\"", policy)
    _, topic = tf.one("aws_sns_topic")
    assert address_of(topic["kms_master_key_id"]) == "aws_kms_key.pipeline"
    assert address_of(tf.resources["aws_cloudwatch_log_group.function"]["kms_key_id"]) == "aws_kms_key.pipeline"


# --- storage -------------------------------------------------------------------------------


def test_buckets_are_private_encrypted_and_owned(tf):
    buckets = tf.resources["aws_s3_bucket.this"]
    assert expr(buckets["for_each"]) == "local.buckets"
    assert set(tf.locals["buckets"]) == {"source", "destination"}
    for rtype in (
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
    ):
        _, body = tf.one(rtype)
        assert expr(body["for_each"]) == "aws_s3_bucket.this", f"{rtype} must cover both buckets"
    _, block_public = tf.one("aws_s3_bucket_public_access_block")
    for setting in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block_public[setting] is True, setting
    _, ownership = tf.one("aws_s3_bucket_ownership_controls")
    assert block(ownership, "rule")["object_ownership"] == "BucketOwnerEnforced"
    _, encryption = tf.one("aws_s3_bucket_server_side_encryption_configuration")
    default = block(block(encryption, "rule"), "apply_server_side_encryption_by_default")
    assert expr(default["sse_algorithm"]) == "var.bucket_sse_algorithm"
    _, versioning = tf.one("aws_s3_bucket_versioning")
    assert "var.bucket_versioning" in block(versioning, "versioning_configuration")["status"]
    _, lifecycle = tf.one("aws_s3_bucket_lifecycle_configuration")
    rule_ids = {rule["id"] for rule in lifecycle["rule"]}
    assert "abort-incomplete-multipart-uploads" in rule_ids
    expiry = [d["rule"] for d in lifecycle.get("dynamic", []) if "rule" in d]
    assert len(expiry) == 1 and "expiration_days" in expiry[0]["for_each"], "optional expiry rule missing"


# --- monitoring and outputs ------------------------------------------------------------------


def test_alarms_watch_the_pipeline_and_notify_the_topic(tf):
    alarms = tf.of_type("aws_cloudwatch_metric_alarm")
    by_metric = {(a["namespace"], a["metric_name"]): a for a in alarms.values()}
    dlq = by_metric[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    assert address_of(dlq["dimensions"]["QueueName"]) == "aws_sqs_queue.dlq"
    assert dlq["threshold"] == 0 and dlq["comparison_operator"] == "GreaterThanThreshold"
    assert dlq["treat_missing_data"] == "notBreaching"
    age = by_metric[("AWS/SQS", "ApproximateAgeOfOldestMessage")]
    assert address_of(age["dimensions"]["QueueName"]) == "aws_sqs_queue.main"
    assert expr(age["threshold"]) == "var.oldest_message_age_alarm_seconds"
    for metric in ("Errors", "Throttles"):
        alarm = by_metric[("AWS/Lambda", metric)]
        assert alarm["threshold"] == 0 and alarm["comparison_operator"] == "GreaterThanThreshold", metric
        assert address_of(alarm["dimensions"]["FunctionName"]) == "aws_lambda_function.copy"
    duration = by_metric[("AWS/Lambda", "Duration")]
    assert "var.function_timeout_seconds" in duration["threshold"]
    for address, alarm in alarms.items():
        assert expr(alarm["alarm_actions"]) == "local.alarm_actions", address
        # The topic and key policies admit only alarms named like this pipeline's.
        assert alarm["alarm_name"].startswith("${var.function_name}-"), address
    assert tf.locals["alarm_arn_pattern"].endswith(":alarm:${var.function_name}-*")
    _, topic_policy = tf.one("aws_sns_topic_policy")
    assert address_of(topic_policy["arn"]) == "aws_sns_topic.alarms"
    publish = tf.data[address_of(topic_policy["policy"])]["statement"]
    assert [s["principals"] for s in publish] == [[{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]]
    assert {c["variable"] for c in publish[0]["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}
    assert [address_of(a) for a in tf.locals["alarm_actions"]] == ["aws_sns_topic.alarms"]
    _, subscription = tf.one("aws_sns_topic_subscription")
    assert re.fullmatch(r'var\.alarm_email\s*==\s*""\s*\?\s*0\s*:\s*1', expr(subscription["count"]))
    assert expr(subscription["endpoint"]) == "var.alarm_email"
    _, dashboard = tf.one("aws_cloudwatch_dashboard")
    assert expr(dashboard["dashboard_body"]).startswith("jsonencode(")


def test_outputs_name_what_a_user_needs(tf):
    required = {
        "source_bucket_name", "destination_bucket_name", "queue_url", "queue_arn",
        "dlq_url", "dlq_arn", "function_name", "dashboard_url",
    }
    assert required <= set(tf.outputs), sorted(required - set(tf.outputs))
    for name, output in tf.outputs.items():
        assert output.get("description"), f"output {name} has no description"


def test_versions_are_pinned(tf):
    blocks = [item for kind, item in tf.other if kind == "terraform"]
    assert len(blocks) == 1
    settings = blocks[0]
    assert re.fullmatch(r">=\s*1\.(5|[6-9]|\d\d)(\.\d+)?", settings["required_version"]), settings["required_version"]
    aws = block(settings, "required_providers")["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~>\s*\d+\.0", aws["version"]), f"pin the AWS provider to one major version: {aws['version']}"


def test_readme_lists_the_deploy_commands():
    readme = (TERRAFORM_DIR / "README.md").read_text()
    for command in (
        BUILD_COMMAND,
        "terraform init",
        "terraform plan",
        "terraform apply",
        "aws s3 cp",
        "aws s3 ls",
        "terraform destroy",
        ZIP_FROM_ROOT,
    ):
        assert command in readme, f"terraform/README.md does not show `{command}`"


# --- cross-variable rules, evaluated by Terraform ----------------------------------------------

# (variables set, conditions expected false: identified by a variable they test)
PRECONDITION_CASES = [
    ({}, set()),
    ({"batch_size": 11}, {"maximum_batching_window_seconds"}),
    ({"batch_size": 11, "maximum_batching_window_seconds": 1}, set()),
    ({"batch_size": 10000, "maximum_batching_window_seconds": 300}, set()),
    ({"function_timeout_seconds": 60, "visibility_timeout_seconds": 30}, {"function_timeout_seconds"}),
    ({"function_timeout_seconds": 60, "visibility_timeout_seconds": 60}, set()),
    ({"function_timeout_seconds": 900}, set()),
    ({"function_timeout_seconds": 60}, set()),
    ({"message_retention_seconds": 1209600, "dlq_message_retention_seconds": 345600}, {"dlq_message_retention_seconds"}),
    ({"source_bucket_name": "same-bucket", "destination_bucket_name": "same-bucket"}, {"destination_bucket_name"}),
    ({"queue_name": "events", "dlq_name": "events"}, {"dlq_name"}),
]


def test_preconditions_hold_for_the_defaults_and_refuse_what_aws_refuses(tf, tmp_path):
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed (not on PATH)")
    conditions = sorted({expr(p["condition"]) for body in tf.resources.values() for p in preconditions(body)})
    rules = " ".join(conditions)
    assert "var.batch_size" in rules and "var.maximum_batching_window_seconds" in rules
    assert "local.visibility_timeout_seconds >= var.function_timeout_seconds" in rules
    # Only variables and the visibility local: evaluable without a provider.
    for condition in conditions:
        for reference in re.findall(r"\b(local|data|aws_[a-z0-9_]+)\.[A-Za-z_]+", condition):
            assert reference == "local", condition
        assert set(re.findall(r"\blocal\.([A-Za-z_]+)", condition)) <= {"visibility_timeout_seconds"}, condition

    shutil.copy(TERRAFORM_DIR / "variables.tf", tmp_path / "variables.tf")
    (tmp_path / "locals.tf").write_text(
        "locals {\n  visibility_timeout_seconds = %s\n}\n" % expr(tf.locals["visibility_timeout_seconds"])
    )
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    program = "jsonencode([%s])\n" % ", ".join(f"({c})" for c in conditions)
    for number, (values, expected_false) in enumerate(PRECONDITION_CASES):
        var_file = tmp_path / f"case{number}.tfvars.json"
        var_file.write_text(json.dumps(values))
        result = subprocess.run(
            [terraform, "console", f"-var-file={var_file}"],
            cwd=tmp_path, env=env, input=program, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, f"{values}: {result.stderr}"
        outcome = json.loads(json.loads(result.stdout.strip()))
        failed = {c for c, ok in zip(conditions, outcome) if not ok}
        wanted = {c for c in conditions if any(f"var.{name}" in c for name in expected_false)}
        assert failed == wanted, f"with {values}: false conditions {sorted(failed)}, expected {sorted(wanted)}"
