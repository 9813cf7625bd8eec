//! Token usage, prices and cost.

pub mod metrics;
pub mod prices;
pub mod record;
pub mod tokens;
