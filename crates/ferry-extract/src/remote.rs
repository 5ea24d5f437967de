//! `openai_embedding_extractor` v1: embeddings from any OpenAI-compatible `POST /embeddings`
//! endpoint (OpenAI, vLLM, Ollama, TEI …), so users can plug in real models.
//!
//! Requests time out; 429, 5xx and connection failures are retried with exponential backoff
//! and jitter, and a 429's `Retry-After` (seconds) is honoured, capped so one slow answer
//! cannot stall a batch for long.

use std::time::Duration;

use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::params::{boolean, int_at_least, known_keys, string, ParamError};
use crate::{
    About, ExtractError, ExtractedChunk, Extractor, ExtractorInput, InputKind, VectorOutput,
};

/// Longest wait one `Retry-After` may impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Server-level defaults for the remote extractor; collection parameters override them.
#[derive(Debug, Clone)]
pub struct RemoteEmbeddingConfig {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_retries: u32,
    /// First backoff; doubles per retry.
    pub initial_backoff: Duration,
}

impl Default for RemoteEmbeddingConfig {
    fn default() -> Self {
        RemoteEmbeddingConfig {
            base_url: None,
            model: None,
            api_key: None,
            timeout: Duration::from_secs(30),
            max_retries: 4,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

pub struct RemoteEmbeddingExtractor {
    config: RemoteEmbeddingConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
}

impl RemoteEmbeddingExtractor {
    pub fn new(config: RemoteEmbeddingConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        RemoteEmbeddingExtractor { config, http }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.initial_backoff * 2u32.saturating_pow(attempt);
        let jitter = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 2 + 1);
        base + Duration::from_millis(jitter)
    }

    /// One call to the endpoint, retried as the module comment says.
    async fn embed(
        &self,
        texts: &[String],
        resolved: &Map<String, Value>,
    ) -> Result<Vec<Vec<f32>>, ExtractError> {
        let base_url = resolved["base_url"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/');
        let dimensions = resolved["dimensions"].as_u64().unwrap_or(0) as usize;
        let mut body = json!({"model": resolved["model"], "input": texts});
        if resolved
            .get("send_dimensions")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            body["dimensions"] = Value::from(dimensions);
        }
        let api_key = resolved
            .get("api_key")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| self.config.api_key.clone());
        let mut attempt = 0;
        loop {
            let mut request = self.http.post(format!("{base_url}/embeddings")).json(&body);
            if let Some(key) = &api_key {
                request = request.bearer_auth(key);
            }
            let (retryable, status, message, wait) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let parsed: EmbeddingResponse =
                        response.json().await.map_err(|e| ExtractError::Remote {
                            status: Some(200),
                            message: format!("unreadable response: {e}"),
                        })?;
                    let mut data = parsed.data;
                    data.sort_by_key(|item| item.index);
                    if data.len() != texts.len() {
                        return Err(ExtractError::Remote {
                            status: Some(200),
                            message: format!(
                                "{} embeddings for {} inputs",
                                data.len(),
                                texts.len()
                            ),
                        });
                    }
                    if let Some(bad) = data.iter().find(|d| d.embedding.len() != dimensions) {
                        return Err(ExtractError::Remote {
                            status: Some(200),
                            message: format!(
                                "embedding of {} dimensions where the collection declares {dimensions}",
                                bad.embedding.len()
                            ),
                        });
                    }
                    return Ok(data.into_iter().map(|d| d.embedding).collect());
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                    let text = response.text().await.unwrap_or_default();
                    let retryable = status == 429 || status >= 500;
                    (retryable, Some(status), text, retry_after)
                }
                Err(e) => (true, None, e.to_string(), None),
            };
            if !retryable || attempt >= self.config.max_retries {
                return Err(ExtractError::Remote {
                    status,
                    message: format!("after {} attempt(s): {message}", attempt + 1),
                });
            }
            let wait = wait.unwrap_or_else(|| self.backoff(attempt));
            tracing::warn!(
                ?status,
                attempt,
                ?wait,
                "embedding endpoint failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[async_trait::async_trait]
impl Extractor for RemoteEmbeddingExtractor {
    fn about(&self) -> About {
        About {
            name: "openai_embedding_extractor",
            version: "v1",
            input_kind: InputKind::Text,
            description: "Text embeddings from an OpenAI-compatible /embeddings endpoint of \
                your choice",
        }
    }

    fn own_parameter_schema(&self) -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["dimensions"],
            "properties": {
                "base_url": {"type": "string", "description": "e.g. https://api.openai.com/v1; defaults to the server's configuration"},
                "model": {"type": "string", "description": "Model name; defaults to the server's configuration"},
                "dimensions": {"type": "integer", "minimum": 1, "description": "Dimension of the model's embeddings"},
                "send_dimensions": {"type": "boolean", "default": false, "description": "Send 'dimensions' in the request (models that can shorten embeddings)"},
                "api_key": {"type": "string", "description": "Bearer token; defaults to the server's configuration"}
            }
        })
    }

