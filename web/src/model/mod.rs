//! The playground's state: a [`Run`] plus what the page shows about it, changed only through
//! [`Action`]s. `Model` implements Yew's `Reducible` but is plain Rust, so every rule is
//! tested without a browser.

mod base64url;
mod export;
mod permalink;
mod run;
mod spread;
mod tally;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use void_core::check::Violation;
use void_core::sim::{EventView, Fault, InFlight, NodeView};
use yew::Reducible;

use crate::recording::{Recording, TraceFormat};

pub use export::{SHIVIZ_REGEX, shiviz};
pub(crate) use permalink::safe_name;
pub use permalink::{AT_END, MAX_FRAGMENT_BYTES, Permalink};
pub use run::{
    LinkFault, MAX_STEPS_PER_TICK, MAX_USER_FAULTS, Milestone, Run, Target, UserFault,
    VIRTUAL_US_PER_REAL_MS_AT_1X,
};
pub use spread::Spread;
pub use tally::{KindCount, PLOT_POINTS, Tally, histogram, progress_kind, rate_points};

/// Queue items one slice of a seek handles; slices run one per frame, so going far back
/// (simulated again from the seed) never freezes the page.
pub const SEEK_STEPS_PER_SLICE: u32 = 4_000;

/// Largest trace file the page reads.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// Events kept for the event list and the space-time diagram.
pub const RECENT_EVENTS: u64 = 60;

/// Messages in flight the cluster view draws at most (the soonest to arrive); a frame of a
/// big gossip cluster stays fast and the rest are counted, not drawn.
pub const MAX_DRAWN_MESSAGES: usize = 300;

/// Clusters of more nodes than this are drawn on a canvas, not in SVG.
pub const CANVAS_ABOVE_NODES: usize = 64;

/// Messages in flight a canvas draws at most: a canvas frame costs little per message.
pub const MAX_CANVAS_MESSAGES: usize = 5_000;

/// Slowest and fastest playing speed.
pub const MIN_SPEED: f64 = 0.1;
pub const MAX_SPEED: f64 = 100.0;

/// Scenario and seed the page opens with when the URL names none.
pub const DEFAULT_SCENARIO: &str = "hlc-ping";
pub const DEFAULT_SEED: u64 = 1;

/// True if a cluster of `nodes` nodes is drawn on a canvas.
pub fn canvas_mode(nodes: usize) -> bool {
    nodes > CANVAS_ABOVE_NODES
}

/// The messages to draw among `all` in a cluster of `nodes` nodes (the soonest to arrive,
/// as many as its drawing takes) and how many there are.
fn drawn_in_flight(mut all: Vec<InFlight>, nodes: usize) -> (Vec<InFlight>, usize) {
    let total = all.len();
    all.truncate(if canvas_mode(nodes) { MAX_CANVAS_MESSAGES } else { MAX_DRAWN_MESSAGES });
    (all, total)
}

