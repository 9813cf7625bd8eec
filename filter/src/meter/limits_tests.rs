use super::*;
use proptest::prelude::*;
use serde_json::json;
use std::cell::Cell;

/// 2028-02-29T13:05:07Z, a Tuesday in a leap February.
const T: u64 = 1_835_442_307;

fn limit(spec: serde_json::Value) -> Limit {
    serde_json::from_value(spec).unwrap()
}

fn at(date: &str) -> u64 {
    // `YYYY-MM-DD` at midnight UTC.
    let mut parts = date.split('-').map(|p| p.parse::<u64>().unwrap());
    let (y, m, d) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    days_from_civil(y, m as u32, d as u32) * DAY
}

fn user(id: &str) -> ScopeIds<'_> {
    ScopeIds { user: Some(id), ..ScopeIds::default() }
}

fn spend(limits: &[Limit], ids: &ScopeIds, model: Option<&str>, usd: f64, now: u64, store: &dyn CounterStore) {
    record(limits, "ops", ids, model, usd, now, store).unwrap();
}

/// The limit a check reports as reached (the test fails on anything else).
fn exceeded(result: Result<(), CheckError>) -> LimitExceeded {
    match result {
        Err(CheckError::Exceeded(e)) => e,
        other => panic!("expected a reached limit, got {other:?}"),
    }
}

fn used(limits: &[Limit], ids: &ScopeIds, model: Option<&str>, now: u64, store: &dyn CounterStore) -> Option<f64> {
    match check(limits, "ops", ids, model, now, store) {
        Ok(()) => None,
        Err(CheckError::Exceeded(e)) => Some(e.used_usd),
        Err(CheckError::Unavailable(e)) => panic!("store failed: {e}"),
    }
}

// ---- civil dates ----

#[test]
fn known_dates_convert_both_ways() {
    // Day numbers from GNU `date -u -d <date> +%s` / 86400.
    for (date, days) in [
        ((1970, 1, 1), 0),
        ((2000, 2, 29), 11_016),
        ((2000, 3, 1), 11_017),
        ((2024, 12, 31), 20_088),
        ((2025, 1, 1), 20_089),
        ((2028, 2, 28), 21_242),
        ((2028, 2, 29), 21_243),
        ((2028, 3, 1), 21_244),
        ((2100, 2, 28), 47_540),
        ((2100, 3, 1), 47_541),
    ] {
        assert_eq!(days_from_civil(date.0, date.1, date.2), days, "{date:?}");
        assert_eq!(civil_from_days(days), date, "{days}");
    }
}

#[test]
fn every_day_for_eight_centuries_follows_the_previous_one() {
    // Written against `rem` rather than `is_multiple_of`, which is newer than the crate's MSRV.
    let leap = |y: u64| {
        let rem = |n: u64| y % n;
        rem(4) == 0 && (rem(100) != 0 || rem(400) == 0)
    };
    let month_len = |y: u64, m: u32| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let mut previous = civil_from_days(0);
    for days in 1..(2 * DAYS_PER_ERA) {
        let (y, m, d) = civil_from_days(days);
        let (py, pm, pd) = previous;
        let expected = if pd < month_len(py, pm) {
            (py, pm, pd + 1)
        } else if pm < 12 {
            (py, pm + 1, 1)
        } else {
            (py + 1, 1, 1)
        };
        assert_eq!((y, m, d), expected, "day {days}");
        assert_eq!(days_from_civil(y, m, d), days);
        previous = (y, m, d);
    }
}

#[test]
fn timestamps_format_as_rfc3339_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(T), "2028-02-29T13:05:07Z");
    assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
}

#[test]
fn extreme_clocks_do_not_panic() {
    let store = MemoryStore::new();
    for now in [0, 1, u64::MAX - 1, u64::MAX] {
        for window in ["1h", "1d", "1w", "calendar_day", "calendar_week", "calendar_month"] {
            let limits = [limit(json!({"scope": "profile", "usd": 1, "window": window}))];
            spend(&limits, &ScopeIds::default(), None, 2.0, now, &store);
            let e = exceeded(check(&limits, "ops", &ScopeIds::default(), None, now, &store));
            let _ = rfc3339(e.resets_at_secs);
        }
    }
    let _ = rfc3339(u64::MAX);
}

