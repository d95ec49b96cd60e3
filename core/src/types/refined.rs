//! `Refined<T, P>`: a value satisfying a predicate (the seed's `Refined[T, predicate]`),
//! and the predicates scenarios and configs need.

use alloc::format;
use alloc::string::String;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{TypeError, de_error};

/// A property of values of type `T`, checked once when a [`Refined`] is built.
pub trait Predicate<T: ?Sized> {
    /// What a valid value looks like, e.g. "a number in [0, 1]".
    const DESCRIPTION: &'static str;
    /// `Err(reason)` naming the offending value, e.g. "1.5 is above 1".
    fn check(value: &T) -> Result<(), String>;
}

/// A `T` for which `P::check` succeeded. Serialized as the bare `T`; deserializing
/// checks `P` and fails with the value and [`Predicate::DESCRIPTION`] in the message.
pub struct Refined<T, P> {
    value: T,
    predicate: PhantomData<fn() -> P>,
}

/// A probability: an `f64` in [0, 1], never NaN. Read it with `*p` or `p.get()`.
pub type Probability = Refined<f64, UnitInterval>;

impl<T, P: Predicate<T>> Refined<T, P> {
    pub fn new(value: T) -> Result<Self, TypeError> {
        match P::check(&value) {
            Ok(()) => Ok(Refined { value, predicate: PhantomData }),
            Err(reason) => Err(TypeError::Predicate { description: P::DESCRIPTION, reason }),
        }
    }
}

impl<T, P> Refined<T, P> {
    pub fn get(&self) -> &T {
        &self.value
    }

    pub fn into_inner(self) -> T {
        self.value
    }
}

// One impl per inner type: a generic `impl<T> TryFrom<T>` would overlap core's blanket impl.
// Other inner types use `Refined::new`.
macro_rules! try_from_inner {
    ($($t:ty),*) => {
        $(
            impl<P: Predicate<$t>> TryFrom<$t> for Refined<$t, P> {
                type Error = TypeError;

                fn try_from(value: $t) -> Result<Self, TypeError> {
                    Refined::new(value)
                }
            }
        )*
    };
}

try_from_inner!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, usize, String);

impl<T, P> Deref for Refined<T, P> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

// Written out rather than derived: derive would demand the same traits of the marker `P`.
impl<T: Clone, P> Clone for Refined<T, P> {
    fn clone(&self) -> Self {
        Refined { value: self.value.clone(), predicate: PhantomData }
    }
}

impl<T: Copy, P> Copy for Refined<T, P> {}

impl<T: PartialEq, P> PartialEq for Refined<T, P> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq, P> Eq for Refined<T, P> {}

impl<T: PartialOrd, P> PartialOrd for Refined<T, P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Ord, P> Ord for Refined<T, P> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<T: Hash, P> Hash for Refined<T, P> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<T: fmt::Debug, P> fmt::Debug for Refined<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Refined").field(&self.value).finish()
    }
}

impl<T: fmt::Display, P> fmt::Display for Refined<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: Serialize, P> Serialize for Refined<T, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>, P: Predicate<T>> Deserialize<'de> for Refined<T, P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Refined::new(T::deserialize(d)?).map_err(de_error)
    }
}

/// `f64` in [0, 1]; NaN is refused.
#[derive(Clone, Copy, Debug)]
pub enum UnitInterval {}

impl Predicate<f64> for UnitInterval {
    const DESCRIPTION: &'static str = "a number in [0, 1]";
    fn check(v: &f64) -> Result<(), String> {
        if v.is_nan() {
            Err(String::from("NaN is not a number"))
        } else if *v < 0.0 {
            Err(format!("{v} is below 0"))
        } else if *v > 1.0 {
            Err(format!("{v} is above 1"))
        } else {
            Ok(())
        }
    }
}

/// Greater than zero. For `f64` also finite (configs want a usable number, not `inf`);
/// for unsigned integers this means non-zero.
#[derive(Clone, Copy, Debug)]
pub enum Positive {}

/// Zero or more. For `f64` also finite; `-0.0` counts as zero.
#[derive(Clone, Copy, Debug)]
pub enum NonNegative {}

fn finite(v: f64) -> Result<(), String> {
    if v.is_finite() { Ok(()) } else { Err(format!("{v} is not a finite number")) }
}

impl Predicate<f64> for Positive {
    const DESCRIPTION: &'static str = "a finite number greater than 0";
    fn check(v: &f64) -> Result<(), String> {
        finite(*v)?;
        if *v > 0.0 { Ok(()) } else { Err(format!("{v} is not greater than 0")) }
    }
}

impl Predicate<f64> for NonNegative {
    const DESCRIPTION: &'static str = "a finite number greater than or equal to 0";
    fn check(v: &f64) -> Result<(), String> {
        finite(*v)?;
        if *v >= 0.0 { Ok(()) } else { Err(format!("{v} is negative")) }
    }
}

