//! The Logs operations: groups (Create/Delete/DescribeLogGroups, retention, tags),
//! streams (Create/Delete/DescribeLogStreams) and events (PutLogEvents, GetLogEvents
//! with its forward and backward tokens, FilterLogEvents), checked the way CloudWatch
//! Logs checks them and run against the store.

use eddy_store::logs::{EventPosition, EventRange, LogEventRecord, NewLogEvent, StreamOrder};

use super::error::LogsError;
use super::model::{
    CreateLogGroupInput, DescribeLogGroupsInput, DescribeLogGroupsOutput, DescribeLogStreamsInput,
    DescribeLogStreamsOutput, Empty, FilterLogEventsInput, FilterLogEventsOutput, FilteredLogEvent,
    GetLogEventsInput, GetLogEventsOutput, GroupInput, LogGroup, LogStream, OutputLogEvent,
    PutLogEventsInput, PutLogEventsOutput, PutRetentionPolicyInput, RejectedLogEventsInfo,
    ResourceInput, SearchedLogStream, StreamInput, TagLogGroupInput, TagResourceInput, TagsOutput,
    UntagLogGroupInput, UntagResourceInput,
};
use super::pattern::FilterPattern;
use crate::state::AppState;

/// The retention periods PutRetentionPolicy accepts, in days.
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// PutLogEvents refuses events more than this far in the future (2 hours) ...
const TOO_NEW_MS: i64 = 2 * 3600 * 1000;
/// ... or older than 14 days.
const TOO_OLD_MS: i64 = 14 * 24 * 3600 * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What one Logs request works with.
pub struct LogsContext<'a> {
    pub state: &'a AppState,
}

