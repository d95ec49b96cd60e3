//! The caveat language Void's default verifier understands (DESIGN.md):
//!
//! | caveat | satisfied when |
//! |---|---|
//! | `user = X` | the context's user is X |
//! | `op = X` | the context's op is X (`op = a,b` allows any of the listed ops) |
//! | `ip = A` or `ip = A/N` | the client address is A, or lies in the CIDR block (IPv4 or IPv6) |
//! | `time < T`, `time > T` | the current UNIX time (seconds) is before / after T |
//! | `key-prefix = P` | the key acted on starts with P |
//! | `nonce = X` | X has not been consumed yet (a use-once token) |
//!
//! Other conditions are not claimed here, so a host verifier or nothing decides them.

use alloc::format;
use alloc::string::String;
use core::net::IpAddr;

use super::verify::{Check, Context};

/// The condition names this language claims.
pub const CONDITIONS: [&str; 6] = ["user", "op", "ip", "time", "key-prefix", "nonce"];

fn malformed(name: &str, expected: &str) -> Check {
    Check::Unsatisfied(format!("malformed {name} caveat; expected `{expected}`"))
}

fn equals(name: &str, want: &str, have: Option<&str>) -> Check {
    match have {
        Some(h) if h == want => Check::Satisfied,
        Some(h) => Check::Unsatisfied(format!("{name} is {h:?}")),
        None => Check::Unsatisfied(format!("no {name} in the context")),
    }
}

/// Parses `A` or `A/N` and tells whether `ip` is inside.
fn ip_matches(spec: &str, ip: IpAddr) -> Result<bool, String> {
    let bad = || format!("{spec:?} is not an IP address or CIDR block");
    let (addr, bits) = match spec.split_once('/') {
        Some((a, n)) => (a, Some(n.parse::<u32>().map_err(|_| bad())?)),
        None => (spec, None),
    };
    let net: IpAddr = addr.parse().map_err(|_| bad())?;
    let ip = ip.to_canonical();
    let (net, ip, width) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            (u128::from(u32::from(n)) << 96, u128::from(u32::from(i)) << 96, 32)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        // A family mismatch is a non-match, after checking the spec itself is well formed.
        (IpAddr::V4(_), _) => {
            return if bits.is_some_and(|b| b > 32) { Err(bad()) } else { Ok(false) };
        }
        (IpAddr::V6(_), _) => {
            return if bits.is_some_and(|b| b > 128) { Err(bad()) } else { Ok(false) };
        }
    };
    let bits = bits.unwrap_or(width);
    if bits > width {
        return Err(bad());
    }
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    Ok(net & mask == ip & mask)
}

/// Why `caveat` names a condition of this language but can never be satisfied (it is
/// malformed), or `None`: a token carrying it would be refused by every verifier.
pub fn malformed_reason(caveat: &str) -> Option<String> {
    // `op=get`: one of ours written without the spaces the language puts around its operator.
    if let Some(name) = CONDITIONS
        .iter()
        .find(|n| caveat.strip_prefix(**n).is_some_and(|rest| rest.starts_with(['=', '<', '>'])))
    {
        let rest = &caveat[name.len()..];
        let (op, value) = rest.split_at(1);
        return Some(format!("write it `{name} {op} {}`, with a space on each side of `{op}`", value.trim()));
    }
    let (name, rest) = caveat.split_once(' ')?;
    if !CONDITIONS.contains(&name) {
        return None;
    }
    let Some((op, value)) = rest.split_once(' ') else {
        return Some(format!("a {name} caveat is `{name} <op> <value>`"));
    };
    if value.trim().is_empty() {
        return Some(format!("the {name} caveat has no value"));
    }
    match (name, op) {
        ("time", "<" | ">") => value.parse::<u64>().is_err().then(|| {
            format!("{value:?} is not a UNIX time in seconds (for a date: `date -d 2030-01-01 +%s`)")
        }),
        ("time", _) => Some("a time caveat is `time < UNIX` or `time > UNIX`".into()),
        ("ip", "=") => ip_matches(value, IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED)).err(),
        (_, "=") => None,
        _ => Some(format!("a {name} caveat is `{name} = <value>`")),
    }
}

