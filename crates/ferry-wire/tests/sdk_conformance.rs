//! Conformance of the collection, document and task types with the official SDK.
//!
//! Requests: `fixtures/sdk/*.json` are bodies built with the SDK's own request models and
//! serialized as the SDK sends them (`sdk_fixtures.py requests`); every one must parse and
//! validate cleanly.
//!
//! Responses: fully and minimally populated instances of every response type are written to
//! `$CARGO_TARGET_TMPDIR/sdk-responses/<SdkModel>.<case>.json`, for `sdk_fixtures.py responses`
//! to run through the SDK models' `from_dict`. The Rust side asserts what it can alone: the
//! required keys are present.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ferry_wire::collection::*;
use ferry_wire::document::*;
use ferry_wire::filter::{FilterCondition, FilterNode, FilterOperator, LogicalOperator};
use ferry_wire::namespace::PaginationResponse;
use ferry_wire::schema::{BucketSchema, BucketSchemaField, BucketSchemaFieldType};
use ferry_wire::task::*;
use ferry_wire::Validate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

fn parses<T: DeserializeOwned + Validate>(name: &str, text: &str) -> T {
    let value: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let errors = value.validation_errors();
    assert!(errors.is_empty(), "{name}: {errors:?}");
    value
}

#[test]
fn sdk_request_bodies_parse_and_validate() {
    let minimal: CreateCollectionRequest = parses(
        "create_collection_minimal",
        include_str!("fixtures/sdk/create_collection_minimal.json"),
    );
    assert!(minimal.enabled);
    let full: CreateCollectionRequest = parses(
        "create_collection_full",
        include_str!("fixtures/sdk/create_collection_full.json"),
    );
    assert_eq!(full.source.bucket_ids.as_ref().map(Vec::len), Some(2));
    assert!(full.schedule.is_some() && full.retriever_enrichments.is_some());
    let filters = full.source.source_filters.unwrap().filters.unwrap();
    assert_eq!(filters.equals.get("metadata.kind"), Some(&json!("article")));
    assert_eq!(filters.case_sensitive, Some(true));
    let chained: CreateCollectionRequest = parses(
        "create_collection_from_collection",
        include_str!("fixtures/sdk/create_collection_from_collection.json"),
    );
    assert!(matches!(
        chained.feature_extractor.unwrap().input_mappings,
        Some(InputMappings::List(_))
    ));
    parses::<PatchCollectionRequest>(
        "patch_collection",
        include_str!("fixtures/sdk/patch_collection.json"),
    );
    let list: ListCollectionsRequest = parses(
        "list_collections",
        include_str!("fixtures/sdk/list_collections.json"),
    );
    assert_eq!(list.limit, Some(25));
    let trigger: TriggerCollectionRequest = parses(
        "trigger_collection",
        include_str!("fixtures/sdk/trigger_collection.json"),
    );
    assert_eq!(trigger.dedup_strategy, Some(DedupStrategy::Replace));
    let doc: DocumentCreateRequest = parses(
        "create_document",
        include_str!("fixtures/sdk/create_document.json"),
    );
    assert_eq!(
        doc.fields.keys().collect::<Vec<_>>(),
        vec!["tags", "title", "year"]
    );
    assert!(doc.lineage_chain.unwrap()[0].timestamp.is_some());
    parses::<PatchDocumentRequest>(
        "patch_document",
        include_str!("fixtures/sdk/patch_document.json"),
    );
    let docs: ListDocumentsRequest = parses(
        "list_documents",
        include_str!("fixtures/sdk/list_documents.json"),
    );
    assert_eq!(docs.partition, Some(ListPartition { index: 1, count: 4 }));
    let grouped: ListDocumentsRequest = parses(
        "list_documents_grouped",
        include_str!("fixtures/sdk/list_documents_grouped.json"),
    );
    assert_eq!(grouped.group_by.as_deref(), Some("root_object_id"));
    let tasks: ListTasksRequest =
        parses("list_tasks", include_str!("fixtures/sdk/list_tasks.json"));
    assert_eq!(tasks.status, Some(TaskStatusEnum::Failed));
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-10-31T10:00:00.123456Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

fn schema() -> BucketSchema {
    let mut tags = BucketSchemaField::of(BucketSchemaFieldType::Array);
    tags.items = Some(Box::new(BucketSchemaField::of(
        BucketSchemaFieldType::String,
    )));
    let mut title = BucketSchemaField::of(BucketSchemaFieldType::String);
    title.description = Some("Headline".into());
    title.required = true;
    title.default = Some(json!("untitled"));
    title.examples = Some(vec![json!("AI in Healthcare")]);
    title.allowed = None;
    let mut meta = BucketSchemaField::of(BucketSchemaFieldType::Object);
    meta.properties = Some(
        [(
            "author".to_owned(),
            BucketSchemaField::of(BucketSchemaFieldType::String),
        )]
        .into(),
    );
    let mut kind = BucketSchemaField::of(BucketSchemaFieldType::String);
    kind.allowed = Some(vec![json!("news"), json!("blog")]);
    BucketSchema {
        properties: [
            ("title".to_owned(), title),
            ("tags".to_owned(), tags),
            ("meta".to_owned(), meta),
            ("kind".to_owned(), kind),
            (
                "text_extractor_v1_embedding".to_owned(),
                BucketSchemaField::of(BucketSchemaFieldType::Array),
            ),
        ]
        .into(),
    }
}

fn filters() -> LogicalOperator {
    LogicalOperator {
        and: Some(vec![
            FilterNode::Condition(FilterCondition {
                field: "metadata.lang".into(),
                operator: FilterOperator::Eq,
                value: json!("en"),
                case_sensitive: Some(false),
            }),
            FilterNode::Operator(LogicalOperator {
                or: Some(vec![FilterNode::Condition(FilterCondition {
                    field: "year".into(),
                    operator: FilterOperator::Gte,
                    value: json!(2020),
                    case_sensitive: None,
                })]),
                ..Default::default()
            }),
        ]),
        not: Some(vec![FilterNode::Condition(FilterCondition {
            field: "status".into(),
            operator: FilterOperator::In,
            value: json!(["draft"]),
            case_sensitive: None,
        })]),
        or: None,
        case_sensitive: Some(true),
        equals: object(json!({"metadata.kind": "article"})),
    }
}

fn source_full() -> SourceConfig {
    SourceConfig {
        source_type: SourceType::Collection,
        bucket_ids: None,
        source_namespace_id: None,
        collection_id: Some("col_articles".into()),
        collection_ids: None,
        inherited_bucket_ids: Some(vec!["bkt_articles".into()]),
        source_filters: Some(SourceFilters {
            filters: Some(filters()),
        }),
        field_map: Some(
            [(
                "col_articles".to_owned(),
                vec![FieldPassthrough {
                    source_path: "headline".into(),
                    target_path: Some("title".into()),
                    default: Some(json!("untitled")),
                    required: false,
                }],
            )]
            .into(),
        ),
    }
}

fn source_minimal() -> SourceConfig {
    SourceConfig {
        source_type: SourceType::Bucket,
        bucket_ids: Some(vec!["bkt_articles".into()]),
        source_namespace_id: None,
        collection_id: None,
        collection_ids: None,
        inherited_bucket_ids: None,
        source_filters: None,
        field_map: None,
    }
}

fn extractor_full() -> FeatureExtractorConfigOutput {
    FeatureExtractorConfigOutput {
        feature_extractor_name: "text_extractor".into(),
        version: "v2".into(),
        params: Some(object(json!({"model": "hash-ngram"}))),
        parameters: Some(object(
            json!({"extractor_type": "text_extractor", "chunk_size": 1000}),
        )),
        input_mappings: Some(InputMappings::List(vec![InputMapping {
            input_key: "text".into(),
            source_type: Some(InputSourceType::Payload),
            path: Some("content".into()),
            override_value: Some(json!("fallback")),
        }])),
        field_passthrough: Some(vec![FieldPassthrough {
            source_path: "title".into(),
            target_path: None,
            default: None,
            required: true,
        }]),
        include_all_source_fields: true,
        feature_extractor_id: "text_extractor_v2".into(),
    }
}

fn extractor_minimal() -> FeatureExtractorConfigOutput {
    FeatureExtractorConfigOutput {
        feature_extractor_name: "text_extractor".into(),
        version: "v1".into(),
        params: None,
        parameters: None,
        input_mappings: Some(InputMappings::Fields(object(json!({"text": "content"})))),
        field_passthrough: None,
        include_all_source_fields: false,
        feature_extractor_id: "text_extractor_v1".into(),
    }
}

fn collection_full() -> CollectionResponse {
    CollectionResponse {
        collection_id: "col_chunks".into(),
        collection_name: "article_chunks".into(),
        description: Some("Chunks of articles".into()),
        input_schema: Some(schema()),
        output_schema: schema(),
        feature_extractor: extractor_full(),
        source: source_full(),
        source_lineage: Some(vec![SingleLineageEntry {
            source_config: source_minimal(),
            feature_extractor: extractor_minimal(),
            output_schema: schema(),
        }]),
        vector_indexes: Some(vec![CollectionVectorIndex {
            name: "embedding".into(),
            feature_uri: "mixpeek://text_extractor@v2/embedding".into(),
            kind: VectorIndexKind::Single,
            index: VectorIndexStorage {
                name: "text_extractor_v2_embedding".into(),
                dimensions: Some(384),
                vector_type: VectorType::Dense,
                distance: VectorDistance::Cosine,
                inference_name: Some("hashed_ngram_v2".into()),
                datatype: Some(VectorDataType::Uint8),
                on_disk: Some(true),
            },
        }]),
        enabled: false,
        disabled_reason: Some(CollectionDisabledReason {
            code: DisabledReasonCode::SourceCollectionDeleted,
            message: "Source collection col_articles was deleted".into(),
            source_collection_id: Some("col_articles".into()),
            source_collection_name: Some("articles".into()),
            disabled_at: Some(at()),
        }),
        metadata: Some(object(json!({"team": "search"}))),
        created_at: at(),
        updated_at: at(),
        document_count: 12,
        vector_count: Some(12),
        taxonomy_count: Some(1),
        retriever_count: Some(0),
        taxonomy_applications: Some(vec![TaxonomyApplicationConfig {
            taxonomy_id: "tax_topics".into(),
            execution_mode: Some(TaxonomyExecutionMode::Materialize),
            target_collection_id: Some("col_enriched".into()),
            scroll_filters: Some(filters()),
            execution_phase: 1,
            priority: 5,
            hierarchical_enrichment_style: Some(HierarchicalEnrichmentStyle::Combined),
        }]),
        cluster_applications: Some(vec![ClusterApplicationConfig {
            cluster_id: "clu_topics".into(),
            auto_execute_on_batch: true,
            min_document_threshold: Some(10),
            cooldown_seconds: 3600,
            execution_phase: 2,
            priority: 0,
        }]),
        warnings: Some(vec![
            "input_mappings name 'content', absent from every object".into(),
        ]),
    }
}

fn collection_minimal() -> CollectionResponse {
    CollectionResponse {
        collection_id: "col_a".into(),
        collection_name: "abc".into(),
        description: None,
        input_schema: None,
        output_schema: BucketSchema::default(),
        feature_extractor: extractor_minimal(),
        source: source_minimal(),
        source_lineage: None,
        vector_indexes: None,
        enabled: true,
        disabled_reason: None,
        metadata: None,
        created_at: at(),
        updated_at: at(),
        document_count: 0,
        vector_count: None,
        taxonomy_count: None,
        retriever_count: None,
        taxonomy_applications: None,
        cluster_applications: None,
        warnings: None,
    }
}

fn document_full() -> DocumentResponse {
    DocumentResponse {
        document_id: "doc_1".into(),
        collection_id: "col_chunks".into(),
        vector_hydration_incomplete: Some(false),
        searchable_at: Some(at()),
        document_blobs: Some(vec![BlobUrlRef {
            field: "thumbnail".into(),
            role: BlobRole::Thumbnail,
            media_type: BlobMediaType::Image,
            url: "ferry://blobs/sha256/9f86d0".into(),
            filename: Some("thumb.jpg".into()),
            size_bytes: Some(2048),
            content_type: Some("image/jpeg".into()),
            checksum: Some("sha256:9f86d0".into()),
            created_at: Some(at()),
            source_blob_id: Some("blob_1".into()),
            presigned_url: Some("http://127.0.0.1:8000/v1/blobs/9f86d0?sig=abc".into()),
        }]),
        internal: Some(InternalPayload {
            namespace_id: "ns_1".into(),
            document_id: "doc_1".into(),
            collection_id: "col_chunks".into(),
            created_at: at(),
            updated_at: at(),
            lineage: Some(InternalLineage {
                root_object_id: Some("obj_1".into()),
                root_bucket_id: Some("bkt_articles".into()),
                source_type: Some(LineageSourceType::Collection),
                source_object_id: Some("obj_1".into()),
                source_document_id: Some("doc_0".into()),
                source_collection_id: Some("col_articles".into()),
                path: Some("bkt_articles/col_articles/col_chunks".into()),
                chain: Some(vec![LineageStep {
                    collection_id: "col_articles".into(),
                    feature_extractor_id: "text_extractor_v1".into(),
                    document_id: Some("doc_0".into()),
                    timestamp: Some(at()),
                }]),
            }),
            source_blobs: Some(vec![object(
                json!({"blob_id": "blob_1", "blob_property": "content", "blob_type": "text"}),
            )]),
            document_blobs: Some(vec![object(
                json!({"field": "thumbnail", "role": "thumbnail", "type": "image",
                       "url": "ferry://blobs/sha256/9f86d0"}),
            )]),
            modality: Some("text".into()),
            metadata: Some(object(json!({"ingestion_status": "COMPLETED"}))),
            mime_type: Some("text/plain".into()),
            size_bytes: Some(1234),
            content_hash: Some("9f86d0".into()),
        }),
        fields: object(json!({
            "title": "AI in Healthcare",
            "metadata": {"lang": "en"},
            "cluster_id": "clu_topics_3",
            "text_extractor_v2_embedding": [0.25, -0.5, 1.0],
            "_vectors": ["text_extractor_v2_embedding"]
        })),
    }
}

fn document_minimal() -> DocumentResponse {
    DocumentResponse {
        document_id: "doc_2".into(),
        collection_id: "col_a".into(),
        vector_hydration_incomplete: None,
        searchable_at: None,
        document_blobs: None,
        internal: None,
        fields: Map::new(),
    }
}

fn task_full() -> TaskResponse {
    TaskResponse {
        task_id: "task_1".into(),
        task_type: TaskType::ApiNamespacesMigrationsRun,
        status: TaskStatusEnum::CompletedWithErrors,
        inputs: Some(vec![
            TaskIo::Id("mig_1".into()),
            TaskIo::Object(object(json!({"source_namespace_id": "ns_1"}))),
        ]),
        outputs: Some(vec![TaskIo::Id("ns_2".into())]),
        additional_data: Some(object(json!({
            "progress": {"stage": "documents", "processed": 90, "total": 100},
            "error": "10 documents failed"
        }))),
        error: Some("10 documents failed".into()),
    }
}

fn task_minimal() -> TaskResponse {
    TaskResponse {
        task_id: "task_2".into(),
        task_type: TaskType::ApiCollectionsTrigger,
        status: TaskStatusEnum::Pending,
        inputs: None,
        outputs: None,
        additional_data: None,
        error: None,
    }
}

fn pagination_full() -> PaginationResponse {
    PaginationResponse {
        total: Some(3),
        page: Some(1),
        page_size: Some(2),
        total_pages: Some(2),
        next_page: Some("/v1/collections/list?page=2".into()),
        previous_page: None,
        next_cursor: Some("off_2".into()),
    }
}

/// Writes a response dump and checks the required keys are there.
fn dump<T: Serialize>(sdk_model: &str, case: &str, value: &T, required: &[&str]) {
    let json = serde_json::to_value(value).unwrap();
    for key in required {
        assert!(
            json.get(key).is_some(),
            "{sdk_model}.{case}: required key {key} missing"
        );
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sdk-responses");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{sdk_model}.{case}.json")),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
}

