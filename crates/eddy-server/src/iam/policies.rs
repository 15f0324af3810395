//! IAM's managed policy operations (CreatePolicy, GetPolicy, DeletePolicy,
//! ListPolicies, Get/List/Create/DeletePolicyVersion, SetDefaultPolicyVersion), the
//! attachment of managed policies to roles (Attach/Detach/ListAttachedRolePolicies;
//! AWS managed policies, `arn:aws:iam::aws:policy/...`, are accepted by ARN) and inline
//! role policies (Put/Get/Delete/ListRolePolicies).

use eddy_store::iam::{IamStoreError, PolicyRecord, PolicyVersionRecord, Tag};

use super::error::{IamError, IamErrorCode};
use super::query::{Params, Xml, page, timestamp};
use super::validate::{self, PolicyKind};
use super::{IamContext, encode_document};

/// How many versions a managed policy keeps at most.
const MAX_POLICY_VERSIONS: usize = 5;

/// CreatePolicy's members.
#[derive(Debug)]
pub struct CreatePolicyInput {
    pub policy_name: String,
    pub path: String,
    pub policy_document: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

impl CreatePolicyInput {
    pub fn from_params(params: &Params) -> Result<Self, IamError> {
        let policy_name = params.required("PolicyName")?;
        validate::name("policyName", &policy_name, 128)?;
        let path = params.get("Path").unwrap_or("/").to_owned();
        validate::path(&path)?;
        let policy_document = params.required("PolicyDocument")?;
        validate::policy_document(&policy_document, PolicyKind::Permissions)?;
        let tags = params.tags("Tags");
        validate::tags(&tags)?;
        Ok(Self {
            policy_name,
            path,
            policy_document,
            description: params.get("Description").map(str::to_owned),
            tags,
        })
    }
}

fn write_policy(x: &mut Xml, policy: &PolicyRecord, attachments: u32, full: bool) {
    x.text("PolicyName", &policy.name)
        .text("PolicyId", &policy.policy_id)
        .text("Arn", &policy.arn)
        .text("Path", &policy.path)
        .text("DefaultVersionId", &policy.default_version_id)
        .text("AttachmentCount", &attachments.to_string())
        .text("PermissionsBoundaryUsageCount", "0")
        .text("IsAttachable", "true");
    if full {
        x.optional("Description", policy.description.as_deref());
    }
    x.text("CreateDate", &timestamp(policy.create_date_ms))
        .text("UpdateDate", &timestamp(policy.update_date_ms));
    if full && !policy.tags.is_empty() {
        x.tags(&policy.tags);
    }
}

fn policy_result(policy: &PolicyRecord, attachments: u32) -> Xml {
    let mut x = Xml::default();
    x.open("Policy");
    write_policy(&mut x, policy, attachments, true);
    x.close("Policy");
    x
}

fn write_version(x: &mut Xml, version: &PolicyVersionRecord, default: &str, document: bool) {
    if document {
        x.text("Document", &encode_document(&version.document));
    }
    x.text("VersionId", &version.version_id)
        .text(
            "IsDefaultVersion",
            if version.version_id == default {
                "true"
            } else {
                "false"
            },
        )
        .text("CreateDate", &timestamp(version.create_date_ms));
}

/// A policy ARN member, checked for shape.
fn policy_arn(params: &Params) -> Result<String, IamError> {
    let arn = params.required("PolicyArn")?;
    if !arn.starts_with("arn:aws:iam::") || !arn.contains(":policy/") {
        return Err(IamError::new(
            IamErrorCode::InvalidInput,
            format!("ARN {arn} is not valid."),
        ));
    }
    Ok(arn)
}

fn role_name(params: &Params) -> Result<String, IamError> {
    let name = params.required("RoleName")?;
    validate::name("roleName", &name, 64)?;
    Ok(name)
}

fn version_id(params: &Params) -> Result<String, IamError> {
    let id = params.required("VersionId")?;
    let valid = id
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if valid {
        Ok(id)
    } else {
        Err(IamError::validation(format!(
            "1 validation error detected: Value '{id}' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        )))
    }
}

fn no_such_version(arn: &str, id: &str) -> IamStoreError {
    IamStoreError::NoSuchEntity(format!(
        "Policy {arn} version {id} does not exist or is not attachable."
    ))
}

impl IamContext<'_> {
    pub(crate) async fn create_policy(&self, params: &Params) -> Result<Xml, IamError> {
        let input = CreatePolicyInput::from_params(params)?;
        let now = eddy_store::time::now_ms();
        let record = PolicyRecord {
            arn: format!(
                "arn:aws:iam::{}:policy{}{}",
                self.account_id, input.path, input.policy_name
            ),
            name: input.policy_name,
            path: input.path,
            policy_id: validate::unique_id("ANPA"),
            description: input.description,
            create_date_ms: now,
            update_date_ms: now,
            default_version_id: "v1".to_owned(),
            next_version: 2,
            versions: vec![PolicyVersionRecord {
                version_id: "v1".to_owned(),
                document: input.policy_document,
                create_date_ms: now,
            }],
            tags: input.tags,
        };
        let record = self.store().iam_policies().create(record).await?;
        Ok(policy_result(&record, 0))
    }

    pub(crate) async fn get_policy(&self, params: &Params) -> Result<Xml, IamError> {
        let (policy, attachments) = self
            .store()
            .iam_policies()
            .get(&policy_arn(params)?)
            .await?;
        Ok(policy_result(&policy, attachments))
    }

    pub(crate) async fn delete_policy(&self, params: &Params) -> Result<Option<Xml>, IamError> {
        self.store()
            .iam_policies()
            .delete(&policy_arn(params)?)
            .await?;
        Ok(None)
    }

    pub(crate) async fn list_policies(&self, params: &Params) -> Result<Xml, IamError> {
        let scope = params.get("Scope").unwrap_or("All");
        if !matches!(scope, "All" | "AWS" | "Local") {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
            )));
        }
        let prefix = params.get("PathPrefix").unwrap_or("/").to_owned();
        let only_attached = params.boolean("OnlyAttached").unwrap_or(false);
        // eddy stores customer managed policies only: the AWS scope lists none.
        let policies: Vec<(PolicyRecord, u32)> = if scope == "AWS" {
            Vec::new()
        } else {
            self.store().iam_policies().list().await?
        };
        let policies: Vec<(PolicyRecord, u32)> = policies
            .into_iter()
            .filter(|(p, count)| p.path.starts_with(&prefix) && (!only_attached || *count > 0))
            .collect();
        let (policies, marker) = page(
            policies,
            |(p, _)| p.arn.clone(),
            params.get("Marker"),
            params.integer("MaxItems")?,
        )?;
        let mut x = Xml::default();
        x.members("Policies", &policies, |x, (policy, count)| {
            write_policy(x, policy, *count, false);
        })
        .page_end(marker.as_deref());
        Ok(x)
    }

