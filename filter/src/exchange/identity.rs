//! Who is calling (DESIGN §4.2, §4.6): agent, user, session and execution ids from the
//! `x-warden-*` headers, their `x-archestra-*` aliases and the combined `x-warden-meta` header;
//! and, when Envoy's `jwt_authn` verified a token, the user and groups from its claims, which
//! always win over the headers.

use crate::meter::limits::ScopeIds;
use prost::Message;
use prost_types::value::Kind;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub execution_id: Option<String>,
    /// From the verified token's groups claim; empty without one.
    pub groups: Vec<String>,
    /// A token verified by `jwt_authn` decided `user_id` and `groups`.
    pub verified: bool,
}

/// The claims of a token Envoy's `jwt_authn` verified, as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(pub Map<String, Value>);

impl Claims {
    /// Reads the claims Envoy hands over for `payload_in_metadata`: Envoy 1.40 serializes a map
    /// property in proxy-wasm's pairs format (nested maps and lists the same way, numbers as 8-byte
    /// doubles), older hosts as a `google.protobuf.Struct`. Bytes that are neither still mean a
    /// token was verified: the result is empty claims, never `None`, so the unverified headers
    /// cannot stand in for them.
    pub fn from_metadata(bytes: &[u8]) -> Claims {
        if let Some(pairs) = pairs(bytes) {
            return Claims(pairs.into_iter().map(|(k, v)| (k, pairs_value(v))).collect());
        }
        match prost_types::Struct::decode(bytes) {
            Ok(s) => Claims(struct_to_json(s)),
            Err(_) => Claims::default(),
        }
    }

    /// The claim at `path`: the key itself, else a dotted path through nested objects.
    fn get(&self, path: &str) -> Option<&Value> {
        if let Some(v) = self.0.get(path) {
            return Some(v);
        }
        let mut parts = path.split('.');
        let mut cur = self.0.get(parts.next()?)?;
        for part in parts {
            cur = cur.as_object()?.get(part)?;
        }
        Some(cur)
    }

    /// The groups claim: an array of strings, or one string (several IdPs send a single group
    /// as a string). Anything else is no groups.
    fn groups(&self, claim: &str) -> Vec<String> {
        match self.get(claim) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    fn string(&self, claim: &str) -> Option<String> {
        self.get(claim).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
    }

    /// The OAuth client the token was issued to (`azp`, else `client_id`).
    pub fn client_id(&self) -> Option<String> {
        self.string("azp").or_else(|| self.string("client_id"))
    }
}

/// proxy-wasm's pairs format: a little-endian u32 count, then a (key length, value length) u32
/// pair per entry, then each key and value followed by a NUL. `None` unless the bytes are exactly
/// that.
fn pairs(bytes: &[u8]) -> Option<Vec<(String, &[u8])>> {
    let word = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let count = word(0)?;
    let mut pos = count.checked_mul(8)?.checked_add(4)?;
    if pos > bytes.len() {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let key_len = word(4 + i * 8)?;
        let value_len = word(8 + i * 8)?;
        let key = bytes.get(pos..pos.checked_add(key_len)?)?;
        pos = pos.checked_add(key_len)?;
        (bytes.get(pos) == Some(&0)).then_some(())?;
        pos = pos.checked_add(1)?;
        let value = bytes.get(pos..pos.checked_add(value_len)?)?;
        pos = pos.checked_add(value_len)?;
        (bytes.get(pos) == Some(&0)).then_some(())?;
        pos = pos.checked_add(1)?;
        out.push((String::from_utf8(key.to_vec()).ok()?, value));
    }
    (pos == bytes.len()).then_some(out)
}

/// One value in the pairs format. The format carries no types: a value that is itself pairs is
/// a map, or a list when every value is empty (a list's elements are its keys); text is a string;
/// eight other bytes are a double.
fn pairs_value(bytes: &[u8]) -> Value {
    if let Some(inner) = pairs(bytes) {
        if inner.iter().all(|(_, v)| v.is_empty()) {
            return Value::Array(inner.into_iter().map(|(k, _)| Value::String(k)).collect());
        }
        return Value::Object(inner.into_iter().map(|(k, v)| (k, pairs_value(v))).collect());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Value::String(text.to_owned());
    }
    match <[u8; 8]>::try_from(bytes) {
        Ok(b) => serde_json::Number::from_f64(f64::from_le_bytes(b)).map_or(Value::Null, Value::Number),
        Err(_) => Value::Null,
    }
}

fn struct_to_json(s: prost_types::Struct) -> Map<String, Value> {
    s.fields.into_iter().map(|(k, v)| (k, value_to_json(v))).collect()
}

fn value_to_json(v: prost_types::Value) -> Value {
    match v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_json(s)),
        Some(Kind::ListValue(l)) => Value::Array(l.values.into_iter().map(value_to_json).collect()),
    }
}

