//! Live mode: the native cluster `void play` runs beside the page. The panel shows each
//! node's `/status` (gathered by the server at `/live/status`), streams every node's observed
//! events over its `/events` WebSocket (reconnecting when a node comes back after a kill),
//! and kills (-9) or restarts nodes with the token the server handed out at `/live/cluster`. Served without a cluster (`--no-cluster`, or as
//! static files), it says so and stays out of the way. "Watch live" hands the page a
//! [`Snapshot`] of the live cluster so the main cluster view and the space-time diagram
//! draw it instead of the simulated run (which stays as it was).

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::format;
use crate::live::LiveFeed;
use crate::model::Snapshot;

/// Status poll period.
const POLL_MS: u32 = 1000;
/// Events listed in the panel.
const EVENTS: usize = 16;
/// How often closed event streams are opened again (a killed node may be back).
const RECONNECT_MS: u32 = 1000;
/// Redraw period while messages fly in the live view.
const FRAME_MS: u32 = 33;

/// Calls `void play`'s `path` (with the live token and a JSON body when given); the
/// answer's JSON, or its `error`.
async fn fetch_json(
    path: &str,
    method: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Value, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(&b.to_string()));
    }
    let request = web_sys::Request::new_with_str_and_init(path, &init).map_err(|e| format::js_error(&e))?;
    if let Some(t) = token {
        let _ = request.headers().set("Authorization", &format!("Bearer {t}"));
    }
    if body.is_some() {
        let _ = request.headers().set("Content-Type", "application/json");
    }
    let resp = JsFuture::from(window.fetch_with_request(&request)).await.map_err(|e| format::js_error(&e))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|e| format::js_error(&e))?)
        .await
        .map_err(|e| format::js_error(&e))?;
    let text = text.as_string().unwrap_or_default();
    let value: Value = serde_json::from_str(&text).map_err(|_| format!("HTTP {status}"))?;
    if !(200..300).contains(&status) {
        return Err(value["error"].as_str().map_or_else(|| format!("HTTP {status}"), String::from));
    }
    Ok(value)
}

#[derive(Clone, PartialEq)]
struct Cluster {
    token: Rc<str>,
    /// Each replica's `/events` WebSocket URL, in node order.
    events_urls: Vec<String>,
}

/// Keeps a WebSocket open until dropped.
struct Socket {
    ws: web_sys::WebSocket,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

/// Page time in microseconds (what live events are stamped with on arrival).
fn now_us() -> u64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0, |p| (p.now() * 1000.0) as u64)
}

/// Opens `url`'s event stream; each event goes into `feed`, and `received` moves on so the
/// panel (and the live view) redraw.
fn connect(url: &str, feed: &Rc<RefCell<LiveFeed>>, received: &UseStateHandle<u64>) -> Option<Socket> {
    let ws = web_sys::WebSocket::new(url).ok()?;
    let (feed, received) = (feed.clone(), received.clone());
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |m: web_sys::MessageEvent| {
        let Some(text) = m.data().as_string() else { return };
        // A line that is no event (another server on that port) is skipped.
        let pushed = feed.borrow_mut().push(&text, now_us());
        if pushed.is_ok() {
            // The borrow ends before the redraw reads the feed.
            received.set(feed.borrow().received());
        }
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(Socket { ws, _on_message: on_message })
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.ws.close();
    }
}

#[derive(Properties, PartialEq)]
pub struct LivePanelProps {
    /// Whether the main views draw the live cluster ("watch live" is on).
    pub watching: bool,
    /// "Watch live" pressed (true) or released (false).
    pub on_watching: Callback<bool>,
    /// The live cluster to draw in the main views while watching; `None` when not.
    pub on_watch: Callback<Option<Rc<Snapshot>>>,
}

