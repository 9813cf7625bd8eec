pub mod refusal;
pub mod request;
pub mod response;
pub mod stream;
pub mod via_chat;