macro_rules! integer_predicates {
    (signed: $($s:ty),*; unsigned: $($u:ty),*) => {
        $(
            impl Predicate<$s> for Positive {
                const DESCRIPTION: &'static str = "an integer greater than 0";
                fn check(v: &$s) -> Result<(), String> {
                    if *v > 0 { Ok(()) } else { Err(format!("{v} is not greater than 0")) }
                }
            }
            impl Predicate<$s> for NonNegative {
                const DESCRIPTION: &'static str = "an integer greater than or equal to 0";
                fn check(v: &$s) -> Result<(), String> {
                    if *v >= 0 { Ok(()) } else { Err(format!("{v} is negative")) }
                }
            }
        )*
        $(
            impl Predicate<$u> for Positive {
                const DESCRIPTION: &'static str = "an integer greater than 0";
                fn check(v: &$u) -> Result<(), String> {
                    if *v > 0 { Ok(()) } else { Err(format!("{v} is not greater than 0")) }
                }
            }
        )*
    };
}

integer_predicates!(signed: i32, i64; unsigned: u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    #[test]
    fn probability_accepts_the_unit_interval_only() {
        for ok in [0.0, 1.0, 0.5, -0.0, f64::MIN_POSITIVE] {
            assert_eq!(*Probability::new(ok).unwrap(), ok);
        }
        let err = Probability::new(1.5).unwrap_err();
        assert_eq!(
            err,
            TypeError::Predicate { description: "a number in [0, 1]", reason: "1.5 is above 1".into() }
        );
        assert_eq!(err.to_string(), "1.5 is above 1; expected a number in [0, 1]");
        assert!(Probability::try_from(-0.25).unwrap_err().to_string().contains("-0.25 is below 0"));
        assert!(Probability::new(f64::NAN).unwrap_err().to_string().contains("NaN"));
        assert!(Probability::new(f64::INFINITY).is_err());
    }

    #[test]
    fn positive_and_non_negative() {
        assert_eq!(Refined::<f64, Positive>::new(0.001).map(Refined::into_inner), Ok(0.001));
        assert!(Refined::<f64, Positive>::new(0.0).is_err());
        assert!(Refined::<f64, Positive>::new(f64::INFINITY).is_err());
        assert!(Refined::<f64, Positive>::new(f64::NAN).is_err());
        assert!(Refined::<f64, NonNegative>::new(0.0).is_ok());
        assert!(Refined::<f64, NonNegative>::new(-0.0).is_ok());
        assert!(Refined::<f64, NonNegative>::new(-1e-300).is_err());
        assert!(Refined::<f64, NonNegative>::new(f64::NAN).is_err());
        assert_eq!(*Refined::<u32, Positive>::new(4).unwrap().get(), 4);
        assert_eq!(
            Refined::<u64, Positive>::new(0).unwrap_err().to_string(),
            "0 is not greater than 0; expected an integer greater than 0"
        );
        assert!(Refined::<usize, Positive>::new(1).is_ok());
        assert!(Refined::<i64, Positive>::new(-3).is_err());
        assert!(Refined::<i32, NonNegative>::new(0).is_ok());
        assert_eq!(
            Refined::<i64, NonNegative>::new(-7).unwrap_err().to_string(),
            "-7 is negative; expected an integer greater than or equal to 0"
        );
    }

    #[test]
    fn serde_is_transparent_and_deserialize_checks() {
        let p = Probability::new(0.25).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "0.25");
        assert_eq!(serde_json::from_str::<Probability>("0.25").unwrap(), p);
        let err = serde_json::from_str::<Probability>("1.5").unwrap_err().to_string();
        assert!(err.contains("1.5 is above 1; expected a number in [0, 1]"), "{err}");
        assert!(serde_json::from_str::<Probability>("\"0.5\"").is_err());
        let err = serde_json::from_str::<Refined<u32, Positive>>("0").unwrap_err().to_string();
        assert!(err.contains("0 is not greater than 0"), "{err}");
        let bytes = postcard::to_allocvec(&p).unwrap();
        assert_eq!(postcard::from_bytes::<Probability>(&bytes).unwrap(), p);
        let nan = postcard::to_allocvec(&f64::NAN).unwrap();
        assert!(postcard::from_bytes::<Probability>(&nan).is_err());
    }

    /// A caller-defined predicate over a non-numeric type.
    enum ShortName {}
    impl Predicate<str> for ShortName {
        const DESCRIPTION: &'static str = "at most 4 bytes";
        fn check(v: &str) -> Result<(), String> {
            if v.len() <= 4 { Ok(()) } else { Err(format!("{v:?} has {} bytes", v.len())) }
        }
    }
    impl Predicate<String> for ShortName {
        const DESCRIPTION: &'static str = <ShortName as Predicate<str>>::DESCRIPTION;
        fn check(v: &String) -> Result<(), String> {
            <ShortName as Predicate<str>>::check(v)
        }
    }

    #[test]
    fn custom_predicate() {
        let ok: Refined<String, ShortName> = serde_json::from_str("\"n1\"").unwrap();
        assert_eq!(ok.as_str(), "n1");
        assert_eq!(ok.clone(), ok);
        let err = Refined::<String, ShortName>::new("node-7".into()).unwrap_err().to_string();
        assert_eq!(err, "\"node-7\" has 6 bytes; expected at most 4 bytes");
    }

    proptest! {
        #[test]
        fn probability_accepts_exactly_zero_to_one(v in any::<f64>()) {
            prop_assert_eq!(Probability::new(v).is_ok(), (0.0..=1.0).contains(&v));
        }
    }
}
