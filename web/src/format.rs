//! How numbers and stamps read on screen.

use void_core::clock::Timestamp;
use void_core::sim::HLC_EPOCH_US;

/// Virtual microseconds as milliseconds with up to three decimals (`12.4 ms`).
pub fn ms(us: u64) -> String {
    let (whole, frac) = (us / 1000, us % 1000);
    if frac == 0 {
        return format!("{whole} ms");
    }
    let digits = format!("{frac:03}");
    format!("{whole}.{} ms", digits.trim_end_matches('0'))
}

/// A clock offset in microseconds as a signed badge (`+30 ms`, `−1.5 ms`).
pub fn offset(us: i64) -> String {
    let sign = if us < 0 { "−" } else { "+" };
    let abs = us.unsigned_abs();
    if abs.is_multiple_of(1000) {
        format!("{sign}{} ms", abs / 1000)
    } else {
        format!("{sign}{:.1} ms", abs as f64 / 1000.0)
    }
}

/// An HLC stamp for a small label: wall time relative to the run's start, and the
/// logical counter (`l 12.345 ms · c 3`). The full stamp goes into tooltips.
pub fn hlc_short(stamp: &str) -> String {
    match stamp.parse::<Timestamp>() {
        Ok(ts) => {
            let rel = ts.wall.saturating_sub(HLC_EPOCH_US);
            let sign = if ts.wall < HLC_EPOCH_US { "−" } else { "" };
            let rel = if ts.wall < HLC_EPOCH_US { HLC_EPOCH_US - ts.wall } else { rel };
            format!("l {sign}{} · c {}", ms(rel), ts.logical)
        }
        Err(_) => stamp.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn milliseconds_drop_trailing_zeros() {
        assert_eq!(ms(0), "0 ms");
        assert_eq!(ms(12_000), "12 ms");
        assert_eq!(ms(12_400), "12.4 ms");
        assert_eq!(ms(12_345), "12.345 ms");
        assert_eq!(ms(5), "0.005 ms");
    }

    #[test]
    fn offsets_carry_a_sign() {
        assert_eq!(offset(30_000), "+30 ms");
        assert_eq!(offset(-1_500), "−1.5 ms");
        assert_eq!(offset(0), "+0 ms");
    }

    #[test]
    fn hlc_reads_relative_to_the_start() {
        let stamp = format!("{}.3@2", HLC_EPOCH_US + 12_345);
        assert_eq!(hlc_short(&stamp), "l 12.345 ms · c 3");
        let early = format!("{}.0@1", HLC_EPOCH_US - 20_000);
        assert_eq!(hlc_short(&early), "l −20 ms · c 0");
        assert_eq!(hlc_short("garbage"), "garbage");
    }
}
