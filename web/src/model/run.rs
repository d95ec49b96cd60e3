//! One simulation run the playground drives: a built-in scenario, a seed, the faults the
//! user added, and the position reached. Everything here is plain Rust (no browser), so
//! the rules of stepping, stepping back and injecting are tested natively too.

use std::collections::BTreeMap;

use void_core::sim::{self, AnySim, EventBrief, EventView, Fault, InFlight, NodeView, Scenario};

use super::spread::{Spread, SpreadTracker};
use super::tally::Tally;

/// Virtual microseconds that pass per real millisecond at speed 1×: one virtual
/// millisecond takes a tenth of a second, slow enough to follow single messages.
pub const VIRTUAL_US_PER_REAL_MS_AT_1X: f64 = 10.0;

/// Most queue items handled per animation tick, so a frame never stalls the page.
pub const MAX_STEPS_PER_TICK: u32 = 2_000;

/// Events behind after which the broadcast tracker looks back for the latest broadcast
/// rather than reading forwards.
const SPREAD_SKIP: u64 = 4096;

/// Protocol events a class looks for in a run (observed events, by kind): PBFT's view
/// changes begun and entered, and state transfers.
pub const MILESTONES: &[&str] = &["ViewChange", "NewView", "StateTransferred"];

/// Where [`Run::step_to_milestone`] stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Milestone {
    /// At a milestone (its kind), a fault or a violation (`None`).
    Found(Option<String>),
    /// The run is over, with none of them on the way.
    Ended,
    /// Its reach passed with none of them.
    NotWithin,
}

/// A fault, or one of the [`MILESTONES`].
pub fn is_milestone(e: &EventBrief) -> bool {
    (e.category == "fault" && e.kind != "Heal") || (e.category == "observe" && MILESTONES.contains(&e.kind))
}

/// Most faults a user (or a permalink) may add to one run.
pub const MAX_USER_FAULTS: usize = 256;

/// A fault the user can add from the inspector or the node menu.
#[derive(Clone, Debug, PartialEq)]
pub enum UserFault {
    Crash,
    Restart,
    /// Jump the node's physical clock by this many milliseconds.
    SkewClock(i64),
    /// Switch to a named behaviour of the protocol ("honest" resets).
    Misbehave(String),
}

/// What the user can do to the link between two nodes (both directions, until healed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinkFault {
    /// Every message is lost.
    Cut,
    /// This share of messages is lost.
    Lossy(f64),
    /// This share of messages arrives twice.
    Duplicate(f64),
    /// Every message takes this many milliseconds longer.
    Delay(f64),
}

impl LinkFault {
    /// The menu's choices, in order.
    pub const CHOICES: [LinkFault; 4] =
        [LinkFault::Cut, LinkFault::Lossy(0.3), LinkFault::Duplicate(0.5), LinkFault::Delay(20.0)];

    pub fn label(&self) -> String {
        match self {
            LinkFault::Cut => "cut (drop everything)".into(),
            LinkFault::Lossy(p) => format!("lose {:.0} % of messages", p * 100.0),
            LinkFault::Duplicate(p) => format!("duplicate {:.0} % of messages", p * 100.0),
            LinkFault::Delay(ms) => format!("delay by {ms} ms"),
        }
    }
}

/// A position to seek to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The first step boundary at or after this event index (the scrubber, permalinks).
    Event(u64),
    /// This many queue items handled since the start (step back, restart).
    Steps(u64),
    /// The first item at or after this virtual time (a fault just added).
    Time(u64),
}

pub struct Run {
    pub name: String,
    pub seed: u64,
    base: Scenario,
    /// The scenario's JSON when it is not a built-in one.
    custom: Option<String>,
    /// Faults added by the user, in the order added (the permalink keeps them).
    faults: Vec<Fault>,
    sim: Box<dyn AnySim>,
    /// Queue items handled since the start: the position step-back counts from.
    steps: u64,
    /// Steps that boot the cluster at t = 0; runs begin (and step back no further than)
    /// here, so the first picture shows the nodes up rather than not yet started.
    origin: u64,
    /// The metrics drawer's counts, brought up to date when asked for.
    tally: Tally,
    /// Gossip: the latest broadcast's spread, brought up to date when asked for.
    spread: SpreadTracker,
}

