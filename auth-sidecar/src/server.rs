//! The gRPC server: `warden.v1.Credentials` and `grpc.health.v1.Health` over HTTP/2 cleartext.

use crate::credentials::{Cloud, Kind, Minted, Minter};
use crate::error::CredentialError;
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use warden_proto::v1::credentials_server::{Credentials, CredentialsServer};
use warden_proto::v1::{self as pb};

pub struct CredentialsService {
    minter: Arc<Minter>,
}

impl CredentialsService {
    pub fn new(minter: Arc<Minter>) -> CredentialsServer<CredentialsService> {
        CredentialsServer::new(CredentialsService { minter })
    }
}

fn cloud_of(request: &pb::CredentialRequest) -> Result<Cloud, CredentialError> {
    match pb::Cloud::try_from(request.cloud) {
        Ok(pb::Cloud::Gcp) => Ok(Cloud::Gcp),
        Ok(pb::Cloud::Azure) => Ok(Cloud::Azure),
        Ok(pb::Cloud::Aws) => Ok(Cloud::Aws),
        Ok(pb::Cloud::Unspecified) | Err(_) => Err(CredentialError::BadRequest(format!(
            "no cloud named (cloud = {}; use GCP, AZURE or AWS)",
            request.cloud
        ))),
    }
}

/// The wire form of a credential: expiry in Unix milliseconds, 0 when there is none.
pub fn to_proto(minted: Minted) -> pb::Credential {
    let expires_at_unix_ms = minted
        .expires_at
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let kind = match minted.kind {
        Kind::Bearer(access_token) => pb::credential::Kind::Bearer(pb::BearerToken { access_token }),
        Kind::Aws { access_key_id, secret_access_key, session_token, region } => {
            pb::credential::Kind::Aws(pb::AwsCredentials {
                access_key_id,
                secret_access_key,
                session_token: session_token.unwrap_or_default(),
                region,
            })
        }
    };
    pb::Credential { kind: Some(kind), expires_at_unix_ms }
}

#[tonic::async_trait]
impl Credentials for CredentialsService {
    async fn get(
        &self,
        request: tonic::Request<pb::CredentialRequest>,
    ) -> Result<tonic::Response<pb::Credential>, tonic::Status> {
        let request = request.into_inner();
        let cloud = cloud_of(&request)?;
        let minted = self.minter.get(cloud, &request.scope).await?;
        Ok(tonic::Response::new(to_proto(minted)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_unknown_or_unspecified_cloud_is_a_bad_request() {
        for cloud in [0, 9] {
            let err = cloud_of(&pb::CredentialRequest { cloud, scope: String::new() }).unwrap_err();
            assert!(matches!(err, CredentialError::BadRequest(_)), "{err}");
        }
        assert_eq!(cloud_of(&pb::CredentialRequest { cloud: 3, scope: String::new() }), Ok(Cloud::Aws));
    }

    #[test]
    fn expiry_travels_in_unix_milliseconds_and_none_is_zero() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let wire = to_proto(Minted { kind: Kind::Bearer("t".into()), expires_at: Some(at) });
        assert_eq!(wire.expires_at_unix_ms, 1_700_000_000_123);
        assert_eq!(wire.kind, Some(pb::credential::Kind::Bearer(pb::BearerToken { access_token: "t".into() })));
        let forever = to_proto(Minted {
            kind: Kind::Aws {
                access_key_id: "a".into(),
                secret_access_key: "s".into(),
                session_token: None,
                region: "eu-west-1".into(),
            },
            expires_at: None,
        });
        assert_eq!(forever.expires_at_unix_ms, 0);
        let Some(pb::credential::Kind::Aws(aws)) = forever.kind else { panic!("not aws") };
        assert_eq!((aws.session_token.as_str(), aws.region.as_str()), ("", "eu-west-1"));
    }
}
