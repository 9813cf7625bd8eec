//! Cost limits (DESIGN §5.4): counters of micro-USD per profile, scope id, window and model filter,
//! kept in a `CounterStore` that every worker of an Envoy shares, checked before the upstream call
//! and added to after the response.
//!
//! Counters live in ring slots, not one key per bucket: proxy-wasm shared data can never delete a
//! key (Envoy keeps it with an empty value), so a key per 5-minute bucket would grow the host's
//! memory for ever. A slot key holds `bucket start secs ‖ micro-USD`, both u64 little-endian; a
//! slot whose stored start is not the bucket asked for is stale and reads as zero. Keys:
//! `warden:limit:<profile>:<scope>:<scope id>:<window>:<models tag>:<slot>`.
//!
//! Windows are UTC. Calendar windows have one slot and start afresh each day / week (Monday) /
//! month. Sliding windows sum their buckets: `1h` 12 × 5 min, `1d` 24 × 1 h, `1w` 7 × 1 day; a
//! bucket counts while its start is less than one window length ago.

use crate::config::limits::{Limit, Scope, Window};
pub use crate::store::{MemoryStore, SharedStore as CounterStore, StoreError, Versioned};
use std::collections::HashMap;

/// Why `check` did not let a request through.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckError {
    /// A limit was reached (HTTP 402).
    Exceeded(LimitExceeded),
    /// A counter could not be read, so the limit cannot be checked; `sidecar.on_failure` decides.
    Unavailable(StoreError),
}

/// A limit was reached. Converts into `WardenError::UsageLimitExceeded` (HTTP 402).
#[derive(Debug, Clone, PartialEq)]
pub struct LimitExceeded {
    pub scope: Scope,
    /// The profile / user / agent / session id, `-` for callers without one.
    pub scope_id: String,
    pub limit_usd: f64,
    pub used_usd: f64,
    pub window: Window,
    /// When usage falls back below the limit if nothing more is spent (Unix seconds).
    pub resets_at_secs: u64,
    /// The limit's model filter; empty when it covers every model.
    pub models: Vec<String>,
}

/// The caller's ids for the `user`, `agent` and `session` scopes (the profile scope uses the
/// profile id). A missing or empty id counts under `-`: anonymous callers share one counter
/// rather than escaping the limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeIds<'a> {
    pub user: Option<&'a str>,
    pub agent: Option<&'a str>,
    pub session: Option<&'a str>,
    /// The virtual key's id, for its own budgets.
    pub key: Option<&'a str>,
}

pub const ANONYMOUS: &str = "-";

/// The profile part of a virtual key's counter keys: a key's budget holds across the profiles
/// it is used with (no profile id is empty).
pub const KEY_COUNTERS: &str = "";

/// How many times `record` re-reads a counter that another worker changed under it. Each retry
/// means some other worker succeeded, so running out takes sustained contention on one key.
pub const MAX_CAS_TRIES: usize = 16;