// ---- calendar windows ----

#[test]
fn calendar_month_runs_to_the_first_of_the_next_month() {
    assert_eq!(calendar_period(Window::CalendarMonth, T), (at("2028-02-01"), at("2028-03-01")));
    assert_eq!(
        calendar_period(Window::CalendarMonth, at("2026-01-31") + DAY - 1),
        (at("2026-01-01"), at("2026-02-01"))
    );
    assert_eq!(calendar_period(Window::CalendarMonth, at("2024-12-31") + 5), (at("2024-12-01"), at("2025-01-01")));
    assert_eq!(calendar_period(Window::CalendarMonth, at("2100-02-28")), (at("2100-02-01"), at("2100-03-01")));
}

#[test]
fn calendar_week_starts_on_monday_even_across_a_year_end() {
    // 2026-01-04 is a Sunday; its week began on Monday 2025-12-29.
    assert_eq!(calendar_period(Window::CalendarWeek, at("2026-01-04") + DAY - 1), (at("2025-12-29"), at("2026-01-05")));
    assert_eq!(calendar_period(Window::CalendarWeek, at("2026-01-05")), (at("2026-01-05"), at("2026-01-12")));
    // Tuesday 2028-02-29: the week crosses into March.
    assert_eq!(calendar_period(Window::CalendarWeek, T), (at("2028-02-28"), at("2028-03-06")));
}

#[test]
fn calendar_day_is_the_utc_day() {
    assert_eq!(calendar_period(Window::CalendarDay, T), (at("2028-02-29"), at("2028-03-01")));
}

#[test]
fn a_calendar_window_starts_afresh_with_the_next_period() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "calendar_month"}))];
    let store = MemoryStore::new();
    spend(&limits, &user("u"), None, 1.5, T, &store);
    let e = exceeded(check(&limits, "ops", &user("u"), None, T, &store));
    assert_eq!(rfc3339(e.resets_at_secs), "2028-03-01T00:00:00Z");
    assert_eq!(used(&limits, &user("u"), None, at("2028-03-01") - 1, &store), Some(1.5));
    assert_eq!(used(&limits, &user("u"), None, at("2028-03-01"), &store), None);
}

// ---- sliding windows ----

#[test]
fn sliding_windows_have_their_bucket_counts_and_distinct_slots() {
    for (window, len, count) in [(Window::Hour, 300, 12), (Window::Day, HOUR, 24), (Window::Week, DAY, 7)] {
        let b = buckets(window, T);
        assert_eq!(b.len() as u64, count);
        assert_eq!(b[0].start, T - T % len, "{window}");
        assert!(b.windows(2).all(|w| w[0].start == w[1].start + len));
        let mut slots: Vec<u64> = b.iter().map(|b| b.slot).collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..count).collect::<Vec<_>>());
    }
}

#[test]
fn a_bucket_counts_until_one_window_length_after_its_start() {
    let limits = [limit(json!({"scope": "user", "usd": 0.5, "window": "1h"}))];
    let store = MemoryStore::new();
    let start = T - T % 300;
    spend(&limits, &user("u"), None, 1.0, start + 10, &store);
    assert_eq!(used(&limits, &user("u"), None, start + 3_599, &store), Some(1.0));
    assert_eq!(used(&limits, &user("u"), None, start + 3_600, &store), None);
}

#[test]
fn the_reset_is_when_the_oldest_spending_leaves_the_window() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1h"}))];
    let store = MemoryStore::new();
    let first = T - T % 300;
    spend(&limits, &user("u"), None, 0.6, first + 1, &store);
    spend(&limits, &user("u"), None, 0.6, first + 1_200, &store);
    let e = exceeded(check(&limits, "ops", &user("u"), None, first + 1_500, &store));
    assert_eq!(e.resets_at_secs, first + 3_600);
    assert!((e.used_usd - 1.2).abs() < 1e-9);
}

