//! Streaming Esri JSON reading: the header keys are parsed once, then the `features`
//! array is cut into one slice per feature by a small byte scanner (`cut`) and each
//! slice is parsed on its own, so memory stays bounded by one read buffer, whatever
//! the file size. Feature slices are parsed in parallel batches (rayon), in order.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use gp_model::{Dims, Feature, FeatureSet, feature_from_slice};
use rayon::prelude::*;

use crate::cut::{Raw, Sender, cut_array};
use crate::error::{Result, fmt_err, io};
use crate::flat::{FlatBatch, FlatSchema};
use crate::repair::Fixes;
use crate::sink::{Encoded, Encoder, Sink, not_started, write_feature};
use crate::walk::{Buf, CHUNK, expect, header_key, key, read_header, skip_value};

/// Streams an Esri JSON feature set from `path` into `sink`: its schema first, then
/// each feature in order. Returns the number of features and the schema. Reading and
/// parsing run on a second thread (parsing batches in parallel), overlapping with the
/// writing. A sink with an [`Encoder`] gets flat batches, parsed and encoded together
/// in parallel; others get features. `None` when the file cannot be streamed: a
/// schema key (`hasZ`, `fields`, ...) stands after the features array.
pub(crate) fn read_esri_json(
    path: &Path,
    sink: &mut Sink,
    fixes: &Fixes,
) -> Result<Option<(usize, FeatureSet)>> {
    let err = fmt_err(path, "Esri JSON");
    let (header, tail_checked) = match read_header(path, sink.needs_trailing_keys())? {
        Some(h) => h,
        None => return Err(err("no `features` array".into())),
    };
    let source = move |tx: &Sender, flag: &AtomicBool| produce(path, tx, tail_checked, Some(flag));
    let (n, exceeded) = match run_stream(path, sink, fixes, &header, source) {
        // A feature can fail only because a schema key after the array was not known
        // yet (`hasZ` for 3-value coordinates): then the file is read whole instead.
        Err(e) if !tail_checked => match read_header(path, true)? {
            Some((whole, _)) if !same_schema(&whole, &header) => return Ok(None),
            _ => return Err(e),
        },
        other => other?,
    };
    Ok(counted(n, header, exceeded))
}

/// Starts `sink` with `header` and streams the features `source` cuts (see
/// [`pipeline`]); `source` sets the flag when `exceededTransferLimit: true` follows
/// the features. Returns the count (see [`streamed`]) and that flag.
fn run_stream(
    path: &Path,
    sink: &mut Sink,
    fixes: &Fixes,
    header: &FeatureSet,
    source: impl FnOnce(&Sender, &AtomicBool) -> Result<bool> + Send,
) -> Result<(Option<usize>, bool)> {
    sink.start(header)?;
    let dims = Dims {
        has_z: header.has_z,
        has_m: header.has_m,
    };
    let exceeded = AtomicBool::new(header.exceeded_transfer_limit == Some(true));
    let flag = &exceeded;
    let n = streamed(path, sink, fixes, header, dims, move |tx: &Sender| {
        source(tx, flag)
    })?;
    Ok((n, exceeded.load(Ordering::Relaxed)))
}

/// The count and the schema, marked when the server cut the features short.
fn counted(
    n: Option<usize>,
    mut header: FeatureSet,
    exceeded: bool,
) -> Option<(usize, FeatureSet)> {
    if exceeded {
        header.exceeded_transfer_limit = Some(true);
    }
    n.map(|n| (n, header))
}

/// Streams an Esri JSON feature set read once from `r` (an HTTP body, a pipe) into
/// `sink`, as [`read_esri_json`] does from a file; `label` names the source in errors.
/// A GP result parameter (`{"paramName", "dataType", "value": {...}}`) is read through
/// to its `value`. A stream cannot be read twice, so `None` (nothing given to the
/// sink) when the object has no `features` (a layer reference, a map image: not a
/// feature set), when `geometryType` and `fields` do not both come before the features, or
/// when the sink needs the keys after them; `None` after the sink started when a
/// schema key follows the features (then the output must be dropped). The schema
/// returned has `exceeded_transfer_limit` set when the server said so after the
/// features.
pub(crate) fn read_esri_json_reader<R: Read + Send>(
    r: R,
    label: &Path,
    sink: &mut Sink,
    fixes: &Fixes,
) -> Result<Option<(usize, FeatureSet)>> {
    let err = fmt_err(label, "Esri JSON");
    let mut b = Buf::new(r, CHUNK);
    expect(&mut b, b'{', label)?;
    let mut obj = String::from("{");
    let mut seen = std::collections::HashSet::new();
    let mut inside_value = false;
    loop {
        if b.peek().map_err(io("reading", label))? == Some(b'}') {
            // Not a feature set (a layer reference, a map image): not streamable.
            return Ok(None);
        }
        let k = key(&mut b, label)?;
        if k == "features" {
            break;
        }
        if k == "value" && !inside_value && b.peek().map_err(io("reading", label))? == Some(b'{') {
            // A GP result: the feature set is the value; the keys so far were the
            // result's own.
            b.pos += 1;
            inside_value = true;
            obj.truncate(1);
            seen.clear();
            continue;
        }
        header_key(&mut b, k, &mut obj, &mut seen, label)?;
        match b.peek().map_err(io("reading", label))? {
            Some(b',') => b.pos += 1,
            Some(b'}') => return Ok(None),
            _ => return Err(err("the top-level object is malformed".into())),
        }
    }
    if seen.len() < 2 || sink.needs_trailing_keys() {
        return Ok(None);
    }
    obj.push('}');
    let header = FeatureSet::from_json(&obj).map_err(|e| err(e.to_string()))?;
    expect(&mut b, b'[', label)?;
    let source = move |tx: &Sender, flag: &AtomicBool| cut_array(b, label, tx, false, Some(flag));
    let (n, exceeded) = run_stream(label, sink, fixes, &header, source)?;
    Ok(counted(n, header, exceeded))
}

