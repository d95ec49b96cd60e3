//! Macaroons: `void_core::caps` against the `macaroon` crate (macaroon-rs over libsodium via
//! sodiumoxide), side by side in one run. Both verify with an already derived root key.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use void_core::caps::{Context, Format, Macaroon, Verifier, crypto};

const SECRET: &[u8] = b"this is our super secret key; only we should know it";
const CAVEATS: [&str; 5] =
    ["account = 3735928559", "user = alice", "op = read", "key-prefix = /accounts", "tier = gold"];

fn ours() -> Macaroon {
    let mut m = Macaroon::mint(SECRET, "we used our secret key", "http://mybank/").unwrap();
    for c in CAVEATS {
        m.add_first_party_caveat(c).unwrap();
    }
    m
}

fn theirs() -> macaroon::Macaroon {
    let key = macaroon::MacaroonKey::generate(SECRET);
    let mut m =
        macaroon::Macaroon::create(Some("http://mybank/".into()), &key, "we used our secret key".into())
            .unwrap();
    for c in CAVEATS {
        m.add_first_party_caveat(c.into());
    }
    m
}

fn bench(c: &mut Criterion) {
    macaroon::initialize().unwrap();
    let root_key = crypto::derive_key(SECRET);
    let their_key = macaroon::MacaroonKey::generate(SECRET);
    // The same token from both implementations (macaroon-rs pads its base64, we do not).
    let token = ours().serialize(Format::V2).unwrap();
    assert_eq!(token, theirs().serialize(macaroon::Format::V2).unwrap().trim_end_matches('='));

    let mut verifier = Verifier::bare();
    for c in CAVEATS {
        verifier.satisfy_exact(c);
    }
    let mut their_verifier = macaroon::Verifier::default();
    for c in CAVEATS {
        their_verifier.satisfy_exact(c.into());
    }
    let ctx = Context::new();

    let mut g = c.benchmark_group("macaroon/verify_v2_5_caveats");
    g.bench_function("void", |b| {
        b.iter(|| {
            let (m, _) = Macaroon::deserialize(black_box(&token)).unwrap();
            verifier.verify_raw(&m, &root_key, &[], &ctx).unwrap();
        })
    });
    g.bench_function("macaroon-rs", |b| {
        b.iter(|| {
            let m = macaroon::Macaroon::deserialize(black_box(&token)).unwrap();
            their_verifier.verify(&m, &their_key, Vec::new()).unwrap();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("macaroon/mint");
    g.bench_function("void", |b| {
        b.iter(|| {
            Macaroon::mint_raw(black_box(&root_key), "we used our secret key", "http://mybank/").unwrap()
        })
    });
    g.bench_function("macaroon-rs", |b| {
        b.iter(|| {
            macaroon::Macaroon::create(
                Some("http://mybank/".into()),
                black_box(&their_key),
                "we used our secret key".into(),
            )
            .unwrap()
        })
    });
    g.finish();

    let (base, _) = Macaroon::deserialize(&token).unwrap();
    let their_base = macaroon::Macaroon::deserialize(&token).unwrap();
    let mut g = c.benchmark_group("macaroon/attenuate");
    g.bench_function("void", |b| {
        b.iter(|| {
            let mut m = base.clone();
            m.add_first_party_caveat(black_box("time < 1700000000")).unwrap();
            m
        })
    });
    g.bench_function("macaroon-rs", |b| {
        b.iter(|| {
            let mut m = their_base.clone();
            m.add_first_party_caveat(black_box("time < 1700000000").into());
            m
        })
    });
    g.finish();

    let mut g = c.benchmark_group("macaroon/deserialize_v2");
    g.bench_function("void", |b| b.iter(|| Macaroon::deserialize(black_box(&token)).unwrap()));
    g.bench_function("macaroon-rs", |b| {
        b.iter(|| macaroon::Macaroon::deserialize(black_box(&token)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
