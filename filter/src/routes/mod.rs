//! Route classification.
