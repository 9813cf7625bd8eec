//! Token usage, prices and cost.

pub mod prices;
pub mod metrics;
pub mod record;
pub mod tokens;