impl<'a> ScopeIds<'a> {
    fn id(&self, scope: Scope, profile: &'a str) -> &'a str {
        let id = match scope {
            Scope::Profile => Some(profile),
            Scope::User => self.user,
            Scope::Agent => self.agent,
            Scope::Session => self.session,
            Scope::Key => self.key,
        };
        id.filter(|id| !id.is_empty()).unwrap_or(ANONYMOUS)
    }
}

/// Where the counters are: this Envoy's shared data, or the values the sidecar read from Redis
/// for [`remote_keys`] (`limits_store: sidecar`).
#[derive(Clone, Copy)]
pub enum Counters<'a> {
    Local(&'a dyn CounterStore),
    /// The micro-USD of each remote key, as the sidecar answered.
    Remote(&'a HashMap<String, u64>),
}

impl Counters<'_> {
    fn read(&self, prefix: &str, bucket: Bucket) -> Result<u64, StoreError> {
        match self {
            Counters::Local(store) => read(*store, &slot_key(prefix, bucket.slot), bucket.start),
            Counters::Remote(values) => values
                .get(&remote_key(prefix, bucket.start))
                .copied()
                .ok_or_else(|| StoreError::Host { status: "the sidecar did not read this counter".into() }),
        }
    }
}

/// The first limit, in list order, that applies to `model` and whose usage has reached its amount.
pub fn check(
    limits: &[Limit],
    profile: &str,
    ids: &ScopeIds,
    model: Option<&str>,
    now_secs: u64,
    store: &dyn CounterStore,
) -> Result<(), CheckError> {
    check_in(limits, profile, ids, model, now_secs, Counters::Local(store))
}

/// [`check`] against either store.
pub fn check_in(
    limits: &[Limit],
    profile: &str,
    ids: &ScopeIds,
    model: Option<&str>,
    now_secs: u64,
    counters: Counters,
) -> Result<(), CheckError> {
    for limit in limits.iter().filter(|l| l.applies_to(model)) {
        let scope_id = ids.id(limit.scope, profile);
        let prefix = key_prefix(limit, profile, scope_id);
        let mut usage: Vec<(u64, u64)> = Vec::new();
        for b in buckets(limit.window, now_secs) {
            let micro = counters.read(&prefix, b).map_err(CheckError::Unavailable)?;
            usage.push((b.start, micro));
        }
        let used = usage.iter().fold(0u64, |sum, (_, micro)| sum.saturating_add(*micro));
        let cap = limit.micro_usd();
        if used >= cap {
            return Err(CheckError::Exceeded(LimitExceeded {
                scope: limit.scope,
                scope_id: scope_id.to_owned(),
                limit_usd: limit.usd,
                used_usd: used as f64 / 1_000_000.0,
                window: limit.window,
                resets_at_secs: resets_at(limit.window, now_secs, &usage, used, cap),
                models: limit.model_names(),
            }));
        }
    }
    Ok(())
}

/// The Redis keys [`check_in`] reads for these limits at `now_secs` (one per bucket; a sliding
/// window's buckets are keyed by their start, so Redis needs no ring).
pub fn remote_keys(limits: &[Limit], profile: &str, ids: &ScopeIds, model: Option<&str>, now_secs: u64) -> Vec<String> {
    let mut keys = Vec::new();
    for limit in limits.iter().filter(|l| l.applies_to(model)) {
        let prefix = key_prefix(limit, profile, ids.id(limit.scope, profile));
        keys.extend(buckets(limit.window, now_secs).into_iter().map(|b| remote_key(&prefix, b.start)));
    }
    keys
}

/// One addition to a Redis counter (`warden.v1.Limits/Add`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Increment {
    pub key: String,
    pub micro_usd: u64,
    /// Redis forgets the key this long from now: once its bucket has left every window, plus a
    /// margin for clocks that disagree.
    pub ttl_secs: u64,
}

/// What [`record`] would add, as increments of the current bucket's Redis key of every limit that
/// applies to `model` (each counter once).
pub fn increments(
    limits: &[Limit],
    profile: &str,
    ids: &ScopeIds,
    model: Option<&str>,
    cost_usd: f64,
    now_secs: u64,
) -> Vec<Increment> {
    let micro_usd = micro_usd(cost_usd);
    let mut out = Vec::new();
    if micro_usd == 0 {
        return out;
    }
    each_current_bucket(limits, profile, ids, model, now_secs, |prefix, bucket, window| {
        let ttl_secs = bucket_end(window, bucket, now_secs).saturating_sub(now_secs).saturating_add(TTL_MARGIN_SECS);
        out.push(Increment { key: remote_key(prefix, bucket.start), micro_usd, ttl_secs });
    });
    out
}

/// How long a Redis counter outlives the last window that counts it.
const TTL_MARGIN_SECS: u64 = 600;

/// Adds `cost_usd` to the current bucket of every limit that applies to `model`. Every counter is
/// attempted; the first failure is returned (`CasMismatch` after `MAX_CAS_TRIES` lost races).
pub fn record(
    limits: &[Limit],
    profile: &str,
    ids: &ScopeIds,
    model: Option<&str>,
    cost_usd: f64,
    now_secs: u64,
    store: &dyn CounterStore,
) -> Result<(), StoreError> {
    let micro = micro_usd(cost_usd);
    if micro == 0 {
        return Ok(());
    }
    let mut first_error = None;
    each_current_bucket(limits, profile, ids, model, now_secs, |prefix, bucket, _| {
        if let Err(e) = add(store, &slot_key(prefix, bucket.slot), bucket.start, micro) {
            first_error.get_or_insert(e);
        }
    });
    first_error.map_or(Ok(()), Err)
}