/// True when the keys that shape reading and writing are the same.
fn same_schema(a: &FeatureSet, b: &FeatureSet) -> bool {
    a.geometry_type == b.geometry_type
        && a.fields == b.fields
        && a.spatial_reference == b.spatial_reference
        && a.has_z == b.has_z
        && a.has_m == b.has_m
}

/// Cuts the `features` array of the JSON object in `path` (Esri JSON, or a GeoJSON
/// FeatureCollection) into feature texts on a reading thread and calls
/// `each(data, ranges, first)` for each batch on this one: `data[ranges[k]]` is feature
/// `first + k`.
pub(crate) fn for_each_batch(
    path: &Path,
    mut each: impl FnMut(&[u8], &[(usize, usize)], usize) -> Result<()>,
) -> Result<()> {
    pipeline(
        path,
        |tx: &Sender| produce(path, tx, true, None),
        |data, ranges, index| Ok((data.to_vec(), ranges.to_vec(), index)),
        |(data, ranges, index): (Vec<u8>, Vec<(usize, usize)>, usize)| {
            each(&data, &ranges, index)?;
            Ok(ranges.len())
        },
    )
    .map(|_| ())
}

/// The streaming run of [`read_esri_json`]: `source` sends the feature texts (see
/// [`pipeline`]); `path` names the input in errors.
fn streamed(
    path: &Path,
    sink: &mut Sink,
    fixes: &Fixes,
    header: &FeatureSet,
    dims: Dims,
    source: impl FnOnce(&Sender) -> Result<bool> + Send,
) -> Result<Option<usize>> {
    let err = fmt_err(path, "Esri JSON");
    Ok(match sink {
        Sink::Batches(sink) => {
            let enc = sink.encoder().ok_or_else(not_started)?;
            let schema = FlatSchema::new(header);
            let enc: &dyn Encoder = enc.as_ref();
            let keep = sink.reads_batches();
            let spare = std::sync::Mutex::new(Vec::new());
            let parse = |data: &[u8], ranges: &[(usize, usize)], index: usize| {
                let to = Flat {
                    schema: &schema,
                    dims,
                    enc,
                    spare: (!keep).then_some(&spare),
                    path,
                    fixes,
                };
                parse_flat(data, ranges, index, &to)
            };
            pipeline(path, source, parse, |batches: Vec<(FlatBatch, Encoded)>| {
                let mut n = 0;
                for (b, e) in batches {
                    n += e.ends.len();
                    sink.encoded(&b, e)?;
                }
                Ok(n)
            })?
        }
        Sink::Features(sink) => {
            let parse = |data: &[u8], ranges: &[(usize, usize)], index: usize| {
                ranges
                    .par_iter()
                    .enumerate()
                    .map(|(k, &(s, e))| {
                        feature_from_slice(&data[s..e], dims, index + k)
                            .map_err(|x| err(x.to_string()))
                    })
                    .collect::<Result<Vec<Feature>>>()
            };
            let mut index = 0;
            pipeline(path, source, parse, |b: Vec<Feature>| {
                for f in &b {
                    write_feature(sink.as_mut(), f, index, fixes)?;
                    index += 1;
                }
                Ok(b.len())
            })?
        }
    })
}

/// How [`parse_flat`] parses and encodes.
struct Flat<'a> {
    schema: &'a FlatSchema,
    dims: Dims,
    enc: &'a dyn Encoder,
    /// When the sink does not read the batches (see [`crate::sink::BatchWriter::reads_batches`]):
    /// emptied batches, whose buffers are used again (growing new ones costs copies).
    spare: Option<&'a std::sync::Mutex<Vec<FlatBatch>>>,
    path: &'a Path,
    fixes: &'a Fixes,
}

