//! What the sidecar-injection webhook (`warden-injector`, examples/kubernetes/injection) puts in a
//! pod, rendered by the real `warden-injector` binary from the `config.yaml` of the shipped
//! ConfigMap, unchanged:
//! - the Envoy bootstrap: `warden-injector render-bootstrap --config F --out F`, with no overrides,
//!   so it is the pod's own (its ports, the real providers over TLS, `/etc/warden/warden.wasm`,
//!   the access log on `/dev/stdout`); [`crate::shipped::substitute_envoy`] then changes what
//!   cannot work here, as for every other deployment, and lists each change;
//! - the sidecar's configuration: the `warden.io/sidecar-config` annotation of the patch that
//!   `warden-injector review` answers for a labelled pod (injector/tests/reviews/labelled.json).
//!
//! The pod's AWS identity (IRSA / EKS Pod Identity, for the shipped `providers.bedrock.auth: sigv4`)
//! has no equivalent here: [`POD_AWS_IDENTITY`] gives the sidecar static test keys instead.

use crate::shipped::{read_yaml, Shipped};
use crate::stack;
use base64::Engine as _;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shipped ConfigMap holding the injector's configuration.
pub const CONFIGMAP: &str = "examples/kubernetes/injection/configmap.yaml";

/// The AdmissionReview of a pod labelled for injection that the injector's own tests answer.
pub const LABELLED_POD_REVIEW: &str = "injector/tests/reviews/labelled.json";

/// The annotation the injector writes the sidecar's configuration into (injector/src/inject.rs).
pub const SIDECAR_CONFIG_ANNOTATION: &str = "warden.io/sidecar-config";

/// Stands in for the pod's AWS identity in the sidecar's environment (test keys, no account).
pub const POD_AWS_IDENTITY: [(&str, &str); 2] =
    [("AWS_ACCESS_KEY_ID", "AKIDINJECTIONTEST"), ("AWS_SECRET_ACCESS_KEY", "injection-test-secret")];

/// The `warden-injector` binary: `WARDEN_INJECTOR`, else the one `cargo build -p warden-injector`
/// leaves beside the test executable's directory.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("WARDEN_INJECTOR") {
        return PathBuf::from(p);
    }
    let name = format!("warden-injector{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let candidates = [dir.join(&name), dir.join("..").join(&name)];
    candidates.iter().find(|p| p.exists()).cloned().unwrap_or_else(|| {
        panic!("warden-injector binary not found (looked at {candidates:?}); run `cargo build -p warden-injector`")
    })
}

fn run(args: &[&str]) -> Vec<u8> {
    let injector = binary();
    let out = Command::new(&injector)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", injector.display()));
    assert!(
        out.status.success(),
        "warden-injector {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The value the patch in `review_answer` gives `annotation` (added one by one, or as a new map).
fn annotation_in_patch(review_answer: &Value, annotation: &str) -> Option<String> {
    let patch = review_answer.pointer("/response/patch")?.as_str()?;
    let ops: Vec<Value> =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(patch).ok()?).ok()?;
    // JSON Pointer (RFC 6901) spells `~` and `/` inside a key as `~0` and `~1`.
    let key = annotation.replace('~', "~0").replace('/', "~1");
    let one = format!("/metadata/annotations/{key}");
    ops.iter().filter(|op| op.get("op").and_then(Value::as_str) == Some("add")).find_map(|op| {
        let value = match op.get("path").and_then(Value::as_str)? {
            p if p == one => op.get("value"),
            "/metadata/annotations" => op.get("value")?.get(annotation),
            _ => None,
        };
        value?.as_str().map(str::to_string)
    })
}

/// The bootstrap and sidecar configuration the injector renders from the shipped ConfigMap.
pub fn render() -> Shipped {
    let root = stack::repo_root();
    let configmap = read_yaml(&root.join(CONFIGMAP));
    let config = configmap
        .pointer("/data/config.yaml")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{CONFIGMAP}: no data.config.yaml"));
    let (dir, _) = stack::new_dir();
    let config_path = dir.join("config.yaml");
    let bootstrap_path = dir.join("envoy-bootstrap.yaml");
    std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
    let config_arg = config_path.display().to_string();

    run(&["render-bootstrap", "--config", &config_arg, "--out", &bootstrap_path.display().to_string()]);
    let envoy = read_yaml(&bootstrap_path);

    let review = root.join(LABELLED_POD_REVIEW).display().to_string();
    let answer: Value = serde_json::from_slice(&run(&["review", "--config", &config_arg, &review]))
        .unwrap_or_else(|e| panic!("warden-injector review: not JSON: {e}"));
    let sidecar = annotation_in_patch(&answer, SIDECAR_CONFIG_ANNOTATION)
        .unwrap_or_else(|| panic!("the patch for {LABELLED_POD_REVIEW} adds no {SIDECAR_CONFIG_ANNOTATION}: {answer}"));
    let sidecar: Value = serde_yaml_ng::from_str(&sidecar)
        .unwrap_or_else(|e| panic!("{SIDECAR_CONFIG_ANNOTATION} is not YAML: {e}\n{sidecar}"));
    let _ = std::fs::remove_dir_all(&dir);

    Shipped { label: format!("{CONFIGMAP} rendered by warden-injector"), envoy, sidecar: Some(sidecar) }
}
