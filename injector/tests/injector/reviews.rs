use crate::{config, fixture};
use base64::Engine as _;
use serde_json::{json, Value};
use warden_injector::inject::Scope;
use warden_injector::review;

struct Answer {
    response: Value,
    /// The request's pod with the answer's patch applied (the original when there is none).
    pod: Value,
    ops: Vec<Value>,
}

fn answer_to(review_json: &Value, scope: Scope) -> Answer {
    let body = serde_json::to_vec(review_json).unwrap();
    let answer = review::answer(&config(), &body, scope).expect("a well-formed review gets an answer");
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    let response = answer["response"].clone();
    assert_eq!(response["uid"], review_json["request"]["uid"], "the uid is echoed");
    let mut pod = review_json["request"]["object"].clone();
    let mut ops = Vec::new();
    if let Some(encoded) = response.get("patch") {
        assert_eq!(response["patchType"], "JSONPatch");
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().expect("base64 string")).unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
        json_patch::patch(&mut pod, &patch).expect("the patch applies to the pod it was made for");
        ops = serde_json::from_slice(&bytes).unwrap();
    }
    Answer { response, pod, ops }
}

fn answer(name: &str) -> Answer {
    answer_to(&fixture(name), Scope::Pod)
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().map(|l| l.iter().map(|c| c["name"].as_str().unwrap()).collect()).unwrap_or_default()
}

fn env_of<'a>(container: &'a Value, var: &str) -> Option<&'a str> {
    container["env"].as_array()?.iter().find(|e| e["name"] == var)?["value"].as_str()
}

fn container<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod["spec"][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {list} {name}"))
}

