//! The Workbenches page in headless Chromium: each bench is mounted, driven through its
//! `data-testid` hooks, and its answers are checked against `void-core` called directly.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use void_core::caps::{Context, Macaroon, Verifier};
use void_core::causal::CausalModel;
use void_core::sched::{AnnealConfig, Problem, anneal, energy};
use void_web::App;
use void_web::workbench::{
    CausalBench, CausalBenchProps, MAX_BROWSER_STEPS, MacaroonBench, Page, RunFailures, SchedulerBench,
    WorkbenchPage, WorkbenchPageProps, forget_kept, hex,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().expect("a window").document().expect("a document")
}

async fn settle() {
    yew::platform::time::sleep(Duration::from_millis(50)).await;
}

async fn mount<C: yew::BaseComponent>() -> Element
where
    C::Properties: Default,
{
    forget_kept();
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    yew::Renderer::<C>::with_root(root.clone()).render();
    settle().await;
    root
}

fn find(root: &Element, testid: &str) -> Element {
    root.query_selector(&format!("[data-testid={testid}]"))
        .expect("a valid selector")
        .unwrap_or_else(|| panic!("{testid} is shown"))
}

fn shown(root: &Element, testid: &str) -> bool {
    root.query_selector(&format!("[data-testid={testid}]")).expect("a valid selector").is_some()
}

fn attr(el: &Element, name: &str) -> String {
    el.get_attribute(name).unwrap_or_else(|| panic!("{name} is set"))
}

fn fire(el: &Element, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict(kind, &init).expect("an event");
    el.dispatch_event(&event).expect("dispatched");
}

/// Types `value` into an input or textarea (as a person would: value, then `input`).
async fn type_into(root: &Element, testid: &str, value: &str) {
    let el = find(root, testid);
    if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
        input.set_value(value);
    } else {
        el.dyn_ref::<HtmlTextAreaElement>().expect("an input or a textarea").set_value(value);
    }
    fire(&el, "input");
    settle().await;
}

async fn choose(root: &Element, selector: &str, value: &str) {
    let el = root.query_selector(selector).expect("a valid selector").expect("the select is shown");
    el.dyn_ref::<HtmlSelectElement>().expect("a select").set_value(value);
    fire(&el, "change");
    settle().await;
}

async fn click(root: &Element, testid: &str) {
    find(root, testid).dyn_ref::<HtmlElement>().expect("an HTML element").click();
    settle().await;
}

fn area(root: &Element, testid: &str) -> String {
    find(root, testid).dyn_into::<HtmlTextAreaElement>().expect("a textarea").value()
}

fn verdict(root: &Element) -> (bool, String) {
    let v = find(root, "mac-verdict");
    (attr(&v, "data-valid") == "true", v.text_content().unwrap_or_default())
}

