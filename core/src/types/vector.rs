//! `Vector<T, N>`: exactly `N` elements (the seed's `Vector[N]`).

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{TypeError, de_error};

/// Exactly `N` values of `T`, stored as `[T; N]`. Serialized as a sequence (like a `Vec`);
/// deserializing a sequence of any other length fails with both lengths in the message.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Vector<T, const N: usize>([T; N]);

impl<T, const N: usize> Vector<T, N> {
    pub fn new(items: Vec<T>) -> Result<Self, TypeError> {
        let got = items.len();
        <[T; N]>::try_from(items).map(Vector).map_err(|_| TypeError::Length { expected: N, got })
    }

    pub fn as_array(&self) -> &[T; N] {
        &self.0
    }

    pub fn into_inner(self) -> [T; N] {
        self.0
    }
}

impl<T, const N: usize> TryFrom<Vec<T>> for Vector<T, N> {
    type Error = TypeError;

    fn try_from(items: Vec<T>) -> Result<Self, TypeError> {
        Vector::new(items)
    }
}

/// An array already has the right length.
impl<T, const N: usize> From<[T; N]> for Vector<T, N> {
    fn from(items: [T; N]) -> Self {
        Vector(items)
    }
}

impl<T, const N: usize> Deref for Vector<T, N> {
    type Target = [T; N];

    fn deref(&self) -> &[T; N] {
        &self.0
    }
}

impl<T: Serialize, const N: usize> Serialize for Vector<T, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Vector<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(VectorVisitor::<T, N>(PhantomData))
    }
}

/// Reads at most `N` elements into memory; any surplus is decoded one at a time and
/// dropped only to count it for the error message.
struct VectorVisitor<T, const N: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for VectorVisitor<T, N> {
    type Value = Vector<T, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of exactly {N} elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(N);
        while items.len() < N {
            match seq.next_element()? {
                Some(x) => items.push(x),
                None => {
                    return Err(de_error(TypeError::Length { expected: N, got: items.len() }));
                }
            }
        }
        let mut got = N;
        while seq.next_element::<T>()?.is_some() {
            got = got.saturating_add(1);
        }
        if got != N {
            return Err(de_error(TypeError::Length { expected: N, got }));
        }
        Vector::new(items).map_err(de_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};
    use alloc::vec;
    use proptest::prelude::*;

    #[test]
    fn exact_length_only() {
        let v = Vector::<u8, 3>::new(vec![1, 2, 3]).unwrap();
        assert_eq!(v.as_array(), &[1, 2, 3]);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1], 2);
        assert_eq!(v.into_inner(), [1, 2, 3]);
        assert_eq!(Vector::<u8, 3>::try_from(vec![1, 2]), Err(TypeError::Length { expected: 3, got: 2 }));
        assert_eq!(
            Vector::<u8, 3>::new(vec![1, 2, 3, 4]).unwrap_err().to_string(),
            "expected exactly 3 elements, got 4"
        );
        assert!(Vector::<String, 0>::new(vec![]).is_ok());
        assert_eq!(Vector::from(['a', 'b']).as_array(), &['a', 'b']);
    }

    #[test]
    fn serde_round_trip_and_length_errors() {
        let v = Vector::<u32, 2>::from([7, 9]);
        assert_eq!(serde_json::to_string(&v).unwrap(), "[7,9]");
        assert_eq!(serde_json::from_str::<Vector<u32, 2>>("[7,9]").unwrap(), v);
        let short = serde_json::from_str::<Vector<u32, 2>>("[7]").unwrap_err().to_string();
        assert!(short.contains("expected exactly 2 elements, got 1"), "{short}");
        let long = serde_json::from_str::<Vector<u32, 2>>("[1,2,3,4]").unwrap_err().to_string();
        assert!(long.contains("expected exactly 2 elements, got 4"), "{long}");
        assert!(serde_json::from_str::<Vector<u32, 2>>("[1,\"x\"]").is_err());
        assert!(serde_json::from_str::<Vector<u32, 2>>("{}").is_err());
        // postcard carries a length prefix like a Vec.
        let bytes = postcard::to_allocvec(&v).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&vec![7u32, 9]).unwrap());
        assert_eq!(postcard::from_bytes::<Vector<u32, 2>>(&bytes).unwrap(), v);
        let three = postcard::to_allocvec(&vec![1u32, 2, 3]).unwrap();
        assert!(postcard::from_bytes::<Vector<u32, 2>>(&three).is_err());
        // A hostile length prefix runs out of input instead of allocating.
        assert!(postcard::from_bytes::<Vector<u32, 2>>(&[0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]).is_err());
    }

    proptest! {
        #[test]
        fn vector_accepts_exactly_len_n(items in proptest::collection::vec(any::<i16>(), 0..12)) {
            let direct = Vector::<i16, 5>::new(items.clone());
            prop_assert_eq!(direct.is_ok(), items.len() == 5);
            if let Ok(v) = &direct {
                prop_assert_eq!(&v[..], &items[..]);
            }
            let json = serde_json::to_string(&items).unwrap();
            let parsed = serde_json::from_str::<Vector<i16, 5>>(&json);
            prop_assert_eq!(parsed.ok(), direct.ok());
        }
    }
}
