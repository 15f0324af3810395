"""Why SQS conformance tests fail: one list of causes per suite, first match wins.

A cause claims a failed test by the test's name (`tests`, a regular expression searched
in `module::Class::test_name[params]`) or by the failure's text (`text`, searched in the
assertion message and traceback). Its verdict says whose behaviour the failure shows:

- `gap: <category>`: the target answers differently from AWS, and the evidence says
  what AWS does (issue 15's categories where one fits);
- `differs on purpose`: a difference eddy's README documents;
- `suite's own behaviour`: the test expects what moto or LocalStack do, not AWS;
- `outside the target`: the test needs another AWS service;
- `harness`: the way the suite is run against an external endpoint, not SQS;
- `undetermined`: no AWS recording or document settles it.

The evidence names what the verdict rests on: LocalStack's snapshots recorded against
AWS (`tests/aws/services/sqs/test_sqs.snapshot.json`), AWS documentation, botocore's
model, or moto's `@aws_verified` tests.

This module holds data only; summarise.py applies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LS_SNAPSHOT = "LocalStack's AWS-recorded snapshot"


@dataclass(frozen=True)
class Cause:
    key: str
    title: str
    verdict: str
    evidence: str
    tests: str = ""
    text: str = ""

    def claims(self, test: str, failure_text: str) -> bool:
        if self.tests and re.search(self.tests, test):
            return True
        return bool(self.text and re.search(self.text, failure_text))


def names(*test_names: str) -> str:
    """A `tests` pattern for these test functions, with or without parameters."""
    return r"::(" + "|".join(re.escape(n) for n in test_names) + r")(\[|$)"


GAP_ERRORS = "gap: error shapes and messages"
GAP_FIFO = "gap: FIFO semantics"
GAP_QUERY = "gap: query protocol unknown/missing Action"

# Causes both suites share.
BOOLEAN_CASE = Cause(
    key="boolean-case",
    title="Boolean attribute values in another case (`True`, `False`)",
    verdict="gap: boolean case-insensitivity",
    evidence=(
        "The tests create FIFO queues with `FifoQueue` / `ContentBasedDeduplication` set "
        "to `True`; the target takes `True` for not-true and then refuses the `.fifo` "
        f"name. AWS accepts them ({LS_SNAPSHOT}s of these tests were recorded with `True`)."
    ),
    text=r"The name of a FIFO queue can only include",
)

MESSAGE_ATTRIBUTE_PREFIX = Cause(
    key="message-attribute-prefix",
    title="MessageAttributeNames `prefix.*` and `*`",
    verdict="gap: MessageAttributeNames prefixes",
    evidence=(
        f"{LS_SNAPSHOT} of test_receive_message_message_attribute_names_filters: `Hel.*` "
        "returns `Hello` and `Help.Me` (the prefix is everything before `.*`, no dot "
        "needed), and `*` returns every attribute."
    ),
    tests=names("test_receive_message_message_attribute_names_filters",
                "test_message_attributes_with_wildcards"),
)

CHANGE_VISIBILITY_OLD_HANDLE = Cause(
    key="change-visibility-old-handle",
    title="ChangeMessageVisibility after expiry or with an older receipt handle",
    verdict="gap: ChangeMessageVisibility after expiry",
    evidence=(
        "AWS-validated LocalStack tests: ChangeMessageVisibility succeeds after the "
        "visibility timeout expired (test_change_message_visibility_after_visibility_"
        "timeout_expiration) and with the handle of an earlier receive while a later "
        "receive holds the message (test_terminate_visibility_timeout_after_receive). "
        "The target answers MessageNotInflight. moto's tests say the same ('this is "
        "allowed in AWS')."
    ),
    tests=names("test_change_message_visibility_after_visibility_timeout_expiration",
                "test_terminate_visibility_timeout_after_receive",
                "test_change_message_visibility_on_old_message",
                "test_batch_change_message_visibility_on_old_message"),
)

FIFO_BATCH_VALIDATION = Cause(
    key="fifo-batch-validation",
    title="FIFO batch entries without MessageGroupId / MessageDeduplicationId",
    verdict=GAP_FIFO,
    evidence=(
        f"{LS_SNAPSHOT} of test_send_batch_missing_message_group_id_for_fifo_queue: AWS "
        "fails the whole SendMessageBatch request (400 InvalidParameterValue, 'The "
        "request must contain the parameter MessageGroupId.'); the target reports the "
        "entry in `Failed` and sends the rest."
    ),
    tests=names("test_send_batch_missing_deduplication_id_for_fifo_queue",
                "test_send_batch_missing_message_group_id_for_fifo_queue",
                "test_send_messages_to_fifo_without_message_group_id",
                "test_fifo_dedupe_error_no_message_dedupe_id_batch"),
)

FIFO_SCOPE_CHANGE = Cause(
    key="fifo-scope-change",
    title="Deduplication after DeduplicationScope changes to messageGroup",
    verdict=GAP_FIFO,
    evidence=(
        f"{LS_SNAPSHOT} of test_fifo_change_to_high_throughput_after_creation: after "
        "SetQueueAttributes turns a queue's DeduplicationScope from queue to messageGroup, "
        "AWS still deduplicates across groups (the test's comment: 'behaviour does not seem "
        "to change on AWS'); the target applies the new scope to later sends."
    ),
    tests=names("test_fifo_change_to_high_throughput_after_creation"),
)

FIFO_TYPE_ATTRIBUTES = Cause(
    key="fifo-type-attributes",
    title="FIFO-only attributes on standard queues, and FifoQueue on SetQueueAttributes",
    verdict=GAP_ERRORS,
    evidence=(
        f"{LS_SNAPSHOT}s: CreateQueue of a standard queue with `FifoQueue=false` or "
        "`ContentBasedDeduplication` answers InvalidAttributeName 'Unknown Attribute "
        "FifoQueue.'; with DeduplicationScope or FifoThroughputLimit 'You can specify the "
        "DeduplicationScope only when FifoQueue is set to true.'; SetQueueAttributes "
        "`FifoQueue=true` on a FIFO queue succeeds (test_set_unsupported_attribute_fifo)."
    ),
    tests=names("test_create_standard_queue_with_fifo_attribute_raises_error",
                "test_set_unsupported_attribute_fifo"),
)

CAUSES: dict[str, list[Cause]] = {}

CAUSES["localstack"] = [
    BOOLEAN_CASE,
    MESSAGE_ATTRIBUTE_PREFIX,
    CHANGE_VISIBILITY_OLD_HANDLE,
    FIFO_BATCH_VALIDATION,
    FIFO_SCOPE_CHANGE,
    FIFO_TYPE_ATTRIBUTES,
    Cause(
        key="retention-localstack-branch",
        title="MessageRetentionPeriod of 2 s in the suite's non-AWS branch",
        verdict="suite's own behaviour",
        evidence=(
            "The tests use 60 s when run against AWS and 2 s otherwise (`is_aws_cloud()`), "
            "and turn on a LocalStack setting in-process (`requires_in_process`). AWS's "
            "range is 60..1,209,600 (the tests' own comment, and the CreateQueue "
            "documentation); the target rejects 2 as AWS would."
        ),
        tests=names("test_message_retention", "test_message_retention_fifo",
                    "test_message_retention_with_inflight"),
    ),
    Cause(
        key="query-error-code",
        title="`__type` of InvalidParameterValue and MissingParameter errors",
        verdict="gap: error shapes (`__type`/`x-amzn-query-error`)",
        evidence=(
            f"{LS_SNAPSHOT}s: in the JSON protocol AWS's `__type` names "
            "`InvalidParameterValueException` and `MissingRequiredParameterException` "
            "(botocore reports them as QueryErrorCode) while `x-amzn-query-error` keeps "
            "`InvalidParameterValue` / `MissingParameter`; the target repeats the query "
            "code in `__type`."
        ),
        text=r"QueryErrorCode '(InvalidParameterValueException|MissingRequiredParameterException)'",
    ),
    Cause(
        key="fifo-group-order",
        title="FIFO receive order and visibility across message groups",
        verdict=GAP_FIFO,
        evidence=(
            "AWS-validated tests: one receive returns a group's messages together before "
            "the next group's (g1-m1, g1-m2, g1-m3, g2-m1), and changing or ending the "
            "visibility of one message frees its group; the ReceiveMessage documentation "
            "says SQS returns as many messages of one group as it can."
        ),
        tests=names("test_fifo_receive_message_group_id_ordering",
                    "test_fifo_receive_message_visibility_timeout_shared_in_group",
                    "test_fifo_receive_message_with_zero_visibility_timeout",
                    "test_fifo_message_group_visibility_after_terminate_visibility_timeout",
                    "test_fifo_message_group_visibility_after_change_message_visibility",
                    "test_fifo_group_visibility_extends_with_change_message_visibility",
                    "test_fifo_message_group_visibility_after_delete",
                    "test_fifo_message_group_visibility_after_partial_delete"),
    ),
    Cause(
        key="fifo-delay-and-purge",
        title="FIFO queue delay with DelaySeconds=0, and PurgeQueue clearing deduplication",
        verdict=GAP_FIFO,
        evidence=(
            "AWS-validated tests: a FIFO message sent with DelaySeconds=0 still waits the "
            "queue's DelaySeconds (test_fifo_queue_send_message_with_zero_delay_defaults_to_"
            "queue_delay); after PurgeQueue a message with a used deduplication id is "
            "accepted again (test_purge_queue_clears_fifo_deduplication_cache)."
        ),
        tests=names("test_fifo_queue_send_message_with_zero_delay_defaults_to_queue_delay",
                    "test_purge_queue_clears_fifo_deduplication_cache"),
    ),
    Cause(
        key="aws-trace-header",
        title="AWSTraceHeader system attribute",
        verdict="gap: AWSTraceHeader",
        evidence=(
            "AWS-validated test_aws_trace_header_propagation: SendMessage with an HTTP "
            "header `X-Amzn-Trace-Id` (and no AWSTraceHeader system attribute) is received "
            "with that value as `Attributes.AWSTraceHeader`. The target keeps an "
            "AWSTraceHeader sent as a system attribute, not the header."
        ),
        tests=names("test_aws_trace_header_propagation"),
    ),
    Cause(
        key="query-action-on-queue-url",
        title="Query requests on a queue URL: no Action, or a service-level Action",
        verdict=GAP_QUERY,
        evidence=(
            "AWS-validated tests: GET on a queue URL without Action answers 404 "
            "`<UnknownOperationException/>`; CreateQueue or ListQueues on a queue URL answer "
            "400 InvalidAction 'The action CreateQueue is not valid for this endpoint.'"
        ),
        tests=names("test_get_without_query_returns_unknown_operation",
                    "test_get_without_query_json_format_returns_returns_xml",
                    "test_get_create_queue_fails", "test_get_list_queues_fails"),
    ),
    Cause(
        key="query-json-negotiation",
        title="Query GET with `Accept: application/json` answered in XML",
        verdict="gap: query protocol (content negotiation)",
        evidence=(
            "AWS-validated tests: a query-protocol GET with `Accept: application/json` gets "
            "a JSON document (`{\"ListQueuesResponse\": ...}`); without it, XML."
        ),
        tests=names("test_marker_serialization_json_protocol",
                    "test_get_list_queues_with_query_auth",
                    "test_get_list_queues_fails_json_format",
                    "test_get_queue_attributes_json_format"),
    ),
    Cause(
        key="query-wsdl-message",
        title="Query protocol NonExistentQueue message",
        verdict=GAP_ERRORS,
        evidence=(
            f"{LS_SNAPSHOT} of test_non_existent_queue: in the query protocol AWS still says "
            "'The specified queue does not exist for this wsdl version.'; the JSON protocol "
            "says 'The specified queue does not exist.'"
        ),
        tests=names("test_non_existent_queue", "test_get_on_deleted_queue_fails"),
    ),
    Cause(
        key="query-empty-element",
        title="Empty `<ReceiveMessageResult/>` written as an open and close tag",
        verdict="gap: query protocol XML (textual only)",
        evidence=(
            "The AWS-validated test compares text: AWS writes the empty result as "
            "`<ReceiveMessageResult/>`. Both forms are the same XML; only text comparisons "
            "see the difference."
        ),
        tests=names("test_get_send_and_receive_messages"),
    ),
    Cause(
        key="message-attribute-name-charset",
        title="Non-ASCII letters in message attribute names",
        verdict=GAP_ERRORS,
        evidence=(
            "AWS-validated test_send_message_with_invalid_string_attributes sends the "
            "attribute name `attr.1øßä` as its valid baseline: AWS's 'alphanumeric' "
            "includes non-ASCII letters. The target rejects it."
        ),
        tests=names("test_send_message_with_invalid_string_attributes"),
    ),
    Cause(
        key="error-messages",
        title="Error codes and messages of message attribute and permission errors",
        verdict=GAP_ERRORS,
        evidence=(
            f"{LS_SNAPSHOT}s: an empty String attribute says \"Message (user) attribute "
            "'X' must contain a non-empty value of type 'String'.\"; an attribute value with "
            "invalid characters is InvalidParameterValue (not InvalidMessageContents); "
            "RemovePermission of an unknown label says \"... Reason: can't find label.\"; "
            "the policy AddPermission writes has `Version` 2008-10-17."
        ),
        tests=names("test_send_message_with_empty_string_attribute",
                    "test_invalid_string_attributes_cause_invalid_parameter_value_error",
                    "test_sqs_permission_lifecycle"),
    ),
    Cause(
        key="batch-empty-failed",
        title="SendMessageBatch answers an empty `Failed` list",
        verdict="gap: response shape",
        evidence=(
            f"{LS_SNAPSHOT} (JSON protocol): when every entry succeeds AWS leaves `Failed` "
            "out; the target sends `\"Failed\": []`."
        ),
        tests=names("test_send_message_batch_with_oversized_contents_with_updated_"
                    "maximum_message_size"),
    ),
    Cause(
        key="move-task",
        title="Message move tasks: CancelMessageMoveTask errors, COMPLETED status",
        verdict="gap: message move tasks",
        evidence=(
            f"{LS_SNAPSHOT}s (test_sqs_move_task.py): a malformed task handle is 400 "
            "InvalidParameterValue 'Value for parameter TaskHandle is invalid.'; a handle "
            "naming an unknown source says \"The resource that you specified for the "
            "SourceArn parameter doesn't exist.\"; once all messages moved, "
            "ListMessageMoveTasks reports COMPLETED and no TaskHandle (the target still "
            "says RUNNING)."
        ),
        tests=names("test_cancel_with_invalid_task_handle",
                    "test_cancel_with_invalid_source_arn_in_task_handle",
                    "test_basic_move_task_workflow",
                    "test_move_task_workflow_with_default_destination"),
    ),
    Cause(
        key="sse-kms-exclusive",
        title="SqsManagedSseEnabled together with KmsMasterKeyId accepted",
        verdict="gap: attribute validation",
        evidence=(
            "AWS-validated test_sse_kms_and_sqs_are_mutually_exclusive (LocalStack skips it, "
            "run with SQS_CONFORMANCE_UNSKIP=1): AWS refuses a queue with both kinds of "
            "server-side encryption."
        ),
        tests=names("test_sse_kms_and_sqs_are_mutually_exclusive"),
    ),
    Cause(
        key="no-recording",
        title="Test without a recorded snapshot",
        verdict="harness",
        evidence=(
            "LocalStack skips these tests and has no AWS recording for them; they prove "
            "nothing either way."
        ),
        text=r"No state for \S+ recorded",
    ),
    Cause(
        key="localstack-signing-name",
        title="Requests signed for the service `sqs_query`",
        verdict="harness",
        evidence=(
            "The `off` case (LocalStack-only, `requires_in_process`) signs its query "
            "requests with LocalStack's invented service name `sqs_query`; no AWS endpoint "
            "knows it, and the target sends such requests to S3, which refuses them (501)."
        ),
        tests=r"::test_endpoint_strategy_with_multi_region\[off\]",
    ),
    Cause(
        key="regions",
        title="Queues per region",
        verdict="queue URL host form: regions and queue URL host forms",
        evidence=(
            "The tests create the same queue name in two regions and expect two queues "
            "with different URLs. eddy keeps queues per region, but by default its queue "
            "URLs keep the host the client used (`localhost:4566`), so the URLs of two "
            "regions are equal; `sqs_queue_url_host = \"sqs-region\"` gives AWS's "
            "`sqs.<region>.` form (the `standard` strategy), `region-queue` the `domain` one. "
            "The tests switch LocalStack's strategy in-process, which cannot reach eddy."
        ),
        tests=names("test_get_queue_url_multi_region",
                    "test_list_queues_multi_region_with_endpoint_strategy_standard",
                    "test_list_queues_multi_region_with_endpoint_strategy_domain",
                    "test_endpoint_strategy_with_multi_region"),
    ),
    Cause(
        key="localstack-url-form",
        title="LocalStack's queue URL host (`sqs.<region>.localhost.localstack.cloud`)",
        verdict="suite's own behaviour: regions and queue URL host forms",
        evidence=(
            "The snapshot rewrites AWS's `https://sqs.<region>.amazonaws.com` to "
            "LocalStack's host before comparing, so only LocalStack's URL form can match; "
            "the target's URLs use the host the client called."
        ),
        text=r"sqs\.<region>\.localhost\.localstack\.cloud",
    ),
    Cause(
        key="standard-queue-order",
        title="Standard queue: a message whose visibility expired comes before newer ones",
        verdict="gap: standard queue best-effort order",
        evidence=(
            "AWS-validated test_inflight_message_requeue: after the visibility timeout the "
            "first message is received again before a message sent later. Standard queues "
            "promise only best-effort order, so this is a difference of degree."
        ),
        tests=names("test_inflight_message_requeue"),
    ),
    Cause(
        key="sender-id-collision",
        title="SenderId equal to the message group id `test`",
        verdict="harness",
        evidence=(
            "The target's SenderId is the access key id `test`; the snapshot replaces every "
            "`test` value with `<sender-id>`, including the MessageGroupId `test` the test "
            "sent. On AWS SenderId is an IAM unique id, so the two never coincide."
        ),
        tests=names("test_fair_queue_with_message_group_id"),
    ),
]

CAUSES["moto"] = [
    Cause(
        key="other-services",
        title="Tests that need CloudFormation, Lambda, IAM or STS",
        verdict="outside the target",
        evidence="eddy serves S3 and SQS only; moto_server serves every service.",
        tests=r"test_sqs_(cloudformation|integration|multiaccount)",
    ),
    BOOLEAN_CASE,
    MESSAGE_ATTRIBUTE_PREFIX,
    CHANGE_VISIBILITY_OLD_HANDLE,
    Cause(
        key="fifo-batch-missing-group-code",
        title="Code of a FIFO SendMessageBatch without MessageGroupId",
        verdict="suite's own behaviour",
        evidence=(
            f"{LS_SNAPSHOT} of test_send_batch_missing_message_group_id_for_fifo_queue: AWS "
            "fails the whole request with InvalidParameterValue ('The request must contain "
            "the parameter MessageGroupId.'), as the target does; moto says MissingParameter."
        ),
        tests=names("test_send_messages_to_fifo_without_message_group_id"),
        text=r"'InvalidParameterValue' == 'MissingParameter'",
    ),
    FIFO_BATCH_VALIDATION,
    Cause(
        key="permission-policy-wording",
        title="AddPermission's policy version and RemovePermission's unknown-label message",
        verdict="suite's own behaviour",
        evidence=(
            f"{LS_SNAPSHOT}s: the policy AddPermission writes has \"Version\": \"2008-10-17\" "
            "and RemovePermission of an unknown label says \"Value <label> for parameter "
            "Label is invalid. Reason: can't find label.\", as the target does; moto writes "
            "2012-10-17 and \"can't find label on existing policy.\""
        ),
        tests=names("test_permissions", "test_remove_permission_errors"),
        text=r"2008-10-17|find label\.",
    ),
    Cause(
        key="attribute-name-with-space",
        title="CreateQueue attribute named `VisibilityTimeout ` (trailing space)",
        verdict="suite's own behaviour",
        evidence=(
            "The tests misspell the attribute name and moto accepts it; the name is not in "
            "botocore's QueueAttributeName list and AWS answers unknown names with "
            f"InvalidAttributeName 'Unknown Attribute <name>.' ({LS_SNAPSHOT}s), as the "
            "target does."
        ),
        text=r"Unknown Attribute VisibilityTimeout \.",
    ),
    Cause(
        key="fifo-attribute-on-standard-queue",
        title="`FifoQueue` of `false` or `tru` on a standard queue accepted",
        verdict="suite's own behaviour",
        evidence=(
            f"{LS_SNAPSHOT} of test_create_standard_queue_with_fifo_attribute_raises_error: "
            "AWS refuses `FifoQueue=false` on a standard queue (InvalidAttributeName "
            "'Unknown Attribute FifoQueue.'); moto accepts it. The target refuses it as AWS "
            "does."
        ),
        tests=names("test_create_queue_with_different_attributes_fail",
                    "test_create_fifo_queue_with_dlq"),
    ),
    Cause(
        key="retention-below-minimum",
        title="MessageRetentionPeriod of 1 s accepted",
        verdict="suite's own behaviour",
        evidence=(
            "AWS's range is 60..1,209,600 seconds (CreateQueue documentation); moto accepts "
            "1, the target refuses it as AWS does."
        ),
        tests=names("test_message_retention_period"),
    ),
    Cause(
        key="receipt-handle-message",
        title="Message for a malformed receipt handle",
        verdict="suite's own behaviour",
        evidence=(
            "AWS-validated LocalStack test_delete_message_with_illegal_receipt_handle: AWS "
            "says 'The input receipt handle \"garbage\" is not a valid receipt handle.', as "
            "the target does; moto says 'The input receipt handle is invalid.'"
        ),
        tests=names("test_change_message_visibility_on_unknown_receipt_handle",
                    "test_delete_message_errors"),
    ),
    Cause(
        key="delete-with-old-handle",
        title="DeleteMessage with the handle of an earlier receive",
        verdict="undetermined: AWS's documentation allows both",
        evidence=(
            "The DeleteMessage API reference says a request with an older receipt handle "
            "succeeds but may leave the message in the queue. The target keeps the message; "
            "moto deletes it, and the test (not AWS-verified) expects that."
        ),
        tests=names("test_delete_message_using_old_receipt_handle"),
    ),
    Cause(
        key="message-attribute-name-charset",
        title="Non-ASCII letters in message attribute names",
        verdict="suite's own behaviour",
        evidence=(
            "moto rejects `öther_encodings`; AWS accepts non-ASCII letters (the AWS-validated "
            "LocalStack test_send_message_with_invalid_string_attributes sends `attr.1øßä` "
            "as valid), and so does the target."
        ),
        tests=names("test_message_with_invalid_attributes"),
    ),
    Cause(
        key="queue-url-not-a-queue",
        title="QueueUrl that is no queue URL (`http://whatever-incorrect-queue-address`)",
        verdict="gap: regions and queue URL host forms",
        evidence=(
            "moto's @aws_verified test_get_queue_url_error_not_exists: AWS answers 400 "
            "QueueDoesNotExist ('The specified queue does not exist.'); the target answers "
            "404 InvalidAddress."
        ),
        tests=names("test_get_queue_url_error_not_exists"),
    ),
    Cause(
        key="regions",
        title="Queues per region",
        verdict="queue URL host form: regions and queue URL host forms",
        evidence=(
            "eddy keeps queues per region, but its default queue URLs carry the client's "
            "host, not the region (README, 'Where eddy differs')."
        ),
        tests=names("test_create_queues_in_multiple_region"),
    ),
    Cause(
        key="unverified-messages",
        title="Error messages no AWS recording settles",
        verdict="undetermined: error messages",
        evidence=(
            "moto's wording for an invalid attribute data type, AddPermission of "
            "RemovePermission, more than 50 tags and an empty TagKeys list; neither suite "
            "has an AWS recording of these messages. moto's wording often comes from AWS, "
            "so these are candidates to check against AWS."
        ),
        tests=names("test_message_with_attributes_invalid_datatype",
                    "test_add_permission_errors", "test_tag_queue_errors",
                    "test_untag_queue_errors"),
    ),
    Cause(
        key="redrive-policy-spacing",
        title="RedrivePolicy returned with other JSON spacing",
        verdict="undetermined",
        evidence=(
            "moto returns the policy text as sent (`json.dumps` with spaces); the target "
            "returns compact JSON. No AWS recording in either suite shows AWS's spacing "
            "(LocalStack's snapshots parse the JSON before comparing)."
        ),
        tests=names("test_get_queue_attributes"),
    ),
    Cause(
        key="dedup-id-on-standard-queue",
        title="MessageDeduplicationId on a standard queue",
        verdict="undetermined",
        evidence=(
            "The test sends batch entries with MessageDeduplicationId to a standard queue; "
            "moto ignores it, the target fails each entry ('not valid for this queue type'). "
            "The API reference says the parameter 'applies only to FIFO queues' without "
            "saying whether standard queues refuse it."
        ),
        tests=names("test_message_delay_is_more_than_15_minutes"),
    ),
]
