//! The Runtime API clients eddy ships inside its binary (`python/bootstrap.py`,
//! `node/bootstrap.mjs`), written to a directory under the data directory so an
//! interpreter can run them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::runtime::Language;

/// The Python client: standard library only, Python 3.9 and newer.
pub const PYTHON_CLIENT: &str = include_str!("../python/bootstrap.py");
/// The Node.js client: standard library only, Node.js 18 and newer.
pub const NODE_CLIENT: &str = include_str!("../node/bootstrap.mjs");

/// A client script could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the runtime client {}: {source}", path.display())]
pub struct InstallError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The client scripts, written under one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeClients {
    python: PathBuf,
    node: PathBuf,
}

impl RuntimeClients {
    /// Writes the clients to `dir/python/bootstrap.py` and `dir/node/bootstrap.mjs`,
    /// unless they are there already with this build's content. A script is replaced
    /// by renaming a complete copy over it, so a process starting meanwhile never
    /// reads half a script.
    pub fn install(dir: &Path) -> Result<Self, InstallError> {
        let python = dir.join("python").join("bootstrap.py");
        let node = dir.join("node").join("bootstrap.mjs");
        write_if_changed(&python, PYTHON_CLIENT)?;
        write_if_changed(&node, NODE_CLIENT)?;
        Ok(Self { python, node })
    }

    /// The script that runs functions of `language`.
    pub fn client_for(&self, language: Language) -> &Path {
        match language {
            Language::Python { .. } => &self.python,
            Language::NodeJs { .. } => &self.node,
        }
    }
}

fn write_if_changed(path: &Path, content: &str) -> Result<(), InstallError> {
    if fs::read(path).is_ok_and(|existing| existing == content.as_bytes()) {
        return Ok(());
    }
    let failed = |source| InstallError {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(failed)?;
    let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    staged.write_all(content.as_bytes()).map_err(failed)?;
    staged.persist(path).map_err(|error| failed(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_writes_both_clients_and_repairs_a_changed_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clients = RuntimeClients::install(dir.path()).expect("install");
        let python = clients.client_for(Language::Python { minor: 12 });
        let node = clients.client_for(Language::NodeJs { major: 20 });
        assert_eq!(
            fs::read_to_string(python).expect("python client"),
            PYTHON_CLIENT
        );
        assert_eq!(fs::read_to_string(node).expect("node client"), NODE_CLIENT);

        fs::write(python, "stale").expect("overwrite");
        RuntimeClients::install(dir.path()).expect("install again");
        assert_eq!(
            fs::read_to_string(python).expect("python client"),
            PYTHON_CLIENT
        );
        let leftovers = fs::read_dir(python.parent().expect("dir"))
            .expect("list")
            .count();
        assert_eq!(leftovers, 1, "only bootstrap.py is left in the directory");
    }
}
