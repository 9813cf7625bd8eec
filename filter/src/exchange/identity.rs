//! Who is calling (DESIGN §4.2): agent, user, session and execution ids from the `x-warden-*`
//! headers, their `x-archestra-*` aliases, and the combined `x-warden-meta` header.

use crate::meter::limits::ScopeIds;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub execution_id: Option<String>,
}

fn header(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    let value = get(&format!("x-warden-{name}")).or_else(|| get(&format!("x-archestra-{name}")))?;
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
        let meta = header(get, "meta").unwrap_or_default();
        let mut parts = meta.splitn(3, '/').map(|s| s.trim()).map(|s| (!s.is_empty()).then(|| s.to_string()));
        let (meta_agent, meta_execution, meta_session) =
            (parts.next().flatten(), parts.next().flatten(), parts.next().flatten());
        Identity {
            agent_id: header(get, "agent-id").or(meta_agent),
            user_id: header(get, "user-id"),
            session_id: header(get, "session-id").or(meta_session),
            execution_id: header(get, "execution-id").or(meta_execution),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
                execution_id: Some("e1".into())
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
}
