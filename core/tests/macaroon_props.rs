//! Properties of macaroons and proptest-driven fuzzing of every decoder. The case count is
//! modest by default; `VOID_FUZZ_CASES=1000000` turns the fuzz tests into a soak run.

use proptest::prelude::*;
use void_core::caps::{Context, Format, Macaroon, Verifier};
use void_core::effect::DetRng;

fn fuzz_cases() -> u32 {
    std::env::var("VOID_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

const FORMATS: [Format; 4] = [Format::V1, Format::V2, Format::V2Json, Format::V1Json];

/// Caveats from the built-in language, some holding in [`ctx`] and some not, plus unknown ones.
fn caveat() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("op = read".to_string()),
        Just("op = write".to_string()),
        Just("user = alice".to_string()),
        Just("user = bob".to_string()),
        (0u64..3_000).prop_map(|t| format!("time < {t}")),
        (0u64..3_000).prop_map(|t| format!("time > {t}")),
        Just("key-prefix = /a".to_string()),
        Just("key-prefix = /b".to_string()),
        Just("ip = 10.0.0.0/8".to_string()),
        Just("tier = gold".to_string()),
    ]
}

fn ctx() -> Context<'static> {
    Context::new().op("read").user("alice").now(1_500).key("/a/x").ip("10.1.2.3".parse().unwrap())
}

/// A token with first-party caveats and, sometimes, a third-party caveat with its bound discharge.
fn token(caveats: &[String], third_party: bool, seed: u64) -> (Macaroon, Vec<Macaroon>) {
    let mut m = Macaroon::mint(b"root", "id", "loc").unwrap();
    for c in caveats {
        m.add_first_party_caveat(c).unwrap();
    }
    let mut discharges = Vec::new();
    if third_party {
        let mut rng = DetRng::seed_from_u64(seed);
        m.add_third_party_caveat_with_rng("auth", b"tp key", "tp", &mut rng).unwrap();
        let mut d = Macaroon::mint(b"tp key", "tp", "auth").unwrap();
        d.add_first_party_caveat("user = alice").unwrap();
        discharges.push(m.bind_discharge(&d));
    }
    (m, discharges)
}

/// The parts the signature covers; a mutation that keeps these keeps the same authority.
type SignedParts = (Vec<u8>, Vec<(Vec<u8>, Option<Vec<u8>>)>, [u8; 32]);

fn signed_parts(m: &Macaroon) -> SignedParts {
    let caveats = m.caveats().iter().map(|c| (c.identifier.clone(), c.verification_id.clone())).collect();
    (m.identifier().to_vec(), caveats, *m.signature())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn adding_caveats_never_turns_an_invalid_token_valid(
        first in prop::collection::vec(caveat(), 0..6),
        more in prop::collection::vec(caveat(), 1..4),
        key_ok in any::<bool>(),
        third_party in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let (mut m, discharges) = token(&first, third_party, seed);
        let key: &[u8] = if key_ok { b"root" } else { b"wrong" };
        let v = Verifier::new();
        let before = v.verify(&m, key, &discharges, &ctx());
        // Discharges must be re-bound after attenuation, as a holder would do.
        let unbound: Vec<Macaroon> = discharges.iter().map(|_| {
            let mut d = Macaroon::mint(b"tp key", "tp", "auth").unwrap();
            d.add_first_party_caveat("user = alice").unwrap();
            d
        }).collect();
        for c in &more {
            m.add_first_party_caveat(c).unwrap();
        }
        let rebound: Vec<Macaroon> = unbound.iter().map(|d| m.bind_discharge(d)).collect();
        let after = v.verify(&m, key, &rebound, &ctx());
        if before.is_err() {
            prop_assert!(after.is_err(), "became valid after adding {more:?}");
        }
    }

    #[test]
    fn flipping_a_byte_never_forges_authority(
        caveats in prop::collection::vec(caveat(), 0..4),
        third_party in any::<bool>(),
        format_index in 0usize..4,
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        seed in any::<u64>(),
    ) {
        let (m, discharges) = token(&caveats, third_party, seed);
        let format = FORMATS[format_index];
        let mut bytes = m.serialize(format).unwrap().into_bytes();
        let i = position.index(bytes.len());
        bytes[i] ^= flip;
        let text = String::from_utf8_lossy(&bytes);
        if let Ok((mutated, _)) = Macaroon::deserialize(&text) {
            let verdict = Verifier::new().verify(&mutated, b"root", &discharges, &ctx());
            if verdict.is_ok() {
                // Only unsigned bytes (locations, alphabet or JSON spelling) may have changed.
                prop_assert_eq!(signed_parts(&mutated), signed_parts(&m));
            }
        }
    }
}

