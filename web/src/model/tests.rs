//! The model's rules, without a browser (they also run in the browser test build).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use void_core::sim::{self, Fault};
// In the browser build the same tests run under wasm-bindgen-test.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use super::*;

fn hash_of(name: &str, seed: u64, faults: &[Fault]) -> (u64, String) {
    let json = sim::load_builtin(name).unwrap();
    let mut scenario = sim::Scenario::from_json(json).unwrap();
    scenario.faults.extend(faults.iter().cloned());
    let mut s = sim::build(&scenario, seed, false).unwrap();
    s.run_to_end();
    (s.event_count(), s.trace_hash())
}

#[test]
fn running_to_the_end_gives_the_simulators_hash() {
    let mut run = Run::new("hlc-ping", 7, Vec::new()).unwrap();
    run.run_to_end();
    assert_eq!((run.event_count(), run.trace_hash()), hash_of("hlc-ping", 7, &[]));
}

#[test]
fn every_builtin_loads_and_steps() {
    for name in sim::builtin_names() {
        let mut run = Run::new(name, 3, Vec::new()).unwrap();
        assert!(run.step(), "{name}: the first step handles something");
        assert!(run.event_count() > 0, "{name}");
    }
}

#[test]
fn step_back_returns_to_the_previous_position_exactly() {
    let mut run = Run::new("hlc-ping", 5, Vec::new()).unwrap();
    for _ in 0..40 {
        run.step();
    }
    let (count, hash) = (run.event_count(), run.trace_hash());
    run.step();
    assert!(run.event_count() > count);
    run.step_back().unwrap();
    assert_eq!((run.event_count(), run.trace_hash()), (count, hash));
}

#[test]
fn step_back_at_the_start_stays_at_the_start() {
    let mut run = Run::new("hlc-ping", 5, Vec::new()).unwrap();
    let (start, hash) = (run.event_count(), run.trace_hash());
    assert!(run.at_origin());
    run.step_back().unwrap();
    assert_eq!((run.event_count(), run.trace_hash()), (start, hash));
}

#[test]
fn a_run_opens_with_every_node_booted() {
    let run = Run::new("hlc-ping", 5, Vec::new()).unwrap();
    assert_eq!(run.now_us(), 0);
    let nodes = run.nodes();
    assert_eq!(nodes.len(), 5);
    assert!(nodes.iter().all(|n| n.state == "up"), "{nodes:?}");
}

#[test]
fn unknown_scenario_is_named() {
    let err = Run::new("no-such", 1, Vec::new()).err().unwrap();
    assert!(err.contains("\"no-such\"") && err.contains("hlc-ping"), "{err}");
}

#[test]
fn injected_crash_downs_the_node_and_replays_from_the_permalink() {
    let mut model = Model::open(Ok(None));
    for _ in 0..30 {
        model.apply(Action::Step);
    }
    model.apply(Action::Inject { node: 2, fault: UserFault::Crash });
    assert_eq!(model.error, None);
    assert_eq!(model.view.nodes[2].state, "crashed");
    assert_eq!(model.view.faults.len(), 1);
    for _ in 0..50 {
        model.apply(Action::Step);
    }
    let link = model.view.permalink();
    let text = link.encode();
    let decoded = Permalink::decode(&format!("#{text}")).unwrap().unwrap();
    assert_eq!(decoded, link);
    let reopened = Model::open(Ok(Some(decoded)));
    assert_eq!(reopened.error, None);
    assert_eq!(reopened.view.events, model.view.events);
    assert_eq!(reopened.view.trace_hash, model.view.trace_hash);
    assert_eq!(reopened.view.nodes[2].state, "crashed");
}

#[test]
fn every_user_fault_kind_replays_identically_to_the_end() {
    let mut run = Run::new("hlc-ping", 11, Vec::new()).unwrap();
    for _ in 0..25 {
        run.step();
    }
    run.inject(1, UserFault::SkewClock(100)).unwrap();
    for _ in 0..25 {
        run.step();
    }
    run.inject(0, UserFault::Misbehave("ignore-remote".into())).unwrap();
    run.inject(4, UserFault::Crash).unwrap();
    for _ in 0..25 {
        run.step();
    }
    run.inject(4, UserFault::Restart).unwrap();
    run.run_to_end();
    let faults = run.faults().to_vec();
    assert_eq!(faults.len(), 4);
    assert_eq!((run.event_count(), run.trace_hash()), hash_of("hlc-ping", 11, &faults));
}

#[test]
fn an_empty_behaviour_is_refused_with_a_reason() {
    let mut run = Run::new("hlc-ping", 1, Vec::new()).unwrap();
    let err = run.inject(0, UserFault::Misbehave("  ".into())).unwrap_err();
    assert!(err.contains("behaviour"), "{err}");
    assert!(run.faults().is_empty());
}

#[test]
fn an_unknown_behaviour_is_refused_and_the_node_stays_honest() {
    let mut run = Run::new("pbft-normal", 1, Vec::new()).unwrap();
    assert!(run.behaviours().contains(&"equivocate"), "{:?}", run.behaviours());
    for _ in 0..10 {
        run.step();
    }
    let err = run.inject(1, UserFault::Misbehave("equivocat".into())).unwrap_err();
    assert!(err.contains("unknown behaviour") && err.contains("equivocate"), "{err}");
    assert!(run.faults().is_empty());
    run.run_to_end();
    assert!(run.nodes().iter().all(|n| n.behaviour.is_none() && n.state != "byzantine"));
}

#[test]
fn replicas_byzantine_from_the_parameters_are_drawn_byzantine() {
    // pbft-too-many-faults makes replica 0 and the highest replica collude, with no misbehave fault.
    let mut run = Run::new("pbft-too-many-faults", 1, Vec::new()).unwrap();
    run.step();
    let byzantine: Vec<(u32, Option<String>)> =
        run.nodes().into_iter().filter(|n| n.state == "byzantine").map(|n| (n.id, n.behaviour)).collect();
    assert_eq!(byzantine, vec![(0, Some("collude".into())), (3, Some("collude".into()))]);
    // An honest scenario draws nobody Byzantine.
    let mut honest = Run::new("pbft-normal", 1, Vec::new()).unwrap();
    honest.step();
    assert!(honest.nodes().iter().all(|n| n.state != "byzantine" && n.behaviour.is_none()));
}

