//! The mix of jobs: which tool each logical job runs, drawn from the seed.

use gp_features::Format;

/// What one logical job does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// `Utilities/Wait` for this many seconds; its `Elapsed` output is fetched.
    Wait(f64),
    /// `BufferByVal/BufferPoints` (submitJob), the output saved in this format.
    BufferAsync(Format),
    /// `BufferSync/BufferPoints` (execute), the output saved in this format.
    BufferSync(Format),
    /// `SlopeByVal/RunSlope` on the sample DEM, the raster downloaded.
    Slope,
    /// `Utilities/Fail`: must end failed.
    Fail,
    /// `Utilities/Wait` of 5 s cancelled by the client after 0.3 s.
    Cancel,
}

impl Kind {
    /// A short name for tables.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Kind::Wait(_) => "wait",
            Kind::BufferAsync(_) => "buffer-async",
            Kind::BufferSync(_) => "buffer-sync",
            Kind::Slope => "slope",
            Kind::Fail => "fail",
            Kind::Cancel => "cancel",
        }
    }

    /// How long the job runs on the server, roughly.
    pub(crate) fn length_secs(&self) -> f64 {
        match self {
            Kind::Wait(s) => *s,
            Kind::Cancel => 5.0,
            _ => 0.5,
        }
    }
}

/// SplitMix64, as the server's fault decisions use.
pub(crate) fn splitmix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const FORMATS: [Format; 4] = [
    Format::FlatGeobuf,
    Format::GeoJson,
    Format::Shapefile,
    Format::GeoPackage,
];

/// The kind of logical job `i` (mix in percent: Wait 30 (0.2, 1 and 2 s), buffer
/// async 20, buffer sync 15, slope 15, fail 10, cancel 10).
pub(crate) fn kind(seed: u64, i: usize) -> Kind {
    let r = splitmix(seed ^ 0x5eed, i as u64);
    let format = FORMATS[(r >> 32) as usize % FORMATS.len()];
    match r % 100 {
        0..15 => Kind::Wait(0.2),
        15..25 => Kind::Wait(1.0),
        25..30 => Kind::Wait(2.0),
        30..50 => Kind::BufferAsync(format),
        50..65 => Kind::BufferSync(format),
        65..80 => Kind::Slope,
        80..90 => Kind::Fail,
        _ => Kind::Cancel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_has_every_kind_in_roughly_its_share() {
        let kinds: Vec<Kind> = (0..2000).map(|i| kind(7, i)).collect();
        for (name, share) in [
            ("wait", 0.30),
            ("buffer-async", 0.20),
            ("buffer-sync", 0.15),
            ("slope", 0.15),
            ("fail", 0.10),
            ("cancel", 0.10),
        ] {
            let n = kinds.iter().filter(|k| k.name() == name).count() as f64 / 2000.0;
            assert!((n - share).abs() < 0.04, "{name}: {n}");
        }
        assert_eq!(kinds, (0..2000).map(|i| kind(7, i)).collect::<Vec<_>>());
    }
}
