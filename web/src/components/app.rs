//! The page: owns the model, the animation clock, the keyboard and the URL fragment.

use gloo_timers::callback::Interval;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use super::topbar::LiveBar;
use super::{
    ClusterView, EventLine, Inspector, Invariants, LinkMenu, LivePanel, MetricsDrawer, NodeMenu,
    RecordingBar, ScenarioEditor, SpaceTime, Timeline, TopBar,
};
use crate::live::events_per_second;
use crate::model::{Action, Export, Model, Permalink};
use crate::workbench::{Page, ViewSwitch, WorkbenchHost, initial_page, set_address};

/// Animation tick while playing (about 60 per second).
const FRAME_MS: u32 = 16;

/// The + and − keys double and halve the speed.
const SPEED_KEY_FACTOR: f64 = 2.0;

/// Text size with the large-text toggle on (`--text` of `.large-text` in style.css).
const LARGE_TEXT: f64 = 1.2;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// Where the large-text setting is kept between visits (the browser's storage for this
/// origin): a projector's page opens large again after a reload.
pub const LARGE_TEXT_KEY: &str = "void.large-text";

fn stored_large_text() -> bool {
    let storage = window().and_then(|w| w.local_storage().ok().flatten());
    storage.and_then(|s| s.get_item(LARGE_TEXT_KEY).ok().flatten()).is_some_and(|v| v == "1")
}

fn store_large_text(on: bool) {
    // Storage may be off (private windows, policies): the setting then lasts the visit.
    if let Some(s) = window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(LARGE_TEXT_KEY, if on { "1" } else { "0" });
    }
}

/// The URL fragment, parsed; an empty fragment is `Ok(None)`.
pub fn current_link() -> Result<Option<Permalink>, String> {
    let hash = window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    Permalink::decode(&hash)
}

