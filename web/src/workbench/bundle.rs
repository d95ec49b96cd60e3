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

/// Mounts the Workbenches page into `root`; its switch back to Simulate calls `back()`,
/// its A+ button `back("large-text")` (the page starts large when `root` is in large text).
/// `run` is the simulated run's failures ([`super::RunFailures::encode`]), if any.
#[wasm_bindgen]
pub fn mount_workbenches(root: web_sys::Element, back: js_sys::Function, run: Option<String>) -> BenchHandle {
    // Both bundles are built from this crate together, so the text always reads; if it did
    // not, the causal bench would just not offer the run.
    let run = run.and_then(|r| super::RunFailures::decode(&r)).map(std::rc::Rc::new);
    let on_large_text = {
        let back = back.clone();
        Callback::from(move |()| {
            let _ = back.call1(&JsValue::NULL, &JsValue::from_str(super::LARGE_TEXT_MESSAGE));
        })
    };
    let on_select = Callback::from(move |page: Page| {
        if page == Page::Simulate {
            // A failing callback leaves the benches shown; there is nothing else to do.
            let _ = back.call0(&JsValue::NULL);
        }
    });
    let large_text = root.closest(".large-text").ok().flatten().is_some();
    let props = WorkbenchPageProps { on_select, run, large_text, on_large_text };
    let app = yew::Renderer::<WorkbenchPage>::with_root_and_props(root, props).render();
    BenchHandle(Some(app))
}
