//! The AWS query protocol as IAM and STS speak it: form parameters in (`Action=...`,
//! lists as `Tags.member.1.Key`), XML out (`<{Action}Response>` with a
//! `<{Action}Result>` and `ResponseMetadata`, lists as runs of `<member>`), and the
//! `ErrorResponse` document of a refusal. Shared by [`crate::iam`] and [`crate::sts`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::error::IamError;

/// The form parameters of one request (query string, then form body).
#[derive(Debug, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    pub fn parse(parts: &http::request::Parts, body: &[u8]) -> Self {
        let mut values: BTreeMap<String, String> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        values.extend(form_urlencoded::parse(body).into_owned());
        Self { values }
    }

    /// The action named by `Action`.
    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A member the model marks required: `ValidationError` when missing.
    pub fn required(&self, name: &str) -> Result<String, IamError> {
        self.get(name).map(str::to_owned).ok_or_else(|| {
            IamError::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(name)
            ))
        })
    }

    /// An optional integer member.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, IamError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    IamError::validation(format!("Invalid value {v} for {name}: not an integer"))
                })
            })
            .transpose()
    }

    /// An optional boolean member.
    pub fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A list member of strings: `{name}.member.1`, `{name}.member.2`, ...
    pub fn string_list(&self, name: &str) -> Vec<String> {
        (1..)
            .map_while(|i| self.get(&format!("{name}.member.{i}")).map(str::to_owned))
            .collect()
    }

    /// A list member of tags: `{name}.member.N.Key` / `.Value`.
    pub fn tags(&self, name: &str) -> Vec<eddy_store::iam::Tag> {
        (1..)
            .map_while(|i| {
                let key = self.get(&format!("{name}.member.{i}.Key"))?;
                let value = self
                    .get(&format!("{name}.member.{i}.Value"))
                    .unwrap_or_default();
                Some(eddy_store::iam::Tag {
                    key: key.to_owned(),
                    value: value.to_owned(),
                })
            })
            .collect()
    }
}

/// `RoleName` becomes `roleName`, as AWS names members in validation messages.
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Builds the XML of a result: elements in the order written.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
}

impl Xml {
    pub fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// `<name>text</name>`, escaped.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>{}</{name}>", escape(text));
        self
    }

    /// Escaped text inside the element open now.
    pub fn content(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    /// `<name>text</name>` when there is a value.
    pub fn optional(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.text(name, text);
        }
        self
    }

    /// `<name><member>..</member>...</name>`, each member written by `write`.
    pub fn members<T>(
        &mut self,
        name: &str,
        items: &[T],
        write: impl Fn(&mut Self, &T),
    ) -> &mut Self {
        self.open(name);
        for item in items {
            self.open("member");
            write(self, item);
            self.close("member");
        }
        self.close(name)
    }

    /// The `Tags` list of IAM and STS.
    pub fn tags(&mut self, tags: &[eddy_store::iam::Tag]) -> &mut Self {
        self.members("Tags", tags, |x, tag| {
            x.text("Key", &tag.key).text("Value", &tag.value);
        })
    }

    /// `IsTruncated` and, when truncated, `Marker`.
    pub fn page_end(&mut self, marker: Option<&str>) -> &mut Self {
        self.text(
            "IsTruncated",
            if marker.is_some() { "true" } else { "false" },
        )
        .optional("Marker", marker)
    }
}

/// Escapes text for an XML element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// The answer of a successful action: `result` inside `<{action}Result>` (none for an
/// action whose model has no output).
pub fn response(
    namespace: &str,
    action: &str,
    result: Option<Xml>,
    request_id: &str,
) -> http::Response<s3s::Body> {
    let mut body = format!(r#"<{action}Response xmlns="{namespace}">"#);
    if let Some(result) = result {
        let _ = write!(body, "<{action}Result>{}</{action}Result>", result.out);
    }
    let _ = write!(
        body,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    );
    xml_response(http::StatusCode::OK, body)
}

/// The `ErrorResponse` of a refusal.
pub fn error_response(
    namespace: &str,
    error: &IamError,
    request_id: &str,
) -> http::Response<s3s::Body> {
    let body = format!(
        r#"<ErrorResponse xmlns="{namespace}"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>"#,
        if error.code.is_server_fault() {
            "Receiver"
        } else {
            "Sender"
        },
        error.code.as_str(),
        escape(&error.message),
        escape(request_id)
    );
    xml_response(error.code.status(), body)
}

fn xml_response(status: http::StatusCode, body: String) -> http::Response<s3s::Body> {
    let mut response = http::Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml"),
    );
    response
}

/// A page of `items` (sorted by `key`) after `marker`, at most `max_items` (IAM's
/// default 100); returns the page and the marker of the next one.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> Result<(Vec<T>, Option<String>), IamError> {
    let max = match max_items {
        None => 100,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(n) => {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
            )));
        }
    };
    let mut rest: Vec<T> = match marker {
        Some(marker) => items
            .into_iter()
            .filter(|i| key(i).as_str() >= marker)
            .collect(),
        None => items,
    };
    let next = rest.get(max).map(&key);
    rest.truncate(max);
    Ok((rest, next))
}

/// An IAM timestamp: ISO-8601 UTC to the second (`2026-01-01T00:00:00Z`).
pub fn timestamp(ms: u64) -> String {
    let with_millis = eddy_store::time::iso8601_millis(ms);
    match with_millis.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => with_millis,
    }
}
