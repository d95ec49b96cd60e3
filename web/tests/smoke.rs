//! Proves the browser test pipeline is live: this test runs in headless Chromium and must be
//! counted. `cargo xtask test` fails when no browser test ran.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn appended_element_is_found_in_the_document() {
    let document = web_sys::window().expect("a window").document().expect("a document");
    let body = document.body().expect("a body");
    let element = document.create_element("div").expect("a div");
    element.set_id("void-smoke");
    element.set_text_content(Some("void"));
    body.append_child(&element).expect("the div is appended");

    let found = document.get_element_by_id("void-smoke").expect("the div is found by id");
    assert_eq!(found.tag_name(), "DIV");
    assert_eq!(found.text_content().as_deref(), Some("void"));
    assert_eq!(document.query_selector_all("#void-smoke").expect("a valid selector").length(), 1);
}