impl Run {
    /// A fresh run of built-in scenario `name` with `seed` and the user's `faults`.
    pub fn new(name: &str, seed: u64, faults: Vec<Fault>) -> Result<Run, String> {
        let json = sim::load_builtin(name).ok_or_else(|| {
            format!("unknown scenario {name:?}; built-in ones are {}", sim::builtin_names().join(", "))
        })?;
        let base = Scenario::from_json(json).map_err(|e| format!("scenario {name}: {e}"))?;
        Self::start(name.to_owned(), base, None, seed, faults)
    }

    /// A fresh run of a scenario the user wrote or opened (JSON, checked like a file given
    /// to `void sim`).
    pub fn from_json(text: &str, seed: u64, faults: Vec<Fault>) -> Result<Run, String> {
        let base = Scenario::from_json(text).map_err(|e| e.to_string())?;
        // Kept in its compact, validated form: that is what a permalink carries.
        let custom = serde_json::to_string(&base).map_err(|e| e.to_string())?;
        Self::start(base.name.clone(), base, Some(custom), seed, faults)
    }

    fn start(
        name: String,
        base: Scenario,
        custom: Option<String>,
        seed: u64,
        faults: Vec<Fault>,
    ) -> Result<Run, String> {
        if faults.len() > MAX_USER_FAULTS {
            return Err(format!("{} faults given; at most {MAX_USER_FAULTS} are allowed", faults.len()));
        }
        let sim = Self::build(&base, seed, &faults)?;
        let tally = Tally::new(&base.protocol, base.duration_us());
        let mut run = Run {
            name,
            seed,
            base,
            custom,
            faults,
            sim,
            steps: 0,
            origin: 0,
            tally,
            spread: SpreadTracker::default(),
        };
        run.boot();
        run.origin = run.steps;
        Ok(run)
    }

    /// The scenario as JSON when it is not a built-in one.
    /// The scenario's scheduled moments, in time order: each fault, and each partition's
    /// or link fault's end (virtual µs, what happens).
    pub fn moments(&self) -> Vec<(u64, String)> {
        let mut out: Vec<(u64, String)> = Vec::new();
        for f in &self.base.faults {
            out.push((f.at_us(), crate::format::fault(f)));
            match f {
                Fault::Partition { heal_ms, .. } => {
                    out.push((sim::ms_to_us(*heal_ms), "partition heals".into()))
                }
                Fault::Link { until_ms, from, to, .. } => {
                    out.push((sim::ms_to_us(*until_ms), format!("link N{from}→N{to} heals")))
                }
                _ => {}
            }
        }
        if self.base.protocol == "gossip" {
            let moments = void_core::gossip::scheduled_moments(&self.base);
            out.extend(moments.into_iter().map(|(ms, what)| (sim::ms_to_us(ms), what.to_owned())));
        }
        void_core::sort::sort_by_key(&mut out, |m| m.0);
        out
    }

    /// What the protocol's parameters plan besides the scenario's `faults` (gossip's
    /// partition, churn and late joiners), as "what at T ms", in time order.
    pub fn planned(&self) -> Vec<String> {
        if self.base.protocol != "gossip" {
            return Vec::new();
        }
        void_core::gossip::scheduled_moments(&self.base)
            .into_iter()
            .filter(|(_, what)| *what != "broadcasts start")
            .map(|(ms, what)| format!("{what} at {ms} ms"))
            .collect()
    }

    pub fn custom(&self) -> Option<&str> {
        self.custom.as_deref()
    }

    /// Handles the items of t = 0 until every node has started. Starts are queued first,
    /// after only the faults of t = 0, so this never steps past them.
    fn boot(&mut self) {
        let nodes = self.sim.nodes().len() as u64;
        let cap = nodes.saturating_mul(2) + self.faults.len() as u64 + self.base.faults.len() as u64;
        let mut started = 0;
        while started < nodes && self.steps < cap && self.now_us() == 0 {
            let before = self.event_count();
            if !self.step() {
                break;
            }
            started += (before..self.event_count())
                .filter(|i| self.sim.event(*i).is_some_and(|e| e.category == "start"))
                .count() as u64;
        }
    }

