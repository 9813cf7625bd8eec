use super::*;
use crate::store::{MemoryStore, Versioned};
use std::cell::Cell;

/// A store whose every call fails, as a host that refuses shared data.
struct Broken;

impl SharedStore for Broken {
    fn get(&self, _: &str) -> Result<Option<Versioned>, StoreError> {
        Err(StoreError::Host { status: "InternalFailure".into() })
    }
    fn set(&self, _: &str, _: &[u8], _: Option<u32>) -> Result<(), StoreError> {
        Err(StoreError::Host { status: "InternalFailure".into() })
    }
}

/// Counts host calls, to show what the per-VM memory saves.
struct Counting<'a> {
    inner: &'a MemoryStore,
    calls: Cell<usize>,
}

impl SharedStore for Counting<'_> {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.calls.set(self.calls.get() + 1);
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
        self.calls.set(self.calls.get() + 1);
        self.inner.set(key, value, cas)
    }
}

#[test]
fn the_first_agents_keep_their_label_and_later_ones_fold_into_other() {
    let store = MemoryStore::new();
    let mut vm = AgentLabels::default();
    assert_eq!(vm.label("alpha", 2, &store), "alpha");
    assert_eq!(vm.label("beta", 2, &store), "beta");
    assert_eq!(vm.label("gamma", 2, &store), OTHER);
    assert_eq!(vm.label("alpha", 2, &store), "alpha", "admission is not revoked");
    assert_eq!(store.len(), 1, "one shared key holds the whole list");
}

#[test]
fn every_worker_of_an_envoy_shares_the_bound() {
    let store = MemoryStore::new();
    let (mut one, mut two) = (AgentLabels::default(), AgentLabels::default());
    assert_eq!(one.label("alpha", 2, &store), "alpha");
    assert_eq!(two.label("beta", 2, &store), "beta");
    assert_eq!(one.label("gamma", 2, &store), OTHER, "worker one sees worker two's admission");
    assert_eq!(two.label("alpha", 2, &store), "alpha");
}

#[test]
fn a_known_agent_costs_no_host_call_and_a_full_list_stops_the_lookups() {
    let memory = MemoryStore::new();
    let store = Counting { inner: &memory, calls: Cell::new(0) };
    let mut vm = AgentLabels::default();
    vm.label("alpha", 1, &store);
    let after_admission = store.calls.get();
    assert_eq!(vm.label("alpha", 1, &store), "alpha");
    assert_eq!(vm.label("beta", 1, &store), OTHER);
    assert_eq!(vm.label("gamma", 1, &store), OTHER);
    assert_eq!(store.calls.get(), after_admission);
}

#[test]
fn agent_ids_are_sanitised_and_cut_so_they_cannot_break_the_name_encoding() {
    assert_eq!(agent_label("bot;.;model=.=x"), "bot_._model_._x");
    assert_eq!(agent_label("team/bot@v1.2"), "team/bot@v1.2");
    assert_eq!(agent_label("ünïcode bot"), "_n_code_bot");
    assert_eq!(agent_label(&"a".repeat(500)).len(), MAX_AGENT_LABEL_LEN);
    let store = MemoryStore::new();
    let mut vm = AgentLabels::default();
    let long = format!("{}-tail-one", "x".repeat(MAX_AGENT_LABEL_LEN));
    let other_long = format!("{}-tail-two", "x".repeat(MAX_AGENT_LABEL_LEN));
    vm.label(&long, 2, &store);
    assert_eq!(vm.label(&other_long, 2, &store), "x".repeat(MAX_AGENT_LABEL_LEN), "same label, same slot");
    assert_eq!(vm.label("second", 2, &store), "second");
}

#[test]
fn a_bound_of_zero_labels_every_agent_other() {
    let store = MemoryStore::new();
    assert_eq!(AgentLabels::default().label("alpha", 0, &store), OTHER);
    assert!(store.is_empty());
}

#[test]
fn an_unreadable_store_folds_new_agents_into_other() {
    assert_eq!(AgentLabels::default().label("alpha", 10, &Broken), OTHER);
}

#[test]
fn an_execution_counts_once_across_workers() {
    let store = MemoryStore::new();
    let (mut one, mut two) = (Executions::default(), Executions::default());
    assert!(one.first_sighting("exec-1", &store));
    assert!(!one.first_sighting("exec-1", &store));
    assert!(!two.first_sighting("exec-1", &store), "worker two reads worker one's sighting");
    assert!(two.first_sighting("exec-2", &store));
}

#[test]
fn execution_memory_is_a_fixed_set_of_small_keys() {
    let store = MemoryStore::new();
    let mut vm = Executions::default();
    for i in 0..5000 {
        assert!(vm.first_sighting(&format!("exec-{i}"), &store));
    }
    assert!(store.len() <= EXECUTION_SHARDS as usize);
    for key in store.keys() {
        let len = store.get(&key).ok().flatten().map_or(0, |(v, _)| v.len());
        assert!(len <= EXECUTIONS_PER_SHARD * 8, "{key}: {len} bytes");
    }
    assert!(vm.recent.len() <= EXECUTIONS_PER_VM);
}

#[test]
fn an_execution_forgotten_past_the_window_counts_again() {
    let store = MemoryStore::new();
    let mut vm = Executions::default();
    assert!(vm.first_sighting("old", &store));
    for i in 0..(EXECUTION_SHARDS as usize * EXECUTIONS_PER_SHARD * 4) {
        vm.first_sighting(&format!("exec-{i}"), &store);
    }
    assert!(Executions::default().first_sighting("old", &store));
}

#[test]
fn without_shared_data_the_vm_memory_still_counts_an_execution_once() {
    let mut vm = Executions::default();
    assert!(vm.first_sighting("exec-1", &Broken));
    assert!(!vm.first_sighting("exec-1", &Broken));
}

/// Envoy lets a write without a CAS token overwrite a key another worker created at the same
/// moment: the loser's entry must be written again, not assumed stored.
#[test]
fn a_lost_creation_race_is_noticed_and_written_again() {
    struct Racing<'a> {
        inner: &'a MemoryStore,
        raced: Cell<bool>,
    }
    impl SharedStore for Racing<'_> {
        fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
            self.inner.set(key, value, cas)?;
            if cas.is_none() && !self.raced.replace(true) {
                // Another worker creates the key right after us, without our entry.
                self.inner.set(key, b"rival", None)?;
            }
            Ok(())
        }
    }
    let memory = MemoryStore::new();
    let store = Racing { inner: &memory, raced: Cell::new(false) };
    assert_eq!(AgentLabels::default().label("alpha", 5, &store), "alpha");
    let listed = memory.get(AGENTS_KEY).ok().flatten().map(|(v, _)| String::from_utf8_lossy(&v).into_owned());
    assert_eq!(listed.as_deref(), Some("rival\nalpha"));
}