#[test]
fn the_speed_keys_double_and_halve_within_the_range() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::SetSpeed(1.0));
    model.apply(Action::ScaleSpeed(2.0));
    assert_eq!(model.speed, 2.0);
    model.apply(Action::ScaleSpeed(0.5));
    model.apply(Action::ScaleSpeed(0.5));
    assert_eq!(model.speed, 0.5);
    for _ in 0..20 {
        model.apply(Action::ScaleSpeed(2.0));
    }
    assert_eq!(model.speed, MAX_SPEED);
    for _ in 0..20 {
        model.apply(Action::ScaleSpeed(0.5));
    }
    assert_eq!(model.speed, MIN_SPEED);
}

#[test]
fn the_help_opens_with_its_key_and_closes_with_escape() {
    let mut model = Model::open(Ok(None));
    assert!(!model.help_open);
    let before = model.clone();
    model.apply(Action::ToggleHelp);
    assert!(model.help_open);
    assert!(model != before, "the page redraws");
    model.apply(Action::ToggleHelp);
    assert!(!model.help_open);
    model.apply(Action::ToggleHelp);
    model.apply(Action::Menu(None));
    assert!(!model.help_open, "Escape closes it");
    model.apply(Action::Play);
    assert!(model.playing);
    model.apply(Action::ToggleHelp);
    assert!(model.help_open && !model.playing, "the run waits while the keys are read");
}

#[test]
fn a_new_run_closes_the_link_shared_for_the_old_one() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Notice(Some("http://x/#s=hlc-ping&seed=1&at=9".into())));
    assert!(model.notice.is_some());
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 2 });
    assert_eq!(model.notice, None);
}

#[test]
fn a_shared_link_remembers_the_event_it_opens_at() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Step);
    let at = model.view.events;
    model.apply(Action::Notice(Some(format!("http://x/#s=hlc-ping&seed=1&at={at}"))));
    assert_eq!(model.notice.as_ref().map(|n| n.1), Some(at));
    model.apply(Action::Step);
    assert!(model.view.events > at, "the run moved on");
    assert_eq!(model.notice.as_ref().map(|n| n.1), Some(at), "the link still names where it was shared");
}

#[test]
fn a_fault_for_a_missing_node_is_refused() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Inject { node: 99, fault: UserFault::Crash });
    let err = model.error.clone().unwrap();
    assert!(err.contains("node 99"), "{err}");
    assert!(model.view.faults.is_empty());
}

#[test]
fn next_instant_is_strictly_after_now() {
    for now in [0u64, 1, 999, 1_000, 123_456_789, 1_999_999_999] {
        let ms = run::next_instant_ms(now);
        assert!(sim::ms_to_us(ms) > now, "{now}");
        assert!(sim::ms_to_us(ms) <= now + 2, "{now}");
    }
}

#[test]
fn permalink_round_trips_with_and_without_faults() {
    let plain =
        Permalink { scenario: "clock-skew".into(), seed: u64::MAX, at: 17, faults: Vec::new(), custom: None };
    assert_eq!(plain.encode(), format!("s=clock-skew&seed={}&at=17", u64::MAX));
    assert_eq!(Permalink::decode(&plain.encode()).unwrap(), Some(plain));
    let faults = vec![
        Fault::Crash { at_ms: 12.345, node: 1 },
        Fault::Misbehave { at_ms: 0.001, node: 0, behaviour: "ignore-remote".into() },
        Fault::ClockJump { at_ms: 100.0, node: 2, by_ms: -100 },
    ];
    let link = Permalink { scenario: "hlc-ping".into(), seed: 7, at: 300, faults, custom: None };
    let text = link.encode();
    assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || "=&-_".contains(c)), "{text}");
    assert_eq!(Permalink::decode(&text).unwrap(), Some(link));
}

#[test]
fn bad_permalinks_say_what_is_wrong() {
    assert_eq!(Permalink::decode("").unwrap(), None);
    assert_eq!(Permalink::decode("#").unwrap(), None);
    let cases = [
        ("s=hlc-ping", "no seed"),
        ("seed=3", "no scenario"),
        ("s=hlc-ping&seed=x", "seed=\"x\""),
        ("s=hlc-ping&seed=1&at=-1", "at=\"-1\""),
        ("s=a/b&seed=1", "scenario name"),
        ("s=hlc-ping&seed=1&f=!!", "base64url"),
        ("s=hlc-ping&seed=1&f=e30", "fault list"),
        ("s=hlc-ping&seed=1&zoom=2", "\"zoom\" is unknown"),
        ("s=hlc-ping&seed", "not key=value"),
    ];
    for (text, wanted) in cases {
        let err = Permalink::decode(text).unwrap_err();
        assert!(err.contains(wanted), "{text}: {err}");
    }
    let huge = "a".repeat(MAX_FRAGMENT_BYTES + 1);
    assert!(Permalink::decode(&huge).unwrap_err().contains("bytes"));
}

#[test]
fn a_bad_link_opens_the_default_run_with_an_error() {
    let model = Model::open(Permalink::decode("s=nope&seed=1"));
    assert!(model.error.as_deref().unwrap_or("").contains("\"nope\""), "{:?}", model.error);
    assert_eq!(model.view.scenario, DEFAULT_SCENARIO);
    let model = Model::open(Permalink::decode(
        "s=hlc-ping&seed=1&f=W3sia2luZCI6ImNyYXNoIiwiYXRfbXMiOjEsIm5vZGUiOjQwfV0",
    ));
    assert!(model.error.as_deref().unwrap_or("").contains("node 40"), "{:?}", model.error);
}

#[test]
fn going_on_with_the_run_clears_a_refused_input_message() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Fail("seed \"12abc\" is not a whole number".into()));
    model.apply(Action::Pause);
    assert!(model.error.is_some(), "pausing keeps it");
    model.apply(Action::Step);
    assert_eq!(model.error, None, "a step goes on with the run");
    model.apply(Action::Fail("again".into()));
    model.apply(Action::TogglePlay);
    assert!(model.playing);
    assert_eq!(model.error, None, "so does playing");
}

#[test]
fn playing_advances_virtual_time_and_stops_at_the_end() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::SetSpeed(MAX_SPEED));
    model.apply(Action::Play);
    assert!(model.playing);
    let mut last = model.view.now_us;
    for _ in 0..10 {
        model.apply(Action::Tick { real_ms: 16.0 });
        assert!(model.view.now_us >= last);
        assert!(model.display_us >= model.view.now_us, "the simulation never runs ahead of the clock");
        last = model.view.now_us;
    }
    assert!(last > 0);
    // At 100× one real millisecond is 1 000 virtual µs: ten 16 ms frames make 160 ms.
    assert_eq!(model.display_us, 160_000);
    for _ in 0..10_000 {
        if !model.playing {
            break;
        }
        model.apply(Action::Tick { real_ms: 1_000.0 });
    }
    assert!(!model.playing && model.view.finished);
    assert_eq!((model.view.events, model.view.trace_hash.clone()), hash_of("hlc-ping", 1, &[]));
}

