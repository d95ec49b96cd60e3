//! The entry point of the benches' bundle (feature `bench-bundle`): the simulator's page
//! imports it and mounts the Workbenches page into an element of its own.

use wasm_bindgen::prelude::*;
use yew::prelude::*;

use super::{Page, WorkbenchPage, WorkbenchPageProps};

/// The mounted page; `destroy` unmounts it.
#[wasm_bindgen]
pub struct BenchHandle(Option<yew::AppHandle<WorkbenchPage>>);

#[wasm_bindgen]
impl BenchHandle {
    pub fn destroy(&mut self) {
        if let Some(app) = self.0.take() {
            app.destroy();
        }
    }
}

/// Mounts the Workbenches page into `root`; its switch back to Simulate calls `back`.
/// `run` is the simulated run's failures ([`super::RunFailures::encode`]), if any.
#[wasm_bindgen]
pub fn mount_workbenches(root: web_sys::Element, back: js_sys::Function, run: Option<String>) -> BenchHandle {
    // Both bundles are built from this crate together, so the text always reads; if it did
    // not, the causal bench would just not offer the run.
    let run = run.and_then(|r| super::RunFailures::decode(&r)).map(std::rc::Rc::new);
    let on_select = Callback::from(move |page: Page| {
        if page == Page::Simulate {
            // A failing callback leaves the benches shown; there is nothing else to do.
            let _ = back.call0(&JsValue::NULL);
        }
    });
    let app =
        yew::Renderer::<WorkbenchPage>::with_root_and_props(root, WorkbenchPageProps { on_select, run })
            .render();
    BenchHandle(Some(app))
}
