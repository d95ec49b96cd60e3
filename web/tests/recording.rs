//! A native run's trace files imported into the playground: replayed in the cluster view,
//! the space-time diagram and the event list, as live mode draws the native cluster.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{all, attr, click, count, find, mount, settle, sleep, text};
use void_web::recording::Recording;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Four nodes of one `void cluster up --trace` run, a few puts long.
const NODES: [&str; 4] = [
    include_str!("fixtures/node-0.jsonl"),
    include_str!("fixtures/node-1.jsonl"),
    include_str!("fixtures/node-2.jsonl"),
    include_str!("fixtures/node-3.jsonl"),
];

/// Chooses `files` in the import control, as a person picking several files does.
async fn choose(root: &Element, files: &[(&str, &str)]) {
    let input = find(root, "[data-testid=import]").dyn_into::<HtmlInputElement>().expect("an input");
    let chosen = web_sys::DataTransfer::new().expect("a data transfer");
    for (name, text) in files {
        let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
        let file = web_sys::File::new_with_str_sequence(&parts, name).expect("a file");
        chosen.items().add_with_file(&file).expect("added");
    }
    input.set_files(chosen.files().as_ref());
    common::changed(&input);
    // The files are read asynchronously.
    for _ in 0..100 {
        sleep(20).await;
        if count(root, "[data-testid=recording], [data-testid=error]") > 0 {
            break;
        }
    }
    settle().await;
}

fn position(root: &Element) -> usize {
    attr(root, "[data-testid=recording]", "data-position").parse().expect("a number")
}

async fn scrub(root: &Element, to: usize) {
    let input = find(root, "[data-testid=rec-scrubber]").dyn_into::<HtmlInputElement>().expect("an input");
    input.set_value(&to.to_string());
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    input
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).expect("an event"))
        .expect("sent");
    settle().await;
}

#[wasm_bindgen_test]
async fn native_traces_open_as_a_recording_that_steps_and_scrubs() {
    let root = mount("").await;
    let files: Vec<(&str, &str)> = NODES.iter().map(|t| ("trace.jsonl", *t)).collect();
    choose(&root, &files).await;
    assert_eq!(count(&root, "[data-testid=error]"), 0, "no error");
    let total: usize = NODES.iter().map(|t| t.lines().count()).sum();
    assert_eq!(attr(&root, "[data-testid=recording]", "data-events"), total.to_string());
    assert_eq!(attr(&root, "[data-testid=recording]", "data-files"), "4");
    let status = text(&root, "recording-status");
    assert_eq!(status, format!("▶ recording of a native run · 4 nodes · {total} events"));
    let label = find(&root, "[data-testid=recording] .recording-label").text_content().unwrap_or_default();
    assert!(
        label.starts_with("Recording of a native run · trace.jsonl ×4 · nodes N0 N1 N2 N3 + clients N4"),
        "{label}"
    );
    assert!(label.contains(&format!(" · {total} events · ")), "{label}");

    // The cluster view draws the four replicas (and the gateway's client) as live mode does.
    let roles: Vec<String> = all(&root, ".stage [data-node]")
        .iter()
        .map(|e| e.get_attribute("data-role").unwrap_or_default())
        .collect();
    assert_eq!(roles, ["replica", "replica", "replica", "replica", "client"]);
    assert_eq!(position(&root), 0);
    assert_eq!(count(&root, ".spacetime .st-event"), 0, "nothing played yet");

    click(&root, "[data-testid=rec-step]").await;
    click(&root, "[data-testid=rec-step]").await;
    assert_eq!(position(&root), 2);
    assert_eq!(text(&root, "rec-position"), format!("2/{total}"));
    assert_eq!(count(&root, ".spacetime .st-event"), 2);
    click(&root, "[data-testid=rec-step-back]").await;
    assert_eq!(position(&root), 1);

    // Somewhere in the run a message is drawn flying while its paired delivery's arrow shows.
    let mut paired = None;
    for at in (10..total).step_by(7) {
        scrub(&root, at).await;
        assert_eq!(position(&root), at);
        if count(&root, ".spacetime .st-msg") > 0 && count(&root, "[data-inflight]") > 0 {
            paired = Some(at);
            break;
        }
    }
    assert!(paired.is_some(), "a send paired with its delivery is drawn");
    scrub(&root, total).await;
    assert_eq!(text(&root, "rec-position"), format!("{total}/{total}"));
    // The last event in replay order (clocks aligned), as the recording orders them.
    let files: Vec<(String, std::rc::Rc<str>)> =
        NODES.iter().map(|t| ("trace.jsonl".to_owned(), std::rc::Rc::from(*t))).collect();
    let (_, node, _) = Recording::read(&files).expect("read").order().last().expect("an event");
    let said = text(&root, "what-happened");
    assert!(
        said.starts_with(&format!("#{}", total - 1)) && said.contains(&format!("N{node}")),
        "the latest event is told: {said}"
    );
    assert!(count(&root, "[data-testid=event-list] li") > 0);

    // Playing moves on from the start.
    scrub(&root, 0).await;
    click(&root, "[data-testid=rec-play]").await;
    for _ in 0..100 {
        if position(&root) > 0 {
            break;
        }
        sleep(30).await;
    }
    assert!(position(&root) > 0, "playing plays events");
    click(&root, "[data-testid=rec-play]").await;

    // Leaving gives the simulated run back, as it was.
    click(&root, "[data-testid=leave-recording]").await;
    assert_eq!(count(&root, "[data-testid=recording]"), 0);
    assert_eq!(count(&root, "[data-testid=scrubber]"), 1, "the run's timeline is back");
    root.remove();
}

#[wasm_bindgen_test]
async fn one_file_with_every_nodes_lines_opens_too_and_bad_lines_are_named() {
    let root = mount("").await;
    let all_lines: String = NODES.concat();
    choose(&root, &[("cluster.jsonl", &all_lines)]).await;
    assert_eq!(attr(&root, "[data-testid=recording]", "data-nodes"), "0,1,2,3,4");
    click(&root, "[data-testid=leave-recording]").await;

    let broken = format!("{}\n{{\"index\": 1, \"node\": 0\n", NODES[1].lines().next().expect("a line"));
    let broken = broken.replace('\n', "\n\n");
    choose(&root, &[("trace.jsonl", NODES[0]), ("bad.jsonl", &broken)]).await;
    let error = text(&root, "error");
    assert!(error.starts_with("bad.jsonl, line 3: not JSON"), "{error}");
    assert_eq!(count(&root, "[data-testid=recording]"), 0);

    click(&root, "[data-testid=error] button").await;
    choose(&root, &[("odd.jsonl", "{\"hello\": 1}\n")]).await;
    let error = text(&root, "error");
    assert!(error.starts_with("odd.jsonl, line 1: unknown format"), "{error}");
    root.remove();
}