#[test]
fn a_tick_is_bounded_so_frames_stay_short() {
    // The small scenarios: the big ones take minutes in an unoptimised build.
    for name in ["hlc-ping", "clock-skew"] {
        let mut run = Run::new(name, 2, Vec::new()).unwrap();
        loop {
            let before = run.steps();
            let shown = run.advance(0, 1e12, MAX_SPEED);
            let handled = run.steps() - before;
            assert!(handled <= u64::from(MAX_STEPS_PER_TICK), "{name}: {handled}");
            if run.is_finished() {
                break;
            }
            assert_eq!(handled, u64::from(MAX_STEPS_PER_TICK), "{name}: only the cap stops a tick early");
            assert_eq!(shown, run.now_us(), "{name}: a capped tick waits for the simulation");
        }
    }
}

#[test]
fn speed_is_clamped() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::SetSpeed(1e9));
    assert_eq!(model.speed, MAX_SPEED);
    model.apply(Action::SetSpeed(0.0));
    assert_eq!(model.speed, MIN_SPEED);
    model.apply(Action::SetSpeed(f64::NAN));
    assert_eq!(model.speed, 1.0);
}

/// `clock-skew` with node 0 ignoring received stamps while clocks disagree: causality breaks.
fn causality_breaking() -> Model {
    Model::open(Ok(Some(Permalink {
        scenario: "clock-skew".into(),
        seed: 1,
        at: 0,
        faults: vec![Fault::Misbehave { at_ms: 0.0, node: 0, behaviour: "ignore-remote".into() }],
        custom: None,
    })))
}

#[test]
fn a_violation_stops_play_and_names_the_replay() {
    let mut model = causality_breaking();
    model.apply(Action::SetSpeed(MAX_SPEED));
    model.apply(Action::Play);
    for _ in 0..10_000 {
        if !model.playing {
            break;
        }
        model.apply(Action::Tick { real_ms: 1_000.0 });
    }
    let violation = model.view.violation.clone().expect("a violation");
    assert!(!violation.invariant.is_empty());
    assert!(!model.playing);
    assert_eq!(model.view.replay_command(), "void sim clock-skew --seed 1");
}

fn settle(model: &mut Model) {
    for _ in 0..10_000 {
        if model.seeking.is_none() {
            return;
        }
        model.apply(Action::SeekSlice);
    }
    panic!("the seek did not arrive");
}

#[test]
fn a_violation_left_behind_is_offered_until_a_fault_changes_the_future() {
    let mut model = causality_breaking();
    assert_eq!(model.violation_ahead, None);
    model.apply(Action::Seek(u64::MAX));
    settle(&mut model);
    let violation = model.view.violation.clone().expect("a violation");
    let stop = model.view.events;
    let ahead = model.violation_ahead.clone().expect("remembered");
    assert_eq!((ahead.events, ahead.step), (stop, violation.step));
    assert_eq!(&*ahead.invariant, violation.invariant.as_str());

    // Back before it: the panel shows no violation now, but the one ahead stays known.
    model.apply(Action::Seek(stop / 2));
    settle(&mut model);
    assert_eq!(model.view.violation, None);
    assert!(model.view.events < stop);
    assert_eq!(model.violation_ahead.as_ref().map(|a| a.events), Some(stop));

    // Going to it arrives exactly where the run stopped.
    model.apply(Action::Seek(ahead.events));
    settle(&mut model);
    assert_eq!(model.view.events, stop);
    assert_eq!(model.view.violation.as_ref().map(|v| v.step), Some(violation.step));

    // A fault added before it forks the run: that violation is no longer ahead.
    model.apply(Action::Seek(stop / 2));
    settle(&mut model);
    model.apply(Action::Inject { node: 1, fault: UserFault::Crash });
    settle(&mut model);
    assert_eq!(model.violation_ahead, None);

    // Loading another run forgets it too.
    model.apply(Action::Seek(u64::MAX));
    settle(&mut model);
    if model.view.violation.is_some() {
        assert!(model.violation_ahead.is_some());
    }
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 1 });
    assert_eq!(model.violation_ahead, None);
}

#[test]
fn the_snapshot_holds_the_messages_in_flight_capped_for_drawing() {
    let mut model = Model::open(Ok(Some(Permalink {
        scenario: "pbft-normal".into(),
        seed: 1,
        at: 30,
        faults: Vec::new(),
        custom: None,
    })));
    let run = model.run.borrow().in_flight();
    assert!(!run.is_empty(), "PBFT has messages in flight after 30 events");
    assert_eq!(model.view.in_flight, run);
    assert_eq!(model.view.in_flight_total, run.len());
    // Playing: between two frames the clock moves on, the simulation only up to it.
    model.apply(Action::Play);
    for _ in 0..20 {
        model.apply(Action::Tick { real_ms: 16.0 });
        let next = model.run.borrow().next_time();
        assert!(next.is_none_or(|t| t > model.display_us), "{next:?} is still ahead of {}", model.display_us);
        for m in &model.view.in_flight {
            assert!(m.sent_at <= model.display_us && model.display_us < m.deliver_at, "{m:?}");
        }
    }
}

#[test]
fn a_crowded_network_is_drawn_in_part_and_counted_in_full() {
    let all: Vec<InFlight> = (0..1_000)
        .map(|i| InFlight { id: i, from: 0, to: 1, sent_at: i, deliver_at: i + 10, kind: "Gossip" })
        .collect();
    let (drawn, total) = drawn_in_flight(all.clone(), 5);
    assert_eq!(total, 1_000);
    assert_eq!(drawn[..], all[..MAX_DRAWN_MESSAGES], "the soonest to arrive");
    let (drawn, total) = drawn_in_flight(all[..7].to_vec(), 5);
    assert_eq!((drawn.len(), total), (7, 7));
    // A canvas draws every one of them, up to its own, higher cap.
    let (drawn, total) = drawn_in_flight(all.clone(), CANVAS_ABOVE_NODES + 1);
    assert_eq!((drawn.len(), total), (1_000, 1_000));
    let many: Vec<InFlight> = (0..MAX_CANVAS_MESSAGES as u64 + 10)
        .map(|i| InFlight { id: i, from: 0, to: 1, sent_at: i, deliver_at: i + 10, kind: "Gossip" })
        .collect();
    let (drawn, total) = drawn_in_flight(many, 1_000);
    assert_eq!((drawn.len(), total), (MAX_CANVAS_MESSAGES, MAX_CANVAS_MESSAGES + 10));
    assert!(!canvas_mode(CANVAS_ABOVE_NODES) && canvas_mode(CANVAS_ABOVE_NODES + 1));
}

