//! AWS: the SDK's default credential chain from `aws-config` — environment keys, the shared
//! profile files, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, STS at
//! `AWS_ENDPOINT_URL_STS` when set), container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! with `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)`), then IMDSv2
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT`). Temporary credentials come with their session token and
//! expiry; static keys have no expiry.

use super::{Kind, Minted};
use crate::config;
use crate::redact::Redactor;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::default_provider::region::DefaultRegionChain;
use aws_config::Region;
use aws_credential_types::provider::ProvideCredentials;
use std::sync::Arc;

pub struct Aws {
    chain: DefaultCredentialsChain,
    /// The configured region, else the SDK's region chain's answer at start.
    region: Option<Region>,
    redactor: Arc<Redactor>,
}

impl Aws {
    pub async fn new(config: &config::Aws, redactor: Arc<Redactor>) -> Aws {
        let region = match &config.region {
            Some(r) => Some(Region::new(r.clone())),
            None => DefaultRegionChain::builder().build().region().await,
        };
        let mut builder = DefaultCredentialsChain::builder();
        builder.set_region(region.clone());
        let chain = builder.build().await;
        tracing::info!(region = region.as_ref().map(|r| r.as_ref()).unwrap_or("(none)"), "aws credentials");
        Aws { chain, region, redactor }
    }

    pub async fn fetch(&self) -> Result<Minted, String> {
        let region = self
            .region
            .as_ref()
            .ok_or("no region: set credentials.aws.region in the sidecar configuration or AWS_REGION")?;
        let creds = self
            .chain
            .provide_credentials()
            .await
            .map_err(|e| format!("the default credential chain failed: {}", self.redactor.error_chain(&e)))?;
        Ok(Minted {
            kind: Kind::Aws {
                access_key_id: creds.access_key_id().to_string(),
                secret_access_key: creds.secret_access_key().to_string(),
                session_token: creds.session_token().map(str::to_string),
                region: region.to_string(),
            },
            expires_at: creds.expiry(),
        })
    }
}
