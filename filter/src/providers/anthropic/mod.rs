pub mod error;
pub mod refusal;
pub mod request;
pub mod response;
pub mod stream;