/// Drops by `reason` between `a` and `b` (either way) among events `from..` of `run`.
fn drops_between(run: &Run, from: u64, a: u32, b: u32, reason: sim::DropReason) -> usize {
    (from..run.event_count())
        .filter_map(|i| run.event(i))
        .filter(|e| e.dropped == Some(reason))
        .filter(|e| (e.node, e.to) == (a, Some(b)) || (e.node, e.to) == (b, Some(a)))
        .count()
}

#[test]
fn the_built_in_partition_scenario_shows_its_sides_while_split() {
    // plumtree-partition splits its 100 nodes in two halves from 6 s to 9 s; the split is
    // planned from its parameters, not listed among its faults.
    let mut run = Run::new("plumtree-partition", 1, Vec::new()).unwrap();
    run.seek_now(Target::Time(5_900_000)).unwrap();
    assert!(run.sides().is_empty(), "not split yet");
    run.seek_now(Target::Time(6_500_000)).unwrap();
    let sides = run.sides();
    assert_eq!(sides.len(), 100);
    assert_eq!(sides.iter().filter(|s| **s == 0).count(), 50);
    assert_eq!(sides.iter().filter(|s| **s == 1).count(), 50);
    assert_eq!(run.active_network_faults(), 0, "nothing of the user's to heal");
    run.seek_now(Target::Time(9_100_000)).unwrap();
    assert!(run.sides().is_empty(), "healed");
}

#[test]
fn a_lassoed_partition_holds_until_healed_and_healing_keeps_the_past() {
    let mut run = Run::new("hlc-ping", 3, Vec::new()).unwrap();
    for _ in 0..30 {
        run.step();
    }
    assert!(run.sides().is_empty());
    let fault = run.partition(&[1, 0, 1]).unwrap();
    while run.now_us() < fault.at_us() && run.step() {}
    assert_eq!(run.sides(), vec![0, 0, 1, 1, 1]);
    assert_eq!(run.active_network_faults(), 1);
    assert!(run.nodes().iter().all(|n| n.state == "partitioned"));
    let split = run.event_count();
    for _ in 0..400 {
        run.step();
    }
    assert!(drops_between(&run, split, 0, 3, sim::DropReason::Partition) > 0, "the sides cannot talk");
    // Healing rewrites the end and simulates again: the same position, the same past.
    let (steps, count, hash) = (run.steps(), run.event_count(), run.trace_hash());
    let heal_at = run.heal().unwrap().unwrap();
    assert_eq!((run.steps(), run.event_count(), run.trace_hash()), (steps, count, hash));
    while run.now_us() < heal_at && run.step() {}
    assert!(run.sides().is_empty());
    assert_eq!(run.active_network_faults(), 0);
    let healed = run.event_count();
    for _ in 0..400 {
        run.step();
    }
    assert_eq!(drops_between(&run, healed, 0, 3, sim::DropReason::Partition), 0);
    assert_eq!(run.heal().unwrap(), None, "nothing left to heal");
    // The healed schedule replays to the same run from scratch.
    run.run_to_end();
    let faults = run.faults().to_vec();
    assert_eq!((run.event_count(), run.trace_hash()), hash_of("hlc-ping", 3, &faults));
}

#[test]
fn a_broken_link_acts_both_ways_and_only_there() {
    let mut run = Run::new("hlc-ping", 4, Vec::new()).unwrap();
    for _ in 0..20 {
        run.step();
    }
    let fault = run.break_link(0, 2, LinkFault::Cut).unwrap();
    while run.now_us() < fault.at_us() && run.step() {}
    assert_eq!(run.broken_links(), vec![(0, 2, true, "cut".to_owned())]);
    assert_eq!(run.faults().len(), 2);
    let from = run.event_count();
    for _ in 0..600 {
        run.step();
    }
    let cut = sim::DropReason::LinkFault;
    assert!(drops_between(&run, from, 0, 2, cut) > 0);
    assert_eq!(drops_between(&run, from, 0, 1, cut) + drops_between(&run, from, 1, 2, cut), 0);
    let delay = run.break_link(3, 4, LinkFault::Delay(20.0)).unwrap();
    while run.now_us() < delay.at_us() && run.step() {}
    assert_eq!(run.broken_links()[1], (3, 4, true, "+20 ms".to_owned()));
    let healed = run.heal().unwrap().unwrap();
    while run.now_us() < healed && run.step() {}
    assert!(run.broken_links().is_empty());
}

#[test]
fn bad_partitions_and_links_are_refused_with_a_reason() {
    let mut run = Run::new("hlc-ping", 1, Vec::new()).unwrap();
    let cases = [
        (run.partition(&[]).unwrap_err(), "select some"),
        (run.partition(&[0, 1, 2, 3, 4]).unwrap_err(), "not all"),
        (run.partition(&[1, 9]).unwrap_err(), "node 9"),
        (run.break_link(2, 2, LinkFault::Cut).unwrap_err(), "two different nodes"),
        (run.break_link(0, 5, LinkFault::Cut).unwrap_err(), "0–5"),
    ];
    for (err, says) in cases {
        assert!(err.contains(says), "{err:?} should say {says:?}");
    }
    assert!(run.faults().is_empty());
}

#[test]
fn partition_link_and_heal_travel_in_the_permalink() {
    let mut model = Model::open(Ok(None));
    for _ in 0..20 {
        model.apply(Action::Step);
    }
    model.apply(Action::Partition(vec![4]));
    assert_eq!(model.view.sides, vec![0, 0, 0, 0, 1]);
    model.apply(Action::LinkMenu(Some((0, 1, 10, 10))));
    assert_eq!(model.link_menu, Some((0, 1, 10, 10)));
    model.apply(Action::BreakLink { a: 0, b: 1, fault: LinkFault::Lossy(0.3) });
    assert_eq!(model.link_menu, None);
    assert_eq!(model.view.network_faults, 3);
    for _ in 0..50 {
        model.apply(Action::Step);
    }
    model.apply(Action::Heal);
    assert_eq!(model.error, None);
    assert_eq!(model.view.network_faults, 0);
    assert!(model.view.sides.is_empty() && model.view.broken_links.is_empty());
    for _ in 0..20 {
        model.apply(Action::Step);
    }
    let reopened = Model::open(Ok(Some(model.view.permalink())));
    assert_eq!(reopened.error, None);
    assert_eq!(reopened.view.trace_hash, model.view.trace_hash);
    model.apply(Action::Partition(vec![0, 1, 2, 3, 4]));
    assert!(model.error.as_deref().is_some_and(|e| e.starts_with("partition:")), "{:?}", model.error);
}

