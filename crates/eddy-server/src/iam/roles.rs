//! IAM's role operations: CreateRole, GetRole, ListRoles, UpdateRole, DeleteRole,
//! UpdateAssumeRolePolicy, TagRole, UntagRole, ListRoleTags and
//! ListInstanceProfilesForRole (eddy has no instance profiles: always none).

use std::collections::BTreeMap;

use eddy_store::iam::{IamStoreError, RoleRecord, Tag};

use super::error::IamError;
use super::query::{Params, Xml, page, timestamp};
use super::validate::{self, PolicyKind};
use super::{IamContext, encode_document};

/// The longest session a role allows unless it says otherwise (one hour).
const DEFAULT_MAX_SESSION_SECONDS: u32 = 3600;

/// CreateRole's members.
#[derive(Debug)]
pub struct CreateRoleInput {
    pub role_name: String,
    pub path: String,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: u32,
    pub tags: Vec<Tag>,
}

impl CreateRoleInput {
    pub fn from_params(params: &Params) -> Result<Self, IamError> {
        let role_name = params.required("RoleName")?;
        validate::name("roleName", &role_name, 64)?;
        let path = params.get("Path").unwrap_or("/").to_owned();
        validate::path(&path)?;
        let assume_role_policy_document = params.required("AssumeRolePolicyDocument")?;
        validate::policy_document(&assume_role_policy_document, PolicyKind::Trust)?;
        let description = params.get("Description").map(str::to_owned);
        description_check(description.as_deref())?;
        let max_session_duration = max_session(params)?.unwrap_or(DEFAULT_MAX_SESSION_SECONDS);
        let tags = params.tags("Tags");
        validate::tags(&tags)?;
        Ok(Self {
            role_name,
            path,
            assume_role_policy_document,
            description,
            max_session_duration,
            tags,
        })
    }
}

fn description_check(description: Option<&str>) -> Result<(), IamError> {
    match description {
        Some(text) if text.chars().count() > 1000 => Err(IamError::validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000",
        )),
        _ => Ok(()),
    }
}

/// `MaxSessionDuration`: 3600 to 43200 seconds.
fn max_session(params: &Params) -> Result<Option<u32>, IamError> {
    match params.integer("MaxSessionDuration")? {
        None => Ok(None),
        Some(n) if (3600..=43_200).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(IamError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {} {}",
            if n < 3600 {
                "greater than or equal to"
            } else {
                "less than or equal to"
            },
            if n < 3600 { 3600 } else { 43_200 }
        ))),
    }
}

/// The `<Role>` members of a role (`full` adds what GetRole and CreateRole return
/// beyond ListRoles: tags and last use).
pub fn write_role(x: &mut Xml, role: &RoleRecord, full: bool) {
    x.text("Path", &role.path)
        .text("RoleName", &role.name)
        .text("RoleId", &role.role_id)
        .text("Arn", &role.arn)
        .text("CreateDate", &timestamp(role.create_date_ms))
        .text(
            "AssumeRolePolicyDocument",
            &encode_document(&role.assume_role_policy_document),
        )
        .optional("Description", role.description.as_deref())
        .text("MaxSessionDuration", &role.max_session_duration.to_string());
    if full {
        if !role.tags.is_empty() {
            x.tags(&role.tags);
        }
        x.open("RoleLastUsed").close("RoleLastUsed");
    }
}

fn role_result(role: &RoleRecord) -> Xml {
    let mut x = Xml::default();
    x.open("Role");
    write_role(&mut x, role, true);
    x.close("Role");
    x
}

fn role_name(params: &Params) -> Result<String, IamError> {
    let name = params.required("RoleName")?;
    validate::name("roleName", &name, 64)?;
    Ok(name)
}

