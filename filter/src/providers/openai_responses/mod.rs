pub mod request;
pub mod response;
pub mod stream;

#[cfg(test)]
mod tests;
