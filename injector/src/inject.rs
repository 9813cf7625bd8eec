//! The pod mutation: which pods get Warden, and the RFC 6902 patch that adds it.
//!
//! The patch is computed against the pod exactly as the API server sent it (raw JSON, so fields
//! this build's Kubernetes types do not know are never touched); the typed `Pod` is only read.

use crate::bootstrap::{self, Paths};
use crate::config::Config;
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, DownwardAPIVolumeFile, DownwardAPIVolumeSource, EnvFromSource, EnvVar,
    HTTPGetAction, ObjectFieldSelector, Pod, Probe, SeccompProfile, SecretEnvSource, SecretVolumeSource,
    SecurityContext, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

/// Pod or namespace label; on a pod, `"false"` opts out of a namespace-wide injection.
pub const INJECT_LABEL: &str = "warden.io/inject";
/// Pod annotation: the Warden profile the base URLs name (`/v1/openai/<profile>`).
pub const PROFILE_ANNOTATION: &str = "warden.io/profile";
/// Pod annotation: a Secret in the pod's namespace whose keys become the sidecar's environment
/// (e.g. the `dual_llm.api_key_env` key).
pub const SIDECAR_ENV_SECRET_ANNOTATION: &str = "warden.io/sidecar-env-secret";
/// Pod annotation: a Secret mounted read-only at [`KEYS_DIR`] in the sidecar (virtual keys file).
pub const KEYS_SECRET_ANNOTATION: &str = "warden.io/keys-secret";
/// Set by the injector: `injected`.
pub const STATUS_ANNOTATION: &str = "warden.io/status";
/// Set by the injector: the sidecar's YAML configuration, projected into its container as a file.
pub const SIDECAR_CONFIG_ANNOTATION: &str = "warden.io/sidecar-config";
/// Set by the injector: `container/VARIABLE` pairs it left alone because the container sets them.
pub const KEPT_ENV_ANNOTATION: &str = "warden.io/kept-env";

pub const ENVOY_CONTAINER: &str = "warden-envoy";
pub const SIDECAR_CONTAINER: &str = "warden-sidecar";
pub const SIDECAR_CONFIG_VOLUME: &str = "warden-sidecar-config";
pub const SIDECAR_CONFIG_DIR: &str = "/etc/warden-sidecar";
pub const KEYS_VOLUME: &str = "warden-keys";
pub const KEYS_DIR: &str = "/etc/warden/keys";

/// Which webhook of the `MutatingWebhookConfiguration` called: they differ in who selected the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The pod carries `warden.io/inject: "true"` (path `/inject`).
    Pod,
    /// The pod's namespace carries the label (path `/inject-namespace`): every pod of it is
    /// injected unless the pod opts out with `warden.io/inject: "false"`.
    Namespace,
}

/// What the injector decided for one pod.
#[derive(Debug, Default)]
pub struct Outcome {
    pub patch: Patch,
    /// Shown to whoever created the pod (`kubectl` prints them).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("the object is not a readable Pod: {0}")]
    NotAPod(String),
    #[error("annotation {annotation}: {message}")]
    Annotation { annotation: &'static str, message: String },
    #[error("{0}")]
    Bootstrap(#[from] bootstrap::RenderError),
}

fn pointer(tokens: &[&str]) -> PointerBuf {
    PointerBuf::from_tokens(tokens.iter().copied())
}

fn add(path: PointerBuf, value: Value) -> PatchOperation {
    PatchOperation::Add(AddOperation { path, value })
}

/// Adds `items` to the array at `path` of `doc`: the whole array when it is absent, else one
/// element at `index` (or appended with `-`) per item, in order.
fn add_to_array(ops: &mut Vec<PatchOperation>, doc: &Value, path: &[&str], at_front: bool, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    // A JSON pointer, not `Value::get`, which does not index arrays by a string.
    let present = doc.pointer(pointer(path).as_str()).is_some_and(|v| !v.is_null());
    if !present {
        ops.push(add(pointer(path), Value::Array(items)));
        return;
    }
    for (i, item) in items.into_iter().enumerate() {
        let index = if at_front { i.to_string() } else { "-".to_owned() };
        let mut full: Vec<&str> = path.to_vec();
        full.push(&index);
        ops.push(add(pointer(&full), item));
    }
}

/// A label or annotation value that is a DNS-1123 name (Secret names) or a profile name.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    // Kubernetes API structs serialise to JSON objects without fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn http_probe(path: &str, port: u16, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::Int(i32::from(port)),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(1),
        ..Probe::default()
    }
}

fn security_context(uid: i64) -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        privileged: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), ..Capabilities::default() }),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), ..SeccompProfile::default() }),
        ..SecurityContext::default()
    }
}

