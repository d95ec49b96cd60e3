//! Interoperability with libmacaroons, pymacaroons and go-macaroon: published signature
//! chains, serialized forms, libmacaroons' `.vtest` files, and third-party flows in every format.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use void_core::caps::{Context, Format, Macaroon, Verifier, VerifyError};
use void_core::effect::DetRng;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/macaroons"))
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex(sig: &[u8; 32]) -> String {
    sig.iter().map(|b| format!("{b:02x}")).collect()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("fixture field {key} missing"))
}

#[test]
fn mybank_signature_chains_match_published_vectors() {
    let f = load("signatures.json");
    for chain in f["chains"].as_array().unwrap() {
        let mut m =
            Macaroon::mint(s(chain, "key").as_bytes(), s(chain, "identifier"), s(chain, "location")).unwrap();
        assert_eq!(hex(m.signature()), s(chain, "signature"));
        if let Some(v1) = chain["v1"].as_str() {
            assert_eq!(m.serialize(Format::V1).unwrap(), v1);
        }
        for step in chain["caveats"].as_array().unwrap() {
            m.add_first_party_caveat(s(step, "caveat")).unwrap();
            assert_eq!(hex(m.signature()), s(step, "signature"), "after {}", s(step, "caveat"));
            if let Some(v1) = step["v1"].as_str() {
                assert_eq!(m.serialize(Format::V1).unwrap(), v1);
                let (back, format) = Macaroon::deserialize(v1).unwrap();
                assert_eq!((back, format), (m.clone(), Format::V1));
            }
        }
    }
}

#[test]
fn v1_reader_accepts_padding() {
    let padded = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxN2NpZCB0ZXN0ID0gYWNhdmVhdAowMDJmc2lnbmF0dXJlIJRJ_V3WNJQnqlVq5eez7spnltwU_AXs8NIRY739sHooCg==";
    let (m, _) = Macaroon::deserialize(padded).unwrap();
    assert_eq!(hex(m.signature()), "9449fd5dd6349427aa556ae5e7b3eeca6796dc14fc05ecf0d21163bdfdb07a28");
}

#[test]
fn pymacaroons_third_party_and_bound_discharge_signatures() {
    let f = &load("signatures.json")["third_party"];
    let mut m = Macaroon::mint(s(f, "key").as_bytes(), s(f, "identifier"), s(f, "location")).unwrap();
    m.add_first_party_caveat(s(f, "first_party")).unwrap();
    m.add_third_party_caveat(
        s(f, "caveat_location"),
        s(f, "caveat_key").as_bytes(),
        s(f, "caveat_id"),
        [0; 24],
    )
    .unwrap();
    assert_eq!(hex(m.signature()), s(f, "signature"));

    let mut d =
        Macaroon::mint(s(f, "caveat_key").as_bytes(), s(f, "caveat_id"), s(f, "caveat_location")).unwrap();
    d.add_first_party_caveat(s(f, "discharge_caveat")).unwrap();
    let bound = m.bind_discharge(&d);
    assert_eq!(hex(bound.signature()), s(f, "bound_discharge_signature"));

    let mut v = Verifier::bare();
    v.satisfy_exact(s(f, "first_party")).satisfy_exact(s(f, "discharge_caveat"));
    let ctx = Context::new();
    v.verify(&m, s(f, "key").as_bytes(), std::slice::from_ref(&bound), &ctx).unwrap();
    assert!(matches!(
        v.verify(&m, s(f, "key").as_bytes(), &[d], &ctx),
        Err(VerifyError::DischargeNotBound { .. })
    ));
}