#[test]
fn a_labelled_pod_gets_both_native_sidecars_and_its_sdks_pointed_at_envoy() {
    let a = answer("labelled.json");
    assert_eq!(a.response["allowed"], true);
    assert_eq!(names(&a.pod["spec"]["initContainers"]), ["warden-sidecar", "warden-envoy"]);
    for name in ["warden-sidecar", "warden-envoy"] {
        assert_eq!(container(&a.pod, "initContainers", name)["restartPolicy"], "Always", "{name} is a native sidecar");
    }
    let app = container(&a.pod, "containers", "agent");
    assert_eq!(env_of(app, "OPENAI_BASE_URL"), Some("http://127.0.0.1:15100/v1/openai"));
    assert_eq!(env_of(app, "ANTHROPIC_BASE_URL"), Some("http://127.0.0.1:15100/v1/anthropic"));
    assert_eq!(env_of(app, "GOOGLE_GEMINI_BASE_URL"), Some("http://127.0.0.1:15100/v1/gemini"));
    assert_eq!(env_of(app, "CO_API_URL"), Some("http://127.0.0.1:15100/v1/cohere"));
    assert_eq!(env_of(app, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"), Some("http://127.0.0.1:15100/v1/bedrock"));
    assert_eq!(a.pod["metadata"]["annotations"]["warden.io/status"], "injected");
    // The original volume stays, the sidecar's configuration volume is added after it.
    assert_eq!(names(&a.pod["spec"]["volumes"]), ["kube-api-access-7xk2p", "warden-sidecar-config"]);
}

#[test]
fn the_envoy_container_runs_the_rendered_bootstrap_with_probes_on_the_health_port() {
    let a = answer("labelled.json");
    let envoy = container(&a.pod, "initContainers", "warden-envoy");
    assert_eq!(envoy["image"], "registry.example/warden-envoy:0.1.0");
    assert_eq!(envoy["command"], json!(["envoy"]));
    let args = envoy["args"].as_array().unwrap();
    assert_eq!(args[0], "--config-yaml");
    let bootstrap: Value = serde_json::from_str(args[1].as_str().unwrap()).expect("the bootstrap is JSON");
    assert_eq!(bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]["address"], "127.0.0.1");
    for probe in ["startupProbe", "readinessProbe"] {
        assert_eq!(envoy[probe]["httpGet"]["path"], "/ready", "{probe}");
        assert_eq!(envoy[probe]["httpGet"]["port"], 15102, "{probe}");
    }
    assert_eq!(envoy["livenessProbe"]["tcpSocket"]["port"], 15102);
    assert_eq!(envoy["ports"][0]["containerPort"], 15102);
    assert_eq!(envoy["resources"]["requests"]["memory"], "128Mi");
    assert_eq!(envoy["resources"]["limits"]["memory"], "512Mi");
    let security = &envoy["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 65532);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
}

#[test]
fn the_sidecar_reads_its_config_from_the_annotation_through_a_downward_api_volume() {
    let a = answer("labelled.json");
    let sidecar = container(&a.pod, "initContainers", "warden-sidecar");
    assert_eq!(sidecar["args"], json!(["serve", "--config", "/etc/warden-sidecar/sidecar.yaml"]));
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(sidecar[probe]["httpGet"]["path"], "/healthz", "{probe}");
        assert_eq!(sidecar[probe]["httpGet"]["port"], 15104, "{probe}");
    }
    assert_eq!(sidecar["volumeMounts"][0]["mountPath"], "/etc/warden-sidecar");
    let volume =
        a.pod["spec"]["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "warden-sidecar-config").unwrap();
    assert_eq!(
        volume["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"],
        "metadata.annotations['warden.io/sidecar-config']"
    );
    let yaml = a.pod["metadata"]["annotations"]["warden.io/sidecar-config"].as_str().unwrap();
    let sidecar_config: Value = serde_yaml_ng::from_str(yaml).unwrap();
    assert_eq!(sidecar_config["listen"], "127.0.0.1:15103");
    assert_eq!(sidecar_config["admin_listen"], "0.0.0.0:15104");
    assert_eq!(sidecar_config["credentials"]["aws"]["region"], "us-east-1");
}

#[test]
fn a_pod_without_the_label_is_not_patched() {
    let a = answer("unlabelled.json");
    assert_eq!(a.response["allowed"], true);
    assert!(a.response.get("patch").is_none(), "{:?}", a.response);
}

#[test]
fn in_an_enabled_namespace_every_pod_is_injected_unless_it_opts_out() {
    let unlabelled = answer_to(&fixture("unlabelled.json"), Scope::Namespace);
    assert_eq!(names(&unlabelled.pod["spec"]["initContainers"]), ["warden-sidecar", "warden-envoy"]);
    let opted_out = answer_to(&fixture("opted-out.json"), Scope::Namespace);
    assert!(opted_out.response.get("patch").is_none());
    assert_eq!(opted_out.response["allowed"], true);
}

#[test]
fn existing_init_containers_and_sidecars_run_after_wardens_in_their_order() {
    let a = answer("sidecars-and-init.json");
    assert_eq!(
        names(&a.pod["spec"]["initContainers"]),
        ["warden-sidecar", "warden-envoy", "fetch-prompts", "mesh-proxy"]
    );
    assert_eq!(names(&a.pod["spec"]["containers"]), ["agent", "log-shipper"]);
    // The init container that fetches prompts may call a model too: it is pointed at Envoy,
    // keeping its own variables; the annotation's profile is in every URL.
    let fetch = container(&a.pod, "initContainers", "fetch-prompts");
    assert_eq!(env_of(fetch, "ANTHROPIC_BASE_URL"), Some("http://127.0.0.1:15100/v1/anthropic/team-a"));
    assert_eq!(fetch["env"][0]["name"], "ANTHROPIC_API_KEY", "existing variables stay first");
    assert_eq!(container(&a.pod, "initContainers", "mesh-proxy")["restartPolicy"], "Always");
    let agent = container(&a.pod, "containers", "agent");
    assert_eq!(env_of(agent, "LOG_LEVEL"), Some("info"));
    assert_eq!(env_of(agent, "OPENAI_BASE_URL"), Some("http://127.0.0.1:15100/v1/openai/team-a"));
    // Existing annotations stay; Warden's are added next to them.
    assert_eq!(a.pod["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"], "2026-12-06T17:59:00Z");
    assert_eq!(a.pod["metadata"]["annotations"]["warden.io/status"], "injected");
}

#[test]
fn a_base_url_the_container_already_sets_is_kept_and_recorded() {
    let a = answer("base-url-set.json");
    let agent = container(&a.pod, "containers", "agent");
    assert_eq!(env_of(agent, "OPENAI_BASE_URL"), Some("https://llm-proxy.internal/v1"));
    assert_eq!(agent["env"].as_array().unwrap().iter().filter(|e| e["name"] == "OPENAI_BASE_URL").count(), 1);
    assert_eq!(env_of(agent, "ANTHROPIC_BASE_URL"), Some("http://127.0.0.1:15100/v1/anthropic"));
    assert_eq!(a.pod["metadata"]["annotations"]["warden.io/kept-env"], "agent/OPENAI_BASE_URL");
    // The pod had an empty annotation map: entries are added to it, not a new map over it.
    assert!(a.ops.iter().any(|op| op["path"] == "/metadata/annotations/warden.io~1kept-env"), "{:?}", a.ops);
}

#[test]
fn an_injected_pod_is_not_patched_again() {
    for name in ["labelled.json", "sidecars-and-init.json", "base-url-set.json"] {
        let mut review_json = fixture(name);
        review_json["request"]["object"] = answer(name).pod;
        let again = answer_to(&review_json, Scope::Pod);
        assert!(again.response.get("patch").is_none(), "{name}: {:?}", again.ops);
        assert_eq!(again.response["allowed"], true);
    }
}

#[test]
fn a_container_added_after_injection_gets_the_base_urls_on_reinvocation() {
    let mut review_json = fixture("labelled.json");
    let mut pod = answer("labelled.json").pod;
    pod["spec"]["containers"].as_array_mut().unwrap().push(json!({"name": "late", "image": "example/late:1"}));
    review_json["request"]["object"] = pod;
    let again = answer_to(&review_json, Scope::Pod);
    assert_eq!(again.ops.len(), 1, "only the new container's env: {:?}", again.ops);
    assert_eq!(again.ops[0]["path"], "/spec/containers/1/env");
    assert_eq!(
        env_of(container(&again.pod, "containers", "late"), "CO_API_URL"),
        Some("http://127.0.0.1:15100/v1/cohere")
    );
    assert_eq!(names(&again.pod["spec"]["initContainers"]), ["warden-sidecar", "warden-envoy"]);
}

#[test]
fn a_host_network_pod_is_left_alone_with_a_warning() {
    let mut review_json = fixture("labelled.json");
    review_json["request"]["object"]["spec"]["hostNetwork"] = json!(true);
    let a = answer_to(&review_json, Scope::Pod);
    assert!(a.response.get("patch").is_none());
    assert_eq!(a.response["allowed"], true);
    assert!(a.response["warnings"][0].as_str().unwrap().contains("hostNetwork"));
}

#[test]
fn an_invalid_warden_annotation_refuses_the_pod() {
    let mut review_json = fixture("labelled.json");
    review_json["request"]["object"]["metadata"]["annotations"] = json!({"warden.io/profile": "../admin"});
    let a = answer_to(&review_json, Scope::Pod);
    assert_eq!(a.response["allowed"], false);
    let message = a.response["status"]["message"].as_str().unwrap();
    assert!(message.contains("warden.io/profile"), "{message}");
}

#[test]
fn secrets_named_by_annotation_reach_the_sidecar_only() {
    let mut review_json = fixture("labelled.json");
    review_json["request"]["object"]["metadata"]["annotations"] =
        json!({"warden.io/sidecar-env-secret": "dual-llm-key", "warden.io/keys-secret": "warden-keys"});
    let a = answer_to(&review_json, Scope::Pod);
    let sidecar = container(&a.pod, "initContainers", "warden-sidecar");
    assert_eq!(sidecar["envFrom"][0]["secretRef"]["name"], "dual-llm-key");
    assert_eq!(sidecar["volumeMounts"][1]["mountPath"], "/etc/warden/keys");
    let keys = a.pod["spec"]["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "warden-keys").unwrap();
    assert_eq!(keys["secret"]["secretName"], "warden-keys");
    let agent = container(&a.pod, "containers", "agent");
    assert!(agent.get("envFrom").is_none());
}

#[test]
fn a_body_that_is_no_admission_review_is_an_error() {
    assert!(review::answer(&config(), b"{\"kind\":\"AdmissionReview\"}", Scope::Pod).is_err());
    assert!(review::answer(&config(), b"not json", Scope::Pod).is_err());
}

#[test]
fn fields_newer_than_the_injectors_kubernetes_types_are_read_past_and_kept() {
    let mut review_json = fixture("labelled.json");
    review_json["request"]["object"]["spec"]["containers"][0]["someFutureField"] = json!({"mode": "x"});
    review_json["request"]["object"]["spec"]["someFuturePodField"] = json!(true);
    let a = answer_to(&review_json, Scope::Pod);
    assert_eq!(a.response["allowed"], true);
    assert_eq!(container(&a.pod, "containers", "agent")["someFutureField"], json!({"mode": "x"}));
    assert_eq!(a.pod["spec"]["someFuturePodField"], true);
    assert!(a.ops.iter().all(|op| op["op"] == "add"), "only additions: {:?}", a.ops);
}