/// What the views read: a copy of the run's visible state, taken after each action.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub scenario: String,
    /// The scenario's one-line description.
    pub summary: String,
    pub protocol: String,
    pub seed: u64,
    pub now_us: u64,
    pub duration_us: u64,
    pub events: u64,
    pub trace_hash: String,
    pub finished: bool,
    /// At the run's first position: nothing to step back to.
    pub at_origin: bool,
    pub violation: Option<Violation>,
    pub nodes: Vec<NodeView>,
    /// The latest events, oldest first.
    pub recent: Vec<EventView>,
    /// Messages in flight, soonest arrival first, at most [`MAX_DRAWN_MESSAGES`] (or
    /// [`MAX_CANVAS_MESSAGES`] for a cluster drawn on a canvas).
    pub in_flight: Vec<InFlight>,
    /// All messages in flight, drawn or not.
    pub in_flight_total: usize,
    /// Live mode: drawn messages whose delivery is overdue, by id, with the opacity they
    /// have faded to (the others are opaque).
    pub overdue: Vec<(u64, f64)>,
    pub faults: Vec<Fault>,
    /// The scenario's JSON when it is not a built-in one.
    pub custom: Option<Rc<str>>,
    /// The user's partitions and link faults still in force (what "heal" would end).
    pub network_faults: usize,
    /// Each node's side of the partitions in force (empty when there is none).
    pub sides: Vec<u32>,
    /// Link faults in force: (from, to, both ways, what they do).
    pub broken_links: Vec<(u32, u32, bool, String)>,
    /// The metrics drawer's figures, computed only while it is open.
    pub metrics: Option<Rc<Metrics>>,
    /// The behaviours a `misbehave` fault may name in this protocol.
    pub behaviours: &'static [&'static str],
    /// What each of them does, in the same order.
    pub behaviour_summaries: &'static [&'static str],
    /// The invariants the run checks: name, what each promises and when it is judged (none
    /// for native runs).
    pub invariants: Vec<void_core::check::InvariantInfo>,
    /// Nodes that crashed or behaved Byzantine so far (as `void sim --incidents` names them).
    pub faulty: Vec<u32>,
    /// Gossip: the latest broadcast and the nodes it has reached.
    pub spread: Option<Rc<Spread>>,
    /// PBFT: client requests waiting for their result, and when the oldest was sent.
    pub waiting: Option<(usize, u64)>,
}

/// What the metrics drawer shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub tally: Tally,
    /// The protocol's own figures (the `metrics` of `void sim --json`).
    pub protocol: BTreeMap<String, f64>,
}

/// A trace file the user opened (JSON lines, as exported), compared with the run line by
/// line. Opening it takes the run to the trace's end when the two agree so far, so the
/// diagram and the scrubber replay it; its hash is then the run's.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub name: String,
    pub events: u64,
    /// The trace's hash, known once the run reached exactly its end with every event equal.
    pub hash: Option<String>,
    /// Leading events identical to the run's (the same JSON line).
    pub agree: u64,
    /// Events of the run compared: the trace's length or the run's, whichever is shorter.
    pub compared: u64,
    text: Rc<str>,
}

impl Imported {
    /// Checks that every line of `text` is a trace event, in order.
    fn read(name: String, text: Rc<str>) -> Result<Imported, String> {
        let mut events = 0u64;
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{name}, line {}: not JSON: {e}", n + 1))?;
            let index = v.get("index").and_then(|i| i.as_u64());
            if index != Some(events) || v.get("kind").is_none() {
                return Err(format!(
                    "{name}, line {}: not event {events} of a trace (JSON lines as `void sim --dump-trace` writes)",
                    n + 1
                ));
            }
            events += 1;
        }
        Ok(Imported { name, events, hash: None, agree: 0, compared: 0, text })
    }

    /// Every event of the trace is the run's.
    pub fn matches(&self) -> bool {
        self.agree == self.events
    }

    fn compare(&mut self, run: &Run) {
        let lines = self.text.lines().filter(|l| !l.trim().is_empty());
        let (mut agree, mut compared) = (0, 0);
        for (i, line) in (0..run.event_count()).zip(lines) {
            compared += 1;
            if agree == i && run.event_json(i).as_deref() == Some(line) {
                agree += 1;
            }
        }
        self.agree = agree;
        self.compared = compared;
        self.hash = (agree == self.events && run.event_count() == self.events).then(|| run.trace_hash());
    }
}

/// What can be downloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// JSON lines, one event each (`void sim --dump-trace`).
    TraceJsonl,
    /// ShiViz's log format with vector clocks.
    ShiViz,
    /// The scenario with the faults added in the page, for `void sim FILE`.
    Scenario,
}

impl Snapshot {
    /// The picture of `run`, with what is followed along the trace brought up to date.
    fn taken(run: &mut Run) -> Snapshot {
        let mut view = Snapshot::of(run);
        view.spread = run.spread().cloned().map(Rc::new);
        if view.protocol == "pbft" {
            view.waiting = run.tally().waiting();
        }
        view
    }