/// Calls `f` with the key prefix and current bucket of every limit that applies to `model`, once
/// per counter: limits that differ only in their amount share one.
fn each_current_bucket(
    limits: &[Limit],
    profile: &str,
    ids: &ScopeIds,
    model: Option<&str>,
    now_secs: u64,
    mut f: impl FnMut(&str, Bucket, Window),
) {
    let mut seen: Vec<String> = Vec::new();
    for limit in limits.iter().filter(|l| l.applies_to(model)) {
        let Some(bucket) = buckets(limit.window, now_secs).into_iter().next() else { continue };
        let prefix = key_prefix(limit, profile, ids.id(limit.scope, profile));
        if seen.contains(&prefix) {
            continue;
        }
        f(&prefix, bucket, limit.window);
        seen.push(prefix);
    }
}

/// To the nearest micro-USD (float noise such as 0.1 × 10⁶ = 100000.00000000001 must not add one),
/// but at least one, so that many tiny requests cannot each round to nothing.
fn micro_usd(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        // Float-to-integer `as` saturates; a cost beyond u64 micro-USD is not a real cost.
        ((usd * 1_000_000.0).round() as u64).max(1)
    } else {
        0
    }
}

fn add(store: &dyn CounterStore, key: &str, start: u64, micro: u64) -> Result<(), StoreError> {
    for _ in 0..MAX_CAS_TRIES {
        match store.get(key)? {
            // A key that does not exist cannot be compare-and-swapped: any write creates it. Create
            // it empty, then add under CAS, so a creation race can only lose a zero, unless another
            // worker completes a whole add between our read and our create.
            None => store.set(key, &encode(0, 0), None)?,
            Some((bytes, Some(cas))) => {
                let value = encode(start, decode(&bytes, start).saturating_add(micro));
                match store.set(key, &value, Some(cas)) {
                    Err(StoreError::CasMismatch) => continue,
                    done => return done,
                }
            }
            // A host that hands out no CAS tokens gives nothing to compare; write and hope.
            Some((bytes, None)) => {
                return store.set(key, &encode(start, decode(&bytes, start).saturating_add(micro)), None);
            }
        }
    }
    Err(StoreError::CasMismatch)
}

fn read(store: &dyn CounterStore, key: &str, start: u64) -> Result<u64, StoreError> {
    Ok(store.get(key)?.map_or(0, |(bytes, _)| decode(&bytes, start)))
}

fn encode(start: u64, micro: u64) -> [u8; 16] {
    let mut value = [0u8; 16];
    let (head, tail) = value.split_at_mut(8);
    head.copy_from_slice(&start.to_le_bytes());
    tail.copy_from_slice(&micro.to_le_bytes());
    value
}

/// Micro-USD in the slot if it holds the bucket starting at `start`; a stale or foreign value
/// reads as zero (only this module writes `warden:limit:` keys).
fn decode(bytes: &[u8], start: u64) -> u64 {
    let word = |range: std::ops::Range<usize>| bytes.get(range).and_then(|b| <[u8; 8]>::try_from(b).ok());
    match (bytes.len(), word(0..8), word(8..16)) {
        (16, Some(stored), Some(micro)) if u64::from_le_bytes(stored) == start => u64::from_le_bytes(micro),
        _ => 0,
    }
}

fn key_prefix(limit: &Limit, profile: &str, scope_id: &str) -> String {
    // Parsed from the right every part but the scope id is free of ':', so ids containing ':'
    // cannot collide with each other.
    format!("warden:limit:{profile}:{}:{scope_id}:{}:{}:", limit.scope, limit.window, limit.counter_tag())
}

fn slot_key(prefix: &str, slot: u64) -> String {
    format!("{prefix}{slot}")
}

/// A bucket's key in Redis: `@` and its start, so it never collides with a ring-slot key.
fn remote_key(prefix: &str, start: u64) -> String {
    format!("{prefix}@{start}")
}

// ---- windows ----

const MINUTE: u64 = 60;
const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

/// A bucket of a window: when it starts and the ring slot that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    start: u64,
    slot: u64,
}

/// For sliding windows: bucket length and bucket count.
fn sliding(window: Window) -> Option<(u64, u64)> {
    match window {
        Window::Hour => Some((5 * MINUTE, 12)),
        Window::Day => Some((HOUR, 24)),
        Window::Week => Some((DAY, 7)),
        Window::CalendarDay | Window::CalendarWeek | Window::CalendarMonth => None,
    }
}