#[function_component(LivePanel)]
pub fn live_panel(props: &LivePanelProps) -> Html {
    let cluster = use_state(|| None::<Result<Cluster, String>>);
    let nodes = use_state(Vec::<Value>::new);
    let feed = use_mut_ref(LiveFeed::default);
    let received = use_state_eq(|| 0u64);
    let watching = props.watching;
    // Animation frames while messages fly (a counter: each new value redraws).
    let frame = use_state_eq(|| 0u64);
    // Which nodes' event streams are open, in node order.
    let connected = use_state_eq(Vec::<bool>::new);
    // While watching: the picture held still to be looked at (events keep arriving).
    let held = use_state_eq(|| false);
    // The last kill or restart asked for: (node, action, why it failed).
    let note = use_state(|| None::<(u64, &'static str, Option<String>)>);

    {
        let cluster = cluster.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let found = match fetch_json("/live/cluster", "GET", None, None).await {
                    Ok(v) => match v["token"].as_str() {
                        Some(t) => Ok(Cluster {
                            token: t.into(),
                            events_urls: v["replicas"]
                                .as_array()
                                .map(|rs| {
                                    rs.iter()
                                        .filter_map(|r| {
                                            r["http"].as_str().map(|h| format!("ws://{h}/events"))
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        }),
                        None => Err("the server's answer has no token".into()),
                    },
                    Err(e) => Err(e),
                };
                cluster.set(Some(found));
            });
        });
    }

    // Poll the cluster's status while one is there.
    {
        let nodes = nodes.clone();
        let live = matches!(&*cluster, Some(Ok(_)));
        use_effect_with(live, move |live| {
            let poll = move || {
                let nodes = nodes.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(v) = fetch_json("/live/status", "GET", None, None).await {
                        nodes.set(v["nodes"].as_array().cloned().unwrap_or_default());
                    }
                });
            };
            let interval = live.then(|| {
                poll();
                Interval::new(POLL_MS, poll)
            });
            move || drop(interval)
        });
    }

    // Stream every node's events; a stream that closed (its node was killed) is opened
    // again each second, so a restarted node shows up without reloading the page.
    {
        let (feed, received, connected) = (feed.clone(), received.clone(), connected.clone());
        let urls = match &*cluster {
            Some(Ok(c)) => c.events_urls.clone(),
            _ => Vec::new(),
        };
        use_effect_with(urls, move |urls| {
            let sockets: Rc<RefCell<Vec<Option<Socket>>>> =
                Rc::new(RefCell::new(urls.iter().map(|_| None).collect()));
            let supervise = {
                let (urls, sockets) = (urls.clone(), sockets.clone());
                move || {
                    let mut open = Vec::with_capacity(urls.len());
                    for (url, slot) in urls.iter().zip(sockets.borrow_mut().iter_mut()) {
                        let alive =
                            slot.as_ref().is_some_and(|s| s.ws.ready_state() <= web_sys::WebSocket::OPEN);
                        if !alive {
                            *slot = connect(url, &feed, &received);
                        }
                        open.push(
                            slot.as_ref().is_some_and(|s| s.ws.ready_state() == web_sys::WebSocket::OPEN),
                        );
                    }
                    connected.set(open);
                }
            };
            let interval = (!urls.is_empty()).then(|| {
                supervise();
                Interval::new(RECONNECT_MS, supervise)
            });
            move || {
                drop(interval);
                sockets.borrow_mut().clear();
            }
        });
    }

    // While watching, every new event or status answer redraws the live cluster, and so
    // does every frame while a message is drawn flying (one more once the last has landed).
    {
        let on_watch = props.on_watch.clone();
        let feed = feed.clone();
        let hold = *held && watching;
        use_effect_with(
            (watching, *received, (*nodes).clone(), *frame, hold),
            move |(watching, _, nodes, _, hold)| {
                if !*hold {
                    on_watch.emit(watching.then(|| Rc::new(feed.borrow().snapshot(nodes, now_us()))));
                }
            },
        );
    }
    let ticks = use_mut_ref(|| 0u64);
    {
        let (feed, frame) = (feed.clone(), frame.clone());
        use_effect_with(watching, move |watching| {
            let flying = std::cell::Cell::new(false);
            let interval = watching.then(|| {
                Interval::new(FRAME_MS, move || {
                    let now = feed.borrow().animating(now_us());
                    if now || flying.get() {
                        *ticks.borrow_mut() += 1;
                        frame.set(*ticks.borrow());
                    }
                    flying.set(now);
                })
            });
            move || drop(interval)
        });
    }
    // Leaving the page (or the panel) gives the main views back to the simulation.
    {
        let on_watch = props.on_watch.clone();
        use_effect_with((), move |_| move || on_watch.emit(None));
    }
    let toggle_watch = {
        let (on_watching, held) = (props.on_watching.clone(), held.clone());
        Callback::from(move |_: MouseEvent| {
            held.set(false);
            on_watching.emit(!watching)
        })
    };
    let toggle_hold = {
        let held = held.clone();
        Callback::from(move |_: MouseEvent| held.set(!*held))
    };

    // put / get / delete through `void play`, which relays to the cluster's client gateway.
    let key_ref = use_node_ref();
    let value_ref = use_node_ref();
    let text_ref = use_node_ref();
    let answer = use_state(|| None::<(bool, String)>);
    let kv = {
        let (cluster, answer) = (cluster.clone(), answer.clone());
        let (key_ref, value_ref, text_ref) = (key_ref.clone(), value_ref.clone(), text_ref.clone());
        Callback::from(move |op: &'static str| {
            let Some(Ok(c)) = &*cluster else { return };
            let read =
                |r: &NodeRef| r.cast::<web_sys::HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let body = if op == "broadcast" {
                serde_json::json!({"op": op, "text": read(&text_ref)})
            } else {
                serde_json::json!({"op": op, "key": read(&key_ref), "value": read(&value_ref)})
            };
            // A request waits for the replicas (seconds during a view change): say so, so the
            // previous answer is not taken for this one.
            answer.set(Some((true, format!("{op}: waiting for the cluster…"))));
            let (token, answer) = (c.token.clone(), answer.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let shown = match fetch_json("/live/kv", "POST", Some(&token), Some(&body)).await {
                    Ok(v) => {
                        let text = v["text"].as_str().unwrap_or_default();
                        let text = match (op, text.is_empty()) {
                            ("get", true) => "(no value)".to_owned(),
                            _ => text.to_owned(),
                        };
                        (v["ok"].as_bool().unwrap_or(false), format!("{op} → N{}: {text}", v["node"]))
                    }
                    Err(e) => (false, format!("{op}: {e}")),
                };
                answer.set(Some(shown));
            });
        })
    };

    let act = {
        let cluster = cluster.clone();
        let note = note.clone();
        Callback::from(move |(id, action): (u64, &'static str)| {
            let Some(Ok(c)) = &*cluster else { return };
            let token = c.token.clone();
            let note = note.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/live/node/{id}/{action}");
                let failed = fetch_json(&path, "POST", Some(&token), None).await.err();
                note.set(Some((id, action, failed)));
            });
        })
    };

    let body = match &*cluster {
        None => html! { <p class="hint">{ "looking for a local cluster…" }</p> },
        Some(Err(_)) => html! {
            <p class="hint" data-testid="live-none">
                { "No native cluster here. `void play` (without --no-cluster) runs four `void node` \
                   processes next to the page; they show up here." }
            </p>
        },
        Some(Ok(_)) => html! {
            <>
                <button class={classes!("live-watch", watching.then_some("on"))} data-testid="live-watch"
                    aria-pressed={watching.to_string()} onclick={toggle_watch}
                    title="draw the native cluster in the cluster view and the space-time diagram">
                    { if watching { "◼ back to the simulation" } else { "▶ watch live" } }
                </button>
                if watching {
                    <button class={classes!("live-watch", held.then_some("on"))} data-testid="live-hold"
                        aria-pressed={held.to_string()} onclick={toggle_hold}
                        title="hold the picture still to look at it; events keep arriving, and going on shows the latest">
                        { if *held { "▶ go on" } else { "❚❚ hold the picture" } }
                    </button>
                }
                <table class="live-nodes" data-testid="live-nodes">
                    <tr><th title="● its event stream is open">{ "node" }</th><th>{ "role" }</th><th>{ "view" }</th>
                        <th title="last executed sequence number">{ "executed" }</th>
                        <th title="digest of the replicated state (equal on replicas that agree)">{ "state" }</th><th></th></tr>
                    { for nodes.iter().map(|n| row(n, &connected, &act)) }
                </table>
                if let Some(t) = note_text(note.as_ref(), &nodes[..]) { <p class="hint" data-testid="live-action">{ t }</p> }
                <h3>{ "Key-value store" }</h3>
                <div class="live-kv">
                    <input ref={key_ref} data-testid="live-key" placeholder="key" aria-label="key" />
                    <input ref={value_ref} data-testid="live-value" placeholder="value" aria-label="value" />
                    <button data-testid="live-put" onclick={let kv = kv.clone(); move |_| kv.emit("put")}>{ "put" }</button>
                    <button data-testid="live-get" onclick={let kv = kv.clone(); move |_| kv.emit("get")}>{ "get" }</button>
                    <button data-testid="live-delete" onclick={let kv = kv.clone(); move |_| kv.emit("delete")}>{ "delete" }</button>
                </div>
                <h3>{ "Gossip broadcast" }</h3>
                <div class="live-kv">
                    <input ref={text_ref} data-testid="live-text" placeholder="text" aria-label="broadcast text" />
                    <button data-testid="live-broadcast" onclick={move |_| kv.emit("broadcast")}
                        title="sent by HyParView/Plumtree from one node to every other">{ "broadcast" }</button>
                </div>
                if let Some((ok, text)) = &*answer {
                    <p class={classes!("live-answer", (!ok).then_some("refused"))} data-testid="live-answer"
                        data-ok={ok.to_string()}>{ text.clone() }</p>
                }
                <h3>{ "Events from every node, newest first" }</h3>
                <ul class="live-events" data-testid="live-events">
                    { for feed.borrow().newest(EVENTS).map(|e| html! {
                        <li>{ format!("N{} {}: {}", e.node, e.kind, e.text) }</li>
                    }) }
                </ul>
            </>
        },
    };
    html! {
        <details class="panel live" aria-label="live cluster">
            <summary><h2>{ "Live cluster" }</h2></summary>
            { body }
        </details>
    }
}