#[test]
fn an_edited_scenario_runs_and_travels_whole_in_the_link() {
    let mut model = Model::open(Ok(None));
    let mut doc: serde_json::Value = serde_json::from_str(&model.scenario_text).unwrap();
    doc["duration_ms"] = 600.into();
    doc["name"] = "my ping (short)".into();
    // The built-in crash at 700 ms would never happen in a 600 ms run: refused, named.
    model.apply(Action::LoadJson { text: doc.to_string(), seed: 4 });
    let err = model.scenario_error.clone().unwrap_or_default();
    assert!(err.contains("faults[0].at_ms") && err.contains("after the run ends"), "{err}");
    doc["faults"] = serde_json::json!([]);
    model.apply(Action::LoadJson { text: doc.to_string(), seed: 4 });
    assert_eq!(model.scenario_error, None);
    assert_eq!(model.view.duration_us, 600_000);
    assert!(model.scenario_text.contains("\"duration_ms\": 600"), "the editor shows what runs");
    assert_eq!(model.view.replay_command(), "void sim my-ping--short-.json --seed 4");
    for _ in 0..30 {
        model.apply(Action::Step);
    }
    model.apply(Action::Inject { node: 1, fault: UserFault::Crash });
    let text = model.view.permalink().encode();
    assert!(text.starts_with("s=my-ping--short-&seed=4&") && text.contains("&j="), "{text}");
    let link = Permalink::decode(&text).unwrap().unwrap();
    let reopened = Model::open(Ok(Some(link)));
    assert_eq!(reopened.error, None);
    assert_eq!(reopened.view.duration_us, 600_000);
    assert_eq!(reopened.view.trace_hash, model.view.trace_hash);
    assert_eq!(reopened.view.nodes[1].state, "crashed");
    // Loading a built-in scenario again leaves the custom one behind.
    model.apply(Action::Load { scenario: "hlc-ping".into(), seed: 4 });
    assert!(!model.view.permalink().encode().contains("&j="));
}

#[test]
fn a_refused_scenario_is_explained_and_the_run_stays() {
    let mut model = Model::open(Ok(None));
    let hash = model.view.trace_hash.clone();
    model.apply(Action::LoadJson { text: "{\"name\": \"x\",".into(), seed: 1 });
    let err = model.scenario_error.clone().expect("refused");
    assert!(err.contains("line 1"), "a syntax error names its place: {err}");
    let mut doc: serde_json::Value = serde_json::from_str(&model.scenario_text).unwrap();
    doc["nodes"] = 0.into();
    model.apply(Action::LoadJson { text: doc.to_string(), seed: 1 });
    let err = model.scenario_error.clone().expect("refused");
    assert!(err.contains("nodes"), "a bad field is named: {err}");
    doc["nodes"] = 5.into();
    doc["protocol"] = "raft".into();
    model.apply(Action::LoadJson { text: doc.to_string(), seed: 1 });
    let err = model.scenario_error.clone().expect("refused");
    assert!(err.contains("raft"), "{err}");
    assert_eq!(model.view.trace_hash, hash, "the running scenario is untouched");
    assert_eq!(model.error, None, "editor errors stay in the editor");
    // A link whose scenario JSON is broken is refused with the field named.
    let bad = format!("s=x&seed=1&j={}", URL_SAFE_NO_PAD.encode("{\"name\":1}"));
    let opened = Model::open(Permalink::decode(&bad));
    assert!(opened.error.as_deref().is_some_and(|e| e.contains("name")), "{:?}", opened.error);
}

/// Applies slices until the seek in progress arrives; returns how many it took.
fn finish_seek(model: &mut Model) -> u32 {
    let mut slices = 0;
    while model.seeking.is_some() {
        model.apply(Action::SeekSlice);
        slices += 1;
        assert!(slices < 100_000, "a seek always arrives");
    }
    slices
}

#[test]
fn scrubbing_to_an_event_equals_stepping_to_it() {
    let mut model = Model::open(Ok(Some(Permalink {
        scenario: "pbft-normal".into(),
        seed: 2,
        at: 0,
        faults: vec![],
        custom: None,
    })));
    let mut seen = vec![(model.view.events, model.view.trace_hash.clone())];
    for _ in 0..120 {
        model.apply(Action::Step);
        seen.push((model.view.events, model.view.trace_hash.clone()));
    }
    assert_eq!(model.high_water, seen.last().unwrap().0);
    // Backwards, forwards, and to the same place.
    for j in [60usize, 3, 100, 100, 0, 120, 1] {
        let (events, hash) = seen[j].clone();
        model.apply(Action::Seek(events));
        finish_seek(&mut model);
        assert_eq!((model.view.events, model.view.trace_hash.clone()), (events, hash), "step {j}");
        assert_eq!(model.high_water, seen.last().unwrap().0, "going back keeps the scrubber's end");
    }
    // An event inside a step lands on the step's end, as a permalink's `at` does.
    let inside = seen.windows(2).find(|w| w[1].0 > w[0].0 + 1).map(|w| (w[0].0 + 1, w[1].clone()));
    if let Some((k, (events, hash))) = inside {
        model.apply(Action::Seek(k));
        finish_seek(&mut model);
        assert_eq!((model.view.events, model.view.trace_hash.clone()), (events, hash));
    }
}

