//! The macaroon bench: mint, attenuate, add a third-party caveat and its discharge, then
//! verify against a request context, showing the signature after every step of the chain.

use std::collections::BTreeSet;
use std::net::IpAddr;

use void_core::caps::{Context, Format, Macaroon, Verifier, VerifyError};
use void_core::effect::DetRng;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::{hex, on_area, on_text};

/// Seed of the third-party caveat's nonce: fixed, so that the page shows the same token for
/// the same inputs. An issuer draws it at random (`void macaroon add-third-party` does).
const NONCE_SEED: u64 = 0x6d61_6361;

/// A third-party caveat and the discharge the third party mints for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ThirdParty {
    pub location: String,
    /// The caveat key shared between the issuer and the third party.
    pub key: String,
    pub identifier: String,
    /// First-party caveats on the discharge, one per line.
    pub caveats: String,
}

/// Everything the bench reads. Context fields left empty are absent from the context.
#[derive(Clone, Debug, PartialEq)]
pub struct MacInput {
    pub location: String,
    pub identifier: String,
    pub root_key: String,
    /// First-party caveats, one per line.
    pub caveats: String,
    pub third_party: Option<ThirdParty>,
    /// Bind the discharge to the token before sending it (prepare for request).
    pub bind: bool,
    /// The root key the verifying service holds.
    pub verifier_key: String,
    pub op: String,
    pub user: String,
    pub now: String,
    pub ip: String,
    pub key: String,
}

/// One link of a signature chain: the rule applied, what it consumed, the signature after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub rule: &'static str,
    pub input: String,
    pub signature: String,
}

/// What the bench shows.
#[derive(Clone, Debug, PartialEq)]
pub struct MacReport {
    pub steps: Vec<Step>,
    pub discharge_steps: Vec<Step>,
    /// The token, serialized as libmacaroons V2 (base64url).
    pub token: String,
    /// The discharge sent along with it, serialized the same way.
    pub discharge: Option<String>,
    /// `Ok` when the verifier accepts, else the reason it gives; `None` when the request
    /// context or the verifier's key is not valid input (see `bad_context`).
    pub verdict: Option<Result<(), String>>,
    /// Why the Verify column's input cannot be used (the token is still built and shown).
    pub bad_context: Option<String>,
    /// The first-party caveat the verifier refused on, when that is why.
    pub refused_caveat: Option<String>,
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn step(rule: &'static str, input: &str, m: &Macaroon) -> Step {
    Step { rule, input: input.to_string(), signature: hex(m.signature()) }
}

fn add_caveats(m: &mut Macaroon, text: &str, steps: &mut Vec<Step>) -> Result<(), String> {
    for c in lines(text) {
        m.add_first_party_caveat(c).map_err(|e| format!("caveat {c:?}: {e}"))?;
        steps.push(step("HMAC(sig, caveat)", c, m));
    }
    Ok(())
}

fn non_empty<'a>(value: &'a str, what: &str) -> Result<&'a str, String> {
    if value.is_empty() { Err(format!("the {what} is empty")) } else { Ok(value) }
}

fn context(input: &MacInput) -> Result<Context<'static>, String> {
    let mut ctx = Context::new();
    let fact = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(String::from);
    ctx.op = fact(&input.op);
    ctx.user = fact(&input.user);
    ctx.key = fact(&input.key);
    if let Some(now) = fact(&input.now) {
        ctx.now = Some(now.parse().map_err(|_| format!("time {now:?} is not a UNIX time in seconds"))?);
    }
    if let Some(ip) = fact(&input.ip) {
        let ip: IpAddr = ip.parse().map_err(|_| format!("ip {ip:?} is not an IPv4 or IPv6 address"))?;
        ctx.ip = Some(ip);
    }
    Ok(ctx)
}

