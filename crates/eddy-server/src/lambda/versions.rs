//! Versions and aliases: PublishVersion, ListVersionsByFunction, CreateAlias, GetAlias,
//! ListAliases, UpdateAlias, DeleteAlias, and the qualifier every read and Invoke may
//! carry (`$LATEST`, a version number, or an alias name).

use eddy_store::lambda::{FunctionRecord, FunctionStoreError};
use eddy_store::lambda_versions::AliasRecord;

use super::context::LambdaContext;
use super::error::{LambdaError, LambdaErrorKind};
use super::functions::Phase;
use super::model::{
    AliasConfiguration, AliasRequest, FunctionConfiguration, ListAliasesResponse,
    ListVersionsByFunctionResponse, PublishVersionRequest,
};

impl LambdaContext<'_> {
    /// The configuration a qualified name runs with, and its version (`None`: `$LATEST`).
    pub(crate) async fn qualified(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(FunctionRecord, Option<u32>), LambdaError> {
        let qualifier = match qualifier {
            None | Some("$LATEST") => return Ok((self.record(name).await?, None)),
            Some(qualifier) => qualifier,
        };
        let version = if let Ok(number) = qualifier.parse::<u32>() {
            number.to_string()
        } else {
            let alias = self
                .store()
                .function_aliases()
                .get(name, qualifier)
                .await
                .map_err(|e| match e {
                    FunctionStoreError::AliasNotFound { .. } => {
                        LambdaError::function_not_found(&format!("{}:{qualifier}", self.arn(name)))
                    }
                    other => self.store_error(other),
                })?;
            if alias.function_version == "$LATEST" {
                return Ok((self.record(name).await?, None));
            }
            alias.function_version
        };
        let number: u32 = version.parse().map_err(LambdaError::internal)?;
        let record = self
            .store()
            .function_versions()
            .get(name, number)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok((record, Some(number)))
    }

    /// PublishVersion.
    pub(crate) async fn publish_version(
        &self,
        name: &str,
        input: PublishVersionRequest,
    ) -> Result<FunctionConfiguration, LambdaError> {
        let latest = self.record(name).await?;
        if input
            .revision_id
            .as_ref()
            .is_some_and(|r| *r != latest.revision_id)
        {
            return Err(self.store_error(FunctionStoreError::RevisionChanged(latest.name)));
        }
        if let Some(sha) = input.code_sha256.filter(|sha| *sha != latest.code_sha256) {
            return Err(LambdaError::invalid_parameter(format!(
                "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                latest.code_sha256
            )));
        }
        let (number, record) = self
            .store()
            .function_versions()
            .publish(
                name,
                input.description,
                eddy_store::ids::random_uuid().to_string(),
            )
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(self.version_configuration(&record, Some(number), Phase::Settled))
    }

    /// ListVersionsByFunction: `$LATEST`, then every published version.
    pub(crate) async fn list_versions(
        &self,
        name: &str,
    ) -> Result<ListVersionsByFunctionResponse, LambdaError> {
        let latest = self.record(name).await?;
        let published = self
            .store()
            .function_versions()
            .list(name)
            .await
            .map_err(|e| self.store_error(e))?;
        let mut versions = vec![self.configuration(&latest, Phase::Settled)];
        versions.extend(
            published
                .iter()
                .map(|(n, r)| self.version_configuration(r, Some(*n), Phase::Settled)),
        );
        Ok(ListVersionsByFunctionResponse { versions })
    }

    fn alias_configuration(&self, alias: &AliasRecord) -> AliasConfiguration {
        AliasConfiguration {
            alias_arn: format!("{}:{}", self.arn(&alias.function), alias.name),
            name: alias.name.clone(),
            function_version: alias.function_version.clone(),
            description: alias.description.clone(),
            revision_id: alias.revision_id.clone(),
        }
    }

    /// CreateAlias (`update: None`) or UpdateAlias (`update: Some(alias name)`).
    pub(crate) async fn put_alias(
        &self,
        function: &str,
        update: Option<&str>,
        input: AliasRequest,
    ) -> Result<AliasConfiguration, LambdaError> {
        let previous = match update {
            Some(name) => Some(
                self.store()
                    .function_aliases()
                    .get(function, name)
                    .await
                    .map_err(|e| self.store_error(e))?,
            ),
            None => None,
        };
        if let (Some(previous), Some(expected)) = (&previous, &input.revision_id)
            && previous.revision_id != *expected
        {
            return Err(LambdaError::new(
                LambdaErrorKind::PreconditionFailed,
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            ));
        }
        let name = match (update, input.name) {
            (Some(name), _) => name.to_owned(),
            (None, Some(name)) => name,
            (None, None) => {
                return Err(LambdaError::validation(
                    "null",
                    "name",
                    "Member must not be null",
                ));
            }
        };
        check_alias_name(&name)?;
        let function_version = match (input.function_version, &previous) {
            (Some(version), _) => version,
            (None, Some(previous)) => previous.function_version.clone(),
            (None, None) => {
                return Err(LambdaError::validation(
                    "null",
                    "functionVersion",
                    "Member must not be null",
                ));
            }
        };
        let alias = AliasRecord {
            function: function.to_owned(),
            name,
            function_version,
            description: input
                .description
                .or_else(|| previous.as_ref().map(|p| p.description.clone()))
                .unwrap_or_default(),
            revision_id: eddy_store::ids::random_uuid().to_string(),
        };
        let stored = self
            .store()
            .function_aliases()
            .put(alias, update.is_some())
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(self.alias_configuration(&stored))
    }

    pub(crate) async fn get_alias(
        &self,
        function: &str,
        name: &str,
    ) -> Result<AliasConfiguration, LambdaError> {
        let alias = self
            .store()
            .function_aliases()
            .get(function, name)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(self.alias_configuration(&alias))
    }

    pub(crate) async fn list_aliases(
        &self,
        function: &str,
    ) -> Result<ListAliasesResponse, LambdaError> {
        self.record(function).await?;
        let aliases = self
            .store()
            .function_aliases()
            .list(function)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(ListAliasesResponse {
            aliases: aliases
                .iter()
                .map(|a| self.alias_configuration(a))
                .collect(),
        })
    }

    pub(crate) async fn delete_alias(&self, function: &str, name: &str) -> Result<(), LambdaError> {
        self.record(function).await?;
        self.store()
            .function_aliases()
            .delete(function, name)
            .await
            .map_err(|e| self.store_error(e))?;
        // The alias's event invoke configuration goes with it.
        self.store()
            .event_invoke_configs()
            .delete(function, name)
            .await
            .map_err(LambdaError::internal)?;
        Ok(())
    }
}

/// An alias name: 1 to 128 letters, digits, `-` and `_`, not only digits.
fn check_alias_name(name: &str) -> Result<(), LambdaError> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.bytes().all(|b| b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(LambdaError::validation(
            name,
            "name",
            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        ))
    }
}