#[test]
fn response_dumps_for_the_sdk_models() {
    const COLLECTION: &[&str] = &["collection_name", "feature_extractor", "source"];
    dump("CollectionResponse", "full", &collection_full(), COLLECTION);
    dump(
        "CollectionResponse",
        "minimal",
        &collection_minimal(),
        COLLECTION,
    );

    const LIST: &[&str] = &["results", "pagination", "total_count"];
    dump(
        "ListCollectionsResponse",
        "full",
        &ListCollectionsResponse {
            results: vec![collection_full(), collection_minimal()],
            pagination: pagination_full(),
            total_count: 3,
            stats: CollectionListStats {
                total_documents: 12,
                avg_documents_per_collection: 6.0,
                collections_with_taxonomies: 1,
                total_feature_extractors: 2,
                total_taxonomies: 1,
                total_retrievers: 0,
            },
        },
        LIST,
    );
    dump(
        "ListCollectionsResponse",
        "minimal",
        &ListCollectionsResponse {
            results: vec![],
            pagination: PaginationResponse::default(),
            total_count: 0,
            stats: CollectionListStats::default(),
        },
        LIST,
    );

    const TRIGGER: &[&str] = &["task_id", "collection_id", "total_tiers", "message"];
    dump(
        "TriggerCollectionResponse",
        "full",
        &TriggerCollectionResponse {
            batch_id: Some("btch_1".into()),
            task_id: "task_1".into(),
            collection_id: "col_chunks".into(),
            source_bucket_ids: Some(vec!["bkt_articles".into()]),
            source_collection_ids: Some(vec!["col_articles".into()]),
            object_count: Some(10),
            document_count: Some(10),
            total_tiers: 2,
            message: "Processing 10 objects in 2 tiers".into(),
        },
        TRIGGER,
    );
    dump(
        "TriggerCollectionResponse",
        "minimal",
        &TriggerCollectionResponse {
            batch_id: None,
            task_id: "task_1".into(),
            collection_id: "col_chunks".into(),
            source_bucket_ids: None,
            source_collection_ids: None,
            object_count: None,
            document_count: None,
            total_tiers: 1,
            message: "Nothing to process".into(),
        },
        TRIGGER,
    );
    // The SDK reads the collection deletion answer as a plain object.
    dump(
        "object",
        "delete_collection",
        &DeleteCollectionResponse {
            success: true,
            message: "Collection deleted".into(),
            collection_id: "col_a".into(),
            collection_name: "abc".into(),
        },
        &["success"],
    );

    const DOCUMENT: &[&str] = &["document_id", "collection_id"];
    dump("DocumentResponse", "full", &document_full(), DOCUMENT);
    dump("DocumentResponse", "minimal", &document_minimal(), DOCUMENT);

    const DOCUMENTS: &[&str] = &["pagination"];
    dump(
        "ListDocumentsResponse",
        "full",
        &ListDocumentsResponse {
            results: Some(vec![document_full(), document_minimal()]),
            groups: None,
            pagination: pagination_full(),
            total_documents: Some(3),
            stats: DocumentListStats {
                total_documents: Some(3),
                avg_blobs_per_document: 0.5,
                total_groups: None,
                avg_documents_per_group: None,
            },
            group_by_field: None,
            warnings: Some(vec!["sorted listing truncated at 10000 documents".into()]),
        },
        DOCUMENTS,
    );
    dump(
        "ListDocumentsResponse",
        "grouped",
        &ListDocumentsResponse {
            results: None,
            groups: Some(vec![
                DocumentGroup {
                    group_key: json!("obj_1"),
                    documents: vec![document_full()],
                    count: 1,
                },
                DocumentGroup {
                    group_key: Value::Null,
                    documents: vec![document_minimal()],
                    count: 1,
                },
            ]),
            pagination: PaginationResponse::default(),
            total_documents: None,
            stats: DocumentListStats {
                total_documents: None,
                avg_blobs_per_document: 0.0,
                total_groups: Some(2),
                avg_documents_per_group: Some(1.0),
            },
            group_by_field: Some("root_object_id".into()),
            warnings: None,
        },
        DOCUMENTS,
    );
    dump(
        "ListDocumentsResponse",
        "minimal",
        &ListDocumentsResponse {
            results: Some(vec![]),
            groups: None,
            pagination: PaginationResponse::default(),
            total_documents: None,
            stats: DocumentListStats::default(),
            group_by_field: None,
            warnings: None,
        },
        DOCUMENTS,
    );
    dump(
        "GenericDeleteResponse",
        "full",
        &GenericDeleteResponse::default(),
        &["message", "success"],
    );

    const TASK: &[&str] = &["task_id", "task_type", "status"];
    dump("TaskResponse", "full", &task_full(), TASK);
    dump("TaskResponse", "minimal", &task_minimal(), TASK);
    dump(
        "ListTasksResponse",
        "full",
        &ListTasksResponse {
            results: vec![task_full(), task_minimal()],
            pagination: pagination_full(),
        },
        &["results", "pagination"],
    );
    dump(
        "ListTasksResponse",
        "minimal",
        &ListTasksResponse {
            results: vec![],
            pagination: PaginationResponse::default(),
        },
        &["results", "pagination"],
    );
}