#[test]
fn the_reset_waits_for_enough_buckets_to_leave_to_fall_below_the_limit() {
    // The oldest bucket alone is not enough: usage stays over the limit until the newer one leaves.
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1d"}))];
    let store = MemoryStore::new();
    let first = T - T % HOUR;
    spend(&limits, &user("u"), None, 0.2, first, &store);
    spend(&limits, &user("u"), None, 1.0, first + 3 * HOUR, &store);
    let e = exceeded(check(&limits, "ops", &user("u"), None, first + 4 * HOUR, &store));
    assert_eq!(e.resets_at_secs, first + 3 * HOUR + DAY);
}

#[test]
fn a_week_window_sums_seven_days() {
    let limits = [limit(json!({"scope": "profile", "usd": 10, "window": "1w"}))];
    let store = MemoryStore::new();
    for day in 0..7 {
        spend(&limits, &ScopeIds::default(), None, 1.0, T + day * DAY, &store);
    }
    assert_eq!(used(&limits, &ScopeIds::default(), None, T + 6 * DAY, &store), None);
    spend(&limits, &ScopeIds::default(), None, 3.0, T + 6 * DAY, &store);
    assert_eq!(used(&limits, &ScopeIds::default(), None, T + 6 * DAY, &store), Some(10.0));
    // The first day has left a day later.
    assert_eq!(used(&limits, &ScopeIds::default(), None, T + 7 * DAY, &store), None);
}

#[test]
fn ring_slots_are_reused_so_keys_stay_bounded() {
    let limits = [limit(json!({"scope": "user", "usd": 1000, "window": "1h"}))];
    let store = MemoryStore::new();
    for step in 0..(24 * 12) {
        spend(&limits, &user("u"), None, 0.01, T + step * 300, &store);
    }
    assert_eq!(store.len(), 12);
    // Only the last hour's twelve buckets remain in the total.
    let mut tight = limits.clone();
    tight[0].usd = 0.01;
    let used = used(&tight, &user("u"), None, T + 287 * 300, &store).unwrap();
    assert!((used - 0.12).abs() < 1e-9, "{used}");
}

// ---- check and record ----

#[test]
fn usage_at_the_limit_blocks_and_below_it_passes() {
    let limits = [limit(json!({"scope": "profile", "usd": 2, "window": "calendar_day"}))];
    let store = MemoryStore::new();
    spend(&limits, &ScopeIds::default(), None, 1.999_999, T, &store);
    assert!(check(&limits, "ops", &ScopeIds::default(), None, T, &store).is_ok());
    spend(&limits, &ScopeIds::default(), None, 0.000_001, T, &store);
    let e = exceeded(check(&limits, "ops", &ScopeIds::default(), None, T, &store));
    assert_eq!(
        e,
        LimitExceeded {
            scope: Scope::Profile,
            scope_id: "ops".into(),
            limit_usd: 2.0,
            used_usd: 2.0,
            window: Window::CalendarDay,
            resets_at_secs: at("2028-03-01"),
            models: vec![],
        }
    );
}

#[test]
fn the_first_reached_limit_in_list_order_is_reported() {
    let limits = [
        limit(json!({"scope": "profile", "usd": 100, "window": "calendar_month"})),
        limit(json!({"scope": "user", "usd": 1, "window": "1d"})),
        limit(json!({"scope": "agent", "usd": 1, "window": "1d"})),
    ];
    let store = MemoryStore::new();
    let ids = ScopeIds { user: Some("u"), agent: Some("a"), session: None, key: None };
    spend(&limits, &ids, None, 5.0, T, &store);
    let e = exceeded(check(&limits, "ops", &ids, None, T, &store));
    assert_eq!((e.scope, e.scope_id.as_str()), (Scope::User, "u"));
}

#[test]
fn a_model_filter_applies_to_both_the_check_and_the_usage() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1d", "models": ["gpt-5"]}))];
    let store = MemoryStore::new();
    spend(&limits, &user("u"), Some("gpt-5-mini"), 5.0, T, &store);
    assert_eq!(used(&limits, &user("u"), Some("gpt-5"), T, &store), None);
    spend(&limits, &user("u"), Some("gpt-5"), 1.0, T, &store);
    assert!(check(&limits, "ops", &user("u"), Some("gpt-5-mini"), T, &store).is_ok());
    let e = exceeded(check(&limits, "ops", &user("u"), Some("gpt-5"), T, &store));
    assert_eq!((e.used_usd, e.models), (1.0, vec!["gpt-5".to_owned()]));
}

