//! `warden.v1.Limits`: `Read` and `Add` over the Redis counters.

use super::{Counters, Increment};
use crate::error::LimitsError;
use std::sync::Arc;
use warden_proto::v1::limits_server::{Limits, LimitsServer};
use warden_proto::v1::{self as pb};

pub struct LimitsService {
    /// `None` when the sidecar's configuration has no `redis:` block.
    counters: Option<Arc<Counters>>,
}

impl LimitsService {
    pub fn new(counters: Option<Arc<Counters>>) -> LimitsServer<LimitsService> {
        LimitsServer::new(LimitsService { counters })
    }

    fn counters(&self) -> Result<&Counters, LimitsError> {
        self.counters.as_deref().ok_or(LimitsError::NotConfigured)
    }
}

#[tonic::async_trait]
impl Limits for LimitsService {
    async fn read(
        &self,
        request: tonic::Request<pb::CounterRead>,
    ) -> Result<tonic::Response<pb::CounterValues>, tonic::Status> {
        let micro_usd = self.counters()?.read(&request.get_ref().keys).await?;
        Ok(tonic::Response::new(pb::CounterValues { micro_usd }))
    }

    async fn add(
        &self,
        request: tonic::Request<pb::CounterAdd>,
    ) -> Result<tonic::Response<pb::CounterValues>, tonic::Status> {
        let increments: Vec<Increment> = request
            .into_inner()
            .increments
            .into_iter()
            .map(|i| Increment { key: i.key, micro_usd: i.micro_usd, ttl_secs: i.ttl_secs })
            .collect();
        let micro_usd = self.counters()?.add(&increments).await?;
        Ok(tonic::Response::new(pb::CounterValues { micro_usd }))
    }
}
