//! Feature outputs in memory (run by `cargo xtask bench featureset`):
//!
//! - `featureset_bench generate PATH N`: writes a job output (`results/<param>`
//!   answer: a GP result parameter whose value is a feature set) of N polygons of
//!   8 to 40 vertices with three attributes, as ArcGIS writes them.
//! - `featureset_bench decode PATH RUNS`: decodes it into a typed
//!   `ResultParameter` (what `GpResult::output` returns) RUNS times and prints the
//!   median decode time (the file is read before the clock starts) as JSON.
#![allow(clippy::print_stdout)] // reason: a benchmark prints its results

use std::io::Write;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn generate(path: &str, n: usize) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(
        out,
        r#"{{"paramName":"Output_Polygons","dataType":"GPFeatureRecordSetLayer","value":{{"displayFieldName":"","geometryType":"esriGeometryPolygon","spatialReference":{{"wkid":4326,"latestWkid":4326}},"fields":[{{"name":"OBJECTID","type":"esriFieldTypeOID","alias":"OBJECTID"}},{{"name":"Name","type":"esriFieldTypeString","alias":"Name","length":64}},{{"name":"BUFF_DIST","type":"esriFieldTypeDouble","alias":"BUFF_DIST"}}],"features":["#
    )?;
    for i in 0..n {
        if i > 0 {
            out.write_all(b",")?;
        }
        let (cx, cy) = (-170.0 + (i % 340) as f64, -80.0 + ((i / 340) % 160) as f64);
        let k = 8 + i % 33;
        let mut ring = String::new();
        for j in 0..=k {
            let a = std::f64::consts::TAU * (j % k) as f64 / k as f64;
            if j > 0 {
                ring.push(',');
            }
            ring.push_str(&format!(
                "[{:.6},{:.6}]",
                cx + 0.4 * a.cos(),
                cy + 0.4 * a.sin()
            ));
        }
        write!(
            out,
            r#"{{"attributes":{{"OBJECTID":{},"Name":"feature {i}","BUFF_DIST":{}.5}},"geometry":{{"rings":[[{ring}]]}}}}"#,
            i + 1,
            i % 100
        )?;
    }
    write!(out, r#"],"exceededTransferLimit":false}}}}"#)?;
    out.flush()?;
    Ok(())
}

fn decode(path: &str, runs: usize) -> Result<()> {
    let bytes = std::fs::read(path)?;
    let mut times = Vec::new();
    let mut features = 0;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let r: gp_model::ResultParameter = gp_model::from_json_slice("result parameter", &bytes)?;
        times.push(t.elapsed().as_secs_f64());
        if let gp_model::GpValue::FeatureSet(fs) = &r.value {
            features = fs.features.len();
        }
        drop(r);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"median_s\": {}, \"features\": {features}}}",
        times[times.len() / 2]
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (
        args.first().map(String::as_str),
        args.get(1),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) {
        (Some("generate"), Some(path), Some(n)) => generate(path, n),
        (Some("decode"), Some(path), Some(runs)) => decode(path, runs),
        _ => Err("usage: featureset_bench generate PATH N | decode PATH RUNS".into()),
    }
}