fn now_ms() -> f64 {
    window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Leaves a named mark on the page's performance timeline (read by the end-to-end test
/// that reports the first frame and the simulation speed in the page).
fn mark(name: &str) {
    if let Some(p) = window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

/// The full URL of `link` on this page.
fn link_url(link: &Permalink) -> String {
    let location = window().map(|w| w.location());
    let base = location
        .map(|l| format!("{}{}", l.origin().unwrap_or_default(), l.pathname().unwrap_or_default()))
        .unwrap_or_default();
    format!("{base}#{}", link.encode())
}

/// The keys, for the help overlay (the ? key).
const KEYS: [(&str, &str); 7] = [
    ("space", "play / pause"),
    ("→", "step: the next delivery or timer and what it causes"),
    ("←", "step back"),
    ("+ / −", "double / halve the speed"),
    ("Esc", "close a menu or this help"),
    ("?", "show or hide this help"),
    ("right-click a node", "crash, restart, skew, make Byzantine"),
];

fn help_overlay(close: Callback<MouseEvent>) -> Html {
    html! {
        <div class="help-overlay" data-testid="help" role="dialog" aria-label="keyboard help" onclick={close}>
            <div class="help-box">
                <h2>{ "Keys" }</h2>
                <dl>
                    { for KEYS.iter().map(|(k, what)| html! { <><dt><kbd>{ *k }</kbd></dt><dd>{ *what }</dd></> }) }
                </dl>
                <p class="hint">{ "Click anywhere to close." }</p>
            </div>
        </div>
    }
}

/// Listens to `kind` on `target` until dropped.
struct Listener {
    target: web_sys::EventTarget,
    kind: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    fn new(
        target: web_sys::EventTarget,
        kind: &'static str,
        f: impl FnMut(web_sys::Event) + 'static,
    ) -> Self {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        // Adding a listener fails only for a non-callable; ours always is.
        let _ = target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
        Listener { target, kind, closure }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ =
            self.target.remove_event_listener_with_callback(self.kind, self.closure.as_ref().unchecked_ref());
    }
}

/// Keys: space play/pause, → step, ← step back, + / − speed, ? help; ignored while typing
/// in a field.
fn key_action(event: &web_sys::Event) -> Option<Action> {
    let key = event.dyn_ref::<web_sys::KeyboardEvent>()?;
    if key.ctrl_key() || key.meta_key() || key.alt_key() {
        return None;
    }
    let typing = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
    if typing {
        return None;
    }
    match key.key().as_str() {
        " " => Some(Action::TogglePlay),
        "ArrowRight" => Some(Action::Step),
        "ArrowLeft" => Some(Action::StepBack),
        "+" | "=" => Some(Action::ScaleSpeed(SPEED_KEY_FACTOR)),
        "-" | "_" => Some(Action::ScaleSpeed(1.0 / SPEED_KEY_FACTOR)),
        "?" => Some(Action::ToggleHelp),
        "Escape" => Some(Action::Menu(None)),
        _ => None,
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let model = use_reducer_eq(|| {
        // Opening a link simulates up to its position: the time between these two marks.
        mark("void-open-start");
        let model = Model::open(current_link());
        mark("void-open-end");
        model
    });
    // Effects run once the first frame is in the document: the page is interactive.
    use_effect_with((), |_| mark("void-first-frame"));
    let page = use_state(initial_page);
    // The live cluster while "watch live" is on: drawn instead of the run, which is untouched.
    let live = use_state_eq(|| None::<std::rc::Rc<crate::model::Snapshot>>);
    // "Watch live" is on (the live panel then hands over snapshots).
    let watching = use_state_eq(|| false);
    let on_watching = {
        let (watching, model) = (watching.clone(), model.clone());
        use_callback((), move |on: bool, _| {
            // The simulated run waits, paused, while the live cluster is shown.
            if on {
                model.dispatch(Action::Pause);
            }
            watching.set(on)
        })
    };
    // A native run's recording, while one is open: drawn like the live cluster.
    let recorded = use_state_eq(|| None::<std::rc::Rc<crate::model::Snapshot>>);
    let on_recorded = {
        let recorded = recorded.clone();
        use_callback((), move |shown: Option<std::rc::Rc<crate::model::Snapshot>>, _| recorded.set(shown))
    };
    let replaying = model.recording.is_some();
    let leave_recording = {
        let model = model.clone();
        use_callback((), move |(): (), _| model.dispatch(Action::CloseRecording))
    };
    let leave_live = {
        let (watching, leave_recording) = (watching.clone(), leave_recording.clone());
        use_callback(replaying, move |(): (), replaying| match replaying {
            true => leave_recording.emit(()),
            false => watching.set(false),
        })
    };
    let live_selected = use_state_eq(|| None::<u32>);
    let on_watch = {
        let live = live.clone();
        // Called on every live event and animation frame: only the drawing changes.
        use_callback((), move |shown: Option<std::rc::Rc<crate::model::Snapshot>>, _| live.set(shown))
    };
    // In live mode a click selects a native node for the inspector; nothing else applies.
    let live_dispatch = {
        let live_selected = live_selected.clone();
        use_callback((), move |action: Action, _| {
            if let Action::Select(node) = action {
                live_selected.set(node);
            }
        })
    };
    let large_text = use_state(stored_large_text);
    let dispatch = {
        let model = model.clone();
        Callback::from(move |action: Action| model.dispatch(action))
    };

    // Time slicing: while playing, each tick handles a bounded number of events.
    {
        let dispatch = dispatch.clone();
        use_effect_with(model.playing, move |playing| {
            let interval = playing.then(|| {
                let mut last = now_ms();
                Interval::new(FRAME_MS, move || {
                    let t = now_ms();
                    dispatch.emit(Action::Tick { real_ms: (t - last).clamp(0.0, 250.0) });
                    last = t;
                })
            });
            move || drop(interval)
        });
    }

    // The address bar names the run shown, and the moment and faults too whenever the run
    // stands still (paused, stepped, seeked), so that reloading the page or copying the
    // address reopens what is on screen. While it plays or seeks, the moment changes every
    // frame (browsers throttle history updates), so the address names the run's start if
    // it named another run, and is left as it is otherwise.
    {
        let view = model.view.clone();
        let still =
            (!model.playing && model.seeking.is_none() && !replaying).then(|| view.permalink().encode());
        use_effect_with(
            (view.scenario.clone(), view.seed, view.custom.clone(), still),
            move |(.., still)| {
                let same = |l: &Permalink| {
                    l.scenario == view.scenario
                        && l.seed == view.seed
                        && l.custom.as_deref() == view.custom.as_deref()
                };
                let text = match still {
                    Some(text) => text.clone(),
                    None if matches!(current_link(), Ok(Some(l)) if same(&l)) => return,
                    None => Permalink { at: 0, faults: Vec::new(), ..view.permalink() }.encode(),
                };
                let Some(w) = window() else { return };
                if w.location().hash().ok().as_deref() != Some(format!("#{text}").as_str())
                    && let Ok(history) = w.history()
                {
                    let _ = history.replace_state_with_url(
                        &wasm_bindgen::JsValue::NULL,
                        "",
                        Some(&format!("#{text}")),
                    );
                }
            },
        );
    }

    // Keyboard and permalinks pasted into this tab.
    {
        let dispatch = dispatch.clone();
        let to_simulation = page.clone();
        let hidden = *watching || replaying;
        use_effect_with((*page, hidden), move |(page, watching)| {
            let mut listeners = Vec::new();
            if let Some(w) = window() {
                // The simulation's keys only act on its own page, and not while it is
                // hidden behind the live cluster.
                if let Some(doc) = w.document().filter(|_| *page == Page::Simulate && !*watching) {
                    let dispatch = dispatch.clone();
                    listeners.push(Listener::new(doc.into(), "keydown", move |e: web_sys::Event| {
                        if let Some(action) = key_action(&e) {
                            e.prevent_default();
                            dispatch.emit(action);
                        }
                    }));
                }
                // Back and forward between the simulation and the Workbenches (`?bench=`).
                let to_page = to_simulation.clone();
                listeners
                    .push(Listener::new(w.clone().into(), "popstate", move |_| to_page.set(initial_page())));
                listeners.push(Listener::new(w.into(), "hashchange", move |_| match current_link() {
                    Ok(Some(link)) => {
                        // A link names a run: show it, also from the Workbenches page.
                        to_simulation.set(Page::Simulate);
                        dispatch.emit(Action::Open(link));
                    }
                    Ok(None) => {}
                    Err(e) => dispatch.emit(Action::Fail(format!("cannot open this link: {e}"))),
                }));
            }
            move || drop(listeners)
        });
    }

    let on_share = {
        let view = model.view.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |()| {
            let link = view.permalink();
            let url = link_url(&link);
            if let Some(w) = window() {
                if let Ok(history) = w.history() {
                    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
                }
                // The clipboard may be refused (permissions); the link is shown either way.
                let _ = w.navigator().clipboard().write_text(&url);
            }
            dispatch.emit(Action::Notice(Some(url)));
        })
    };
    let close_menu = {
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Menu(None)))
    };
    let dismiss = {
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::DismissError))
    };
    let dismiss_notice = {
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Notice(None)))
    };
    let export = {
        let model = model.clone();
        Callback::from(move |format: Export| model.export(format))
    };
    let on_page = {
        let (page, dispatch) = (page.clone(), dispatch.clone());
        Callback::from(move |next: Page| {
            dispatch.emit(Action::Pause);
            // A page switch is a step Back undoes; the page is named in the address.
            if next != *page {
                set_address(next == Page::Workbenches, true);
            }
            page.set(next);
        })
    };
    let on_large_text = {
        let large_text = large_text.clone();
        Callback::from(move |()| {
            store_large_text(!*large_text);
            large_text.set(!*large_text)
        })
    };
    if *page == Page::Workbenches {
        // The large-text setting carries over (`--text` scales the benches' text too), and
        // the benches' A+ sets it here.
        return html! {
            <div class={classes!("bench-page", large_text.then_some("large-text"))} data-testid="bench-page">
                <WorkbenchHost on_select={on_page} run={Some(model.view.failures().encode())}
                    on_large_text={on_large_text} />
            </div>
        };
    }
    let view = model.view.clone();
    let text_scale = if *large_text { LARGE_TEXT } else { 1.0 };
    // The recording, when open, is drawn instead of the live cluster.
    let live = if replaying { recorded.clone() } else { live };
    let recording_label =
        model.recording.as_ref().map(|r| format!("{} nodes · {} events", r.replicas.len(), r.len()));
    let live_bar = live.as_ref().map(|shown| LiveBar {
        nodes: shown.nodes.iter().filter(|n| n.role != "client").count(),
        down: shown.nodes.iter().filter(|n| n.role != "client" && n.state == "crashed").count(),
        events_per_s: events_per_second(
            &shown.recent.iter().map(|e| e.time).collect::<Vec<_>>(),
            shown.now_us,
        ),
    });
    html! {
        <div class={classes!("playground", large_text.then_some("large-text"))}>
            <TopBar view={view.clone()} shown_us={model.display_us} playing={model.playing} speed={model.speed}
                dispatch={dispatch.clone()} on_share={on_share.clone()} large_text={*large_text} {on_large_text}
                live={live_bar} on_leave_live={leave_live} recording={recording_label}>
                <ViewSwitch current={Page::Simulate} on_select={on_page} />
            </TopBar>
            if let Some(e) = &model.error {
                <div class="banner error" role="alert" data-testid="error">
                    <span>{ e.clone() }</span>
                    <button onclick={dismiss} aria-label="dismiss">{ "✕" }</button>
                </div>
            }
            if let Some((url, at)) = &model.notice {
                <div class="banner notice" data-testid="notice">
                    if *at == model.view.events {
                        <span>{ "Link to this run (copied): " }</span>
                    } else {
                        // The run moved on: the link still opens where it was shared.
                        <span data-testid="permalink-stale">{ format!("Link to event #{at} (copied), not the moment shown: ") }</span>
                    }
                    <input class="permalink" data-testid="permalink" readonly=true value={url.clone()} />
                    if *at != model.view.events {
                        <button data-testid="share-again" onclick={on_share.reform(|_: MouseEvent| ())}>{ "link this moment" }</button>
                    }
                    <button onclick={dismiss_notice} aria-label="dismiss">{ "✕" }</button>
                </div>
            }
            <main class={classes!("stage", live.is_some().then_some("live"), replaying.then_some("recording"))}>
                if let Some(shown) = &*live {
                    // Faults and selections act on the simulation; the live cluster's
                    // controls are in its panel.
                    <ClusterView view={shown.clone()} shown_us={shown.now_us} speed={1.0} selected={*live_selected}
                        dispatch={live_dispatch.clone()} live=true {text_scale} />
                } else {
                    <ClusterView view={view.clone()} shown_us={model.display_us} speed={model.speed} selected={model.selected}
                        dispatch={dispatch.clone()} {text_scale} />
                }
                <aside class="side">
                    if let Some(shown) = &*live {
                        <Inspector view={shown.clone()} selected={*live_selected} dispatch={Callback::noop()} live=true />
                        <section class="panel invariants" data-testid="invariants-live">
                            <h2>{ "Invariants" }</h2>
                            <p class="hint">{ "Checked on simulated runs: native nodes do not run the checkers. \
                                They report state digests, shown in the Live cluster panel." }</p>
                        </section>
                    } else {
                        // A violation is the news: its panel comes first.
                        if view.violation.is_some() {
                            <Invariants view={view.clone()} dispatch={dispatch.clone()} on_share={on_share.clone()}
                                export={export.clone()} />
                        }
                        <Inspector view={view.clone()} selected={model.selected} dispatch={dispatch.clone()} />
                        if view.violation.is_none() {
                            <Invariants view={view.clone()} ahead={model.violation_ahead.clone()}
                                dispatch={dispatch.clone()} on_share={on_share.clone()} export={export.clone()} />
                        }
                        <ScenarioEditor text={model.scenario_text.clone()} error={model.scenario_error.clone()}
                            seed={view.seed} dispatch={dispatch.clone()} planned={model.planned.clone()} />
                    }
                    <LivePanel watching={*watching} {on_watching} {on_watch} />
                </aside>
                if model.metrics_open {
                    <MetricsDrawer view={view.clone()} dispatch={dispatch.clone()} />
                }
            </main>
            <footer class="bottom">
                if let Some(recording) = &model.recording {
                    <RecordingBar recording={recording.clone()} on_show={on_recorded} on_leave={leave_recording} />
                }
                if let Some(shown) = &*live {
                    if !replaying {
                        <p class="live-note" data-testid="live-note">
                            { format!("Live: the native cluster, {} events received (page time)", shown.events) }
                        </p>
                    }
                    <SpaceTime view={shown.clone()} {text_scale} />
                    <EventLine view={shown.clone()} />
                } else {
                    <SpaceTime view={view.clone()} selected={model.selected} {text_scale} />
                    <Timeline view={view.clone()} high_water={model.high_water} seeking={model.seeking}
                        moments={model.moments.clone()}
                        metrics_open={model.metrics_open} imported={model.imported.clone()}
                        dispatch={dispatch.clone()} export={export} />
                    <EventLine view={view.clone()} />
                }
            </footer>
            if let Some(at) = model.menu {
                <div class="menu-backdrop" onclick={close_menu.clone()}></div>
                <NodeMenu view={view} at={at} dispatch={dispatch.clone()} />
            }
            if model.help_open {
                { help_overlay({
                    let dispatch = dispatch.clone();
                    Callback::from(move |_: MouseEvent| dispatch.emit(Action::ToggleHelp))
                }) }
            }
            if let Some(at) = model.link_menu {
                <div class="menu-backdrop" onclick={close_menu}></div>
                <LinkMenu at={at} dispatch={dispatch} />
            }
        </div>
    }
}
