//! The scheduler bench: a placement problem as JSON (the `void schedule --input` format),
//! the annealer, greedy and exact solvers on it, the annealer's energy curve and the
//! placement each solver found.

use std::rc::Rc;

use void_core::sched::{
    AnnealConfig, MAX_EXACT_NODES, MAX_EXACT_TASKS, Problem, Solution, anneal, exact, greedy, random_problem,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::{on_area, on_text};

/// The annealer's step budget in the page, which runs it on the UI thread; below it the
/// budget (and so the result for a seed) is the same as `void schedule`'s.
pub const MAX_BROWSER_STEPS: u64 = 2_000_000;
/// Points of the energy curve.
const TRACE_POINTS: u32 = 240;
/// Size of the generated examples the page offers.
const MAX_EXAMPLE_TASKS: u32 = 60;
const MAX_EXAMPLE_NODES: u32 = 8;

/// One solver's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct SolverRun {
    pub solver: &'static str,
    pub solution: Solution,
    /// Steps made (annealer) or search-tree nodes visited (exact).
    pub work: String,
}

/// What the bench shows after a run.
#[derive(Clone, Debug)]
pub struct SchedReport {
    pub problem: Problem,
    /// Annealer first, then greedy, then exact when the problem is small enough.
    pub runs: Vec<SolverRun>,
    /// The annealer's current energy against its step.
    pub trace: Vec<(u64, f64)>,
    /// Why there is no exact run, when there is none.
    pub exact_skipped: Option<String>,
}

/// One-line JSON of a part of the problem (plain strings and finite numbers: cannot fail).
fn one_line<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A generated problem as JSON with one task, node or link per line (easy to edit).
pub fn example_problem(tasks: u32, nodes: u32, seed: u64) -> String {
    let spec = random_problem(tasks, nodes, seed).to_spec();
    let list = |items: Vec<String>| items.join(",\n    ");
    format!(
        "{{\n  \"tasks\": [\n    {}\n  ],\n  \"nodes\": [\n    {}\n  ],\n  \"links\": [\n    {}\n  ],\n  \"weights\": {}\n}}\n",
        list(spec.tasks.iter().map(one_line).collect()),
        list(spec.nodes.iter().map(one_line).collect()),
        list(spec.links.iter().map(one_line).collect()),
        one_line(&spec.weights),
    )
}

/// Parses `text` and runs every solver that applies, the annealer with `seed`.
pub fn solve(text: &str, seed: u64) -> Result<SchedReport, String> {
    let problem = Problem::from_json(text).map_err(|e| e.to_string())?;
    let mut config = AnnealConfig::for_problem(&problem, seed);
    config.steps = config.steps.min(MAX_BROWSER_STEPS);
    config.trace_points = TRACE_POINTS;
    let mut annealed = anneal(&problem, &config);
    // The curve is sampled: carry its last energy to the last step, so the axis ends at the
    // step count the table gives.
    if let Some(&(step, energy)) = annealed.trace.last()
        && step < annealed.steps
    {
        annealed.trace.push((annealed.steps, energy));
    }
    let mut runs = vec![
        SolverRun {
            solver: "anneal",
            solution: annealed.best,
            work: format!("{} steps, seed {seed}", annealed.steps),
        },
        SolverRun { solver: "greedy", solution: greedy(&problem), work: String::from("one pass") },
    ];
    let exact_skipped = match exact(&problem) {
        Ok(out) => {
            runs.push(SolverRun {
                solver: "exact",
                solution: out.best,
                work: format!("{} search nodes", out.visited),
            });
            None
        }
        Err(_) => {
            Some(format!("exact: only for at most {MAX_EXACT_TASKS} tasks and {MAX_EXACT_NODES} nodes"))
        }
    };
    Ok(SchedReport { problem, runs, trace: annealed.trace, exact_skipped })
}

/// Short decimal for loads and energies.
fn num(x: f64) -> String {
    if x.abs() >= 100.0 { format!("{x:.0}") } else { format!("{x:.2}") }
}

const CURVE_W: f64 = 520.0;
const CURVE_H: f64 = 190.0;
const PAD_L: f64 = 56.0;
const PAD_B: f64 = 22.0;

