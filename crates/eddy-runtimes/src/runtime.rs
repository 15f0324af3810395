//! Lambda's runtime identifiers: the ones eddy runs as local processes ([`Runtime`]), and
//! the answer Lambda's CreateFunction gives for every other value ([`RuntimeRejection`]).

use std::fmt;
use std::str::FromStr;

/// A Lambda runtime eddy runs as a local process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    /// `provided.al2023`: the function's own `bootstrap` executable.
    ProvidedAl2023,
    /// `provided.al2`: the function's own `bootstrap` executable.
    ProvidedAl2,
    Python39,
    Python310,
    Python311,
    Python312,
    Python313,
    NodeJs18,
    NodeJs20,
    NodeJs22,
}

/// The language a runtime runs its handler in, with the version the runtime is named for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Python 3.`minor`.
    Python { minor: u32 },
    /// Node.js `major`.
    NodeJs { major: u32 },
}

impl Runtime {
    /// Every runtime eddy runs, in the order eddy lists them.
    pub const ALL: [Runtime; 10] = [
        Runtime::ProvidedAl2023,
        Runtime::ProvidedAl2,
        Runtime::Python39,
        Runtime::Python310,
        Runtime::Python311,
        Runtime::Python312,
        Runtime::Python313,
        Runtime::NodeJs18,
        Runtime::NodeJs20,
        Runtime::NodeJs22,
    ];

    /// Lambda's identifier, as in CreateFunction's `Runtime`.
    pub fn identifier(self) -> &'static str {
        match self {
            Runtime::ProvidedAl2023 => "provided.al2023",
            Runtime::ProvidedAl2 => "provided.al2",
            Runtime::Python39 => "python3.9",
            Runtime::Python310 => "python3.10",
            Runtime::Python311 => "python3.11",
            Runtime::Python312 => "python3.12",
            Runtime::Python313 => "python3.13",
            Runtime::NodeJs18 => "nodejs18.x",
            Runtime::NodeJs20 => "nodejs20.x",
            Runtime::NodeJs22 => "nodejs22.x",
        }
    }

    /// The handler's language; `None` for the OS-only runtimes, which run the
    /// function's own `bootstrap`.
    pub fn language(self) -> Option<Language> {
        match self {
            Runtime::ProvidedAl2023 | Runtime::ProvidedAl2 => None,
            Runtime::Python39 => Some(Language::Python { minor: 9 }),
            Runtime::Python310 => Some(Language::Python { minor: 10 }),
            Runtime::Python311 => Some(Language::Python { minor: 11 }),
            Runtime::Python312 => Some(Language::Python { minor: 12 }),
            Runtime::Python313 => Some(Language::Python { minor: 13 }),
            Runtime::NodeJs18 => Some(Language::NodeJs { major: 18 }),
            Runtime::NodeJs20 => Some(Language::NodeJs { major: 20 }),
            Runtime::NodeJs22 => Some(Language::NodeJs { major: 22 }),
        }
    }

    /// The `AWS_EXECUTION_ENV` Lambda sets for the runtime (`AWS_Lambda_python3.12`).
    pub fn execution_env(self) -> String {
        format!("AWS_Lambda_{}", self.identifier())
    }
}

impl Language {
    /// The runtime named for this language version.
    pub fn runtime(self) -> Option<Runtime> {
        Runtime::ALL
            .into_iter()
            .find(|runtime| runtime.language() == Some(self))
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.identifier())
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Language::Python { minor } => write!(f, "Python 3.{minor}"),
            Language::NodeJs { major } => write!(f, "Node.js {major}"),
        }
    }
}

/// The runtimes CreateFunction accepts, in the order Lambda lists them when it rejects
/// a value that is not one (an order recorded from AWS; `dotnet10` and `ruby4.0`,
/// newer than that record, come last).
pub const LAMBDA_ACCEPTED_RUNTIMES: [&str; 26] = [
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java17",
    "nodejs16.x",
    "java25",
    "dotnet8",
    "python3.10",
    "java11",
    "python3.11",
    "dotnet6",
    "java21",
    "nodejs18.x",
    "provided.al2",
    "ruby3.3",
    "ruby3.4",
    "java8.al2",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "dotnet10",
    "ruby4.0",
];