#[test]
fn a_long_seek_goes_in_slices_and_arrives_at_the_same_place() {
    let target_steps = 3 * u64::from(SEEK_STEPS_PER_SLICE) + 7;
    let mut reference = Run::new("plumtree", 3, Vec::new()).unwrap();
    while reference.steps() < target_steps && reference.step() {}
    assert_eq!(reference.steps(), target_steps, "plumtree runs that long");
    let target = reference.event_count();

    let mut model = Model::open(Ok(Some(Permalink {
        scenario: "plumtree".into(),
        seed: 3,
        at: target,
        faults: vec![],
        custom: None,
    })));
    model.apply(Action::Seek(2));
    assert!(model.seeking.is_none(), "a short seek back is over at once");
    let shown = model.view.clone();
    model.apply(Action::Seek(target));
    assert_eq!(model.seeking, Some(Target::Event(target)), "a long one goes on");
    model.apply(Action::SeekSlice);
    assert!(model.seeking.is_some());
    assert_eq!(model.view, shown, "the picture waits for the seek instead of flashing the states on the way");
    let slices = finish_seek(&mut model);
    assert!(slices >= 1, "{slices} more slices");
    assert_eq!((model.view.events, model.view.trace_hash.clone()), (target, reference.trace_hash()));
    // Ticks wait while a seek runs; a step cancels it.
    model.apply(Action::Seek(1));
    model.apply(Action::Seek(target));
    model.apply(Action::Play);
    let at = model.view.events;
    model.apply(Action::Tick { real_ms: 16.0 });
    assert_eq!(model.view.events, at);
    model.apply(Action::Step);
    assert_eq!(model.seeking, None);
}

#[test]
fn a_fault_after_scrubbing_back_forks_the_run_and_the_permalink_keeps_the_fork() {
    let mut model = Model::open(Ok(None));
    for _ in 0..30 {
        model.apply(Action::Step);
    }
    let before_crash = model.view.events;
    model.apply(Action::Inject { node: 2, fault: UserFault::Crash });
    for _ in 0..60 {
        model.apply(Action::Step);
    }
    let old_future = model.view.trace_hash.clone();
    assert!(model.high_water > before_crash);

    // Back before the crash: replaying forward still holds it (same schedule).
    model.apply(Action::Seek(before_crash - 5));
    finish_seek(&mut model);
    assert_eq!(model.view.nodes[2].state, "up");
    assert_eq!(model.view.faults.len(), 1);

    // A new fault here forks: the crash ahead belonged to the future being left.
    model.apply(Action::Inject { node: 1, fault: UserFault::SkewClock(50) });
    finish_seek(&mut model);
    assert_eq!(model.error, None);
    assert_eq!(model.view.faults.len(), 1);
    assert!(
        matches!(model.view.faults[0], Fault::ClockJump { node: 1, by_ms: 50, .. }),
        "{:?}",
        model.view.faults
    );
    assert_eq!(model.high_water, model.view.events, "the scrubber ends where the fork starts");
    for _ in 0..60 {
        model.apply(Action::Step);
    }
    assert_eq!(model.view.nodes[2].state, "up", "no crash in this branch");
    assert_ne!(model.view.trace_hash, old_future);

    let link = Permalink::decode(&model.view.permalink().encode()).unwrap().unwrap();
    let reopened = Model::open(Ok(Some(link)));
    assert_eq!(reopened.error, None);
    assert_eq!(
        (reopened.view.events, reopened.view.trace_hash.clone()),
        (model.view.events, model.view.trace_hash.clone())
    );
}

#[test]
fn the_metrics_count_what_the_trace_holds() {
    let mut model = Model::open(Ok(Some(Permalink {
        scenario: "pbft-byzantine".into(),
        seed: 1,
        at: 3_000,
        faults: vec![],
        custom: None,
    })));
    assert!(model.view.metrics.is_none(), "nothing is computed while the drawer is closed");
    model.apply(Action::ToggleMetrics);
    let m = model.view.metrics.clone().unwrap();

    let scenario = sim::Scenario::from_json(sim::load_builtin("pbft-byzantine").unwrap()).unwrap();
    let mut s = sim::build(&scenario, 1, true).unwrap();
    s.run_events(3_000);
    assert_eq!(s.event_count(), model.view.events);
    let mut delivered: BTreeMap<String, u64> = BTreeMap::new();
    let mut dropped: BTreeMap<String, u64> = BTreeMap::new();
    let (mut rejected, mut executed, mut completed) = (0, 0, 0);
    for i in 0..s.event_count() {
        let e = s.event(i).unwrap();
        match e.category.as_str() {
            "deliver" => *delivered.entry(e.kind.clone()).or_default() += 1,
            "drop" => *dropped.entry(e.kind.clone()).or_default() += 1,
            _ => {}
        }
        rejected += u64::from(e.rejected.is_some());
        executed += u64::from(e.category == "observe" && e.kind == "Executed");
        completed += u64::from(e.category == "observe" && e.kind == "Completed");
    }
    let t = &m.tally;
    assert_eq!(t.upto, s.event_count());
    for (kind, c) in &t.by_kind {
        assert_eq!(c.delivered, delivered.get(kind).copied().unwrap_or(0), "{kind}");
        assert_eq!(c.dropped, dropped.get(kind).copied().unwrap_or(0), "{kind}");
    }
    assert_eq!(t.by_kind.iter().map(|(_, c)| c.delivered).sum::<u64>(), delivered.values().sum::<u64>());
    assert_eq!(t.by_kind.iter().map(|(_, c)| c.dropped).sum::<u64>(), dropped.values().sum::<u64>());
    assert_eq!(t.rejected.iter().map(|(_, n)| n).sum::<u64>(), rejected);
    assert!(rejected > 0, "the Byzantine replica's messages are rejected");
    assert_eq!(t.series.iter().map(|b| b.1).sum::<u64>(), executed);
    assert_eq!(t.series.iter().map(|b| b.0).sum::<u64>(), delivered.values().sum::<u64>());
    // Latencies pair each request with its answer, as the core's own metric does.
    assert_eq!(t.latencies_us.len() as f64, s.outcome().metrics["requests_completed"]);
    assert!(t.latencies_us.len() as u64 <= completed);
    assert_eq!(m.protocol, s.outcome().metrics);

    // Going back counts again from the start.
    model.apply(Action::Seek(500));
    finish_seek(&mut model);
    assert_eq!(model.view.metrics.as_ref().unwrap().tally.upto, model.view.events);
}

#[test]
fn the_exported_trace_is_the_command_lines_and_reads_back_to_the_hash() {
    let model = Model::open(Ok(Some(Permalink {
        scenario: "plumtree".into(),
        seed: 5,
        at: 2_000,
        faults: vec![],
        custom: None,
    })));
    let text = model.export(Export::TraceJsonl);
    let scenario = sim::Scenario::from_json(sim::load_builtin("plumtree").unwrap()).unwrap();
    let mut s = sim::build(&scenario, 5, true).unwrap();
    s.run_events(2_000);
    assert_eq!(text, sim::trace_jsonl(&*s));
    assert_eq!(
        sim::rehash_trace("gossip", &text).unwrap(),
        (model.view.events, model.view.trace_hash.clone())
    );
    let log = model.export(Export::ShiViz);
    assert_eq!(log.lines().count() as u64, 2 + 2 * model.view.events);
}

