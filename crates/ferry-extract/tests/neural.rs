//! `text_extractor` v3 against an independent implementation, and its refusals.
//!
//! The fixture holds sentence-transformers' own embeddings of 21 texts, from one word to
//! several times the model's maximum sequence length (`scripts/reference_vectors.py` wrote
//! it). The real model comes from `FERRY_MODELS_DIR` (`scripts/fetch-models` installs it;
//! `scripts/test` exports the variable). Without it these tests are skipped with a note,
//! except under `CI=true`, where a missing model fails them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_extract::encoder::Encoder;
use ferry_extract::{models, ExtractError, Extractor, ExtractorInput, Registry};
use serde_json::{json, Map, Value};

const MODEL: &str = "all-MiniLM-L6-v2";

fn installed_models() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_MODELS_DIR").map(PathBuf::from);
    let found = dir.filter(|d| d.join(MODEL).join("config.json").is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but FERRY_MODELS_DIR holds no {MODEL}: run scripts/fetch-models");
        }
        eprintln!("FERRY_MODELS_DIR has no {MODEL} (run scripts/fetch-models): skipped");
    }
    found
}

fn v3(models_dir: &Path) -> Arc<dyn Extractor> {
    Registry::builtin(Default::default(), models_dir.to_path_buf())
        .get("text_extractor", "v3")
        .expect("v3 registered")
}

