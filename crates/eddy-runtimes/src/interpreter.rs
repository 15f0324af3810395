//! Finding the local interpreter a Python or Node.js runtime runs its client with.
//!
//! A candidate counts only when running it works: version managers such as pyenv put a
//! shim for every version on `PATH` that fails unless that version is active, so a
//! program's presence proves nothing. Python functions prefer `python3.X` of their
//! runtime, else any `python3` of 3.9 or newer; Node.js functions run `node` of 18 or
//! newer. `EDDY_PYTHON` / `EDDY_NODE` name the interpreter instead, for users whose own
//! interpreter has their dependencies (boto3, say) installed.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::runtime::Language;

/// The variable naming the Python interpreter to use instead of searching `PATH`.
pub const PYTHON_OVERRIDE_VARIABLE: &str = "EDDY_PYTHON";
/// The variable naming the Node.js executable to use instead of searching `PATH`.
pub const NODE_OVERRIDE_VARIABLE: &str = "EDDY_NODE";

/// The oldest Python the Python client supports (Lambda's oldest Python runtime eddy runs).
pub const OLDEST_PYTHON_MINOR: u32 = 9;
/// The oldest Node.js the Node.js client supports.
pub const OLDEST_NODE_MAJOR: u32 = 18;

/// How long an interpreter may take to say its version.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Interpreters the user named instead of the ones found on `PATH`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterpreterOverrides {
    pub python: Option<String>,
    pub node: Option<String>,
}

impl InterpreterOverrides {
    /// The overrides in `EDDY_PYTHON` and `EDDY_NODE` (empty values are ignored).
    pub fn from_env() -> Self {
        let read = |name| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self {
            python: read(PYTHON_OVERRIDE_VARIABLE),
            node: read(NODE_OVERRIDE_VARIABLE),
        }
    }

    fn for_language(&self, language: Language) -> Option<(&'static str, &str)> {
        match language {
            Language::Python { .. } => self
                .python
                .as_deref()
                .map(|program| (PYTHON_OVERRIDE_VARIABLE, program)),
            Language::NodeJs { .. } => self
                .node
                .as_deref()
                .map(|program| (NODE_OVERRIDE_VARIABLE, program)),
        }
    }
}

/// A version as an interpreter reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// Parses `3.12.1`, `v20.20.2`, `3.13.0rc1` (the patch's digits only).
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches('v');
        let mut parts = text.splitn(3, '.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch_digits: String = parts
            .next()
            .unwrap_or("0")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let patch = patch_digits.parse().unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// How an interpreter was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Named by `EDDY_PYTHON` / `EDDY_NODE`.
    Override,
    /// Found on `PATH`.
    Path,
}

/// An interpreter that runs, with the version it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The program to run (as given: a name looked up on `PATH`, or a path).
    pub program: String,
    pub version: Version,
    pub choice: Choice,
}

impl Interpreter {
    /// Whether the interpreter is the language version the runtime is named for.
    pub fn is_exact(&self, language: Language) -> bool {
        match language {
            Language::Python { minor } => self.version.major == 3 && self.version.minor == minor,
            Language::NodeJs { major } => self.version.major == major,
        }
    }

    /// A sentence for the log when functions of `language` run on another version.
    pub fn mismatch_notice(&self, language: Language) -> Option<String> {
        let runtime = language
            .runtime()
            .map_or_else(|| language.to_string(), |runtime| runtime.to_string());
        (!self.is_exact(language)).then(|| {
            format!(
                "{runtime} functions run with `{}` ({} {}): {language} was not found{}",
                self.program,
                language_name(language),
                self.version,
                match self.choice {
                    Choice::Override => " (the interpreter was chosen by the user)",
                    Choice::Path => "",
                }
            )
        })
    }
}

fn language_name(language: Language) -> &'static str {
    match language {
        Language::Python { .. } => "Python",
        Language::NodeJs { .. } => "Node.js",
    }
}

/// No interpreter runs for a language version; the message says what to install.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MissingInterpreter {
    pub language: Language,
    /// The override variable, when the user named the interpreter.
    pub override_variable: Option<&'static str>,
    /// Each candidate tried and why it does not do.
    pub attempts: Vec<Attempt>,
}

/// One candidate interpreter and why it was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub program: String,
    pub failure: ProbeFailure,
}

/// Why a candidate interpreter cannot run functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    /// No such program.
    NotFound,
    /// It could not be started for another reason (permissions, say).
    NotStarted(String),
    /// It ran and failed; the first line of what it printed.
    Failed { status: String, output: String },
    /// It did not answer within the probe timeout.
    TimedOut,
    /// It answered something that is not a version.
    Unrecognised(String),
    /// It is older than the client supports.
    TooOld(Version),
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeFailure::NotFound => f.write_str("not found"),
            ProbeFailure::NotStarted(error) => write!(f, "cannot be started ({error})"),
            ProbeFailure::Failed { status, output } if output.is_empty() => {
                write!(f, "fails ({status})")
            }
            ProbeFailure::Failed { status, output } => write!(f, "fails ({status}: {output})"),
            ProbeFailure::TimedOut => write!(f, "did not answer within {PROBE_TIMEOUT:?}"),
            ProbeFailure::Unrecognised(answer) => {
                write!(f, "answered {answer:?} when asked its version")
            }
            ProbeFailure::TooOld(version) => write!(f, "is version {version}, too old"),
        }
    }
}