impl IamContext<'_> {
    pub(crate) async fn create_role(&self, params: &Params) -> Result<Xml, IamError> {
        let input = CreateRoleInput::from_params(params)?;
        let record = RoleRecord {
            arn: format!(
                "arn:aws:iam::{}:role{}{}",
                self.account_id, input.path, input.role_name
            ),
            name: input.role_name,
            path: input.path,
            role_id: validate::unique_id("AROA"),
            create_date_ms: eddy_store::time::now_ms(),
            assume_role_policy_document: input.assume_role_policy_document,
            description: input.description,
            max_session_duration: input.max_session_duration,
            tags: input.tags,
            inline_policies: BTreeMap::new(),
            attached_policies: Vec::new(),
        };
        let record = self.store().iam_roles().create(record).await?;
        Ok(role_result(&record))
    }

    pub(crate) async fn get_role(&self, params: &Params) -> Result<Xml, IamError> {
        let role = self.store().iam_roles().get(&role_name(params)?).await?;
        Ok(role_result(&role))
    }

    pub(crate) async fn list_roles(&self, params: &Params) -> Result<Xml, IamError> {
        let prefix = params.get("PathPrefix").unwrap_or("/");
        let roles: Vec<RoleRecord> = self
            .store()
            .iam_roles()
            .list()
            .await?
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect();
        let (roles, marker) = page(
            roles,
            |r| r.name.to_ascii_lowercase(),
            params.get("Marker"),
            params.integer("MaxItems")?,
        )?;
        let mut x = Xml::default();
        x.members("Roles", &roles, |x, role| write_role(x, role, false))
            .page_end(marker.as_deref());
        Ok(x)
    }

    pub(crate) async fn update_role(&self, params: &Params) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let description = params.get("Description").map(str::to_owned);
        description_check(description.as_deref())?;
        let max = max_session(params)?;
        self.store()
            .iam_roles()
            .modify(&name, move |role| {
                if description.is_some() {
                    role.description = description;
                }
                if let Some(max) = max {
                    role.max_session_duration = max;
                }
                Ok(())
            })
            .await?;
        Ok(Some(Xml::default()))
    }

    pub(crate) async fn delete_role(&self, params: &Params) -> Result<Option<Xml>, IamError> {
        self.store().iam_roles().delete(&role_name(params)?).await?;
        Ok(None)
    }

    pub(crate) async fn update_assume_role_policy(
        &self,
        params: &Params,
    ) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let document = params.required("PolicyDocument")?;
        validate::policy_document(&document, PolicyKind::Trust)?;
        self.store()
            .iam_roles()
            .modify(&name, move |role| {
                role.assume_role_policy_document = document;
                Ok(())
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn tag_role(&self, params: &Params) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let tags = params.tags("Tags");
        if tags.is_empty() {
            return Err(IamError::validation(
                "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
            ));
        }
        validate::tags(&tags)?;
        self.store()
            .iam_roles()
            .modify(&name, move |role| {
                for tag in tags {
                    match role.tags.iter_mut().find(|t| t.key == tag.key) {
                        Some(existing) => existing.value = tag.value,
                        None => role.tags.push(tag),
                    }
                }
                if role.tags.len() > 50 {
                    return Err(IamStoreError::LimitExceeded(
                        "The number of tags has reached the maximum limit.".to_owned(),
                    ));
                }
                Ok(())
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn untag_role(&self, params: &Params) -> Result<Option<Xml>, IamError> {
        let name = role_name(params)?;
        let keys = params.string_list("TagKeys");
        self.store()
            .iam_roles()
            .modify(&name, move |role| {
                role.tags.retain(|t| !keys.contains(&t.key));
                Ok(())
            })
            .await?;
        Ok(None)
    }

    pub(crate) async fn list_role_tags(&self, params: &Params) -> Result<Xml, IamError> {
        let mut tags = self
            .store()
            .iam_roles()
            .get(&role_name(params)?)
            .await?
            .tags;
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        let (tags, marker) = page(
            tags,
            |t| t.key.clone(),
            params.get("Marker"),
            params.integer("MaxItems")?,
        )?;
        let mut x = Xml::default();
        x.tags(&tags).page_end(marker.as_deref());
        Ok(x)
    }

    pub(crate) async fn list_instance_profiles_for_role(
        &self,
        params: &Params,
    ) -> Result<Xml, IamError> {
        self.store().iam_roles().get(&role_name(params)?).await?;
        let mut x = Xml::default();
        x.members::<()>("InstanceProfiles", &[], |_, ()| {})
            .page_end(None);
        Ok(x)
    }
}