/// Parses and encodes the features `ranges` of `data` (the first being feature
/// `index`) in parallel, in slices of consecutive features, keeping their order.
/// With `to.spare`, each slice's batch goes back there once encoded and an empty
/// one is returned in its place.
fn parse_flat(
    data: &[u8],
    ranges: &[(usize, usize)],
    index: usize,
    to: &Flat<'_>,
) -> Result<Vec<(FlatBatch, Encoded)>> {
    let per = ranges
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(64);
    let take_spare = |first: usize| {
        let mut b = to
            .spare
            .and_then(|s| s.lock().ok()?.pop())
            .unwrap_or_else(|| FlatBatch::new(to.schema, first));
        b.reuse(first);
        b
    };
    ranges
        .par_chunks(per)
        .enumerate()
        .map(|(c, chunk)| {
            let first = index + c * per;
            let mut b = take_spare(first);
            for (k, &(s, e)) in chunk.iter().enumerate() {
                b.parse(
                    to.schema,
                    &data[s..e],
                    to.dims,
                    first + k,
                    to.path,
                    to.fixes,
                )?;
            }
            // Room for about what the text took (the encodings come close to it), so
            // the output does not grow by copies.
            let text: usize = chunk.iter().map(|&(s, e)| e - s).sum();
            let mut out = Encoded::default();
            out.bytes.reserve(text + text / 4);
            out.ends.reserve(chunk.len());
            out.boxes.reserve(chunk.len());
            to.enc.encode(&b, &mut out)?;
            match to.spare {
                None => Ok((b, out)),
                Some(spare) => {
                    b.reuse(first);
                    if let Ok(mut s) = spare.lock() {
                        s.push(b);
                    }
                    Ok((FlatBatch::new(to.schema, first), out))
                }
            }
        })
        .collect()
}

/// Runs three stages at once: a reading thread (`source`) cuts the features array
/// into batches of feature texts; a parsing thread turns each into a `T` with `parse`
/// (in parallel inside); this thread hands each `T` to `take`, in order. Returns the
/// sum of what `take` returns, or `None` when a schema key follows the features array
/// (`source` returned false).
fn pipeline<T: Send>(
    path: &Path,
    source: impl FnOnce(&Sender) -> Result<bool> + Send,
    parse: impl Fn(&[u8], &[(usize, usize)], usize) -> Result<T> + Sync,
    mut take: impl FnMut(T) -> Result<usize>,
) -> Result<Option<usize>> {
    let failed = || fmt_err(path, "Esri JSON")("the reading thread failed".into());
    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Raw>(1);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T>>(1);
        let parse = &parse;
        let reader = scope.spawn(move || source(&raw_tx));
        let parser = scope.spawn(move || {
            for raw in raw_rx {
                let parsed = parse(&raw.data, &raw.ranges, raw.index);
                let bad = parsed.is_err();
                // A closed channel means the writer stopped: stop too (which stops
                // the reader at its next send).
                if tx.send(parsed).is_err() || bad {
                    return;
                }
            }
        });
        let mut n = 0usize;
        let mut failure = None;
        for batch in rx {
            match batch.and_then(&mut take) {
                Ok(k) => n += k,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // The receiver is gone with the loop: a parser waiting to send stops.
        let parsed = parser.join();
        let read = reader.join();
        match (failure, parsed, read) {
            (Some(e), _, _) => Err(e),
            (None, Ok(()), Ok(r)) => r.map(|ok| ok.then_some(n)),
            _ => Err(failed()),
        }
    })
}

/// Reads the features array and sends batches of feature texts, in order. The read
/// buffer itself is sent (only an unfinished feature at its end is copied into the
/// next one). Returns false when a schema key follows the array and `tail_checked`
/// (the header was read without looking past the array).
fn produce(
    path: &Path,
    tx: &Sender,
    tail_checked: bool,
    exceeded: Option<&AtomicBool>,
) -> Result<bool> {
    let err = fmt_err(path, "Esri JSON");
    let f = std::fs::File::open(path).map_err(io("opening", path))?;
    let mut b = Buf::new(f, CHUNK * 2);
    // Walk the top-level object to the `features` array.
    expect(&mut b, b'{', path)?;
    loop {
        let key = key(&mut b, path)?;
        if key == "features" {
            break;
        }
        skip_value(&mut b, path)?;
        match b.peek().map_err(io("reading", path))? {
            Some(b',') => b.pos += 1,
            _ => return Err(err("no `features` array".into())),
        }
    }
    expect(&mut b, b'[', path)?;
    cut_array(b, path, tx, tail_checked, exceeded)
}
