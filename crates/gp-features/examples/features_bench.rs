//! Helper of `cargo xtask bench features`.
//!
//! - `features_bench points PATH N`: writes an Esri JSON feature set of N points with
//!   three attributes (deterministic).
//! - `features_bench polygons PATH N`: N polygons of 16 vertices, three attributes.
//! - `features_bench convert IN OUT [--sync]`: `gp_features::convert` (with
//!   `--sync`, flushing the output to disk before the rename), then prints the peak
//!   resident memory (`VmHWM`) on stderr.

#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a command-line helper

use std::io::{BufWriter, Write};

fn generate(path: &str, n: usize, polygons: bool) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let gt = if polygons {
        "esriGeometryPolygon"
    } else {
        "esriGeometryPoint"
    };
    write!(
        w,
        r#"{{"objectIdFieldName":"OBJECTID","geometryType":"{gt}","spatialReference":{{"wkid":4326,"latestWkid":4326}},"fields":[{{"name":"OBJECTID","type":"esriFieldTypeOID","alias":"OBJECTID"}},{{"name":"name","type":"esriFieldTypeString","alias":"name","length":32}},{{"name":"value","type":"esriFieldTypeDouble","alias":"value"}}],"features":["#
    )?;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..n {
        if i > 0 {
            w.write_all(b",")?;
        }
        let (x, y) = (-180.0 + 360.0 * next(), -85.0 + 170.0 * next());
        let value = (next() * 1e6).round() / 100.0;
        write!(
            w,
            r#"{{"attributes":{{"OBJECTID":{},"name":"feature {}","value":{value}}},"geometry":"#,
            i + 1,
            i + 1
        )?;
        if polygons {
            w.write_all(br#"{"rings":[["#)?;
            let r = 0.01 + 0.05 * next();
            for k in 0..=16 {
                // Clockwise, closed.
                let a = -(k % 16) as f64 / 16.0 * std::f64::consts::TAU;
                if k > 0 {
                    w.write_all(b",")?;
                }
                write!(w, "[{:.6},{:.6}]", x + r * a.cos(), y + r * a.sin())?;
            }
            w.write_all(b"]]}}")?;
        } else {
            write!(w, r#"{{"x":{x:.6},"y":{y:.6}}}}}"#)?;
        }
    }
    w.write_all(b"]}")?;
    w.flush()
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    match (a.get(1).map(String::as_str), a.len()) {
        (Some("points"), 4) => generate(&a[2], a[3].parse()?, false)?,
        (Some("polygons"), 4) => generate(&a[2], a[3].parse()?, true)?,
        (Some("convert"), 4 | 5) if a.len() == 4 || a[4] == "--sync" => {
            let r = gp_features::convert(
                &a[2],
                &a[3],
                &gp_features::SaveOptions {
                    overwrite: true,
                    sync: a.len() == 5,
                    ..Default::default()
                },
            )?;
            eprintln!(
                "features={} streamed={} peak_rss_kib={}",
                r.output.features,
                r.streamed,
                peak_rss_kib().unwrap_or(0)
            );
        }
        _ => {
            eprintln!("usage: features_bench points|polygons PATH N | convert IN OUT [--sync]");
            std::process::exit(2);
        }
    }
    Ok(())
}
