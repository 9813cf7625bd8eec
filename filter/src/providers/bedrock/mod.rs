pub mod error;
pub mod from_chat;
pub mod refusal;
pub mod request;
pub mod request_typed;
pub mod response;
pub mod stream;
