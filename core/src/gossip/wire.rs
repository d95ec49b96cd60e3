//! Gossip frames: a version byte, then the postcard encoding of one [`GossipMsg`].
//! Decoding bounds every size before trusting it and never panics on hostile bytes.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::msg::GossipMsg;
use super::plumtree::MAX_IHAVE;

pub const FRAME_VERSION: u8 = 1;
/// Largest frame accepted, checked before decoding.
pub const MAX_FRAME: usize = 64 * 1024;
/// Largest broadcast payload.
pub const MAX_PAYLOAD: usize = 16 * 1024;
/// Largest node list in a SHUFFLE or SHUFFLEREPLY.
pub const MAX_SHUFFLE_NODES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("empty frame")]
    Empty,
    #[error("frame of {len} bytes exceeds the limit of {MAX_FRAME}")]
    TooLarge { len: usize },
    #[error("unknown frame version {0} (expected {FRAME_VERSION})")]
    Version(u8),
    #[error("malformed gossip message: {0}")]
    Malformed(String),
    #[error("{0} trailing byte(s) after the message")]
    Trailing(usize),
    #[error("{what}: {len} exceeds the limit of {max}")]
    Bounds { what: &'static str, len: usize, max: usize },
}

/// Check the sizes a peer controls (also applied to typed messages in the simulator).
pub fn check_bounds(msg: &GossipMsg) -> Result<(), FrameError> {
    let (what, len, max) = match msg {
        GossipMsg::Shuffle { nodes, .. } | GossipMsg::ShuffleReply { nodes } => {
            ("shuffle node list", nodes.len(), MAX_SHUFFLE_NODES)
        }
        GossipMsg::IHave { announcements } => ("IHAVE announcements", announcements.len(), MAX_IHAVE),
        GossipMsg::Gossip { payload, .. } => ("GOSSIP payload", payload.len(), MAX_PAYLOAD),
        _ => return Ok(()),
    };
    if len > max { Err(FrameError::Bounds { what, len, max }) } else { Ok(()) }
}

pub fn encode_frame(msg: &GossipMsg) -> Result<Vec<u8>, FrameError> {
    check_bounds(msg)?;
    let mut out = alloc::vec![FRAME_VERSION];
    let out = postcard::to_extend(msg, core::mem::take(&mut out))
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    if out.len() > MAX_FRAME {
        return Err(FrameError::TooLarge { len: out.len() });
    }
    Ok(out)
}

pub fn decode_frame(bytes: &[u8]) -> Result<GossipMsg, FrameError> {
    if bytes.len() > MAX_FRAME {
        return Err(FrameError::TooLarge { len: bytes.len() });
    }
    let (&version, body) = bytes.split_first().ok_or(FrameError::Empty)?;
    if version != FRAME_VERSION {
        return Err(FrameError::Version(version));
    }
    let (msg, rest) =
        postcard::take_from_bytes::<GossipMsg>(body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(FrameError::Trailing(rest.len()));
    }
    check_bounds(&msg)?;
    Ok(msg)
}