#[test]
fn model_filters_take_globs() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1d", "models": ["claude-*"]}))];
    let store = MemoryStore::new();
    spend(&limits, &user("u"), Some("claude-sonnet-4-5-20250929"), 2.0, T, &store);
    assert!(check(&limits, "ops", &user("u"), Some("claude-haiku-4-5"), T, &store).is_err());
    assert!(check(&limits, "ops", &user("u"), Some("gpt-5"), T, &store).is_ok());
}

#[test]
fn a_request_with_an_unknown_model_is_not_exempt_from_model_limits() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1d", "models": ["gpt-5"]}))];
    let store = MemoryStore::new();
    spend(&limits, &user("u"), Some("gpt-5"), 1.0, T, &store);
    assert!(check(&limits, "ops", &user("u"), None, T, &store).is_err());
}

#[test]
fn callers_without_an_id_share_one_anonymous_counter() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1d"}))];
    let store = MemoryStore::new();
    spend(&limits, &ScopeIds::default(), None, 0.6, T, &store);
    spend(&limits, &user(""), None, 0.6, T, &store);
    let e = exceeded(check(&limits, "ops", &ScopeIds::default(), None, T, &store));
    assert_eq!(e.scope_id, ANONYMOUS);
    assert!(check(&limits, "ops", &user("alice"), None, T, &store).is_ok());
}

#[test]
fn each_scope_id_has_its_own_counter() {
    for scope in ["agent", "session", "user"] {
        let limits = [limit(json!({"scope": scope, "usd": 1, "window": "calendar_week"}))];
        let store = MemoryStore::new();
        let a = ScopeIds { user: Some("a"), agent: Some("a"), session: Some("a"), key: None };
        let b = ScopeIds { user: Some("b"), agent: Some("b"), session: Some("b"), key: None };
        spend(&limits, &a, None, 1.0, T, &store);
        assert!(check(&limits, "ops", &a, None, T, &store).is_err(), "{scope}");
        assert!(check(&limits, "ops", &b, None, T, &store).is_ok(), "{scope}");
    }
}

#[test]
fn profiles_do_not_share_counters() {
    let limits = [limit(json!({"scope": "profile", "usd": 1, "window": "1d"}))];
    let store = MemoryStore::new();
    record(&limits, "ops", &ScopeIds::default(), None, 1.0, T, &store).unwrap();
    assert!(check(&limits, "ops", &ScopeIds::default(), None, T, &store).is_err());
    assert!(check(&limits, "dev", &ScopeIds::default(), None, T, &store).is_ok());
}

#[test]
fn keys_name_profile_scope_id_window_models_and_slot() {
    let limits = [
        limit(json!({"scope": "user", "usd": 1, "window": "calendar_month"})),
        limit(json!({"scope": "session", "usd": 1, "window": "1h", "models": ["gpt-5"]})),
    ];
    let store = MemoryStore::new();
    let ids = ScopeIds { user: Some("alice"), agent: None, session: Some("s:1"), key: None };
    spend(&limits, &ids, Some("gpt-5"), 0.25, T, &store);
    let slot = (T - T % 300) / 300 % 12;
    let tag = format!("m{:08x}", crc32fast::hash(b"gpt-5"));
    assert_eq!(
        store.keys(),
        vec![
            format!("warden:limit:ops:session:s:1:1h:{tag}:{slot}"),
            "warden:limit:ops:user:alice:calendar_month:all:0".to_owned(),
        ]
    );
    let (value, _) = store.get("warden:limit:ops:user:alice:calendar_month:all:0").unwrap().unwrap();
    assert_eq!(value, [at("2028-02-01").to_le_bytes(), 250_000u64.to_le_bytes()].concat());
}

#[test]
fn limits_differing_only_in_amount_share_one_counter() {
    let limits = [
        limit(json!({"scope": "user", "usd": 2, "window": "1d"})),
        limit(json!({"scope": "user", "usd": 1, "window": "1d"})),
        limit(json!({"scope": "user", "usd": 9, "window": "1d", "models": ["gpt-5"]})),
    ];
    let store = MemoryStore::new();
    spend(&limits, &user("u"), Some("gpt-5"), 1.5, T, &store);
    let e = exceeded(check(&limits, "ops", &user("u"), Some("gpt-5"), T, &store));
    assert_eq!((e.limit_usd, e.used_usd), (1.0, 1.5));
    assert_eq!(store.len(), 2);
}

