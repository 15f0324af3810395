//! The SQS operations, protocol-neutral: each takes the operation's input as JSON (the
//! model's member names) and returns its output as JSON.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use serde_json::{Map, Value, json};

use eddy_store::sqs::{
    MessageAttributeValue, MoveTask, ReceiveRequest, ReceivedMessage, SendRequest, SendResult,
    SqsError, SqsErrorKind, queue_url_path,
};

use crate::AppState;

/// What an operation needs besides its input.
pub struct Context<'a> {
    pub state: &'a AppState,
    /// The Host header, used to build queue URLs the client can reach.
    pub host: String,
}

impl Context<'_> {
    fn queue_url(&self, name: &str) -> String {
        format!(
            "http://{}{}",
            self.host,
            queue_url_path(&self.state.store.settings().account_id, name)
        )
    }
}

fn string<'a>(input: &'a Value, name: &str) -> Result<Option<&'a str>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SqsError::invalid_parameter(format!(
            "The parameter {name} must be a string."
        ))),
    }
}

fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, SqsError> {
    string(input, name)?.ok_or_else(|| SqsError::missing_parameter(name))
}

fn integer(input: &Value, name: &str) -> Result<Option<i64>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            SqsError::invalid_parameter(format!("Value {n} for parameter {name} is invalid."))
        }),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            SqsError::invalid_parameter(format!("Value {s} for parameter {name} is invalid."))
        }),
        Some(other) => Err(SqsError::invalid_parameter(format!(
            "Value {other} for parameter {name} is invalid."
        ))),
    }
}

fn string_map(input: &Value, name: &str) -> Result<BTreeMap<String, String>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(SqsError::invalid_parameter(format!(
                    "Value {other} for {name}.{k} is not a string."
                ))),
            })
            .collect(),
        Some(_) => Err(SqsError::invalid_parameter(format!(
            "The parameter {name} must be a map."
        ))),
    }
}

fn string_list(input: &Value, name: &str) -> Result<Vec<String>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    SqsError::invalid_parameter(format!(
                        "The parameter {name} must be a list of strings."
                    ))
                })
            })
            .collect(),
        Some(_) => Err(SqsError::invalid_parameter(format!(
            "The parameter {name} must be a list."
        ))),
    }
}

/// The queue name of a queue URL (its last path segment), checking the account.
fn queue_name_of(context: &Context<'_>, url: &str) -> Result<String, SqsError> {
    let without_query = url.split('?').next().unwrap_or(url);
    let path = match without_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => without_query,
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [account, name] if *account == context.state.store.settings().account_id => {
            Ok((*name).to_owned())
        }
        [_, _] => Err(SqsError::queue_does_not_exist()),
        [name] => Ok((*name).to_owned()),
        _ => Err(SqsError::new(
            SqsErrorKind::InvalidAddress,
            format!("The address {url} is not valid for this endpoint."),
        )),
    }
}

fn queue_of(context: &Context<'_>, input: &Value) -> Result<String, SqsError> {
    queue_name_of(context, required(input, "QueueUrl")?)
}

fn message_attributes(
    value: Option<&Value>,
) -> Result<BTreeMap<String, MessageAttributeValue>, SqsError> {
    let Some(Value::Object(map)) = value else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (name, attribute) in map {
        let data_type = attribute
            .get("DataType")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                SqsError::invalid_parameter(format!(
                    "The message attribute '{name}' must contain a DataType."
                ))
            })?;
        let binary_value = match attribute.get("BinaryValue").and_then(Value::as_str) {
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| {
                        SqsError::invalid_parameter(format!(
                            "The binary value of '{name}' is not base64."
                        ))
                    })?,
            ),
            None => None,
        };
        out.insert(
            name.clone(),
            MessageAttributeValue {
                data_type: data_type.to_owned(),
                string_value: attribute
                    .get("StringValue")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                binary_value,
            },
        );
    }
    Ok(out)
}