/// Builds the token and its discharge as the inputs say, and verifies them.
pub fn run(input: &MacInput) -> Result<MacReport, String> {
    let root_key = non_empty(&input.root_key, "root key")?;
    let mut m = Macaroon::mint(root_key.as_bytes(), input.identifier.as_bytes(), input.location.as_str())
        .map_err(|e| e.to_string())?;
    let mut steps = vec![step("HMAC(root key, identifier)", &input.identifier, &m)];
    add_caveats(&mut m, &input.caveats, &mut steps)?;

    let mut discharge_steps = Vec::new();
    let mut discharges = Vec::new();
    if let Some(tp) = &input.third_party {
        let key = non_empty(&tp.key, "caveat key")?;
        let id = non_empty(&tp.identifier, "third-party caveat identifier")?;
        m.add_third_party_caveat_with_rng(
            &tp.location,
            key.as_bytes(),
            id,
            &mut DetRng::seed_from_u64(NONCE_SEED),
        )
        .map_err(|e| e.to_string())?;
        steps.push(step("hash2(sig, vid, id)", &format!("{id} @ {}", tp.location), &m));

        let mut d = Macaroon::mint(key.as_bytes(), id, tp.location.as_str()).map_err(|e| e.to_string())?;
        discharge_steps.push(step("HMAC(caveat key, id)", id, &d));
        add_caveats(&mut d, &tp.caveats, &mut discharge_steps)?;
        if input.bind {
            d = m.bind_discharge(&d);
            discharge_steps.push(step("bind(token sig, sig)", "token's final signature", &d));
        }
        discharges.push(d);
    }

    let consumed = BTreeSet::new();
    let verify = context(input).and_then(|ctx| {
        let key = non_empty(&input.verifier_key, "verifier's root key")?;
        let ctx = Context { nonces: Some(&consumed), ..ctx };
        Ok(Verifier::new().verify(&m, key.as_bytes(), &discharges, &ctx))
    });
    let (checked, bad_context) = match verify {
        Ok(checked) => (Some(checked), None),
        Err(e) => (None, Some(e)),
    };
    let refused_caveat = match &checked {
        Some(Err(VerifyError::NotSatisfied { caveat, .. } | VerifyError::NotUnderstood { caveat })) => {
            Some(caveat.clone())
        }
        _ => None,
    };
    let verdict = checked.map(|c| c.map_err(|e| e.to_string()));
    let serialize = |m: &Macaroon| m.serialize(Format::V2).map_err(|e| e.to_string());
    Ok(MacReport {
        steps,
        discharge_steps,
        token: serialize(&m)?,
        discharge: discharges.first().map(serialize).transpose()?,
        verdict,
        bad_context,
        refused_caveat,
    })
}

/// The steps of one chain; the caveat the verifier refused on, if any, is marked.
fn chain(steps: &[Step], testid: &'static str, refused: Option<&str>) -> Html {
    html! {
        <ol class="chain" data-testid={testid}>
            { for steps.iter().map(|s| html! {
                <li data-signature={s.signature.clone()} data-refused={(refused == Some(s.input.as_str())).then_some("true")}
                    title={(refused == Some(s.input.as_str())).then_some("the verifier refused this caveat")}>
                    <span class="rule">{ s.rule }</span>
                    <span class="chain-input" title={s.input.clone()}>{ s.input.clone() }</span>
                    <code class="sig">{ s.signature.clone() }</code>
                </li>
            }) }
        </ol>
    }
}

fn field(label: &'static str, testid: &'static str, state: &UseStateHandle<String>) -> Html {
    html! {
        <label class="bench-field">
            <span>{ label }</span>
            <input type="text" data-testid={testid} value={(**state).clone()} oninput={on_text(state)} />
        </label>
    }
}

fn toggle(state: &UseStateHandle<bool>) -> Callback<Event> {
    let state = state.clone();
    Callback::from(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        state.set(input.checked());
    })
}

fn token_box(label: &'static str, testid: &'static str, text: &str) -> Html {
    let copy = {
        let text = text.to_string();
        Callback::from(move |_: MouseEvent| {
            if let Some(w) = web_sys::window() {
                // The clipboard may be refused; the text stays selectable either way.
                let _ = w.navigator().clipboard().write_text(&text);
            }
        })
    };
    html! {
        <div class="token">
            <div class="token-head"><span>{ label }</span><button onclick={copy}>{ "copy" }</button></div>
            <textarea readonly=true rows="3" data-testid={testid} value={text.to_string()} />
        </div>
    }
}

/// Seconds since 1970 from the browser's clock (whole seconds).
fn browser_now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