/// `[ours, Archestra's]` names of one identity header: ours wins.
fn header(get: &dyn Fn(&str) -> Option<String>, [ours, archestra]: [&str; 2]) -> Option<String> {
    let value = get(ours).or_else(|| get(archestra))?;
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

impl Identity {
    /// The caller's ids for the cost-limit scopes.
    pub fn scope_ids(&self) -> ScopeIds<'_> {
        ScopeIds {
            user: self.user_id.as_deref(),
            agent: self.agent_id.as_deref(),
            session: self.session_id.as_deref(),
            key: None,
        }
    }

    /// `get` looks a request header up by its lower-case name.
    pub fn from_headers(get: &dyn Fn(&str) -> Option<String>) -> Identity {
        // `x-warden-meta: agent/execution/session`; empty segments allowed; the individual headers win.
        let meta = header(get, ["x-warden-meta", "x-archestra-meta"]).unwrap_or_default();
        let mut parts = meta.splitn(3, '/').map(|s| s.trim()).map(|s| (!s.is_empty()).then(|| s.to_string()));
        let (meta_agent, meta_execution, meta_session) =
            (parts.next().flatten(), parts.next().flatten(), parts.next().flatten());
        Identity {
            agent_id: header(get, ["x-warden-agent-id", "x-archestra-agent-id"]).or(meta_agent),
            user_id: header(get, ["x-warden-user-id", "x-archestra-user-id"]),
            session_id: header(get, ["x-warden-session-id", "x-archestra-session-id"]).or(meta_session),
            execution_id: header(get, ["x-warden-execution-id", "x-archestra-execution-id"]).or(meta_execution),
            groups: Vec::new(),
            verified: false,
        }
    }

    /// A verified token decides who the user is: `sub` replaces the user-id header (also when the
    /// token has none), and the groups claim gives `context.groups`.
    pub fn apply_claims(&mut self, claims: &Claims, groups_claim: &str) {
        self.user_id = claims.string("sub");
        self.groups = claims.groups(groups_claim);
        self.verified = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn ident(headers: &[(&str, &str)]) -> Identity {
        let map: HashMap<String, String> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Identity::from_headers(&|name| map.get(name).cloned())
    }

    #[test]
    fn individual_headers_are_read() {
        let id = ident(&[
            ("x-warden-agent-id", "a1"),
            ("x-warden-user-id", "u1"),
            ("x-warden-session-id", "s1"),
            ("x-warden-execution-id", "e1"),
        ]);
        assert_eq!(
            id,
            Identity {
                agent_id: Some("a1".into()),
                user_id: Some("u1".into()),
                session_id: Some("s1".into()),
                execution_id: Some("e1".into()),
                ..Identity::default()
            }
        );
    }

    #[test]
    fn archestra_aliases_are_accepted() {
        let id = ident(&[("x-archestra-agent-id", "a2"), ("x-archestra-user-id", "u2")]);
        assert_eq!((id.agent_id.as_deref(), id.user_id.as_deref()), (Some("a2"), Some("u2")));
    }

    #[test]
    fn meta_header_fills_gaps_and_individual_headers_win() {
        let id = ident(&[("x-warden-meta", "agent-m/exec-m/sess-m"), ("x-warden-session-id", "s-own")]);
        assert_eq!(id.agent_id.as_deref(), Some("agent-m"));
        assert_eq!(id.execution_id.as_deref(), Some("exec-m"));
        assert_eq!(id.session_id.as_deref(), Some("s-own"));
        let id = ident(&[("x-warden-meta", "//sess-only")]);
        assert_eq!((id.agent_id, id.execution_id, id.session_id.as_deref()), (None, None, Some("sess-only")));
    }

    fn metadata(claims: Value) -> Vec<u8> {
        fn to_value(v: &Value) -> prost_types::Value {
            let kind = match v {
                Value::Null => Kind::NullValue(0),
                Value::Bool(b) => Kind::BoolValue(*b),
                Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
                Value::String(s) => Kind::StringValue(s.clone()),
                Value::Array(a) => Kind::ListValue(prost_types::ListValue { values: a.iter().map(to_value).collect() }),
                Value::Object(o) => Kind::StructValue(prost_types::Struct {
                    fields: o.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
                }),
            };
            prost_types::Value { kind: Some(kind) }
        }
        match to_value(&claims).kind {
            Some(Kind::StructValue(s)) => s.encode_to_vec(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn verified_sub_and_groups_replace_a_forged_user_header() {
        let mut id = ident(&[("x-warden-user-id", "admin"), ("x-warden-agent-id", "bot")]);
        let claims = Claims::from_metadata(&metadata(json!({"sub": "alice", "groups": ["dev", "sre"], "exp": 1.9e9})));
        id.apply_claims(&claims, "groups");
        assert_eq!(id.user_id.as_deref(), Some("alice"));
        assert_eq!(id.groups, vec!["dev".to_string(), "sre".to_string()]);
        assert_eq!(id.agent_id.as_deref(), Some("bot"), "agent ids still come from the headers");
        assert!(id.verified);
    }

    #[test]
    fn a_verified_token_without_sub_leaves_no_user_rather_than_the_header() {
        let mut id = ident(&[("x-warden-user-id", "admin")]);
        id.apply_claims(&Claims::from_metadata(&metadata(json!({"iss": "idp"}))), "groups");
        assert_eq!(id.user_id, None);
        let mut id = ident(&[("x-warden-user-id", "admin")]);
        id.apply_claims(&Claims::from_metadata(b"\xff\xff not a struct"), "groups");
        assert_eq!(id.user_id, None);
    }

    #[test]
    fn groups_come_from_a_nested_claim_or_a_single_string() {
        let claims =
            Claims::from_metadata(&metadata(json!({"realm_access": {"roles": ["ops", 7, "sre"]}, "team": "red"})));
        let mut id = Identity::default();
        id.apply_claims(&claims, "realm_access.roles");
        assert_eq!(id.groups, vec!["ops".to_string(), "sre".to_string()]);
        id.apply_claims(&claims, "team");
        assert_eq!(id.groups, vec!["red".to_string()]);
        id.apply_claims(&claims, "missing");
        assert!(id.groups.is_empty());
    }

    /// Bytes as Envoy 1.40 sent them for a token with `groups: ["sre"]` (captured from a test run).
    const ENVOY_PAIRS: &[u8] = b"\x06\x00\x00\x00\x06\x00\x00\x00\x11\x00\x00\x00\x03\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x17\x00\x00\x00\x03\x00\x00\x00\x07\x00\x00\x00\x03\x00\x00\x00\x06\x00\x00\x00groups\x00\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00sre\x00\x00\x00iat\x00\x00\x00\xc0\xf1A\xc5\xdaA\x00exp\x00\x00\x00\xc0\x87B\xc5\xdaA\x00iss\x00https://idp.warden.test\x00sub\x00mallory\x00aud\x00warden\x00";

    #[test]
    fn claims_in_envoys_pairs_format_are_read() {
        let claims = Claims::from_metadata(ENVOY_PAIRS);
        let mut id = ident(&[("x-warden-user-id", "alice")]);
        id.apply_claims(&claims, "groups");
        assert_eq!(id.user_id.as_deref(), Some("mallory"));
        assert_eq!(id.groups, vec!["sre".to_string()]);
        assert_eq!(claims.0.get("iss"), Some(&json!("https://idp.warden.test")));
        assert!(claims.0.get("exp").and_then(Value::as_f64).is_some_and(|e| e > 1.7e9));
    }

    #[test]
    fn pairs_that_do_not_add_up_are_not_read_as_pairs() {
        assert!(pairs(b"\x01\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00sub\x00").is_none());
        assert!(pairs(b"\xff\xff\xff\xff").is_none());
        for cut in 0..ENVOY_PAIRS.len() {
            assert!(pairs(ENVOY_PAIRS.get(..cut).unwrap_or_default()).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn the_oauth_client_is_azp_else_client_id() {
        let c = Claims::from_metadata(&metadata(json!({"azp": "billing-bot", "client_id": "other"})));
        assert_eq!(c.client_id().as_deref(), Some("billing-bot"));
        let c = Claims::from_metadata(&metadata(json!({"client_id": "cli"})));
        assert_eq!(c.client_id().as_deref(), Some("cli"));
    }
}
