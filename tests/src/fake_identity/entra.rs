//! Microsoft Entra ID over HTTPS (a test CA, see [`super::tls`]):
//! - `POST /{tenant}/oauth2/v2.0/token`: client-credentials grant; accepts the client secret or a
//!   `client_assertion` equal to the federated token file's content (workload identity);
//! - `GET /msi/token`: App Service managed identity (`IDENTITY_ENDPOINT`); checks the
//!   `X-IDENTITY-HEADER` secret.

use super::tls::TestCa;
use super::{forced, json, start, unix_now, Control, Reply, Seen, Server};
use hyper::StatusCode;
use serde_json::json;

pub const TENANT_ID: &str = "00000000-0000-4000-8000-00000000c0de";
pub const CLIENT_ID: &str = "11111111-1111-4111-8111-111111111111";
pub const CLIENT_SECRET: &str = "test-only-entra-client-secret-9a4f";
pub const FEDERATED_TOKEN: &str = "test-only-federated-token-e3d7";
pub const IDENTITY_HEADER: &str = "test-only-identity-header-42bd";

pub struct Entra {
    pub server: Server,
    pub ca: TestCa,
}

fn refuse(status: StatusCode, error: &str) -> Reply {
    json(status, &json!({"error": error, "error_description": format!("AADSTS70000: the fake refused: {error}")}))
}

fn handle(seen: &Seen, control: &Control) -> Reply {
    let token_path = format!("/{TENANT_ID}/oauth2/v2.0/token");
    if seen.method == "POST" && seen.path == token_path {
        let form = seen.form();
        let get = |k: &str| form.get(k).map(String::as_str);
        if get("grant_type") != Some("client_credentials") || get("client_id") != Some(CLIENT_ID) {
            return refuse(StatusCode::BAD_REQUEST, "invalid_request");
        }
        if get("scope").is_none_or(str::is_empty) {
            return refuse(StatusCode::BAD_REQUEST, "invalid_scope");
        }
        let by_secret = get("client_secret") == Some(CLIENT_SECRET);
        let by_assertion = get("client_assertion_type")
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && get("client_assertion") == Some(FEDERATED_TOKEN);
        if !(by_secret || by_assertion) {
            return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
        }
        if let Some(reply) = forced(control) {
            return reply;
        }
        let n = control.issue();
        let life = control.lifetime_secs();
        let kind = if by_secret { "secret" } else { "federated" };
        return json(
            StatusCode::OK,
            &json!({"token_type": "Bearer", "expires_in": life, "ext_expires_in": life,
                    "access_token": format!("eyJ0eXAi.fake-entra-{kind}-{n}")}),
        );
    }
    if seen.method == "GET" && seen.path == "/msi/token" {
        if seen.header("x-identity-header") != Some(IDENTITY_HEADER) {
            return refuse(StatusCode::UNAUTHORIZED, "bad X-IDENTITY-HEADER");
        }
        let Some(resource) = seen.query.get("resource") else {
            return refuse(StatusCode::BAD_REQUEST, "no resource");
        };
        if let Some(reply) = forced(control) {
            return reply;
        }
        let n = control.issue();
        return json(
            StatusCode::OK,
            &json!({"access_token": format!("eyJ0eXAi.fake-msi-{n}"),
                    "expires_on": (unix_now() + control.lifetime_secs()).to_string(),
                    "resource": resource, "token_type": "Bearer"}),
        );
    }
    refuse(StatusCode::NOT_FOUND, "not_found")
}

impl Entra {
    pub async fn start() -> Entra {
        let ca = TestCa::new();
        let server = start(handle, Some(ca.acceptor.clone())).await;
        Entra { server, ca }
    }

    /// The value for `AZURE_AUTHORITY_HOST`.
    pub fn authority_host(&self) -> String {
        self.server.url("/")
    }

    /// The value for `IDENTITY_ENDPOINT`.
    pub fn identity_endpoint(&self) -> String {
        self.server.url("/msi/token")
    }
}
