//! Keeps secrets out of error messages and logs. The clouds' crates write their own error texts;
//! before one reaches a gRPC status or a log line, every secret the sidecar was given through the
//! standard environment (client secrets, static keys, token files' contents) is cut out of it.
//! This is a second line: the texts are not expected to carry them in the first place.

use std::path::Path;

/// Environment variables whose values are secrets.
const SECRET_VARS: &[&str] = &[
    "AZURE_CLIENT_SECRET",
    "IDENTITY_HEADER",
    "MSI_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Environment variables that name files whose contents are secrets.
const SECRET_FILE_VARS: &[&str] =
    &["AZURE_FEDERATED_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"];

/// Values shorter than this are not cut out: they would mangle ordinary words.
const MIN_SECRET_LEN: usize = 8;

/// Longest error text passed on; identity endpoints may answer with whole HTML pages.
const MAX_MESSAGE_CHARS: usize = 400;

#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Reads the secret values from the process environment (and the files it names) once.
    pub fn from_env() -> Redactor {
        let mut secrets = Vec::new();
        for var in SECRET_VARS {
            if let Ok(value) = std::env::var(var) {
                secrets.push(value);
            }
        }
        for var in SECRET_FILE_VARS {
            if let Some(path) = std::env::var_os(var) {
                if let Ok(text) = std::fs::read_to_string(Path::new(&path)) {
                    secrets.push(text.trim().to_string());
                }
            }
        }
        Redactor::with_secrets(secrets)
    }

    pub fn with_secrets(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= MIN_SECRET_LEN).collect();
        // Longest first, so a secret that contains another is cut whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// The text with every known secret replaced by `[redacted]`, on one line, capped in length.
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        if out.chars().count() > MAX_MESSAGE_CHARS {
            out = out.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
        }
        out
    }

    /// An error and its chain of causes as one cleaned line (`outer: inner: root`), skipping a
    /// cause whose text the outer message already contains.
    pub fn error_chain(&self, err: &(dyn std::error::Error + 'static)) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            let part = cause.to_string();
            if !part.is_empty() && !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = cause.source();
        }
        self.clean(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_are_cut_out_longest_first() {
        let r = Redactor::with_secrets(["s3cr3t-value".to_string(), "s3cr3t-value-and-more".to_string()]);
        assert_eq!(r.clean("got s3cr3t-value-and-more and s3cr3t-value"), "got [redacted] and [redacted]");
    }

    #[test]
    fn short_values_are_not_treated_as_secrets() {
        let r = Redactor::with_secrets(["abc".to_string()]);
        assert_eq!(r.clean("abc abc"), "abc abc");
    }

    #[test]
    fn text_becomes_one_capped_line() {
        let r = Redactor::default();
        assert_eq!(r.clean("a\n  b\tc"), "a b c");
        let long = "x".repeat(1000);
        assert_eq!(r.clean(&long).chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn an_error_chain_reads_outer_to_root_without_repeats() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer failed")]
        struct Outer(#[source] std::io::Error);
        let err = Outer(std::io::Error::other("connection refused"));
        assert_eq!(Redactor::default().error_chain(&err), "outer failed: connection refused");
    }
}