#[test]
fn every_task_status_and_type_reads_back() {
    // The SDK's enumerations, verbatim.
    let statuses = [
        "PENDING",
        "QUEUED",
        "IN_PROGRESS",
        "PROCESSING",
        "COMPLETED",
        "COMPLETED_WITH_ERRORS",
        "FAILED",
        "CANCELED",
        "INTERRUPTED",
        "UNKNOWN",
        "SKIPPED",
        "DRAFT",
        "ACTIVE",
        "ARCHIVED",
        "SUSPENDED",
        "DEACTIVATED",
    ];
    for s in statuses {
        let status: TaskStatusEnum = serde_json::from_value(json!(s)).unwrap();
        assert_eq!(serde_json::to_value(status).unwrap(), json!(s));
    }
    let types = [
        "api_namespaces_create",
        "api_namespaces_delete",
        "api_namespaces_snapshot_create",
        "api_namespaces_snapshot_restore",
        "api_namespaces_migrations_run",
        "api_buckets_objects_create",
        "api_buckets_delete",
        "api_buckets_batches_process",
        "api_buckets_batches_submit",
        "api_buckets_uploads_create",
        "api_buckets_uploads_confirm",
        "api_buckets_uploads_batch_confirm",
        "api_collections_documents_create",
        "api_collections_documents_bulk_update",
        "api_collections_documents_bulk_delete",
        "api_collections_reembed",
        "api_collections_extraction_artifacts",
        "api_taxonomies_create",
        "api_taxonomies_execute",
        "api_taxonomies_materialize",
        "api_evaluations_run",
        "api_evaluations_dataset_create",
        "api_retrievers_publish",
        "api_manifest_apply",
        "api_retrievers_execute",
        "api_collections_export",
        "api_collections_trigger",
        "engine_feature_extractor_run",
        "engine_inference_run",
        "engine_object_processing",
        "engine_cluster_build",
        "thumbnail",
        "video_segment",
        "audio_segment",
        "converted_video",
        "materialize",
        "plugin_custom",
        "model_custom",
    ];
    for t in types {
        let task_type: TaskType = serde_json::from_value(json!(t)).unwrap();
        assert_eq!(serde_json::to_value(task_type).unwrap(), json!(t));
    }
}

