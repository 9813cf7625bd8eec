use super::*;
use crate::keys::set::{Resolution, Subject};

/// An environment variable every test process has (its value is visible ASCII).
const PRESENT_VAR: &str = "PATH";

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir { dir: tempfile::tempdir().unwrap() }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(&self, yaml: &str, context: Context) -> Result<KeySet, KeysFileError> {
        load(&self.file("keys.yaml", yaml), context).0
    }
}

fn aws() -> Context {
    Context { aws_enabled: true }
}

/// The path an invalid file's error points at, and its message.
fn error_at(yaml: &str, context: Context) -> (String, String) {
    match Dir::new().load(yaml, context) {
        Err(KeysFileError::Invalid { path, message, .. }) => (path, message),
        Err(other) => panic!("expected an invalid file, got {other}"),
        Ok(_) => panic!("expected an invalid file, it loaded:\n{yaml}"),
    }
}

fn path_of(yaml: &str) -> String {
    error_at(yaml, aws()).0
}

#[test]
fn the_documented_example_loads_and_resolves() {
    let dir = Dir::new();
    let secret = dir.file("anthropic", "sk-ant-test-123\n");
    let yaml = format!(
        "keys:\n\
         \x20 - id: team-a-dev\n\
         \x20   key_sha256: {}\n\
         \x20   expires_at: 2027-06-30T00:00:00Z\n\
         \x20   profile: team-a\n\
         \x20   providers:\n\
         \x20     openai:    {{api_key_env: {PRESENT_VAR}}}\n\
         \x20     anthropic: {{api_key_file: {}}}\n\
         \x20     bedrock:   {{auth: sigv4}}\n\
         \x20   limits: [{{usd: 5, window: 1d}}]\n\
         oauth_clients:\n\
         \x20 - {{client_id: billing-bot, providers: {{openai: {{api_key_env: {PRESENT_VAR}}}}}, limits: [{{usd: 20, window: calendar_month, models: [gpt-5*]}}]}}\n",
        hex::encode(digest(b"wdn_team_a_dev_key")),
        secret.display()
    );
    let set = dir.load(&yaml, aws()).unwrap();
    assert_eq!((set.key_count(), set.client_count()), (1, 1));

    let d = digest(b"wdn_team_a_dev_key");
    let Resolution::Ok {
        identity,
        credential: Some(ProviderCredential::ApiKey(key)),
        served_by: None,
        expires_at_unix_ms,
    } = set.resolve(Subject::KeySha256(&d), "anthropic", 0)
    else {
        panic!("not resolved")
    };
    assert_eq!(key.expose(), "sk-ant-test-123", "the file's key, trimmed");
    assert_eq!(expires_at_unix_ms, Some(1_814_313_600_000));
    assert_eq!(identity.profile.as_deref(), Some("team-a"));
    assert_eq!(identity.limits, [KeyLimit { usd: 5.0, window: Window::Day, models: vec![] }]);
    let Resolution::Ok { credential: Some(ProviderCredential::ApiKey(key)), .. } =
        set.resolve(Subject::KeySha256(&d), "openai", 0)
    else {
        panic!("not resolved")
    };
    assert_eq!(key.expose(), std::env::var(PRESENT_VAR).unwrap().trim());

    let Resolution::Ok { identity, .. } = set.resolve(Subject::OAuthClient("billing-bot"), "openai", 0) else {
        panic!("client not resolved")
    };
    assert_eq!(identity.limits[0].models, ["gpt-5*"]);
}

#[test]
fn a_plain_key_is_hashed_at_load_and_resolves_like_its_hash() {
    let by_key =
        Dir::new().load("keys: [{id: a, key: wdn_local_key, providers: {bedrock: {auth: sigv4}}}]", aws()).unwrap();
    let d = digest(b"wdn_local_key");
    assert!(matches!(by_key.resolve(Subject::KeySha256(&d), "bedrock", 0), Resolution::Ok { .. }));
    let upper = hex::encode_upper(d);
    let by_hash = Dir::new()
        .load(&format!("keys: [{{id: a, key_sha256: {upper}, providers: {{bedrock: {{auth: sigv4}}}}}}]"), aws());
    assert!(matches!(by_hash.unwrap().resolve(Subject::KeySha256(&d), "bedrock", 0), Resolution::Ok { .. }));
}

#[test]
fn a_relative_api_key_file_is_read_beside_the_keys_file() {
    let dir = Dir::new();
    dir.file("openai.key", "sk-beside");
    let set = dir.load("keys: [{id: a, key: wdn_a, providers: {openai: {api_key_file: openai.key}}}]", aws()).unwrap();
    let d = digest(b"wdn_a");
    let Resolution::Ok { credential: Some(ProviderCredential::ApiKey(key)), .. } =
        set.resolve(Subject::KeySha256(&d), "openai", 0)
    else {
        panic!("not resolved")
    };
    assert_eq!(key.expose(), "sk-beside");
}