/// The Warden Envoy as a native sidecar (an init container that keeps running).
pub fn envoy_container(config: &Config) -> Result<Container, InjectError> {
    let bootstrap = bootstrap::render_json(config, &Paths::default())?;
    let port = config.envoy.health_port;
    Ok(Container {
        name: ENVOY_CONTAINER.to_owned(),
        image: Some(config.envoy.image.clone()),
        image_pull_policy: config.image_pull_policy.clone(),
        // The binary itself: the official image's entrypoint script would need a shell.
        command: Some(vec!["envoy".to_owned()]),
        args: Some(vec![
            "--config-yaml".to_owned(),
            bootstrap,
            "--concurrency".to_owned(),
            config.envoy.concurrency.to_string(),
            // No shared memory for a hot restart: the kubelet restarts the container instead.
            "--disable-hot-restart".to_owned(),
        ]),
        restart_policy: Some("Always".to_owned()),
        ports: Some(vec![ContainerPort {
            name: Some("warden-health".to_owned()),
            container_port: i32::from(port),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        // Loading the module and building its tokenizer tables takes a few seconds; the app's
        // containers start only once this has passed.
        startup_probe: Some(http_probe("/ready", port, 1, 60)),
        readiness_probe: Some(http_probe("/ready", port, 5, 3)),
        // Not /ready: a draining Envoy answers 503 there and must not be killed for it.
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction { port: IntOrString::Int(i32::from(port)), ..TCPSocketAction::default() }),
            period_seconds: Some(10),
            failure_threshold: Some(3),
            ..Probe::default()
        }),
        resources: Some(config.envoy.resources.clone()),
        security_context: Some(security_context(config.run_as_user)),
        ..Container::default()
    })
}

