//! IAM roles and customer managed policies (the [`Roles`] and [`Policies`] handles),
//! created through eddy's IAM API. A role is one row keyed by its name (IAM names are
//! unique without regard to case), its definition as JSON ([`RoleRecord`]: trust
//! policy, tags, inline policies, attached policy ARNs); a managed policy is one row
//! keyed by its ARN ([`PolicyRecord`], with its versions).
//!
//! Every check that involves more than one row (a role with policies cannot be deleted,
//! an attached policy cannot be deleted, a policy must exist to be attached) runs in the
//! transaction that writes, so concurrent requests cannot slip past it. Nothing here is
//! enforced on requests: IAM in eddy is a control plane only.

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::shared::Shared;
use crate::tx::abort;

/// A role as stored, with IAM's member names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRecord {
    pub name: String,
    pub path: String,
    pub role_id: String,
    pub arn: String,
    pub create_date_ms: u64,
    /// The trust policy, as given (JSON text).
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: u32,
    pub tags: Vec<Tag>,
    /// Inline policies: name to document.
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of the attached managed policies, in attachment order.
    pub attached_policies: Vec<String>,
}

/// A tag of an IAM resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A customer managed policy as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    pub path: String,
    pub policy_id: String,
    pub arn: String,
    pub description: Option<String>,
    pub create_date_ms: u64,
    pub update_date_ms: u64,
    /// `v1`, `v2`, ...
    pub default_version_id: String,
    /// The number the next version gets.
    pub next_version: u32,
    pub versions: Vec<PolicyVersionRecord>,
    pub tags: Vec<Tag>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    pub version_id: String,
    pub document: String,
    pub create_date_ms: u64,
}

/// Why an IAM operation was refused, with IAM's message.
#[derive(Debug, thiserror::Error)]
pub enum IamStoreError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IamStoreError {
    /// IAM's answer for a role that does not exist.
    pub fn no_such_role(name: &str) -> Self {
        Self::NoSuchEntity(format!("The role with name {name} cannot be found."))
    }

    /// IAM's answer for a managed policy that does not exist.
    pub fn no_such_policy(arn: &str) -> Self {
        Self::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
    }
}

/// IAM roles; see [`crate::Store::iam_roles`].
pub struct Roles<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Roles<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Creates a role unless one of the same name (in any case) exists.
    pub async fn create(&self, record: RoleRecord) -> Result<RoleRecord, IamStoreError> {
        self.shared
            .db
            .write(move |conn| {
                if role(conn, &record.name)?.is_some() {
                    return abort(IamStoreError::EntityAlreadyExists(format!(
                        "Role with name {} already exists.",
                        record.name
                    )));
                }
                conn.execute(
                    "INSERT INTO iam_roles (name, config) VALUES (?1, ?2)",
                    params![record.name, serde_json::to_string(&record)?],
                )?;
                Ok(record)
            })
            .await
    }

    pub async fn get(&self, name: &str) -> Result<RoleRecord, IamStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .read(move |conn| match role(conn, &name)? {
                Some(record) => Ok(record),
                None => abort(IamStoreError::no_such_role(&name)),
            })
            .await
    }

    /// Every role, by name.
    pub async fn list(&self) -> Result<Vec<RoleRecord>, IamStoreError> {
        self.shared.db.read(|conn| Ok(all_roles(conn)?)).await
    }

    /// Changes a role with `change` in one transaction; returns the role as stored.
    pub async fn modify<T, F>(
        &self,
        name: &str,
        change: F,
    ) -> Result<(RoleRecord, T), IamStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut RoleRecord) -> Result<T, IamStoreError> + Send + 'static,
    {
        let name = name.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let Some(mut record) = role(conn, &name)? else {
                    return abort(IamStoreError::no_such_role(&name));
                };
                let value = change(&mut record).map_err(crate::tx::TxError::Abort)?;
                save_role(conn, &record)?;
                Ok((record, value))
            })
            .await
    }

    /// Attaches a managed policy: a customer managed one must exist; an AWS managed
    /// one (`arn:aws:iam::aws:policy/...`) is taken as named.
    pub async fn attach(&self, name: &str, policy_arn: &str) -> Result<(), IamStoreError> {
        let name = name.to_owned();
        let policy_arn = policy_arn.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let Some(mut record) = role(conn, &name)? else {
                    return abort(IamStoreError::no_such_role(&name));
                };
                if !is_aws_managed(&policy_arn) && policy(conn, &policy_arn)?.is_none() {
                    return abort(IamStoreError::no_such_policy(&policy_arn));
                }
                if !record.attached_policies.contains(&policy_arn) {
                    record.attached_policies.push(policy_arn);
                    save_role(conn, &record)?;
                }
                Ok(())
            })
            .await
    }

    /// Deletes a role that has no policies left; returns what it was.
    pub async fn delete(&self, name: &str) -> Result<RoleRecord, IamStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let Some(record) = role(conn, &name)? else {
                    return abort(IamStoreError::no_such_role(&name));
                };
                if !record.attached_policies.is_empty() {
                    return abort(IamStoreError::DeleteConflict(
                        "Cannot delete entity, must detach all policies first.".to_owned(),
                    ));
                }
                if !record.inline_policies.is_empty() {
                    return abort(IamStoreError::DeleteConflict(
                        "Cannot delete entity, must delete policies first.".to_owned(),
                    ));
                }
                conn.execute("DELETE FROM iam_roles WHERE name = ?1", [&record.name])?;
                Ok(record)
            })
            .await
    }
}