/// Valid tokens to mutate, one per format, with third-party caveats.
fn seeds() -> Vec<String> {
    let caveats = vec!["op = read".to_string(), "time < 2000".to_string()];
    let (m, d) = token(&caveats, true, 9);
    FORMATS.iter().flat_map(|&f| [m.serialize(f).unwrap(), d[0].serialize(f).unwrap()]).collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match m {
        Mutation::Flip(i, b) => {
            let i = i.index(bytes.len());
            bytes[i] ^= b;
        }
        Mutation::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
        Mutation::Delete(i) => {
            bytes.remove(i.index(bytes.len()));
        }
        Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
    }
}

/// Decoding then verifying must return, never panic.
fn exercise(text: &str) {
    if let Ok((m, _)) = Macaroon::deserialize(text) {
        let _ = Verifier::new().verify(&m, b"root", &[], &ctx());
        for f in FORMATS {
            if let Ok(again) = m.serialize(f) {
                assert_eq!(Macaroon::deserialize(&again).map(|(m, _)| m).ok(), Some(m.clone()));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    #[test]
    fn fuzz_text_decoder_random_input(s in "\\PC{0,300}") {
        exercise(&s);
    }

    #[test]
    fn fuzz_v1_decoder(bytes in prop::collection::vec(any::<u8>(), 0..400), lead in "[0-9a-f]{4}") {
        use base64::Engine as _;
        let mut packet = lead.into_bytes();
        packet.extend_from_slice(&bytes);
        exercise(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&packet));
    }

    #[test]
    fn fuzz_v2_decoder(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut raw = vec![2u8];
        raw.extend_from_slice(&bytes);
        if let Ok(m) = Macaroon::from_v2_bytes(&raw) {
            assert_eq!(Macaroon::from_v2_bytes(&m.to_v2_bytes()).ok(), Some(m));
        }
        let _ = Macaroon::from_v2_bytes(&bytes);
    }

    #[test]
    fn fuzz_json_decoder(body in "[\\[\\]{}\",:0-9a-z_ ]{0,200}", n in 0usize..8) {
        let keys = ["\"v\":2", "\"i\":\"x\"", "\"i64\":\"eA\"", "\"s64\":\"AA\"", "\"c\":[", "\"identifier\":\"x\"", "\"l\":1", "{"];
        exercise(&format!("{{{}{body}", keys[n]));
    }

    #[test]
    fn fuzz_mutated_valid_tokens(which in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..6)) {
        let seeds = seeds();
        let mut bytes = seeds[which.index(seeds.len())].clone().into_bytes();
        for m in &muts {
            apply(&mut bytes, m);
        }
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fuzz_mutated_v2_binary(muts in prop::collection::vec(mutation(), 1..6)) {
        let (m, _) = token(&["op = read".to_string()], true, 1);
        let mut bytes = m.to_v2_bytes();
        for mu in &muts {
            apply(&mut bytes, mu);
        }
        let _ = Macaroon::from_v2_bytes(&bytes);
    }
}

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let big = "A".repeat(void_core::caps::MAX_TOKEN_BYTES + 1);
    assert!(matches!(Macaroon::deserialize(&big), Err(void_core::caps::DecodeError::TooLarge { .. })));
}