    pub(crate) async fn get_policy_version(&self, params: &Params) -> Result<Xml, IamError> {
        let arn = policy_arn(params)?;
        let id = version_id(params)?;
        let (policy, _) = self.store().iam_policies().get(&arn).await?;
        let version = policy
            .versions
            .iter()
            .find(|v| v.version_id == id)
            .ok_or_else(|| no_such_version(&arn, &id))?;
        let mut x = Xml::default();
        x.open("PolicyVersion");
        write_version(&mut x, version, &policy.default_version_id, true);
        x.close("PolicyVersion");
        Ok(x)
    }

    pub(crate) async fn list_policy_versions(&self, params: &Params) -> Result<Xml, IamError> {
        let (policy, _) = self
            .store()
            .iam_policies()
            .get(&policy_arn(params)?)
            .await?;
        let mut versions = policy.versions.clone();
        versions.reverse();
        let mut x = Xml::default();
        x.members("Versions", &versions, |x, version| {
            write_version(x, version, &policy.default_version_id, false);
        })
        .page_end(None);
        Ok(x)
    }

    pub(crate) async fn create_policy_version(&self, params: &Params) -> Result<Xml, IamError> {
        let arn = policy_arn(params)?;
        let document = params.required("PolicyDocument")?;
        validate::policy_document(&document, PolicyKind::Permissions)?;
        let set_as_default = params.boolean("SetAsDefault").unwrap_or(false);
        let now = eddy_store::time::now_ms();
        let (policy, version) = self
            .store()
            .iam_policies()
            .modify(&arn, move |policy| {
                if policy.versions.len() >= MAX_POLICY_VERSIONS {
                    return Err(IamStoreError::LimitExceeded(format!(
                        "A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version."
                    )));
                }
                let version = PolicyVersionRecord {
                    version_id: format!("v{}", policy.next_version),
                    document,
                    create_date_ms: now,
                };
                policy.next_version += 1;
                policy.update_date_ms = now;
                if set_as_default {
                    policy.default_version_id.clone_from(&version.version_id);
                }
                policy.versions.push(version.clone());
                Ok(version)
            })
            .await?;
        let mut x = Xml::default();
        x.open("PolicyVersion");
        write_version(&mut x, &version, &policy.default_version_id, false);
        x.close("PolicyVersion");
        Ok(x)
    }

