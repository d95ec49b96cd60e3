//! How numbers and stamps read on screen.

use void_core::clock::Timestamp;
use void_core::sim::{DropReason, EventView, HLC_EPOCH_US};

/// Virtual microseconds as milliseconds with up to three decimals (`12.4 ms`).
pub fn ms(us: u64) -> String {
    let (whole, frac) = (us / 1000, us % 1000);
    if frac == 0 {
        return format!("{whole} ms");
    }
    let digits = format!("{frac:03}");
    format!("{whole}.{} ms", digits.trim_end_matches('0'))
}

/// What a browser error says (its message), not its debugging form.
pub fn js_error(e: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => e.as_string().unwrap_or_else(|| "the browser gave no reason".into()),
    }
}

/// A clock offset in microseconds as a signed badge (`+30 ms`, `−1.5 ms`).
pub fn offset(us: i64) -> String {
    let sign = if us < 0 { "−" } else { "+" };
    let abs = us.unsigned_abs();
    if abs.is_multiple_of(1000) {
        format!("{sign}{} ms", abs / 1000)
    } else {
        format!("{sign}{:.1} ms", abs as f64 / 1000.0)
    }
}

/// Simulated runs last at most a day (plus clock offsets and drift); a wall this far past
/// the simulator's epoch comes from a real clock.
const REAL_CLOCK_AFTER_US: u64 = 30 * 86_400_000_000;

/// The wall part of an HLC stamp relative to the run's start (`12.345 ms`, `−20 ms`).
fn hlc_wall(ts: &Timestamp) -> String {
    if ts.wall >= HLC_EPOCH_US + REAL_CLOCK_AFTER_US {
        // A native node's stamp: its l is a real clock (Unix microseconds), so
        // a time of day reads better than millions of milliseconds since the epoch.
        let us = ts.wall % 86_400_000_000;
        let (s, ms) = (us / 1_000_000, (us % 1_000_000) / 1000);
        return format!("{:02}:{:02}:{:02}.{ms:03} UTC", s / 3600, s / 60 % 60, s % 60);
    }
    if ts.wall < HLC_EPOCH_US {
        format!("−{}", ms(HLC_EPOCH_US - ts.wall))
    } else {
        ms(ts.wall - HLC_EPOCH_US)
    }
}

/// An HLC stamp as every view shows it: the pair (l, c) of the paper, l relative to the
/// run's start (`(12.345 ms, 3)`).
pub fn hlc_short(stamp: &str) -> String {
    match stamp.parse::<Timestamp>() {
        // A native node reports (0, 0) until its clock first stamps something.
        Ok(ts) if ts.wall == 0 && ts.logical == 0 => "no HLC yet".into(),
        Ok(ts) => format!("({}, {})", hlc_wall(&ts), ts.logical),
        Err(_) => stamp.to_owned(),
    }
}

/// The same stamp spelled out, for tooltips.
pub fn hlc_long(stamp: &str) -> String {
    match stamp.parse::<Timestamp>() {
        Ok(ts) if ts.wall == 0 && ts.logical == 0 => {
            format!("no HLC yet: node {} has not stamped an event", ts.node)
        }
        Ok(ts) => format!(
            "HLC (l, c) = ({}, {}): l is {} µs of wall time, c the logical counter; stamped by node {}",
            hlc_wall(&ts),
            ts.logical,
            ts.wall,
            ts.node
        ),
        Err(_) => stamp.to_owned(),
    }
}

/// The node column of an event line: `N3`, or `net` for the whole network.
pub fn event_node(e: &EventView) -> String {
    if e.network_wide() { "net".into() } else { format!("N{}", e.node) }
}

/// Why a message was not delivered, as the end of a sentence about it.
pub fn drop_reason(reason: DropReason, to: u32) -> String {
    match reason {
        DropReason::Loss => "was lost in the network".into(),
        DropReason::Partition => "was dropped: a partition separates the two".into(),
        DropReason::Crashed => format!("was dropped: node {to} is down"),
        DropReason::LinkFault => "was dropped by a fault on the link".into(),
    }
}

