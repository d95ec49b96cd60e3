//! Linear and affine resources and the scope that tracks them (the seed's `LinearResource`,
//! `AffineResource` and `LinearContext`).

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

/// What a [`Scope`] knows about its resources.
#[derive(Debug)]
struct ScopeState {
    next_id: u64,
    /// Registered and not yet consumed or dropped, by registration order.
    live: BTreeMap<u64, Rc<str>>,
    /// Dropped without being consumed, in drop order.
    leaked: Vec<Rc<str>>,
}

/// A [`Linear`]'s link back to the scope it was registered in.
#[derive(Debug)]
struct Registration {
    state: Rc<RefCell<ScopeState>>,
    id: u64,
}

impl Registration {
    fn consumed(self) {
        self.state.borrow_mut().live.remove(&self.id);
    }

    fn leaked(self) {
        let mut st = self.state.borrow_mut();
        if let Some(name) = st.live.remove(&self.id) {
            st.leaked.push(name);
        }
    }
}

/// A region in which linear resources are created and must all be consumed (the seed's
/// `LinearContext`). Single-threaded, `no_std`: the bookkeeping is an `Rc<RefCell<..>>`
/// shared with each registered [`Linear`].
pub struct Scope {
    name: String,
    state: Rc<RefCell<ScopeState>>,
}

