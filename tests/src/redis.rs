//! A private `redis-server` for a test: on a free loopback port, in a temp dir of its own, with
//! persistence off (`--save '' --appendonly no`), so nothing depends on a system service. It can
//! be stopped and started again on the same port (to test what happens while Redis is away), and
//! is killed on drop. `make setup` installs `redis-server` from Debian; `WARDEN_REDIS_SERVER`
//! names another binary.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// `WARDEN_REDIS_SERVER`, else `redis-server` on `PATH`.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("WARDEN_REDIS_SERVER") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("redis-server")).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!("redis-server not found on PATH; run `make setup` (apt-get install redis-server) or set WARDEN_REDIS_SERVER")
    })
}

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// More `redis-server` arguments (`--requirepass …`), kept for restarts.
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers `PING`.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// The same, with more `redis-server` arguments.
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("warden-redis-{}-{id}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("redis temp dir");
        let extra = extra.iter().map(|a| a.to_string()).collect();
        let mut server = RedisServer { child: None, port: free_port(), dir, extra };
        server.launch();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the server (as a crash would) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty (there is no persistence).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Sends one command in the inline protocol and returns the raw reply (for tests that
    /// check what Redis holds without going through the sidecar).
    pub fn command(&self, line: &str) -> String {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to redis");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("read timeout");
        stream.write_all(format!("{line}\r\n").as_bytes()).expect("write to redis");
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).expect("read from redis");
        String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned()
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.join("redis.log")).expect("redis log file");
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("redis log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                    panic!("redis-server exited ({status}) before answering; its log:\n{log}");
                }
            }
            if ping(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING within 15 s", self.port);
    }
}

fn ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    // `-NOAUTH` from a server started with `--requirepass` is an answer too.
    matches!(stream.read(&mut buf), Ok(n) if buf.get(..n).is_some_and(|b| b.starts_with(b"+PONG") || b.starts_with(b"-NOAUTH")))
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("WARDEN_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
