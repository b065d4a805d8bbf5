//! `cargo xtask bench throughput`: gp-server on loopback under `wrk` (1 thread, 16
//! connections): job status requests per second with p50/p99 latency, and
//! `BufferSync` executes of 10 points per second. `--quick` (in `cargo xtask ci`,
//! 2 s each, debug build) checks that every answer was a success, not the rates.

use std::process::Command;

use anyhow::{Context, bail};

use crate::cargo;

/// One `wrk` run: requests per second, p50 and p99 in ms, non-2xx answers.
#[derive(Debug)]
struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn ms(text: &str) -> Option<f64> {
    let t = text.trim();
    let (num, scale) = if let Some(v) = t.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = t.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = t.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|v| v * scale)
}

fn parse(out: &str) -> anyhow::Result<Wrk> {
    let find = |prefix: &str| {
        out.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
    };
    let rps = find("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output:\n{out}"))?;
    let p50 = find("50%").and_then(|v| ms(&v)).context("no p50")?;
    let p99 = find("99%").and_then(|v| ms(&v)).context("no p99")?;
    let non_2xx = out
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let socket = out
        .lines()
        .find(|l| l.contains("Socket errors:"))
        .map(|l| {
            l.split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Ok(Wrk {
        rps,
        p50_ms: p50,
        p99_ms: p99,
        errors: non_2xx + socket,
    })
}

fn wrk(url: &str, seconds: u32, script: Option<&std::path::Path>) -> anyhow::Result<Wrk> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c16", "--latency"])
        .arg(format!("-d{seconds}s"));
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd
        .arg(url)
        .output()
        .context("running wrk (apt-get install wrk)")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn points_form() -> String {
    let pts: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"geometry":{{"x":{},"y":48.2}},"attributes":{{}}}}"#,
                16.0 + 0.01 * f64::from(i)
            )
        })
        .collect();
    let fs = format!(
        r#"{{"geometryType":"esriGeometryPoint","spatialReference":{{"wkid":4326}},"features":[{}]}}"#,
        pts.join(",")
    );
    format!(
        "f=json&Input_Features={}&Distance={}",
        form_encode(&fs),
        form_encode("100 meters")
    )
}

/// `application/x-www-form-urlencoded` text of `s`.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn throughput(quick: bool) -> anyhow::Result<()> {
    if Command::new("wrk").arg("-v").output().is_err() {
        crate::ci::install_tools()
            .context("installing wrk (run as root, or apt-get install wrk)")?;
    }
    let mut build = Command::new(cargo());
    build.args(["build", "-q", "-p", "gp-server", "--bin", "gp-server"]);
    if quick {
        build.arg("--all-features");
    } else {
        build.arg("--release");
    }
    if !build.status()?.success() {
        bail!("building gp-server failed");
    }
    let bin = crate::target_dir()
        .join(if quick { "debug" } else { "release" })
        .join("gp-server");
    let data = crate::target_dir()
        .join("bench")
        .join(format!("throughput-data-{}", std::process::id()));
    let (server, v) = crate::interop::start_server(&bin, &["--workers", "4", "--data-dir"], &data)?;
    let base = v["url"].as_str().context("no url")?.to_string();
    // One finished job to ask the status of.
    let client = std::process::Command::new("curl")
        .args(["-sS", "-d", "f=json", "-d", "Seconds=0.1"])
        .arg(format!("{}/GP/Utilities/GPServer/Wait/submitJob", base))
        .output()
        .context("running curl")?;
    let v: serde_json::Value = serde_json::from_slice(&client.stdout).with_context(|| {
        format!(
            "submitJob answered {}",
            String::from_utf8_lossy(&client.stdout)
        )
    })?;
    let job = v["jobId"].as_str().context("no jobId")?;
    let status_url = format!("{}/GP/Utilities/GPServer/Wait/jobs/{job}?f=json", base);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("execute.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.body = \"{}\"\n",
            points_form()
        ),
    )?;
    let seconds = if quick { 2 } else { 10 };
    let status = wrk(&status_url, seconds, None)?;
    let exec = wrk(
        &format!("{}/GP/BufferSync/GPServer/BufferPoints/execute", base),
        seconds,
        Some(&script),
    )?;
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    if status.errors > 0 || exec.errors > 0 {
        bail!("answers that were not successes: status {status:?}, execute {exec:?}");
    }
    println!("| request (wrk, 1 thread, 16 connections, {seconds} s) | requests/s | p50 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| job status | {:.0} | {:.2} ms | {:.2} ms |",
        status.rps, status.p50_ms, status.p99_ms
    );
    println!(
        "| `BufferSync` execute, 10 points | {:.0} | {:.2} ms | {:.2} ms |",
        exec.rps, exec.p50_ms, exec.p99_ms
    );
    let doc = serde_json::json!({
        "quick": quick,
        "status": {"rps": status.rps, "p50_ms": status.p50_ms, "p99_ms": status.p99_ms},
        "execute": {"rps": exec.rps, "p50_ms": exec.p50_ms, "p99_ms": exec.p99_ms},
    });
    std::fs::write(
        dir.join(if quick {
            "throughput-quick.json"
        } else {
            "throughput.json"
        }),
        serde_json::to_string_pretty(&doc)?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read() {
        let out = "Running 2s test @ http://x\n  1 threads and 16 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   366.42us  120.00us   2.00ms   90.00%\n  Latency Distribution\n     50%  340.00us\n     75%  400.00us\n     90%  500.00us\n     99%    1.20ms\n  86000 requests in 2.00s, 40.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  43000.50\nTransfer/sec:     20.00MB\n";
        let w = parse(out).unwrap();
        assert_eq!(w.rps, 43000.5);
        assert!((w.p50_ms - 0.34).abs() < 1e-9);
        assert!((w.p99_ms - 1.2).abs() < 1e-9);
        assert_eq!(w.errors, 3);
        assert_eq!(ms("2.5s"), Some(2500.0));
    }
}
