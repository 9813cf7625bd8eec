//! Google's identity endpoints, on one HTTP server:
//! - `POST /token`: the OAuth token endpoint for `authorized_user` credentials (refresh-token
//!   grant; checks the client id, client secret and refresh token);
//! - `POST /sts`: the Security Token Service for `external_account` credentials (token exchange;
//!   checks that the subject token is the credential source file's content and the audience);
//! - `GET /computeMetadata/v1/instance/service-accounts/default/token`: the GCE metadata server
//!   (checks `Metadata-Flavor: Google`; reports the scopes asked for).
//!
//! A service-account key needs no endpoint: `google-cloud-auth` signs a self-signed JWT with it,
//! which the tests verify against [`ServiceAccount::public_key_pem`].

use super::{forced, json, start, Control, Reply, Seen, Server};
use hyper::StatusCode;
use serde_json::json;

/// Test-only credentials the fake accepts.
pub const CLIENT_ID: &str = "test-only-client.apps.example";
pub const CLIENT_SECRET: &str = "test-only-google-client-secret-7c1f";
pub const REFRESH_TOKEN: &str = "test-only-google-refresh-token-1d9e";
pub const SUBJECT_TOKEN: &str = "test-only-oidc-subject-token-5b2a";
pub const DEFAULT_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const AUDIENCE: &str = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/fake";

pub struct Google {
    pub server: Server,
}

fn token_body(control: &Control, prefix: &str) -> Reply {
    let n = control.issue();
    json(
        StatusCode::OK,
        &json!({"access_token": format!("{prefix}-{n}"), "expires_in": control.lifetime_secs(), "token_type": "Bearer"}),
    )
}

fn refuse(status: StatusCode, error: &str) -> Reply {
    json(status, &json!({"error": error, "error_description": format!("the fake refused: {error}")}))
}

fn handle(seen: &Seen, control: &Control) -> Reply {
    match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/token") => {
            let form = seen.params();
            let get = |k: &str| form.get(k).map(String::as_str);
            if get("grant_type") != Some("refresh_token") {
                return refuse(StatusCode::BAD_REQUEST, "unsupported_grant_type");
            }
            if get("client_id") != Some(CLIENT_ID)
                || get("client_secret") != Some(CLIENT_SECRET)
                || get("refresh_token") != Some(REFRESH_TOKEN)
            {
                return refuse(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            forced(control).unwrap_or_else(|| token_body(control, "ya29.fake-user"))
        }
        ("POST", "/sts") => {
            let form = seen.params();
            let get = |k: &str| form.get(k).map(String::as_str);
            if get("grant_type") != Some("urn:ietf:params:oauth:grant-type:token-exchange") {
                return refuse(StatusCode::BAD_REQUEST, "unsupported_grant_type");
            }
            if get("subject_token") != Some(SUBJECT_TOKEN) || get("audience") != Some(AUDIENCE) {
                return refuse(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            if let Some(reply) = forced(control) {
                return reply;
            }
            let n = control.issue();
            json(
                StatusCode::OK,
                &json!({
                    "access_token": format!("ya29.fake-sts-{n}"),
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "Bearer",
                    "expires_in": control.lifetime_secs(),
                }),
            )
        }
        ("GET", "/computeMetadata/v1/instance/service-accounts/default/token") => {
            if seen.header("metadata-flavor") != Some("Google") {
                return refuse(StatusCode::FORBIDDEN, "missing Metadata-Flavor: Google");
            }
            forced(control).unwrap_or_else(|| token_body(control, "ya29.fake-mds"))
        }
        _ => refuse(StatusCode::NOT_FOUND, "not_found"),
    }
}

impl Google {
    pub async fn start() -> Google {
        Google { server: start(handle, None).await }
    }

    /// An `authorized_user` ADC file that uses this fake's token endpoint.
    pub fn authorized_user_json(&self) -> serde_json::Value {
        json!({
            "type": "authorized_user",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "token_uri": self.server.url("/token"),
        })
    }

    /// An `external_account` ADC file whose subject token is read from `token_file`.
    pub fn external_account_json(&self, token_file: &std::path::Path) -> serde_json::Value {
        json!({
            "type": "external_account",
            "audience": AUDIENCE,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": self.server.url("/sts"),
            "credential_source": {"file": token_file.display().to_string()},
        })
    }

    /// The value for `GCE_METADATA_HOST`.
    pub fn metadata_host(&self) -> String {
        self.server.host_port()
    }
}

/// A service account key made at test time (RSA 2048), in the JSON shape Google issues.
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_pem: String,
    pub public_key_pem: String,
}

impl ServiceAccount {
    pub fn generate() -> ServiceAccount {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("generate an RSA key");
        ServiceAccount {
            client_email: "warden-test@test-only-project.iam.gserviceaccount.com".into(),
            private_key_pem: key.serialize_pem(),
            public_key_pem: key.public_key_pem(),
        }
    }

    /// The key file; `token_uri` is never called by google-cloud-auth (it signs a JWT itself).
    pub fn key_json(&self, token_uri: &str) -> serde_json::Value {
        json!({
            "type": "service_account",
            "project_id": "test-only-project",
            "private_key_id": "test-only-key-id",
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": "1234567890",
            "token_uri": token_uri,
            "universe_domain": "googleapis.com",
        })
    }

    /// Checks a self-signed JWT made with this key: RS256 signature, issuer and subject, and
    /// returns its claims.
    pub fn verify(&self, jwt: &str) -> Result<serde_json::Value, String> {
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(self.public_key_pem.as_bytes()).map_err(|e| e.to_string())?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        validation.set_issuer(&[self.client_email.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &validation).map_err(|e| e.to_string())?;
        if data.claims.get("sub").and_then(|s| s.as_str()) != Some(self.client_email.as_str()) {
            return Err(format!("sub is not the service account: {}", data.claims));
        }
        Ok(data.claims)
    }
}