#[wasm_bindgen_test]
async fn macaroon_verifies_for_its_context_and_names_the_caveat_that_refuses() {
    let root = mount::<MacaroonBench>().await;
    assert_eq!(verdict(&root), (true, "✓ valid".into()));

    // The token shown is the real one: core decodes it, its signature ends the chain shown,
    // and core's verifier accepts it with its discharge for the same context.
    let (token, _) = Macaroon::deserialize(&area(&root, "mac-token")).expect("the token decodes");
    let (discharge, _) = Macaroon::deserialize(&area(&root, "mac-discharge")).expect("the discharge decodes");
    let chain = find(&root, "mac-chain").query_selector_all("li").expect("a valid selector");
    assert_eq!(chain.length() as usize, 1 + 4 + 1, "mint, four caveats, the third-party caveat");
    let last = chain.item(chain.length() - 1).expect("a step").dyn_into::<Element>().expect("an element");
    assert_eq!(attr(&last, "data-signature"), hex(token.signature()));
    let now = find(&root, "mac-ctx-time").dyn_into::<HtmlInputElement>().expect("an input").value();
    let ctx = Context::new()
        .op("read")
        .user("alice")
        .key("/photos/cat.jpg")
        .ip("10.1.2.3".parse().expect("an address"))
        .now(now.parse().expect("a UNIX time"));
    assert_eq!(Verifier::new().verify(&token, b"this is the root key", &[discharge], &ctx), Ok(()));

    type_into(&root, "mac-ctx-op", "delete").await;
    let (valid, text) = verdict(&root);
    assert!(!valid);
    assert!(text.contains("\"op = read,write\" not satisfied: op is \"delete\""), "{text}");
    let marked = find(&root, "mac-chain").query_selector("li[data-refused]").expect("a valid selector");
    let marked =
        marked.expect("the refused caveat is marked in the chain").text_content().unwrap_or_default();
    assert!(marked.contains("op = read,write"), "{marked}");

    type_into(&root, "mac-ctx-op", "write").await;
    type_into(&root, "mac-ctx-ip", "192.168.0.1").await;
    let (valid, text) = verdict(&root);
    assert!(!valid);
    assert!(text.contains("ip = 10.0.0.0/8"), "the discharge's caveat is named: {text}");
    let marked =
        find(&root, "mac-discharge-chain").query_selector("li[data-refused]").expect("a valid selector");
    assert!(
        marked
            .expect("marked in the discharge's chain")
            .text_content()
            .unwrap_or_default()
            .contains("ip = 10.0.0.0/8")
    );

    type_into(&root, "mac-ctx-ip", "10.9.9.9").await;
    assert!(verdict(&root).0);
    click(&root, "mac-bind").await;
    let (valid, text) = verdict(&root);
    assert!(!valid);
    assert!(text.contains("not bound"), "{text}");

    click(&root, "mac-bind").await;
    type_into(&root, "mac-verifier-key", "another key").await;
    let (valid, text) = verdict(&root);
    assert!(!valid);
    assert!(text.contains("does not match"), "{text}");

    // A bad fact in the context is named in the Verify column; the chain stays shown.
    type_into(&root, "mac-ctx-time", "soon").await;
    assert!(find(&root, "mac-verify-error").text_content().unwrap_or_default().contains("UNIX time"));
    assert!(root.query_selector("[data-testid=mac-error]").expect("a valid selector").is_none());
    assert!(!area(&root, "mac-token").is_empty(), "the token is still shown");
}

#[wasm_bindgen_test]
async fn each_solver_shows_the_energy_core_computes_for_its_placement() {
    let root = mount::<SchedulerBench>().await;
    let problem = Problem::from_json(&area(&root, "sched-input")).expect("the example is valid");
    let check = |root: &Element, solver: &str| -> (f64, Vec<u32>) {
        let row = find(root, &format!("sched-run-{solver}"));
        let shown: f64 = attr(&row, "data-energy").parse().expect("a number");
        let assignment: Vec<u32> =
            attr(&row, "data-assignment").split(',').map(|n| n.parse().expect("a node index")).collect();
        assert_eq!(assignment.len(), problem.tasks().len());
        assert_eq!(shown, energy::energy(&problem, &assignment), "{solver}");
        (shown, assignment)
    };
    let (annealed, _) = check(&root, "anneal");
    let (greedy, _) = check(&root, "greedy");
    let (optimum, _) = check(&root, "exact");
    assert!(optimum <= annealed + 1e-9 && optimum <= greedy + 1e-9);
    let points: usize = attr(&find(&root, "sched-curve"), "data-points").parse().expect("a count");
    assert!(points > 10, "{points} points");
    let placed: usize =
        find(&root, "sched-placement").query_selector_all(".sched-node").expect("a valid selector").length()
            as usize;
    assert_eq!(placed, problem.nodes().len());

    // Another seed: the same answer as core's annealer with that seed.
    type_into(&root, "sched-seed", "7").await;
    click(&root, "sched-run").await;
    let (energy7, assignment7) = check(&root, "anneal");
    let mut config = AnnealConfig::for_problem(&problem, 7);
    config.steps = config.steps.min(MAX_BROWSER_STEPS);
    let native = anneal(&problem, &config);
    assert_eq!((energy7, assignment7), (native.best.energy, native.best.assignment));

    // A bad field is named in place and the run button waits for a valid problem.
    let text = area(&root, "sched-input").replacen("\"cpu\":", "\"cpu\":\"lots\",\"x\":", 1);
    type_into(&root, "sched-input", &text).await;
    let error = find(&root, "sched-error").text_content().unwrap_or_default();
    assert!(error.contains("tasks[0].cpu"), "{error}");
    assert!(find(&root, "sched-run").dyn_into::<web_sys::HtmlButtonElement>().expect("a button").disabled());

    // A generated example with more tasks than the exact solver takes.
    type_into(&root, "sched-gen-tasks", "20").await;
    click(&root, "sched-generate").await;
    assert!(!shown(&root, "sched-error"));
    assert!(!shown(&root, "sched-run-exact"));
    let bigger = Problem::from_json(&area(&root, "sched-input")).expect("valid");
    assert_eq!(bigger.tasks().len(), 20);

    // The reference lines' labels are drawn over the curve (it often ends on them).
    click(&root, "sched-run").await;
    let curve = find(&root, "sched-curve");
    let label = curve.query_selector("[data-ref=greedy]").expect("a valid selector").expect("greedy's label");
    let line = curve.query_selector("polyline").expect("a valid selector").expect("the curve");
    assert!(line.compare_document_position(&label) & web_sys::Node::DOCUMENT_POSITION_FOLLOWING != 0);
}