/// The buckets inside the window at `now`, newest (the one `now` falls in) first.
fn buckets(window: Window, now: u64) -> Vec<Bucket> {
    let Some((len, count)) = sliding(window) else {
        return vec![Bucket { start: calendar_period(window, now).0, slot: 0 }];
    };
    let current = now - now % len;
    (0..count)
        .map_while(|i| current.checked_sub(i.saturating_mul(len)))
        .map(|start| Bucket { start, slot: (start / len) % count })
        .collect()
}

/// When a bucket stops counting in its window: one window length after its start (sliding), or
/// the end of its period (calendar).
fn bucket_end(window: Window, bucket: Bucket, now: u64) -> u64 {
    match sliding(window) {
        Some((len, count)) => bucket.start.saturating_add(len.saturating_mul(count)),
        None => calendar_period(window, now).1,
    }
}

/// When usage drops below `cap` if nothing more is spent. Sliding: once enough of the oldest
/// buckets have left the window (often just the oldest non-empty one); calendar: the next period.
fn resets_at(window: Window, now: u64, usage: &[(u64, u64)], used: u64, cap: u64) -> u64 {
    let Some((len, count)) = sliding(window) else { return calendar_period(window, now).1 };
    let span = len.saturating_mul(count);
    let mut remaining = used;
    for (start, micro) in usage.iter().rev() {
        remaining = remaining.saturating_sub(*micro);
        if remaining < cap {
            return start.saturating_add(span);
        }
    }
    (now - now % len).saturating_add(span)
}

/// Start and end (exclusive) of the calendar period `now` falls in (sliding windows are never
/// asked; they would get the UTC day).
fn calendar_period(window: Window, now: u64) -> (u64, u64) {
    let day = now / DAY;
    let (start_day, end_day) = match window {
        Window::CalendarWeek => {
            // 1970-01-01 was a Thursday: three days after a Monday.
            let monday = day.saturating_sub((day + 3) % 7);
            (monday, monday.saturating_add(7))
        }
        Window::CalendarMonth => {
            let (y, m, _) = civil_from_days(day);
            let (next_y, next_m) = if m == 12 { (y.saturating_add(1), 1) } else { (y, m + 1) };
            (days_from_civil(y, m, 1), days_from_civil(next_y, next_m, 1))
        }
        Window::CalendarDay | Window::Hour | Window::Day | Window::Week => (day, day.saturating_add(1)),
    };
    (start_day.saturating_mul(DAY), end_day.saturating_mul(DAY))
}

// ---- civil dates (proleptic Gregorian, from 1970-01-01) ----
//
// Years are counted from March, so the leap day ends the year and a 400-year era has a fixed
// 146,097 days; day-of-year from a March-based month is the linear (153 m + 2) / 5.

const DAYS_PER_ERA: u64 = 146_097;
/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT: u64 = 719_468;

/// Days since 1970-01-01 of a date on or after it (earlier dates clamp to 0).
pub fn days_from_civil(year: u64, month: u32, day: u32) -> u64 {
    let month = u64::from(month.clamp(1, 12));
    let year = if month <= 2 { year.saturating_sub(1) } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let march_month = (month + 9) % 12;
    let day_of_year = (153 * march_month + 2) / 5 + u64::from(day.max(1)) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era.saturating_mul(DAYS_PER_ERA).saturating_add(day_of_era).saturating_sub(EPOCH_SHIFT)
}

/// `(year, month, day)` of a day number counted from 1970-01-01.
pub fn civil_from_days(days: u64) -> (u64, u32, u32) {
    let z = days.saturating_add(EPOCH_SHIFT);
    let era = z / DAYS_PER_ERA;
    let day_of_era = z % DAYS_PER_ERA;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 { march_month + 3 } else { march_month - 9 };
    let year = era.saturating_mul(400).saturating_add(year_of_era) + u64::from(month <= 2);
    // Both are small by construction (1..=31, 1..=12).
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

/// `2028-02-29T13:05:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let (y, m, d) = civil_from_days(secs / DAY);
    let rest = secs % DAY;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / HOUR, rest % HOUR / MINUTE, rest % MINUTE)
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