    fn build(base: &Scenario, seed: u64, faults: &[Fault]) -> Result<Box<dyn AnySim>, String> {
        let mut scenario = base.clone();
        scenario.faults.extend(faults.iter().cloned());
        // Re-validate so a permalink's faults get the same checks as a scenario file's.
        let text = serde_json::to_string(&scenario).map_err(|e| e.to_string())?;
        let checked = Scenario::from_json(&text).map_err(|e| format!("faults: {e}"))?;
        sim::build(&checked, seed, true).map_err(|e| e.to_string())
    }

    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    pub fn scenario(&self) -> &Scenario {
        &self.base
    }

    pub fn now_us(&self) -> u64 {
        self.sim.now()
    }

    pub fn event_count(&self) -> u64 {
        self.sim.event_count()
    }

    pub fn trace_hash(&self) -> String {
        self.sim.trace_hash()
    }

    pub fn is_finished(&self) -> bool {
        self.sim.is_finished()
    }

    pub fn violation(&self) -> Option<&void_core::check::Violation> {
        self.sim.violation()
    }

    /// The nodes as drawn. A replica made Byzantine by the scenario's parameters (not by a
    /// `misbehave` fault) reports its behaviour among its facts only: it is drawn as
    /// Byzantine too, so that what misbehaves is visible from the first event.
    pub fn nodes(&self) -> Vec<NodeView> {
        let mut nodes = self.sim.nodes();
        for node in &mut nodes {
            let configured = node.facts.iter().find(|(k, _)| k == "behaviour").map(|(_, v)| v.as_str());
            if let Some(b) = configured.filter(|b| *b != "honest")
                && node.behaviour.is_none()
                && node.state != "crashed"
            {
                node.behaviour = Some(b.to_owned());
                node.state = "byzantine".into();
            }
        }
        nodes
    }

    pub fn event(&self, index: u64) -> Option<EventView> {
        self.sim.event(index)
    }

    pub fn event_brief(&self, index: u64) -> Option<EventBrief> {
        self.sim.event_brief(index)
    }

    /// A recorded event as its JSON line (the `--dump-trace` format).
    pub fn event_json(&self, index: u64) -> Option<String> {
        self.sim.event_json(index)
    }

    /// The trace so far as JSON lines: the bytes `void sim --dump-trace` writes.
    pub fn trace_jsonl(&self) -> String {
        sim::trace_jsonl(&*self.sim)
    }

