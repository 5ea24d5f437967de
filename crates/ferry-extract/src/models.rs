//! The models directory (`FERRY_MODELS_DIR`): which sentence-transformer snapshots are
//! installed, and what each one's own configuration says about it.
//!
//! A model is a sub-directory named after it, holding a sentence-transformers snapshot as the
//! Hugging Face hub ships it: `config.json` (the transformer), `tokenizer.json`,
//! `model.safetensors`, `modules.json` (the pipeline: transformer, pooling, normalisation),
//! the pooling module's `config.json`, and `sentence_bert_config.json` (maximum sequence
//! length, lower-casing). Reading a spec is cheap (small JSON files and the safetensors
//! header), so callers may read it wherever they need it: at collection create, at
//! re_extract validation and in the registry listing. Loading the weights is
//! [`crate::encoder`]'s job.
//!
//! Every failure is a [`ModelError`] whose message names the directory, the model and how to
//! install one, because it reaches users as a 422 or a validation issue, never as a 500.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The model `text_extractor` v3 uses when the parameters name none.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";

/// The architectures the encoder runs (`config.json` `model_type`).
pub const SUPPORTED_MODEL_TYPES: &[&str] = &["bert"];

/// How the token embeddings of one text become its embedding (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Average over the real (unpadded) tokens.
    Mean,
    /// The first token's (`[CLS]`) embedding.
    Cls,
    /// Per-dimension maximum over the real tokens.
    Max,
    /// The sum over real tokens divided by the square root of their count.
    MeanSqrtLen,
}

impl Pooling {
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
            Pooling::MeanSqrtLen => "mean_sqrt_len",
        }
    }
}

/// What a model's own files say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub name: String,
    pub dir: PathBuf,
    /// `config.json` `model_type`, e.g. `bert`.
    pub model_type: String,
    /// Embedding dimension: the transformer's hidden size.
    pub dimension: usize,
    /// Longest input in word-pieces (including `[CLS]`/`[SEP]`); longer ones are truncated.
    pub max_seq_length: usize,
    pub pooling: Pooling,
    /// Whether the pipeline ends with a `Normalize` module (unit-length embeddings).
    pub normalize: bool,
    /// Whether texts are lower-cased before tokenization (`sentence_bert_config.json`).
    pub do_lower_case: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    BadName(String),
    #[error(
        "model '{model}' is not installed in the models directory {dir} (FERRY_MODELS_DIR). {}",
        install_hint(model, dir)
    )]
    Missing { dir: PathBuf, model: String },
    #[error("model '{model}' in {dir} is not supported: {reason}. Supported: BERT-family sentence-transformers (config.json model_type {})", SUPPORTED_MODEL_TYPES.join(", "))]
    Unsupported {
        dir: PathBuf,
        model: String,
        reason: String,
    },
    #[error("model '{model}' in {dir} is unusable: {reason}. Reinstall it: {}", install_hint(model, dir.parent().unwrap_or(dir)))]
    Corrupt {
        dir: PathBuf,
        model: String,
        reason: String,
    },
}

impl ModelError {
    /// A stable machine-readable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::BadName(_) => "model_name_invalid",
            ModelError::Missing { .. } => "model_not_installed",
            ModelError::Unsupported { .. } => "model_unsupported",
            ModelError::Corrupt { .. } => "model_corrupt",
        }
    }
}

/// How to install `model` into `models_dir`, for error messages.
pub fn install_hint(model: &str, models_dir: &Path) -> String {
    format!(
        "Install a sentence-transformers snapshot (config.json, tokenizer.json, \
         model.safetensors, modules.json, 1_Pooling/config.json) as {}: for \
         all-MiniLM-L6-v2 run `scripts/fetch-models` and point FERRY_MODELS_DIR at the \
         directory it prints, or copy a downloaded Hugging Face snapshot directory there \
         (e.g. `huggingface-cli download sentence-transformers/{model} --local-dir {}`); \
         `ferry models list` shows what is installed",
        models_dir.join(model).display(),
        models_dir.join(model).display(),
    )
}

