pub mod refusal;
pub mod request;
pub mod request_typed;
pub mod response;
pub mod stream;
pub mod via_chat;
