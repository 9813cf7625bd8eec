//! The serving certificate is re-read when cert-manager renews it.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};
use warden_injector::server::ReloadingCert;

/// Writes a fresh self-signed certificate and key; returns the certificate's DER.
fn write_pair(cert: &Path, key: &Path, stamp: SystemTime) -> Vec<u8> {
    let made = rcgen::generate_simple_self_signed(vec!["warden-injector.warden-system.svc".to_owned()]).unwrap();
    std::fs::write(cert, made.cert.pem()).unwrap();
    std::fs::write(key, made.signing_key.serialize_pem()).unwrap();
    // Set the times explicitly: two writes within one timestamp tick would look unchanged.
    for path in [cert, key] {
        File::options().write(true).open(path).unwrap().set_modified(stamp).unwrap();
    }
    made.cert.der().to_vec()
}

fn served(resolver: &ReloadingCert) -> Vec<u8> {
    resolver.current().unwrap().cert[0].to_vec()
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let first = write_pair(&cert, &key, t0);
    let resolver = ReloadingCert::checking_every(&cert, &key, Duration::ZERO).unwrap();
    assert_eq!(served(&resolver), first);
    let second = write_pair(&cert, &key, t0 + Duration::from_secs(60));
    assert_ne!(first, second);
    assert_eq!(served(&resolver), second);
}

#[test]
fn an_unreadable_renewal_keeps_the_previous_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let first = write_pair(&cert, &key, t0);
    let resolver = ReloadingCert::checking_every(&cert, &key, Duration::ZERO).unwrap();
    std::fs::write(&key, "not a key").unwrap();
    File::options().write(true).open(&key).unwrap().set_modified(t0 + Duration::from_secs(60)).unwrap();
    assert_eq!(served(&resolver), first);
}

#[test]
fn a_key_that_cannot_be_read_is_refused_at_start_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    write_pair(&cert, &key, SystemTime::now());
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n").unwrap();
    let err = ReloadingCert::new(&cert, &key).unwrap_err().to_string();
    assert!(!err.contains("c2VjcmV0"), "{err}");
    assert!(err.contains("tls.key"), "{err}");
}