/// Baselines for the reference lines' labels, each wanted at `wanted[i]`: labels closer
/// than a text line are pushed down in turn so none overlaps (energies can nearly tie),
/// and none above the first line of the drawing (a line at the top of the scale).
fn label_rows(wanted: &[f64]) -> Vec<f64> {
    const LINE: f64 = 12.0;
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by(|&a, &b| wanted[a].total_cmp(&wanted[b]));
    let mut rows = wanted.to_vec();
    let mut prev = 0.0;
    for i in order {
        rows[i] = rows[i].max(prev + LINE);
        prev = rows[i];
    }
    rows
}

/// The curve's scale: lowest energy, top of the scale, highest energy. The top is the
/// 98th percentile of the annealer's energies (or a reference line, if higher), so that a
/// few hot uphill moves do not flatten the rest of the curve.
fn energy_range(trace: impl Iterator<Item = f64>, refs: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut run: Vec<f64> = trace.filter(|e| e.is_finite()).collect();
    let refs: Vec<f64> = refs.filter(|e| e.is_finite()).collect();
    run.sort_by(f64::total_cmp);
    let all = || run.iter().chain(&refs).copied();
    let lo = all().fold(f64::INFINITY, f64::min);
    let peak = all().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0, 1.0);
    }
    let p98 = run.get((run.len().saturating_sub(1)) * 98 / 100).copied().unwrap_or(lo);
    let top = refs.iter().copied().fold(p98, f64::max);
    // Only clip what is far off: a scale cut just below the peak would hide little.
    let hi = if peak > lo + 1.5 * (top - lo) { top + 0.1 * (top - lo) } else { peak };
    (lo, hi, peak)
}

/// The energy-vs-step curve, with the greedy and exact energies as reference lines.
fn curve(report: &SchedReport) -> Html {
    let trace = &report.trace;
    let Some(&(last_step, _)) = trace.last() else {
        return html! { <p class="hint">{ "No curve: the annealer had nothing to move (one node, or no tasks)." }</p> };
    };
    let refs: Vec<(&str, f64, &str)> = report
        .runs
        .iter()
        .filter(|r| r.solver != "anneal")
        .map(|r| (r.solver, r.solution.energy, if r.solver == "exact" { "#009e73" } else { "#e69f00" }))
        .collect();
    let (lo, hi, peak) = energy_range(trace.iter().map(|p| p.1), refs.iter().map(|r| r.1));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x = |step: u64| PAD_L + (CURVE_W - PAD_L - 8.0) * step as f64 / last_step.max(1) as f64;
    // Energies above the scale (rare uphill moves while hot) are drawn at its top.
    let y = |e: f64| 8.0 + (CURVE_H - PAD_B - 8.0) * (1.0 - (e.min(hi) - lo) / span);
    let points: String = trace.iter().map(|&(s, e)| format!("{:.1},{:.1} ", x(s), y(e))).collect();
    let label_y = label_rows(&refs.iter().map(|r| y(r.1) - 3.0).collect::<Vec<_>>());
    html! {
        <svg class="curve" data-testid="sched-curve" data-points={trace.len().to_string()}
            viewBox={format!("0 0 {CURVE_W} {CURVE_H}")} role="img" aria-label="annealer energy against step">
            <line class="axis" x1={PAD_L.to_string()} y1="8" x2={PAD_L.to_string()} y2={(CURVE_H - PAD_B).to_string()} />
            <line class="axis" x1={PAD_L.to_string()} y1={(CURVE_H - PAD_B).to_string()} x2={(CURVE_W - 8.0).to_string()} y2={(CURVE_H - PAD_B).to_string()} />
            <text x={(PAD_L - 4.0).to_string()} y="14" text-anchor="end">{ num(hi) }</text>
            if peak > hi {
                <text class="off-scale" data-testid="sched-off-scale" x={(PAD_L + 4.0).to_string()} y="14">
                    { format!("↑ off scale, up to {}", num(peak)) }
                </text>
            }
            <text x={(PAD_L - 4.0).to_string()} y={(CURVE_H - PAD_B).to_string()} text-anchor="end">{ num(lo) }</text>
            <text x={PAD_L.to_string()} y={(CURVE_H - 6.0).to_string()}>{ "step 0" }</text>
            <text x={(CURVE_W - 8.0).to_string()} y={(CURVE_H - 6.0).to_string()} text-anchor="end">{ format!("step {last_step}") }</text>
            <text x={((PAD_L + CURVE_W) / 2.0).to_string()} y={(CURVE_H - 6.0).to_string()} text-anchor="middle">{ "energy of the current assignment" }</text>
            { for refs.iter().map(|&(name, e, colour)| html! {
                <line x1={PAD_L.to_string()} x2={(CURVE_W - 8.0).to_string()} y1={y(e).to_string()} y2={y(e).to_string()}
                    stroke={colour} stroke-dasharray={if name == "exact" { "2 3" } else { "7 4" }} stroke-width="1.5" />
            }) }
            <polyline points={points} fill="none" stroke="#0072b2" stroke-width="1.6" />
            // Over the curve, on a halo: the annealer often ends on the exact line.
            { for refs.iter().zip(label_y).map(|(&(name, e, colour), ly)| html! {
                <text class="ref-label" data-ref={name} x={(CURVE_W - 10.0).to_string()} y={ly.to_string()}
                    text-anchor="end" style={format!("fill:{colour}")}>
                    { format!("{name} {}", num(e)) }
                </text>
            }) }
        </svg>
    }
}