fn params(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

async fn embed(extractor: &dyn Extractor, texts: &[String]) -> Vec<Vec<f32>> {
    let resolved = extractor.resolve_parameters(&Map::new()).expect("defaults");
    let inputs: Vec<ExtractorInput> = texts.iter().cloned().map(ExtractorInput::Text).collect();
    extractor
        .extract(&inputs, &resolved)
        .await
        .expect("extract")
        .into_iter()
        .map(|mut chunks| {
            assert_eq!(chunks.len(), 1, "one document per text without split_by");
            chunks.remove(0).vectors.remove(0).1
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_match_sentence_transformers_including_truncated_texts() {
    let Some(dir) = installed_models() else {
        return;
    };
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/all-MiniLM-L6-v2.reference.json")).unwrap();
    let items = fixture["items"].as_array().unwrap();
    assert!(items.len() >= 20);
    let max_seq = fixture["max_seq_length"].as_u64().unwrap() as usize;
    let texts: Vec<String> = items
        .iter()
        .map(|i| i["text"].as_str().unwrap().to_owned())
        .collect();
    let long = items
        .iter()
        .filter(|i| i["word_pieces"].as_u64().unwrap() as usize > max_seq)
        .count();
    assert!(long >= 3, "the fixture must exercise truncation");

    let extractor = v3(&dir);
    let resolved = extractor.resolve_parameters(&Map::new()).unwrap();
    assert_eq!(resolved["model"], MODEL);
    assert_eq!(extractor.vector_outputs(&resolved)[0].dimension, 384);

    // All at once (length-bucketed, padded batches) and one by one (no padding at all).
    let batched = embed(extractor.as_ref(), &texts).await;
    let mut worst = f32::MAX;
    for (i, item) in items.iter().enumerate() {
        let reference: Vec<f32> = item["vector"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let alone = embed(extractor.as_ref(), std::slice::from_ref(&texts[i])).await;
        let c = cosine(&batched[i], &reference);
        worst = worst.min(c);
        assert!(
            c >= 0.999,
            "text {i} ({} word-pieces): cosine {c} to sentence-transformers",
            item["word_pieces"]
        );
        assert!(
            cosine(&batched[i], &alone[0]) >= 0.9999,
            "text {i}: padding changed the embedding"
        );
        let norm: f32 = batched[i].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "normalised as modules.json says");
    }
    eprintln!(
        "{} texts ({long} longer than {max_seq} word-pieces): minimum cosine {worst:.7}",
        items.len()
    );

    // Truncation happens where the model's config says.
    let spec = models::read_spec(&dir, MODEL).unwrap();
    assert_eq!(spec.max_seq_length, max_seq);
    let encoder = Encoder::shared(&spec).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let counts = encoder.token_counts(&refs).unwrap();
    for (item, count) in items.iter().zip(counts) {
        let full = item["word_pieces"].as_u64().unwrap() as usize;
        assert_eq!(count, full.min(max_seq));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paraphrases_score_above_unrelated_texts() {
    let Some(dir) = installed_models() else {
        return;
    };
    let extractor = v3(&dir);
    let texts: Vec<String> = [
        "How do I move my documents to a better embedding model?",
        "Migrating a collection to a newer vector model",
        "A recipe for banana bread with walnuts",
    ]
    .map(String::from)
    .to_vec();
    let v = embed(extractor.as_ref(), &texts).await;
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
}

#[tokio::test]
async fn an_empty_text_is_refused_with_a_clear_error() {
    let Some(dir) = installed_models() else {
        return;
    };
    let extractor = v3(&dir);
    let resolved = extractor.resolve_parameters(&Map::new()).unwrap();
    for blank in ["", "   \n\t"] {
        let err = extractor
            .extract(&[ExtractorInput::Text(blank.into())], &resolved)
            .await
            .unwrap_err();
        match err {
            ExtractError::InvalidInput(msg) => assert!(msg.contains("empty text"), "{msg}"),
            other => panic!("expected invalid input, got {other}"),
        }
    }
}

/// A copy of the installed model's small files into a new models directory, under `name`.
fn copy_small_files(from: &Path, to: &Path, name: &str) -> PathBuf {
    let src = from.join(MODEL);
    let dst = to.join(name);
    std::fs::create_dir_all(dst.join("1_Pooling")).unwrap();
    for file in [
        "config.json",
        "tokenizer.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
    ] {
        std::fs::copy(src.join(file), dst.join(file)).unwrap();
    }
    dst
}

#[test]
fn a_missing_model_is_a_parameter_error_naming_directory_model_and_install() {
    let empty = tempfile::tempdir().unwrap();
    let errors = v3(empty.path())
        .resolve_parameters(&params(json!({"model": "bge-small-en-v1.5"})))
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].loc, vec!["model".to_owned()]);
    assert_eq!(errors[0].kind, "model_not_installed");
    for part in [
        &empty.path().display().to_string(),
        "bge-small-en-v1.5",
        "scripts/fetch-models",
    ] {
        assert!(errors[0].msg.contains(part), "{}", errors[0].msg);
    }
    // The registry still describes v3, saying why it cannot be used yet.
    let described = v3(empty.path()).describe();
    assert!(described.description.contains("not installed"));
    assert_eq!(described.default_parameters["model"], MODEL);
}

#[test]
fn a_model_of_another_architecture_is_refused() {
    let models = tempfile::tempdir().unwrap();
    let dir = models.path().join("gpt2");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type": "gpt2", "architectures": ["GPT2Model"], "n_embd": 768}"#,
    )
    .unwrap();
    let errors = v3(models.path())
        .resolve_parameters(&params(json!({"model": "gpt2"})))
        .unwrap_err();
    assert_eq!(errors[0].kind, "model_unsupported");
    assert!(errors[0].msg.contains("gpt2"), "{}", errors[0].msg);
}

#[tokio::test]
async fn corrupt_weights_are_refused_before_and_at_extraction() {
    let Some(installed) = installed_models() else {
        return;
    };
    let models = tempfile::tempdir().unwrap();
    let weights = std::fs::read(installed.join(MODEL).join("model.safetensors")).unwrap();

    // A truncated download: refused when the parameters are resolved (collection create).
    let truncated = copy_small_files(&installed, models.path(), "truncated");
    std::fs::write(
        truncated.join("model.safetensors"),
        &weights[..weights.len() / 2],
    )
    .unwrap();
    let errors = v3(models.path())
        .resolve_parameters(&params(json!({"model": "truncated"})))
        .unwrap_err();
    assert_eq!(errors[0].kind, "model_corrupt");
    assert!(errors[0].msg.contains("truncated"), "{}", errors[0].msg);

    // Well-framed safetensors holding other tensors: passes the cheap check, and the load
    // at extraction says the weights do not match the config; no panic.
    let wrong = copy_small_files(&installed, models.path(), "wrong");
    let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 8]);
    std::fs::write(wrong.join("model.safetensors"), bytes).unwrap();
    let extractor = v3(models.path());
    let resolved = extractor
        .resolve_parameters(&params(json!({"model": "wrong"})))
        .unwrap();
    let err = extractor
        .extract(&[ExtractorInput::Text("hello".into())], &resolved)
        .await
        .unwrap_err();
    match err {
        ExtractError::Model(msg) => {
            assert!(msg.contains("does not hold the weights"), "{msg}")
        }
        other => panic!("expected a model error, got {other}"),
    }
}