/// What the last kill or restart is doing: shown until the table shows its effect (a
/// failure stays).
fn note_text(note: Option<&(u64, &'static str, Option<String>)>, nodes: &[Value]) -> Option<String> {
    let (id, action, failed) = note?;
    if let Some(why) = failed {
        return Some(format!("node {id}: {why}"));
    }
    let alive = nodes.iter().find(|n| n["id"].as_u64() == Some(*id)).and_then(|n| n["alive"].as_bool());
    let (done, what) = match *action {
        "kill" => (alive == Some(false), "kill -9 sent, waiting for it to go down…"),
        _ => (alive == Some(true), "restart sent, waiting for it to answer…"),
    };
    (!done).then(|| format!("node {id}: {what}"))
}

fn row(n: &Value, connected: &[bool], act: &Callback<(u64, &'static str)>) -> Html {
    let id = n["id"].as_u64().unwrap_or(0);
    let streaming = connected.get(id as usize).copied().unwrap_or(false);
    let alive = n["alive"].as_bool().unwrap_or(false);
    let st = &n["status"];
    let text = |k: &str| st[k].as_str().map(String::from).unwrap_or_else(|| st[k].to_string());
    let digest =
        st["state_digest"].as_str().map(|d| d.chars().take(8).collect::<String>()).unwrap_or_default();
    let button = if alive {
        let act = act.clone();
        html! { <button onclick={Callback::from(move |_| act.emit((id, "kill")))}
        title="kill -9 this node's process (the node can then be restarted)">{ "kill" }</button> }
    } else {
        let act = act.clone();
        html! { <button onclick={Callback::from(move |_| act.emit((id, "restart")))}>{ "restart" }</button> }
    };
    html! {
        <tr>
            <td>{ format!("N{id} ") }
                <span data-testid="live-stream" data-open={streaming.to_string()}
                    title={if streaming { "streaming its events" } else { "not connected; retrying every second" }}>
                    { if streaming { "●" } else { "○" } }
                </span>
            </td>
            <td>{ if alive { text("role") } else { "down".into() } }</td>
            <td>{ if alive { text("view") } else { String::new() } }</td>
            <td>{ if alive { text("last_executed") } else { String::new() } }</td>
            <td class="mono">{ digest }</td>
            <td>{ button }</td>
        </tr>
    }
}
