//! The causal bench: a noisy-OR failure graph as JSON (the `void causal --model` format),
//! `P(Y | X = x)` beside `P(Y | do(X = x))`, and the observed failures ranked by the
//! posterior that each failed on its own.

use void_core::causal::{CausalModel, Cause};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::{on_area, on_select, percent};

/// A small confounded example: a power fault takes down both the database and the cache,
/// and both feed the API, so seeing the database fail says more about the API than making
/// it fail does.
pub const EXAMPLE_MODEL: &str = r#"{
  "nodes": [
    {"name":"power","prior":0.1},
    {"name":"network","prior":0.05},
    {"name":"db","prior":0.05},
    {"name":"cache","prior":0.05},
    {"name":"api","prior":0.02}
  ],
  "edges": [
    {"from":"power","to":"db","weight":0.9},
    {"from":"power","to":"cache","weight":0.8},
    {"from":"network","to":"api","weight":0.6},
    {"from":"db","to":"api","weight":0.3},
    {"from":"cache","to":"api","weight":0.7}
  ]
}
"#;

/// What failed in the simulated run the playground shows, handed to this bench (as text:
/// the bench lives in another bundle). Names as `void sim --incidents` writes them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFailures {
    /// Which run and where: scenario, seed, event.
    pub label: String,
    /// Nodes that crashed or behaved Byzantine so far: `node-<i>`.
    pub nodes: Vec<String>,
    /// Every invariant the run checks: `invariant:<name>`.
    pub invariants: Vec<String>,
    /// The one violated, if any (one of `invariants`).
    pub violated: Option<String>,
}

/// Priors and weight of the model made from a run: a crash or a Byzantine node is common
/// here (the scenario put it there), an invariant breaking on its own (a bug) is rare, and
/// each faulty node may break each invariant.
const RUN_NODE_PRIOR: f64 = 0.1;
const RUN_BUG_PRIOR: f64 = 0.01;
const RUN_WEIGHT: f64 = 0.5;

impl RunFailures {
    /// Lines: nodes, invariants (space-separated names, which hold no spaces), the violated
    /// invariant or nothing, then the label (the rest).
    pub fn encode(&self) -> String {
        let violated = self.violated.as_deref().unwrap_or("");
        format!("{}\n{}\n{violated}\n{}", self.nodes.join(" "), self.invariants.join(" "), self.label)
    }

    pub fn decode(text: &str) -> Option<RunFailures> {
        let mut lines = text.splitn(4, '\n');
        let names = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let (nodes, invariants) = (names(lines.next()?), names(lines.next()?));
        let violated = Some(lines.next()?.to_string()).filter(|v| !v.is_empty());
        Some(RunFailures { nodes, invariants, violated, label: lines.next()?.to_string() })
    }

    /// Anything to rank: a faulty node or a violation.
    pub fn any(&self) -> bool {
        !self.nodes.is_empty() || self.violated.is_some()
    }

    /// The invariants the model names: the violated one, or all of them when none was
    /// (then the graph shows what the faulty nodes could have broken).
    fn modelled(&self) -> Vec<&String> {
        match &self.violated {
            Some(v) => vec![v],
            None => self.invariants.iter().collect(),
        }
    }

    /// A noisy-OR model of the run: its faulty nodes as causes of its invariants.
    pub fn model_json(&self) -> String {
        // Written by hand, one entry per line as the example is: names are `node-<i>` and
        // `invariant:<name>`, which need no escaping.
        let invariants = self.modelled();
        let node = |name: &String, prior: f64| format!("    {{\"name\":\"{name}\",\"prior\":{prior}}}");
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| node(n, RUN_NODE_PRIOR))
            .chain(invariants.iter().map(|i| node(i, RUN_BUG_PRIOR)))
            .collect();
        let edges: Vec<String> = self
            .nodes
            .iter()
            .flat_map(|n| {
                invariants
                    .iter()
                    .map(move |i| format!("    {{\"from\":\"{n}\",\"to\":\"{i}\",\"weight\":{RUN_WEIGHT}}}"))
            })
            .collect();
        format!(
            "{{\n  \"nodes\": [\n{}\n  ],\n  \"edges\": [\n{}\n  ]\n}}\n",
            nodes.join(",\n"),
            edges.join(",\n")
        )
    }

    /// The run's observations: its faulty nodes and the violated invariant failed, the
    /// other invariants modelled healthy.
    pub fn observations(&self) -> Vec<(String, Seen)> {
        let invariant = |i: &String| {
            (i.clone(), if self.violated.as_ref() == Some(i) { Seen::Failed } else { Seen::Healthy })
        };
        self.nodes
            .iter()
            .map(|n| (n.clone(), Seen::Failed))
            .chain(self.modelled().into_iter().map(invariant))
            .collect()
    }
}