#[test]
fn costs_count_in_whole_micro_dollars_and_nothing_is_not_written() {
    let limits = [limit(json!({"scope": "user", "usd": 0.000_002, "window": "1d"}))];
    let store = MemoryStore::new();
    for nothing in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
        spend(&limits, &user("u"), None, nothing, T, &store);
    }
    assert!(store.is_empty());
    spend(&limits, &user("u"), None, 1e-9, T, &store);
    assert!(check(&limits, "ops", &user("u"), None, T, &store).is_ok());
    spend(&limits, &user("u"), None, 1e-9, T, &store);
    assert!(check(&limits, "ops", &user("u"), None, T, &store).is_err());
}

#[test]
fn foreign_or_short_values_read_as_zero_and_are_replaced() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "calendar_day"}))];
    let store = MemoryStore::new();
    let key = "warden:limit:ops:user:u:calendar_day:all:0";
    store.set(key, b"garbage", None).unwrap();
    assert!(check(&limits, "ops", &user("u"), None, T, &store).is_ok());
    spend(&limits, &user("u"), None, 1.0, T, &store);
    assert_eq!(used(&limits, &user("u"), None, T, &store), Some(1.0));
}

#[test]
fn limit_exceeded_becomes_a_402_naming_the_reset_time() {
    let e = LimitExceeded {
        scope: Scope::User,
        scope_id: ANONYMOUS.into(),
        limit_usd: 5.0,
        used_usd: 5.5,
        window: Window::Day,
        resets_at_secs: T,
        models: vec!["gpt-5".into()],
    };
    let err = crate::error::WardenError::limit_reached(e, false);
    assert_eq!(err.status(), 402);
    let crate::error::WardenError::UsageLimitExceeded { resets_at, .. } = &err else { panic!("{err:?}") };
    assert_eq!(resets_at, "2028-02-29T13:05:07Z");
    let text = err.to_string();
    for part in ["$5.00", "$5.50", "sliding 24 hours", "without a user id", "x-warden-user-id", "models gpt-5"] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

// ---- concurrency ----

/// Another worker completes whole `record`s between our read and our CAS write, `races` times.
struct Racing {
    inner: MemoryStore,
    races: Cell<usize>,
    rival: Vec<Limit>,
    rival_cost: f64,
    sets: Cell<usize>,
}

impl Racing {
    fn new(races: usize, rival: &[Limit], rival_cost: f64) -> Racing {
        Racing {
            inner: MemoryStore::new(),
            races: Cell::new(races),
            rival: rival.to_vec(),
            rival_cost,
            sets: Cell::new(0),
        }
    }
}

impl CounterStore for Racing {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
        self.sets.set(self.sets.get() + 1);
        if cas.is_some() && self.races.get() > 0 {
            self.races.set(self.races.get() - 1);
            record(&self.rival, "ops", &user("u"), None, self.rival_cost, T, &self.inner).unwrap();
        }
        self.inner.set(key, value, cas)
    }
}

#[test]
fn concurrent_workers_never_lose_an_update() {
    let limits = [limit(json!({"scope": "user", "usd": 1000, "window": "1h"}))];
    let store = Racing::new(5, &limits, 0.25);
    spend(&limits, &user("u"), None, 1.0, T, &store);
    let mut tight = limits.clone();
    tight[0].usd = 0.000_001;
    assert_eq!(used(&tight, &user("u"), None, T, &store.inner), Some(1.0 + 5.0 * 0.25));
}

#[test]
fn record_gives_up_after_bounded_retries() {
    let limits = [limit(json!({"scope": "user", "usd": 1000, "window": "1d"}))];
    let store = Racing::new(usize::MAX, &limits, 0.25);
    let err = record(&limits, "ops", &user("u"), None, 1.0, T, &store).unwrap_err();
    assert_eq!(err, StoreError::CasMismatch);
    // One creating write, then one CAS attempt per remaining try.
    assert_eq!(store.sets.get(), MAX_CAS_TRIES);
}

struct Refusing;

