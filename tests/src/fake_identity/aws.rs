//! AWS's credential endpoints, on one HTTP server:
//! - `POST /sts`: STS `AssumeRoleWithWebIdentity` (query protocol; checks the web identity token
//!   and the role ARN; answers XML);
//! - `GET /container-credentials`: the container credentials endpoint
//!   (`AWS_CONTAINER_CREDENTIALS_FULL_URI`; checks the `Authorization` token);
//! - IMDSv2 under `/latest/`: `PUT /latest/api/token`, then the role list and the role's
//!   credentials with `X-aws-ec2-metadata-token`.

use super::{forced, json, reply, rfc3339_in, start, Control, Reply, Seen, Server};
use hyper::StatusCode;
use serde_json::json;

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/warden-test-only";
pub const WEB_IDENTITY_TOKEN: &str = "test-only-web-identity-token-8f3b";
pub const CONTAINER_TOKEN: &str = "test-only-container-auth-token-c5e1";
pub const IMDS_ROLE: &str = "warden-test-only-instance-role";
const IMDS_SESSION: &str = "test-only-imds-session-token-77aa";

pub struct Aws {
    pub server: Server,
}

/// Numbered temporary credentials: (access key id, secret, session token).
fn issue(control: &Control, source: &str) -> (String, String, String) {
    let n = control.issue();
    (
        format!("ASIAFAKE{}{n:04}", source.to_ascii_uppercase()),
        format!("test-only-{source}-secret-access-key-{n}"),
        format!("test-only-{source}-session-token-{n}"),
    )
}

fn error(status: StatusCode, message: &str) -> Reply {
    json(status, &json!({"code": "Refused", "message": message}))
}

fn sts(seen: &Seen, control: &Control) -> Reply {
    let form = seen.form();
    let get = |k: &str| form.get(k).map(String::as_str);
    if get("Action") != Some("AssumeRoleWithWebIdentity") {
        return error(StatusCode::BAD_REQUEST, "unsupported action");
    }
    if get("WebIdentityToken") != Some(WEB_IDENTITY_TOKEN) || get("RoleArn") != Some(ROLE_ARN) {
        let body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
                    <Code>InvalidIdentityToken</Code><Message>the fake refused the token</Message></Error>\
                    <RequestId>fake</RequestId></ErrorResponse>";
        return reply(StatusCode::BAD_REQUEST, "text/xml", body);
    }
    if let Some(r) = forced(control) {
        return r;
    }
    let (id, secret, session) = issue(control, "sts");
    let expiration = rfc3339_in(control.lifetime_secs());
    let body = format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <AssumeRoleWithWebIdentityResult>\
         <Credentials><AccessKeyId>{id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
         <SessionToken>{session}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>AROAFAKE:{sess}</AssumedRoleId>\
         <Arn>arn:aws:sts::123456789012:assumed-role/warden-test-only/{sess}</Arn></AssumedRoleUser>\
         <SubjectFromWebIdentityToken>system:serviceaccount:warden:sidecar</SubjectFromWebIdentityToken>\
         </AssumeRoleWithWebIdentityResult>\
         <ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata>\
         </AssumeRoleWithWebIdentityResponse>",
        sess = get("RoleSessionName").unwrap_or("session"),
    );
    reply(StatusCode::OK, "text/xml", body)
}

fn credentials_json(control: &Control, source: &str) -> Reply {
    let (id, secret, session) = issue(control, source);
    json(
        StatusCode::OK,
        &json!({"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": rfc3339_in(0),
                "AccessKeyId": id, "SecretAccessKey": secret, "Token": session,
                "Expiration": rfc3339_in(control.lifetime_secs())}),
    )
}

fn handle(seen: &Seen, control: &Control) -> Reply {
    let path = seen.path.as_str();
    match seen.method.as_str() {
        "POST" if path == "/sts" || path == "/sts/" => sts(seen, control),
        "GET" if path == "/container-credentials" => {
            if seen.header("authorization") != Some(CONTAINER_TOKEN) {
                return error(StatusCode::UNAUTHORIZED, "bad Authorization token");
            }
            forced(control).unwrap_or_else(|| credentials_json(control, "container"))
        }
        "PUT" if path == "/latest/api/token" => {
            let Some(ttl) = seen.header("x-aws-ec2-metadata-token-ttl-seconds") else {
                return error(StatusCode::BAD_REQUEST, "no TTL header");
            };
            let mut r = reply(StatusCode::OK, "text/plain", IMDS_SESSION);
            if let Ok(value) = hyper::header::HeaderValue::from_str(ttl) {
                r.headers_mut().insert("x-aws-ec2-metadata-token-ttl-seconds", value);
            }
            r
        }
        "GET" if path.starts_with("/latest/meta-data/") => {
            if seen.header("x-aws-ec2-metadata-token") != Some(IMDS_SESSION) {
                return error(StatusCode::UNAUTHORIZED, "IMDSv2 session token missing or wrong");
            }
            let rest = path.trim_start_matches("/latest/meta-data/");
            match rest {
                "iam/security-credentials/" | "iam/security-credentials" => {
                    reply(StatusCode::OK, "text/plain", IMDS_ROLE)
                }
                r if r == format!("iam/security-credentials/{IMDS_ROLE}") => {
                    forced(control).unwrap_or_else(|| credentials_json(control, "imds"))
                }
                _ => error(StatusCode::NOT_FOUND, "not found"),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

impl Aws {
    pub async fn start() -> Aws {
        Aws { server: start(handle, None).await }
    }

    /// The value for `AWS_ENDPOINT_URL_STS`.
    pub fn sts_url(&self) -> String {
        self.server.url("/sts")
    }

    /// The value for `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn container_uri(&self) -> String {
        self.server.url("/container-credentials")
    }

    /// The value for `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
    pub fn imds_endpoint(&self) -> String {
        self.server.url("/")
    }
}