/// An event's line for people: drops are told from their fields, the rest is the
/// protocol's own line with debugging notation (`NodeId(3)`, `[[0, 1], [2]]`, `us`) made
/// readable.
pub fn event_text(e: &EventView) -> String {
    if let (Some(reason), Some(to)) = (e.dropped, e.to) {
        return format!("{} from node {} to node {to} {}", e.kind, e.node, drop_reason(reason, to));
    }
    readable(&e.text)
}

/// `NodeId(3)` → `node 3`, a partition's `[[0, 1], [2]]` → `{0, 1} | {2}`, `1500 us` →
/// `1.5 ms`.
pub fn readable(text: &str) -> String {
    let text = text.replace("NodeId(", "node(");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("node(")
            && let Some((digits, tail)) = after.split_once(')')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            out.push_str("node ");
            out.push_str(digits);
            rest = tail;
        } else if let Some(after) = rest.strip_prefix("payload: [")
            && let Some((bytes, tail)) = after.split_once(']')
        {
            // A byte list says nothing to a reader; its length does.
            let n = if bytes.trim().is_empty() { 0 } else { bytes.split(',').count() };
            out.push_str(&format!("payload of {n} bytes"));
            rest = tail;
        } else if let Some(after) = rest.strip_prefix("[[")
            && let Some((groups, tail)) = after.split_once("]]")
        {
            let sides: Vec<String> = groups.split("], [").map(|g| format!("{{{g}}}")).collect();
            out.push_str(&sides.join(" | "));
            rest = tail;
        } else if c.is_ascii_digit() || (c == '-' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            let len = rest[1..].find(|d: char| !d.is_ascii_digit()).map_or(rest.len(), |i| i + 1);
            // An HLC stamp (`wall.logical@node`): shown as everywhere else.
            let stamp_len = rest[len..]
                .strip_prefix('.')
                .and_then(|t| {
                    let c = t.find(|d: char| !d.is_ascii_digit())?;
                    let n = t[c..].strip_prefix('@')?;
                    let k = n.find(|d: char| !d.is_ascii_digit()).unwrap_or(n.len());
                    (c > 0 && k > 0).then_some(len + 1 + c + 1 + k)
                })
                .filter(|l| rest[..*l].parse::<Timestamp>().is_ok());
            if let Some(l) = stamp_len {
                out.push_str(&hlc_short(&rest[..l]));
                rest = &rest[l..];
                continue;
            }
            let (number, tail) = rest.split_at(len);
            match (tail.strip_prefix(" us"), number.parse::<i64>()) {
                (Some(tail), Ok(us)) if !tail.starts_with(|a: char| a.is_alphanumeric()) => {
                    let sign = if us < 0 { "−" } else { "" };
                    out.push_str(sign);
                    out.push_str(&ms(us.unsigned_abs()));
                    rest = tail;
                }
                _ => {
                    out.push_str(number);
                    rest = tail;
                }
            }
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A fact of the inspector: lists of node ids read `N3, N5` (`none` when empty).
pub fn fact_value(value: &str) -> String {
    let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) else {
        return readable(value);
    };
    if inner.trim().is_empty() {
        return "none".into();
    }
    inner
        .split(", ")
        .map(|item| match item.strip_prefix("NodeId(").and_then(|i| i.strip_suffix(')')) {
            Some(id) => format!("N{id}"),
            None => readable(item),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a fault does, in a few words ("crash N3", "partition {N0, N1} | {N2}").
pub fn fault(f: &void_core::sim::Fault) -> String {
    use void_core::sim::Fault;
    match f {
        Fault::Crash { node, .. } => format!("crash N{node}"),
        Fault::Restart { node, .. } => format!("restart N{node}"),
        Fault::ClockJump { node, by_ms, .. } => format!("N{node} clock {by_ms:+} ms"),
        Fault::Misbehave { node, behaviour, .. } => format!("N{node} behaves {behaviour}"),
        Fault::Partition { groups, .. } => {
            let sides: Vec<String> = groups
                .iter()
                .map(|g| format!("{{{}}}", g.iter().map(|n| format!("N{n}")).collect::<Vec<_>>().join(", ")))
                .collect();
            format!("partition {}", sides.join(" | "))
        }
        Fault::Link { from, to, drop, duplicate, delay_ms, .. } => {
            let mut does: Vec<String> = Vec::new();
            if *drop > 0.0 {
                does.push(format!("drops {}", percent(*drop)));
            }
            if *duplicate > 0.0 {
                does.push(format!("duplicates {}", percent(*duplicate)));
            }
            if *delay_ms > 0.0 {
                does.push(format!("delays {}", ms(void_core::sim::ms_to_us(*delay_ms))));
            }
            match does.is_empty() {
                true => format!("link N{from}→N{to}"),
                false => format!("link N{from}→N{to} {}", does.join(", ")),
            }
        }
    }
}

/// How long a fault lasts, for a list of faults: " until t=…" for partitions and link
/// faults, nothing for the others (they happen at an instant).
pub fn fault_until(f: &void_core::sim::Fault) -> String {
    use void_core::sim::Fault;
    match f {
        Fault::Partition { heal_ms: until, .. } | Fault::Link { until_ms: until, .. } => {
            format!(" until t={}", ms(void_core::sim::ms_to_us(*until)))
        }
        _ => String::new(),
    }
}

/// A probability as a whole percentage ("50 %"), or with one decimal below 10 %.
fn percent(p: f64) -> String {
    let pc = p * 100.0;
    if pc >= 10.0 || pc == pc.round() { format!("{pc:.0} %") } else { format!("{pc:.1} %") }
}

/// The events a violation points at: the one where it failed, and any earlier one its
/// message cites as "event #N".
pub fn violation_events(v: &void_core::check::Violation) -> Vec<u64> {
    let mut out = vec![v.step];
    for part in v.message.split("event #").skip(1) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse() {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_fault_says_what_it_does_and_until_when() {
        use void_core::sim::Fault;
        let link = Fault::Link {
            at_ms: 5.0,
            until_ms: 250.0,
            from: 0,
            to: 1,
            drop: 1.0,
            duplicate: 0.025,
            delay_ms: 20.0,
        };
        assert_eq!(fault(&link), "link N0→N1 drops 100 %, duplicates 2.5 %, delays 20 ms");
        assert_eq!(fault_until(&link), " until t=250 ms");
        let split = Fault::Partition { at_ms: 1.0, heal_ms: 9.5, groups: vec![vec![0], vec![1, 2]] };
        assert_eq!(
            format!("{}{}", fault(&split), fault_until(&split)),
            "partition {N0} | {N1, N2} until t=9.5 ms"
        );
        assert_eq!(fault_until(&Fault::Crash { at_ms: 1.0, node: 3 }), "");
    }

    #[test]
    fn milliseconds_drop_trailing_zeros() {
        assert_eq!(ms(0), "0 ms");
        assert_eq!(ms(12_000), "12 ms");
        assert_eq!(ms(12_400), "12.4 ms");
        assert_eq!(ms(12_345), "12.345 ms");
        assert_eq!(ms(5), "0.005 ms");
    }

    #[test]
    fn offsets_carry_a_sign() {
        assert_eq!(offset(30_000), "+30 ms");
        assert_eq!(offset(-1_500), "−1.5 ms");
        assert_eq!(offset(0), "+0 ms");
    }

    #[test]
    fn hlc_reads_relative_to_the_start() {
        let stamp = format!("{}.3@2", HLC_EPOCH_US + 12_345);
        assert_eq!(hlc_short(&stamp), "(12.345 ms, 3)");
        assert!(hlc_long(&stamp).starts_with("HLC (l, c) = (12.345 ms, 3)"), "{}", hlc_long(&stamp));
        assert!(hlc_long(&stamp).ends_with("node 2"));
        let early = format!("{}.0@1", HLC_EPOCH_US - 20_000);
        assert_eq!(hlc_short(&early), "(−20 ms, 0)");
        assert_eq!(hlc_short("garbage"), "garbage");
        // 2026-11-27 14:32:05.123 UTC, from a native node's real clock.
        let real = format!("{}.2@0", 1_795_789_925_123_456u64);
        assert_eq!(hlc_short(&real), "(14:32:05.123 UTC, 2)");
        // A native node's clock before its first stamp.
        assert_eq!(hlc_short("0.0@3"), "no HLC yet");
        assert!(hlc_long("0.0@3").starts_with("no HLC yet"));
    }

    #[test]
    fn partitions_and_heals_belong_to_the_network_not_to_node_0() {
        let fault =
            |kind: &str| EventView { category: "fault".into(), kind: kind.into(), ..EventView::default() };
        assert_eq!(event_node(&fault("Partition")), "net");
        assert_eq!(event_node(&fault("Heal")), "net");
        assert_eq!(event_node(&EventView { node: 3, ..fault("ClockJump") }), "N3");
        assert_eq!(
            event_node(&EventView { node: 0, category: "deliver".into(), ..EventView::default() }),
            "N0"
        );
    }

    fn drop_event(reason: DropReason) -> EventView {
        EventView {
            index: 7,
            time: 1_000,
            node: 1,
            category: "drop".into(),
            kind: "Ping".into(),
            to: Some(3),
            dropped: Some(reason),
            text: "Ping from node 1 to node 3 is destination crashed".into(),
            ..EventView::default()
        }
    }

    #[test]
    fn drops_say_what_happened_in_a_sentence() {
        assert_eq!(
            event_text(&drop_event(DropReason::Crashed)),
            "Ping from node 1 to node 3 was dropped: node 3 is down"
        );
        assert_eq!(
            event_text(&drop_event(DropReason::Loss)),
            "Ping from node 1 to node 3 was lost in the network"
        );
        for reason in [DropReason::Loss, DropReason::Partition, DropReason::Crashed, DropReason::LinkFault] {
            let text = event_text(&drop_event(reason));
            assert!(!text.contains(" is destination") && !text.contains(" is dropped"), "{text}");
        }
    }

    #[test]
    fn debugging_notation_becomes_prose() {
        assert_eq!(
            readable("node 2 is asked: PingNow { to: NodeId(3) }"),
            "node 2 is asked: PingNow { to: node 3 }"
        );
        assert_eq!(
            readable("node 39 is asked: Broadcast { payload: [0, 0, 0, 1] }"),
            "node 39 is asked: Broadcast { payload of 4 bytes }"
        );
        assert_eq!(
            readable("network splits into [[0, 1], [2, 3, 4]]"),
            "network splits into {0, 1} | {2, 3, 4}"
        );
        assert_eq!(
            readable("node 4's physical clock jumps by -100000 us"),
            "node 4's physical clock jumps by −100 ms"
        );
        assert_eq!(
            readable("link 1→2: drop 1, duplicate 0, delay 2500 us until t=40000 us"),
            "link 1→2: drop 1, duplicate 0, delay 2.5 ms until t=40 ms"
        );
        assert_eq!(readable("node 12 receives Ping from node 3"), "node 12 receives Ping from node 3");
        assert_eq!(readable("used 12 users"), "used 12 users", "only the unit `us` is converted");
        let stamp = format!("stamps Ping to node 0 with {}.2@2: l = max(l, pt)", HLC_EPOCH_US + 71_920);
        assert_eq!(readable(&stamp), "stamps Ping to node 0 with (71.92 ms, 2): l = max(l, pt)");
        assert_eq!(readable("version 1.2 of 3"), "version 1.2 of 3");
    }

    #[test]
    fn node_lists_read_as_node_names() {
        assert_eq!(fact_value("[NodeId(3), NodeId(17)]"), "N3, N17");
        assert_eq!(fact_value("[]"), "none");
        assert_eq!(fact_value("42"), "42");
    }

    #[test]
    fn a_violation_points_at_its_event_and_the_ones_it_cites() {
        let v = void_core::check::Violation {
            invariant: "agreement".into(),
            step: 40,
            time: 7,
            message: "replicas 2 and 1 committed different batches at n=1 (4ddd at event #31 vs 5399)".into(),
        };
        assert_eq!(violation_events(&v), vec![40, 31]);
        assert_eq!(
            violation_events(&void_core::check::Violation { message: "event #x".into(), ..v }),
            vec![40]
        );
    }
}
