//! The mock LLM provider. `mock_provider [PORT]` (or env `MOCK_PORT`; 0 = pick one) on 127.0.0.1
//! (env `MOCK_HOST` for another address: `0.0.0.0` in a container, examples/docker-compose). Prints
//! `LISTENING <port>` on stdout once it accepts connections. With `--exit-on-stdin-eof` it exits
//! when its stdin closes, so a harness that dies without cleaning up does not leave it behind.

use std::io::Write;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--exit-on-stdin-eof") {
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    let port: u16 = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .or_else(|| std::env::var("MOCK_PORT").ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let host = std::env::var("MOCK_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mock_provider: cannot listen on {host}:{port}: {e}");
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    println!("LISTENING {port}");
    let _ = std::io::stdout().flush();
    let state = warden_e2e::mock::State::new(warden_e2e::mock::default_fixtures_dir());
    warden_e2e::mock::serve(listener, state).await;
}