#[test]
fn go_macaroon_tokens_verify_in_every_format() {
    let f = load("go_macaroon.json");
    let mut v = Verifier::bare();
    v.satisfy_exact(s(&f, "exact"));
    for case in f["cases"].as_array().unwrap() {
        let want: Format = s(case, "format").parse().unwrap();
        let (m, format) = Macaroon::deserialize(s(case, "token")).unwrap();
        let (d, _) = Macaroon::deserialize(s(case, "discharge")).unwrap();
        assert_eq!(format, want);
        assert_eq!(m.location(), s(&f, "location"));
        assert_eq!(m.identifier(), s(&f, "identifier").as_bytes());
        v.verify(&m, s(&f, "key").as_bytes(), &[d], &Context::new())
            .unwrap_or_else(|e| panic!("{want}: {e}"));
        // Our own writers round-trip what go-macaroon wrote.
        for out in [Format::V1, Format::V2, Format::V2Json, Format::V1Json] {
            let text = m.serialize(out).unwrap();
            assert_eq!(Macaroon::deserialize(&text).unwrap(), (m.clone(), out));
        }
    }
}

/// One libmacaroons `.vtest` file.
struct VTest {
    authorized: bool,
    key: String,
    exact: Vec<String>,
    macaroons: Vec<String>,
}

fn parse_vtest(text: &str) -> VTest {
    let mut lines = text.lines().filter(|l| !l.is_empty() && !l.starts_with('#'));
    assert!(lines.next().unwrap().starts_with("version "));
    let authorized = match lines.next().unwrap() {
        "authorized" => true,
        "unauthorized" => false,
        other => panic!("bad outcome line {other}"),
    };
    let key = lines.next().unwrap().strip_prefix("key ").unwrap().to_string();
    let mut t = VTest { authorized, key, exact: vec![], macaroons: vec![] };
    for line in lines {
        if let Some(p) = line.strip_prefix("exact ") {
            t.exact.push(p.to_string());
        } else {
            t.macaroons.push(line.to_string());
        }
    }
    t
}

/// A vtest line is base64 of a serialized token: V2 binary directly, V1 the base64 text.
fn read_vtest_token(line: &str) -> Macaroon {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(line.trim_end_matches('=').replace('+', "-").replace('/', "_"))
        .unwrap();
    if bytes[0] == 2 {
        let m = Macaroon::from_v2_bytes(&bytes).unwrap();
        assert_eq!(m.serialize(Format::V2).unwrap(), line, "V2 re-encoding differs");
        m
    } else {
        let text = String::from_utf8(bytes).unwrap();
        let (m, format) = Macaroon::deserialize(&text).unwrap();
        assert_eq!(format, Format::V1);
        assert_eq!(m.serialize(Format::V1).unwrap(), text, "V1 re-encoding differs");
        m
    }
}