#[test]
fn an_imported_trace_is_compared_and_replayed_to_its_end() {
    let mut source = Model::open(Ok(Some(Permalink {
        scenario: "hlc-ping".into(),
        seed: 6,
        at: 400,
        faults: vec![],
        custom: None,
    })));
    let text: Rc<str> = Rc::from(source.export(Export::TraceJsonl));
    let (events, hash) = (source.view.events, source.view.trace_hash.clone());

    // From the start of the same run: it goes to the trace's end and shows its hash.
    let mut model = Model::open(Ok(Some(Permalink {
        scenario: "hlc-ping".into(),
        seed: 6,
        at: 0,
        faults: vec![],
        custom: None,
    })));
    model.apply(Action::Import { name: "t.jsonl".into(), text: text.clone() });
    finish_seek(&mut model);
    let imported = model.imported.clone().unwrap();
    assert_eq!((model.view.events, imported.events, imported.agree), (events, events, events));
    assert_eq!(imported.hash.as_deref(), Some(hash.as_str()));

    // Another seed differs early, and says where.
    let mut other = Model::open(Ok(Some(Permalink {
        scenario: "hlc-ping".into(),
        seed: 7,
        at: 400,
        faults: vec![],
        custom: None,
    })));
    let before = other.view.events;
    other.apply(Action::Import { name: "t.jsonl".into(), text: text.clone() });
    let imported = other.imported.clone().unwrap();
    assert!(imported.agree < imported.compared && imported.hash.is_none(), "{imported:?}");
    assert_eq!(other.view.events, before, "a differing trace does not move the run");

    // Not a trace: a clear error, nothing imported.
    source.apply(Action::Import {
        name: "x.txt".into(),
        text: Rc::from("{\"index\":0,\"kind\":\"Start\"}\nnot json\n"),
    });
    assert!(source.error.as_deref().unwrap_or("").contains("x.txt, line 2: not JSON"), "{:?}", source.error);
    assert!(source.imported.is_none());
    source.apply(Action::Import { name: "y".into(), text: Rc::from("{\"index\":3,\"kind\":\"Start\"}\n") });
    assert!(source.error.as_deref().unwrap_or("").contains("line 1: not event 0"), "{:?}", source.error);
}

#[test]
fn files_imported_together_are_told_apart_by_format() {
    let mut model = Model::open(Ok(Some(Permalink {
        scenario: "hlc-ping".into(),
        seed: 6,
        at: 0,
        faults: vec![],
        custom: None,
    })));
    let node = |n: u32| -> (String, Rc<str>) {
        let line = format!(
            "{{\"index\":0,\"time\":{n},\"node\":{n},\"category\":\"observe\",\"kind\":\"Prepared\",\"text\":\"\"}}"
        );
        ("trace.jsonl".into(), Rc::from(line))
    };
    // A simulator trace alone is compared with the run, as before.
    let mut source = model.clone();
    source.apply(Action::Play);
    source.apply(Action::Tick { real_ms: 200.0 });
    let sim: Rc<str> = Rc::from(source.export(Export::TraceJsonl));
    model.apply(Action::ImportFiles(vec![("t.jsonl".into(), sim.clone())]));
    finish_seek(&mut model);
    assert!(model.imported.as_ref().is_some_and(|i| i.matches()), "{:?}", model.imported);
    assert!(model.recording.is_none());

    // Native traces, several at once, open a recording; the run waits, paused.
    model.apply(Action::Play);
    model.apply(Action::ImportFiles((0..4).map(node).collect()));
    let recording = model.recording.clone().expect("a recording");
    assert_eq!((recording.nodes.clone(), recording.len()), (vec![0, 1, 2, 3], 4));
    assert!(!model.playing && model.error.is_none());
    model.apply(Action::CloseRecording);
    assert!(model.recording.is_none());

    // A simulator trace among native ones, or a file of neither: a clear error.
    model.apply(Action::ImportFiles(vec![node(0), ("sim.jsonl".into(), sim)]));
    assert!(
        model.error.as_deref().unwrap_or("").starts_with("sim.jsonl is a simulator trace"),
        "{:?}",
        model.error
    );
    model.apply(Action::ImportFiles(vec![node(0), ("odd.json".into(), Rc::from("[1, 2]"))]));
    assert!(
        model.error.as_deref().unwrap_or("").starts_with("odd.json, line 1: unknown format"),
        "{:?}",
        model.error
    );
    assert!(model.recording.is_none());
}

#[test]
fn a_run_offers_its_scheduled_moments_in_time_order() {
    let run = Run::new("plumtree-partition", 1, Vec::new()).unwrap();
    let moments: Vec<(u64, String)> = run.moments();
    assert_eq!(
        moments,
        vec![
            (3_000_000, "broadcasts start".to_owned()),
            (6_000_000, "partition".to_owned()),
            (9_000_000, "partition heals".to_owned())
        ]
    );
    let crash = Run::new("pbft-primary-crash", 1, Vec::new()).unwrap().moments();
    assert_eq!(crash, vec![(300_000, "crash N0".to_owned()), (2_000_000, "restart N0".to_owned())]);
}

#[test]
fn next_milestone_stops_at_each_view_change_state_transfer_or_fault() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Load { scenario: "pbft-primary-crash".into(), seed: 3 });
    let mut kinds: Vec<String> = Vec::new();
    for _ in 0..8 {
        let before = model.view.events;
        model.apply(Action::NextMilestone);
        if model.error.is_some() || model.view.finished || model.view.violation.is_some() {
            break;
        }
        let run = model.run.borrow();
        let found: Vec<String> = (before..model.view.events)
            .filter_map(|i| run.event_brief(i))
            .filter(run::is_milestone)
            .map(|e| e.kind.to_owned())
            .collect();
        assert!(!found.is_empty(), "stopped at event {} with nothing to show", model.view.events);
        // It stops at the first one: the step that made it is the last one taken.
        kinds.extend(found);
    }
    assert!(kinds.iter().any(|k| k == "Crash"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "ViewChange"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "NewView"), "{kinds:?}");
}