/// `P(Y = 1 | X = x)` and `P(Y = 1 | do(X = x))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CausalReport {
    pub conditional: f64,
    pub intervened: f64,
}

/// Both queries for `y` given, then forced, `x = value`.
pub fn compare(model: &CausalModel, x: &str, y: &str, value: bool) -> Result<CausalReport, String> {
    let conditional = model.query_named(y, &[(x, value)], &[]).map_err(|e| format!("P({y} | {x}): {e}"))?;
    let intervened =
        model.query_named(y, &[], &[(x, value)]).map_err(|e| format!("P({y} | do({x})): {e}"))?;
    Ok(CausalReport { conditional, intervened })
}

/// What is known of a node when ranking root causes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    Failed,
    Healthy,
    Unknown,
}

/// A ranked node and whether it was observed failed (else it was not observed).
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    pub cause: Cause,
    pub observed: bool,
}

/// The failed nodes ranked by `P(own cause fired | observations)` (as `void causal
/// root-cause`), with the nodes not observed scored the same way beside them: a hidden
/// common cause then shows up as the likeliest culprit. Highest first.
pub fn rank(model: &CausalModel, seen: &[(String, Seen)]) -> Result<Vec<Ranked>, String> {
    let pick = |s: Seen| seen.iter().filter(|(_, v)| *v == s).map(|(n, _)| n.as_str()).collect::<Vec<_>>();
    let (failed, unknown) = (pick(Seen::Failed), pick(Seen::Unknown));
    if failed.is_empty() {
        return Err(String::from("mark at least one node failed to rank root causes"));
    }
    let text = |e: void_core::causal::QueryError| e.to_string();
    let mut out: Vec<Ranked> = model
        .root_causes(&failed, &unknown)
        .map_err(text)?
        .into_iter()
        .map(|cause| Ranked { cause, observed: true })
        .collect();
    let mut settings: Vec<(&str, bool)> = failed.iter().map(|&n| (n, true)).collect();
    settings.extend(seen.iter().filter(|(_, v)| *v == Seen::Healthy).map(|(n, _)| (n.as_str(), false)));
    let evidence = model.evidence(&settings).map_err(text)?;
    for name in unknown {
        let v = model.node(name).ok_or_else(|| format!("unknown node {name:?}"))?;
        let score = model.own_cause_posterior(v, &evidence).map_err(text)?;
        out.push(Ranked { cause: Cause { node: name.to_string(), score }, observed: false });
    }
    out.sort_by(|a, b| b.cause.score.total_cmp(&a.cause.score).then_with(|| a.cause.node.cmp(&b.cause.node)));
    Ok(out)
}

const NODE_W: f64 = 92.0;
const NODE_H: f64 = 34.0;
const GRAPH_W: f64 = 520.0;
const GRAPH_H: f64 = 230.0;
/// Horizontal room between two layers, for the edge and its weight.
const LAYER_GAP: f64 = 36.0;