/// warden-sidecar as a native sidecar; its configuration comes from the pod annotation through a
/// downward-API volume, so nothing has to exist in the app's namespace beforehand.
pub fn sidecar_container(config: &Config, env_secret: Option<&str>, keys_secret: Option<&str>) -> Container {
    let port = config.sidecar.admin_port;
    let mut mounts = vec![VolumeMount {
        name: SIDECAR_CONFIG_VOLUME.to_owned(),
        mount_path: SIDECAR_CONFIG_DIR.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    }];
    if keys_secret.is_some() {
        mounts.push(VolumeMount {
            name: KEYS_VOLUME.to_owned(),
            mount_path: KEYS_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    Container {
        name: SIDECAR_CONTAINER.to_owned(),
        image: Some(config.sidecar.image.clone()),
        image_pull_policy: config.image_pull_policy.clone(),
        args: Some(vec!["serve".to_owned(), "--config".to_owned(), format!("{SIDECAR_CONFIG_DIR}/sidecar.yaml")]),
        restart_policy: Some("Always".to_owned()),
        env_from: env_secret.map(|name| {
            vec![EnvFromSource {
                secret_ref: Some(SecretEnvSource { name: name.to_owned(), optional: Some(false) }),
                ..EnvFromSource::default()
            }]
        }),
        ports: Some(vec![ContainerPort {
            name: Some("warden-admin".to_owned()),
            container_port: i32::from(port),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        startup_probe: Some(http_probe("/healthz", port, 1, 30)),
        readiness_probe: Some(http_probe("/healthz", port, 5, 3)),
        liveness_probe: Some(http_probe("/healthz", port, 10, 3)),
        resources: Some(config.sidecar.resources.clone()),
        security_context: Some(security_context(config.run_as_user)),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

fn volumes(keys_secret: Option<&str>) -> Vec<Volume> {
    let mut volumes = vec![Volume {
        name: SIDECAR_CONFIG_VOLUME.to_owned(),
        downward_api: Some(DownwardAPIVolumeSource {
            items: Some(vec![DownwardAPIVolumeFile {
                path: "sidecar.yaml".to_owned(),
                field_ref: Some(ObjectFieldSelector {
                    field_path: format!("metadata.annotations['{SIDECAR_CONFIG_ANNOTATION}']"),
                    ..ObjectFieldSelector::default()
                }),
                ..DownwardAPIVolumeFile::default()
            }]),
            ..DownwardAPIVolumeSource::default()
        }),
        ..Volume::default()
    }];
    if let Some(name) = keys_secret {
        volumes.push(Volume {
            name: KEYS_VOLUME.to_owned(),
            secret: Some(SecretVolumeSource { secret_name: Some(name.to_owned()), ..SecretVolumeSource::default() }),
            ..Volume::default()
        });
    }
    volumes
}

fn annotation<'a>(pod: &'a Pod, key: &'static str) -> Result<Option<&'a str>, InjectError> {
    let Some(value) = pod.metadata.annotations.as_ref().and_then(|a| a.get(key)) else {
        return Ok(None);
    };
    if !is_name(value) {
        return Err(InjectError::Annotation { annotation: key, message: format!("`{value}` is not a valid name") });
    }
    Ok(Some(value))
}

/// The base-URL variables for a pod: `(variable, value)`.
pub fn base_urls(config: &Config, profile: Option<&str>) -> Vec<(String, String)> {
    config
        .base_urls
        .iter()
        .map(|(var, provider)| {
            let mut url = format!("http://127.0.0.1:{}/v1/{provider}", config.envoy.listen_port);
            if let Some(profile) = profile {
                url.push('/');
                url.push_str(profile);
            }
            (var.clone(), url)
        })
        .collect()
}

/// Decides for one pod (the `object` of the AdmissionReview, as sent) and builds the patch.
pub fn inject(config: &Config, raw_pod: &Value, scope: Scope) -> Result<Outcome, InjectError> {
    let pod: Pod = serde_json::from_value(raw_pod.clone()).map_err(|e| InjectError::NotAPod(e.to_string()))?;
    let label = pod.metadata.labels.as_ref().and_then(|l| l.get(INJECT_LABEL)).map(String::as_str);
    let wanted = match scope {
        Scope::Pod => label == Some("true"),
        Scope::Namespace => label != Some("false"),
    };
    let mut outcome = Outcome::default();
    if !wanted {
        return Ok(outcome);
    }
    let Some(spec) = pod.spec.as_ref() else {
        return Err(InjectError::NotAPod("the pod has no spec".to_owned()));
    };
    if spec.host_network == Some(true) {
        // 127.0.0.1 would be the node's: the listener and ports would collide across pods.
        outcome.warnings.push("warden: not injected into a hostNetwork pod".to_owned());
        return Ok(outcome);
    }
    let profile = annotation(&pod, PROFILE_ANNOTATION)?;
    let env_secret = annotation(&pod, SIDECAR_ENV_SECRET_ANNOTATION)?;
    let keys_secret = annotation(&pod, KEYS_SECRET_ANNOTATION)?;

    let init = spec.init_containers.as_deref().unwrap_or_default();
    let ours = |c: &Container| c.name == ENVOY_CONTAINER || c.name == SIDECAR_CONTAINER;
    let already = init.iter().chain(&spec.containers).any(ours);
    let ops = &mut outcome.patch.0;

    // Base URLs for every container of the app, its init containers included; a variable the
    // container sets itself is kept (and recorded). These operations come before the sidecars are
    // put in front of the init containers, so they address the indices of the pod as sent.
    let urls = base_urls(config, profile);
    let mut kept = Vec::new();
    let lists = [("initContainers", init), ("containers", spec.containers.as_slice())];
    for (list, containers) in lists {
        for (index, container) in containers.iter().enumerate() {
            if ours(container) {
                continue;
            }
            let env = container.env.as_deref().unwrap_or_default();
            let mut missing = Vec::new();
            for (var, url) in &urls {
                if env.iter().any(|e| &e.name == var) {
                    if !already {
                        kept.push(format!("{}/{var}", container.name));
                    }
                    continue;
                }
                missing.push(to_value(&EnvVar { name: var.clone(), value: Some(url.clone()), ..EnvVar::default() }));
            }
            let index = index.to_string();
            add_to_array(ops, raw_pod, &["spec", list, &index, "env"], false, missing);
        }
    }
    // The native sidecars go first: init containers run in order and each waits for the previous
    // sidecar's startup probe, so Envoy (after the sidecar it calls) is ready before any of the
    // app's init containers or containers, which may call a model, start.
    if !already {
        let sidecar = to_value(&sidecar_container(config, env_secret, keys_secret));
        let envoy = to_value(&envoy_container(config)?);
        add_to_array(ops, raw_pod, &["spec", "initContainers"], true, vec![sidecar, envoy]);
        let existing_volumes = spec.volumes.as_deref().unwrap_or_default();
        let new_volumes: Vec<Value> = volumes(keys_secret)
            .into_iter()
            .filter(|v| !existing_volumes.iter().any(|e| e.name == v.name))
            .map(|v| to_value(&v))
            .collect();
        add_to_array(ops, raw_pod, &["spec", "volumes"], false, new_volumes);
    }

    if !already {
        let mut annotations =
            vec![(STATUS_ANNOTATION, "injected".to_owned()), (SIDECAR_CONFIG_ANNOTATION, config.sidecar_config_yaml())];
        if !kept.is_empty() {
            annotations.push((KEPT_ENV_ANNOTATION, kept.join(",")));
        }
        if raw_pod.get("metadata").and_then(|m| m.get("annotations")).is_some_and(Value::is_object) {
            for (key, value) in annotations {
                ops.push(add(pointer(&["metadata", "annotations", key]), Value::String(value)));
            }
        } else {
            let map: serde_json::Map<String, Value> =
                annotations.into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect();
            ops.push(add(pointer(&["metadata", "annotations"]), Value::Object(map)));
        }
    }
    Ok(outcome)
}