fn probability(root: &Element, testid: &str) -> f64 {
    attr(&find(root, testid), "data-p").parse().expect("a probability")
}

#[wasm_bindgen_test]
async fn the_simulated_runs_failures_are_modelled_and_ranked() {
    let run = RunFailures {
        label: "pbft-too-many-faults, seed 1, event 42".into(),
        nodes: vec!["node-0".into(), "node-3".into()],
        invariants: vec!["invariant:agreement".into(), "invariant:liveness".into()],
        violated: Some("invariant:agreement".into()),
    };
    forget_kept();
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    let props = CausalBenchProps { run: Some(Rc::new(run.clone())) };
    let handle = yew::Renderer::<CausalBench>::with_root_and_props(root.clone(), props.clone()).render();
    settle().await;
    let told = find(&root, "causal-run").text_content().unwrap_or_default();
    assert!(told.contains("node-0, node-3 crashed or Byzantine; agreement violated"), "{told}");
    click(&root, "causal-from-run").await;
    assert_eq!(area(&root, "causal-input"), run.model_json());
    let items = find(&root, "causal-ranking").query_selector_all("li").expect("a valid selector");
    let ranked: Vec<(String, f64)> = (0..items.length())
        .map(|i| {
            let li = items.item(i).expect("an item").dyn_into::<Element>().expect("an element");
            (attr(&li, "data-name"), attr(&li, "data-score").parse().expect("a score"))
        })
        .collect();
    let names: Vec<&str> = ranked.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["node-0", "node-3", "invariant:agreement"], "{ranked:?}");
    assert!(ranked[2].1 < 0.05, "the violation is the faulty nodes' doing: {ranked:?}");
    // Seeing versus doing now compares a faulty node with the broken invariant.
    let x = find(&root, "causal-x").dyn_into::<HtmlSelectElement>().expect("a select").value();
    let y = find(&root, "causal-y").dyn_into::<HtmlSelectElement>().expect("a select").value();
    assert_eq!((x.as_str(), y.as_str()), ("node-0", "invariant:agreement"));

    // To the simulation and back: the bench is mounted anew and shows what it showed.
    handle.destroy();
    let again = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&again).expect("appended");
    yew::Renderer::<CausalBench>::with_root_and_props(again.clone(), props).render();
    settle().await;
    assert_eq!(area(&again, "causal-input"), run.model_json());
    let x = find(&again, "causal-x").dyn_into::<HtmlSelectElement>().expect("a select").value();
    assert_eq!(x, "node-0");
}

