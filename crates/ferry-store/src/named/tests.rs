//! The shared create and optimistic edit of named resources, against a real SQLite store.

use serde_json::{json, Value};

use crate::{
    BucketFields, NamespaceFields, NamespaceKey, NewNamespace, RetrieverFields, Store, StoreError,
    StoreLocation,
};

async fn namespace(dir: &tempfile::TempDir) -> (Store, NamespaceKey) {
    let store = Store::connect(&StoreLocation::SqliteFile(dir.path().join("ferry.db")))
        .await
        .unwrap();
    let org = store.ensure_organization("named-tests").await.unwrap();
    let ns = store
        .create_namespace(
            &org.internal_id,
            NewNamespace {
                namespace_id: None,
                namespace_type: "serverless".into(),
                mode: "standard".into(),
                fields: NamespaceFields {
                    namespace_name: "ns".into(),
                    description: None,
                    feature_extractors: json!([]),
                    payload_indexes: json!([]),
                    auto_create_indexes: false,
                    adaptive_indexing: false,
                },
            },
        )
        .await
        .unwrap();
    (store, ns.key)
}

fn bucket(name: &str) -> BucketFields {
    BucketFields {
        bucket_name: name.into(),
        description: Some(String::new()),
        bucket_schema: json!({"properties": {}}),
        unique_key: None,
        metadata: None,
        storage_class: None,
    }
}

#[tokio::test]
async fn concurrent_edits_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ns) = namespace(&dir).await;
    let created = store.create_bucket(ns, None, bucket("b")).await.unwrap();
    assert_eq!(created.created_at, created.updated_at);
    // Eight writers each append their mark to what they read: a lost update would drop one.
    let writers = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .update_bucket(ns, "b", |f| {
                    f.description
                        .get_or_insert_default()
                        .push_str(&format!("<{i}>"));
                })
                .await
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap().unwrap();
    }
    let after = store.get_bucket(ns, "b").await.unwrap();
    let description = after.fields.description.unwrap();
    for i in 0..8 {
        assert!(description.contains(&format!("<{i}>")), "{description}");
    }
    assert!(after.updated_at > created.updated_at);
}

#[tokio::test]
async fn an_edit_onto_a_taken_name_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ns) = namespace(&dir).await;
    store.create_bucket(ns, None, bucket("a")).await.unwrap();
    let b = store.create_bucket(ns, None, bucket("b")).await.unwrap();
    let taken = store
        .update_bucket(ns, "b", |f| f.bucket_name = "a".into())
        .await
        .unwrap_err();
    assert!(
        matches!(&taken, StoreError::Conflict { message, .. } if message.contains("'a'")),
        "{taken:?}"
    );
    assert_eq!(store.get_bucket(ns, &b.bucket_id).await.unwrap(), b);
    let duplicate = store
        .create_bucket(ns, None, bucket("a"))
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, StoreError::Conflict { .. }),
        "{duplicate:?}"
    );
}

#[tokio::test]
async fn a_versioned_row_starts_at_one_and_bumps_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ns) = namespace(&dir).await;
    let fields = RetrieverFields {
        retriever_name: "r".into(),
        description: None,
        collection_ids: vec![],
        stages: json!([]),
        input_schema: None,
        settings: json!({}),
        metadata: None,
    };
    let created = store.create_retriever(ns, None, fields).await.unwrap();
    assert_eq!(created.version, 1);
    let renamed = store
        .update_retriever(ns, "r", |f| f.description = Some("same pipeline".into()))
        .await
        .unwrap();
    assert_eq!(
        (renamed.version, renamed.fields.description.as_deref()),
        (1, Some("same pipeline"))
    );
    let restaged = store
        .update_retriever(ns, "r", |f| {
            f.stages = Value::from(vec![json!({"stage_name": "s"})])
        })
        .await
        .unwrap();
    assert_eq!(restaged.version, 2);
    assert_eq!(
        restaged.fields.description.as_deref(),
        Some("same pipeline")
    );
}