#[test]
fn libmacaroons_vtests() {
    let mut paths: Vec<_> = std::fs::read_dir(fixtures().join("libmacaroons"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vtest"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 16, "vtest fixtures missing");
    for path in paths {
        let t = parse_vtest(&std::fs::read_to_string(&path).unwrap());
        let mut ms = t.macaroons.iter().map(|l| read_vtest_token(l));
        let root = ms.next().unwrap();
        let discharges: Vec<_> = ms.collect();
        let mut v = Verifier::bare();
        for e in &t.exact {
            v.satisfy_exact(e.as_str());
        }
        let got = v.verify(&root, t.key.as_bytes(), &discharges, &Context::new());
        assert_eq!(got.is_ok(), t.authorized, "{}: {got:?}", path.display());
    }
}

#[test]
fn classic_vectors_written_as_v2_match_libmacaroons_bytes() {
    let mut m = Macaroon::mint(b"this is the key", "keyid", "http://example.org/").unwrap();
    m.add_first_party_caveat("account = 3735928559").unwrap();
    assert_eq!(
        m.serialize(Format::V2).unwrap(),
        "AgETaHR0cDovL2V4YW1wbGUub3JnLwIFa2V5aWQAAhRhY2NvdW50ID0gMzczNTkyODU1OQAABiD1SAf23G7fiL8PcwazgiVio2JTPb9zObphdl2kvSWdhw"
    );
}

// ---- third-party flows, in every format ----

const FORMATS: [Format; 4] = [Format::V1, Format::V2, Format::V2Json, Format::V1Json];

struct Flow {
    root: Macaroon,
    discharge: Macaroon,
}

fn flow(rng: &mut DetRng) -> Flow {
    let mut root = Macaroon::mint(b"root secret", "root-id", "void://kv").unwrap();
    root.add_first_party_caveat("op = read").unwrap();
    root.add_third_party_caveat_with_rng("void://auth", b"shared with auth", "is-alice", rng).unwrap();
    let mut discharge = Macaroon::mint(b"shared with auth", "is-alice", "void://auth").unwrap();
    discharge.add_first_party_caveat("user = alice").unwrap();
    Flow { root, discharge }
}

fn through(m: &Macaroon, format: Format) -> Macaroon {
    let text = m.serialize(format).unwrap();
    let (back, got) = Macaroon::deserialize(&text).unwrap();
    assert_eq!(got, format);
    back
}

fn alice() -> Context<'static> {
    Context::new().op("read").user("alice")
}

#[test]
fn third_party_round_trip_in_every_format() {
    let mut rng = DetRng::seed_from_u64(1);
    let v = Verifier::new();
    for format in FORMATS {
        let f = flow(&mut rng);
        let bound = f.root.bind_discharge(&f.discharge);
        let root = through(&f.root, format);
        let bound = through(&bound, format);
        v.verify(&root, b"root secret", std::slice::from_ref(&bound), &alice())
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        // The discharge's own caveat is checked too.
        let err =
            v.verify(&root, b"root secret", &[bound], &Context::new().op("read").user("bob")).unwrap_err();
        assert_eq!(err.to_string(), "caveat \"user = alice\" not satisfied: user is \"bob\"");
    }
}

#[test]
fn unbound_discharge_is_rejected() {
    let mut rng = DetRng::seed_from_u64(2);
    for format in FORMATS {
        let f = flow(&mut rng);
        let err = Verifier::new()
            .verify(&through(&f.root, format), b"root secret", &[through(&f.discharge, format)], &alice())
            .unwrap_err();
        assert!(matches!(err, VerifyError::DischargeNotBound { .. }), "{format}: {err}");
    }
}

#[test]
fn discharge_bound_to_another_root_is_rejected() {
    let mut rng = DetRng::seed_from_u64(3);
    let f = flow(&mut rng);
    let mut other = f.root.clone();
    other.add_first_party_caveat("user = alice").unwrap();
    let bound_elsewhere = other.bind_discharge(&f.discharge);
    let err = Verifier::new().verify(&f.root, b"root secret", &[bound_elsewhere], &alice()).unwrap_err();
    assert!(matches!(err, VerifyError::BadDischargeSignature { .. }), "{err}");
}

#[test]
fn missing_discharge_is_rejected() {
    let mut rng = DetRng::seed_from_u64(4);
    for format in FORMATS {
        let f = flow(&mut rng);
        let err =
            Verifier::new().verify(&through(&f.root, format), b"root secret", &[], &alice()).unwrap_err();
        assert_eq!(err.to_string(), "third-party caveat \"is-alice\" at \"void://auth\" has no discharge");
    }
}

#[test]
fn discharge_minted_with_the_wrong_key_is_rejected() {
    let mut rng = DetRng::seed_from_u64(5);
    for format in FORMATS {
        let f = flow(&mut rng);
        let forged = Macaroon::mint(b"guessed key", "is-alice", "void://auth").unwrap();
        let bound = through(&f.root.bind_discharge(&forged), format);
        let err = Verifier::new()
            .verify(&through(&f.root, format), b"root secret", &[bound], &alice())
            .unwrap_err();
        assert!(matches!(err, VerifyError::BadDischargeSignature { .. }), "{format}: {err}");
    }
}

#[test]
fn a_discharge_is_used_at_most_once() {
    let mut rng = DetRng::seed_from_u64(6);
    for format in FORMATS {
        let mut f = flow(&mut rng);
        // A second third-party caveat with the same identifier needs its own discharge.
        f.root
            .add_third_party_caveat_with_rng("void://auth", b"shared with auth", "is-alice", &mut rng)
            .unwrap();
        let bound = through(&f.root.bind_discharge(&f.discharge), format);
        let root = through(&f.root, format);
        let err = Verifier::new()
            .verify(&root, b"root secret", std::slice::from_ref(&bound), &alice())
            .unwrap_err();
        assert!(matches!(err, VerifyError::DischargeReused { .. }), "{format}: {err}");
        // Two copies of the discharge satisfy both caveats.
        Verifier::new().verify(&root, b"root secret", &[bound.clone(), bound], &alice()).unwrap();
    }
}

#[test]
fn an_unused_discharge_is_rejected() {
    let mut rng = DetRng::seed_from_u64(7);
    let f = flow(&mut rng);
    let bound = f.root.bind_discharge(&f.discharge);
    let stray = f.root.bind_discharge(&Macaroon::mint(b"x", "stray", "").unwrap());
    let err = Verifier::new().verify(&f.root, b"root secret", &[bound, stray], &alice()).unwrap_err();
    assert_eq!(err.to_string(), "discharge \"stray\" was not used by any third-party caveat");
}

#[test]
fn nested_discharges_verify_and_depth_is_bounded() {
    let mut rng = DetRng::seed_from_u64(8);
    let f = flow(&mut rng);
    // The auth service's discharge itself requires a discharge from a second party.
    let mut d1 = f.discharge.clone();
    d1.add_third_party_caveat_with_rng("void://mfa", b"mfa secret", "mfa-ok", &mut rng).unwrap();
    let d2 = Macaroon::mint(b"mfa secret", "mfa-ok", "void://mfa").unwrap();
    let bound = [f.root.bind_discharge(&d1), f.root.bind_discharge(&d2)];
    let mut v = Verifier::new();
    v.verify(&f.root, b"root secret", &bound, &alice()).unwrap();
    v.set_max_depth(1);
    assert!(matches!(
        v.verify(&f.root, b"root secret", &bound, &alice()),
        Err(VerifyError::TooDeep { max: 1 })
    ));
}

#[test]
fn consumed_nonce_blocks_the_second_use() {
    let mut m = Macaroon::mint(b"root secret", "once", "").unwrap();
    m.add_first_party_caveat("nonce = 4f2a").unwrap();
    let mut consumed = BTreeSet::new();
    let v = Verifier::new();
    v.verify(&m, b"root secret", &[], &Context::new().nonces(&consumed)).unwrap();
    consumed.insert("4f2a".to_string());
    let err = v.verify(&m, b"root secret", &[], &Context::new().nonces(&consumed)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "caveat \"nonce = 4f2a\" not satisfied: nonce \"4f2a\" was already consumed (the token is use-once)"
    );
}

#[test]
fn unknown_caveat_needs_a_host_verifier() {
    let mut m = Macaroon::mint(b"k", "id", "").unwrap();
    m.add_first_party_caveat("tier = gold").unwrap();
    let mut v = Verifier::new();
    let err = v.verify(&m, b"k", &[], &Context::new()).unwrap_err();
    assert_eq!(err.to_string(), "caveat \"tier = gold\" is not understood: no verifier is registered for it");
    v.register(|caveat: &str, ctx: &Context<'_>| match caveat.strip_prefix("tier = ") {
        Some(t) if ctx.facts.get("tier").map(String::as_str) == Some(t) => void_core::caps::Check::Satisfied,
        Some(_) => void_core::caps::Check::Unsatisfied("tier differs".into()),
        None => void_core::caps::Check::NotMine,
    });
    v.verify(&m, b"k", &[], &Context::new().fact("tier", "gold")).unwrap();
    assert!(v.verify(&m, b"k", &[], &Context::new().fact("tier", "bronze")).is_err());
}

#[test]
fn time_caveat_reason_names_the_caveat_and_the_clock() {
    let mut m = Macaroon::mint(b"k", "id", "").unwrap();
    m.add_first_party_caveat("time < 1700000000").unwrap();
    let err = Verifier::new().verify(&m, b"k", &[], &Context::new().now(1_700_000_500)).unwrap_err();
    assert_eq!(err.to_string(), "caveat \"time < 1700000000\" not satisfied: now is 1700000500");
}

#[test]
fn forged_token_is_reported_as_a_bad_signature_not_by_its_caveat() {
    let mut m = Macaroon::mint(b"k", "id", "").unwrap();
    m.add_first_party_caveat("time < 1").unwrap();
    let err = Verifier::new().verify(&m, b"not k", &[], &Context::new().now(5)).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
}