#[wasm_bindgen_test]
async fn seeing_differs_from_doing_on_a_confounded_graph_and_causes_are_ranked() {
    let root = mount::<CausalBench>().await;
    let model = CausalModel::from_json(&area(&root, "causal-input")).expect("the example is valid");
    let seen = probability(&root, "causal-conditional");
    let done = probability(&root, "causal-do");
    assert_eq!(seen, model.query_named("api", &[("db", true)], &[]).expect("answers"));
    assert_eq!(done, model.query_named("api", &[], &[("db", true)]).expect("answers"));
    assert!(seen > done + 0.05, "power confounds db and api: {seen} vs {done}");

    // network reaches api only directly: seeing it fail is the same as making it fail.
    choose(&root, "[data-testid=causal-x]", "network").await;
    let (seen, done) = (probability(&root, "causal-conditional"), probability(&root, "causal-do"));
    assert!((seen - done).abs() < 1e-12, "{seen} vs {done}");

    // Failed db, cache and api with power unobserved: core's ranking of the failed nodes,
    // and the hidden power fault above them.
    let items = find(&root, "causal-ranking").query_selector_all("li").expect("a valid selector");
    let ranked: Vec<(String, f64, bool)> = (0..items.length())
        .map(|i| {
            let li = items.item(i).expect("an item").dyn_into::<Element>().expect("an element");
            (
                attr(&li, "data-name"),
                attr(&li, "data-score").parse().expect("a score"),
                attr(&li, "data-observed") == "true",
            )
        })
        .collect();
    assert_eq!((ranked[0].0.as_str(), ranked[0].2), ("power", false));
    let core = model.root_causes(&["db", "cache", "api"], &["power"]).expect("ranks");
    let observed: Vec<(String, f64)> = ranked.iter().filter(|r| r.2).map(|r| (r.0.clone(), r.1)).collect();
    assert_eq!(observed, core.into_iter().map(|c| (c.node, c.score)).collect::<Vec<_>>());

    // Seen failed, power is its own root cause for certain.
    choose(&root, "[data-testid=causal-seen][data-name=power]", "failed").await;
    let top = find(&root, "causal-ranking").query_selector("li").expect("a valid selector").expect("an item");
    assert_eq!(attr(&top, "data-name"), "power");
    assert_eq!(attr(&top, "data-score").parse::<f64>().expect("a score"), 1.0);

    // A cycle is refused and named.
    let cyclic = r#"{"nodes":[{"name":"a","prior":0.1},{"name":"b","prior":0.1}],
        "edges":[{"from":"a","to":"b","weight":0.5},{"from":"b","to":"a","weight":0.5}]}"#;
    type_into(&root, "causal-input", cyclic).await;
    assert!(find(&root, "causal-error").text_content().unwrap_or_default().contains("cycle"));

    // Half-typed JSON after a valid model: the box being typed in stays the same element,
    // and keeps the focus.
    let valid = r#"{"nodes":[{"name":"a","prior":0.1},{"name":"b","prior":0.1}],"edges":[]}"#;
    type_into(&root, "causal-input", valid).await;
    assert!(root.query_selector("[data-testid=causal-error]").expect("a selector").is_none());
    let area = find(&root, "causal-input").dyn_into::<HtmlElement>().expect("an element");
    area.focus().expect("focused");
    type_into(&root, "causal-input", "{\"nodes\": [").await;
    assert!(find(&root, "causal-error").is_connected());
    assert!(area.is_connected(), "the editor was rebuilt under the cursor");
    let active = document().active_element().expect("something has focus");
    assert_eq!(active.get_attribute("data-testid").as_deref(), Some("causal-input"));
}

#[wasm_bindgen_test]
async fn the_workbench_page_switches_benches_and_goes_back_to_simulate() {
    forget_kept();
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    let chosen = Rc::new(Cell::new(None));
    let on_select = {
        let chosen = chosen.clone();
        yew::Callback::from(move |page: Page| chosen.set(Some(page)))
    };
    let toggled = Rc::new(Cell::new(0));
    let on_large_text = {
        let toggled = toggled.clone();
        yew::Callback::from(move |()| toggled.set(toggled.get() + 1))
    };
    yew::Renderer::<WorkbenchPage>::with_root_and_props(
        root.clone(),
        WorkbenchPageProps { on_select, run: None, large_text: true, on_large_text },
    )
    .render();
    settle().await;
    assert!(shown(&root, "macaroon-bench"));
    // A+ starts as the simulation page left it and hands each toggle back to that page.
    assert_eq!(attr(&find(&root, "large-text"), "aria-pressed"), "true");
    click(&root, "large-text").await;
    assert_eq!(attr(&find(&root, "large-text"), "aria-pressed"), "false");
    click(&root, "large-text").await;
    assert_eq!(attr(&find(&root, "large-text"), "aria-pressed"), "true");
    assert_eq!(toggled.get(), 2);
    click(&root, "bench-scheduler").await;
    assert!(shown(&root, "scheduler-bench") && !shown(&root, "macaroon-bench"));
    let search = || web_sys::window().expect("a window").location().search().expect("a query");
    assert_eq!(search(), "?bench=scheduler", "the address names the bench shown");
    click(&root, "bench-causal").await;
    assert!(shown(&root, "causal-bench"));
    assert_eq!(search(), "?bench=causal");
    assert_eq!(chosen.get(), None);
    click(&root, "view-simulate").await;
    assert_eq!(chosen.get(), Some(Page::Simulate));
    void_web::workbench::set_address(false, false);
    assert_eq!(search(), "");
}

