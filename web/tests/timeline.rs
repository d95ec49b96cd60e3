//! The timeline, the metrics drawer and the trace downloads in headless Chromium, checked
//! against the simulator run directly.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{click, events, find, mount, recorded, settle, share, step, text};
use void_core::sim;
use void_web::model::Permalink;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlAnchorElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Moves the scrubber to `at` the way dragging does, and waits for the seek to arrive.
async fn scrub(root: &Element, at: u64) {
    let input = find(root, "[data-testid=scrubber]").dyn_into::<HtmlInputElement>().expect("an input");
    input.set_value(&at.to_string());
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("input", &init).expect("an event");
    input.dispatch_event(&event).expect("dispatched");
    common::arrived(root).await;
}

/// The downloaded file behind an export link, after its click.
async fn download(root: &Element, testid: &str) -> String {
    click(root, &format!("[data-testid={testid}]")).await;
    let link =
        find(root, &format!("[data-testid={testid}]")).dyn_into::<HtmlAnchorElement>().expect("a link");
    let href = link.href();
    assert!(href.starts_with("blob:"), "{href}");
    let window = web_sys::window().expect("a window");
    let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&href))
        .await
        .expect("fetched")
        .dyn_into()
        .expect("a response");
    let body = wasm_bindgen_futures::JsFuture::from(response.text().expect("a body")).await.expect("read");
    body.as_string().expect("text")
}

#[wasm_bindgen_test]
async fn scrubbing_to_event_k_shows_what_stepping_to_it_shows() {
    let root = mount("s=pbft-normal&seed=5").await;
    let mut seen = vec![(events(&root), text(&root, "trace-hash"))];
    for _ in 0..25 {
        click(&root, "[data-testid=step]").await;
        seen.push((events(&root), text(&root, "trace-hash")));
    }
    let end = seen.last().expect("steps").0;
    let scrubber = find(&root, "[data-testid=scrubber]");
    assert_eq!(scrubber.get_attribute("max"), Some(end.to_string()));
    for j in [10usize, 2, 18, 25] {
        let (k, hash) = seen[j].clone();
        scrub(&root, k).await;
        assert_eq!(events(&root), k, "step {j}");
        assert_eq!(text(&root, "trace-hash"), hash, "step {j}");
        assert_eq!(find(&root, "[data-testid=scrubber]").get_attribute("max"), Some(end.to_string()));
    }
    // The same position from the simulator directly.
    let mut run = recorded("pbft-normal", 5);
    run.run_events(seen[18].0);
    assert_eq!((run.event_count(), run.trace_hash()), seen[18].clone());
}

#[wasm_bindgen_test]
async fn a_fault_after_scrubbing_back_forks_and_the_permalink_reproduces_the_fork() {
    let root = mount("s=hlc-ping&seed=12").await;
    step(&root, 8).await;
    let early = events(&root);
    step(&root, 8).await;
    click(&root, "[data-node=\"1\"]").await;
    click(&root, "[data-testid=crash]").await;
    step(&root, 10).await;
    scrub(&root, early).await;
    assert_eq!(events(&root), early);
    assert_eq!(find(&root, "[data-node=\"1\"]").get_attribute("data-state").as_deref(), Some("up"));
    // Fork: crash node 3 instead.
    click(&root, "[data-node=\"3\"]").await;
    click(&root, "[data-testid=crash]").await;
    for _ in 0..3 {
        settle().await;
    }
    step(&root, 6).await;
    assert_eq!(find(&root, "[data-node=\"3\"]").get_attribute("data-state").as_deref(), Some("crashed"));
    assert_eq!(find(&root, "[data-node=\"1\"]").get_attribute("data-state").as_deref(), Some("up"));
    let (hash, at) = (text(&root, "trace-hash"), events(&root));

    let fragment = share(&root).await;
    let link = Permalink::decode(&fragment).expect("decodes").expect("not empty");
    assert_eq!(link.at, at);
    assert_eq!(link.faults.len(), 1, "the fork keeps only this branch's fault: {:?}", link.faults);
    let again = mount(&fragment).await;
    assert_eq!(text(&again, "trace-hash"), hash);
    assert_eq!(events(&again), at);
    assert_eq!(find(&again, "[data-node=\"3\"]").get_attribute("data-state").as_deref(), Some("crashed"));
}

