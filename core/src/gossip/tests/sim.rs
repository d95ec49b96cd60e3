use super::super::*;
use crate::sim::AnySim;
#[test]
fn smoke() {}
