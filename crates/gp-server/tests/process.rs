//! The `gp-server` binary as an operator runs it: out of file descriptors under a TLS
//! connection flood, stopped with SIGTERM, users from a file and the environment (no
//! password in `ps`), failed sign-ins logged without the password.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Running {
    child: Child,
    url: String,
    data_dir: PathBuf,
    cert: Option<PathBuf>,
    log: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary through `sh` with a descriptor limit, logging to `log`; waits
/// for its start line.
fn start(fd_limit: u32, args: &[&str], env: &[(&str, &str)], log: &Path) -> Running {
    let bin = env!("CARGO_BIN_EXE_gp-server");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {fd_limit} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!(
            "start line {line:?}: {e}; log: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        )
    });
    Running {
        child,
        url: v["url"].as_str().unwrap().to_string(),
        data_dir: PathBuf::from(v["dataDir"].as_str().unwrap()),
        cert: v["cert"].as_str().map(PathBuf::from),
        log: log.to_path_buf(),
    }
}

fn base(r: &Running) -> String {
    r.url.trim_end_matches("/arcgis/rest/services").to_string()
}

fn terminate(r: &mut Running) -> std::process::ExitStatus {
    let pid = r.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let t = Instant::now();
    loop {
        if let Some(s) = r.child.try_wait().unwrap() {
            return s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "SIGTERM did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_accept_loop_backs_off_when_descriptors_run_out() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("server.log");
    let srv = start(
        128,
        &[
            "--tls",
            "--max-connections",
            "5000",
            "--tls-handshake-timeout-secs",
            "2",
        ],
        &[],
        &log,
    );
    let addr: std::net::SocketAddr = srv
        .url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // 400 connections that never start a handshake: the server runs out of descriptors.
    let mut flood = Vec::new();
    for _ in 0..400 {
        flood.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let logged = std::fs::metadata(&log).unwrap().len();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("accepting a connection failed"),
        "the flood did not exhaust descriptors: {text}"
    );
    // Before: 600 MB of log in 18 s. Now a line every few seconds.
    assert!(logged < 64 * 1024, "{logged} bytes of log in 3 s");
    drop(flood);
    // Served again once the flood is gone.
    let pem = std::fs::read(srv.cert.as_ref().unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let t = Instant::now();
    loop {
        match http.get(format!("{}?f=json", srv.url)).send().await {
            Ok(r) if r.status() == 200 => break,
            other => assert!(
                t.elapsed() < Duration::from_secs(15),
                "not served after the flood: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn token(http: &reqwest::Client, base: &str, user: &str, pass: &str) -> Value {
    http.post(format!("{base}/arcgis/tokens/generateToken"))
        .form(&[("f", "json"), ("username", user), ("password", pass)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_and_passwords_stay_out_of_argv_and_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let users = tmp.path().join("users.txt");
    std::fs::write(&users, "# users\nann:file-pw\n\n").unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("server.log");
    let users_arg = users.to_str().unwrap().to_string();
    let data_arg = data.to_str().unwrap().to_string();
    let mut srv = start(
        4096,
        &["--token-auth-file", &users_arg, "--data-dir", &data_arg],
        &[("GP_SERVER_TOKEN_AUTH", "bob:env-pw")],
        &log,
    );
    // No password on the command line.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", srv.child.id())).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(
        !cmdline.contains("file-pw") && !cmdline.contains("env-pw"),
        "{cmdline}"
    );
    let http = reqwest::Client::new();
    let b = base(&srv);
    let ann = token(&http, &b, "ann", "file-pw").await;
    assert!(ann["token"].is_string(), "{ann}");
    assert!(token(&http, &b, "bob", "env-pw").await["token"].is_string());
    // A failed sign-in is logged with the user, never the password.
    let v = token(&http, &b, "ann", "wrong-guess-123").await;
    assert_eq!(v["error"]["code"], 400, "{v}");
    // A job running when SIGTERM comes is recorded as stopped.
    let t = ann["token"].as_str().unwrap();
    let v: Value = http
        .post(format!("{}/GP/Utilities/GPServer/Wait/submitJob", srv.url))
        .form(&[("f", "json"), ("Seconds", "60"), ("token", t)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["jobId"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let job = format!(
        "{}/GP/Utilities/GPServer/Wait/jobs/{id}?f=json&token={t}",
        srv.url
    );
    let started = Instant::now();
    loop {
        let v: Value = http.get(&job).send().await.unwrap().json().await.unwrap();
        if v["jobStatus"] == "esriJobExecuting" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = terminate(&mut srv);
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&srv.log).unwrap();
    assert!(
        text.contains("invalid username or password") && text.contains("ann"),
        "{text}"
    );
    assert!(
        !text.contains("wrong-guess-123") && !text.contains("file-pw"),
        "{text}"
    );
    let record = std::fs::read_to_string(
        data.join("arcgisjobs")
            .join("gp_utilities_gpserver")
            .join(&id)
            .join("job.json"),
    )
    .unwrap();
    assert!(
        record.contains("esriJobFailed") && record.contains("server stopped"),
        "{record}"
    );
    // Without --data-dir, the temporary data directory goes with the server.
    let mut srv = start(4096, &[], &[], &tmp.path().join("second.log"));
    assert!(srv.data_dir.is_dir());
    assert!(terminate(&mut srv).success());
    assert!(
        !srv.data_dir.exists(),
        "{} is left behind",
        srv.data_dir.display()
    );
}
