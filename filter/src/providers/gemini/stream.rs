use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view;

#[derive(Debug, Default)]
pub struct Fold {
    response: view::Response,
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    pub fn on_frame(&mut self, _frame: &Frame) -> FrameAction {
        FrameAction::Forward // HELPER: replace
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }
}
