//! Renders the injected Envoy's bootstrap from the template shipped in
//! `examples/kubernetes/injection/envoy-bootstrap.template.yaml`.

use crate::config::Config;
use std::fmt::Write as _;

/// The template, compiled in: the injector renders it for every pod it patches.
pub const TEMPLATE: &str = include_str!("../../examples/kubernetes/injection/envoy-bootstrap.template.yaml");

/// Where the filter module is in the `warden-envoy` image.
pub const WASM_IN_IMAGE: &str = "/etc/warden/warden.wasm";

/// Paths that differ between a pod and a test machine running the same bootstrap.
#[derive(Debug, Clone)]
pub struct Paths {
    pub wasm: String,
    pub access_log: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths { wasm: WASM_IN_IMAGE.to_owned(), access_log: "/dev/stdout".to_owned() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the bootstrap template is malformed: {0}")]
    Template(String),
    #[error("the rendered bootstrap is not valid YAML: {0}")]
    Yaml(String),
}

/// A value in a YAML double-quoted string: JSON string escapes are a subset of YAML's.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Splits the template's `# BEGIN NAME` … `# END NAME` block out of `lines`.
fn take_block<'a>(lines: &mut std::slice::Iter<'a, &'a str>, name: &str) -> Result<Vec<&'a str>, RenderError> {
    let end = format!("# END {name}");
    let mut block = Vec::new();
    for line in lines.by_ref() {
        if line.trim() == end {
            return Ok(block);
        }
        block.push(*line);
    }
    Err(RenderError::Template(format!("`# BEGIN {name}` without `{end}`")))
}

/// The rendered bootstrap as YAML text.
pub fn render_yaml(config: &Config, paths: &Paths) -> Result<String, RenderError> {
    let plugin_config = config.envoy.plugin_config.to_string();
    let globals = [
        ("LISTEN_PORT", config.envoy.listen_port.to_string()),
        ("ADMIN_PORT", config.envoy.admin_port.to_string()),
        ("HEALTH_PORT", config.envoy.health_port.to_string()),
        ("BUFFER_LIMIT", config.max_body_bytes().saturating_add(1024 * 1024).to_string()),
        ("PLUGIN_CONFIG", quoted(&plugin_config)),
        ("WASM", quoted(&paths.wasm)),
        ("ACCESS_LOG", quoted(&paths.access_log)),
        ("SIDECAR_PORT", config.sidecar.grpc_port.to_string()),
    ];
    // One pass over the template line: values are never scanned for placeholders again.
    let substitute = |line: &str, extra: &[(&str, String)]| -> Result<String, RenderError> {
        // Comments (the template's own documentation names the placeholders) stay as they are.
        if line.trim_start().starts_with('#') {
            return Ok(line.to_owned());
        }
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let (before, after) = rest.split_at(start);
            out.push_str(before);
            let after = after.get(2..).unwrap_or_default();
            let (name, tail) = after
                .split_once("}}")
                .ok_or_else(|| RenderError::Template(format!("unclosed placeholder in `{}`", line.trim())))?;
            let value = globals
                .iter()
                .chain(extra)
                .find(|(known, _)| *known == name)
                .ok_or_else(|| RenderError::Template(format!("unknown placeholder {{{{{name}}}}}")))?;
            out.push_str(&value.1);
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    };

    let all: Vec<&str> = TEMPLATE.lines().collect();
    let mut lines = all.iter();
    let mut out = String::with_capacity(TEMPLATE.len() * 2);
    while let Some(line) = lines.next() {
        if line.trim() != "# BEGIN PROVIDER" {
            let _ = writeln!(out, "{}", substitute(line, &[])?);
            continue;
        }
        let block = take_block(&mut lines, "PROVIDER")?;
        for (name, upstream) in &config.providers {
            let extra =
                [("PROVIDER", name.clone()), ("HOST", upstream.host.clone()), ("PORT", upstream.port.to_string())];
            let mut inner = block.iter();
            while let Some(line) = inner.next() {
                if line.trim() == "# BEGIN TLS" {
                    let tls = take_block(&mut inner, "TLS")?;
                    if upstream.tls {
                        for line in tls {
                            let _ = writeln!(out, "{}", substitute(line, &extra)?);
                        }
                    }
                } else {
                    let _ = writeln!(out, "{}", substitute(line, &extra)?);
                }
            }
        }
    }
    // Parse once here so that a template or value that breaks YAML fails in the injector's tests
    // and at start-up rather than in Envoy inside someone's pod.
    serde_yaml_ng::from_str::<serde_json::Value>(&out).map_err(|e| RenderError::Yaml(e.to_string()))?;
    Ok(out)
}

/// The rendered bootstrap as compact JSON (valid YAML), for Envoy's `--config-yaml`.
pub fn render_json(config: &Config, paths: &Paths) -> Result<String, RenderError> {
    let yaml = render_yaml(config, paths)?;
    let value: serde_json::Value = serde_yaml_ng::from_str(&yaml).map_err(|e| RenderError::Yaml(e.to_string()))?;
    Ok(value.to_string())
}
