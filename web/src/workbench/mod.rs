//! Workbenches: one page per part of the protocol core that is not a cluster run. Each
//! bench calls the same `void-core` code as the command line (`void macaroon`,
//! `void schedule`, `void causal`) and shows its intermediate results.

#[cfg(feature = "bench-bundle")]
mod bundle;
mod causal;
mod host;
mod macaroons;
mod scheduler;

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

pub use causal::{
    CausalBench, CausalBenchProps, CausalReport, EXAMPLE_MODEL, Ranked, RunFailures, Seen, compare,
    forget_kept, rank,
};
pub use host::{BENCH_MODULE, LARGE_TEXT_MESSAGE, WorkbenchHost};
pub use macaroons::{MacInput, MacReport, MacaroonBench, Step, ThirdParty, run as run_macaroon};
pub use scheduler::{MAX_BROWSER_STEPS, SchedReport, SchedulerBench, SolverRun, example_problem, solve};

/// The two top-level pages of the playground.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Simulate,
    Workbenches,
}

#[derive(Properties, PartialEq)]
pub struct ViewSwitchProps {
    pub current: Page,
    pub on_select: Callback<Page>,
}

/// `[Simulate | Workbenches]`, at the right end of the top bar. The simulation's bar is
/// full at 1280 px, so there it is only the way out: `Workbenches ›`.
#[function_component(ViewSwitch)]
pub fn view_switch(props: &ViewSwitchProps) -> Html {
    let button = |page: Page, label: &'static str, testid: &'static str| {
        let on_select = props.on_select.clone();
        let current = props.current == page;
        html! {
            <button data-testid={testid} class={classes!("seg", current.then_some("on"))}
                aria-pressed={current.to_string()} onclick={Callback::from(move |_: MouseEvent| on_select.emit(page))}
                title={if page == Page::Workbenches { "macaroons, task scheduling and causal inference, step by step" } else { "the cluster simulation" }}>
                { label }
            </button>
        }
    };
    html! {
        <div class="view-switch" role="group" aria-label="page">
            if props.current == Page::Simulate {
                { button(Page::Workbenches, "Workbenches ›", "view-workbenches") }
            } else {
                { button(Page::Simulate, "‹ Simulate", "view-simulate") }
                { button(Page::Workbenches, "Workbenches", "view-workbenches") }
            }
        </div>
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bench {
    Macaroons,
    Scheduler,
    Causal,
}

/// The value of `name` in the page's query string (`?bench=causal`); the fragment belongs
/// to the simulation's permalink, so the page choice lives in the query.
fn query_value(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Names the page in the address, keeping the fragment (the run's permalink): on the
/// Workbenches page `?bench=` and the bench (the one the address names, else the first;
/// the page itself then names the one it shows), on the simulation's no query. `push`
/// adds a history entry (Back returns), else the current one is replaced.
pub fn set_address(workbenches: bool, push: bool) {
    let bench = query_value("bench").filter(|b| BENCH_NAMES.contains(&b.as_str()));
    set_bench_address(workbenches.then(|| bench.unwrap_or_else(|| BENCH_NAMES[0].into())).as_deref(), push);
}

fn set_bench_address(bench: Option<&str>, push: bool) {
    let Some(w) = web_sys::window() else { return };
    let location = w.location();
    let (path, hash) = (location.pathname().unwrap_or_default(), location.hash().unwrap_or_default());
    let url = match bench {
        Some(b) => format!("{path}?bench={b}{hash}"),
        None => format!("{path}{hash}"),
    };
    if let Ok(history) = w.history() {
        let null = wasm_bindgen::JsValue::NULL;
        let _ = if push {
            history.push_state_with_url(&null, "", Some(&url))
        } else {
            history.replace_state_with_url(&null, "", Some(&url))
        };
    }
}

/// The page to open: Workbenches when the query names a bench (`?bench=macaroons`).
pub fn initial_page() -> Page {
    if query_value("bench").is_some() { Page::Workbenches } else { Page::Simulate }
}

/// The benches by the names `?bench=` takes.
pub const BENCH_NAMES: [&str; 3] = ["macaroons", "scheduler", "causal"];

/// The bench `?bench=name` opens; an unknown name opens the first, with a note naming the
/// valid ones.
pub fn bench_for(name: Option<&str>) -> (usize, Option<String>) {
    match name {
        None | Some("") => (0, None),
        Some(name) => match BENCH_NAMES.iter().position(|b| *b == name) {
            Some(i) => (i, None),
            None => (
                0,
                Some(format!(
                    "There is no workbench called \u{201c}{name}\u{201d} (?bench={name}); the workbenches are {}. Showing {}.",
                    BENCH_NAMES.join(", "),
                    BENCH_NAMES[0]
                )),
            ),
        },
    }
}

impl Bench {
    fn name(self) -> &'static str {
        BENCH_NAMES[self as usize]
    }
}

fn initial_bench() -> (Bench, Option<String>) {
    let (i, note) = bench_for(query_value("bench").as_deref());
    let bench = match i {
        1 => Bench::Scheduler,
        2 => Bench::Causal,
        _ => Bench::Macaroons,
    };
    (bench, note)
}

#[derive(Properties, PartialEq)]
pub struct WorkbenchPageProps {
    pub on_select: Callback<Page>,
    /// What failed in the simulated run the page came from (for the causal bench).
    #[prop_or_default]
    pub run: Option<std::rc::Rc<RunFailures>>,
    /// Whether the text starts large; the A+ button toggles it through `on_large_text`.
    #[prop_or_default]
    pub large_text: bool,
    #[prop_or_default]
    pub on_large_text: Callback<()>,
}

/// The Workbenches page: its own slim top bar, a tab per bench, the bench below.
#[function_component(WorkbenchPage)]
pub fn workbench_page(props: &WorkbenchPageProps) -> Html {
    let (first, unknown) = use_memo((), |_| initial_bench()).as_ref().clone();
    let bench = use_state(|| first);
    let large = use_state(|| props.large_text);
    let on_large = {
        let (large, toggle) = (large.clone(), props.on_large_text.clone());
        Callback::from(move |_: MouseEvent| {
            large.set(!*large);
            toggle.emit(());
        })
    };
    // The address names the bench shown, so a reload or a shared link opens it.
    use_effect_with(*bench, |b| set_bench_address(Some(b.name()), false));
    let tab = |b: Bench, label: &'static str, testid: &'static str| {
        let state = bench.clone();
        let on = *bench == b;
        html! {
            <button data-testid={testid} role="tab" aria-selected={on.to_string()}
                class={classes!("seg", on.then_some("on"))}
                onclick={Callback::from(move |_: MouseEvent| state.set(b))}>{ label }</button>
        }
    };
    html! {
        <div class="playground workbenches">
            <header class="topbar">
                <h1 class="brand">{ "Void" }</h1>
                <div class="bench-tabs" role="tablist" aria-label="workbench">
                    { tab(Bench::Macaroons, "Macaroons", "bench-macaroons") }
                    { tab(Bench::Scheduler, "Scheduler", "bench-scheduler") }
                    { tab(Bench::Causal, "Causal", "bench-causal") }
                </div>
                <span class="bench-spacer"></span>
                <button data-testid="large-text" class={classes!("text-size", large.then_some("on"))}
                    onclick={on_large} aria-pressed={large.to_string()}
                    title="larger text, for a projector" aria-label="large text">{ "A+" }</button>
                <ViewSwitch current={Page::Workbenches} on_select={props.on_select.clone()} />
            </header>
            if let Some(note) = unknown {
                <p class="banner error" role="alert" data-testid="bench-unknown">{ note }</p>
            }
            <main class="bench-stage">
                { match *bench {
                    Bench::Macaroons => html! { <MacaroonBench /> },
                    Bench::Scheduler => html! { <SchedulerBench /> },
                    Bench::Causal => html! { <CausalBench run={props.run.clone()} /> },
                } }
            </main>
        </div>
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// A callback that stores an `<input>`'s text in `state`.
fn on_text(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        state.set(input.value());
    })
}

/// A callback that stores a `<textarea>`'s text in `state`.
fn on_area(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |e: InputEvent| {
        let area: HtmlTextAreaElement = e.target_unchecked_into();
        state.set(area.value());
    })
}

/// A callback that stores a `<select>`'s value in `state`.
fn on_select(state: &UseStateHandle<String>) -> Callback<Event> {
    let state = state.clone();
    Callback::from(move |e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        state.set(select.value());
    })
}

/// A probability as a percentage with one decimal.
fn percent(p: f64) -> String {
    format!("{:.1} %", p * 100.0)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn an_unknown_bench_is_named_with_the_valid_ones() {
        assert_eq!(super::bench_for(Some("causal")), (2, None));
        assert_eq!(super::bench_for(None), (0, None));
        let (i, note) = super::bench_for(Some("nosuch"));
        let note = note.expect("a note");
        assert_eq!(i, 0);
        assert!(note.contains("nosuch"), "{note}");
        for name in super::BENCH_NAMES {
            assert!(note.contains(name), "{note} names {name}");
        }
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(super::hex(&[]), "");
    }
}
