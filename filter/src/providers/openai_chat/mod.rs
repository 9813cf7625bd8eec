pub mod error;
pub mod request;
pub mod response;
pub mod stream;

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
