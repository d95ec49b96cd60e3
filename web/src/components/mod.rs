//! The playground's views, one component per file. They read a [`crate::model::Snapshot`]
//! and send [`crate::model::Action`]s; none keeps simulation state of its own.

mod app;
mod canvas;
mod cluster;
mod editor;
mod events;
mod gesture;
mod inspector;
mod invariants;
mod live;
mod menu;
mod metrics;
mod recording;
mod spacetime;
mod timeline;
mod topbar;

pub use app::{App, LARGE_TEXT_KEY};
pub use cluster::{
    Arrangement, ClusterView, default_arrangement, overlay_links, ring_position, ring_positions, tree_links,
};
pub use editor::ScenarioEditor;
pub use events::EventLine;
pub use gesture::{Drag, inside, lassoed, nearest_node};
pub use inspector::Inspector;
pub use invariants::Invariants;
pub use live::LivePanel;
pub use menu::{LinkMenu, NodeMenu};
pub use metrics::MetricsDrawer;
pub use recording::RecordingBar;
pub use spacetime::{MAX_LANES, SpaceTime, lanes};
pub use timeline::Timeline;
pub use topbar::{LiveBar, TopBar, speed_to_slider};
