//! FilterLogEvents' filter patterns for unstructured events: space-separated terms
//! that must all appear (`ERROR timeout`), quoted phrases matched whole (`"Task timed
//! out"`), `?term`s of which at least one must appear, and `-term`s that must not.
//! Matching is case-sensitive, as CloudWatch Logs' is. JSON (`{ ... }`) and
//! space-delimited (`[ ... ]`) patterns are refused with InvalidParameterException.

use super::error::LogsError;

/// A parsed term pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterPattern {
    required: Vec<String>,
    any_of: Vec<String>,
    excluded: Vec<String>,
}

impl FilterPattern {
    /// Parses a pattern; an empty one matches every event.
    pub fn parse(pattern: &str) -> Result<Self, LogsError> {
        let trimmed = pattern.trim();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Err(LogsError::invalid(
                "Invalid filter pattern: eddy supports term and quoted-phrase patterns, not JSON or space-delimited ones",
            ));
        }
        let mut parsed = Self::default();
        let mut chars = trimmed.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let kind = match first {
                '?' | '-' => {
                    chars.next();
                    first
                }
                _ => ' ',
            };
            let mut term = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => term.extend(chars.next()),
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => term.push(c),
                    }
                }
                if !closed {
                    return Err(LogsError::invalid(
                        "Invalid filter pattern: a quoted phrase is not closed",
                    ));
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    term.push(c);
                }
            }
            if term.is_empty() {
                continue;
            }
            match kind {
                '?' => parsed.any_of.push(term),
                '-' => parsed.excluded.push(term),
                _ => parsed.required.push(term),
            }
        }
        Ok(parsed)
    }

    /// Whether an event's message matches.
    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| message.contains(t.as_str()))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| message.contains(t.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::FilterPattern;

    fn matches(pattern: &str, message: &str) -> bool {
        FilterPattern::parse(pattern)
            .expect("parses")
            .matches(message)
    }

    #[test]
    fn terms_phrases_options_and_exclusions() {
        assert!(matches("", "anything"));
        assert!(matches("ERROR disk", "ERROR: disk full"));
        assert!(!matches("ERROR disk", "ERROR: memory"));
        assert!(!matches("error", "ERROR"));
        assert!(matches("\"disk full\"", "ERROR: disk full"));
        assert!(!matches("\"full disk\"", "ERROR: disk full"));
        assert!(matches("?WARN ?ERROR", "WARN low"));
        assert!(!matches("?WARN ?ERROR", "INFO ok"));
        assert!(!matches("ERROR -disk", "ERROR: disk full"));
        assert!(FilterPattern::parse("{ $.a = 1 }").is_err());
        assert!(FilterPattern::parse("\"open").is_err());
    }
}