#[wasm_bindgen_test]
async fn the_top_bar_opens_the_workbenches_and_comes_back() {
    // Whatever page an earlier test left named in the address, start on the simulation's.
    void_web::workbench::set_address(false, false);
    let root = mount::<App>().await;
    assert!(shown(&root, "scenario"));
    click(&root, "view-workbenches").await;
    assert!(!shown(&root, "scenario"));
    assert!(shown(&root, "bench-host"));
    let search = || web_sys::window().expect("a window").location().search().expect("a query");
    assert_eq!(search(), "?bench=macaroons", "the page is named in the address");
    // The benches' bundle is not served to the test page: the failure is explained.
    for _ in 0..100 {
        if !shown(&root, "bench-loading") {
            break;
        }
        settle().await;
    }
    let error = find(&root, "bench-load-error").text_content().unwrap_or_default();
    assert!(error.contains("cargo xtask build-web"), "{error}");
    click(&root, "view-simulate").await;
    assert!(shown(&root, "scenario") && shown(&root, "trace-hash"));
    assert!(!shown(&root, "bench-host"));
    assert_eq!(search(), "");
    // Back returns to the Workbenches page, forward to the simulation.
    let history = web_sys::window().expect("a window").history().expect("a history");
    history.back().expect("back");
    assert!(appears(&root, "bench-host").await, "Back went to the Workbenches");
    history.forward().expect("forward");
    assert!(appears(&root, "scenario").await, "forward came back");
}

/// Whether `testid` is shown within two seconds.
async fn appears(root: &Element, testid: &str) -> bool {
    for _ in 0..40 {
        if shown(root, testid) {
            return true;
        }
        settle().await;
    }
    false
}

#[wasm_bindgen_test]
async fn an_unknown_bench_in_the_link_is_named_with_the_valid_ones() {
    let window = web_sys::window().expect("a window");
    let history = window.history().expect("a history");
    let path = window.location().pathname().expect("a path");
    let set_url = |url: &str| {
        history
            .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url))
            .expect("the URL is replaced")
    };
    set_url(&format!("{path}?bench=nosuch"));
    forget_kept();
    let root = document().create_element("div").expect("a div");
    document().body().expect("a body").append_child(&root).expect("appended");
    let props = WorkbenchPageProps {
        on_select: yew::Callback::noop(),
        run: None,
        large_text: false,
        on_large_text: yew::Callback::noop(),
    };
    yew::Renderer::<WorkbenchPage>::with_root_and_props(root.clone(), props).render();
    settle().await;
    set_url(&path);
    let note = find(&root, "bench-unknown").text_content().unwrap_or_default();
    for name in ["nosuch", "macaroons", "scheduler", "causal"] {
        assert!(note.contains(name), "{note} names {name}");
    }
    assert!(shown(&root, "macaroon-bench"), "the first bench opens below the note");
}

#[wasm_bindgen_test]
async fn a_long_chain_and_a_wide_layer_draw_every_node_apart() {
    let root = mount::<CausalBench>().await;
    let chain =
        (0..30).map(|i| format!("{{\"name\":\"n{i}\",\"prior\":0.05}}")).collect::<Vec<_>>().join(",");
    let links = (0..29)
        .map(|i| format!("{{\"from\":\"n{i}\",\"to\":\"n{}\",\"weight\":0.5}}", i + 1))
        .collect::<Vec<_>>();
    let star = (0..20)
        .map(|i| format!("{{\"from\":\"n0\",\"to\":\"n{}\",\"weight\":0.5}}", i + 1))
        .collect::<Vec<_>>();
    for edges in [links, star] {
        type_into(&root, "causal-input", &format!("{{\"nodes\":[{chain}],\"edges\":[{}]}}", edges.join(",")))
            .await;
        let boxes: Vec<(f64, f64, f64, f64)> = root
            .query_selector_all(".causal-graph .cnode rect")
            .expect("a valid selector")
            .values()
            .into_iter()
            .filter_map(|r| r.ok()?.dyn_into::<Element>().ok())
            .map(|r| {
                let n = |a: &str| attr(&r, a).parse::<f64>().expect("a number");
                (n("x"), n("y"), n("x") + n("width"), n("y") + n("height"))
            })
            .collect();
        assert_eq!(boxes.len(), 30);
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1, "{a:?} and {b:?} overlap");
            }
        }
    }
}