/// A bar of `load` against `capacity`; past the capacity it turns red.
fn bar(what: &'static str, load: f64, capacity: f64) -> Html {
    let share = if capacity > 0.0 {
        load / capacity
    } else if load > 0.0 {
        2.0
    } else {
        0.0
    };
    let over = share > 1.0 + 1e-9;
    html! {
        <div class="load" title={format!("{what} load {} of capacity {}", num(load), num(capacity))}>
            <span class="load-label">{ what }</span>
            <span class="load-track">
                <span class={classes!("load-fill", over.then_some("over"))} style={format!("width:{:.1}%", share.min(1.0) * 100.0)}></span>
            </span>
            <span class={classes!("load-value", over.then_some("over"))}>{ format!("{} / {}", num(load), num(capacity)) }</span>
        </div>
    }
}

/// Nodes as boxes holding their tasks, with cpu and mem load against capacity.
fn placement(problem: &Problem, solution: &Solution) -> Html {
    let tasks = problem.tasks();
    let cut = problem
        .links()
        .iter()
        .filter(|l| solution.assignment[l.a as usize] != solution.assignment[l.b as usize])
        .count();
    html! {
        <div class="placement" data-testid="sched-placement">
            { for problem.nodes().iter().enumerate().map(|(n, node)| {
                let here: Vec<usize> = (0..tasks.len()).filter(|&t| solution.assignment[t] as usize == n).collect();
                let cpu: f64 = here.iter().map(|&t| tasks[t].cpu).sum();
                let mem: f64 = here.iter().map(|&t| tasks[t].mem).sum();
                html! {
                    <div class="sched-node" data-node-id={node.id.clone()} data-tasks={here.len().to_string()}>
                        <div class="sched-node-head">{ node.id.clone() }</div>
                        { bar("cpu", cpu, node.cpu) }
                        { bar("mem", mem, node.mem) }
                        <div class="chips">
                            { for here.iter().map(|&t| html! {
                                <span class="chip" title={format!("cpu {}, mem {}", num(tasks[t].cpu), num(tasks[t].mem))}>{ tasks[t].id.clone() }</span>
                            }) }
                        </div>
                    </div>
                }
            }) }
            <p class="hint">{ format!("{cut} of {} links cut (their tasks sit on different nodes)", problem.links().len()) }</p>
        </div>
    }
}

