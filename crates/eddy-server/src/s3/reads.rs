//! Conditional and ranged reads: If-Match and friends, `Range`, and `partNumber`.

use super::*;

pub(super) fn format_http_date(ts: &Timestamp) -> Option<String> {
    let mut out = Vec::new();
    ts.format(TimestampFormat::HttpDate, &mut out).ok()?;
    String::from_utf8(out).ok()
}

pub(super) fn parse_http_date(value: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, value).ok()
}

/// Evaluates If-Match / If-None-Match / If-(Un)Modified-Since against an object, with
/// S3's precedence rules.
pub(super) fn check_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let current = etag(meta);
    // Compare at second resolution, as HTTP dates carry no more.
    let modified_s = meta.last_modified_ms / 1000;
    if let Some(condition) = if_match {
        let ok = match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == current.value(),
        };
        if !ok {
            return Err(precondition_failed());
        }
    } else if let Some(since) = if_unmodified_since
        && modified_s > timestamp_ms(since) / 1000
    {
        return Err(precondition_failed());
    }
    if let Some(condition) = if_none_match {
        let matched = match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == current.value(),
        };
        if matched {
            return Err(not_modified(meta));
        }
    } else if let Some(since) = if_modified_since
        && modified_s <= timestamp_ms(since) / 1000
    {
        return Err(not_modified(meta));
    }
    Ok(())
}

/// The bytes GetObject/HeadObject serve for `partNumber`: (start, length, and the
/// part count of a multipart object).
pub(super) fn part_range(meta: &ObjectMeta, part_number: i32) -> S3Result<(u64, u64, Option<i32>)> {
    let sizes = if meta.attrs.part_sizes.is_empty() {
        vec![meta.size]
    } else {
        meta.attrs.part_sizes.clone()
    };
    let index = usize::try_from(part_number)
        .ok()
        .filter(|n| (1..=sizes.len()).contains(n))
        // S3 answers a part the object does not have with 400 InvalidPart.
        .ok_or_else(|| s3_error!(InvalidPart, "The requested partnumber is not satisfiable"))?;
    let start = sizes[..index - 1].iter().sum();
    let count = (!meta.attrs.part_sizes.is_empty()).then_some(sizes.len() as i32);
    Ok((start, sizes[index - 1], count))
}

/// The byte window of a GET: the whole object, a Range, or a part.
pub(super) struct Window {
    pub(super) start: u64,
    pub(super) length: u64,
    pub(super) content_range: Option<String>,
    pub(super) parts_count: Option<i32>,
}

pub(super) fn window(
    meta: &ObjectMeta,
    range: Option<&Range>,
    part_number: Option<i32>,
) -> S3Result<Window> {
    let content_range = |start: u64, length: u64| {
        (length > 0).then(|| format!("bytes {}-{}/{}", start, start + length - 1, meta.size))
    };
    match (range, part_number) {
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        )),
        (None, Some(number)) => {
            let (start, length, parts_count) = part_range(meta, number)?;
            Ok(Window {
                start,
                length,
                content_range: content_range(start, length),
                parts_count,
            })
        }
        (Some(range), None) => {
            let r = range
                .check(meta.size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            Ok(Window {
                start: r.start,
                length: r.end - r.start,
                content_range: content_range(r.start, r.end - r.start),
                parts_count: None,
            })
        }
        (None, None) => Ok(Window {
            start: 0,
            length: meta.size,
            content_range: None,
            parts_count: (!meta.attrs.part_sizes.is_empty())
                .then_some(meta.attrs.part_sizes.len() as i32),
        }),
    }
}
