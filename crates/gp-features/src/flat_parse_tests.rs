//! Tests of the fast reader: it agrees with gp-model's complete reader, on chosen
//! features and on mutations of them, and its floats are the correctly rounded ones.

use super::*;
use gp_model::FeatureSet;

fn schema() -> FlatSchema {
    let fs = FeatureSet::from_json(
        r#"{"geometryType":"esriGeometryPolygon","fields":[{"name":"OBJECTID","type":"esriFieldTypeOID"},{"name":"name","type":"esriFieldTypeString"},{"name":"v","type":"esriFieldTypeDouble"}],"features":[]}"#,
    )
    .unwrap();
    FlatSchema::new(&fs)
}

/// Parses `text` with the fast path (when it applies) and by flattening the
/// complete reader's feature, and checks both give the same batch.
fn same(text: &str, dims: Dims) {
    let s = schema();
    let p = std::path::Path::new("t.json");
    let mut fast = FlatBatch::new(&s, 0);
    fast.parse(&s, text.as_bytes(), dims, 0, p, &Fixes::default())
        .unwrap();
    let mut full = FlatBatch::new(&s, 0);
    let f = gp_model::feature_from_slice(text.as_bytes(), dims, 0).unwrap();
    full.push(&s, &f, &Fixes::default());
    assert_eq!(fast.attr_values(), full.attr_values(), "{text}");
    let mut fe: Vec<_> = fast.extras.clone();
    let mut ue: Vec<_> = full.extras.clone();
    fe.sort_by(|a, b| a.1.cmp(&b.1));
    ue.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(fe, ue, "{text}");
    let (a, b) = (fast.get(0), full.get(0));
    assert_eq!(
        a.geometry
            .map(|g| (g.kind, g.parts().map(<[Coord]>::to_vec).collect::<Vec<_>>())),
        b.geometry
            .map(|g| (g.kind, g.parts().map(<[Coord]>::to_vec).collect::<Vec<_>>())),
        "{text}"
    );
}

#[test]
fn fast_and_complete_readers_agree() {
    let d2 = Dims::default();
    for t in [
        r#"{"attributes":{"OBJECTID":1,"name":"a","v":1.5},"geometry":{"x":1,"y":2}}"#,
        r#"{"geometry":{"y":-2.5e3,"x":1E2},"attributes":{"name":null,"extra":true}}"#,
        r#"{"attributes":{"name":"\u00e9\"q","v":-0},"geometry":null}"#,
        r#"{"attributes":{"OBJECTID":18446744073709551615,"v":12345678901234567890}}"#,
        r#"{"attributes":{"name":[1,2]},"geometry":{"points":[[1,2],[3,4]]}}"#,
        r#"{"geometry":{"points":[]}}"#,
        r#"{"geometry":{"paths":[[[0,0],[1,1]],[[2,2],[3,3],[4,4]]]}}"#,
        r#"{"geometry":{"rings":[[[0,0],[0,10],[10,10],[10,0],[0,0]],[[2,2],[4,2],[4,4],[2,2]]]}}"#,
        r#"{"geometry":{"rings":[]}}"#,
        r#"{"geometry":{"rings":[[]]}}"#,
        r#"{"geometry":{"x":"NaN","y":null}}"#,
        r#"{"geometry":{"x":1,"y":2,"z":3}}"#,
        r#"{"geometry":{"xmin":0,"ymin":0,"xmax":2,"ymax":1}}"#,
        r#"{"geometry":{}}"#,
        r#"{"geometry":{"curvePaths":[[[0,0],{"c":[[2,0],[1,1]]}]]}}"#,
        r#"{"geometry":{"paths":[[[0,0,5],[1,1,6]]],"hasZ":true}}"#,
        r#" { "attributes" : { "name" : "x y" } , "geometry" : { "x" : 0.1 , "y" : 0.2 } } "#,
        r#"{"attributes":{"v":0.30000000000000004,"name":"tab\tin"}}"#,
        r#"{}"#,
    ] {
        same(t, d2);
    }
    same(
        r#"{"geometry":{"x":1,"y":2,"z":3},"attributes":{"v":1}}"#,
        Dims {
            has_z: true,
            has_m: false,
        },
    );
}

#[test]
fn plain_features_take_the_fast_path() {
    let s = schema();
    for t in [
        r#"{"attributes":{"OBJECTID":1,"name":"a","v":1.5},"geometry":{"x":1,"y":2}}"#,
        r#"{"attributes":{"other":-3e-2},"geometry":{"rings":[[[0,0],[0,1],[1,1],[0,0]]]}}"#,
        r#"{"geometry":{"paths":[[[0,0],[1,1]]]},"attributes":null}"#,
        r#"{"geometry":null}"#,
    ] {
        let mut b = FlatBatch::new(&s, 0);
        let mut p = Parser {
            b: t.as_bytes(),
            i: 0,
        };
        assert!(p.feature(&mut b, &s).is_ok() && p.end(), "{t}");
    }
}