fn results(report: &SchedReport, selected: usize, on_pick: Callback<usize>) -> Html {
    let selected = selected.min(report.runs.len().saturating_sub(1));
    let weights = report.problem.weights();
    html! {
        <>
            <table class="solvers" data-testid="sched-solvers">
                <thead><tr>
                    <th>{ "solver" }</th><th>{ "energy" }</th>
                    <th title={format!("weight {}", weights.overload)}>{ "overload" }</th>
                    <th title={format!("weight {}", weights.communication)}>{ "communication" }</th>
                    <th title={format!("weight {}", weights.imbalance)}>{ "imbalance" }</th>
                    <th>{ "work" }</th>
                </tr></thead>
                <tbody>
                    { for report.runs.iter().enumerate().map(|(i, r)| {
                        let pick = on_pick.clone();
                        let s = &r.solution;
                        let assignment: Vec<String> = s.assignment.iter().map(u32::to_string).collect();
                        html! {
                            <tr class={classes!((i == selected).then_some("on"))} onclick={Callback::from(move |_: MouseEvent| pick.emit(i))}
                                data-testid={format!("sched-run-{}", r.solver)} data-energy={format!("{:?}", s.energy)}
                                data-assignment={assignment.join(",")} title="show this placement">
                                <td>{ r.solver }</td>
                                <td class="num strong">{ num(s.energy) }</td>
                                <td class="num">{ num(s.terms.overload) }</td>
                                <td class="num">{ num(s.terms.communication) }</td>
                                <td class="num">{ num(s.terms.imbalance) }</td>
                                <td class="muted">{ r.work.clone() }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <p class="hint">{ format!(
                "E = {}·overload + {}·communication + {}·imbalance",
                weights.overload, weights.communication, weights.imbalance
            ) }
            if let Some(note) = &report.exact_skipped { { format!(" · {note}") } }
            </p>
            { curve(report) }
            if let Some(run) = report.runs.get(selected) {
                <h3>{ format!("Placement found by {}", run.solver) }</h3>
                { placement(&report.problem, &run.solution) }
            }
        </>
    }
}

fn parse_count(text: &str, max: u32) -> Option<u32> {
    text.trim().parse::<u32>().ok().filter(|n| (1..=max).contains(n))
}

#[function_component(SchedulerBench)]
pub fn scheduler_bench() -> Html {
    let text = use_state(|| example_problem(10, 3, 1));
    let seed = use_state(|| String::from("1"));
    let tasks = use_state(|| String::from("10"));
    let nodes = use_state(|| String::from("3"));
    let report = use_state(|| Rc::new(solve(&example_problem(10, 3, 1), 1)));
    let selected = use_state(|| 0usize);
    // Validation as the text changes; solving waits for "run".
    let invalid = use_memo((*text).clone(), |t| Problem::from_json(t).err().map(|e| e.to_string()));
    let seed_value = seed.trim().parse::<u64>();

    let on_run = {
        let (text, report, selected) = (text.clone(), report.clone(), selected.clone());
        let seed_value = seed_value.clone();
        Callback::from(move |_: MouseEvent| {
            let result = match &seed_value {
                Ok(s) => solve(&text, *s),
                Err(_) => Err(String::from("the seed must be a whole number from 0 to 18446744073709551615")),
            };
            report.set(Rc::new(result));
            selected.set(0);
        })
    };
    let on_generate = {
        let (text, tasks, nodes, seed_value) =
            (text.clone(), tasks.clone(), nodes.clone(), seed_value.clone());
        let report = report.clone();
        Callback::from(move |_: MouseEvent| {
            let shape =
                (parse_count(&tasks, MAX_EXAMPLE_TASKS), parse_count(&nodes, MAX_EXAMPLE_NODES), &seed_value);
            match shape {
                (Some(t), Some(n), Ok(s)) => {
                    let example = example_problem(t, n, *s);
                    report.set(Rc::new(solve(&example, *s)));
                    text.set(example);
                }
                _ => report.set(Rc::new(Err(format!(
                    "a generated example has 1 to {MAX_EXAMPLE_TASKS} tasks, 1 to {MAX_EXAMPLE_NODES} nodes and a whole-number seed"
                )))),
            }
        })
    };
    let on_pick = {
        let selected = selected.clone();
        Callback::from(move |i: usize| selected.set(i))
    };
    let number = |state: &UseStateHandle<String>, testid: &'static str, label: &'static str| {
        let state = state.clone();
        html! {
            <label class="bench-field inline">
                <span>{ label }</span>
                <input type="text" inputmode="numeric" data-testid={testid} value={(*state).clone()}
                    oninput={Callback::from(move |e: InputEvent| {
                        let input: HtmlInputElement = e.target_unchecked_into();
                        state.set(input.value());
                    })} />
            </label>
        }
    };
    html! {
        <div class="bench bench-scheduler" data-testid="scheduler-bench">
            <section class="bench-col editor">
                <h2>{ "Problem" }</h2>
                <textarea class="json" spellcheck="false" data-testid="sched-input" value={(*text).clone()} oninput={on_area(&text)}
                    aria-invalid={invalid.is_some().to_string()} />
                if let Some(e) = &*invalid {
                    <div class="bench-error" role="alert" data-testid="sched-error">{ e.clone() }</div>
                } else {
                    <div class="bench-ok">{ "valid problem" }</div>
                }
                <div class="bench-row">
                    <label class="bench-field inline">
                        <span>{ "seed" }</span>
                        <input type="text" inputmode="numeric" data-testid="sched-seed" value={(*seed).clone()} oninput={on_text(&seed)} />
                    </label>
                    <button class="primary" data-testid="sched-run" onclick={on_run} disabled={invalid.is_some()}>{ "run" }</button>
                </div>
                <div class="bench-row">
                    { number(&tasks, "sched-gen-tasks", "tasks") }
                    { number(&nodes, "sched-gen-nodes", "nodes") }
                    <button data-testid="sched-generate" onclick={on_generate}>{ "new example" }</button>
                </div>
            </section>
            <section class={classes!("bench-col", "wide", invalid.is_some().then_some("stale"))}>
                <h2>{ "Solvers" }</h2>
                { match &**report {
                    Ok(r) => results(r, *selected, on_pick),
                    Err(e) => html! { <div class="bench-error" role="alert" data-testid="sched-run-error">{ e.clone() }</div> },
                } }
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use void_core::sched::energy;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reference_labels_of_nearly_equal_energies_do_not_overlap() {
        // Far apart: left where wanted. Nearly tied: the lower one moves down a line.
        assert_eq!(label_rows(&[40.0, 120.0]), vec![40.0, 120.0]);
        assert_eq!(label_rows(&[100.0, 98.0]), vec![110.0, 98.0]);
        assert_eq!(label_rows(&[]), Vec::<f64>::new());
        // A line at the top of the scale: its label stays inside the drawing.
        assert_eq!(label_rows(&[5.0, 9.0]), vec![12.0, 24.0]);
    }

    #[test]
    fn a_few_far_uphill_energies_go_off_the_scale_and_the_rest_keeps_it() {
        // 200 energies between 5 and 12 and one hot spike at 392.
        let mut run: Vec<f64> = (0..200).map(|i| 5.0 + f64::from(i % 8)).collect();
        run[150] = 392.0;
        let (lo, hi, peak) = energy_range(run.iter().copied(), [11.27, 5.15].into_iter());
        assert_eq!((lo, peak), (5.0, 392.0));
        assert!((12.0..14.0).contains(&hi), "{hi}");
        // Nothing far off: the scale is the whole range.
        assert_eq!(energy_range([3.0, 4.0, 5.0].into_iter(), [6.0].into_iter()), (3.0, 6.0, 6.0));
        assert_eq!(energy_range(std::iter::empty(), std::iter::empty()), (0.0, 1.0, 1.0));
    }

    #[test]
    fn the_example_is_the_generated_problem() {
        let text = example_problem(10, 3, 4);
        let parsed = Problem::from_json(&text).unwrap();
        assert_eq!(parsed.to_spec().tasks, random_problem(10, 3, 4).to_spec().tasks);
        assert_eq!(parsed.links().len(), random_problem(10, 3, 4).links().len());
    }

    #[test]
    fn every_solver_reports_the_energy_of_its_assignment() {
        let report = solve(&example_problem(10, 3, 2), 9).unwrap();
        let names: Vec<_> = report.runs.iter().map(|r| r.solver).collect();
        assert_eq!(names, ["anneal", "greedy", "exact"]);
        for r in &report.runs {
            assert_eq!(
                r.solution.energy,
                energy::energy(&report.problem, &r.solution.assignment),
                "{}",
                r.solver
            );
        }
        let optimum = report.runs[2].solution.energy;
        assert!(report.runs.iter().all(|r| r.solution.energy >= optimum - 1e-9));
        assert!(!report.trace.is_empty());
        // The curve's axis ends at the step count the table names.
        let last = report.trace.last().unwrap().0;
        assert!(
            report.runs[0].work.starts_with(&format!("{last} steps")),
            "{last} vs {}",
            report.runs[0].work
        );
    }

    #[test]
    fn large_problems_skip_exact_and_bad_json_names_the_field() {
        let report = solve(&example_problem(20, 3, 1), 1).unwrap();
        assert_eq!(report.runs.len(), 2);
        assert!(report.exact_skipped.is_some());
        let err = solve(r#"{"tasks": [{"id": "a", "cpu": "x", "mem": 1}], "nodes": []}"#, 1).unwrap_err();
        assert!(err.contains("tasks[0].cpu"), "{err}");
    }
}