#[test]
fn openapi_schemas_of_recursive_types_are_finite() {
    use utoipa::openapi::{ComponentsBuilder, OpenApiBuilder};
    use utoipa::{PartialSchema, ToSchema};

    let mut schemas = Vec::new();
    CreateCollectionRequest::schemas(&mut schemas);
    PatchCollectionRequest::schemas(&mut schemas);
    ListCollectionsRequest::schemas(&mut schemas);
    TriggerCollectionRequest::schemas(&mut schemas);
    CollectionResponse::schemas(&mut schemas);
    ListCollectionsResponse::schemas(&mut schemas);
    TriggerCollectionResponse::schemas(&mut schemas);
    DeleteCollectionResponse::schemas(&mut schemas);
    DocumentCreateRequest::schemas(&mut schemas);
    PatchDocumentRequest::schemas(&mut schemas);
    ListDocumentsRequest::schemas(&mut schemas);
    ListDocumentsResponse::schemas(&mut schemas);
    GenericDeleteResponse::schemas(&mut schemas);
    ListTasksRequest::schemas(&mut schemas);
    ListTasksResponse::schemas(&mut schemas);
    let mut components = ComponentsBuilder::new();
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    for (name, schema) in [
        ("CreateCollectionRequest", CreateCollectionRequest::schema()),
        ("CollectionResponse", CollectionResponse::schema()),
        ("ListDocumentsResponse", ListDocumentsResponse::schema()),
        ("TaskResponse", TaskResponse::schema()),
    ] {
        components = components.schema(name, schema);
    }
    let doc = OpenApiBuilder::new()
        .components(Some(components.build()))
        .build();
    let json = serde_json::to_value(&doc).unwrap();
    let names = json["components"]["schemas"].as_object().unwrap();
    // Every reference resolves: `no_recursion` must cut cycles without dropping a schema.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.trim_start_matches("#/components/schemas/").to_owned());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut referenced = Vec::new();
    refs(&json, &mut referenced);
    for name in &referenced {
        assert!(names.contains_key(name), "dangling $ref to {name}");
    }
    for expected in [
        "LogicalOperator",
        "FilterNode",
        "FilterOperator",
        "BucketSchemaField",
        "BlobURLRef",
        "InternalPayloadModel",
        "TaskStatusEnum",
        "TaskType",
        "SourceConfig",
    ] {
        assert!(names.contains_key(expected), "{expected} not among schemas");
    }
}