    pub(crate) async fn delete_policy_version(
        &self,
        params: &Params,
    ) -> Result<Option<Xml>, IamError> {
        let arn = policy_arn(params)?;
        let id = version_id(params)?;
        self.store()
            .iam_policies()
            .modify(&arn.clone(), move |policy| {
                if policy.default_version_id == id {
                    return Err(IamStoreError::DeleteConflict(
                        "Cannot delete the default version of a policy.".to_owned(),
                    ));
                }
                let before = policy.versions.len();
                policy.versions.retain(|v| v.version_id != id);
                if policy.versions.len() == before {
                    return Err(no_such_version(&arn, &id));
                }
                Ok(())
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn set_default_policy_version(
        &self,
        params: &Params,
    ) -> Result<Option<Xml>, IamError> {
        let arn = policy_arn(params)?;
        let id = version_id(params)?;
        self.store()
            .iam_policies()
            .modify(&arn.clone(), move |policy| {
                if !policy.versions.iter().any(|v| v.version_id == id) {
                    return Err(no_such_version(&arn, &id));
                }
                policy.default_version_id = id;
                policy.update_date_ms = eddy_store::time::now_ms();
                Ok(())
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn attach_role_policy(
        &self,
        params: &Params,
    ) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let arn = policy_arn(params)?;
        self.store().iam_roles().attach(&name, &arn).await?;
        Ok(None)
    }

    pub(crate) async fn detach_role_policy(
        &self,
        params: &Params,
    ) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let arn = policy_arn(params)?;
        self.store()
            .iam_roles()
            .modify(&name, move |role| {
                let before = role.attached_policies.len();
                role.attached_policies.retain(|a| a != &arn);
                if role.attached_policies.len() == before {
                    return Err(IamStoreError::NoSuchEntity(format!(
                        "Policy {arn} was not found."
                    )));
                }
                Ok(())
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn list_attached_role_policies(
        &self,
        params: &Params,
    ) -> Result<Xml, IamError> {
        let role = self.store().iam_roles().get(&role_name(params)?).await?;
        let prefix = params.get("PathPrefix").unwrap_or("/");
        let attached: Vec<String> = role
            .attached_policies
            .into_iter()
            .filter(|arn| policy_path(arn).starts_with(prefix))
            .collect();
        let (attached, marker) = page(
            attached,
            Clone::clone,
            params.get("Marker"),
            params.integer("MaxItems")?,
        )?;
        let mut x = Xml::default();
        x.members("AttachedPolicies", &attached, |x, arn| {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            x.text("PolicyName", name).text("PolicyArn", arn);
        })
        .page_end(marker.as_deref());
        Ok(x)
    }

    pub(crate) async fn put_role_policy(&self, params: &Params) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let policy_name = params.required("PolicyName")?;
        validate::name("policyName", &policy_name, 128)?;
        let document = params.required("PolicyDocument")?;
        validate::policy_document(&document, PolicyKind::Permissions)?;
        self.store()
            .iam_roles()
            .modify(&name, move |role| {
                role.inline_policies.insert(policy_name, document);
                Ok(())
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn get_role_policy(&self, params: &Params) -> Result<Xml, IamError> {
        let role = self.store().iam_roles().get(&role_name(params)?).await?;
        let policy_name = params.required("PolicyName")?;
        let document = role
            .inline_policies
            .get(&policy_name)
            .ok_or_else(|| no_such_inline(&policy_name))?;
        let mut x = Xml::default();
        x.text("RoleName", &role.name)
            .text("PolicyName", &policy_name)
            .text("PolicyDocument", &encode_document(document));
        Ok(x)
    }

    pub(crate) async fn delete_role_policy(
        &self,
        params: &Params,
    ) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let policy_name = params.required("PolicyName")?;
        self.store()
            .iam_roles()
            .modify(&name, move |role| {
                role.inline_policies
                    .remove(&policy_name)
                    .map(drop)
                    .ok_or_else(|| no_such_inline(&policy_name))
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn list_role_policies(&self, params: &Params) -> Result<Xml, IamError> {
        let role = self.store().iam_roles().get(&role_name(params)?).await?;
        let names: Vec<String> = role.inline_policies.into_keys().collect();
        let (names, marker) = page(
            names,
            Clone::clone,
            params.get("Marker"),
            params.integer("MaxItems")?,
        )?;
        let mut x = Xml::default();
        x.members("PolicyNames", &names, |x, name| {
            x.content(name);
        })
        .page_end(marker.as_deref());
        Ok(x)
    }
}

fn no_such_inline(name: &str) -> IamStoreError {
    IamStoreError::NoSuchEntity(format!("The role policy with name {name} cannot be found."))
}

/// The path of a policy ARN (`/service-role/` of `...:policy/service-role/Name`).
fn policy_path(arn: &str) -> String {
    let after = arn.split_once(":policy").map_or("/", |(_, rest)| rest);
    match after.rfind('/') {
        Some(end) => after[..=end].to_owned(),
        None => "/".to_owned(),
    }
}
