//! The Workbenches page lives in a second wasm bundle (`pkg/void_web_bench.js`, built from
//! this crate with the `bench-bundle` feature). The simulator's page fetches it the first
//! time Workbenches is opened, so the simulator's bundle does not carry the benches' code
//! (the scheduler, the causal engine, the macaroon verifier and their views).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use super::{Page, ViewSwitch};

/// What the benches' page passes to `back` to toggle the text size.
pub const LARGE_TEXT_MESSAGE: &str = "large-text";

/// The benches' module, relative to the page.
pub const BENCH_MODULE: &str = "pkg/void_web_bench.js";

#[wasm_bindgen(
    inline_js = "export function import_module(path) { return import(new URL(path, document.baseURI).href); }"
)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn import_module(path: &str) -> Result<js_sys::Promise, JsValue>;
}

fn describe(e: JsValue) -> String {
    crate::format::js_error(&e)
}

fn export(module: &JsValue, name: &str) -> Result<js_sys::Function, String> {
    js_sys::Reflect::get(module, &JsValue::from_str(name))
        .map_err(describe)?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| format!("{BENCH_MODULE} does not export {name}"))
}

/// Imports and starts the benches' module, then mounts the page into `root`; returns its
/// handle (which has `destroy`).
async fn load(
    root: web_sys::Element,
    back: js_sys::Function,
    run: Option<String>,
) -> Result<JsValue, String> {
    let module = JsFuture::from(import_module(BENCH_MODULE).map_err(describe)?).await.map_err(describe)?;
    let started = export(&module, "default")?.call0(&JsValue::NULL).map_err(describe)?;
    let started =
        started.dyn_into::<js_sys::Promise>().map_err(|_| String::from("the module did not start"))?;
    JsFuture::from(started).await.map_err(describe)?;
    let run = run.map_or(JsValue::UNDEFINED, |r| JsValue::from_str(&r));
    export(&module, "mount_workbenches")?.call3(&JsValue::NULL, &root, &back, &run).map_err(describe)
}

fn destroy(handle: &JsValue) {
    for method in ["destroy", "free"] {
        if let Ok(f) = export(handle, method) {
            let _ = f.call0(handle);
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Loading,
    Ready,
    Failed(String),
}

#[derive(Properties, PartialEq)]
pub struct WorkbenchHostProps {
    pub on_select: Callback<Page>,
    /// The simulated run's failures ([`super::RunFailures::encode`]), for the causal bench.
    #[prop_or_default]
    pub run: Option<String>,
    /// The A+ button of the benches' top bar (the setting is the simulation page's).
    #[prop_or_default]
    pub on_large_text: Callback<()>,
}

/// Loads the benches' bundle into an element of its own; until it is there (or when it
/// cannot be loaded) shows a slim top bar to go back.
#[function_component(WorkbenchHost)]
pub fn workbench_host(props: &WorkbenchHostProps) -> Html {
    let host = use_node_ref();
    let status = use_state(|| Status::Loading);
    // The page's latest toggle: the one the benches were mounted with holds a stale state.
    let on_large_text = use_mut_ref(Callback::noop);
    *on_large_text.borrow_mut() = props.on_large_text.clone();
    {
        let (host, status, on_select) = (host.clone(), status.clone(), props.on_select.clone());
        let on_large_text = on_large_text.clone();
        let run = props.run.clone();
        use_effect_with((), move |_| {
            // Called from inside the benches' own click handler: leave it before this page
            // unmounts (and destroys) them.
            // `back()` goes to the simulation, `back("large-text")` toggles the text size.
            let back = Closure::<dyn Fn(JsValue)>::new(move |what: JsValue| {
                if what.as_string().as_deref() == Some(LARGE_TEXT_MESSAGE) {
                    on_large_text.borrow().emit(());
                    return;
                }
                let on_select = on_select.clone();
                wasm_bindgen_futures::spawn_local(async move { on_select.emit(Page::Simulate) });
            });
            let handle: Rc<RefCell<Option<JsValue>>> = Rc::default();
            let alive = Rc::new(Cell::new(true));
            if let Some(root) = host.cast::<web_sys::Element>() {
                let (handle, alive) = (handle.clone(), alive.clone());
                let back: js_sys::Function = back.as_ref().unchecked_ref::<js_sys::Function>().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let loaded = load(root, back, run).await;
                    match loaded {
                        Ok(h) if alive.get() => {
                            *handle.borrow_mut() = Some(h);
                            status.set(Status::Ready);
                        }
                        Ok(h) => destroy(&h),
                        Err(e) if alive.get() => status.set(Status::Failed(e)),
                        Err(_) => {}
                    }
                });
            }
            move || {
                alive.set(false);
                if let Some(h) = handle.borrow_mut().take() {
                    destroy(&h);
                }
                drop(back);
            }
        });
    }
    html! {
        <div class="bench-host-page">
            if *status != Status::Ready {
                <div class="playground workbenches">
                    <header class="topbar">
                        <h1 class="brand">{ "Void" }</h1>
                        <span class="bench-spacer"></span>
                        <ViewSwitch current={Page::Workbenches} on_select={props.on_select.clone()} />
                    </header>
                    if let Status::Failed(e) = &*status {
                        <p class="loading failed" role="alert" data-testid="bench-load-error">
                            { format!("The workbenches did not load ({e}). Build them with `cargo xtask build-web`.") }
                        </p>
                    } else {
                        <p class="loading" data-testid="bench-loading">{ "Loading the workbenches…" }</p>
                    }
                </div>
            }
            <div class="bench-host" ref={host} data-testid="bench-host"></div>
        </div>
    }
}