#[test]
fn an_empty_file_is_an_empty_set() {
    let set = Dir::new().load("", Context::default()).unwrap();
    assert_eq!((set.key_count(), set.client_count()), (0, 0));
}

#[test]
fn unknown_keys_are_errors_naming_their_path() {
    assert_eq!(path_of("keyz: []"), "keyz");
    assert_eq!(path_of("keys: [{id: a, key: wdn_a, providrs: {}}]"), "keys[0].providrs");
    assert_eq!(
        path_of("keys: [{id: a, key: wdn_a, providers: {openai: {api_key_evn: X}}}]"),
        "keys[0].providers.openai.api_key_evn"
    );
    assert_eq!(
        path_of(
            "oauth_clients: [{client_id: c, expires_at: 2027-01-01T00:00:00Z, providers: {bedrock: {auth: sigv4}}}]"
        ),
        "oauth_clients[0].expires_at"
    );
    assert_eq!(
        path_of("keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}}, limits: [{usd: 1, window: 1d, scope: user}]}]"),
        "keys[0].limits[0].scope"
    );
}

#[test]
fn missing_fields_point_at_the_field() {
    assert_eq!(path_of("keys: [{key: wdn_a, providers: {bedrock: {auth: sigv4}}}]"), "keys[0].id");
    assert_eq!(path_of("keys: [{id: a, key: wdn_a}]"), "keys[0].providers");
    assert_eq!(path_of("keys: [{id: a, providers: {bedrock: {auth: sigv4}}}]"), "keys[0].key_sha256");
    assert_eq!(path_of("oauth_clients: [{providers: {bedrock: {auth: sigv4}}}]"), "oauth_clients[0].client_id");
}

#[test]
fn bad_values_name_their_path() {
    let key = |rest: &str| format!("keys: [{{id: a, key: wdn_a, providers: {{bedrock: {{auth: sigv4}}}}{rest}}}]");
    let cases = [
        ("keys: [{id: a, key_sha256: abc, providers: {bedrock: {auth: sigv4}}}]".to_string(), "keys[0].key_sha256"),
        (format!("keys: [{{id: a, key_sha256: {}, providers: {{bedrock: {{auth: sigv4}}}}}}]", "zz".repeat(32)), "keys[0].key_sha256"),
        (format!("keys: [{{id: a, key: wdn_a, key_sha256: {}, providers: {{bedrock: {{auth: sigv4}}}}}}]", "0".repeat(64)), "keys[0].key"),
        ("keys: [{id: a, key: sk-a, providers: {bedrock: {auth: sigv4}}}]".to_string(), "keys[0].key"),
        ("keys: [{id: a, key: 'wdn_a b', providers: {bedrock: {auth: sigv4}}}]".to_string(), "keys[0].key"),
        (key(", expires_at: 2027-06-30"), "keys[0].expires_at"),
        (key(", profile: ''"), "keys[0].profile"),
        (key(", limits: [{usd: 0, window: 1d}]"), "keys[0].limits[0].usd"),
        (key(", limits: [{usd: 1, window: 2h}]"), "keys[0].limits[0].window"),
        (key(", limits: [{usd: 1, window: 1d, models: []}]"), "keys[0].limits[0].models"),
        ("keys: [{id: a, key: wdn_a, providers: {}}]".to_string(), "keys[0].providers"),
        ("keys: [{id: a, key: wdn_a, providers: {opneai: {auth: sigv4}}}]".to_string(), "keys[0].providers.opneai"),
        ("keys: [{id: a, key: wdn_a, providers: {openai: {}}}]".to_string(), "keys[0].providers.openai"),
        (
            format!("keys: [{{id: a, key: wdn_a, providers: {{openai: {{api_key_env: {PRESENT_VAR}, auth: sigv4}}}}}}]"),
            "keys[0].providers.openai",
        ),
        ("keys: [{id: a, key: wdn_a, providers: {openai: {auth: sigv4}}}]".to_string(), "keys[0].providers.openai.auth"),
        (
            "keys: [{id: a, key: wdn_a, providers: {openai: {api_key_env: WARDEN_TEST_VARIABLE_NOBODY_SETS}}}]".to_string(),
            "keys[0].providers.openai.api_key_env",
        ),
        (
            "keys: [{id: a, key: wdn_a, providers: {openai: {api_key_file: /nonexistent/warden/key}}}]".to_string(),
            "keys[0].providers.openai.api_key_file",
        ),
        ("keys: [{id: '', key: wdn_a, providers: {bedrock: {auth: sigv4}}}]".to_string(), "keys[0].id"),
        ("keys: [{id: wdn_pasted, key: wdn_a, providers: {bedrock: {auth: sigv4}}}]".to_string(), "keys[0].id"),
        (
            "keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}}}, {id: a, key: wdn_b, providers: {bedrock: {auth: sigv4}}}]"
                .to_string(),
            "keys[1].id",
        ),
        (
            "keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}}}, {id: b, key: wdn_a, providers: {bedrock: {auth: sigv4}}}]"
                .to_string(),
            "keys[1].key_sha256",
        ),
        (
            "keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}}}]\noauth_clients: [{client_id: a, providers: {bedrock: {auth: sigv4}}}]"
                .to_string(),
            "oauth_clients[0].client_id",
        ),
    ];
    for (yaml, path) in cases {
        assert_eq!(error_at(&yaml, aws()).0, path, "{yaml}");
    }
}

