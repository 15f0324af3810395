//! A function's tags (TagResource, UntagResource, ListTags, under `/2017-03-31/tags/`),
//! resource policy (AddPermission, RemovePermission, GetPolicy: stored and reported in
//! Lambda's shapes, not enforced) and reserved concurrency (Put/Get/Delete
//! FunctionConcurrency: it bounds the function's processes; 0 throttles).

use std::collections::BTreeMap;

use eddy_store::lambda::{FunctionRecord, Permission};
use serde::{Deserialize, Serialize};

use super::context::{LambdaContext, resolve_function_name};
use super::error::{LambdaError, LambdaErrorKind};
use super::model::Concurrency;

/// AddPermission's input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionResponse {
    /// The statement as JSON text.
    pub statement: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyResponse {
    /// The policy document as JSON text.
    pub policy: String,
    pub revision_id: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsBody {
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A policy statement in IAM's JSON shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    sid: String,
    effect: &'static str,
    principal: Principal,
    action: String,
    resource: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    condition: BTreeMap<&'static str, BTreeMap<&'static str, String>>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Principal {
    Service {
        #[serde(rename = "Service")]
        service: String,
    },
    Account {
        #[serde(rename = "AWS")]
        aws: String,
    },
    Anyone(String),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument {
    version: &'static str,
    id: &'static str,
    statement: Vec<Statement>,
}

fn no_policy() -> LambdaError {
    LambdaError::new(
        LambdaErrorKind::ResourceNotFound,
        "The resource you requested does not exist.",
    )
}

impl LambdaContext<'_> {
    fn statement(&self, record: &FunctionRecord, permission: &Permission) -> Statement {
        let principal = if permission.principal == "*" {
            Principal::Anyone("*".to_owned())
        } else if permission.principal.bytes().all(|b| b.is_ascii_digit()) {
            Principal::Account {
                aws: format!("arn:aws:iam::{}:root", permission.principal),
            }
        } else if permission.principal.starts_with("arn:") {
            Principal::Account {
                aws: permission.principal.clone(),
            }
        } else {
            Principal::Service {
                service: permission.principal.clone(),
            }
        };
        let mut condition = BTreeMap::new();
        if let Some(arn) = &permission.source_arn {
            condition.insert("ArnLike", BTreeMap::from([("AWS:SourceArn", arn.clone())]));
        }
        if let Some(account) = &permission.source_account {
            condition.insert(
                "StringEquals",
                BTreeMap::from([("AWS:SourceAccount", account.clone())]),
            );
        }
        Statement {
            sid: permission.sid.clone(),
            effect: "Allow",
            principal,
            action: permission.action.clone(),
            resource: self.arn(&record.name),
            condition,
        }
    }

    /// AddPermission.
    pub(crate) async fn add_permission(
        &self,
        name: &str,
        input: AddPermissionRequest,
    ) -> Result<AddPermissionResponse, LambdaError> {
        let mut record = self.record(name).await?;
        let required = |value: Option<String>, member: &str| {
            value.ok_or_else(|| LambdaError::validation("null", member, "Member must not be null"))
        };
        let permission = Permission {
            sid: required(input.statement_id, "statementId")?,
            action: required(input.action, "action")?,
            principal: required(input.principal, "principal")?,
            source_arn: input.source_arn,
            source_account: input.source_account,
        };
        if record.permissions.iter().any(|p| p.sid == permission.sid) {
            return Err(LambdaError::new(
                LambdaErrorKind::ResourceConflict,
                format!(
                    "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                    permission.sid
                ),
            ));
        }
        let statement = serde_json::to_string(&self.statement(&record, &permission))
            .map_err(LambdaError::internal)?;
        record.permissions.push(permission);
        self.store()
            .functions()
            .update(record, None, input.revision_id)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(AddPermissionResponse { statement })
    }

    /// RemovePermission.
    pub(crate) async fn remove_permission(&self, name: &str, sid: &str) -> Result<(), LambdaError> {
        let mut record = self.record(name).await?;
        let before = record.permissions.len();
        record.permissions.retain(|p| p.sid != sid);
        if record.permissions.len() == before {
            return Err(LambdaError::new(
                LambdaErrorKind::ResourceNotFound,
                format!("Statement {sid} is not found in resource policy."),
            ));
        }
        self.store()
            .functions()
            .update(record, None, None)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(())
    }

    /// GetPolicy.
    pub(crate) async fn get_policy(&self, name: &str) -> Result<GetPolicyResponse, LambdaError> {
        let record = self.record(name).await?;
        if record.permissions.is_empty() {
            return Err(no_policy());
        }
        let document = PolicyDocument {
            version: "2012-10-17",
            id: "default",
            statement: record
                .permissions
                .iter()
                .map(|p| self.statement(&record, p))
                .collect(),
        };
        Ok(GetPolicyResponse {
            policy: serde_json::to_string(&document).map_err(LambdaError::internal)?,
            revision_id: record.revision_id.clone(),
        })
    }

    /// PutFunctionConcurrency (`None`: DeleteFunctionConcurrency).
    pub(crate) async fn put_concurrency(
        &self,
        name: &str,
        reserved: Option<i64>,
    ) -> Result<Concurrency, LambdaError> {
        let mut record = self.record(name).await?;
        record.reserved_concurrency = match reserved {
            Some(value) if !(0..=1000).contains(&value) => {
                return Err(LambdaError::invalid_parameter(format!(
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [0]: eddy reserves at most 1000, {value} was asked"
                )));
            }
            Some(value) => Some(u32::try_from(value).map_err(LambdaError::internal)?),
            None => None,
        };
        let record = self
            .store()
            .functions()
            .update(record, None, None)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(Concurrency {
            reserved_concurrent_executions: record.reserved_concurrency.map(i64::from),
        })
    }

    /// GetFunctionConcurrency.
    pub(crate) async fn get_concurrency(&self, name: &str) -> Result<Concurrency, LambdaError> {
        Ok(Concurrency {
            reserved_concurrent_executions: self
                .record(name)
                .await?
                .reserved_concurrency
                .map(i64::from),
        })
    }

    /// The function a taggable resource ARN names.
    async fn tagged(&self, resource: &str) -> Result<FunctionRecord, LambdaError> {
        let (name, _) = resolve_function_name(resource)?;
        self.record(&name).await
    }

    /// ListTags.
    pub(crate) async fn list_tags(&self, resource: &str) -> Result<TagsBody, LambdaError> {
        Ok(TagsBody {
            tags: self.tagged(resource).await?.tags,
        })
    }

    /// TagResource.
    pub(crate) async fn tag_resource(
        &self,
        resource: &str,
        input: TagsBody,
    ) -> Result<(), LambdaError> {
        let mut record = self.tagged(resource).await?;
        record.tags.extend(input.tags);
        if record.tags.len() > 50 {
            return Err(LambdaError::invalid_parameter(
                "Number of tags exceeds resource tag limit.",
            ));
        }
        self.store()
            .functions()
            .update(record, None, None)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(())
    }

    /// UntagResource.
    pub(crate) async fn untag_resource(
        &self,
        resource: &str,
        keys: &[String],
    ) -> Result<(), LambdaError> {
        let mut record = self.tagged(resource).await?;
        record.tags.retain(|key, _| !keys.contains(key));
        self.store()
            .functions()
            .update(record, None, None)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(())
    }
}
