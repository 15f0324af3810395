//! Temporary credentials issued by STS AssumeRole (the [`Sessions`] handle): one row
//! per access key id, kept until it expires, so credentials handed out before a
//! restart are still accepted after it.

use std::sync::Arc;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::shared::Shared;

/// One set of temporary credentials and whom they act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// `ASIA...`
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// When they stop being accepted, epoch milliseconds.
    pub expiration_ms: u64,
    /// The assumed role's ARN.
    pub role_arn: String,
    /// `AROA...:<session name>`
    pub assumed_role_id: String,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session name>`
    pub assumed_role_arn: String,
}

/// Issued temporary credentials; see [`crate::Store::sts_sessions`].
pub struct Sessions<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Sessions<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Records newly issued credentials (durably, before they are handed out), and
    /// forgets those expired before `now_ms`.
    pub async fn insert(&self, record: SessionRecord, now_ms: u64) -> Result<(), StoreError> {
        self.shared
            .db
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM sts_sessions WHERE expiration_ms < ?1",
                    [now_ms as i64],
                )?;
                conn.execute(
                    "INSERT OR REPLACE INTO sts_sessions (access_key_id, expiration_ms, config) VALUES (?1, ?2, ?3)",
                    params![
                        record.access_key_id,
                        record.expiration_ms as i64,
                        serde_json::to_string(&record)?
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// Every recorded session (expired ones included until the next insert).
    pub async fn list(&self) -> Result<Vec<SessionRecord>, StoreError> {
        self.shared
            .db
            .read(|conn| {
                let mut stmt = conn.prepare("SELECT config FROM sts_sessions")?;
                let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(serde_json::from_str(&row?)?);
                }
                Ok(out)
            })
            .await
    }
}