fn attribute_json(value: &MessageAttributeValue) -> Value {
    let mut out = Map::new();
    out.insert("DataType".into(), json!(value.data_type));
    if let Some(s) = &value.string_value {
        out.insert("StringValue".into(), json!(s));
    }
    if let Some(b) = &value.binary_value {
        out.insert(
            "BinaryValue".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(b)),
        );
    }
    Value::Object(out)
}

/// Whether a message attribute name is selected by MessageAttributeNames
/// (`All`, `.*`, exact names, and `prefix.*`).
pub fn attribute_selected(filters: &[String], name: &str) -> bool {
    filters.iter().any(|f| {
        f == "All"
            || f == ".*"
            || f == name
            || f.strip_suffix(".*")
                .is_some_and(|prefix| name.starts_with(&format!("{prefix}.")))
    })
}

fn message_json(message: &ReceivedMessage, system: &[String], user: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(message.message_id));
    out.insert("ReceiptHandle".into(), json!(message.receipt_handle));
    out.insert("MD5OfBody".into(), json!(message.md5_of_body));
    out.insert("Body".into(), json!(message.body));
    let all_system = system.iter().any(|s| s == "All");
    let attributes: Map<String, Value> = message
        .attributes
        .iter()
        .filter(|(k, _)| all_system || system.iter().any(|s| s == *k))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !attributes.is_empty() {
        out.insert("Attributes".into(), Value::Object(attributes));
    }
    let selected: BTreeMap<String, MessageAttributeValue> = message
        .message_attributes
        .iter()
        .filter(|(k, _)| attribute_selected(user, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !selected.is_empty() {
        if let Some(md5) = eddy_store::sqs::md5_of_message_attributes(&selected) {
            out.insert("MD5OfMessageAttributes".into(), json!(md5));
        }
        out.insert(
            "MessageAttributes".into(),
            Value::Object(
                selected
                    .iter()
                    .map(|(k, v)| (k.clone(), attribute_json(v)))
                    .collect(),
            ),
        );
    }
    Value::Object(out)
}

fn send_request(input: &Value) -> Result<SendRequest, SqsError> {
    let body = string(input, "MessageBody")?.unwrap_or_default().to_owned();
    let delay = integer(input, "DelaySeconds")?;
    if let Some(d) = delay
        && !(0..=900).contains(&d)
    {
        return Err(SqsError::invalid_parameter(format!(
            "Value {d} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
        )));
    }
    Ok(SendRequest {
        body,
        delay_seconds: delay.map(|d| d as u64),
        message_attributes: message_attributes(input.get("MessageAttributes"))?,
        system_attributes: message_attributes(input.get("MessageSystemAttributes"))?,
        message_group_id: string(input, "MessageGroupId")?.map(str::to_owned),
        message_deduplication_id: string(input, "MessageDeduplicationId")?.map(str::to_owned),
    })
}

/// The size SQS counts for a message: its body and its attributes (names, types, values).
fn message_size(request: &SendRequest) -> usize {
    request.body.len()
        + request
            .message_attributes
            .iter()
            .map(|(name, value)| {
                name.len()
                    + value.data_type.len()
                    + value.string_value.as_ref().map_or(0, String::len)
                    + value.binary_value.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>()
}

/// The members a send reports, SendMessage's output or a SendMessageBatch entry.
fn sent_json(sent: SendResult, out: &mut Map<String, Value>) {
    out.insert("MessageId".into(), json!(sent.message_id));
    out.insert("MD5OfMessageBody".into(), json!(sent.md5_of_body));
    if let Some(md5) = sent.md5_of_message_attributes {
        out.insert("MD5OfMessageAttributes".into(), json!(md5));
    }
    if let Some(md5) = sent.md5_of_system_attributes {
        out.insert("MD5OfMessageSystemAttributes".into(), json!(md5));
    }
    if let Some(number) = sent.sequence_number {
        out.insert("SequenceNumber".into(), json!(number));
    }
}

/// A page of names: `MaxResults` (1..1000) from after `NextToken`; the token is the
/// last name of the page, base64.
fn paginate(input: &Value, names: Vec<String>) -> Result<(Vec<String>, Option<String>), SqsError> {
    let max = integer(input, "MaxResults")?;
    if let Some(m) = max
        && !(1..=1000).contains(&m)
    {
        return Err(SqsError::invalid_parameter(format!(
            "Value {m} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
        )));
    }
    let after = match string(input, "NextToken")? {
        Some(token) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| SqsError::invalid_parameter("Invalid NextToken value."))?,
        ),
        None => None,
    };
    let remaining: Vec<String> = names
        .into_iter()
        .filter(|n| after.as_ref().is_none_or(|a| n > a))
        .collect();
    let limit = max.map(|m| m as usize).unwrap_or(1000);
    let more = max.is_some() && remaining.len() > limit;
    let page: Vec<String> = remaining.into_iter().take(limit).collect();
    let token = more
        .then(|| page.last())
        .flatten()
        .map(|last| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes()));
    Ok((page, token))
}

