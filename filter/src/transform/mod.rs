//! Rewrites of request content that save tokens. Each transform decides on the neutral view's
//! text and returns what to put back; the provider applies it in its own shape.

pub mod toon;