/// Checks `caveat` against the built-in language; [`Check::NotMine`] for other conditions.
pub fn check(caveat: &str, ctx: &Context<'_>) -> Check {
    let Some((name, rest)) = caveat.split_once(' ') else {
        return Check::NotMine;
    };
    if !CONDITIONS.contains(&name) {
        return Check::NotMine;
    }
    let Some((op, value)) = rest.split_once(' ') else {
        return malformed(name, "<name> <op> <value>");
    };
    match (name, op) {
        ("user", "=") => equals("user", value, ctx.user.as_deref()),
        ("op", "=") => match ctx.op.as_deref() {
            Some(have) if value.split(',').any(|v| v.trim() == have) => Check::Satisfied,
            have => equals("op", value, have),
        },
        ("key-prefix", "=") => match ctx.key.as_deref() {
            Some(k) if k.starts_with(value) => Check::Satisfied,
            Some(k) => Check::Unsatisfied(format!("key is {k:?}")),
            None => Check::Unsatisfied("no key in the context".into()),
        },
        ("ip", "=") => match ctx.ip {
            None => Check::Unsatisfied("no ip in the context".into()),
            Some(ip) => match ip_matches(value, ip) {
                Ok(true) => Check::Satisfied,
                Ok(false) => Check::Unsatisfied(format!("ip is {ip}")),
                Err(e) => Check::Unsatisfied(e),
            },
        },
        ("time", "<" | ">") => {
            let Ok(bound) = value.parse::<u64>() else {
                return Check::Unsatisfied(format!("{value:?} is not a UNIX time in seconds"));
            };
            match ctx.now {
                None => Check::Unsatisfied("no current time in the context".into()),
                Some(now) if (op == "<" && now < bound) || (op == ">" && now > bound) => Check::Satisfied,
                Some(now) => Check::Unsatisfied(format!("now is {now}")),
            }
        }
        ("nonce", "=") => match ctx.nonces {
            None => Check::Unsatisfied("no consumed-nonce set to check it against".into()),
            Some(store) if store.is_consumed(value) => {
                Check::Unsatisfied(format!("nonce {value:?} was already consumed (the token is use-once)"))
            }
            Some(_) => Check::Satisfied,
        },
        ("time", _) => malformed(name, "time < UNIX` or `time > UNIX"),
        _ => malformed(name, &format!("{name} = <value>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;

    fn ip(s: &str) -> Context<'static> {
        Context::new().ip(s.parse().unwrap())
    }

    #[test]
    fn malformed_caveats_of_the_language_are_named_and_others_left_alone() {
        for bad in ["time < tomorrow", "time = 5", "op =", "op = ", "ip = 300.1.1.1", "user < x"] {
            assert!(malformed_reason(bad).is_some(), "{bad}");
        }
        // Ours without the spaces: the fix is named.
        assert_eq!(
            malformed_reason("op=get").as_deref(),
            Some("write it `op = get`, with a space on each side of `=`")
        );
        assert!(malformed_reason("time<1767225600").is_some_and(|w| w.contains("`time < 1767225600`")));
        assert_eq!(malformed_reason("opaque=1"), None);
        for good in
            ["time < 1767225600", "op = get,put", "ip = 10.0.0.0/8", "user = alice", "garbage", "tier = gold"]
        {
            assert_eq!(malformed_reason(good), None, "{good}");
        }
    }

    #[test]
    fn cidr_blocks_match_both_families() {
        assert_eq!(check("ip = 10.1.0.0/16", &ip("10.1.200.3")), Check::Satisfied);
        assert!(matches!(check("ip = 10.1.0.0/16", &ip("10.2.0.1")), Check::Unsatisfied(_)));
        assert_eq!(check("ip = 2001:db8::/32", &ip("2001:db8::7")), Check::Satisfied);
        assert!(matches!(check("ip = 2001:db8::/32", &ip("2001:db9::7")), Check::Unsatisfied(_)));
        assert_eq!(check("ip = 0.0.0.0/0", &ip("8.8.8.8")), Check::Satisfied);
        assert_eq!(check("ip = 127.0.0.1", &ip("::ffff:127.0.0.1")), Check::Satisfied);
        assert!(matches!(check("ip = 10.0.0.0/16", &ip("::1")), Check::Unsatisfied(_)));
        assert!(
            matches!(check("ip = 10.0.0.0/33", &ip("10.0.0.1")), Check::Unsatisfied(r) if r.contains("CIDR"))
        );
    }

    #[test]
    fn expired_time_caveat_is_rejected() {
        let ctx = Context::new().now(1_700_000_500);
        assert_eq!(check("time < 1700000000", &ctx), Check::Unsatisfied("now is 1700000500".into()));
        assert_eq!(check("time > 1700000000", &ctx), Check::Satisfied);
        assert!(matches!(check("time < soon", &ctx), Check::Unsatisfied(_)));
        assert!(matches!(check("time = 5", &ctx), Check::Unsatisfied(_)));
    }

    #[test]
    fn ops_and_prefixes() {
        let ctx = Context::new().op("write").key("/res/a");
        assert_eq!(check("op = read,write", &ctx), Check::Satisfied);
        assert!(matches!(check("op = read", &ctx), Check::Unsatisfied(_)));
        assert_eq!(check("key-prefix = /res", &ctx), Check::Satisfied);
        assert!(matches!(check("key-prefix = /other", &ctx), Check::Unsatisfied(_)));
        assert_eq!(check("account = 1", &ctx), Check::NotMine);
        assert!(matches!(check("user = bob", &ctx), Check::Unsatisfied(r) if r == "no user in the context"));
    }

    #[test]
    fn consumed_nonce_fails() {
        let mut set = BTreeSet::new();
        set.insert(String::from("n1"));
        let ctx = Context::new().nonces(&set);
        assert!(matches!(check("nonce = n1", &ctx), Check::Unsatisfied(_)));
        assert_eq!(check("nonce = n2", &ctx), Check::Satisfied);
        assert!(matches!(check("nonce = n2", &Context::new()), Check::Unsatisfied(_)));
    }
}
