//! The Void playground: a Yew app that runs any built-in scenario with the same
//! `void-core` simulator the command line uses, draws the cluster, and lets a person step,
//! step back, inject faults and share a link that reproduces the run exactly.

pub mod components;
pub mod format;
pub mod layout;
pub mod live;
pub mod math;
pub mod model;
pub mod palette;
pub mod recording;
pub mod workbench;

#[cfg(not(feature = "bench-bundle"))]
use wasm_bindgen::prelude::*;

pub use components::App;

/// Mounts the playground into `#app` when the page has one; test pages mount it
/// themselves into elements of their own. The benches' bundle has no start: the
/// playground mounts it (see [`workbench::WorkbenchHost`]).
#[cfg(not(feature = "bench-bundle"))]
#[wasm_bindgen(start)]
pub fn start() {
    let root = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("app"));
    if let Some(root) = root {
        // The page's "loading" text goes; the app takes its place.
        root.set_inner_html("");
        yew::Renderer::<App>::with_root(root).render();
    }
}
