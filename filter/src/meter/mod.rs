//! Token usage, prices and cost.

pub mod agents;
pub mod limits;
pub mod metrics;
pub mod prices;
pub mod record;
pub mod tokens;
pub mod trace;