/// Where ferry-api would locate the error in `body` (it reads bodies through
/// `serde_path_to_error`), and serde's message.
fn located<T: DeserializeOwned>(body: Value) -> (String, String) {
    let text = body.to_string();
    let mut de = serde_json::Deserializer::from_str(&text);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => panic!("{body} parsed"),
        Err(e) => (e.path().to_string(), e.into_inner().to_string()),
    }
}

#[test]
fn errors_keep_their_location_through_filters_mappings_and_root_fields() {
    let (path, msg) = located::<ListDocumentsRequest>(json!({
        "filters": {"AND": [{"field": "a", "value": 1},
                            {"OR": [{"field": "b", "operator": "like", "value": 2}]}]}
    }));
    assert_eq!(path, "filters.AND[1].OR[0].operator");
    assert!(msg.starts_with("unknown variant `like`"), "{msg}");

    let (path, msg) = located::<ListTasksRequest>(json!({
        "filters": {"NOT": [{"field": "a", "operator": "eq"}]}
    }));
    assert_eq!(path, "filters.NOT[0]");
    assert!(msg.starts_with("missing field `value`"), "{msg}");

    let mut body: Value = serde_json::from_str(include_str!(
        "fixtures/sdk/create_collection_from_collection.json"
    ))
    .unwrap();
    body["feature_extractor"]["input_mappings"][0]["path"] = json!(7);
    let (path, msg) = located::<CreateCollectionRequest>(body);
    assert_eq!(path, "feature_extractor.input_mappings[0].path");
    assert!(msg.starts_with("invalid type: integer"), "{msg}");

    // Declared keys beside the flattened root fields are read in place too.
    let (path, msg) = located::<DocumentCreateRequest>(json!({
        "title": "x", "lineage_chain": [{"collection_id": "col_1", "feature_extractor_id": "e",
                                         "timestamp": "last tuesday"}]
    }));
    assert_eq!(path, "lineage_chain[0].timestamp");
    assert!(msg.contains("expected an ISO 8601 datetime"), "{msg}");

    let (path, msg) = located::<CreateCollectionRequest>(json!({
        "collection_name": "abc", "source": {"type": "bucket", "bucket_ids": ["b"]},
        "feature_extractor": {"feature_extractor_name": "x", "version": "v1",
                              "input_mapping": {}}
    }));
    assert_eq!(path, "feature_extractor.input_mapping");
    assert!(msg.starts_with("unknown field `input_mapping`"), "{msg}");
}