    fn of(run: &Run) -> Snapshot {
        let nodes = run.nodes();
        let (in_flight, in_flight_total) = drawn_in_flight(run.in_flight(), nodes.len());
        Snapshot {
            scenario: run.name.clone(),
            summary: run.scenario().summary.clone(),
            protocol: run.scenario().protocol.clone(),
            seed: run.seed,
            now_us: run.now_us(),
            duration_us: run.scenario().duration_us(),
            events: run.event_count(),
            trace_hash: run.trace_hash(),
            finished: run.is_finished(),
            at_origin: run.at_origin(),
            violation: run.violation().cloned(),
            nodes,
            recent: run.recent_events(RECENT_EVENTS),
            in_flight,
            in_flight_total,
            overdue: Vec::new(),
            faults: run.faults().to_vec(),
            custom: run.custom().map(Rc::from),
            network_faults: run.active_network_faults(),
            sides: run.sides(),
            broken_links: run.broken_links(),
            metrics: None,
            behaviours: run.behaviours(),
            behaviour_summaries: run.behaviour_summaries(),
            invariants: run.invariants(),
            faulty: run.faulty_nodes(),
            spread: None,
            waiting: None,
        }
    }

    /// What failed in this run so far, for the causal bench.
    pub fn failures(&self) -> crate::workbench::RunFailures {
        crate::workbench::RunFailures {
            label: format!("{}, seed {}, event {}", self.scenario, self.seed, self.events),
            nodes: self.faulty.iter().map(|&n| void_core::sim::incident_node(n)).collect(),
            invariants: self.invariants.iter().map(|i| void_core::sim::incident_invariant(i.name)).collect(),
            violated: self.violation.as_ref().map(|v| void_core::sim::incident_invariant(&v.invariant)),
        }
    }

    /// How the scenario's name is marked when it is not a built-in as shipped: " (edited)"
    /// for a built-in's name, " (custom)" for a scenario of its own (written in the editor,
    /// opened from a file or a link), "" for a built-in.
    pub fn custom_mark(&self) -> &'static str {
        match &self.custom {
            None => "",
            Some(_) if void_core::sim::builtin_names().contains(&self.scenario.as_str()) => " (edited)",
            Some(_) => " (custom)",
        }
    }

    /// The permalink of exactly this position. A run shown at its end links to its end, not
    /// to its last event: what is judged once the run is over (liveness) comes back too.
    pub fn permalink(&self) -> Permalink {
        let at_end = self.finished && self.violation.as_ref().is_none_or(|v| v.step >= self.events);
        Permalink {
            scenario: self.scenario.clone(),
            seed: self.seed,
            at: if at_end { permalink::AT_END } else { self.events },
            faults: self.faults.clone(),
            custom: self.custom.as_deref().map(str::to_owned),
        }
    }

    /// The command that replays this run from the command line.
    pub fn replay_command(&self) -> String {
        match self.custom {
            // The scenario lives only in the page: the editor's JSON saved to this file.
            Some(_) => format!(
                "void sim {}.json --seed {}",
                permalink::safe_name(&self.scenario, "scenario"),
                self.seed
            ),
            None => format!("void sim {} --seed {}", self.scenario, self.seed),
        }
    }
}

/// The run's scenario as the editor shows it: pretty JSON.
fn pretty(run: &Run) -> Rc<str> {
    // A validated scenario is plain data: serialising it cannot fail.
    Rc::from(serde_json::to_string_pretty(run.scenario()).unwrap_or_default())
}