/// Whether an ARN names an AWS managed policy.
pub fn is_aws_managed(arn: &str) -> bool {
    arn.starts_with("arn:aws:iam::aws:policy/")
}

/// Customer managed policies; see [`crate::Store::iam_policies`].
pub struct Policies<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Policies<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Creates a policy unless one of the same name exists.
    pub async fn create(&self, record: PolicyRecord) -> Result<PolicyRecord, IamStoreError> {
        self.shared
            .db
            .write(move |conn| {
                if all_policies(conn)?
                    .iter()
                    .any(|p| p.name.eq_ignore_ascii_case(&record.name))
                {
                    return abort(IamStoreError::EntityAlreadyExists(format!(
                        "A policy called {} already exists. Duplicate names are not allowed.",
                        record.name
                    )));
                }
                conn.execute(
                    "INSERT INTO iam_policies (arn, config) VALUES (?1, ?2)",
                    params![record.arn, serde_json::to_string(&record)?],
                )?;
                Ok(record)
            })
            .await
    }

    /// A policy and how many roles it is attached to.
    pub async fn get(&self, arn: &str) -> Result<(PolicyRecord, u32), IamStoreError> {
        let arn = arn.to_owned();
        self.shared
            .db
            .read(move |conn| match policy(conn, &arn)? {
                Some(record) => {
                    let count = attachment_count(conn, &arn)?;
                    Ok((record, count))
                }
                None => abort(IamStoreError::NoSuchEntity(format!(
                    "Policy {arn} was not found."
                ))),
            })
            .await
    }

    /// Every policy with its attachment count, by ARN.
    pub async fn list(&self) -> Result<Vec<(PolicyRecord, u32)>, IamStoreError> {
        self.shared
            .db
            .read(|conn| {
                let policies = all_policies(conn)?;
                let roles = all_roles(conn)?;
                Ok(policies
                    .into_iter()
                    .map(|p| {
                        let count = count_in(&roles, &p.arn);
                        (p, count)
                    })
                    .collect())
            })
            .await
    }

    /// Changes a policy with `change` in one transaction.
    pub async fn modify<T, F>(
        &self,
        arn: &str,
        change: F,
    ) -> Result<(PolicyRecord, T), IamStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PolicyRecord) -> Result<T, IamStoreError> + Send + 'static,
    {
        let arn = arn.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let Some(mut record) = policy(conn, &arn)? else {
                    return abort(IamStoreError::NoSuchEntity(format!(
                        "Policy {arn} was not found."
                    )));
                };
                let value = change(&mut record).map_err(crate::tx::TxError::Abort)?;
                conn.execute(
                    "UPDATE iam_policies SET config = ?2 WHERE arn = ?1",
                    params![record.arn, serde_json::to_string(&record)?],
                )?;
                Ok((record, value))
            })
            .await
    }

    /// Deletes a policy attached to nothing and left with its default version only.
    pub async fn delete(&self, arn: &str) -> Result<PolicyRecord, IamStoreError> {
        let arn = arn.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let Some(record) = policy(conn, &arn)? else {
                    return abort(IamStoreError::NoSuchEntity(format!(
                        "Policy {arn} was not found."
                    )));
                };
                if attachment_count(conn, &arn)? > 0 {
                    return abort(IamStoreError::DeleteConflict(
                        "Cannot delete a policy attached to entities.".to_owned(),
                    ));
                }
                if record.versions.len() > 1 {
                    return abort(IamStoreError::DeleteConflict(
                        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".to_owned(),
                    ));
                }
                conn.execute("DELETE FROM iam_policies WHERE arn = ?1", [&arn])?;
                Ok(record)
            })
            .await
    }
}

fn role(conn: &Connection, name: &str) -> Result<Option<RoleRecord>, StoreError> {
    let config: Option<String> = conn
        .query_row(
            "SELECT config FROM iam_roles WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .optional()?;
    Ok(config.map(|c| serde_json::from_str(&c)).transpose()?)
}

fn save_role(conn: &Connection, record: &RoleRecord) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE iam_roles SET config = ?2 WHERE name = ?1",
        params![record.name, serde_json::to_string(record)?],
    )?;
    Ok(())
}

