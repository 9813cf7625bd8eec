//! AWS SigV4 for Bedrock (service `bedrock`), over the request exactly as it goes upstream: after
//! every rewrite (model in the path, TOON and policy edits in the body), with the host Envoy will
//! send. Signing is `aws-sigv4`'s; this only says what to sign. Paths keep the client's encoding
//! (`%3A` in model ids, `%2F` in inference-profile ARNs) and are signed double-encoded, as AWS
//! expects for every service but S3.

use super::Outgoing;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign as sigv4_sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// The service name Bedrock runtime signs with.
const SERVICE: &str = "bedrock";

pub struct Keys<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// Empty for long-term keys.
    pub session_token: &'a str,
}

/// The headers that carry the signature (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` for temporary credentials). Errors never contain the keys.
pub fn sign(keys: &Keys, region: &str, host: &str, request: &Outgoing) -> Result<Vec<(String, String)>, String> {
    let token = (!keys.session_token.is_empty()).then(|| keys.session_token.to_owned());
    let identity: Identity =
        Credentials::new(keys.access_key_id, keys.secret_access_key, token, None, "warden-sidecar").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(request.now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let uri = format!("https://{host}{}", request.path);
    let mut headers = vec![("host", host)];
    if let Some(ct) = request.content_type {
        headers.push(("content-type", ct));
    }
    let signable = SignableRequest::new(request.method, uri, headers.into_iter(), SignableBody::Bytes(request.body))
        .map_err(|e| format!("the request cannot be signed: {e}"))?;
    let (instructions, _signature) = sigv4_sign(signable, &params).map_err(|e| format!("signing: {e}"))?.into_parts();
    Ok(instructions.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
}
