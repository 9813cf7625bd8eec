use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

type TestCache = Arc<Cache<String, String>>;

fn cache(entries: usize, ttl: Duration) -> TestCache {
    Arc::new(Cache::new(NonZeroUsize::new(entries).unwrap(), ttl))
}

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// Work that counts its runs, takes `ms` and yields `value`.
fn counted(runs: &Arc<AtomicU32>, ms: u64, value: Result<&str, &str>) -> impl Future<Output = Result<String, String>> {
    let runs = runs.clone();
    let value = value.map(str::to_string).map_err(str::to_string);
    async move {
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        value
    }
}

#[test]
fn keys_separate_parts_so_moving_a_boundary_changes_the_key() {
    assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
    assert_ne!(key(&[b"", b"x"]), key(&[b"x", b""]));
    assert_eq!(key(&[b"a", b"b"]), key(&[b"a", b"b"]));
}

#[tokio::test]
async fn a_finished_value_is_served_from_the_cache_without_running_again() {
    let (cache, runs) = (cache(8, Duration::from_secs(60)), Arc::new(AtomicU32::new(0)));
    let first = cache.get([1; 32], soon(1000), counted(&runs, 0, Ok("v"))).await;
    assert_eq!(first, Ok(("v".to_string(), Served::Fresh)));
    let second = cache.get([1; 32], soon(1000), counted(&runs, 0, Ok("other"))).await;
    assert_eq!(second, Ok(("v".to_string(), Served::Cached)));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failure_is_not_kept_and_the_next_caller_runs_the_work_again() {
    let (cache, runs) = (cache(8, Duration::from_secs(60)), Arc::new(AtomicU32::new(0)));
    let failed = cache.get([1; 32], soon(1000), counted(&runs, 0, Err("down"))).await;
    assert_eq!(failed, Err(Failure::Failed("down".to_string())));
    let retried = cache.get([1; 32], soon(1000), counted(&runs, 0, Ok("v"))).await;
    assert_eq!(retried, Ok(("v".to_string(), Served::Fresh)));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_entry_past_its_ttl_is_computed_again() {
    let (cache, runs) = (cache(8, Duration::from_millis(50)), Arc::new(AtomicU32::new(0)));
    cache.get([1; 32], soon(1000), counted(&runs, 0, Ok("v1"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    let again = cache.get([1; 32], soon(1000), counted(&runs, 0, Ok("v2"))).await;
    assert_eq!(again, Ok(("v2".to_string(), Served::Fresh)));
}

#[tokio::test]
async fn the_least_recently_used_entry_goes_when_the_cache_is_full() {
    let (cache, runs) = (cache(2, Duration::from_secs(60)), Arc::new(AtomicU32::new(0)));
    for k in [1u8, 2, 1, 3] {
        cache.get([k; 32], soon(1000), counted(&runs, 0, Ok("v"))).await.unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(cache.get([1; 32], soon(1000), counted(&runs, 0, Ok("v"))).await.unwrap().1, Served::Cached);
    assert_eq!(cache.get([2; 32], soon(1000), counted(&runs, 0, Ok("v"))).await.unwrap().1, Served::Fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_run_and_only_the_first_is_fresh() {
    let (cache, runs) = (cache(8, Duration::from_secs(60)), Arc::new(AtomicU32::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (cache, runs) = (cache.clone(), runs.clone());
        tasks.push(tokio::spawn(async move { cache.get([7; 32], soon(2000), counted(&runs, 100, Ok("v"))).await }));
    }
    let mut served = Vec::new();
    for task in tasks {
        let (value, how) = task.await.unwrap().unwrap();
        assert_eq!(value, "v");
        served.push(how);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(served.iter().filter(|s| **s == Served::Fresh).count(), 1);
    assert_eq!(served.iter().filter(|s| **s == Served::Joined).count(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_waiting_on_a_failing_run_share_its_error() {
    let (cache, runs) = (cache(8, Duration::from_secs(60)), Arc::new(AtomicU32::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (cache, runs) = (cache.clone(), runs.clone());
        tasks.push(tokio::spawn(async move { cache.get([7; 32], soon(2000), counted(&runs, 100, Err("down"))).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(Failure::Failed("down".to_string())));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn past_the_deadline_the_caller_gets_deadline_exceeded_and_the_work_is_dropped() {
    let cache = cache(8, Duration::from_secs(60));
    let finished = Arc::new(AtomicU32::new(0));
    let done = finished.clone();
    let work = async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        done.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>("late".to_string())
    };
    assert_eq!(cache.get([3; 32], soon(50), work).await, Err(Failure::DeadlineExceeded));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0, "abandoned work ran to its end");
    let runs = Arc::new(AtomicU32::new(0));
    let fresh = cache.get([3; 32], soon(1000), counted(&runs, 0, Ok("v"))).await;
    assert_eq!(fresh, Ok(("v".to_string(), Served::Fresh)), "an abandoned run must not be cached");
}

#[tokio::test]
async fn work_is_dropped_once_every_caller_has_gone() {
    let cache = cache(8, Duration::from_secs(60));
    let finished = Arc::new(AtomicU32::new(0));
    let done = finished.clone();
    let work = async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        done.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>("v".to_string())
    };
    // The caller gives up after 20 ms although its deadline is far (the filter cancelled).
    let gave_up = tokio::time::timeout(Duration::from_millis(20), cache.get([4; 32], soon(5000), work)).await;
    assert!(gave_up.is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_with_more_time_keeps_the_work_alive_past_the_first_callers_deadline() {
    let (cache, runs) = (cache(8, Duration::from_secs(60)), Arc::new(AtomicU32::new(0)));
    let first = {
        let (cache, runs) = (cache.clone(), runs.clone());
        tokio::spawn(async move { cache.get([5; 32], soon(100), counted(&runs, 250, Ok("v"))).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let second = cache.get([5; 32], soon(1000), counted(&runs, 250, Ok("other"))).await;
    assert_eq!(first.await.unwrap(), Err(Failure::DeadlineExceeded));
    assert_eq!(second, Ok(("v".to_string(), Served::Joined)));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_panicking_run_is_lost_for_its_callers_and_not_kept() {
    let cache = cache(8, Duration::from_secs(60));
    let work = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        panic!("the work broke");
        #[allow(unreachable_code)]
        Ok::<String, String>(String::new())
    };
    assert_eq!(cache.get([6; 32], soon(1000), work).await, Err(Failure::Lost));
    let runs = Arc::new(AtomicU32::new(0));
    assert_eq!(cache.get([6; 32], soon(1000), counted(&runs, 0, Ok("v"))).await.unwrap().1, Served::Fresh);
}
