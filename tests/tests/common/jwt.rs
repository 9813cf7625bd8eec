//! Tokens for the stacks that put Envoy's `jwt_authn` in front of Warden (`StackOptions.jwks`):
//! the RS256 test key in `tests/keys/`, its JWKS, and signing.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

/// The issuer `jwt_authn` accepts in the test stacks.
pub const ISSUER: &str = "https://idp.warden.test";

fn keys_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("keys")
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The JWKS (JSON text) that trusts the test key.
pub fn jwks() -> String {
    std::fs::read_to_string(keys_dir().join("jwt-test-jwks.json")).unwrap_or_else(|e| panic!("jwks: {e}"))
}

/// The test key's private PEM.
pub fn test_key() -> Vec<u8> {
    std::fs::read(keys_dir().join("jwt-test-rs256.pem")).unwrap_or_else(|e| panic!("test key: {e}"))
}

/// `claims` signed RS256 with `pem` (the test key, or another one to forge a token).
pub fn signed(pem: &[u8], claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(pem).unwrap_or_else(|e| panic!("test key: {e}"));
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("warden-test".into());
    jsonwebtoken::encode(&header, claims, &key).unwrap_or_else(|e| panic!("sign: {e}"))
}