/// The fast reader never accepts what the complete reader refuses, and never reads
/// it differently: random features, and random one-byte edits of them.
#[test]
fn fast_reader_agrees_with_the_complete_one_on_mutations() {
    let s = schema();
    let p = std::path::Path::new("t.json");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let alphabet = b" \t\n{}[]:,\"\\-+.eE0123456789xyatrnulfsNa";
    let (mut accepted, mut refused) = (0, 0);
    for k in 0..4000 {
        let num = |r: u64| match r % 4 {
            0 => format!("{}", r as i64 - 50),
            1 => format!("{:.3}", r as f64 / 7.0),
            2 => format!("{}e{}", r % 9, r % 5),
            _ => format!("-{}.{}", r % 100, r % 7),
        };
        let geometry = match next(5) {
            0 => format!(r#"{{"x":{},"y":{}}}"#, num(next(1000)), num(next(1000))),
            1 => format!(
                r#"{{"points":[[{},{}],[1,2]]}}"#,
                num(next(99)),
                num(next(99))
            ),
            2 => format!(
                r#"{{"paths":[[[0,0],[{},{}]]]}}"#,
                num(next(99)),
                num(next(99))
            ),
            3 => r#"{"rings":[[[0,0],[0,1],[1,1],[0,0]],[[5,5],[6,5],[5,6],[5,5]]]}"#.to_string(),
            _ => "null".to_string(),
        };
        let text = format!(
            r#"{{"attributes":{{"OBJECTID":{k},"name":"n{k}","v":{},"other":{}}},"geometry":{geometry}}}"#,
            num(next(1000)),
            ["true", "null", "\"s\"", "1.5"][next(4) as usize]
        );
        let mut bytes = text.into_bytes();
        if k % 4 != 0 {
            let at = next(bytes.len() as u64) as usize;
            match next(3) {
                0 => bytes[at] = alphabet[next(alphabet.len() as u64) as usize],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, alphabet[next(alphabet.len() as u64) as usize]),
            }
        }
        let mut fast = FlatBatch::new(&s, 0);
        let got = fast.parse(&s, &bytes, Dims::default(), 0, p, &Fixes::default());
        let full = gp_model::feature_from_slice(&bytes, Dims::default(), 0);
        let text = String::from_utf8_lossy(&bytes);
        match (got, full) {
            (Ok(()), Ok(f)) => {
                accepted += 1;
                let mut whole = FlatBatch::new(&s, 0);
                whole.push(&s, &f, &Fixes::default());
                assert_eq!(fast.attr_values(), whole.attr_values(), "{text}");
                let parts = |b: &FlatBatch| {
                    b.get(0)
                        .geometry
                        .map(|g| (g.kind, g.parts().map(<[Coord]>::to_vec).collect::<Vec<_>>()))
                };
                assert_eq!(parts(&fast), parts(&whole), "{text}");
            }
            (Err(_), Err(_)) => refused += 1,
            (a, b) => panic!("{text}: fast {a:?}, complete {:?}", b.map(|_| ())),
        }
    }
    assert!(
        accepted > 1000 && refused > 300,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn errors_come_from_the_complete_reader() {
    let s = schema();
    let p = std::path::Path::new("t.json");
    for bad in [
        r#"{"geometry":{"x":1e999,"y":2}}"#,
        r#"{"geometry":{"paths":[[[0]]]}}"#,
        r#"{"attributes":{"a":01}}"#,
        r#"{"attributes":{"a":1},"geometry":{"x":1,"y":2}"#,
        r#"{"attributes":{"a":+1}}"#,
        "{\"attributes\":{\"name\":\"tab\tin\"}}",
    ] {
        let mut b = FlatBatch::new(&s, 0);
        let e = b.parse(&s, bad.as_bytes(), Dims::default(), 0, p, &Fixes::default());
        assert!(e.is_err(), "{bad} was accepted");
        assert_eq!(b.len(), 0, "{bad}");
    }
}

#[test]
fn fast_floats_are_the_correctly_rounded_ones() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut texts: Vec<String> = [
        "0",
        "-0",
        "0.1",
        "0.30000000000000004",
        "129.545331",
        "-17.968772",
        "1e22",
        "1e-22",
        "9007199254740993",
        "9007199254740992",
        "123456789012345678",
        "1.5e300",
        "4.9e-324",
        "2.2250738585072014e-308",
        "0.000001",
        "-180.000000",
        "1E2",
        "1e+2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for _ in 0..20000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let digits = (seed % 10_000_000_000_000_000) as f64;
        let scale = (seed >> 59) as i32 - 8;
        texts.push(format!("{}", digits * 10f64.powi(scale)));
        texts.push(format!(
            "{:.6}",
            (seed >> 11) as f64 / (1u64 << 53) as f64 * 360.0 - 180.0
        ));
    }
    for t in &texts {
        let want: f64 = t.parse().unwrap();
        let got = parse_f64(t.as_bytes()).unwrap_or(f64::NAN);
        assert_eq!(got.to_bits(), want.to_bits(), "{t}");
    }
    // The one-pass reading of coordinates gives what the two steps give, and stops
    // at the same place, or refuses the same texts.
    let odd = [
        "0",
        "-0",
        "01",
        "-01",
        "1.",
        "-",
        ".5",
        "1e5",
        "1.5E-3",
        "00",
        "0.0",
        "-0.000",
        "12345678901234567890",
        "9007199254740993",
        "9007199254740992.5",
        "0.00000000000000000000001",
        "1.5,",
        "2]",
        "7x",
    ];
    for t in texts.iter().map(String::as_str).chain(odd) {
        let mut one = Parser {
            b: t.as_bytes(),
            i: 0,
        };
        let mut two = Parser {
            b: t.as_bytes(),
            i: 0,
        };
        let a = one.f64().map(f64::to_bits).ok();
        let b = two
            .number()
            .and_then(|(n, _)| parse_f64(n).map_err(|_| Fallback))
            .map(f64::to_bits)
            .ok();
        assert_eq!(a, b, "{t}");
        if a.is_some() {
            assert_eq!(one.i, two.i, "{t}");
        }
    }
}
