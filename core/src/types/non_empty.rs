//! `NonEmpty<C>`: a collection with at least one element (the seed's `NonEmpty[T]`).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{TypeError, de_error};

/// A collection that can be empty; implemented for the std collections scenarios and
/// configs use. `WHAT` names it in error messages.
pub trait Collection {
    const WHAT: &'static str;
    fn is_empty(&self) -> bool;
}

impl<T> Collection for Vec<T> {
    const WHAT: &'static str = "list";
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

impl Collection for String {
    const WHAT: &'static str = "string";
    fn is_empty(&self) -> bool {
        String::is_empty(self)
    }
}

impl<K, V> Collection for BTreeMap<K, V> {
    const WHAT: &'static str = "map";
    fn is_empty(&self) -> bool {
        BTreeMap::is_empty(self)
    }
}

impl<T> Collection for BTreeSet<T> {
    const WHAT: &'static str = "set";
    fn is_empty(&self) -> bool {
        BTreeSet::is_empty(self)
    }
}

/// A `Vec`, `String`, `BTreeMap` or `BTreeSet` with at least one element. Read-only
/// through `Deref`, so it cannot be emptied after the check. Serialized as the collection.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NonEmpty<C>(C);

impl<C: Collection> NonEmpty<C> {
    pub fn new(items: C) -> Result<Self, TypeError> {
        if items.is_empty() { Err(TypeError::Empty { what: C::WHAT }) } else { Ok(NonEmpty(items)) }
    }

    pub fn get(&self) -> &C {
        &self.0
    }

    pub fn into_inner(self) -> C {
        self.0
    }
}

impl<T> NonEmpty<Vec<T>> {
    /// The first element, which always exists.
    pub fn first(&self) -> &T {
        // In bounds: construction refused empty vectors and there is no `&mut` access.
        &self.0[0]
    }

    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
}

impl NonEmpty<String> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// One impl per collection: a generic `impl<C> TryFrom<C>` would overlap core's blanket impl.
macro_rules! try_from_collection {
    ($([$($g:ident),*] $c:ty),*) => {
        $(
            impl<$($g),*> TryFrom<$c> for NonEmpty<$c> {
                type Error = TypeError;

                fn try_from(items: $c) -> Result<Self, TypeError> {
                    NonEmpty::new(items)
                }
            }
        )*
    };
}

try_from_collection!([T] Vec<T>, [] String, [K, V] BTreeMap<K, V>, [T] BTreeSet<T>);

impl<C> Deref for NonEmpty<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C: Serialize> Serialize for NonEmpty<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, C: Collection + Deserialize<'de>> Deserialize<'de> for NonEmpty<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        NonEmpty::new(C::deserialize(d)?).map_err(de_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn empty_is_refused_and_named() {
        assert_eq!(NonEmpty::new(Vec::<u8>::new()), Err(TypeError::Empty { what: "list" }));
        assert_eq!(
            NonEmpty::try_from(String::new()).unwrap_err().to_string(),
            "expected a non-empty string, got an empty one"
        );
        assert_eq!(NonEmpty::new(BTreeMap::<u8, u8>::new()), Err(TypeError::Empty { what: "map" }));
        assert_eq!(NonEmpty::new(BTreeSet::<u8>::new()), Err(TypeError::Empty { what: "set" }));
    }

    #[test]
    fn accessors() {
        let v = NonEmpty::new(vec![3, 1, 2]).unwrap();
        assert_eq!(*v.first(), 3);
        assert_eq!(v.as_slice(), &[3, 1, 2]);
        assert_eq!(v.len(), 3);
        assert_eq!(v.get(), &vec![3, 1, 2]);
        assert_eq!(v.into_inner(), vec![3, 1, 2]);
        let s = NonEmpty::new(String::from("n0")).unwrap();
        assert_eq!(s.as_str(), "n0");
        assert!(s.starts_with('n'));
    }

    #[test]
    fn serde_round_trip_and_rejection() {
        let v: NonEmpty<Vec<u8>> = serde_json::from_str("[1,2]").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "[1,2]");
        let err = serde_json::from_str::<NonEmpty<Vec<u8>>>("[]").unwrap_err().to_string();
        assert!(err.contains("expected a non-empty list"), "{err}");
        let err = serde_json::from_str::<NonEmpty<String>>("\"\"").unwrap_err().to_string();
        assert!(err.contains("non-empty string"), "{err}");
        let s: NonEmpty<String> = serde_json::from_str("\"pbft\"").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"pbft\"");
        let m: NonEmpty<BTreeMap<String, u8>> = serde_json::from_str("{\"a\":1}").unwrap();
        assert_eq!(m.len(), 1);
        assert!(serde_json::from_str::<NonEmpty<BTreeMap<String, u8>>>("{}").is_err());
        let bytes = postcard::to_allocvec(&v).unwrap();
        assert_eq!(postcard::from_bytes::<NonEmpty<Vec<u8>>>(&bytes).unwrap(), v);
        assert!(postcard::from_bytes::<NonEmpty<Vec<u8>>>(&[0]).is_err());
    }
}