#[test]
fn next_milestone_goes_past_the_other_replicas_starting_the_same_view_change() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Load { scenario: "pbft-primary-crash".into(), seed: 3 });
    let mut stops: Vec<Option<String>> = Vec::new();
    for _ in 0..6 {
        model.apply(Action::NextMilestone);
        if model.error.is_some() || model.view.finished {
            break;
        }
        stops.push(model.milestone.as_ref().map(|(_, kind)| kind.clone()));
    }
    // Three backups start view change 1 within moments; one stop, then on to the new view.
    let at =
        stops.iter().position(|k| k.as_deref() == Some("ViewChange")).unwrap_or_else(|| panic!("{stops:?}"));
    assert_ne!(stops.get(at + 1), Some(&Some("ViewChange".to_owned())), "{stops:?}");
    assert!(stops.iter().any(|k| k.as_deref() == Some("NewView")), "{stops:?}");
}

#[test]
fn next_milestone_says_when_the_run_ends_without_one() {
    let mut model = Model::open(Ok(None));
    // No fault and no view change: after its state transfers, the run just ends.
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 1 });
    for _ in 0..20 {
        model.apply(Action::NextMilestone);
        if model.view.finished {
            break;
        }
        // Stopped at a state transfer, or at the end of its reach.
        if let Some(error) = &model.error {
            assert!(error.starts_with("no view change, state transfer or fault in the next"), "{error}");
        }
    }
    assert!(model.view.finished);
    let error = model.error.clone().unwrap_or_default();
    assert!(error.starts_with("the run ended at event #"), "{error}");
    assert!(error.contains(&format!("#{}", model.view.events)), "{error}");
}

#[test]
fn requests_left_waiting_by_an_equivocating_primary_are_counted() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Load { scenario: "pbft-byzantine".into(), seed: 3 });
    // The primary turns to equivocation at 700 ms: requests wait until the view change.
    model.apply(Action::SeekTime(700_000));
    while model.seeking.is_some() {
        model.apply(Action::SeekSlice);
    }
    for _ in 0..200 {
        model.apply(Action::Step);
    }
    let (count, oldest) = model.view.waiting.expect("requests are outstanding");
    assert!(count > 0);
    // Long enough for the panel to say so (it does from 250 ms).
    assert!(model.view.now_us - oldest >= 250_000, "waited {} us", model.view.now_us - oldest);
    // Run on: the view change answers them.
    model.apply(Action::NextMilestone);
    while !model.view.finished && model.view.violation.is_none() {
        model.apply(Action::Step);
    }
    assert!(model.view.finished);
}

#[test]
fn gossip_runs_start_faster_until_the_user_sets_a_speed() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 1 });
    assert_eq!(model.speed, 1.0);
    model.apply(Action::Load { scenario: "plumtree".into(), seed: 1 });
    assert_eq!(model.speed, 10.0, "joining takes minutes at 1×");
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 1 });
    assert_eq!(model.speed, 1.0);
    // A speed the user chose stays, whatever runs next.
    model.apply(Action::SetSpeed(2.0));
    model.apply(Action::Load { scenario: "plumtree".into(), seed: 1 });
    assert_eq!(model.speed, 2.0);
}

#[test]
fn faults_planned_by_params_are_named_for_the_editor() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Load { scenario: "plumtree-partition".into(), seed: 1 });
    assert_eq!(&*model.planned, ["partition at 6000 ms", "partition heals at 9000 ms"]);
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 1 });
    assert!(model.planned.is_empty());
}

#[test]
fn a_run_shown_at_its_end_links_to_its_end_with_the_end_of_run_verdict() {
    // Replicas that never reply: liveness is decided only once the run is over.
    let mut doc: serde_json::Value =
        serde_json::from_str(void_core::sim::load_builtin("pbft-normal").unwrap()).unwrap();
    doc["params"]["bug"] = "no-replies".into();
    let mut model = Model::open(Ok(None));
    model.apply(Action::LoadJson { text: doc.to_string(), seed: 2 });
    while !model.view.finished {
        model.apply(Action::NextMilestone);
    }
    let violation = model.view.violation.clone().expect("liveness fails at the end");
    assert!(violation.step >= model.view.events, "decided after the last event: {violation:?}");
    let text = model.view.permalink().encode();
    assert!(text.contains("&at=end"), "{text}");
    let reopened = Model::open(Permalink::decode(&text).map(Option::unwrap).map(Some));
    assert!(reopened.view.finished);
    assert_eq!(reopened.view.violation.as_ref().map(|v| v.invariant.clone()), Some(violation.invariant));
    assert_eq!(reopened.view.trace_hash, model.view.trace_hash);
    // Before the end, the link names the event shown.
    let mut model = Model::open(Ok(None));
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 1 });
    model.apply(Action::Step);
    let text = model.view.permalink().encode();
    assert!(text.contains(&format!("&at={}", model.view.events)), "{text}");
}

#[test]
fn the_scenario_saved_with_the_added_faults_runs_the_same_in_void_sim() {
    let mut model = Model::open(Ok(None));
    model.apply(Action::Load { scenario: "pbft-normal".into(), seed: 4 });
    for _ in 0..40 {
        model.apply(Action::Step);
    }
    model.apply(Action::Inject { node: 1, fault: UserFault::Crash });
    assert_eq!(model.error, None);
    while !model.view.finished {
        model.apply(Action::NextMilestone);
    }
    let text = model.export(Export::Scenario);
    let scenario = void_core::sim::Scenario::from_json(&text).expect("the saved scenario parses");
    assert_eq!(scenario.faults.len(), 1, "{text}");
    // What `void sim FILE --seed 4` runs.
    let mut sim = void_core::sim::build(&scenario, 4, false).unwrap();
    sim.run_to_end();
    assert_eq!(sim.trace_hash(), model.view.trace_hash);
}

#[test]
fn a_scenario_of_its_own_is_marked_custom_and_an_edited_built_in_edited() {
    let mut model = Model::open(Ok(None));
    let text = void_core::sim::load_builtin("hlc-ping").unwrap();
    model.apply(Action::LoadJson { text: text.into(), seed: 1 });
    assert_eq!(model.view.custom_mark(), " (edited)");
    let mut doc: serde_json::Value = serde_json::from_str(text).unwrap();
    doc["name"] = "lesson-3".into();
    model.apply(Action::LoadJson { text: doc.to_string(), seed: 1 });
    assert_eq!(model.view.custom_mark(), " (custom)");
    model.apply(Action::Load { scenario: "hlc-ping".into(), seed: 1 });
    assert_eq!(model.view.custom_mark(), "");
}
