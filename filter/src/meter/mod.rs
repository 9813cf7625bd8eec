//! Tokens, prices, cost.