#[wasm_bindgen_test]
async fn the_metrics_drawer_counts_what_the_trace_holds() {
    let at = 1_500;
    let root = mount(&format!("s=pbft-byzantine&seed=3&at={at}")).await;
    assert!(root.query_selector("[data-testid=metrics]").expect("a valid selector").is_none());
    click(&root, "[data-testid=metrics-toggle]").await;
    let drawer = find(&root, "[data-testid=metrics]");
    let mut run = recorded("pbft-byzantine", 3);
    run.run_events(at);
    assert_eq!(events(&root), run.event_count());
    let mut expected: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut rejected = 0u64;
    for i in 0..run.event_count() {
        let e = run.event(i).expect("recorded");
        let slot = expected.entry(e.kind.clone()).or_default();
        match e.category.as_str() {
            "deliver" => slot.0 += 1,
            "drop" => slot.1 += 1,
            _ => {}
        }
        rejected += u64::from(e.rejected.is_some());
    }
    expected.retain(|_, (d, x)| *d + *x > 0);
    let rows = drawer.query_selector_all("[data-kind]").expect("a valid selector");
    assert_eq!(rows.length() as usize, expected.len());
    for i in 0..rows.length() {
        let row: Element = rows.item(i).expect("a row").dyn_into().expect("an element");
        let kind = row.get_attribute("data-kind").expect("a kind");
        let (d, x) = expected[&kind];
        assert_eq!(row.get_attribute("data-delivered"), Some(d.to_string()), "{kind}");
        assert_eq!(row.get_attribute("data-dropped"), Some(x.to_string()), "{kind}");
    }
    let reasons = drawer.query_selector_all("[data-attr=reason]").expect("a valid selector");
    let shown: u64 = (0..reasons.length())
        .filter_map(|i| {
            reasons.item(i)?.dyn_into::<Element>().ok()?.get_attribute("data-count")?.parse::<u64>().ok()
        })
        .sum();
    assert_eq!(shown, rejected);
    assert!(rejected > 0);
    for (key, value) in run.outcome().metrics {
        let cell = find(&drawer, &format!("[data-metric-value=\"{key}\"]"));
        let shown: f64 = cell.text_content().unwrap_or_default().parse().expect("a number");
        assert!((shown - value).abs() <= 1e-3 * value.abs().max(1.0), "{key}: {shown} vs {value}");
    }
    // The drawer lies over the stage (the side panels), not in the page's flow below it.
    let parent = drawer.parent_element().expect("a parent");
    assert!(parent.class_name().split_whitespace().any(|c| c == "stage"), "{}", parent.class_name());
}

#[wasm_bindgen_test]
async fn the_exported_trace_reads_back_to_the_runs_hash_and_shiviz_parses() {
    let root = mount("s=pbft-normal&seed=4&at=700").await;
    let jsonl = download(&root, "export-jsonl").await;
    let n = events(&root);
    assert_eq!(jsonl.lines().count() as u64, n);
    let (count, hash) = sim::rehash_trace("pbft", &jsonl).expect("a pbft trace");
    assert_eq!((count, hash), (n, text(&root, "trace-hash")));
    let mut run = recorded("pbft-normal", 4);
    run.run_events(700);
    assert_eq!(jsonl, sim::trace_jsonl(&*run), "the bytes `void sim --dump-trace` writes");

    let log = download(&root, "export-shiviz").await;
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some(void_web::model::SHIVIZ_REGEX));
    assert_eq!(lines.next(), Some(""));
    let rest: Vec<&str> = lines.collect();
    assert_eq!(rest.len() as u64, 2 * n);
    // ShiViz's expression, in the browser's own RegExp (JS spells named groups the same way).
    let re = js_sys::RegExp::new(r"^(?<event>.*)\n(?<host>\S*) (?<clock>{.*})$", "");
    for pair in rest.chunks(2).take(200) {
        let entry = format!("{}\n{}", pair[0], pair[1]);
        assert!(re.test(&entry), "{entry}");
        let (host, clock) = pair[1].split_once(' ').expect("host clock");
        let clock: serde_json::Value = serde_json::from_str(clock).expect("a JSON clock");
        assert!(clock.get(host).is_some(), "{host} is in its own clock");
    }
}

#[wasm_bindgen_test]
async fn a_refused_message_ends_in_a_cross_in_the_space_time_diagram() {
    let mut run = recorded("pbft-byzantine", 1);
    let reason = loop {
        assert!(run.step(), "the run ends before a rejection");
        let last = run.event(run.event_count() - 1).expect("recorded");
        if let Some(reason) = last.rejected {
            break reason;
        }
    };
    let root = mount(&format!("s=pbft-byzantine&seed=1&at={}", run.event_count())).await;
    let refused = find(&root, ".spacetime .st-msg.rejected");
    assert!(refused.query_selector(".st-refused").expect("a valid selector").is_some(), "the cross");
    let title = refused.query_selector("title").expect("a valid selector").expect("a title");
    assert!(title.text_content().unwrap_or_default().contains(&format!("rejected: {reason}")));
    assert!(root.query_selector(".spacetime .st-event.rejected").expect("a valid selector").is_some());
    // Before the rejection, nothing is marked.
    let before = mount(&format!("s=pbft-byzantine&seed=1&at={}", run.event_count() - 2)).await;
    assert!(before.query_selector(".spacetime .st-msg.rejected").expect("a valid selector").is_none());
}

#[wasm_bindgen_test]
async fn a_scheduled_fault_is_one_choice_away() {
    let root = mount("s=pbft-primary-crash&seed=3").await;
    let picker =
        find(&root, "[data-testid=moments]").dyn_into::<web_sys::HtmlSelectElement>().expect("a select");
    let options: Vec<String> = (1..picker.length())
        .filter_map(|i| picker.item(i))
        .map(|o| o.text_content().unwrap_or_default())
        .collect();
    // PBFT's own moments come first, then the scenario's schedule.
    assert_eq!(
        options,
        vec!["▸ next view change, state transfer or fault", "t=300 ms: crash N0", "t=2000 ms: restart N0"]
    );
    picker.set_value("300000");
    common::changed(&picker);
    common::arrived(&root).await;
    assert_eq!(find(&root, "[data-node=\"0\"]").get_attribute("data-state").as_deref(), Some("crashed"));
    let at = events(&root);
    let mut run = recorded("pbft-primary-crash", 3);
    run.run_events(at);
    let crash = (0..run.event_count())
        .filter_map(|i| run.event(i))
        .find(|e| e.category == "fault")
        .expect("the crash");
    assert!(
        crash.time >= 300_000 && crash.index + 20 > at,
        "the crash (#{}) is among the latest of {at}",
        crash.index
    );
    assert_eq!(picker.value(), "", "back to the prompt");
}
