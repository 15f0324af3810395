//! Lambda event filtering (FilterCriteria) for SQS event source mappings: the
//! EventBridge-style pattern syntax, matched against each record of a batch.
//!
//! A record is the Lambda SQS record (`messageId`, `attributes`, `messageAttributes`,
//! `body`, ...). When the body is JSON, patterns on `body` match into it; when it is
//! not, only a pattern with plain values on `body` (`{"body": ["text"]}`) can match it.
//! A mapping has at most 5 patterns, ORed; a record matching none is deleted without
//! invoking the function.
//!
//! Supported matchers in a value list: literal strings, numbers, booleans and `null`;
//! `{"prefix": s}`, `{"suffix": s}` (each also with `{"equals-ignore-case": s}` inside);
//! `{"equals-ignore-case": s}`; `{"anything-but": v | [v, ...] | {"prefix": s} | {"suffix": s}}`;
//! `{"numeric": [op, n, (op, n)]}` with `=`, `<`, `<=`, `>`, `>=`; `{"exists": bool}`;
//! `{"wildcard": "a*b"}`. Objects may hold `"$or": [pattern, ...]`. A value that is an
//! array in the record matches when any element does.

use serde_json::{Map, Value};

/// The most patterns a mapping's FilterCriteria may hold.
pub const MAX_FILTERS: usize = 5;
/// The longest pattern Lambda accepts, in characters.
pub const MAX_PATTERN_LENGTH: usize = 4096;

/// Why a pattern was refused (Lambda answers InvalidParameterValueException).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter pattern: {0}")]
pub struct PatternError(String);

fn invalid(message: impl Into<String>) -> PatternError {
    PatternError(message.into())
}

/// One parsed, validated filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPattern {
    pattern: Map<String, Value>,
}

impl FilterPattern {
    /// Parses and validates a pattern written as JSON text.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text.chars().count() > MAX_PATTERN_LENGTH {
            return Err(invalid(format!(
                "a pattern is at most {MAX_PATTERN_LENGTH} characters"
            )));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let Value::Object(pattern) = value else {
            return Err(invalid("a pattern must be a JSON object"));
        };
        check_object(&pattern)?;
        Ok(Self { pattern })
    }

    /// Whether a Lambda SQS record (as JSON, body still a string) matches.
    pub fn matches_record(&self, record: &Value) -> bool {
        let Value::Object(fields) = record else {
            return false;
        };
        let mut fields = fields.clone();
        if let Some(Value::String(body)) = fields.get("body")
            && let Ok(parsed @ (Value::Object(_) | Value::Array(_))) =
                serde_json::from_str::<Value>(body)
        {
            fields.insert("body".to_owned(), parsed);
        }
        match_object(&self.pattern, &fields)
    }
}

/// Whether any of the patterns matches (no patterns: everything matches).
pub fn any_matches(patterns: &[FilterPattern], record: &Value) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches_record(record))
}

fn check_object(pattern: &Map<String, Value>) -> Result<(), PatternError> {
    if pattern.is_empty() {
        return Err(invalid("a pattern object must not be empty"));
    }
    for (key, value) in pattern {
        match (key.as_str(), value) {
            ("$or", Value::Array(alternatives)) if alternatives.len() >= 2 => {
                for alternative in alternatives {
                    match alternative {
                        Value::Object(inner) => check_object(inner)?,
                        _ => return Err(invalid("$or takes a list of pattern objects")),
                    }
                }
            }
            ("$or", _) => return Err(invalid("$or takes a list of at least 2 pattern objects")),
            (_, Value::Object(inner)) => check_object(inner)?,
            (_, Value::Array(matchers)) => {
                if matchers.is_empty() {
                    return Err(invalid(format!("the value list of {key:?} is empty")));
                }
                for matcher in matchers {
                    check_matcher(matcher)?;
                }
            }
            _ => {
                return Err(invalid(format!(
                    "{key:?} must map to a list of values or to a nested pattern object"
                )));
            }
        }
    }
    Ok(())
}