/// The graph in layers (a node's layer is its longest path from a root), left to right.
fn graph(model: &CausalModel, x: &str, y: &str, seen: &[(String, Seen)]) -> Html {
    let n = model.len();
    // Wide enough for the longest name with its "X "/"Y " mark (bold text, about 7.5 px a
    // character), so long names such as `invariant:agreement` are not cut.
    let longest = (0..n).map(|v| model.name(v as u32).chars().count() + 2).max().unwrap_or(0);
    let node_w = NODE_W.max(longest as f64 * 8.5 + 14.0);
    let mut layer = vec![0usize; n];
    for &v in model.topological_order() {
        layer[v as usize] = model.parents(v).iter().map(|&(p, _)| layer[p as usize] + 1).max().unwrap_or(0);
    }
    let layers = layer.iter().max().map_or(1, |m| m + 1);
    let mut rank_in_layer = vec![0usize; n];
    let mut count = vec![0usize; layers];
    for v in 0..n {
        rank_in_layer[v] = count[layer[v]];
        count[layer[v]] += 1;
    }
    // Room for every layer side by side and the fullest layer's nodes one above the other:
    // a long chain or a wide layer scrolls instead of piling its nodes up.
    let tall = count.iter().copied().max().unwrap_or(1);
    let width = GRAPH_W.max(24.0 + layers as f64 * (node_w + LAYER_GAP) - LAYER_GAP);
    let height = GRAPH_H.max(tall as f64 * (NODE_H + 12.0));
    let pos = |v: usize| {
        let cx = 12.0 + node_w / 2.0 + (width - 24.0 - node_w) * layer[v] as f64 / (layers.max(2) - 1) as f64;
        let gap = height / count[layer[v]] as f64;
        (cx, gap * (rank_in_layer[v] as f64 + 0.5))
    };
    let state = |name: &str| seen.iter().find(|(n, _)| n == name).map_or(Seen::Healthy, |s| s.1);
    // At its natural size when larger than the panel (the panel scrolls).
    let style =
        (width > GRAPH_W || height > GRAPH_H).then(|| format!("width: {width:.0}px; max-width: none"));
    html! {
        <div class="causal-graph-box">
        <svg class="causal-graph" data-testid="causal-graph" viewBox={format!("0 0 {width:.0} {height:.0}")} role="img"
            aria-label="the causal graph" {style}>
            <defs>
                <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0 0 L10 5 L0 10 Z" fill="#5b6470" />
                </marker>
            </defs>
            { for (0..n).flat_map(|v| model.parents(v as u32).iter().map(move |&(p, w)| (p as usize, v, w))).map(|(p, v, w)| {
                let ((x1, y1), (x2, y2)) = (pos(p), pos(v));
                let (sx, ex) = (x1 + node_w / 2.0, x2 - node_w / 2.0);
                html! {
                    <g class="edge">
                        <line x1={sx.to_string()} y1={y1.to_string()} x2={ex.to_string()} y2={y2.to_string()} marker-end="url(#arrow)" />
                        <text x={((sx + ex) / 2.0).to_string()} y={((y1 + y2) / 2.0 - 4.0).to_string()} text-anchor="middle">{ format!("{w}") }</text>
                    </g>
                }
            }) }
            { for (0..n).map(|v| {
                let name = model.name(v as u32);
                let (cx, cy) = pos(v);
                let role = if name == x { "X " } else if name == y { "Y " } else { "" };
                let class = match state(name) { Seen::Failed => "failed", Seen::Healthy => "healthy", Seen::Unknown => "unknown" };
                html! {
                    <g class={classes!("cnode", class)} data-name={name.to_string()}>
                        <rect x={(cx - node_w / 2.0).to_string()} y={(cy - NODE_H / 2.0).to_string()}
                            width={node_w.to_string()} height={NODE_H.to_string()} rx="7" />
                        <text x={cx.to_string()} y={(cy - 2.0).to_string()} text-anchor="middle" class="cname">{ format!("{role}{name}") }</text>
                        <text x={cx.to_string()} y={(cy + 11.0).to_string()} text-anchor="middle" class="cprior">{ format!("prior {}", model.prior(v as u32)) }</text>
                    </g>
                }
            }) }
        </svg>
        </div>
    }
}