/// A model name is one directory name: no separators, no `..`, no hidden directories.
pub fn check_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::BadName(format!(
            "'{name}' is not a model name: use the name of a directory in the models \
             directory (letters, digits, '-', '_', '.'), e.g. '{DEFAULT_MODEL}'"
        )))
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", path.display()))
}

/// Reads and checks the spec of `name` under `models_dir`.
pub fn read_spec(models_dir: &Path, name: &str) -> Result<ModelSpec, ModelError> {
    check_name(name)?;
    let dir = models_dir.join(name);
    if !dir.join("config.json").is_file() {
        return Err(ModelError::Missing {
            dir: models_dir.to_path_buf(),
            model: name.to_owned(),
        });
    }
    let corrupt = |reason: String| ModelError::Corrupt {
        dir: dir.clone(),
        model: name.to_owned(),
        reason,
    };
    let config = read_json(&dir.join("config.json")).map_err(corrupt)?;
    let model_type = config["model_type"].as_str().unwrap_or_default().to_owned();
    if !SUPPORTED_MODEL_TYPES.contains(&model_type.as_str()) {
        return Err(ModelError::Unsupported {
            dir: dir.clone(),
            model: name.to_owned(),
            reason: format!(
                "config.json has model_type '{model_type}'{}",
                config["architectures"]
                    .as_array()
                    .map(|a| format!(" (architectures {})", Value::Array(a.clone())))
                    .unwrap_or_default()
            ),
        });
    }
    let dimension = config["hidden_size"]
        .as_u64()
        .ok_or_else(|| corrupt("config.json has no hidden_size".into()))?
        as usize;
    let max_positions = config["max_position_embeddings"].as_u64().unwrap_or(512) as usize;
    for file in ["tokenizer.json", "model.safetensors"] {
        if !dir.join(file).is_file() {
            return Err(corrupt(format!("{file} is missing")));
        }
    }
    check_safetensors(&dir.join("model.safetensors")).map_err(corrupt)?;

    // The sentence-transformers pipeline; a bare transformer snapshot without modules.json
    // is read as sentence-transformers reads one: mean pooling, no normalisation.
    let (pooling_dir, normalize) = if dir.join("modules.json").is_file() {
        let modules = read_json(&dir.join("modules.json")).map_err(corrupt)?;
        let modules = modules.as_array().cloned().unwrap_or_default();
        let of_type = |suffix: &str| {
            modules.iter().find(|m| {
                m["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(&format!(".{suffix}")))
            })
        };
        let pooling = of_type("Pooling").and_then(|m| m["path"].as_str().map(str::to_owned));
        (pooling, of_type("Normalize").is_some())
    } else {
        (None, false)
    };
    let pooling = match pooling_dir {
        Some(sub) => {
            let pc = read_json(&dir.join(&sub).join("config.json")).map_err(corrupt)?;
            let on = |key: &str| pc[key].as_bool().unwrap_or(false);
            if on("pooling_mode_cls_token") {
                Pooling::Cls
            } else if on("pooling_mode_max_tokens") {
                Pooling::Max
            } else if on("pooling_mode_mean_sqrt_len_tokens") {
                Pooling::MeanSqrtLen
            } else if on("pooling_mode_mean_tokens") {
                Pooling::Mean
            } else {
                return Err(ModelError::Unsupported {
                    dir: dir.clone(),
                    model: name.to_owned(),
                    reason: format!("the pooling in {sub}/config.json is none Ferry runs (cls, mean, max, mean_sqrt_len)"),
                });
            }
        }
        None => Pooling::Mean,
    };
    let st = read_json(&dir.join("sentence_bert_config.json")).unwrap_or(Value::Null);
    let max_seq_length = st["max_seq_length"]
        .as_u64()
        .map(|n| n as usize)
        .unwrap_or(max_positions)
        .min(max_positions);
    Ok(ModelSpec {
        name: name.to_owned(),
        dir,
        model_type,
        dimension,
        max_seq_length,
        pooling,
        normalize,
        do_lower_case: st["do_lower_case"].as_bool().unwrap_or(false),
    })
}

/// Checks a safetensors file's framing without reading its tensors: the 8-byte header
/// length, a JSON header, and tensor offsets that end exactly at the end of the file. A
/// truncated download or a file of another format fails here, at collection create, rather
/// than at the first extraction.
fn check_safetensors(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let bad = |why: &str| format!("model.safetensors is not a valid safetensors file: {why}");
    let mut file =
        fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| bad("shorter than its header"))?;
    let header_len = u64::from_le_bytes(len);
    if header_len == 0 || header_len > 100_000_000 || 8 + header_len > size {
        return Err(bad("its header length is out of range"));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)
        .map_err(|_| bad("its header is truncated"))?;
    let header: serde_json::Map<String, Value> =
        serde_json::from_slice(&header).map_err(|_| bad("its header is not JSON"))?;
    let end = header
        .iter()
        .filter(|(k, _)| k.as_str() != "__metadata__")
        .filter_map(|(_, t)| t["data_offsets"].as_array()?.get(1)?.as_u64())
        .max()
        .ok_or_else(|| bad("it holds no tensors"))?;
    if 8 + header_len + end != size {
        return Err(bad(&format!(
            "its tensors need {} bytes but the file has {size} (truncated or padded)",
            8 + header_len + end
        )));
    }
    Ok(())
}

