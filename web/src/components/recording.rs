//! The recording bar: replays native nodes' trace files (a [`Recording`]) through the
//! live feed, with play/pause, step, speed and a scrubber over the merged events, and hands
//! the page a [`Snapshot`] to draw in place of the simulated run, as live mode does.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::topbar::{slider_to_speed, speed_to_slider};
use crate::format;
use crate::model::Snapshot;
use crate::recording::{Player, Recording};

/// Redraw period while playing.
const FRAME_MS: u32 = 33;

#[derive(Properties, PartialEq)]
pub struct RecordingBarProps {
    pub recording: Rc<Recording>,
    /// The recorded cluster to draw at the position; `None` once the bar goes.
    pub on_show: Callback<Option<Rc<Snapshot>>>,
    /// Back to the simulated run.
    pub on_leave: Callback<()>,
}

#[function_component(RecordingBar)]
pub fn recording_bar(props: &RecordingBarProps) -> Html {
    let player = {
        let recording = props.recording.clone();
        use_mut_ref(move || Player::new(recording))
    };
    // A new recording (imported while this one was shown) starts from its beginning.
    if !Rc::ptr_eq(player.borrow().recording(), &props.recording) {
        *player.borrow_mut() = Player::new(props.recording.clone());
    }
    // Bumped on every move, so the bar and the views redraw (one counter for the clicks
    // and the frames alike).
    let counter = use_mut_ref(|| 0u64);
    let moves = use_state_eq(|| 0u64);
    let playing = use_state_eq(|| false);
    let speed = use_state_eq(|| 1.0f64);
    let bump = {
        let (moves, counter) = (moves.clone(), counter.clone());
        move || {
            *counter.borrow_mut() += 1;
            moves.set(*counter.borrow());
        }
    };
    {
        let (player, on_show) = (player.clone(), props.on_show.clone());
        // The recording by identity: comparing its events on every frame would cost.
        use_effect_with((*moves, Rc::as_ptr(&props.recording) as usize), move |_| {
            on_show.emit(Some(Rc::new(player.borrow().snapshot())));
        });
    }
    {
        let on_show = props.on_show.clone();
        use_effect_with((), move |_| move || on_show.emit(None));
    }
    {
        let (player, playing_h, bump) = (player.clone(), playing.clone(), bump.clone());
        let speed = *speed;
        use_effect_with((*playing, speed), move |(playing, speed)| {
            let speed = *speed;
            let interval = playing.then(|| {
                Interval::new(FRAME_MS, move || {
                    let mut p = player.borrow_mut();
                    p.advance((FRAME_MS as f64 * 1000.0 * speed) as u64);
                    let done = p.at_end() && !p.animating();
                    drop(p);
                    bump();
                    if done {
                        playing_h.set(false);
                    }
                })
            });
            move || drop(interval)
        });
    }

    let act = |f: fn(&mut Player)| {
        let (player, playing, bump) = (player.clone(), playing.clone(), bump.clone());
        Callback::from(move |_: MouseEvent| {
            playing.set(false);
            f(&mut player.borrow_mut());
            bump();
        })
    };
    let on_play = {
        let (player, playing, bump) = (player.clone(), playing.clone(), bump.clone());
        Callback::from(move |_: MouseEvent| {
            if *playing {
                playing.set(false);
                return;
            }
            // Played to the end: play again from the start.
            if player.borrow().at_end() {
                player.borrow_mut().seek(0);
                bump();
            }
            playing.set(true);
        })
    };
    let on_scrub = {
        let (player, playing, bump) = (player.clone(), playing.clone(), bump.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Ok(p) = input.value().parse::<usize>() {
                playing.set(false);
                player.borrow_mut().seek(p);
                bump();
            }
        })
    };
    let on_speed = {
        let speed = speed.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Ok(pos) = input.value().parse::<f64>() {
                speed.set(slider_to_speed(pos));
            }
        })
    };
    let leave = {
        let leave = props.on_leave.clone();
        Callback::from(move |_: MouseEvent| leave.emit(()))
    };

    let r = &props.recording;
    let p = player.borrow();
    let (position, total) = (p.position(), r.len());
    let (first, _) = r.span_us();
    let nodes: Vec<String> = r.nodes.iter().map(|n| n.to_string()).collect();
    html! {
        <div class="recording-bar" data-testid="recording" data-files={r.files.len().to_string()}
            data-nodes={nodes.join(",")} data-events={total.to_string()} data-position={position.to_string()}
            role="group" aria-label="recording of a native run">
            <span class="recording-label" title={format!("{}\n{}", r.files.join("\n"), r.clock_note())}>
                <strong>{ "Recording of a native run" }</strong>{ " · " }{ r.summary() }
            </span>
            <div class="transport">
                <button data-testid="rec-step-back" onclick={act(Player::step_back)} disabled={position == 0}
                    title="step back one event" aria-label="step back">{ "◀︎" }</button>
                <button data-testid="rec-play" class="primary" onclick={on_play}
                    aria-pressed={playing.to_string()}>{ if *playing { "pause" } else { "play" } }</button>
                <button data-testid="rec-step" onclick={act(Player::step)} disabled={position == total}
                    title="step one event" aria-label="step">{ "▶︎" }</button>
            </div>
            <label class="field speed" title="playing speed (recorded time)">
                <input data-testid="rec-speed" type="range" min="0" max="300" step="1"
                    value={speed_to_slider(*speed).to_string()} oninput={on_speed} aria-label="speed" />
                <span class="speed-value">{ format!("{:.1}×", *speed) }</span>
            </label>
            <label class="scrub">
                <input data-testid="rec-scrubber" type="range" min="0" max={total.to_string()} step="1"
                    value={position.to_string()} oninput={on_scrub} aria-label="go to event"
                    aria-valuetext={format!("event {position} of {total}")} />
                <span class="scrub-pos mono" data-testid="rec-position">{ format!("{position}/{total}") }</span>
                <span class="mono" title="recorded time since the first event">
                    { format!("t+{}", format::ms(p.clock_us - first)) }
                </span>
            </label>
            <button data-testid="leave-recording" onclick={leave}
                title="back to the simulated run, as it was left">{ "✕ close" }</button>
        </div>
    }
}