impl CounterStore for Refusing {
    fn get(&self, _: &str) -> Result<Option<Versioned>, StoreError> {
        Err(StoreError::Host { status: "InternalFailure".into() })
    }
    fn set(&self, _: &str, _: &[u8], _: Option<u32>) -> Result<(), StoreError> {
        Err(StoreError::Host { status: "InternalFailure".into() })
    }
}

#[test]
fn a_failing_store_is_reported_never_read_as_zero() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1d"}))];
    assert!(matches!(record(&limits, "ops", &user("u"), None, 1.0, T, &Refusing), Err(StoreError::Host { .. })));
    assert!(matches!(
        check(&limits, "ops", &user("u"), None, T, &Refusing),
        Err(CheckError::Unavailable(StoreError::Host { .. }))
    ));
}

#[test]
fn other_limits_are_still_recorded_after_one_fails() {
    struct FailsFirstKey(MemoryStore);
    impl CounterStore for FailsFirstKey {
        fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
            self.0.get(key)
        }
        fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
            if key.contains(":profile:") {
                return Err(StoreError::Host { status: "BadArgument".into() });
            }
            self.0.set(key, value, cas)
        }
    }
    let limits = [
        limit(json!({"scope": "profile", "usd": 1, "window": "1d"})),
        limit(json!({"scope": "user", "usd": 1, "window": "1d"})),
    ];
    let store = FailsFirstKey(MemoryStore::new());
    assert!(record(&limits, "ops", &user("u"), None, 1.0, T, &store).is_err());
    assert_eq!(used(&limits[1..], &user("u"), None, T, &store.0), Some(1.0));
}

#[test]
fn a_host_without_cas_tokens_still_counts() {
    struct NoTokens(MemoryStore);
    impl CounterStore for NoTokens {
        fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
            Ok(self.0.get(key)?.map(|(v, _)| (v, None)))
        }
        fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
            assert_eq!(cas, None);
            self.0.set(key, value, None)
        }
    }
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1d"}))];
    let store = NoTokens(MemoryStore::new());
    spend(&limits, &user("u"), None, 0.5, T, &store);
    spend(&limits, &user("u"), None, 0.5, T, &store);
    assert_eq!(used(&limits, &user("u"), None, T, &store), Some(1.0));
}

#[test]
fn memory_store_follows_envoy_cas_rules() {
    let store = MemoryStore::new();
    assert_eq!(store.get("k"), Ok(None));
    // A CAS write to a missing key creates it, as Envoy does.
    store.set("k", b"a", Some(42)).unwrap();
    let (value, cas) = store.get("k").unwrap().unwrap();
    assert_eq!(value, b"a");
    let cas = cas.unwrap();
    assert_ne!(cas, 0);
    store.set("k", b"b", Some(cas)).unwrap();
    assert_eq!(store.set("k", b"c", Some(cas)), Err(StoreError::CasMismatch));
    store.set("k", b"d", None).unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().0, b"d");
}

proptest! {
    #[test]
    fn interleaved_records_add_up(costs in prop::collection::vec((1u64..5_000_000, 0usize..6), 1..12)) {
        let limits = [limit(json!({"scope": "user", "usd": 1_000_000, "window": "1h"}))];
        let rival_cost = 0.000_003;
        let mut expected = 0u64;
        let store = Racing::new(0, &limits, rival_cost);
        for (micro, races) in &costs {
            store.races.set(*races);
            spend(&limits, &user("u"), None, *micro as f64 / 1e6, T, &store);
            expected += micro + 3 * *races as u64;
        }
        let slot = (T - T % 300) / 300 % 12;
        let (value, _) = store.inner.get(&format!("warden:limit:ops:user:u:1h:all:{slot}")).unwrap().unwrap();
        prop_assert_eq!(decode(&value, T - T % 300), expected);
    }
}

// ---- the sidecar's Redis counters (limits_store: sidecar) ----

/// Redis as the sidecar keeps it: INCRBY per increment, keys read as 0 when missing.
#[derive(Default)]
struct Redis(HashMap<String, u64>);

impl Redis {
    fn add(&mut self, increments: &[Increment]) {
        for i in increments {
            *self.0.entry(i.key.clone()).or_default() += i.micro_usd;
        }
    }