/// The simulated run's failures and a button that models them and observes them here.
fn from_run(
    run: Option<&RunFailures>,
    text: &UseStateHandle<String>,
    seen: &UseStateHandle<Vec<(String, Seen)>>,
    x: &UseStateHandle<String>,
    y: &UseStateHandle<String>,
) -> Html {
    let Some(run) = run else { return Html::default() };
    let short = |n: &String| n.strip_prefix("invariant:").unwrap_or(n).to_string();
    let what = match (run.nodes.is_empty(), &run.violated) {
        (true, None) => String::from("nothing has failed so far"),
        (false, None) => format!("{} crashed or Byzantine; every invariant held", run.nodes.join(", ")),
        (true, Some(v)) => format!("{} violated with no node at fault", short(v)),
        (false, Some(v)) => format!("{} crashed or Byzantine; {} violated", run.nodes.join(", "), short(v)),
    };
    let onclick = {
        let (text, seen, x, y, run) = (text.clone(), seen.clone(), x.clone(), y.clone(), run.clone());
        Callback::from(move |_: MouseEvent| {
            text.set(run.model_json());
            seen.set(run.observations());
            // Seeing versus doing compares a faulty node with the broken invariant.
            if let Some(n) = run.nodes.first() {
                x.set(n.clone());
            }
            if let Some(i) = run.violated.clone().or_else(|| run.invariants.first().cloned()) {
                y.set(i);
            }
        })
    };
    html! {
        <div class="from-run" data-testid="causal-run">
            <p>{ format!("The simulation ({}): {what}.", run.label) }</p>
            <button data-testid="causal-from-run" disabled={!run.any()} {onclick}
                title="replace the graph with the run's faulty nodes as possible causes of its invariants, and observe the run">
                { "rank this run's failures" }</button>
            <p class="hint">{ format!(
                "Its model: each faulty node breaks the violated invariant (or, if none was, each one) with \
                 weight {RUN_WEIGHT}; an invariant breaks on its own (a bug) with prior {RUN_BUG_PRIOR}. Edit the \
                 numbers, or learn them from many runs: `void sim … --seeds 1..200 --incidents runs.jsonl`, then \
                 `void causal learn`."
            ) }</p>
        </div>
    }
}

/// The current choice if the model still has it, else `fallback`.
fn keep(model: &CausalModel, choice: &str, fallback: usize) -> String {
    if model.node(choice).is_some() { choice.to_string() } else { model.name(fallback as u32).to_string() }
}

fn bar(label: String, p: f64, testid: &'static str, class: &'static str) -> Html {
    html! {
        <div class={classes!("prob", class)}>
            <div class="prob-label">{ label }</div>
            <div class="prob-track"><span class="prob-fill" style={format!("width:{:.1}%", p * 100.0)}></span></div>
            <div class="prob-value" data-testid={testid} data-p={format!("{p:?}")}>{ percent(p) }</div>
        </div>
    }
}

#[derive(Properties, PartialEq, Default, Clone)]
pub struct CausalBenchProps {
    /// The simulated run's failures, when the page came from a run.
    #[prop_or_default]
    pub run: Option<std::rc::Rc<RunFailures>>,
}

/// The bench as it was left: model text, the compared pair and value, the observations.
#[derive(Clone)]
struct Kept {
    text: String,
    x: String,
    y: String,
    value: String,
    seen: Vec<(String, Seen)>,
}

impl Default for Kept {
    fn default() -> Self {
        Kept {
            text: String::from(EXAMPLE_MODEL),
            x: String::from("db"),
            y: String::from("api"),
            value: String::from("1"),
            seen: vec![
                (String::from("power"), Seen::Unknown),
                (String::from("db"), Seen::Failed),
                (String::from("cache"), Seen::Failed),
                (String::from("api"), Seen::Failed),
            ],
        }
    }
}

thread_local! {
    /// Kept while the page goes to the simulation and back (the bench is mounted anew).
    static KEPT: std::cell::RefCell<Option<Kept>> = const { std::cell::RefCell::new(None) };
}

/// Forgets the kept bench: the next one opens on the example model (a fresh page does).
pub fn forget_kept() {
    KEPT.with(|k| *k.borrow_mut() = None);
}

