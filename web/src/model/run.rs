//! One simulation run the playground drives: a built-in scenario, a seed, the faults the
//! user added, and the position reached. Everything here is plain Rust (no browser), so
//! the rules of stepping, stepping back and injecting are tested natively too.

use void_core::sim::{self, AnySim, EventView, Fault, InFlight, NodeView, Scenario};

/// Virtual microseconds that pass per real millisecond at speed 1×: one virtual
/// millisecond takes a tenth of a second, slow enough to follow single messages.
pub const VIRTUAL_US_PER_REAL_MS_AT_1X: f64 = 10.0;

/// Most queue items handled per animation tick, so a frame never stalls the page.
pub const MAX_STEPS_PER_TICK: u32 = 2_000;

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
        let mut run = Run { name, seed, base, custom, faults, sim, steps: 0, origin: 0 };
        run.boot();
        run.origin = run.steps;
        Ok(run)
    }

    /// The scenario as JSON when it is not a built-in one.
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

    pub fn nodes(&self) -> Vec<NodeView> {
        self.sim.nodes()
    }

    pub fn event(&self, index: u64) -> Option<EventView> {
        self.sim.event(index)
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

    /// Goes back one queue item by simulating again from the seed (deterministic).
    pub fn step_back(&mut self) -> Result<(), String> {
        let target = self.steps.saturating_sub(1).max(self.origin);
        self.rebuild_to_steps(target)
    }

    /// Restarts from the seed, keeping the user's faults.
    pub fn restart(&mut self) -> Result<(), String> {
        self.rebuild_to_steps(self.origin)
    }

    /// Queue items handled since the start.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// True at the first position of the run (nothing to step back to).
    pub fn at_origin(&self) -> bool {
        self.steps <= self.origin
    }

    fn rebuild_to_steps(&mut self, target: u64) -> Result<(), String> {
        self.sim = Self::build(&self.base, self.seed, &self.faults)?;
        self.steps = 0;
        while self.steps < target && self.step() {}
        Ok(())
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
    pub fn inject(&mut self, node: u32, fault: UserFault) -> Result<Fault, String> {
        self.room_for(1)?;
        let at_ms = next_instant_ms(self.now_us());
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
        self.add(fault)
    }

    fn add(&mut self, fault: Fault) -> Result<Fault, String> {
        self.sim.inject(fault.clone()).map_err(|e| e.to_string())?;
        self.faults.push(fault.clone());
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
        members.sort_unstable();
        members.dedup();
        if let Some(bad) = members.iter().find(|m| **m >= n) {
            return Err(format!("node {bad} does not exist (the run has {n} nodes)"));
        }
        if members.is_empty() || members.len() as u32 == n {
            return Err("a partition needs some nodes on each side: select some, not all".into());
        }
        self.room_for(1)?;
        let at_ms = next_instant_ms(self.now_us());
        let heal_ms = self.end_ms().max(at_ms);
        self.add(Fault::Partition { at_ms, heal_ms, groups: vec![members] })
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
        self.room_for(2)?;
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
        let fault = self.add(there)?;
        self.add(back)?;
        Ok(fault)
    }

    /// Every fault of the run, the scenario's own and the user's, in schedule order.
    fn all_faults(&self) -> impl Iterator<Item = &Fault> {
        self.base.faults.iter().chain(&self.faults)
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
        let mut healed = false;
        for fault in &mut self.faults {
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
        self.rebuild_to_steps(self.steps)?;
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
