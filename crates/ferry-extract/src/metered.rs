//! Extractor calls as the process's metrics recorder sees them (rendered at `GET /metrics`):
//! the registry hands out every extractor wrapped in [`Metered`], so each call — from a
//! trigger, a migration's re-extraction or a retriever's query — is counted by outcome and
//! timed, whoever makes it.

use std::sync::Arc;
use std::time::Instant;

use ferry_wire::extractor::FeatureExtractorResponseModel;
use serde_json::{Map, Value};

use crate::{
    About, ExtractError, ExtractedChunk, Extractor, ExtractorInput, ParamError, VectorOutput,
};

/// An extractor that reports its calls; everything else is the inner extractor's.
pub(crate) struct Metered(pub(crate) Arc<dyn Extractor>);

#[async_trait::async_trait]
impl Extractor for Metered {
    fn about(&self) -> About {
        self.0.about()
    }

    fn own_parameter_schema(&self) -> Value {
        self.0.own_parameter_schema()
    }

    fn resolve_own_parameters(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>> {
        self.0.resolve_own_parameters(params)
    }

    fn vector_outputs(&self, resolved: &Map<String, Value>) -> Vec<VectorOutput> {
        self.0.vector_outputs(resolved)
    }

    async fn extract(
        &self,
        inputs: &[ExtractorInput],
        resolved: &Map<String, Value>,
    ) -> Result<Vec<Vec<ExtractedChunk>>, ExtractError> {
        let started = Instant::now();
        let result = self.0.extract(inputs, resolved).await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        let (name, version) = (self.name().to_owned(), self.version().to_owned());
        metrics::counter!("ferry_extractor_calls_total", "extractor" => name.clone(),
                          "version" => version.clone(), "outcome" => outcome)
        .increment(1);
        metrics::counter!("ferry_extractor_inputs_total", "extractor" => name.clone(),
                          "version" => version.clone())
        .increment(inputs.len() as u64);
        metrics::histogram!("ferry_extractor_duration_seconds", "extractor" => name,
                            "version" => version)
        .record(started.elapsed().as_secs_f64());
        result
    }

    fn id(&self) -> String {
        self.0.id()
    }

    fn feature_uri(&self, output: &str) -> String {
        self.0.feature_uri(output)
    }

    fn storage_name(&self, output: &str) -> String {
        self.0.storage_name(output)
    }

    fn output_fields(&self) -> Map<String, Value> {
        self.0.output_fields()
    }

    fn describe(&self) -> FeatureExtractorResponseModel {
        self.0.describe()
    }
}