fn kept() -> Kept {
    KEPT.with(|k| k.borrow().clone()).unwrap_or_default()
}

#[function_component(CausalBench)]
pub fn causal_bench(props: &CausalBenchProps) -> Html {
    let start = use_memo((), |_| kept());
    let text = use_state(|| start.text.clone());
    let x = use_state(|| start.x.clone());
    let y = use_state(|| start.y.clone());
    let value = use_state(|| start.value.clone());
    // Observations by node name; a node not listed is healthy.
    let seen = use_state(|| start.seen.clone());
    KEPT.with(|k| {
        *k.borrow_mut() = Some(Kept {
            text: (*text).clone(),
            x: (*x).clone(),
            y: (*y).clone(),
            value: (*value).clone(),
            seen: (*seen).clone(),
        })
    });
    let model = use_memo((*text).clone(), |t| CausalModel::from_json(t).map_err(|e| e.to_string()));

    let editor = html! {
        <section class="bench-col editor">
            <h2>{ "Graph" }</h2>
            <textarea class="json" spellcheck="false" data-testid="causal-input" value={(*text).clone()} oninput={on_area(&text)}
                aria-invalid={model.is_err().to_string()} />
            { match &*model {
                Err(e) => html! { <div class="bench-error" role="alert" data-testid="causal-error">{ e.clone() }</div> },
                Ok(m) => html! { <div class="bench-ok">{ format!("valid model: {} nodes", m.len()) }</div> },
            } }
        </section>
    };
    // Without a model to show, the page keeps its three columns: Yew matches the children
    // of a shorter list from the end, so fewer of them would rebuild the editor under the
    // cursor while it is being typed in.
    let waiting = |why: &'static str| {
        html! {
            <div class="bench bench-causal" data-testid="causal-bench">
                { editor.clone() }
                <section class="bench-col wide"><h2>{ "Seeing versus doing" }</h2><p class="hint">{ why }</p></section>
                <section class="bench-col"><h2>{ "Root causes" }</h2><p class="hint">{ why }</p></section>
            </div>
        }
    };
    let Ok(m) = &*model else {
        return waiting("Shown again once the graph reads as a model (see the error under it).");
    };
    if m.is_empty() {
        return waiting("The model has no nodes.");
    }
    let (xs, ys) = (keep(m, &x, 0), keep(m, &y, m.len() - 1));
    let failed = *value == "1";
    let names = m.names();
    let choose = |state: &UseStateHandle<String>, current: &str, testid: &'static str| {
        html! {
            <select data-testid={testid} onchange={on_select(state)}>
                { for names.iter().map(|n| html! { <option value={n.clone()} selected={n.as_str() == current}>{ n.clone() }</option> }) }
            </select>
        }
    };
    let query = if xs == ys {
        html! { <div class="bench-error" data-testid="causal-query-error">{ "choose two different nodes for X and Y" }</div> }
    } else {
        match compare(m, &xs, &ys, failed) {
            Ok(r) => html! {
                <div class="compare">
                    { bar(format!("P({ys} fails | {xs} = {})", u8::from(failed)), r.conditional, "causal-conditional", "seen") }
                    { bar(format!("P({ys} fails | do({xs} = {}))", u8::from(failed)), r.intervened, "causal-do", "forced") }
                    <p class="hint">{
                        if (r.conditional - r.intervened).abs() < 1e-9 {
                            String::from("Equal: nothing else links X and Y, so seeing X is as good as setting it.")
                        } else {
                            format!("They differ by {:.1} points: observing {xs} also tells about its causes, which reach {ys} along other paths; do() cuts {xs} from its causes.", (r.conditional - r.intervened).abs() * 100.0)
                        }
                    }</p>
                </div>
            },
            Err(e) => html! { <div class="bench-error" data-testid="causal-query-error">{ e }</div> },
        }
    };
    let current: Vec<(String, Seen)> = names
        .iter()
        .map(|n| (n.clone(), seen.iter().find(|(s, _)| s == n).map_or(Seen::Healthy, |s| s.1)))
        .collect();
    let observe = |name: &str, now: Seen| {
        let (seen, owned) = (seen.clone(), name.to_string());
        let current = current.clone();
        let on_change = Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let v = match select.value().as_str() {
                "failed" => Seen::Failed,
                "unknown" => Seen::Unknown,
                _ => Seen::Healthy,
            };
            let mut next = current.clone();
            if let Some(slot) = next.iter_mut().find(|(n, _)| *n == owned) {
                slot.1 = v;
            }
            seen.set(next);
        });
        html! {
            <select data-testid="causal-seen" data-name={name.to_string()} onchange={on_change}>
                <option value="failed" selected={now == Seen::Failed}>{ "failed" }</option>
                <option value="healthy" selected={now == Seen::Healthy}>{ "healthy" }</option>
                <option value="unknown" selected={now == Seen::Unknown}>{ "not observed" }</option>
            </select>
        }
    };
    let ranking = match rank(m, &current) {
        Ok(list) => html! {
            <ol class="ranking" data-testid="causal-ranking">
                { for list.iter().map(|r| html! {
                    <li data-name={r.cause.node.clone()} data-score={format!("{:?}", r.cause.score)}
                        data-observed={r.observed.to_string()} class={classes!((!r.observed).then_some("hidden-cause"))}>
                        <span class="rank-name">{ breakable(&r.cause.node) }</span>
                        <span class="prob-track"><span class="prob-fill" style={format!("width:{:.1}%", r.cause.score * 100.0)}></span></span>
                        <span class="rank-score">{ percent(r.cause.score) }</span>
                        if !r.observed { <span class="rank-note">{ "not observed" }</span> }
                    </li>
                }) }
            </ol>
        },
        Err(e) => html! { <div class="bench-error" data-testid="causal-ranking-error">{ e }</div> },
    };
    html! {
        <div class="bench bench-causal" data-testid="causal-bench">
            { editor }
            <section class="bench-col wide">
                { graph(m, &xs, &ys, &current) }
                <p class="hint graph-key" data-testid="causal-key">
                    { "X, Y: the pair compared below · orange: observed failed · dashed: not observed (Root causes)" }
                </p>
                <h2>{ "Seeing versus doing" }</h2>
                <p class="hint">{ "From the model alone: the Root causes observations do not enter here." }</p>
                <div class="bench-row">
                    <label class="bench-field inline"><span>{ "X" }</span>{ choose(&x, &xs, "causal-x") }</label>
                    <label class="bench-field inline"><span>{ "=" }</span>
                        <select data-testid="causal-value" onchange={on_select(&value)}>
                            <option value="1" selected={failed}>{ "1 (failed)" }</option>
                            <option value="0" selected={!failed}>{ "0 (healthy)" }</option>
                        </select>
                    </label>
                    <label class="bench-field inline"><span>{ "Y" }</span>{ choose(&y, &ys, "causal-y") }</label>
                </div>
                { query }
            </section>
            <section class="bench-col">
                <h2>{ "Root causes" }</h2>
                { from_run(props.run.as_deref(), &text, &seen, &x, &y) }
                <div class="observations">
                    { for current.iter().map(|(n, s)| html! {
                        <label class="bench-field inline"><span>{ breakable(n) }</span>{ observe(n, *s) }</label>
                    }) }
                </div>
                <p class="hint">{ "P(own cause fired | observations): failed nodes, and nodes not observed (dashed)" }</p>
                { ranking }
            </section>
        </div>
    }
}