    /// The protocol's own figures so far (what `void sim --json` reports as `metrics`).
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        self.sim.outcome().metrics
    }

    /// Gossip: the latest broadcast and the nodes it reached, up to the current event.
    pub fn spread(&mut self) -> Option<&Spread> {
        if self.base.protocol != "gossip" {
            return None;
        }
        let nodes = self.base.nodes as usize;
        let end = self.sim.event_count();
        // Far behind (a link opened, a long seek): only the latest broadcast matters, so
        // start where it started instead of reading every event since.
        // Only deliveries count; the others are told apart without formatting their text.
        let sim = &self.sim;
        let delivery = |i: u64| {
            sim.event_brief(i)
                .filter(|b| b.category == "observe" && b.kind == "Delivered")
                .and_then(|_| sim.event(i))
        };
        if end - self.spread.upto.min(end) > SPREAD_SKIP {
            let start = (self.spread.upto..end)
                .rev()
                .find(|&i| delivery(i).is_some_and(|e| SpreadTracker::starts(&e)));
            if let Some(start) = start {
                self.spread = SpreadTracker::from(start);
            }
        }
        for i in self.spread.upto..end {
            if let Some(e) = delivery(i) {
                self.spread.add(&e, nodes);
            }
        }
        self.spread.upto = end;
        self.spread.current()
    }

    /// The drawer's counts, brought up to the current event.
    pub fn tally(&mut self) -> &Tally {
        for i in self.tally.upto..self.sim.event_count() {
            if let Some(e) = self.sim.event_brief(i) {
                let sim = &self.sim;
                self.tally.add(&e, || sim.event_json(i));
            }
        }
        &self.tally
    }

    /// Queue items that boot the cluster: the first position.
    pub fn origin(&self) -> u64 {
        self.origin
    }

    /// Virtual time of the next queued item, if any.
    pub fn next_time(&self) -> Option<u64> {
        self.sim.next_time()
    }

    /// Messages sent and not yet delivered or dropped, soonest arrival first.
    pub fn in_flight(&self) -> Vec<InFlight> {
        self.sim.in_flight()
    }

    /// The last `n` recorded events, oldest first.
    pub fn recent_events(&self, n: u64) -> Vec<EventView> {
        let end = self.event_count();
        (end.saturating_sub(n)..end).filter_map(|i| self.sim.event(i)).collect()
    }

    /// Handles one queue item (one or more events). False once the run is over.
    pub fn step(&mut self) -> bool {
        let moved = self.sim.step();
        if moved {
            self.steps += 1;
        }
        moved
    }

    /// Steps on until an event of a [`MILESTONES`] kind other than `skip` or a fault happens,
    /// or an invariant fires, at most `reach` events ahead. (Every replica starts the same
    /// view change: skipping the kind just stopped at goes on to what comes of it.)
    pub fn step_to_milestone(&mut self, reach: u64, skip: Option<&str>) -> Milestone {
        let start = self.event_count();
        while self.violation().is_none() {
            let before = self.event_count();
            if !self.step() {
                return Milestone::Ended;
            }
            let now = self.event_count();
            let found = (before..now)
                .filter_map(|i| self.event_brief(i))
                .find(|e| is_milestone(e) && (e.category == "fault" || Some(e.kind) != skip));
            if let Some(e) = found {
                return Milestone::Found((e.category != "fault").then(|| e.kind.to_owned()));
            }
            if self.violation().is_some() {
                return Milestone::Found(None);
            }
            if now - start >= reach {
                return Milestone::NotWithin;
            }
        }
        Milestone::Found(None)
    }

    /// Goes back one queue item by simulating again from the seed (deterministic).
    pub fn step_back(&mut self) -> Result<(), String> {
        let target = self.step_back_target();
        self.seek_now(target)
    }

    /// Where [`Run::step_back`] goes.
    pub fn step_back_target(&self) -> Target {
        Target::Steps(self.steps.saturating_sub(1))
    }

    /// Restarts from the seed, keeping the user's faults.
    pub fn restart(&mut self) -> Result<(), String> {
        self.seek_now(Target::Steps(self.origin))
    }

    /// Goes to `target` in one go (tests, and short seeks).
    pub fn seek_now(&mut self, target: Target) -> Result<(), String> {
        self.begin_seek(target)?;
        while !self.seek_some(target, u32::MAX) {}
        Ok(())
    }

    /// Prepares going to `target`: when it lies behind, the run starts again from the seed
    /// (the same seed and faults give the same events). Then [`Run::seek_some`] moves on.
    pub fn begin_seek(&mut self, target: Target) -> Result<(), String> {
        let behind = match target {
            Target::Event(k) => k < self.event_count(),
            Target::Steps(s) => s < self.steps,
            Target::Time(t) => t < self.now_us(),
        };
        if behind {
            self.sim = Self::build(&self.base, self.seed, &self.faults)?;
            self.steps = 0;
            self.tally = Tally::new(&self.base.protocol, self.base.duration_us());
            self.spread = SpreadTracker::default();
        }
        Ok(())
    }

    /// Handles at most `budget` queue items towards `target` (a page stays responsive by
    /// seeking in slices). True once there, or once the run is over.
    pub fn seek_some(&mut self, target: Target, budget: u32) -> bool {
        for _ in 0..budget {
            if !self.short_of(target) {
                return true;
            }
            if !self.step() {
                return true;
            }
        }
        !self.short_of(target) || self.is_finished()
    }

    /// Not yet at `target`. Never before the boot steps: positions start there.
    fn short_of(&self, target: Target) -> bool {
        self.steps < self.origin
            || match target {
                Target::Event(k) => self.event_count() < k,
                Target::Steps(s) => self.steps < s,
                // Faults sort first among the items of their instant, so the step that
                // reaches `t` is a fault's own when one is due then.
                Target::Time(t) => self.now_us() < t,
            }
    }

    /// User faults scheduled after now: ones added before going back in time.
    pub fn future_faults(&self) -> usize {
        let now = self.now_us();
        self.faults.iter().filter(|f| f.at_us() > now).count()
    }

    /// Queue items handled since the start.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// True at the first position of the run (nothing to step back to).
    pub fn at_origin(&self) -> bool {
        self.steps <= self.origin
    }

    /// Runs forward to the first step boundary at or after event index `at` (the
    /// permalink's position), or to the end.
    pub fn seek_event(&mut self, at: u64) {
        while self.event_count() < at && self.step() {}
    }

    /// Advances the animation clock from `from_us` by `real_ms` of wall time at `speed` and
    /// handles the queue items due by then, at most [`MAX_STEPS_PER_TICK`] of them. The
    /// simulation never runs ahead of the clock, so what is drawn at the clock's time
    /// (messages part way along their links) is what the simulation holds. Returns the new
    /// clock; when the cap stopped the tick early, the clock waits at the simulation's time.
    pub fn advance(&mut self, from_us: u64, real_ms: f64, speed: f64) -> u64 {
        let delta = (real_ms.max(0.0) * speed.max(0.0) * VIRTUAL_US_PER_REAL_MS_AT_1X) as u64;
        let target = from_us.max(self.now_us()).saturating_add(delta.max(1));
        let end = self.base.duration_us();
        for _ in 0..MAX_STEPS_PER_TICK {
            // An item past the end only ends the run, when the clock reaches the end.
            let due = self.next_time().is_none_or(|t| t.min(end) <= target);
            if !due {
                return target;
            }
            if !self.step() {
                return self.now_us();
            }
        }
        self.now_us().min(target)
    }

    /// Runs to the end (tests, and the "run to end" of a permalink at the end).
    pub fn run_to_end(&mut self) {
        while self.step() {}
    }

    /// Adds `fault` for `node` one microsecond from now and records it for the permalink.
    /// Does not move the run: the caller runs to the fault's time.
    pub fn inject(&mut self, node: u32, fault: UserFault) -> Result<Fault, String> {
        let fault = Self::user_fault(self.now_us(), node, fault)?;
        self.add(vec![fault])
    }

    /// Forks the run here: the user's faults still ahead (added before going back) are
    /// dropped, `fault` is added one microsecond from now, and the run starts again from the
    /// seed; the caller seeks to the returned fault's time, which replays the same events up
    /// to here. The fault schedule (and so the permalink) holds the fork.
    pub fn fork(&mut self, node: u32, fault: UserFault) -> Result<Fault, String> {
        let fault = Self::user_fault(self.now_us(), node, fault)?;
        self.fork_with(vec![fault])
    }

    /// Adds `new` to the running simulation; returns the first of them.
    fn add(&mut self, new: Vec<Fault>) -> Result<Fault, String> {
        self.room_for(new.len())?;
        let first = new.first().cloned().ok_or("no fault to add")?;
        for fault in new {
            self.sim.inject(fault.clone()).map_err(|e| e.to_string())?;
            self.faults.push(fault);
        }
        Ok(first)
    }

    /// [`Run::fork`] with faults already built; returns the first of `new`.
    fn fork_with(&mut self, new: Vec<Fault>) -> Result<Fault, String> {
        let now = self.now_us();
        let first = new.first().cloned().ok_or("no fault to add")?;
        let mut faults: Vec<Fault> = self.faults.iter().filter(|f| f.at_us() <= now).cloned().collect();
        if faults.len() + new.len() > MAX_USER_FAULTS {
            return Err(format!("a run keeps at most {MAX_USER_FAULTS} added faults"));
        }
        faults.extend(new);
        self.restart_with(faults)?;
        Ok(first)
    }

    /// Adds `new` here: forks when faults added before going back lie ahead, else adds.
    fn place(&mut self, new: Vec<Fault>) -> Result<Fault, String> {
        if self.future_faults() > 0 { self.fork_with(new) } else { self.add(new) }
    }

    /// Starts the run again from the seed with `faults` (checked before anything changes, so
    /// a refused schedule leaves the run as it was).
    fn restart_with(&mut self, faults: Vec<Fault>) -> Result<(), String> {
        let sim = Self::build(&self.base, self.seed, &faults)?;
        self.sim = sim;
        self.faults = faults;
        self.steps = 0;
        self.tally = Tally::new(&self.base.protocol, self.base.duration_us());
        self.spread = SpreadTracker::default();
        Ok(())
    }

    fn user_fault(now_us: u64, node: u32, fault: UserFault) -> Result<Fault, String> {
        let at_ms = next_instant_ms(now_us);
        let fault = match fault {
            UserFault::Crash => Fault::Crash { at_ms, node },
            UserFault::Restart => Fault::Restart { at_ms, node },
            UserFault::SkewClock(by_ms) => Fault::ClockJump { at_ms, node, by_ms },
            UserFault::Misbehave(behaviour) => {
                let behaviour = behaviour.trim().to_owned();
                if behaviour.is_empty() {
                    return Err("name a behaviour (or \"honest\" to reset)".into());
                }
                Fault::Misbehave { at_ms, node, behaviour }
            }
        };
        Ok(fault)
    }

    fn room_for(&self, faults: usize) -> Result<(), String> {
        if self.faults.len() + faults > MAX_USER_FAULTS {
            return Err(format!("a run keeps at most {MAX_USER_FAULTS} added faults"));
        }
        Ok(())
    }

    /// The end of the run, in the milliseconds faults use: a partition or link fault the
    /// user adds lasts until then unless healed.
    fn end_ms(&self) -> f64 {
        self.base.duration_us() as f64 / 1000.0
    }

    /// Splits `group` off from the other nodes from the next instant until healed.
    pub fn partition(&mut self, group: &[u32]) -> Result<Fault, String> {
        let n = self.sim.nodes().len() as u32;
        let mut members: Vec<u32> = group.to_vec();
        void_core::sort::sort(&mut members);
        members.dedup();
        if let Some(bad) = members.iter().find(|m| **m >= n) {
            return Err(format!("node {bad} does not exist (the run has {n} nodes)"));
        }
        if members.is_empty() || members.len() as u32 == n {
            return Err("a partition needs some nodes on each side: select some, not all".into());
        }
        let at_ms = next_instant_ms(self.now_us());
        let heal_ms = self.end_ms().max(at_ms);
        self.place(vec![Fault::Partition { at_ms, heal_ms, groups: vec![members] }])
    }

    /// Breaks the link between `a` and `b` in both directions from the next instant until
    /// healed. Returns the fault of the direction `a` → `b`.
    pub fn break_link(&mut self, a: u32, b: u32, kind: LinkFault) -> Result<Fault, String> {
        let n = self.sim.nodes().len() as u32;
        if a >= n || b >= n {
            return Err(format!("the link {a}–{b} does not exist (the run has {n} nodes)"));
        }
        if a == b {
            return Err("a link joins two different nodes".into());
        }
        let (drop, duplicate, delay_ms) = match kind {
            LinkFault::Cut => (1.0, 0.0, 0.0),
            LinkFault::Lossy(p) => (p, 0.0, 0.0),
            LinkFault::Duplicate(p) => (0.0, p, 0.0),
            LinkFault::Delay(ms) => (0.0, 0.0, ms),
        };
        let at_ms = next_instant_ms(self.now_us());
        let until_ms = self.end_ms().max(at_ms);
        let there = Fault::Link { at_ms, until_ms, from: a, to: b, drop, duplicate, delay_ms };
        let back = Fault::Link { at_ms, until_ms, from: b, to: a, drop, duplicate, delay_ms };
        self.place(vec![there, back])
    }

    /// Every fault of the run: the scenario's own, those its protocol plans from its
    /// parameters (plumtree-partition's split) and the user's, as the simulator runs them.
    fn all_faults(&self) -> impl Iterator<Item = &Fault> {
        self.sim.scenario().faults.iter()
    }

    /// Which side of the partitions in force each node is on: nodes can talk (links aside)
    /// exactly when their sides are equal. Empty when no partition is in force.
    pub fn sides(&self) -> Vec<u32> {
        let now = self.now_us();
        let n = self.sim.nodes().len();
        let mut keys: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut any = false;
        for fault in self.all_faults() {
            let Fault::Partition { groups, .. } = fault else { continue };
            if !(fault.at_us() <= now && network_fault_end_us(fault).is_some_and(|end| end > now)) {
                continue;
            }
            any = true;
            for (i, key) in keys.iter_mut().enumerate() {
                let g = groups.iter().position(|g| g.contains(&(i as u32))).unwrap_or(groups.len());
                key.push(g as u32);
            }
        }
        if !any {
            return Vec::new();
        }
        // Number the distinct keys in node order, so the first node is on side 0.
        let mut seen: Vec<&Vec<u32>> = Vec::new();
        keys.iter()
            .map(|k| match seen.iter().position(|s| *s == k) {
                Some(side) => side as u32,
                None => {
                    seen.push(k);
                    (seen.len() - 1) as u32
                }
            })
            .collect()
    }

    /// Link faults in force, one entry per pair and kind: (from, to, both ways, label).
    pub fn broken_links(&self) -> Vec<(u32, u32, bool, String)> {
        let now = self.now_us();
        let mut out: Vec<(u32, u32, bool, String)> = Vec::new();
        for fault in self.all_faults() {
            let Fault::Link { from, to, drop, duplicate, delay_ms, .. } = fault else { continue };
            if !(fault.at_us() <= now && network_fault_end_us(fault).is_some_and(|end| end > now)) {
                continue;
            }
            let mut parts = Vec::new();
            if *drop >= 1.0 {
                parts.push("cut".to_owned());
            } else if *drop > 0.0 {
                parts.push(format!("{:.0} % lost", drop * 100.0));
            }
            if *duplicate > 0.0 {
                parts.push(format!("{:.0} % doubled", duplicate * 100.0));
            }
            if *delay_ms > 0.0 {
                parts.push(format!("+{delay_ms} ms"));
            }
            let label = parts.join(", ");
            // The same fault the other way round makes it a two-way one.
            if let Some(l) = out.iter_mut().find(|l| l.0 == *to && l.1 == *from && l.3 == label) {
                l.2 = true;
            } else if !out.iter().any(|l| l.0 == *from && l.1 == *to && l.3 == label) {
                out.push((*from, *to, false, label));
            }
        }
        out
    }

    /// The user's partitions and link faults still in force.
    /// The behaviours the protocol accepts in a `misbehave` fault.
    pub fn behaviours(&self) -> &'static [&'static str] {
        self.sim.behaviours()
    }

    /// What each of [`Run::behaviours`] does, in the same order.
    pub fn behaviour_summaries(&self) -> &'static [&'static str] {
        self.sim.behaviour_summaries()
    }

    /// Nodes that crashed or behaved Byzantine so far.
    pub fn faulty_nodes(&self) -> Vec<u32> {
        self.sim.faulty_nodes()
    }

    /// The invariants the run checks: name, what each promises, and when it is judged.
    pub fn invariants(&self) -> Vec<void_core::check::InvariantInfo> {
        self.sim.invariants()
    }

    pub fn active_network_faults(&self) -> usize {
        let now = self.now_us();
        self.faults.iter().filter(|f| network_fault_end_us(f).is_some_and(|end| end > now)).count()
    }

    /// Ends every partition and link fault the user added that is still in force, at the
    /// next instant. Their end times are rewritten and the run re-simulated to the same
    /// position: nothing before now depends on a later end, so the past stays the same.
    /// Returns the instant of the heal (None when nothing was in force).
    pub fn heal(&mut self) -> Result<Option<u64>, String> {
        let now = self.now_us();
        let at_ms = next_instant_ms(now);
        // Faults still ahead belong to a future being left, as for a fork.
        let mut faults: Vec<Fault> = self.faults.iter().filter(|f| f.at_us() <= now).cloned().collect();
        let mut healed = false;
        for fault in &mut faults {
            if network_fault_end_us(fault).is_none_or(|end| end <= now) {
                continue;
            }
            match fault {
                Fault::Partition { at_ms: from, heal_ms, .. } => *heal_ms = at_ms.max(*from),
                Fault::Link { at_ms: from, until_ms, .. } => *until_ms = at_ms.max(*from),
                _ => continue,
            }
            healed = true;
        }
        if !healed {
            return Ok(None);
        }
        let steps = self.steps;
        self.restart_with(faults)?;
        self.seek_now(Target::Steps(steps))?;
        Ok(Some(sim::ms_to_us(at_ms)))
    }
}

/// When a partition or link fault stops acting (None for other faults).
fn network_fault_end_us(fault: &Fault) -> Option<u64> {
    match fault {
        Fault::Partition { heal_ms, .. } => Some(sim::ms_to_us(*heal_ms)),
        Fault::Link { until_ms, .. } => Some(sim::ms_to_us(*until_ms)),
        _ => None,
    }
}

/// The earliest whole microsecond after `now_us`, in the fractional milliseconds faults
/// use, chosen so that converting back lands strictly after `now_us`.
pub fn next_instant_ms(now_us: u64) -> f64 {
    let mut us = now_us + 1;
    loop {
        let ms = us as f64 / 1000.0;
        if sim::ms_to_us(ms) > now_us {
            return ms;
        }
        us += 1;
    }
}