/// Everything the user (or the animation clock) can do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Load a scenario and seed from the start, without added faults.
    Load {
        scenario: String,
        seed: u64,
    },
    /// Open a permalink: scenario, seed, faults, and run to its event.
    Open(Permalink),
    /// Run a scenario written in the editor or opened from a file, from the start.
    LoadJson {
        text: String,
        seed: u64,
    },
    Play,
    Pause,
    TogglePlay,
    Step,
    /// Go on to the next protocol milestone (a view change begun or over, a state
    /// transfer), fault or violation.
    NextMilestone,
    StepBack,
    Restart,
    SetSpeed(f64),
    /// Multiply the speed (the + and − keys), within its range.
    ScaleSpeed(f64),
    /// The animation clock: `real_ms` of wall time passed while playing.
    Tick {
        real_ms: f64,
    },
    Select(Option<u32>),
    /// Open the node menu (right click) at page coordinates, or close it.
    Menu(Option<(u32, i32, i32)>),
    Inject {
        node: u32,
        fault: UserFault,
    },
    /// Split these nodes off from the rest until healed (the lasso).
    Partition(Vec<u32>),
    /// Open the menu of the link between two nodes at page coordinates, or close it.
    LinkMenu(Option<(u32, u32, i32, i32)>),
    /// Break the link between two nodes, both ways, until healed.
    BreakLink {
        a: u32,
        b: u32,
        fault: LinkFault,
    },
    /// End every partition and link fault the user added.
    Heal,
    /// Something the user typed or opened is wrong: show it.
    Fail(String),
    /// Show a short note (e.g. the link was copied), or clear it.
    Notice(Option<String>),
    DismissError,
    /// Go to the first step boundary at or after this event index (the timeline scrubber),
    /// simulating again from the seed when it lies behind.
    Seek(u64),
    /// Go to the first step at or after this virtual time (µs): a scheduled moment.
    SeekTime(u64),
    /// The next slice of a seek in progress (one per animation frame).
    SeekSlice,
    /// Open or close the metrics drawer.
    ToggleMetrics,
    /// Open or close the keyboard help.
    ToggleHelp,
    /// A trace file read by the page: its name and text.
    Import {
        name: String,
        text: Rc<str>,
    },
    /// Forget the imported trace.
    CloseImport,
    /// Files chosen to import at once: by their format, a simulator trace to compare with
    /// the run, or native nodes' traces to replay as a recording.
    ImportFiles(Vec<(String, Rc<str>)>),
    /// Leave the recording, back to the simulated run.
    CloseRecording,
}

/// The speed a run of `protocol` starts at until the user picks one. Gossip clusters spend
/// their first virtual seconds joining (a hundred nodes over one second, the first broadcast
/// at three), which takes five minutes at 1× and half a minute at 10×; the − key slows
/// down to watch single hops.
pub fn starting_speed(protocol: &str) -> f64 {
    if protocol == "gossip" { 10.0 } else { 1.0 }
}

/// How far "next milestone" looks ahead before it stops to let the page draw.
pub const MILESTONE_REACH: u64 = 100_000;

/// A violation the run reached, remembered while going back before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ahead {
    /// The run's length when it stopped there: where to seek.
    pub events: u64,
    /// The event that broke the invariant.
    pub step: u64,
    pub invariant: Rc<str>,
}

impl Ahead {
    fn of(view: &Snapshot) -> Option<Ahead> {
        let v = view.violation.as_ref()?;
        Some(Ahead { events: view.events, step: v.step, invariant: Rc::from(v.invariant.as_str()) })
    }
}