/// A node name that may wrap after a colon ("invariant:" / "agreement") rather than
/// inside a word.
fn breakable(name: &str) -> Html {
    let mut parts = name.split_inclusive(':').peekable();
    let mut out = Vec::new();
    while let Some(part) = parts.next() {
        out.push(html! { { part.to_owned() } });
        if parts.peek().is_some() {
            out.push(html! { <wbr /> });
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn seeing_and_doing_differ_when_confounded() {
        let m = CausalModel::from_json(EXAMPLE_MODEL).unwrap();
        let r = compare(&m, "db", "api", true).unwrap();
        assert!(r.conditional > r.intervened + 0.05, "{r:?}");
        // Without a common cause the two agree.
        let m = CausalModel::from_json(
            r#"{"nodes":[{"name":"a","prior":0.2},{"name":"b","prior":0.1}],"edges":[{"from":"a","to":"b","weight":0.5}]}"#,
        )
        .unwrap();
        let r = compare(&m, "a", "b", true).unwrap();
        assert!((r.conditional - r.intervened).abs() < 1e-12);
        assert!((r.conditional - 0.55).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn a_run_is_modelled_with_its_faulty_nodes_as_causes_of_its_invariants() {
        let run = RunFailures {
            label: "pbft-too-many-faults, seed 1, event 42".into(),
            nodes: vec!["node-0".into(), "node-3".into()],
            invariants: vec!["invariant:agreement".into(), "invariant:validity".into()],
            violated: Some("invariant:agreement".into()),
        };
        let m = CausalModel::from_json(&run.model_json()).unwrap();
        // The broken invariant is what is explained; the ones that held stay out of the graph.
        assert_eq!(m.names(), ["node-0", "node-3", "invariant:agreement"]);
        let agreement = m.node("invariant:agreement").unwrap();
        assert_eq!(m.parents(agreement).len(), 2);
        let list = rank(&m, &run.observations()).unwrap();
        let score = |n: &str| list.iter().find(|r| r.cause.node == n).map(|r| r.cause.score);
        // The faulty nodes have no other cause; the violation is theirs, not a bug.
        assert_eq!((score("node-0"), score("node-3")), (Some(1.0), Some(1.0)));
        let bug = score("invariant:agreement").unwrap();
        assert!(bug < 0.05, "{bug}");
        // With nothing violated, the graph shows what the faulty nodes could break.
        let held = RunFailures { violated: None, ..run.clone() };
        let m = CausalModel::from_json(&held.model_json()).unwrap();
        assert_eq!(m.len(), 4);
        assert!(held.observations().iter().all(|(n, s)| (*s == Seen::Failed) == n.starts_with("node-")));
        // With no node at fault, a violation can only be the protocol's own (a bug).
        let alone = RunFailures { nodes: vec![], ..run.clone() };
        let m = CausalModel::from_json(&alone.model_json()).unwrap();
        let list = rank(&m, &alone.observations()).unwrap();
        assert_eq!(list.len(), 1);
        assert!((list[0].cause.score - 1.0).abs() < 1e-12, "{list:?}");
        assert!(!RunFailures { violated: None, ..alone }.any());
        assert_eq!(RunFailures::decode(&run.encode()), Some(run.clone()));
        let nothing = RunFailures { label: "a\nb".into(), ..RunFailures::default() };
        assert_eq!(RunFailures::decode(&nothing.encode()), Some(nothing));
        assert_eq!(RunFailures::decode("node-1"), None);
    }

    #[test]
    fn ranking_needs_a_failure_and_names_unknown_nodes() {
        let m = CausalModel::from_json(EXAMPLE_MODEL).unwrap();
        assert!(rank(&m, &[("db".into(), Seen::Unknown)]).is_err());
        let err = rank(&m, &[("disk".into(), Seen::Failed)]).unwrap_err();
        assert!(err.contains("disk"), "{err}");
        let list = rank(&m, &[("power".into(), Seen::Failed), ("db".into(), Seen::Failed)]).unwrap();
        assert_eq!(list[0].cause.node, "power");
        assert!((list[0].cause.score - 1.0).abs() < 1e-12);
        // A hidden common cause of the failures is ranked beside them, above them here.
        let seen =
            [("power".into(), Seen::Unknown), ("db".into(), Seen::Failed), ("cache".into(), Seen::Failed)];
        let list = rank(&m, &seen).unwrap();
        assert_eq!((list[0].cause.node.as_str(), list[0].observed), ("power", false));
        let core = m.root_causes(&["db", "cache"], &["power"]).unwrap();
        for c in core {
            assert!(list.iter().any(|r| r.observed && r.cause == c), "{c:?}");
        }
    }
}
