//! How to start a function process of a managed runtime: the command and the variables
//! the runtime adds, for the host that runs Runtime API processes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::clients::{InstallError, RuntimeClients};
use crate::interpreter::{Interpreter, InterpreterOverrides, MissingInterpreter, find_interpreter};
use crate::runtime::{Language, Runtime};

/// The variables Lambda sets itself, which a function's configured environment may not
/// set (Lambda's reserved keys): checked for API functions and for `eddy.toml` alike.
pub const RESERVED_ENVIRONMENT: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The command and environment for one function process.
///
/// The host adds what every function gets (`AWS_LAMBDA_RUNTIME_API`, `_HANDLER`,
/// `LAMBDA_TASK_ROOT` and the working directory set to the task root,
/// `AWS_LAMBDA_FUNCTION_*`, credentials, `AWS_ENDPOINT_URL`, ...); `environment` is
/// what this runtime adds on top (`AWS_EXECUTION_ENV`, `LAMBDA_RUNTIME_DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program and its arguments.
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    /// A sentence for the log when the interpreter is not the runtime's own version.
    pub notice: Option<String>,
    /// Whether the process prints [`crate::INVOCATION_END_MARK`] at the end of each
    /// invocation (eddy's own clients do; a `bootstrap` does not).
    pub marks_invocation_end: bool,
}

/// A function of a managed runtime cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    MissingInterpreter(#[from] MissingInterpreter),
    /// An OS-only runtime's function has no `bootstrap` in its task root.
    #[error("Couldn't find valid bootstrap(s): [{}]", path.display())]
    MissingBootstrap { path: PathBuf },
    /// The `bootstrap` is not executable.
    #[error("fork/exec {}: permission denied", path.display())]
    BootstrapNotExecutable { path: PathBuf },
}

impl LaunchError {
    /// The error type Lambda reports when a function's process cannot be started.
    pub const ERROR_TYPE: &'static str = "Runtime.InvalidEntrypoint";
}

/// The managed runtimes of one eddy: the installed clients, and the interpreters found
/// so far (each language version is probed once; a missing one is probed again on the
/// next launch, so installing it needs no restart).
#[derive(Debug)]
pub struct ManagedRuntimes {
    clients: RuntimeClients,
    overrides: InterpreterOverrides,
    found: Mutex<HashMap<Language, Interpreter>>,
}

impl ManagedRuntimes {
    /// Installs the clients under `clients_dir` (a directory under eddy's data directory).
    pub fn new(clients_dir: &Path, overrides: InterpreterOverrides) -> Result<Self, InstallError> {
        Ok(Self {
            clients: RuntimeClients::install(clients_dir)?,
            overrides,
            found: Mutex::new(HashMap::new()),
        })
    }

    /// How to start a process of a `runtime` function whose code is in `task_root`.
    ///
    /// The first launch of a language version runs its interpreter once to learn its
    /// version (tens of milliseconds): call it where blocking is allowed.
    pub fn launch(&self, runtime: Runtime, task_root: &Path) -> Result<Launch, LaunchError> {
        let mut environment =
            BTreeMap::from([("AWS_EXECUTION_ENV".to_owned(), runtime.execution_env())]);
        let Some(language) = runtime.language() else {
            let bootstrap = task_root.join("bootstrap");
            check_executable(&bootstrap)?;
            return Ok(Launch {
                command: vec![bootstrap.to_string_lossy().into_owned()],
                environment,
                notice: None,
                marks_invocation_end: false,
            });
        };
        let interpreter = self.interpreter(language)?;
        let client = self.clients.client_for(language);
        if matches!(language, Language::Python { .. }) {
            // What a handler prints reaches its log as it prints it, as on Lambda (a
            // pipe would otherwise buffer stdout until the process exits).
            environment.insert("PYTHONUNBUFFERED".to_owned(), "1".to_owned());
        }
        if let Some(dir) = client.parent() {
            environment.insert(
                "LAMBDA_RUNTIME_DIR".to_owned(),
                dir.to_string_lossy().into_owned(),
            );
        }
        Ok(Launch {
            command: vec![
                interpreter.program.clone(),
                client.to_string_lossy().into_owned(),
            ],
            environment,
            notice: interpreter.mismatch_notice(language),
            marks_invocation_end: true,
        })
    }

    fn interpreter(&self, language: Language) -> Result<Interpreter, MissingInterpreter> {
        let known = self
            .found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&language)
            .cloned();
        if let Some(interpreter) = known {
            return Ok(interpreter);
        }
        let interpreter = find_interpreter(language, &self.overrides)?;
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(language, interpreter.clone());
        Ok(interpreter)
    }
}

fn check_executable(bootstrap: &Path) -> Result<(), LaunchError> {
    let metadata = std::fs::metadata(bootstrap)
        .ok()
        .filter(std::fs::Metadata::is_file);
    let Some(metadata) = metadata else {
        return Err(LaunchError::MissingBootstrap {
            path: bootstrap.to_owned(),
        });
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o111 == 0 {
            return Err(LaunchError::BootstrapNotExecutable {
                path: bootstrap.to_owned(),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    Ok(())
}
