//! [`MigrationConfig`]: what a client asks a migration to do, with the accessors that give the
//! option groups in force, and its request-level checks (nested options, webhook URL).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::MigrationType;
use super::options::{
    BatchOptions, ClusterOptions, FeatureExtractorConfig, RetrieverOptions, TaxonomyOptions,
};
use super::resource_filter::ResourceFilter;
use crate::validate::{Errors, Validate};

/// Configuration for a namespace migration: what a client asks for, echoed as it was sent
/// in [`GetMigrationResponse::config`] (absent options stay `null`; the `…_or_default`
/// accessors give the values in force).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationConfig {
    /// Type of migration to perform
    pub migration_type: MigrationType,
    /// Source namespace ID
    pub source_namespace_id: String,
    /// Target namespace ID (auto-generated if not provided)
    pub target_namespace_id: Option<String>,
    /// Name for target namespace
    pub target_namespace_name: Option<String>,
    /// New extractors to use (RE_EXTRACT only)
    pub feature_extractors: Option<Vec<FeatureExtractorConfig>>,
    /// Resource selection filters
    pub filters: Option<ResourceFilter>,
    /// Batch processing options
    pub batch_options: Option<BatchOptions>,
    /// Taxonomy migration options
    pub taxonomy_options: Option<TaxonomyOptions>,
    /// Cluster migration options
    pub cluster_options: Option<ClusterOptions>,
    /// Retriever migration options
    pub retriever_options: Option<RetrieverOptions>,
    /// Preserve original resource IDs in target
    #[serde(default)]
    #[schema(default = false)]
    pub preserve_resource_ids: bool,
    /// Validate only, don't execute
    #[serde(default)]
    #[schema(default = false)]
    pub dry_run: bool,
    /// Webhook URL for status notifications (`http` or `https`)
    pub webhook_url: Option<String>,
}

impl MigrationConfig {
    /// A configuration with only the two required fields; every other field at its default.
    pub fn new(migration_type: MigrationType, source_namespace_id: impl Into<String>) -> Self {
        MigrationConfig {
            migration_type,
            source_namespace_id: source_namespace_id.into(),
            target_namespace_id: None,
            target_namespace_name: None,
            feature_extractors: None,
            filters: None,
            batch_options: None,
            taxonomy_options: None,
            cluster_options: None,
            retriever_options: None,
            preserve_resource_ids: false,
            dry_run: false,
            webhook_url: None,
        }
    }

    /// `filters`, or the default filter (everything, dependencies included).
    pub fn filters_or_default(&self) -> ResourceFilter {
        self.filters.clone().unwrap_or_default()
    }

    /// `batch_options`, or the spec's defaults.
    pub fn batch_options_or_default(&self) -> BatchOptions {
        self.batch_options.clone().unwrap_or_default()
    }

    /// `taxonomy_options`, or the spec's defaults.
    pub fn taxonomy_options_or_default(&self) -> TaxonomyOptions {
        self.taxonomy_options.clone().unwrap_or_default()
    }

    /// `cluster_options`, or the spec's defaults.
    pub fn cluster_options_or_default(&self) -> ClusterOptions {
        self.cluster_options.clone().unwrap_or_default()
    }

    /// `retriever_options`, or the spec's defaults.
    pub fn retriever_options_or_default(&self) -> RetrieverOptions {
        self.retriever_options.clone().unwrap_or_default()
    }
}

/// True for an absolute `http://` or `https://` URL with a host.
fn is_http_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !host.is_empty()
        && !host.starts_with(':')
        && !text.chars().any(char::is_whitespace)
}

impl Validate for MigrationConfig {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("filters", self.filters.as_ref());
        errors.nested("batch_options", self.batch_options.as_ref());
        if let Some(url) = &self.webhook_url {
            if !is_http_url(url) {
                errors.push(
                    "webhook_url",
                    "value_error",
                    "Value error, webhook_url must be an absolute http:// or https:// URL",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::migration::test_support::*;
    use crate::migration::CreateMigrationRequest;
    use serde_json::json;

    #[test]
    fn webhook_url_must_be_http_or_https() {
        let check = |url: &str| {
            let (_, errors) = parse::<CreateMigrationRequest>(json!({"config": {
                "migration_type": "copy", "source_namespace_id": "ns_x", "webhook_url": url}}))
            .unwrap();
            locs(&errors)
        };
        let refused = vec![(loc(&["config", "webhook_url"]), "value_error")];
        for url in [
            "ftp://example.com/hook",
            "example.com/hook",
            "https://",
            "http:///x",
            "mailto:a@b.c",
            "https://exa mple.com",
        ] {
            assert_eq!(check(url), refused, "{url}");
        }
        for url in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.com/a?b=c",
            "HTTPS://user@example.com",
        ] {
            assert!(check(url).is_empty(), "{url}");
        }
    }
}
