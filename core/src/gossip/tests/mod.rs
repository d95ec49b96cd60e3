mod hyparview;
mod plumtree;
mod scenarios;
mod wire;

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Config, GossipNode, Params};
use crate::effect::{DetRng, Effect, Env, Input, NodeId, Protocol};
use crate::sim::{Scenario, Sim, load_builtin};

/// A builtin scenario with overrides, as `void sim NAME --nodes N --param k=v` builds it.
pub(super) fn scenario(name: &str, nodes: Option<u32>, params: &[(&str, &str)]) -> Scenario {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    Scenario::from_json_with(load_builtin(name).unwrap(), nodes, &params).unwrap()
}

pub(super) fn run(s: &Scenario, seed: u64) -> Sim<GossipNode> {
    let mut sim = super::simulate(s, seed, false).unwrap();
    crate::sim::AnySim::run_to_end(&mut sim);
    sim
}

pub(super) fn config(nodes: u32, f: impl FnOnce(&mut Params)) -> Rc<Config> {
    let mut p = Params::default();
    f(&mut p);
    Rc::new(p.resolve(nodes).unwrap())
}

/// Feed one input to a lone node and collect its effects.
pub(super) fn feed(
    node: &mut GossipNode,
    input: Input<GossipNode>,
    now: u64,
    rng: &mut DetRng,
) -> Vec<Effect<GossipNode>> {
    let mut out = Vec::new();
    let mut env = Env { now, rng, me: node.id() };
    node.on_input(input, &mut env, &mut out);
    out
}

pub(super) fn sends(out: &[Effect<GossipNode>]) -> Vec<(NodeId, super::GossipMsg)> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}