    fn resolve_own_parameters(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>> {
        let mut errors = Vec::new();
        known_keys(
            params,
            &[
                "base_url",
                "model",
                "dimensions",
                "send_dimensions",
                "api_key",
            ],
            &mut errors,
        );
        let base_url =
            string(params, "base_url", &mut errors).or_else(|| self.config.base_url.clone());
        let model = string(params, "model", &mut errors).or_else(|| self.config.model.clone());
        let api_key = string(params, "api_key", &mut errors);
        let dimensions = int_at_least(params, "dimensions", 1, None, &mut errors);
        let send_dimensions = boolean(params, "send_dimensions", &mut errors);
        match &base_url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {}
            Some(_) => errors.push(ParamError::new(
                "base_url",
                "url_scheme",
                "URL scheme should be 'http' or 'https'",
            )),
            None => errors.push(ParamError::new(
                "base_url",
                "missing",
                "Field required (no server default is configured)",
            )),
        }
        if model.is_none() {
            errors.push(ParamError::new(
                "model",
                "missing",
                "Field required (no server default is configured)",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut resolved = Map::new();
        resolved.insert("base_url".into(), Value::from(base_url));
        resolved.insert("model".into(), Value::from(model));
        resolved.insert("dimensions".into(), Value::from(dimensions));
        resolved.insert("send_dimensions".into(), Value::from(send_dimensions));
        if let Some(key) = api_key {
            resolved.insert("api_key".into(), Value::from(key));
        }
        Ok(resolved)
    }

    fn vector_outputs(&self, resolved: &Map<String, Value>) -> Vec<VectorOutput> {
        let dimension = resolved.get("dimensions").and_then(Value::as_u64);
        vec![VectorOutput::cosine(
            "text_embedding",
            dimension.unwrap_or(0) as usize,
        )]
    }

    async fn extract(
        &self,
        inputs: &[ExtractorInput],
        resolved: &Map<String, Value>,
    ) -> Result<Vec<Vec<ExtractedChunk>>, ExtractError> {
        let mut texts = Vec::with_capacity(inputs.len());
        for input in inputs {
            match input {
                ExtractorInput::Text(t) => texts.push(t.clone()),
                ExtractorInput::Image(_) => {
                    return Err(ExtractError::InvalidInput(
                        "openai_embedding_extractor reads text, not an image".into(),
                    ))
                }
            }
        }
        // Blank texts make no documents and are not sent.
        let wanted: Vec<usize> = (0..texts.len())
            .filter(|&i| !texts[i].trim().is_empty())
            .collect();
        let sent: Vec<String> = wanted.iter().map(|&i| texts[i].clone()).collect();
        let vectors = if sent.is_empty() {
            Vec::new()
        } else {
            self.embed(&sent, resolved).await?
        };
        let mut out = vec![Vec::new(); texts.len()];
        for (i, vector) in wanted.into_iter().zip(vectors) {
            out[i].push(ExtractedChunk {
                chunk_index: 0,
                text: Some(texts[i].clone()),
                vectors: vec![("text_embedding".into(), vector)],
                fields: Map::new(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::post;
    use axum::Json;

    use super::*;

    /// Serves `/embeddings` on loopback, answering with `respond(call_number, body)`.
    async fn mock<F>(respond: F) -> (String, Arc<AtomicUsize>)
    where
        F: Fn(usize, Value) -> axum::response::Response + Clone + Send + Sync + 'static,
    {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/embeddings",
            post(move |Json(body): Json<Value>| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let respond = respond.clone();
                async move { respond(n, body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), calls)
    }

    fn embeddings(body: &Value, dim: usize) -> axum::response::Response {
        let n = body["input"].as_array().unwrap().len();
        let data: Vec<Value> = (0..n)
            .rev()
            .map(|i| json!({"index": i, "embedding": vec![i as f32; dim]}))
            .collect();
        Json(json!({"data": data})).into_response()
    }

    fn extractor(retries: u32) -> RemoteEmbeddingExtractor {
        RemoteEmbeddingExtractor::new(RemoteEmbeddingConfig {
            max_retries: retries,
            initial_backoff: Duration::from_millis(10),
            ..Default::default()
        })
    }

    fn params(base_url: &str) -> Map<String, Value> {
        serde_json::from_value(json!({"base_url": base_url, "model": "m", "dimensions": 3}))
            .unwrap()
    }

    #[tokio::test]
    async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
        let (url, calls) = mock(|n, body| {
            if n == 0 {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    "slow down",
                )
                    .into_response()
            } else {
                embeddings(&body, 3)
            }
        })
        .await;
        let e = extractor(3);
        let resolved = e.resolve_parameters(&params(&url)).unwrap();
        let started = std::time::Instant::now();
        let out = e
            .extract(
                &[
                    ExtractorInput::Text("a".into()),
                    ExtractorInput::Text("b".into()),
                ],
                &resolved,
            )
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "Retry-After honoured"
        );
        assert_eq!(out[1][0].vectors[0].1, vec![1.0; 3], "ordered by index");
    }

    #[tokio::test]
    async fn persistent_5xx_fails_after_the_retries() {
        let (url, calls) = mock(|_, _| (StatusCode::BAD_GATEWAY, "down").into_response()).await;
        let e = extractor(2);
        let resolved = e.resolve_parameters(&params(&url)).unwrap();
        let err = e
            .extract(&[ExtractorInput::Text("a".into())], &resolved)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::Remote {
                    status: Some(502),
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3, "one call and two retries");
    }

    #[tokio::test]
    async fn request_carries_model_and_inputs_and_wrong_dimensions_fail() {
        let (url, _) = mock(|_, body| {
            assert_eq!(body["model"], "m");
            assert_eq!(body["input"], json!(["x"]));
            embeddings(&body, 5)
        })
        .await;
        let e = extractor(0);
        let resolved = e.resolve_parameters(&params(&url)).unwrap();
        let err = e
            .extract(&[ExtractorInput::Text("x".into())], &resolved)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("5 dimensions"), "{err}");
    }

    #[test]
    fn parameters_need_dimensions_and_an_http_url() {
        let e = extractor(0);
        let errors = e
            .resolve_parameters(
                &serde_json::from_value(json!({"base_url": "ftp://x", "model": "m"})).unwrap(),
            )
            .unwrap_err();
        let kinds: Vec<&str> = errors.iter().map(|p| p.kind).collect();
        assert!(
            kinds.contains(&"missing") && kinds.contains(&"url_scheme"),
            "{kinds:?}"
        );
    }
}
