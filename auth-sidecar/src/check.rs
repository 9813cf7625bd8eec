//! `check-config`: validates a plugin configuration with the filter's own parser, so what passes
//! here is exactly what the filter accepts. JSON as Envoy carries it; a `.yaml`/`.yml` file is
//! read as YAML and checked as the same document in JSON.

use std::path::Path;

/// `Ok(())` when the filter would accept the file, else the message to print (the file, and the
/// filter's error with the path of the offending key).
pub fn check(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    let json = if yaml {
        let value: serde_json::Value =
            serde_yaml_ng::from_slice(&bytes).map_err(|e| format!("{shown}: not valid YAML: {e}"))?;
        serde_json::to_vec(&value).map_err(|e| format!("{shown}: {e}"))?
    } else {
        bytes
    };
    warden_filter::config::Config::from_json(&json).map(|_| ()).map_err(|e| format!("{shown}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_valid_configuration_passes() {
        let (_d, path) = file("p.json", r#"{"profiles": {"default": {}}}"#);
        assert_eq!(check(&path), Ok(()));
    }

    #[test]
    fn an_error_names_the_file_and_the_path_of_the_key() {
        let (_d, path) = file(
            "p.json",
            r#"{"profiles": {"ops": {"tool_policies": [{"tool": "x", "conditions": [{"key": "a", "operator": "near", "value": "b"}], "action": "block_always"}]}}}"#,
        );
        let err = check(&path).unwrap_err();
        assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
        assert!(err.contains("profiles.ops.tool_policies[0].conditions[0].operator"), "{err}");
    }

    #[test]
    fn yaml_is_checked_as_the_same_document() {
        let (_d, path) = file("p.yaml", "profiles:\n  default:\n    toon: {enabled: maybe}\n");
        let err = check(&path).unwrap_err();
        assert!(err.contains("profiles.default.toon.enabled"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = check(Path::new("/nonexistent/plugin.json")).unwrap_err();
        assert!(err.starts_with("/nonexistent/plugin.json: cannot read"), "{err}");
    }
}