fn check_matcher(matcher: &Value) -> Result<(), PatternError> {
    let Value::Object(map) = matcher else {
        return match matcher {
            Value::Array(_) => Err(invalid("a value list cannot contain a list")),
            _ => Ok(()),
        };
    };
    if map.len() != 1 {
        return Err(invalid("a matcher object has exactly one key"));
    }
    let Some((kind, operand)) = map.iter().next() else {
        return Err(invalid("a matcher object has exactly one key"));
    };
    let ok = match kind.as_str() {
        "prefix" | "suffix" => match operand {
            Value::String(_) => true,
            Value::Object(inner) => {
                inner.len() == 1
                    && inner
                        .get("equals-ignore-case")
                        .is_some_and(Value::is_string)
            }
            _ => false,
        },
        "equals-ignore-case" | "wildcard" => operand.is_string(),
        "exists" => operand.is_boolean(),
        "anything-but" => match operand {
            Value::String(_) | Value::Number(_) => true,
            Value::Array(values) => {
                !values.is_empty() && values.iter().all(|v| v.is_string() || v.is_number())
            }
            Value::Object(inner) => {
                inner.len() == 1
                    && (inner.get("prefix").is_some_and(Value::is_string)
                        || inner.get("suffix").is_some_and(Value::is_string))
            }
            _ => false,
        },
        "numeric" => check_numeric(operand),
        other => return Err(invalid(format!("unknown matcher {other:?}"))),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("bad operand for {kind:?}: {operand}")))
    }
}

fn check_numeric(operand: &Value) -> bool {
    let Value::Array(items) = operand else {
        return false;
    };
    (items.len() == 2 || items.len() == 4)
        && items.chunks(2).all(|pair| {
            matches!(pair[0].as_str(), Some("=" | "<" | "<=" | ">" | ">=")) && pair[1].is_number()
        })
}

fn match_object(pattern: &Map<String, Value>, event: &Map<String, Value>) -> bool {
    pattern.iter().all(|(key, expected)| {
        if key == "$or" {
            return match expected {
                Value::Array(alternatives) => alternatives.iter().any(|alternative| {
                    alternative
                        .as_object()
                        .is_some_and(|inner| match_object(inner, event))
                }),
                _ => false,
            };
        }
        let actual = event.get(key);
        match expected {
            Value::Object(inner) => match actual {
                Some(Value::Object(fields)) => match_object(inner, fields),
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|item| item.as_object().is_some_and(|f| match_object(inner, f))),
                _ => false,
            },
            Value::Array(matchers) => match_values(matchers, actual),
            _ => false,
        }
    })
}

fn match_values(matchers: &[Value], actual: Option<&Value>) -> bool {
    matchers.iter().any(|matcher| match actual {
        Some(Value::Array(items)) => {
            if let Some(exists) = exists_matcher(matcher) {
                return exists;
            }
            items.iter().any(|item| match_one(matcher, Some(item)))
        }
        _ => match_one(matcher, actual),
    })
}

fn exists_matcher(matcher: &Value) -> Option<bool> {
    matcher.get("exists").and_then(Value::as_bool)
}

fn match_one(matcher: &Value, actual: Option<&Value>) -> bool {
    let Value::Object(map) = matcher else {
        return actual.is_some_and(|value| literal_equals(matcher, value));
    };
    let Some((kind, operand)) = map.iter().next() else {
        return false;
    };
    if kind == "exists" {
        return operand.as_bool() == Some(actual.is_some());
    }
    let Some(actual) = actual else {
        return false;
    };
    let text = actual.as_str();
    match kind.as_str() {
        "prefix" => text.is_some_and(|t| affix_matches(operand, t, true)),
        "suffix" => text.is_some_and(|t| affix_matches(operand, t, false)),
        "equals-ignore-case" => text
            .zip(operand.as_str())
            .is_some_and(|(t, o)| t.to_lowercase() == o.to_lowercase()),
        "wildcard" => text
            .zip(operand.as_str())
            .is_some_and(|(t, o)| wildcard_matches(o, t)),
        "anything-but" => match operand {
            Value::Array(values) => !values.iter().any(|v| literal_equals(v, actual)),
            Value::Object(inner) => match (text, inner.iter().next()) {
                (Some(t), Some((how, Value::String(affix)))) if how == "prefix" => {
                    !t.starts_with(affix.as_str())
                }
                (Some(t), Some((how, Value::String(affix)))) if how == "suffix" => {
                    !t.ends_with(affix.as_str())
                }
                _ => false,
            },
            single => !literal_equals(single, actual),
        },
        "numeric" => actual.as_f64().is_some_and(|n| numeric_matches(operand, n)),
        _ => false,
    }
}

fn literal_equals(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == actual,
    }
}

