//! `Range<MIN, MAX>`: an integer known to lie in `MIN..=MAX` (the seed's `Range[min, max]`).

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{TypeError, de_error};

/// An `i64` in `MIN..=MAX`, e.g. a node count `Range<1, 10000>`. Serialized as the bare
/// integer; deserializing an integer outside the bounds fails with a message naming both.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Range<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Range<MIN, MAX> {
    /// Checked when the type is used, so `Range<5, 1>` fails to compile.
    const BOUNDS_ORDERED: () = assert!(MIN <= MAX, "Range<MIN, MAX> needs MIN <= MAX");

    pub const MIN: i64 = MIN;
    pub const MAX: i64 = MAX;

    pub fn new(value: i64) -> Result<Self, TypeError> {
        let () = Self::BOUNDS_ORDERED;
        if (MIN..=MAX).contains(&value) {
            Ok(Range(value))
        } else {
            Err(TypeError::OutOfRange { value, min: MIN, max: MAX })
        }
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64> TryFrom<i64> for Range<MIN, MAX> {
    type Error = TypeError;

    fn try_from(value: i64) -> Result<Self, TypeError> {
        Range::new(value)
    }
}

impl<const MIN: i64, const MAX: i64> From<Range<MIN, MAX>> for i64 {
    fn from(r: Range<MIN, MAX>) -> i64 {
        r.0
    }
}

impl<const MIN: i64, const MAX: i64> fmt::Display for Range<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<const MIN: i64, const MAX: i64> Serialize for Range<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Range<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Range::new(i64::deserialize(d)?).map_err(de_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    type Nodes = Range<1, 10000>;

    #[test]
    fn accepts_the_bounds_and_rejects_their_neighbours() {
        assert_eq!(Nodes::new(1).map(Range::get), Ok(1));
        assert_eq!(Nodes::try_from(10000).map(i64::from), Ok(10000));
        assert_eq!(Nodes::new(0), Err(TypeError::OutOfRange { value: 0, min: 1, max: 10000 }));
        assert_eq!(
            Nodes::new(10001).unwrap_err().to_string(),
            "10001 is outside the allowed range, 1 to 10000"
        );
        assert_eq!(Range::<-3, -3>::new(-3).map(Range::get), Ok(-3));
        assert!(Range::<{ i64::MIN }, { i64::MAX }>::new(i64::MIN).is_ok());
        type Inner = Range<{ i64::MIN + 1 }, { i64::MAX - 1 }>;
        assert!(Inner::new(i64::MIN).is_err() && Inner::new(i64::MAX).is_err());
        assert!(Inner::new(i64::MIN + 1).is_ok() && Inner::new(i64::MAX - 1).is_ok());
    }

    #[test]
    fn serde_is_the_bare_integer_and_deserialize_validates() {
        let r = Range::<1, 10>::new(7).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "7");
        assert_eq!(serde_json::from_str::<Range<1, 10>>("7").unwrap(), r);
        let err = serde_json::from_str::<Range<1, 10>>("0").unwrap_err().to_string();
        assert!(err.contains("0 is outside the allowed range, 1 to 10"), "{err}");
        let err = serde_json::from_str::<Nodes>("{\"n\": 3}").unwrap_err().to_string();
        assert!(err.contains("i64"), "{err}");
        assert!(serde_json::from_str::<Nodes>("2.5").is_err());
        assert!(serde_json::from_str::<Nodes>("18446744073709551615").is_err());
        let bytes = postcard::to_allocvec(&r).unwrap();
        assert_eq!(postcard::from_bytes::<Range<1, 10>>(&bytes).unwrap(), r);
        let big = postcard::to_allocvec(&11i64).unwrap();
        assert!(postcard::from_bytes::<Range<1, 10>>(&big).is_err());
    }

    proptest! {
        #[test]
        fn range_accepts_exactly_min_to_max(v in -50i64..150) {
            let r = Range::<-20, 100>::new(v);
            prop_assert_eq!(r.is_ok(), (-20..=100).contains(&v));
            if let Ok(r) = r {
                prop_assert_eq!(r.get(), v);
            }
            let parsed = serde_json::from_str::<Range<-20, 100>>(&v.to_string());
            prop_assert_eq!(parsed.ok(), r.ok());
        }

        #[test]
        fn range_accepts_exactly_min_to_max_at_extremes(v in any::<i64>()) {
            let r = Range::<{ i64::MIN + 1 }, { i64::MAX - 1 }>::new(v);
            prop_assert_eq!(r.is_ok(), v != i64::MIN && v != i64::MAX);
        }
    }
}
