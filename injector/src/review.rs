//! One `admission.k8s.io/v1` AdmissionReview in, one out.

use crate::config::Config;
use crate::inject::{self, Scope};
use base64::Engine as _;
use kube_core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use kube_core::DynamicObject;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The body is no AdmissionReview with a request: the API server gets a 400.
    #[error("not an AdmissionReview request: {0}")]
    Malformed(String),
    #[error("cannot encode the review: {0}")]
    Encode(String),
}

/// The review as JSON for the API server. `patch` is a Go `[]byte`, which the API's JSON form
/// carries base64-encoded; kube-core serialises it as an array of numbers, so it is re-encoded
/// here into the documented form.
pub fn encode(review: &AdmissionReview<DynamicObject>) -> Result<Value, ReviewError> {
    let mut json = serde_json::to_value(review).map_err(|e| ReviewError::Encode(e.to_string()))?;
    let patch = review.response.as_ref().and_then(|r| r.patch.as_ref());
    if let (Some(patch), Some(slot)) = (patch, json.pointer_mut("/response/patch")) {
        *slot = Value::String(base64::engine::general_purpose::STANDARD.encode(patch));
    }
    Ok(json)
}

/// [`review`] and [`encode`]: the JSON body to answer `body` with.
pub fn answer(config: &Config, body: &[u8], scope: Scope) -> Result<Value, ReviewError> {
    encode(&review(config, body, scope)?)
}

/// The review to answer `body` with. Pods that cannot be injected as asked (an unreadable pod, an
/// invalid Warden annotation) are refused — a labelled pod never starts without Warden silently.
pub fn review(config: &Config, body: &[u8], scope: Scope) -> Result<AdmissionReview<DynamicObject>, ReviewError> {
    let typed: AdmissionReview<DynamicObject> =
        serde_json::from_slice(body).map_err(|e| ReviewError::Malformed(e.to_string()))?;
    let request: AdmissionRequest<DynamicObject> =
        typed.try_into().map_err(|_| ReviewError::Malformed("the review carries no request".to_owned()))?;
    let response = AdmissionResponse::from(&request);
    // The pod exactly as sent (DynamicObject would rewrite its metadata), to patch against.
    let raw: Value = serde_json::from_slice(body).map_err(|e| ReviewError::Malformed(e.to_string()))?;
    let pod = raw.get("request").and_then(|r| r.get("object"));
    let is_pod_create = request.kind.group.is_empty() && request.kind.kind == "Pod" && request.sub_resource.is_none();
    let Some(pod) = pod.filter(|_| is_pod_create) else {
        // The webhook is registered for pod CREATE only; anything else passes untouched.
        return Ok(response.into_review());
    };
    let response = match inject::inject(config, pod, scope) {
        Ok(outcome) => {
            let mut response = if outcome.patch.0.is_empty() {
                response
            } else {
                match response.clone().with_patch(outcome.patch) {
                    Ok(patched) => patched,
                    Err(e) => response.deny(format!("warden-injector could not encode its patch: {e}")),
                }
            };
            if !outcome.warnings.is_empty() {
                response.warnings = Some(outcome.warnings);
            }
            response
        }
        Err(e) => response.deny(format!("warden-injector: {e}")),
    };
    Ok(response.into_review())
}