#[function_component(MacaroonBench)]
pub fn macaroon_bench() -> Html {
    let location = use_state(|| String::from("https://kv.example"));
    let identifier = use_state(|| String::from("key 7 for alice"));
    let root_key = use_state(|| String::from("this is the root key"));
    let caveats =
        use_state(|| String::from("op = read,write\nuser = alice\ntime < 1893456000\nkey-prefix = /photos/"));
    let with_third = use_state(|| true);
    let tp_location = use_state(|| String::from("https://auth.example"));
    let tp_key = use_state(|| String::from("shared with auth"));
    let tp_id = use_state(|| String::from("alice is logged in"));
    let tp_caveats = use_state(|| String::from("ip = 10.0.0.0/8"));
    let bind = use_state(|| true);
    let verifier_key = use_state(|| String::from("this is the root key"));
    let op = use_state(|| String::from("read"));
    let user = use_state(|| String::from("alice"));
    let now = use_state(|| browser_now().to_string());
    let ip = use_state(|| String::from("10.1.2.3"));
    let key = use_state(|| String::from("/photos/cat.jpg"));

    let input = MacInput {
        location: (*location).clone(),
        identifier: (*identifier).clone(),
        root_key: (*root_key).clone(),
        caveats: (*caveats).clone(),
        third_party: with_third.then(|| ThirdParty {
            location: (*tp_location).clone(),
            key: (*tp_key).clone(),
            identifier: (*tp_id).clone(),
            caveats: (*tp_caveats).clone(),
        }),
        bind: *bind,
        verifier_key: (*verifier_key).clone(),
        op: (*op).clone(),
        user: (*user).clone(),
        now: (*now).clone(),
        ip: (*ip).clone(),
        key: (*key).clone(),
    };
    let report = use_memo(input, run);

    let results = match &*report {
        Err(e) => html! { <div class="bench-error" role="alert" data-testid="mac-error">{ e.clone() }</div> },
        Ok(r) => html! {
            <>
                <h3>{ "Token: signature after each step" }</h3>
                { chain(&r.steps, "mac-chain", r.refused_caveat.as_deref()) }
                if !r.discharge_steps.is_empty() {
                    <h3>{ "Discharge" }</h3>
                    { chain(&r.discharge_steps, "mac-discharge-chain", r.refused_caveat.as_deref()) }
                }
                { token_box("token (V2, base64url)", "mac-token", &r.token) }
                if let Some(d) = &r.discharge {
                    { token_box("discharge (V2, base64url)", "mac-discharge", d) }
                }
            </>
        },
    };
    let verdict = match &*report {
        Err(_) => html! {},
        Ok(r) => match &r.verdict {
            // Bad input here is reported here, and the token stays shown.
            None => html! {
                <div class="bench-error" role="alert" data-testid="mac-verify-error">
                    { r.bad_context.clone().unwrap_or_default() }
                </div>
            },
            Some(Ok(())) => html! {
                <div class="verdict ok" data-testid="mac-verdict" data-valid="true">{ "✓ valid" }</div>
            },
            Some(Err(reason)) => html! {
                <div class="verdict refused" data-testid="mac-verdict" data-valid="false">
                    <strong>{ "✗ refused" }</strong>
                    <span data-testid="mac-reason">{ reason.clone() }</span>
                </div>
            },
        },
    };
    html! {
        <div class="bench bench-macaroons" data-testid="macaroon-bench">
            <section class="bench-col">
                <h2>{ "Mint" }</h2>
                { field("location", "mac-location", &location) }
                { field("identifier", "mac-identifier", &identifier) }
                { field("root key", "mac-root-key", &root_key) }
                <label class="bench-field tall">
                    <span>{ "first-party caveats, one per line" }</span>
                    <textarea rows="4" data-testid="mac-caveats" value={(*caveats).clone()} oninput={on_area(&caveats)} />
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="mac-third-party" checked={*with_third} onchange={toggle(&with_third)} />
                    { "third-party caveat" }
                </label>
                if *with_third {
                    { field("discharged at", "mac-tp-location", &tp_location) }
                    { field("caveat key", "mac-tp-key", &tp_key) }
                    { field("caveat id", "mac-tp-id", &tp_id) }
                    <label class="bench-field tall">
                        <span>{ "caveats on the discharge" }</span>
                        <textarea rows="2" data-testid="mac-tp-caveats" value={(*tp_caveats).clone()} oninput={on_area(&tp_caveats)} />
                    </label>
                }
            </section>
            <section class="bench-col wide">
                <h2>{ "Chained HMAC" }</h2>
                { results }
            </section>
            <section class="bench-col">
                <h2>{ "Verify" }</h2>
                <p class="hint">{ "Request context (leave a fact empty to omit it)" }</p>
                { field("op", "mac-ctx-op", &op) }
                { field("user", "mac-ctx-user", &user) }
                { field("time (UNIX s)", "mac-ctx-time", &now) }
                { field("ip", "mac-ctx-ip", &ip) }
                { field("key", "mac-ctx-key", &key) }
                { field("verifier's root key", "mac-verifier-key", &verifier_key) }
                if *with_third {
                    <label class="check">
                        <input type="checkbox" data-testid="mac-bind" checked={*bind} onchange={toggle(&bind)} />
                        { "bind the discharge to the token" }
                    </label>
                }
                { verdict }
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn input() -> MacInput {
        MacInput {
            location: "loc".into(),
            identifier: "id".into(),
            root_key: "secret".into(),
            caveats: "op = read\n\n  user = alice  \n".into(),
            third_party: Some(ThirdParty {
                location: "auth".into(),
                key: "ck".into(),
                identifier: "tp".into(),
                caveats: "time < 2000".into(),
            }),
            bind: true,
            verifier_key: "secret".into(),
            op: "read".into(),
            user: "alice".into(),
            now: "1000".into(),
            ip: String::new(),
            key: String::new(),
        }
    }

    #[test]
    fn the_chain_ends_in_the_token_signature() {
        let r = run(&input()).unwrap();
        let rules: Vec<_> = r.steps.iter().map(|s| s.rule).collect();
        assert_eq!(
            rules,
            ["HMAC(root key, identifier)", "HMAC(sig, caveat)", "HMAC(sig, caveat)", "hash2(sig, vid, id)"]
        );
        assert_eq!(r.steps[2].input, "user = alice");
        let (token, format) = Macaroon::deserialize(&r.token).unwrap();
        assert_eq!(format, Format::V2);
        assert_eq!(hex(token.signature()), r.steps.last().unwrap().signature);
        let (d, _) = Macaroon::deserialize(r.discharge.as_deref().unwrap()).unwrap();
        assert_eq!(hex(d.signature()), r.discharge_steps.last().unwrap().signature);
        assert_eq!(r.verdict, Some(Ok(())));
    }

    #[test]
    fn a_fact_left_out_of_the_request_refuses_the_caveat_that_needs_it() {
        let mut i = input();
        i.user = String::new();
        let reason = run(&i).unwrap().verdict.unwrap().unwrap_err();
        assert!(reason.contains("user = alice") && reason.contains("no user"), "{reason}");
        let mut i = input();
        (i.op, i.user, i.now, i.ip, i.key) = Default::default();
        assert!(run(&i).unwrap().verdict.unwrap().is_err(), "nothing known: refused");
    }

    #[test]
    fn refusals_name_the_caveat_or_the_binding() {
        let mut i = input();
        i.op = "write".into();
        let report = run(&i).unwrap();
        let reason = report.verdict.unwrap().unwrap_err();
        assert!(reason.contains("\"op = read\""), "{reason}");
        assert_eq!(report.refused_caveat.as_deref(), Some("op = read"));
        let mut i = input();
        i.now = "3000".into();
        assert!(run(&i).unwrap().verdict.unwrap().unwrap_err().contains("time < 2000"));
        let mut i = input();
        i.bind = false;
        assert!(run(&i).unwrap().verdict.unwrap().unwrap_err().contains("not bound"));
        let mut i = input();
        i.verifier_key = "other".into();
        assert!(run(&i).unwrap().verdict.unwrap().unwrap_err().contains("does not match"));
    }

    #[test]
    fn bad_context_and_empty_keys_are_errors() {
        // A bad request context leaves the token built: only the verdict cannot be given.
        let bad = |i: &MacInput| {
            let r = run(i).expect("the token is still built");
            assert!(r.verdict.is_none() && !r.steps.is_empty());
            r.bad_context.unwrap_or_default()
        };
        let mut i = input();
        i.ip = "ten".into();
        assert!(bad(&i).contains("ip \"ten\""));
        let mut i = input();
        i.now = "soon".into();
        assert!(bad(&i).contains("UNIX time"));
        let mut i = input();
        i.verifier_key.clear();
        assert!(bad(&i).contains("verifier's root key is empty"));
        let mut i = input();
        i.root_key.clear();
        assert!(run(&i).unwrap_err().contains("root key is empty"));
    }
}