#[test]
fn sigv4_needs_the_sidecars_aws_credentials() {
    let (path, message) =
        error_at("keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}}}]", Context::default());
    assert_eq!(path, "keys[0].providers.bedrock.auth");
    assert!(message.contains("credentials.aws"), "{message}");
}

#[test]
fn provider_key_files_must_hold_one_usable_key() {
    let dir = Dir::new();
    for (content, what) in [("\n  \n", "is empty"), ("sk-live-abcdef\nsecond-line", "cannot have")] {
        let file = dir.file("key", content);
        let yaml =
            format!("keys: [{{id: a, key: wdn_a, providers: {{openai: {{api_key_file: {}}}}}}}]", file.display());
        let Err(KeysFileError::Invalid { path, message, .. }) = dir.load(&yaml, aws()) else { panic!("loaded") };
        assert_eq!(path, "keys[0].providers.openai.api_key_file");
        assert!(message.contains(what), "{message}");
        assert!(!message.contains("sk-live"), "{message}");
    }
}

#[test]
fn errors_never_quote_a_virtual_key() {
    for yaml in [
        "keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}}, wdn_pasted_secret_1234: 1}]",
        "keys: [{id: a, key: [wdn_pasted_secret_1234], providers: {bedrock: {auth: sigv4}}}]",
        "keys: [{id: a, key_sha256: wdn_pasted_secret_1234, providers: {bedrock: {auth: sigv4}}}]",
        "keys: [{id: a, key: wdn_pasted_secret_1234, providers: {bedrock: {auth: sigv4}}, expires_at: wdn_pasted_secret_1234}]",
    ] {
        let Err(err) = Dir::new().load(yaml, aws()) else { panic!("loaded: {yaml}") };
        assert!(!err.to_string().contains("pasted_secret"), "{err}");
    }
}

#[test]
fn a_missing_file_is_a_read_error_naming_it_and_seen_as_absent() {
    let (outcome, seen) = load(Path::new("/nonexistent/keys.yaml"), Context::default());
    let err = outcome.err().unwrap();
    assert!(err.to_string().contains("/nonexistent/keys.yaml"), "{err}");
    assert_eq!(seen, Seen::default());
}

#[test]
fn scrub_cuts_every_virtual_key_out() {
    assert_eq!(scrub("unknown field `wdn_abc-DEF_1`, expected"), "unknown field `wdn_[redacted]`, expected");
    assert_eq!(scrub("a wdn_x and wdn_y."), "a wdn_[redacted] and wdn_[redacted].");
    assert_eq!(scrub("nothing here"), "nothing here");
}

#[test]
fn a_provider_served_via_another_takes_that_ones_credential_and_must_name_a_mapped_one() {
    let set = Dir::new()
        .load("keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}, deepseek: {via: bedrock}}}]", aws())
        .unwrap();
    let d = digest(b"wdn_a");
    let r = set.resolve(Subject::KeySha256(&d), "deepseek", 0);
    assert!(
        matches!(r, Resolution::Ok { credential: Some(ProviderCredential::Sigv4), served_by: Some("bedrock"), .. }),
        "{r:?}"
    );
    for (text, path) in [
        ("keys: [{id: a, key: wdn_a, providers: {deepseek: {via: bedrock}}}]", "keys[0].providers.deepseek.via"),
        (
            "keys: [{id: a, key: wdn_a, providers: {bedrock: {via: deepseek}, deepseek: {via: bedrock}}}]",
            "keys[0].providers.bedrock.via",
        ),
        ("keys: [{id: a, key: wdn_a, providers: {deepseek: {via: deepseek}}}]", "keys[0].providers.deepseek.via"),
        ("keys: [{id: a, key: wdn_a, providers: {deepseek: {via: nowhere}}}]", "keys[0].providers.deepseek.via"),
        (
            "keys: [{id: a, key: wdn_a, providers: {bedrock: {auth: sigv4}, deepseek: {via: bedrock, api_key_env: X}}}]",
            "keys[0].providers.deepseek",
        ),
    ] {
        assert_eq!(path_of(text), path, "{text}");
    }
}
