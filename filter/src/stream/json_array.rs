use super::{Frame, StreamError};

#[derive(Debug)]
pub struct Decoder {
    limit: usize,
}

impl Decoder {
    pub fn new(limit: usize) -> Self {
        Decoder { limit }
    }

    pub fn push(&mut self, _chunk: &[u8], _out: &mut Vec<Frame>) -> Result<(), StreamError> {
        let _ = self.limit;
        Err(StreamError::Malformed("HELPER: not yet implemented"))
    }

    pub fn finish(&mut self, _out: &mut Vec<Frame>) -> Result<Vec<u8>, StreamError> {
        Ok(Vec::new())
    }
}