fn move_task_json(task: &MoveTask) -> Value {
    let mut out = Map::new();
    if let Some(handle) = &task.task_handle {
        out.insert("TaskHandle".into(), json!(handle));
    }
    out.insert("Status".into(), json!(task.status));
    out.insert("SourceArn".into(), json!(task.source_arn));
    if let Some(destination) = &task.destination_arn {
        out.insert("DestinationArn".into(), json!(destination));
    }
    if let Some(rate) = task.max_per_second {
        out.insert("MaxNumberOfMessagesPerSecond".into(), json!(rate));
    }
    out.insert("ApproximateNumberOfMessagesMoved".into(), json!(task.moved));
    out.insert(
        "ApproximateNumberOfMessagesToMove".into(),
        json!(task.to_move),
    );
    if let Some(reason) = &task.failure_reason {
        out.insert("FailureReason".into(), json!(reason));
    }
    out.insert("StartedTimestamp".into(), json!(task.started_ms));
    Value::Object(out)
}

static EMPTY: Vec<Value> = Vec::new();

/// Checks batch entries (a missing list counts as empty): at least one, at most ten, ids valid and distinct.
fn batch_entries<'a>(input: &'a Value, entry_type: &str) -> Result<&'a Vec<Value>, SqsError> {
    let entries = match input.get("Entries") {
        Some(Value::Array(entries)) => entries,
        None | Some(Value::Null) => &EMPTY,
        Some(_) => return Err(SqsError::invalid_parameter("Entries must be a list.")),
    };
    if entries.is_empty() {
        return Err(SqsError::new(
            SqsErrorKind::EmptyBatchRequest,
            format!("There should be at least one {entry_type} in the request."),
        ));
    }
    if entries.len() > 10 {
        return Err(SqsError::new(
            SqsErrorKind::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are 10. You have sent {}.",
                entries.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for entry in entries {
        let id = entry.get("Id").and_then(Value::as_str).unwrap_or_default();
        if id.is_empty()
            || id.len() > 80
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SqsError::new(
                SqsErrorKind::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(SqsError::new(
                SqsErrorKind::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(entries)
}

fn failure_json(id: &str, error: &SqsError) -> Value {
    json!({
        "Id": id,
        "SenderFault": error.kind.fault() == "Sender",
        "Code": error.kind.name(),
        "Message": error.message,
    })
}

/// Runs one operation.
pub async fn run(context: &Context<'_>, operation: &str, input: &Value) -> Result<Value, SqsError> {
    let store = &context.state.store;
    match operation {
        "CreateQueue" => {
            let name = required(input, "QueueName")?;
            let attributes = string_map(input, "Attributes")?;
            let tags = string_map(input, "tags")?;
            let queue = store
                .queues()
                .create(name.to_owned(), attributes, tags)
                .await?;
            Ok(json!({ "QueueUrl": context.queue_url(&queue.name) }))
        }
        "GetQueueUrl" => {
            let name = required(input, "QueueName")?;
            if string(input, "QueueOwnerAWSAccountId")?
                .is_some_and(|owner| owner != store.settings().account_id)
            {
                return Err(SqsError::queue_does_not_exist());
            }
            let queue = store.queues().get(name).await?;
            Ok(json!({ "QueueUrl": context.queue_url(&queue.name) }))
        }
        "ListQueues" => {
            let prefix = string(input, "QueueNamePrefix")?.map(str::to_owned);
            let names = store.queues().list(prefix).await?;
            let (page, token) = paginate(input, names)?;
            let mut out = Map::new();
            if !page.is_empty() {
                let urls: Vec<String> = page.iter().map(|n| context.queue_url(n)).collect();
                out.insert("QueueUrls".into(), json!(urls));
            }
            if let Some(token) = token {
                out.insert("NextToken".into(), json!(token));
            }
            Ok(Value::Object(out))
        }
        "ListDeadLetterSourceQueues" => {
            let queue = queue_of(context, input)?;
            let names = store.queues().dead_letter_sources(&queue).await?;
            let (page, token) = paginate(input, names)?;
            let urls: Vec<String> = page.iter().map(|n| context.queue_url(n)).collect();
            let mut out = Map::new();
            out.insert("queueUrls".into(), json!(urls));
            if let Some(token) = token {
                out.insert("NextToken".into(), json!(token));
            }
            Ok(Value::Object(out))
        }
        "TagQueue" => {
            let queue = queue_of(context, input)?;
            store
                .queues()
                .tag(&queue, string_map(input, "Tags")?)
                .await?;
            Ok(json!({}))
        }
        "UntagQueue" => {
            let queue = queue_of(context, input)?;
            store
                .queues()
                .untag(&queue, string_list(input, "TagKeys")?)
                .await?;
            Ok(json!({}))
        }
        "ListQueueTags" => {
            let queue = store.queues().get(&queue_of(context, input)?).await?;
            if queue.tags.is_empty() {
                return Ok(json!({}));
            }
            Ok(json!({ "Tags": queue.tags }))
        }
        "AddPermission" => {
            let queue = queue_of(context, input)?;
            let label = required(input, "Label")?.to_owned();
            let accounts = string_list(input, "AWSAccountIds")?;
            let actions = string_list(input, "Actions")?;
            store
                .queues()
                .add_permission(&queue, label, accounts, actions)
                .await?;
            Ok(json!({}))
        }
        "RemovePermission" => {
            let queue = queue_of(context, input)?;
            let label = required(input, "Label")?.to_owned();
            store.queues().remove_permission(&queue, label).await?;
            Ok(json!({}))
        }
        "StartMessageMoveTask" => {
            let source = required(input, "SourceArn")?.to_owned();
            let destination = string(input, "DestinationArn")?.map(str::to_owned);
            let rate = integer(input, "MaxNumberOfMessagesPerSecond")?;
            if let Some(r) = rate
                && !(1..=500).contains(&r)
            {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {r} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500."
                )));
            }
            let handle = store
                .move_tasks()
                .start(source, destination, rate.map(|r| r as u32))
                .await?;
            Ok(json!({ "TaskHandle": handle }))
        }
        "ListMessageMoveTasks" => {
            let source = required(input, "SourceArn")?.to_owned();
            let max = integer(input, "MaxResults")?.unwrap_or(1);
            if !(1..=10).contains(&max) {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {max} for parameter MaxResults is invalid. Reason: must be between 1 and 10."
                )));
            }
            let tasks = store.move_tasks().list(source, max as usize).await?;
            Ok(json!({ "Results": tasks.iter().map(move_task_json).collect::<Vec<_>>() }))
        }
        "CancelMessageMoveTask" => {
            let handle = required(input, "TaskHandle")?;
            let moved = store.move_tasks().cancel(handle).await?;
            Ok(json!({ "ApproximateNumberOfMessagesMoved": moved }))
        }
        "DeleteQueue" => {
            store.queues().delete(&queue_of(context, input)?).await?;
            Ok(json!({}))
        }
        "GetQueueAttributes" => {
            let queue = queue_of(context, input)?;
            let names = string_list(input, "AttributeNames")?;
            let attributes = store.queues().attributes(&queue, names).await?;
            if attributes.is_empty() {
                return Ok(json!({}));
            }
            Ok(json!({ "Attributes": attributes }))
        }
        "SetQueueAttributes" => {
            let queue = queue_of(context, input)?;
            let attributes = string_map(input, "Attributes")?;
            store.queues().set_attributes(&queue, attributes).await?;
            Ok(json!({}))
        }
        "SendMessage" => {
            let queue = queue_of(context, input)?;
            let request = send_request(input)?;
            if request.body.is_empty() {
                return Err(SqsError::missing_parameter("MessageBody"));
            }
            let result = store.messages().send(&queue, request).await?;
            let mut out = Map::new();
            sent_json(result, &mut out);
            Ok(Value::Object(out))
        }
        "SendMessageBatch" => {
            let queue = queue_of(context, input)?;
            let entries = batch_entries(input, "SendMessageBatchRequestEntry")?;
            let mut requests = Vec::new();
            let mut early_failures = Vec::new();
            let mut ids = Vec::new();
            let mut total = 0usize;
            for entry in entries {
                let id = entry
                    .get("Id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match send_request(entry) {
                    Ok(request) => {
                        total += message_size(&request);
                        ids.push(id);
                        requests.push(request);
                    }
                    Err(error) => early_failures.push(failure_json(&id, &error)),
                }
            }
            if total > 1_048_576 {
                return Err(SqsError::new(
                    SqsErrorKind::BatchRequestTooLong,
                    format!(
                        "Batch requests cannot be longer than 1048576 bytes. You have sent {total} bytes."
                    ),
                ));
            }
            let results = if requests.is_empty() {
                Vec::new()
            } else {
                store.messages().send_batch(&queue, requests).await?
            };
            let mut successful = Vec::new();
            let mut failed = early_failures;
            for (id, result) in ids.iter().zip(results) {
                match result {
                    Ok(sent) => {
                        let mut item = Map::new();
                        item.insert("Id".into(), json!(id));
                        sent_json(sent, &mut item);
                        successful.push(Value::Object(item));
                    }
                    Err(error) => failed.push(failure_json(id, &error)),
                }
            }
            Ok(json!({ "Successful": successful, "Failed": failed }))
        }
        "ReceiveMessage" => {
            let queue = queue_of(context, input)?;
            let max = integer(input, "MaxNumberOfMessages")?.unwrap_or(1);
            if !(1..=10).contains(&max) {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
                )));
            }
            let visibility = integer(input, "VisibilityTimeout")?;
            if let Some(v) = visibility
                && !(0..=43_200).contains(&v)
            {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {v} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
                )));
            }
            let wait = integer(input, "WaitTimeSeconds")?;
            if let Some(w) = wait
                && !(0..=20).contains(&w)
            {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {w} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
                )));
            }
            let mut system = string_list(input, "AttributeNames")?;
            system.extend(string_list(input, "MessageSystemAttributeNames")?);
            let user = string_list(input, "MessageAttributeNames")?;
            let attempt_id = string(input, "ReceiveRequestAttemptId")?.map(str::to_owned);
            if let Some(attempt) = &attempt_id
                && (attempt.is_empty()
                    || attempt.len() > 128
                    || !attempt.chars().all(|c| c.is_ascii_graphic()))
            {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {attempt} for parameter ReceiveRequestAttemptId is invalid. Reason: It can only include alphanumeric and punctuation characters. 1 to 128 in length."
                )));
            }
            let messages = store
                .messages()
                .receive_with_attempt(
                    &queue,
                    ReceiveRequest {
                        max_messages: max as u32,
                        visibility_timeout: visibility.map(|v| v as u64),
                        wait_time_seconds: wait.map(|w| w as u64),
                    },
                    attempt_id,
                )
                .await?;
            if messages.is_empty() {
                return Ok(json!({}));
            }
            Ok(json!({
                "Messages": messages.iter().map(|m| message_json(m, &system, &user)).collect::<Vec<_>>()
            }))
        }
        "DeleteMessage" => {
            let queue = queue_of(context, input)?;
            let handle = required(input, "ReceiptHandle")?;
            store.messages().delete(&queue, handle).await?;
            Ok(json!({}))
        }
        "DeleteMessageBatch" => {
            let queue = queue_of(context, input)?;
            let entries = batch_entries(input, "DeleteMessageBatchRequestEntry")?;
            let ids: Vec<String> = entries
                .iter()
                .map(|e| {
                    e.get("Id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            let handles: Vec<String> = entries
                .iter()
                .map(|e| {
                    e.get("ReceiptHandle")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            let results = store.messages().delete_batch(&queue, handles).await?;
            let mut successful = Vec::new();
            let mut failed = Vec::new();
            for (id, result) in ids.iter().zip(results) {
                match result {
                    Ok(()) => successful.push(json!({ "Id": id })),
                    Err(error) => failed.push(failure_json(id, &error)),
                }
            }
            Ok(json!({ "Successful": successful, "Failed": failed }))
        }
        "ChangeMessageVisibility" => {
            let queue = queue_of(context, input)?;
            let handle = required(input, "ReceiptHandle")?;
            let timeout = integer(input, "VisibilityTimeout")?
                .ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))?;
            if timeout < 0 {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {timeout} for parameter VisibilityTimeout is invalid."
                )));
            }
            store
                .messages()
                .change_visibility(&queue, handle, timeout as u64)
                .await?;
            Ok(json!({}))
        }
        "ChangeMessageVisibilityBatch" => {
            let queue = queue_of(context, input)?;
            let entries = batch_entries(input, "ChangeMessageVisibilityBatchRequestEntry")?;
            let mut successful = Vec::new();
            let mut failed = Vec::new();
            for entry in entries {
                let id = entry.get("Id").and_then(Value::as_str).unwrap_or_default();
                let outcome = async {
                    let handle = required(entry, "ReceiptHandle")?;
                    let timeout = integer(entry, "VisibilityTimeout")?.unwrap_or(0).max(0) as u64;
                    store
                        .messages()
                        .change_visibility(&queue, handle, timeout)
                        .await
                }
                .await;
                match outcome {
                    Ok(()) => successful.push(json!({ "Id": id })),
                    Err(error) => failed.push(failure_json(id, &error)),
                }
            }
            Ok(json!({ "Successful": successful, "Failed": failed }))
        }
        "PurgeQueue" => {
            let queue = queue_of(context, input)?;
            store.queues().get(&queue).await?;
            context.state.check_purge(&queue)?;
            store.queues().purge(&queue).await?;
            Ok(json!({}))
        }
        other => Err(SqsError::new(
            SqsErrorKind::InvalidAction,
            format!("The action {other} is not valid for this endpoint."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::attribute_selected;

    #[test]
    fn attribute_name_filters() {
        let f = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(attribute_selected(&f(&["All"]), "x"));
        assert!(attribute_selected(&f(&[".*"]), "x"));
        assert!(attribute_selected(&f(&["foo.*"]), "foo.bar"));
        assert!(!attribute_selected(&f(&["foo.*"]), "foobar"));
        assert!(attribute_selected(&f(&["exact"]), "exact"));
        assert!(!attribute_selected(&f(&[]), "x"));
    }
}