fn affix_matches(operand: &Value, text: &str, prefix: bool) -> bool {
    let (affix, ignore_case) = match operand {
        Value::String(s) => (s.clone(), false),
        Value::Object(inner) => match inner.get("equals-ignore-case").and_then(Value::as_str) {
            Some(s) => (s.to_owned(), true),
            None => return false,
        },
        _ => return false,
    };
    let (text, affix) = if ignore_case {
        (text.to_lowercase(), affix.to_lowercase())
    } else {
        (text.to_owned(), affix)
    };
    if prefix {
        text.starts_with(&affix)
    } else {
        text.ends_with(&affix)
    }
}

fn numeric_matches(operand: &Value, number: f64) -> bool {
    let Value::Array(items) = operand else {
        return false;
    };
    items.chunks(2).all(|pair| {
        let bound = pair.get(1).and_then(Value::as_f64).unwrap_or(f64::NAN);
        match pair[0].as_str() {
            Some("=") => number == bound,
            Some("<") => number < bound,
            Some("<=") => number <= bound,
            Some(">") => number > bound,
            Some(">=") => number >= bound,
            _ => false,
        }
    })
}

/// `*` matches any run of characters; everything else is literal.
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(body: &str) -> Value {
        json!({"messageId": "m1", "body": body, "attributes": {"ApproximateReceiveCount": "1"}})
    }

    fn s3_body(key: &str, size: u64) -> String {
        json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "source"}, "object": {"key": key, "size": size}}}]})
        .to_string()
    }

    fn matches(pattern: &str, body: &str) -> bool {
        FilterPattern::parse(pattern)
            .expect("valid pattern")
            .matches_record(&record(body))
    }

    #[test]
    fn nested_fields_and_arrays() {
        let body = s3_body("images/cat.png", 10);
        assert!(matches(
            r#"{"body":{"Records":{"s3":{"object":{"key":[{"suffix":".png"}]}}}}}"#,
            &body
        ));
        assert!(!matches(
            r#"{"body":{"Records":{"s3":{"object":{"key":[{"suffix":".jpg"}]}}}}}"#,
            &body
        ));
        assert!(matches(
            r#"{"body":{"Records":{"eventName":[{"prefix":"ObjectCreated:"}]}}}"#,
            &body
        ));
        assert!(matches(
            r#"{"body":{"Records":{"s3":{"object":{"size":[{"numeric":[">",5,"<=",10]}]}}}}}"#,
            &body
        ));
        assert!(!matches(
            r#"{"body":{"Records":{"s3":{"object":{"size":[{"numeric":[">",10]}]}}}}}"#,
            &body
        ));
        assert!(matches(
            r#"{"attributes":{"ApproximateReceiveCount":["1"]}}"#,
            &body
        ));
    }

    #[test]
    fn plain_bodies_and_special_matchers() {
        assert!(matches(r#"{"body":["hello"]}"#, "hello"));
        assert!(!matches(r#"{"body":{"a":["x"]}}"#, "hello"));
        assert!(matches(
            r#"{"body":[{"equals-ignore-case":"HELLO"}]}"#,
            "hello"
        ));
        assert!(matches(r#"{"body":[{"wildcard":"he*o"}]}"#, "hello"));
        assert!(matches(
            r#"{"body":{"Service":[{"exists":false}]}}"#,
            &s3_body("k", 1)
        ));
        assert!(!matches(
            r#"{"body":{"Records":[{"exists":false}]}}"#,
            &s3_body("k", 1)
        ));
        assert!(matches(
            r#"{"body":{"Records":{"eventName":[{"anything-but":["ObjectRemoved:Delete"]}]}}}"#,
            &s3_body("k", 1)
        ));
        assert!(matches(
            r#"{"body":{"$or":[{"Event":["s3:TestEvent"]},{"Records":{"eventName":[{"prefix":"ObjectCreated"}]}}]}}"#,
            &s3_body("k", 1)
        ));
    }

    #[test]
    fn invalid_patterns_are_refused() {
        for bad in [
            "not json",
            "[]",
            "{}",
            r#"{"body":"x"}"#,
            r#"{"body":[]}"#,
            r#"{"body":[{"nope":1}]}"#,
            r#"{"body":[{"numeric":["!",1]}]}"#,
            r#"{"body":[{"prefix":1}]}"#,
        ] {
            assert!(FilterPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(FilterPattern::parse(&format!(r#"{{"body":["{}"]}}"#, "x".repeat(5000))).is_err());
    }

    #[test]
    fn no_patterns_match_everything() {
        assert!(any_matches(&[], &record("x")));
    }
}