fn required<'v>(value: Option<&'v str>, member: &str) -> Result<&'v str, LogsError> {
    value.ok_or_else(|| {
        LogsError::invalid(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// Checks a log group name (1-512 of `[.-_/#A-Za-z0-9]`).
fn group_name(value: Option<&str>) -> Result<&str, LogsError> {
    let name = required(value, "logGroupName")?;
    if name.is_empty() || name.len() > 512 {
        return Err(LogsError::constraint(
            name,
            "logGroupName",
            "Member must have length less than or equal to 512 and greater than or equal to 1",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
    {
        return Err(LogsError::constraint(
            name,
            "logGroupName",
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
        ));
    }
    Ok(name)
}

/// The group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
fn group_of(name: Option<&str>, identifier: Option<&str>) -> Result<String, LogsError> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(LogsError::invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (None, Some(identifier)) => match identifier.split_once(":log-group:") {
            Some((_, rest)) => Ok(rest.strip_suffix(":*").unwrap_or(rest).to_owned()),
            None => group_name(Some(identifier)).map(str::to_owned),
        },
        (name, None) => group_name(name).map(str::to_owned),
    }
}

/// Checks a log stream name (1-512, no `:` or `*`).
fn stream_name(value: Option<&str>) -> Result<&str, LogsError> {
    let name = required(value, "logStreamName")?;
    if name.is_empty() || name.len() > 512 || name.contains([':', '*']) {
        return Err(LogsError::constraint(
            name,
            "logStreamName",
            "Member must satisfy regular expression pattern: [^:*]*",
        ));
    }
    Ok(name)
}

fn limit(value: Option<i64>, max: i64) -> Result<u32, LogsError> {
    match value {
        None => Ok(max as u32),
        Some(n) if (1..=max).contains(&n) => Ok(n as u32),
        Some(n) => Err(LogsError::constraint(
            &n.to_string(),
            "limit",
            &format!(
                "Member must have value less than or equal to {max} and greater than or equal to 1"
            ),
        )),
    }
}

fn bad_token() -> LogsError {
    LogsError::invalid("The specified nextToken is invalid.")
}

fn position_token(prefix: &str, position: EventPosition) -> String {
    format!("{prefix}/{:020}{:020}", position.timestamp_ms, position.seq)
}

fn parse_position(digits: &str) -> Result<EventPosition, LogsError> {
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_token());
    }
    Ok(EventPosition {
        timestamp_ms: digits[..20].parse().map_err(|_| bad_token())?,
        seq: digits[20..].parse().map_err(|_| bad_token())?,
    })
}

fn position(event: &LogEventRecord) -> EventPosition {
    EventPosition {
        timestamp_ms: event.timestamp_ms,
        seq: event.seq,
    }
}

impl LogsContext<'_> {
    fn logs(&self) -> eddy_store::logs::Logs<'_> {
        self.state.store.logs()
    }

    fn group_arn(&self, name: &str) -> String {
        let settings = self.state.store.settings();
        format!(
            "arn:aws:logs:{}:{}:log-group:{name}",
            settings.region, settings.account_id
        )
    }

    /// The group a resource ARN names (TagResource and friends).
    fn group_of_arn(arn: Option<&str>) -> Result<String, LogsError> {
        let arn = required(arn, "resourceArn")?;
        arn.split_once(":log-group:")
            .map(|(_, rest)| rest.strip_suffix(":*").unwrap_or(rest).to_owned())
            .ok_or_else(|| LogsError::invalid(format!("Invalid resource ARN: {arn}")))
    }

    pub async fn create_log_group(&self, input: CreateLogGroupInput) -> Result<Empty, LogsError> {
        let name = group_name(input.log_group_name.as_deref())?;
        self.logs().create_group(name, input.tags).await?;
        Ok(Empty {})
    }

    pub async fn delete_log_group(&self, input: GroupInput) -> Result<Empty, LogsError> {
        let name = group_of(
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        self.logs().delete_group(&name).await?;
        Ok(Empty {})
    }

    pub async fn describe_log_groups(
        &self,
        input: DescribeLogGroupsInput,
    ) -> Result<DescribeLogGroupsOutput, LogsError> {
        let limit = limit(input.limit, 50)?;
        let groups = self
            .logs()
            .describe_groups(
                input.log_group_name_prefix.as_deref().unwrap_or(""),
                input.next_token,
                limit + 1,
            )
            .await?;
        let more = groups.len() > limit as usize;
        let log_groups: Vec<LogGroup> = groups
            .into_iter()
            .take(limit as usize)
            .map(|g| LogGroup {
                arn: format!("{}:*", self.group_arn(&g.name)),
                log_group_arn: self.group_arn(&g.name),
                log_group_name: g.name,
                creation_time: g.created_ms,
                retention_in_days: g.retention_days,
                metric_filter_count: 0,
                stored_bytes: g.stored_bytes,
                log_group_class: "STANDARD",
            })
            .collect();
        let next_token = if more {
            log_groups.last().map(|g| g.log_group_name.clone())
        } else {
            None
        };
        Ok(DescribeLogGroupsOutput {
            log_groups,
            next_token,
        })
    }

    pub async fn create_log_stream(&self, input: StreamInput) -> Result<Empty, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        let stream = stream_name(input.log_stream_name.as_deref())?;
        self.logs().create_stream(group, stream).await?;
        Ok(Empty {})
    }

    pub async fn delete_log_stream(&self, input: StreamInput) -> Result<Empty, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        let stream = stream_name(input.log_stream_name.as_deref())?;
        self.logs().delete_stream(group, stream).await?;
        Ok(Empty {})
    }

    pub async fn describe_log_streams(
        &self,
        input: DescribeLogStreamsInput,
    ) -> Result<DescribeLogStreamsOutput, LogsError> {
        let group = group_of(
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        let limit = limit(input.limit, 50)? as usize;
        let order = match input.order_by.as_deref() {
            None | Some("LogStreamName") => StreamOrder::Name,
            Some("LastEventTime") => StreamOrder::LastEventTime,
            Some(other) => {
                return Err(LogsError::constraint(
                    other,
                    "orderBy",
                    "Member must satisfy enum value set: [LogStreamName, LastEventTime]",
                ));
            }
        };
        let prefix = input.log_stream_name_prefix.unwrap_or_default();
        if order == StreamOrder::LastEventTime && !prefix.is_empty() {
            return Err(LogsError::invalid(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let offset: usize = match &input.next_token {
            Some(token) => token.parse().map_err(|_| bad_token())?,
            None => 0,
        };
        let streams = self
            .logs()
            .describe_streams(&group, &prefix, order, input.descending)
            .await?;
        let total = streams.len();
        let arn = self.group_arn(&group);
        let log_streams = streams
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|s| LogStream {
                arn: format!("{arn}:log-stream:{}", s.name),
                log_stream_name: s.name,
                creation_time: s.created_ms,
                first_event_timestamp: s.first_event_ms,
                last_event_timestamp: s.last_event_ms,
                last_ingestion_time: s.last_ingestion_ms,
                stored_bytes: s.stored_bytes,
            })
            .collect();
        let next_token = (offset + limit < total).then(|| (offset + limit).to_string());
        Ok(DescribeLogStreamsOutput {
            log_streams,
            next_token,
        })
    }

    pub async fn put_log_events(
        &self,
        input: PutLogEventsInput,
    ) -> Result<PutLogEventsOutput, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        let stream = stream_name(input.log_stream_name.as_deref())?;
        if input.log_events.is_empty() || input.log_events.len() > 10_000 {
            return Err(LogsError::constraint(
                &format!("{} events", input.log_events.len()),
                "logEvents",
                "Member must have length less than or equal to 10000 and greater than or equal to 1",
            ));
        }
        let now = eddy_store::time::now_ms() as i64;
        let retention = self
            .logs()
            .describe_groups(group, None, 1)
            .await?
            .into_iter()
            .find(|g| g.name == group)
            .and_then(|g| g.retention_days);
        let mut rejected = RejectedLogEventsInfo::default();
        let mut events = Vec::with_capacity(input.log_events.len());
        let mut previous = i64::MIN;
        for (index, event) in input.log_events.into_iter().enumerate() {
            let timestamp = event.timestamp.ok_or_else(|| {
                LogsError::invalid(format!(
                    "1 validation error detected: Value null at 'logEvents.{}.member.timestamp' failed to satisfy constraint: Member must not be null",
                    index + 1
                ))
            })?;
            let message = event.message.unwrap_or_default();
            if message.is_empty() {
                return Err(LogsError::invalid(
                    "Log event message must have length greater than or equal to 1",
                ));
            }
            if timestamp < previous {
                return Err(LogsError::invalid(
                    "Log events in a single PutLogEvents request must be in chronological order.",
                ));
            }
            previous = timestamp;
            if timestamp > now + TOO_NEW_MS {
                rejected.too_new_log_event_start_index.get_or_insert(index);
            } else if retention.is_some_and(|days| timestamp < now - i64::from(days) * DAY_MS) {
                rejected.expired_log_event_end_index = Some(index);
            } else if timestamp < now - TOO_OLD_MS {
                rejected.too_old_log_event_end_index = Some(index);
            } else {
                events.push(NewLogEvent {
                    timestamp_ms: timestamp,
                    message,
                });
            }
        }
        self.logs().put_events(group, stream, events).await?;
        let any_rejected = rejected.too_new_log_event_start_index.is_some()
            || rejected.too_old_log_event_end_index.is_some()
            || rejected.expired_log_event_end_index.is_some();
        Ok(PutLogEventsOutput {
            rejected_log_events_info: any_rejected.then_some(rejected),
        })
    }

    pub async fn get_log_events(
        &self,
        input: GetLogEventsInput,
    ) -> Result<GetLogEventsOutput, LogsError> {
        let group = group_of(
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        let stream = stream_name(input.log_stream_name.as_deref())?;
        let mut range = EventRange {
            start_ms: input.start_time,
            end_ms: input.end_time,
            limit: limit(input.limit, 10_000)?,
            ..EventRange::default()
        };
        let mut from_head = input.start_from_head;
        if let Some(token) = &input.next_token {
            if let Some(digits) = token.strip_prefix("f/") {
                range.after = Some(parse_position(digits)?);
                from_head = true;
            } else if let Some(digits) = token.strip_prefix("b/") {
                range.before = Some(parse_position(digits)?);
                from_head = false;
            } else {
                return Err(bad_token());
            }
        }
        let events = self
            .logs()
            .stream_events(&group, stream, range.clone(), from_head)
            .await?;
        let zero = EventPosition {
            timestamp_ms: 0,
            seq: 0,
        };
        let forward = events
            .last()
            .map(position)
            .or(range.after)
            .or(range.before.map(|_| zero))
            .unwrap_or(zero);
        let backward = events
            .first()
            .map(position)
            .or(range.before)
            .or(range.after)
            .unwrap_or(zero);
        Ok(GetLogEventsOutput {
            events: events
                .into_iter()
                .map(|e| OutputLogEvent {
                    timestamp: e.timestamp_ms,
                    message: e.message,
                    ingestion_time: e.ingestion_ms,
                })
                .collect(),
            next_forward_token: position_token("f", forward),
            next_backward_token: position_token("b", backward),
        })
    }

    pub async fn filter_log_events(
        &self,
        input: FilterLogEventsInput,
    ) -> Result<FilterLogEventsOutput, LogsError> {
        let group = group_of(
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return Err(LogsError::invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
            ));
        }
        let pattern = FilterPattern::parse(input.filter_pattern.as_deref().unwrap_or(""))?;
        let after = match &input.next_token {
            Some(token) => Some(parse_position(token)?),
            None => None,
        };
        let range = EventRange {
            start_ms: input.start_time,
            end_ms: input.end_time,
            after,
            before: None,
            limit: limit(input.limit, 10_000)?,
        };
        let streams = match (&input.log_stream_names, &input.log_stream_name_prefix) {
            (Some(names), _) => Some(names.clone()),
            (None, Some(prefix)) => Some(
                self.logs()
                    .describe_streams(&group, prefix, StreamOrder::Name, false)
                    .await?
                    .into_iter()
                    .map(|s| s.name)
                    .collect(),
            ),
            (None, None) => None,
        };
        let searched = streams.clone().unwrap_or_default();
        let (events, more) = self
            .logs()
            .filter_events(&group, streams, range, move |m| pattern.matches(m))
            .await?;
        let next_token = if more {
            events
                .last()
                .map(|e| position_token("f", position(e))[2..].to_owned())
        } else {
            None
        };
        Ok(FilterLogEventsOutput {
            events: events
                .into_iter()
                .map(|e| FilteredLogEvent {
                    event_id: format!("{:020}{:020}", e.timestamp_ms, e.seq),
                    log_stream_name: e.stream,
                    timestamp: e.timestamp_ms,
                    message: e.message,
                    ingestion_time: e.ingestion_ms,
                })
                .collect(),
            searched_log_streams: searched
                .into_iter()
                .map(|log_stream_name| SearchedLogStream {
                    log_stream_name,
                    searched_completely: !more,
                })
                .collect(),
            next_token,
        })
    }

    pub async fn put_retention_policy(
        &self,
        input: PutRetentionPolicyInput,
    ) -> Result<Empty, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        let days = input.retention_in_days.ok_or_else(|| {
            LogsError::invalid(
                "1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null",
            )
        })?;
        if !RETENTION_DAYS.contains(&days) {
            let allowed: Vec<String> = RETENTION_DAYS.iter().map(ToString::to_string).collect();
            return Err(LogsError::constraint(
                &days.to_string(),
                "retentionInDays",
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            ));
        }
        self.logs().set_retention(group, Some(days as u32)).await?;
        Ok(Empty {})
    }

    pub async fn delete_retention_policy(&self, input: GroupInput) -> Result<Empty, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        self.logs().set_retention(group, None).await?;
        Ok(Empty {})
    }

    pub async fn tag_log_group(&self, input: TagLogGroupInput) -> Result<Empty, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        self.logs()
            .change_tags(group, input.tags, Vec::new())
            .await?;
        Ok(Empty {})
    }

    pub async fn untag_log_group(&self, input: UntagLogGroupInput) -> Result<Empty, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        self.logs()
            .change_tags(group, std::collections::BTreeMap::new(), input.tags)
            .await?;
        Ok(Empty {})
    }

    pub async fn list_tags_log_group(&self, input: GroupInput) -> Result<TagsOutput, LogsError> {
        let group = group_name(input.log_group_name.as_deref())?;
        Ok(TagsOutput {
            tags: self.logs().tags(group).await?,
        })
    }

    pub async fn tag_resource(&self, input: TagResourceInput) -> Result<Empty, LogsError> {
        let group = Self::group_of_arn(input.resource_arn.as_deref())?;
        self.logs()
            .change_tags(&group, input.tags, Vec::new())
            .await?;
        Ok(Empty {})
    }

    pub async fn untag_resource(&self, input: UntagResourceInput) -> Result<Empty, LogsError> {
        let group = Self::group_of_arn(input.resource_arn.as_deref())?;
        self.logs()
            .change_tags(&group, std::collections::BTreeMap::new(), input.tag_keys)
            .await?;
        Ok(Empty {})
    }

    pub async fn list_tags_for_resource(
        &self,
        input: ResourceInput,
    ) -> Result<TagsOutput, LogsError> {
        let group = Self::group_of_arn(input.resource_arn.as_deref())?;
        Ok(TagsOutput {
            tags: self.logs().tags(&group).await?,
        })
    }
}