#[derive(Clone)]
pub struct Model {
    run: Rc<RefCell<Run>>,
    pub view: Rc<Snapshot>,
    pub playing: bool,
    pub speed: f64,
    /// The user set the speed: a new run keeps it instead of its protocol's own.
    speed_chosen: bool,
    /// Virtual time the animation shows: at or after the simulation's own time, and before
    /// its next queued item.
    pub display_us: u64,
    pub selected: Option<u32>,
    pub menu: Option<(u32, i32, i32)>,
    /// The link menu: both ends and the page position it opened at.
    pub link_menu: Option<(u32, u32, i32, i32)>,
    /// The last thing that went wrong (bad link, refused fault), shown until dismissed.
    pub error: Option<String>,
    /// The link last shared, and the event it opens at (the run may have moved on since).
    pub notice: Option<(String, u64)>,
    /// Why the editor's scenario was refused, shown under it until the next attempt.
    pub scenario_error: Option<String>,
    /// The current scenario as pretty JSON (taken when a run is loaded, for the editor).
    pub scenario_text: Rc<str>,
    /// The scenario's scheduled faults and heals (virtual µs, what), to jump to.
    pub moments: Rc<[(u64, String)]>,
    /// What the protocol's parameters plan besides the scenario's `faults` ([`Run::planned`]).
    pub planned: Rc<[String]>,
    /// Where "next milestone" last stopped (events then) and the milestone's kind.
    milestone: Option<(u64, String)>,
    /// Where a seek in progress is going.
    pub seeking: Option<Target>,
    /// The furthest event this branch of the run reached: the scrubber's end.
    pub high_water: u64,
    /// The violation this branch of the run reached (the event it stopped at and the
    /// invariant), kept after going back so the way forward to it can be offered.
    pub violation_ahead: Option<Ahead>,
    pub metrics_open: bool,
    /// The keyboard help (the ? key).
    pub help_open: bool,
    pub imported: Option<Rc<Imported>>,
    /// Native nodes' traces being replayed instead of the run (which waits, paused).
    pub recording: Option<Rc<Recording>>,
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.view, &other.view)
            && self.playing == other.playing
            && self.speed == other.speed
            && self.display_us == other.display_us
            && self.selected == other.selected
            && self.menu == other.menu
            && self.link_menu == other.link_menu
            && self.error == other.error
            && self.notice == other.notice
            && self.scenario_error == other.scenario_error
            && Rc::ptr_eq(&self.scenario_text, &other.scenario_text)
            && Rc::ptr_eq(&self.moments, &other.moments)
            && Rc::ptr_eq(&self.planned, &other.planned)
            && self.seeking == other.seeking
            && self.high_water == other.high_water
            && self.violation_ahead == other.violation_ahead
            && self.metrics_open == other.metrics_open
            && self.help_open == other.help_open
            && self.imported == other.imported
            && match (&self.recording, &other.recording) {
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            }
    }
}