impl fmt::Display for MissingInterpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runtime = self
            .language
            .runtime()
            .map_or_else(|| self.language.to_string(), |runtime| runtime.to_string());
        write!(f, "no interpreter runs {runtime} functions here: ")?;
        for (index, attempt) in self.attempts.iter().enumerate() {
            let separator = if index == 0 { "" } else { "; " };
            match self.override_variable {
                Some(variable) => write!(f, "{separator}{variable}=`{}`", attempt.program)?,
                None => write!(f, "{separator}`{}`", attempt.program)?,
            }
            write!(f, " {}", attempt.failure)?;
        }
        let (install, variable, oldest) = match self.language {
            Language::Python { minor } => (
                format!("Python 3.{minor} (`python3.{minor}` on PATH)"),
                PYTHON_OVERRIDE_VARIABLE,
                format!("Python 3.{OLDEST_PYTHON_MINOR} or newer"),
            ),
            Language::NodeJs { major } => (
                format!("Node.js {major} (`node` on PATH)"),
                NODE_OVERRIDE_VARIABLE,
                format!("Node.js {OLDEST_NODE_MAJOR} or newer"),
            ),
        };
        match self.override_variable {
            Some(_) => write!(
                f,
                ". Point {variable} at a working interpreter ({oldest}), or unset it to use {install}"
            ),
            None => write!(
                f,
                ". Install {install}, or set {variable} to an interpreter of {oldest}"
            ),
        }
    }
}

/// Finds the interpreter to run functions of `language` with; see the module documentation.
pub fn find_interpreter(
    language: Language,
    overrides: &InterpreterOverrides,
) -> Result<Interpreter, MissingInterpreter> {
    let override_given = overrides.for_language(language);
    let candidates: Vec<String> = match (override_given, language) {
        (Some((_, program)), _) => vec![program.to_owned()],
        (None, Language::Python { minor }) => vec![format!("python3.{minor}"), "python3".into()],
        (None, Language::NodeJs { .. }) => vec!["node".into()],
    };
    let choice = match override_given {
        Some(_) => Choice::Override,
        None => Choice::Path,
    };
    let mut attempts = Vec::new();
    for program in candidates {
        match probe(language, &program) {
            Ok(version) => {
                return Ok(Interpreter {
                    program,
                    version,
                    choice,
                });
            }
            Err(failure) => attempts.push(Attempt { program, failure }),
        }
    }
    Err(MissingInterpreter {
        language,
        override_variable: override_given.map(|(variable, _)| variable),
        attempts,
    })
}

/// Runs the program to learn its version, and checks the client supports it.
pub fn probe(language: Language, program: &str) -> Result<Version, ProbeFailure> {
    let arguments: &[&str] = match language {
        Language::Python { .. } => &["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        Language::NodeJs { .. } => &["--version"],
    };
    let answer = run_with_timeout(program, arguments)?;
    let version = Version::parse(&answer).ok_or(ProbeFailure::Unrecognised(answer))?;
    let supported = match language {
        Language::Python { .. } => version.major == 3 && version.minor >= OLDEST_PYTHON_MINOR,
        Language::NodeJs { .. } => version.major >= OLDEST_NODE_MAJOR,
    };
    if supported {
        Ok(version)
    } else {
        Err(ProbeFailure::TooOld(version))
    }
}

/// Runs `program arguments` and returns its standard output when it succeeds.
fn run_with_timeout(program: &str, arguments: &[&str]) -> Result<String, ProbeFailure> {
    let mut child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => ProbeFailure::NotFound,
            _ => ProbeFailure::NotStarted(error.to_string()),
        })?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > PROBE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProbeFailure::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) => return Err(ProbeFailure::NotStarted(error.to_string())),
        }
    };
    let read = |stream: Option<&mut dyn Read>| {
        let mut text = String::new();
        if let Some(stream) = stream {
            let _ = stream.read_to_string(&mut text);
        }
        text
    };
    let stdout = read(child.stdout.as_mut().map(|s| s as &mut dyn Read));
    let stderr = read(child.stderr.as_mut().map(|s| s as &mut dyn Read));
    if status.success() {
        return Ok(stdout.trim().to_owned());
    }
    let output = stderr
        .lines()
        .chain(stdout.lines())
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_owned();
    Err(ProbeFailure::Failed {
        status: status.to_string(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_interpreters_print_them() {
        let parsed = |text| Version::parse(text).map(|v| (v.major, v.minor, v.patch));
        assert_eq!(parsed("3.12.1\n"), Some((3, 12, 1)));
        assert_eq!(parsed("v20.20.2"), Some((20, 20, 2)));
        assert_eq!(parsed("3.13.0rc1"), Some((3, 13, 0)));
        assert_eq!(parsed("3.9"), Some((3, 9, 0)));
        assert_eq!(parsed("Python"), None);
    }

    #[test]
    fn the_message_for_a_missing_interpreter_says_what_to_install() {
        let missing = MissingInterpreter {
            language: Language::Python { minor: 12 },
            override_variable: None,
            attempts: vec![
                Attempt {
                    program: "python3.12".into(),
                    failure: ProbeFailure::Failed {
                        status: "exit status: 127".into(),
                        output: "pyenv: python3.12: command not found".into(),
                    },
                },
                Attempt {
                    program: "python3".into(),
                    failure: ProbeFailure::NotFound,
                },
            ],
        };
        assert_eq!(
            missing.to_string(),
            "no interpreter runs python3.12 functions here: `python3.12` fails (exit status: 127: pyenv: python3.12: command not found); `python3` not found. Install Python 3.12 (`python3.12` on PATH), or set EDDY_PYTHON to an interpreter of Python 3.9 or newer"
        );
    }
}
