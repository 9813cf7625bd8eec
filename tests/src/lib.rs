//! End-to-end harness: real Envoy, the warden module, a mock provider.