/// Every model directory under `models_dir`, by name, with its spec or why it cannot be
/// used. An absent directory has none.
pub fn installed(models_dir: &Path) -> Vec<(String, Result<ModelSpec, ModelError>)> {
    let Ok(entries) = fs::read_dir(models_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let spec = read_spec(models_dir, &n);
            (n, spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_directory_names() {
        assert!(check_name("all-MiniLM-L6-v2").is_ok());
        assert!(check_name("bge-small-en-v1.5").is_ok());
        for bad in ["", "..", "../etc", "a/b", ".hidden", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_model_names_the_directory_the_model_and_the_install() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_spec(dir.path(), "all-MiniLM-L6-v2").unwrap_err();
        assert_eq!(err.code(), "model_not_installed");
        let msg = err.to_string();
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(msg.contains("all-MiniLM-L6-v2"), "{msg}");
        assert!(msg.contains("scripts/fetch-models"), "{msg}");
    }

    #[test]
    fn another_architecture_is_refused_by_its_config() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("gpt");
        fs::create_dir(&model).unwrap();
        fs::write(
            model.join("config.json"),
            r#"{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 768}"#,
        )
        .unwrap();
        let err = read_spec(dir.path(), "gpt").unwrap_err();
        assert_eq!(err.code(), "model_unsupported");
        assert!(err.to_string().contains("gpt2"), "{err}");
    }

    #[test]
    fn a_truncated_safetensors_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m");
        fs::create_dir(&model).unwrap();
        fs::write(
            model.join("config.json"),
            r#"{"model_type": "bert", "hidden_size": 4}"#,
        )
        .unwrap();
        fs::write(model.join("tokenizer.json"), "{}").unwrap();
        let header = br#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0u8; 16]);
        fs::write(model.join("model.safetensors"), &bytes).unwrap();
        assert!(read_spec(dir.path(), "m").is_ok());
        fs::write(model.join("model.safetensors"), &bytes[..bytes.len() - 3]).unwrap();
        let err = read_spec(dir.path(), "m").unwrap_err();
        assert_eq!(err.code(), "model_corrupt");
        assert!(err.to_string().contains("truncated"), "{err}");
        fs::write(model.join("model.safetensors"), b"not a model at all").unwrap();
        assert_eq!(
            read_spec(dir.path(), "m").unwrap_err().code(),
            "model_corrupt"
        );
    }
}