impl Scope {
    pub fn new(name: impl Into<String>) -> Self {
        let state = ScopeState { next_id: 0, live: BTreeMap::new(), leaked: Vec::new() };
        Scope { name: name.into(), state: Rc::new(RefCell::new(state)) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers `value` as a linear resource called `name` in this scope.
    pub fn linear<T>(&self, name: impl Into<String>, value: T) -> Linear<T> {
        let name: Rc<str> = Rc::from(name.into());
        let id = {
            let mut st = self.state.borrow_mut();
            let id = st.next_id;
            st.next_id += 1;
            st.live.insert(id, name.clone());
            id
        };
        Linear {
            value: Some(value),
            name,
            registration: Some(Registration { state: self.state.clone(), id }),
        }
    }

    /// Names of the resources dropped without being consumed so far, in drop order.
    pub fn leaks(&self) -> Vec<String> {
        self.state.borrow().leaked.iter().map(|n| String::from(&**n)).collect()
    }

    /// Names of the resources still alive and not yet consumed, in creation order.
    pub fn pending(&self) -> Vec<String> {
        self.state.borrow().live.values().map(|n| String::from(&**n)).collect()
    }

    /// Ends the scope: `Ok` if every resource registered here was consumed, otherwise an
    /// error naming the leaked ones, then the ones still alive but unconsumed.
    pub fn close(self) -> Result<(), LeakError> {
        let mut names = self.leaks();
        names.extend(self.pending());
        if names.is_empty() { Ok(()) } else { Err(LeakError { scope: self.name, names }) }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("name", &self.name)
            .field("pending", &self.pending())
            .field("leaks", &self.leaks())
            .finish()
    }
}

/// A [`Scope`] closed while some of its linear resources were not consumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope {scope:?} closed with unconsumed linear resources: {}", .names.join(", "))]
pub struct LeakError {
    pub scope: String,
    /// Leaked resources first (in drop order), then those still alive (in creation order).
    pub names: Vec<String>,
}

/// A resource that must be consumed exactly once (the seed's `LinearResource`).
///
/// Consuming twice does not compile, because [`Linear::consume`] takes `self`:
///
/// ```compile_fail,E0382
/// use void_core::types::Linear;
/// let key = Linear::new("session_key", [7u8; 32]);
/// let first = key.consume();
/// let second = key.consume(); // use of moved value
/// ```
///
/// Dropping it unconsumed is a leak: it is recorded in its [`Scope`] first and then, in
/// builds with `debug_assertions`, panics with the resource's name (unless the thread is
/// already panicking, which can only be told apart where `std` is linked; targets without
/// `std` abort on panic anyway). `core::mem::forget` escapes the check, as it does for
/// every destructor.
///
/// ```
/// use void_core::types::Scope;
/// let scope = Scope::new("request");
/// let conn = scope.linear("db_conn", 42u32);
/// let port = conn.map(|n| n + 1).consume();
/// assert_eq!(port, 43);
/// assert!(scope.close().is_ok());
/// ```
#[must_use = "a Linear must be consumed; dropping it is a leak"]
pub struct Linear<T> {
    /// `None` once consumed; `Drop` then has nothing to report.
    value: Option<T>,
    name: Rc<str>,
    registration: Option<Registration>,
}

impl<T> Linear<T> {
    /// A linear resource outside any scope: a leak is only caught by the debug panic.
    pub fn new(name: impl Into<String>, value: T) -> Self {
        Linear { value: Some(value), name: Rc::from(name.into()), registration: None }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Borrows the value without using the resource up (e.g. to check a capability before
    /// spending it).
    pub fn peek(&self) -> &T {
        match &self.value {
            Some(v) => v,
            // `value` is only taken inside methods that take `self`.
            None => unreachable!("a Linear is never observable after consumption"),
        }
    }

    /// Uses the resource up and returns its value.
    pub fn consume(mut self) -> T {
        if let Some(reg) = self.registration.take() {
            reg.consumed();
        }
        match self.value.take() {
            Some(v) => v,
            None => unreachable!("a Linear is never observable after consumption"),
        }
    }

    /// Transforms the value; the result is the same resource (same name, same scope entry)
    /// and must still be consumed.
    pub fn map<U>(mut self, f: impl FnOnce(T) -> U) -> Linear<U> {
        let registration = self.registration.take();
        let name = self.name.clone();
        let value = match self.value.take() {
            Some(v) => v,
            None => unreachable!("a Linear is never observable after consumption"),
        };
        Linear { value: Some(f(value)), name, registration }
    }
}

impl<T> Drop for Linear<T> {
    fn drop(&mut self) {
        if self.value.is_none() {
            return;
        }
        // Record before panicking so the scope knows even when the panic is caught.
        if let Some(reg) = self.registration.take() {
            reg.leaked();
        }
        #[cfg(debug_assertions)]
        if !already_panicking() {
            panic!("linear resource {:?} was dropped without being consumed", &*self.name);
        }
    }
}

#[cfg(debug_assertions)]
fn already_panicking() -> bool {
    #[cfg(any(test, feature = "std"))]
    {
        std::thread::panicking()
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        false
    }
}

impl<T: fmt::Debug> fmt::Debug for Linear<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linear").field("name", &&*self.name).field("value", &self.value).finish()
    }
}

/// A resource that may be used at most once (the seed's `AffineResource`): consuming it
/// takes `self`, and dropping it unused is allowed.
///
/// ```compile_fail,E0382
/// use void_core::types::Affine;
/// let nonce = Affine::new(17u64);
/// let a = nonce.consume();
/// let b = nonce.consume(); // use of moved value
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Affine<T>(T);

impl<T> Affine<T> {
    pub fn new(value: T) -> Self {
        Affine(value)
    }

    /// Borrows the value without using the resource up.
    pub fn peek(&self) -> &T {
        &self.0
    }

    /// Uses the resource up and returns its value.
    pub fn consume(self) -> T {
        self.0
    }

    /// Gives the resource up unused.
    pub fn discard(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    /// Drops `r` unconsumed and returns the panic message, if it panicked.
    fn drop_unconsumed<T>(r: Linear<T>) -> Option<String> {
        let caught = catch_unwind(AssertUnwindSafe(move || drop(r)));
        caught.err().map(|p| match p.downcast::<String>() {
            Ok(s) => *s,
            Err(p) => p.downcast_ref::<&str>().map(|s| s.to_string()).unwrap_or_default(),
        })
    }

    #[test]
    fn consumed_resource_leaves_scope_clean() {
        let scope = Scope::new("s");
        let r = scope.linear("db_conn", vec![1, 2, 3]);
        assert_eq!(r.name(), "db_conn");
        assert_eq!(r.peek(), &vec![1, 2, 3]);
        assert_eq!(scope.pending(), vec!["db_conn"]);
        assert_eq!(r.consume(), vec![1, 2, 3]);
        assert!(scope.pending().is_empty());
        assert!(scope.leaks().is_empty());
        assert_eq!(scope.close(), Ok(()));
    }

    #[test]
    fn dropped_linear_is_reported_to_its_scope_by_name() {
        let scope = Scope::new("request");
        let kept = scope.linear("socket", 1u8);
        let leaked = scope.linear("db_conn", 2u8);
        let msg = drop_unconsumed(leaked);
        if cfg!(debug_assertions) {
            let msg = msg.expect("debug builds panic on a leaked Linear");
            assert!(msg.contains("db_conn"), "{msg}");
        } else {
            assert_eq!(msg, None);
        }
        assert_eq!(scope.leaks(), vec!["db_conn"]);
        assert_eq!(kept.consume(), 1);
        assert_eq!(scope.leaks(), vec!["db_conn"]);
    }

    #[test]
    fn close_names_leaked_and_unconsumed_resources() {
        let scope = Scope::new("txn");
        let a = scope.linear("a", ());
        let b = scope.linear("b", ());
        let c = scope.linear("c", ());
        drop_unconsumed(b);
        a.consume();
        let err = scope.close().unwrap_err();
        assert_eq!(err, LeakError { scope: "txn".into(), names: vec!["b".into(), "c".into()] });
        let text = err.to_string();
        assert!(text.contains("\"txn\"") && text.contains("b, c"), "{text}");
        assert_eq!(crate::types::TypeError::from(err).to_string(), "linear resources not consumed: b, c");
        // `c` outlived its scope; consuming it is still fine.
        assert_eq!(c.consume(), ());
    }

    #[test]
    fn map_keeps_the_resource_identity() {
        let scope = Scope::new("s");
        let r = scope.linear("token", 20u32).map(|n| n.to_string());
        assert_eq!(r.name(), "token");
        assert_eq!(scope.pending(), vec!["token"]);
        let r = r.map(|s| s.len());
        drop_unconsumed(r);
        assert_eq!(scope.leaks(), vec!["token"]);
        assert!(scope.pending().is_empty());
    }

    #[test]
    fn unscoped_linear_panics_on_leak_in_debug() {
        let msg = drop_unconsumed(Linear::new("orphan", 5i32));
        assert_eq!(msg.is_some(), cfg!(debug_assertions));
        if let Some(msg) = msg {
            assert!(msg.contains("\"orphan\""), "{msg}");
        }
        assert_eq!(Linear::new("fine", 5i32).consume(), 5);
    }

    #[test]
    fn leak_during_unwinding_does_not_double_panic() {
        let scope = Scope::new("s");
        let r = scope.linear("held", 0u8);
        let caught = catch_unwind(AssertUnwindSafe(move || {
            let _held = r;
            panic!("original failure");
        }));
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"original failure"));
        assert_eq!(scope.leaks(), vec!["held"]);
    }

    #[test]
    fn affine_may_be_consumed_or_discarded() {
        let a = Affine::new(3u8);
        assert_eq!(a.peek(), &3);
        assert_eq!(a.consume(), 3);
        Affine::new(String::from("unused")).discard();
    }
}