/// The identifiers of Lambda's API model (botocore's `Runtime` enum) that CreateFunction
/// no longer accepts: their runtimes are past Lambda's "block function create" date.
pub const LAMBDA_RETIRED_RUNTIMES: [&str; 20] = [
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "java8",
    "python2.7",
    "python3.6",
    "python3.7",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
];

/// Why a `Runtime` value cannot be used. Lambda's API answers each with
/// [`RuntimeRejection::ERROR_CODE`] and this value's `Display` as the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeRejection {
    /// Not a runtime identifier Lambda accepts or ever accepted.
    #[error(
        "Value {value} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
        LAMBDA_ACCEPTED_RUNTIMES.join(", ")
    )]
    NotARuntime { value: String },
    /// A retired runtime Lambda no longer accepts for new or updated functions.
    #[error(
        "The runtime parameter of {value} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
    )]
    NoLongerSupported { value: String },
    /// A runtime Lambda accepts that eddy does not run (Java, .NET, Ruby, and Python or
    /// Node.js versions newer than eddy's clients are tested with): eddy's own answer.
    #[error(
        "eddy runs functions of the runtimes {} as local processes; {value} is a Lambda runtime eddy does not run",
        eddy_runtime_list()
    )]
    NotRunByEddy { value: String },
}

impl RuntimeRejection {
    /// The error code Lambda's API answers a rejected runtime with.
    pub const ERROR_CODE: &'static str = "InvalidParameterValueException";
}

fn eddy_runtime_list() -> String {
    Runtime::ALL
        .iter()
        .map(|runtime| runtime.identifier())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Runtime {
    type Err = RuntimeRejection;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if let Some(runtime) = Runtime::ALL
            .into_iter()
            .find(|runtime| runtime.identifier() == value)
        {
            return Ok(runtime);
        }
        let value = value.to_owned();
        Err(if LAMBDA_ACCEPTED_RUNTIMES.contains(&value.as_str()) {
            RuntimeRejection::NotRunByEddy { value }
        } else if LAMBDA_RETIRED_RUNTIMES.contains(&value.as_str()) {
            RuntimeRejection::NoLongerSupported { value }
        } else {
            RuntimeRejection::NotARuntime { value }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_parses_from_its_identifier_and_lambda_accepts_it() {
        for runtime in Runtime::ALL {
            assert_eq!(runtime.identifier().parse::<Runtime>(), Ok(runtime));
            assert!(LAMBDA_ACCEPTED_RUNTIMES.contains(&runtime.identifier()));
        }
    }

    #[test]
    fn languages_name_their_runtime() {
        assert_eq!(
            Runtime::Python312.language(),
            Some(Language::Python { minor: 12 })
        );
        assert_eq!(
            Language::NodeJs { major: 20 }.runtime(),
            Some(Runtime::NodeJs20)
        );
        assert_eq!(Language::NodeJs { major: 16 }.runtime(), None);
        assert_eq!(Runtime::ProvidedAl2.language(), None);
        assert_eq!(Runtime::NodeJs22.execution_env(), "AWS_Lambda_nodejs22.x");
    }

    #[test]
    fn accepted_and_retired_lists_do_not_overlap() {
        for retired in LAMBDA_RETIRED_RUNTIMES {
            assert!(!LAMBDA_ACCEPTED_RUNTIMES.contains(&retired), "{retired}");
        }
    }

    #[test]
    fn rejections_carry_lambdas_messages() {
        let unknown = "python3.99".parse::<Runtime>().unwrap_err();
        assert!(matches!(unknown, RuntimeRejection::NotARuntime { .. }));
        assert!(unknown.to_string().starts_with(
            "Value python3.99 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14, provided.al2023, "
        ));
        assert!(
            unknown
                .to_string()
                .ends_with(", dotnet10, ruby4.0] or be a valid ARN")
        );

        let retired = "python3.7".parse::<Runtime>().unwrap_err();
        assert_eq!(
            retired.to_string(),
            "The runtime parameter of python3.7 is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
        );

        let java = "java21".parse::<Runtime>().unwrap_err();
        assert!(matches!(java, RuntimeRejection::NotRunByEddy { .. }));
        assert!(
            java.to_string()
                .contains("provided.al2023, provided.al2, python3.9, ")
        );
        assert!(
            java.to_string()
                .ends_with("java21 is a Lambda runtime eddy does not run")
        );
    }
}