fn all_roles(conn: &Connection) -> Result<Vec<RoleRecord>, StoreError> {
    let mut stmt = conn.prepare("SELECT config FROM iam_roles ORDER BY name")?;
    let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?)?);
    }
    Ok(out)
}

fn policy(conn: &Connection, arn: &str) -> Result<Option<PolicyRecord>, StoreError> {
    let config: Option<String> = conn
        .query_row(
            "SELECT config FROM iam_policies WHERE arn = ?1",
            [arn],
            |row| row.get(0),
        )
        .optional()?;
    Ok(config.map(|c| serde_json::from_str(&c)).transpose()?)
}

fn all_policies(conn: &Connection) -> Result<Vec<PolicyRecord>, StoreError> {
    let mut stmt = conn.prepare("SELECT config FROM iam_policies ORDER BY arn")?;
    let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?)?);
    }
    Ok(out)
}

fn count_in(roles: &[RoleRecord], arn: &str) -> u32 {
    roles
        .iter()
        .filter(|r| r.attached_policies.iter().any(|a| a == arn))
        .count() as u32
}

fn attachment_count(conn: &Connection, arn: &str) -> Result<u32, StoreError> {
    Ok(count_in(&all_roles(conn)?, arn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreSettings};

    fn role(name: &str) -> RoleRecord {
        RoleRecord {
            name: name.to_owned(),
            path: "/".to_owned(),
            role_id: "AROAEXAMPLEEXAMPLE01".to_owned(),
            arn: format!("arn:aws:iam::000000000000:role/{name}"),
            create_date_ms: 1,
            assume_role_policy_document: "{}".to_owned(),
            description: None,
            max_session_duration: 3600,
            tags: Vec::new(),
            inline_policies: BTreeMap::new(),
            attached_policies: Vec::new(),
        }
    }

    fn policy(name: &str) -> PolicyRecord {
        PolicyRecord {
            name: name.to_owned(),
            path: "/".to_owned(),
            policy_id: "ANPAEXAMPLEEXAMPLE01".to_owned(),
            arn: format!("arn:aws:iam::000000000000:policy/{name}"),
            description: None,
            create_date_ms: 1,
            update_date_ms: 1,
            default_version_id: "v1".to_owned(),
            next_version: 2,
            versions: vec![PolicyVersionRecord {
                version_id: "v1".to_owned(),
                document: "{}".to_owned(),
                create_date_ms: 1,
            }],
            tags: Vec::new(),
        }
    }

    /// Roles and policies keep their rules across a reopen of the data directory:
    /// names are unique in any case, attached things cannot be deleted.
    #[test]
    fn roles_and_policies_keep_their_rules_across_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = StoreSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let arn = "arn:aws:iam::000000000000:policy/copy".to_owned();
        {
            let store =
                Store::open(dir.path(), settings.clone(), Default::default()).expect("open");
            runtime.block_on(async {
                store
                    .iam_roles()
                    .create(role("Worker"))
                    .await
                    .expect("role");
                let again = store.iam_roles().create(role("worker")).await;
                assert!(matches!(again, Err(IamStoreError::EntityAlreadyExists(_))));
                store
                    .iam_policies()
                    .create(policy("copy"))
                    .await
                    .expect("policy");
                let missing = store
                    .iam_roles()
                    .attach("worker", "arn:aws:iam::000000000000:policy/none")
                    .await;
                assert!(matches!(missing, Err(IamStoreError::NoSuchEntity(_))));
                store
                    .iam_roles()
                    .attach("worker", &arn)
                    .await
                    .expect("attach");
                store
                    .iam_roles()
                    .attach("worker", "arn:aws:iam::aws:policy/ReadOnlyAccess")
                    .await
                    .expect("AWS managed");
            });
            store.close();
        }
        let store = Store::open(dir.path(), settings, Default::default()).expect("reopen");
        runtime.block_on(async {
            let worker = store.iam_roles().get("WORKER").await.expect("role");
            assert_eq!(worker.attached_policies.len(), 2);
            let (_, count) = store.iam_policies().get(&arn).await.expect("policy");
            assert_eq!(count, 1);
            let conflict = store.iam_policies().delete(&arn).await;
            assert!(matches!(conflict, Err(IamStoreError::DeleteConflict(_))));
            let conflict = store.iam_roles().delete("worker").await;
            assert!(matches!(conflict, Err(IamStoreError::DeleteConflict(_))));
            store
                .iam_roles()
                .modify("worker", |r| {
                    r.attached_policies.clear();
                    Ok(())
                })
                .await
                .expect("detach");
            store
                .iam_roles()
                .delete("worker")
                .await
                .expect("delete role");
            store
                .iam_policies()
                .delete(&arn)
                .await
                .expect("delete policy");
            assert!(store.iam_roles().list().await.expect("list").is_empty());
        });
    }
}