impl Model {
    /// A model for `link`, or for the default scenario when there is none. A link that
    /// cannot be opened gives the default run plus an error naming what is wrong.
    pub fn open(link: Result<Option<Permalink>, String>) -> Model {
        let opened = match link {
            Ok(Some(link)) => Self::run_for(&link).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let (mut run, error) = match opened {
            Ok(Some(run)) => (run, None),
            Ok(None) => (Self::default_run(), None),
            Err(e) => (Self::default_run(), Some(format!("cannot open this link: {e}"))),
        };
        let view = Rc::new(Snapshot::taken(&mut run));
        let scenario_text = pretty(&run);
        let moments = run.moments().into();
        let planned = run.planned().into();
        let speed = starting_speed(&run.scenario().protocol);
        Model {
            moments,
            planned,
            milestone: None,
            high_water: view.events,
            violation_ahead: Ahead::of(&view),
            display_us: view.now_us,
            run: Rc::new(RefCell::new(run)),
            view,
            playing: false,
            speed,
            speed_chosen: false,
            selected: None,
            menu: None,
            link_menu: None,
            error,
            notice: None,
            scenario_error: None,
            scenario_text,
            seeking: None,
            metrics_open: false,
            help_open: false,
            imported: None,
            recording: None,
        }
    }

    fn default_run() -> Run {
        let first = void_core::sim::builtin_names().first().copied().unwrap_or(DEFAULT_SCENARIO);
        Run::new(DEFAULT_SCENARIO, DEFAULT_SEED, Vec::new())
            .or_else(|_| Run::new(first, DEFAULT_SEED, Vec::new()))
            .unwrap_or_else(|e| panic!("the built-in scenarios must load: {e}"))
    }

    fn run_for(link: &Permalink) -> Result<Run, String> {
        let mut run = match &link.custom {
            Some(text) => Run::from_json(text, link.seed, link.faults.clone())?,
            None => Run::new(&link.scenario, link.seed, link.faults.clone())?,
        };
        run.seek_event(link.at);
        Ok(run)
    }

    /// Applies `action` in place (the `Reducible` impl wraps this).
    pub fn apply(&mut self, action: Action) {
        let mut changed = true;
        match action {
            Action::Load { scenario, seed } => match Run::new(&scenario, seed, Vec::new()) {
                Ok(run) => self.replace(run),
                Err(e) => self.error = Some(e),
            },
            Action::Open(link) => match Self::run_for(&link) {
                Ok(run) => self.replace(run),
                Err(e) => self.error = Some(format!("cannot open this link: {e}")),
            },
            Action::LoadJson { text, seed } => match Run::from_json(&text, seed, Vec::new()) {
                Ok(run) => {
                    self.replace(run);
                    self.scenario_error = None;
                }
                Err(e) => {
                    self.scenario_error = Some(e);
                    changed = false;
                }
            },
            // Going on with the run: a refused input's message no longer applies.
            Action::Play => {
                self.playing = !self.view.finished;
                self.error = None;
            }
            Action::Pause => self.playing = false,
            Action::TogglePlay => {
                self.playing = !self.playing && !self.view.finished;
                if self.playing {
                    self.error = None;
                }
            }
            Action::Step => {
                self.error = None;
                self.playing = false;
                self.seeking = None;
                self.run.borrow_mut().step();
            }
            Action::NextMilestone => {
                self.error = None;
                self.playing = false;
                self.seeking = None;
                // Stopped at a milestone and asked again: on past its kind's other events.
                let here = self.run.borrow().event_count();
                let skip = self.milestone.take().filter(|(at, _)| *at == here).map(|(_, kind)| kind);
                let stop = self.run.borrow_mut().step_to_milestone(MILESTONE_REACH, skip.as_deref());
                let at = self.run.borrow().event_count();
                self.error = match stop {
                    Milestone::Found(kind) => {
                        self.milestone = kind.map(|k| (at, k));
                        None
                    }
                    Milestone::Ended => Some(format!(
                        "the run ended at event #{at} with no further view change, state transfer or fault"
                    )),
                    Milestone::NotWithin => Some(format!(
                        "no view change, state transfer or fault in the next {MILESTONE_REACH} events: \
                         stopped at event #{at}"
                    )),
                };
            }
            Action::StepBack => {
                let target = self.run.borrow().step_back_target();
                self.seek(target);
            }
            Action::Restart => {
                let target = Target::Steps(self.run.borrow().origin());
                self.seek(target);
            }
            Action::Seek(event) => self.seek(Target::Event(event)),
            Action::SeekTime(us) => self.seek(Target::Time(us)),
            Action::SeekSlice => match self.seeking {
                Some(target) => self.seek_slice(target),
                None => changed = false,
            },
            Action::ToggleMetrics => self.metrics_open = !self.metrics_open,
            Action::ToggleHelp => {
                self.help_open = !self.help_open;
                // Reading the keys should not cost the moment being shown.
                self.playing &= !self.help_open;
                changed = false;
            }
            Action::Import { name, text } => self.import(name, text),
            Action::CloseImport => {
                self.imported = None;
                changed = false;
            }
            Action::ImportFiles(files) => self.import_files(files),
            Action::CloseRecording => {
                self.recording = None;
                changed = false;
            }
            Action::SetSpeed(s) => {
                self.speed = if s.is_finite() { s.clamp(MIN_SPEED, MAX_SPEED) } else { 1.0 };
                self.speed_chosen = true;
                changed = false;
            }
            Action::ScaleSpeed(k) => {
                let s = self.speed * k;
                self.speed = if s.is_finite() { s.clamp(MIN_SPEED, MAX_SPEED) } else { self.speed };
                self.speed_chosen = true;
                changed = false;
            }
            Action::Tick { real_ms } => {
                if self.playing && self.seeking.is_none() {
                    let shown = self.run.borrow_mut().advance(self.display_us, real_ms, self.speed);
                    self.display_us = shown;
                } else {
                    changed = false;
                }
            }
            Action::Select(node) => {
                self.selected = node.filter(|n| *n < self.view.nodes.len() as u32);
                self.menu = None;
                self.link_menu = None;
                changed = false;
            }
            Action::Menu(menu) => {
                // Escape closes whatever floats over the page, the help too.
                self.help_open &= menu.is_some();
                self.menu = menu.filter(|(n, _, _)| *n < self.view.nodes.len() as u32);
                self.link_menu = None;
                if let Some((n, _, _)) = self.menu {
                    self.selected = Some(n);
                }
                changed = false;
            }
            Action::Inject { node, fault } => {
                self.menu = None;
                self.seeking = None;
                let result = {
                    let mut run = self.run.borrow_mut();
                    // Gone back before faults added later: they belong to the future being
                    // left, so the run forks (simulated again from the seed without them).
                    if run.future_faults() > 0 { run.fork(node, fault) } else { run.inject(node, fault) }
                };
                match result {
                    Ok(fault) => self.reach(fault.at_us()),
                    Err(e) => self.error = Some(format!("node {node}: {e}")),
                }
            }
            Action::Partition(group) => {
                self.seeking = None;
                let result = self.run.borrow_mut().partition(&group);
                match result {
                    Ok(fault) => self.reach(fault.at_us()),
                    Err(e) => self.error = Some(format!("partition: {e}")),
                }
            }
            Action::LinkMenu(menu) => {
                let n = self.view.nodes.len() as u32;
                self.link_menu = menu.filter(|(a, b, _, _)| *a < n && *b < n && a != b);
                self.menu = None;
                changed = false;
            }
            Action::BreakLink { a, b, fault } => {
                self.link_menu = None;
                self.seeking = None;
                let result = self.run.borrow_mut().break_link(a, b, fault);
                match result {
                    Ok(fault) => self.reach(fault.at_us()),
                    Err(e) => self.error = Some(format!("link {a}–{b}: {e}")),
                }
            }
            Action::Heal => {
                self.seeking = None;
                let result = self.run.borrow_mut().heal();
                match result {
                    Ok(Some(at)) => self.reach(at),
                    Ok(None) => {}
                    Err(e) => self.error = Some(format!("heal: {e}")),
                }
            }
            Action::Fail(message) => {
                self.error = Some(message);
                changed = false;
            }
            Action::Notice(notice) => {
                self.notice = notice.map(|url| (url, self.view.events));
                changed = false;
            }
            Action::DismissError => {
                self.error = None;
                changed = false;
            }
        }
        // While a seek simulates again from the seed, the picture stays where it was (with
        // the timeline's "simulating again" note) rather than flashing the states on the
        // way to the target.
        if changed && self.seeking.is_none() {
            self.refresh();
        }
    }

    /// Lets a fault just added happen now, so the view shows its effect at once (a playing
    /// run plays on). A fault added after going back forked the run: the scrubber then ends
    /// where it is.
    fn reach(&mut self, at_us: u64) {
        let events = self.run.borrow().event_count();
        if events < self.high_water {
            self.high_water = 0;
        }
        // A fault added before the violation changes the future it was in.
        if self.violation_ahead.as_ref().is_some_and(|a| events < a.events) {
            self.violation_ahead = None;
        }
        let playing = self.playing;
        self.seek(Target::Time(at_us));
        self.playing = playing;
        self.display_us = self.run.borrow().now_us();
    }

    fn replace(&mut self, run: Run) {
        if !self.speed_chosen {
            self.speed = starting_speed(&run.scenario().protocol);
        }
        self.scenario_text = pretty(&run);
        self.moments = run.moments().into();
        self.planned = run.planned().into();
        self.high_water = run.event_count();
        self.violation_ahead = None;
        self.run = Rc::new(RefCell::new(run));
        self.playing = false;
        self.display_us = 0;
        self.selected = None;
        self.menu = None;
        self.link_menu = None;
        self.error = None;
        self.seeking = None;
        self.imported = None;
        // A link shown for the previous run no longer describes what is on screen.
        self.notice = None;
    }

    /// Starts going to `target` and takes its first slice now: a short seek is over at once,
    /// a long one goes on one slice per frame ([`Action::SeekSlice`]).
    fn seek(&mut self, target: Target) {
        self.playing = false;
        let result = self.run.borrow_mut().begin_seek(target);
        match result {
            Ok(()) => self.seek_slice(target),
            Err(e) => {
                self.error = Some(e);
                self.seeking = None;
            }
        }
    }

    fn seek_slice(&mut self, target: Target) {
        let done = self.run.borrow_mut().seek_some(target, SEEK_STEPS_PER_SLICE);
        self.seeking = (!done).then_some(target);
        if done {
            // Arrived, possibly before the time shown: the next refresh sets the clock.
            self.display_us = 0;
        }
        if done && let Some(imported) = self.imported.as_mut() {
            Rc::make_mut(imported).compare(&self.run.borrow());
        }
    }

    /// Reads `text` as a trace, compares it with the run and, when they agree so far, goes
    /// to the trace's end.
    fn import(&mut self, name: String, text: Rc<str>) {
        if text.len() > MAX_IMPORT_BYTES {
            self.error = Some(format!("{name}: {} bytes, more than the {MAX_IMPORT_BYTES} read", text.len()));
            return;
        }
        match Imported::read(name, text) {
            Ok(mut imported) => {
                imported.compare(&self.run.borrow());
                let go = imported.agree == imported.compared && imported.events != self.view.events;
                let end = imported.events;
                self.imported = Some(Rc::new(imported));
                if go {
                    self.seek(Target::Event(end));
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Reads the files chosen at once: one simulator trace is compared with the run; native
    /// nodes' traces (any number, of one run) open as a recording.
    fn import_files(&mut self, files: Vec<(String, Rc<str>)>) {
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        if bytes > MAX_IMPORT_BYTES {
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            self.error =
                Some(format!("{}: {bytes} bytes, more than the {MAX_IMPORT_BYTES} read", names.join(", ")));
            return;
        }
        let mut formats = Vec::with_capacity(files.len());
        for (name, text) in &files {
            match crate::recording::detect(name, text) {
                Ok(f) => formats.push(f),
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
        let sim = files.iter().zip(&formats).find(|(_, f)| **f == TraceFormat::Simulator);
        match sim {
            Some(((name, text), _)) if files.len() == 1 => self.import(name.clone(), text.clone()),
            Some(((name, _), _)) => {
                self.error = Some(format!(
                    "{name} is a simulator trace (as `void sim --dump-trace` writes): import it alone; \
                     several files at once must all be traces of native nodes (`void node --trace`)"
                ))
            }
            None => match Recording::read(&files) {
                Ok(r) => {
                    self.playing = false;
                    self.error = None;
                    self.recording = Some(Rc::new(r));
                }
                Err(e) => self.error = Some(e),
            },
        }
    }

    /// The run's trace in `format`, for a download.
    pub fn export(&self, format: Export) -> String {
        let run = self.run.borrow();
        match format {
            Export::TraceJsonl => run.trace_jsonl(),
            Export::ShiViz => {
                let n = run.event_count();
                shiviz(n, run.nodes().len(), || (0..n).filter_map(|i| run.event(i)))
            }
            Export::Scenario => {
                let mut scenario = run.scenario().clone();
                scenario.faults.extend(run.faults().iter().cloned());
                serde_json::to_string_pretty(&scenario).unwrap_or_default()
            }
        }
    }

    fn refresh(&mut self) {
        let mut view = Snapshot::taken(&mut self.run.borrow_mut());
        if view.finished || view.violation.is_some() {
            self.playing = false;
        }
        if self.metrics_open {
            let mut run = self.run.borrow_mut();
            let tally = run.tally().clone();
            view.metrics = Some(Rc::new(Metrics { tally, protocol: run.metrics() }));
        }
        self.high_water = self.high_water.max(view.events);
        if view.violation.is_some() {
            self.violation_ahead = Ahead::of(&view);
        }
        // Paused between two items, the picture stays where the clock stopped.
        self.display_us = self.display_us.max(view.now_us);
        self.view = Rc::new(view);
    }
}

impl Reducible for Model {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}