    /// What `Limits/Read` answers for `keys`.
    fn read(&self, keys: &[String]) -> HashMap<String, u64> {
        keys.iter().map(|k| (k.clone(), self.0.get(k).copied().unwrap_or(0))).collect()
    }
}

#[test]
fn remote_keys_name_each_bucket_by_its_start() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1h"}))];
    let keys = remote_keys(&limits, "ops", &user("u"), None, T);
    assert_eq!(keys.len(), 12);
    let current = T - T % 300;
    assert_eq!(keys[0], format!("warden:limit:ops:user:u:1h:all:@{current}"));
    assert_eq!(keys[11], format!("warden:limit:ops:user:u:1h:all:@{}", current - 11 * 300));
    let month = [limit(json!({"scope": "profile", "usd": 1, "window": "calendar_month"}))];
    assert_eq!(
        remote_keys(&month, "ops", &user("u"), None, T),
        vec![format!("warden:limit:ops:profile:ops:calendar_month:all:@{}", at("2028-02-01"))]
    );
}

#[test]
fn increments_add_to_the_current_bucket_once_per_counter_and_expire_after_the_window() {
    let limits = [
        limit(json!({"scope": "user", "usd": 1, "window": "1h"})),
        limit(json!({"scope": "user", "usd": 2, "window": "1h"})),
        limit(json!({"scope": "profile", "usd": 9, "window": "calendar_month"})),
        limit(json!({"scope": "user", "usd": 1, "window": "1d", "models": ["claude-*"]})),
    ];
    let incs = increments(&limits, "ops", &user("u"), Some("gpt-5"), 0.25, T);
    let current = T - T % 300;
    assert_eq!(
        incs,
        vec![
            Increment {
                key: format!("warden:limit:ops:user:u:1h:all:@{current}"),
                micro_usd: 250_000,
                ttl_secs: current + 3_600 - T + 600,
            },
            Increment {
                key: format!("warden:limit:ops:profile:ops:calendar_month:all:@{}", at("2028-02-01")),
                micro_usd: 250_000,
                ttl_secs: at("2028-03-01") - T + 600,
            },
        ]
    );
    assert!(increments(&limits, "ops", &user("u"), None, 0.0, T).is_empty(), "nothing spent, nothing added");
}

#[test]
fn a_counter_the_sidecar_did_not_read_is_unavailable_never_zero() {
    let limits = [limit(json!({"scope": "user", "usd": 1, "window": "1h"}))];
    let mut values = Redis::default().read(&remote_keys(&limits, "ops", &user("u"), None, T));
    values.remove(&format!("warden:limit:ops:user:u:1h:all:@{}", T - T % 300 - 300));
    let result = check_in(&limits, "ops", &user("u"), None, T, Counters::Remote(&values));
    assert!(matches!(result, Err(CheckError::Unavailable(_))), "{result:?}");
}

proptest! {
    /// The sidecar store decides exactly as the local store does, for any spending over time.
    #[test]
    fn redis_counters_decide_like_the_local_store(
        spends in prop::collection::vec((1u64..400_000, 0u64..7_200, 0usize..2), 1..40),
        window in prop::sample::select(vec!["1h", "1d", "1w", "calendar_day", "calendar_week", "calendar_month"]),
    ) {
        let limits = [
            limit(json!({"scope": "user", "usd": 2, "window": window})),
            limit(json!({"scope": "profile", "usd": 3, "window": "1h", "models": ["gpt-*"]})),
        ];
        let models = [Some("gpt-5"), Some("claude-x")];
        let local = MemoryStore::new();
        let mut redis = Redis::default();
        let mut now = T;
        for (micro, step, m) in spends {
            now += step;
            let model = models[m];
            let ids = user("u");
            let keys = remote_keys(&limits, "ops", &ids, model, now);
            let remote = check_in(&limits, "ops", &ids, model, now, Counters::Remote(&redis.read(&keys)));
            prop_assert_eq!(&remote, &check(&limits, "ops", &ids, model, now, &local));
            if remote.is_ok() {
                spend(&limits, &ids, model, micro as f64 / 1e6, now, &local);
                redis.add(&increments(&limits, "ops", &ids, model, micro as f64 / 1e6, now));
            }
        }
    }
}
