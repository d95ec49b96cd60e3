//! (module under construction; see the crate docs)
