//! Blob storage: raw object bytes and artifacts, content-addressed by SHA-256 in an object
//! store (a local directory by default, S3-compatible storage by URL).
//!
//! Addressing by content means a blob is written once however many objects or namespaces
//! refer to it, so copying a namespace copies references, never bytes.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};

use crate::{StoreError, StoreResult};

/// Handle to the blob store. Cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// Key prefix inside the store (the URL's path for S3).
    prefix: String,
    description: String,
}

fn blob_error(e: object_store::Error) -> StoreError {
    StoreError::Blob(e.to_string())
}

/// `sha256` of `bytes`, hex-encoded: a blob's address.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl BlobStore {
    /// Blobs under `dir` on the local file system (created if missing).
    pub fn local(dir: &Path) -> StoreResult<BlobStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(blob_error)?;
        Ok(BlobStore {
            inner: Arc::new(fs),
            prefix: String::new(),
            description: format!("local {}", dir.display()),
        })
    }

    /// Blobs in the store a URL names, e.g. `s3://bucket/prefix`. Credentials, region and an
    /// S3-compatible endpoint come from the usual `AWS_*` environment variables.
    pub fn from_url(raw: &str) -> StoreResult<BlobStore> {
        let url = url::Url::parse(raw)
            .map_err(|e| StoreError::Config(format!("invalid object store URL {raw:?}: {e}")))?;
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let (store, path) = object_store::parse_url_opts(&url, env)
            .map_err(|e| StoreError::Config(format!("object store URL {raw:?}: {e}")))?;
        Ok(BlobStore {
            inner: Arc::from(store),
            prefix: path.to_string(),
            description: format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
        })
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    fn path_of(&self, hash: &str) -> StorePath {
        let shard = hash.get(..2).unwrap_or("00");
        self.prefixed(format!("blobs/sha256/{shard}/{hash}"))
    }

    fn prefixed(&self, key: String) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(key)
        } else {
            StorePath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Uploads the file at `file` as the artifact `key` (e.g.
    /// `artifacts/clusters/…/assignments.parquet`), replacing any artifact of that key.
    /// Artifacts are addressed by name, not content: a run writes its own. The file is sent in
    /// parts, so an artifact of any size never sits in memory whole.
    pub async fn put_artifact_file(&self, key: &str, file: &Path) -> StoreResult<()> {
        use object_store::WriteMultipart;
        use tokio::io::AsyncReadExt;
        const PART: usize = 8 * 1024 * 1024;
        let mut source = tokio::fs::File::open(file)
            .await
            .map_err(|e| StoreError::Blob(format!("cannot read {}: {e}", file.display())))?;
        let upload = self
            .inner
            .put_multipart(&self.prefixed(key.to_owned()))
            .await
            .map_err(blob_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = match source.read(&mut buffer).await {
                Ok(n) => n,
                Err(e) => {
                    writer.abort().await.ok();
                    return Err(StoreError::Blob(format!(
                        "cannot read {}: {e}",
                        file.display()
                    )));
                }
            };
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(blob_error)?;
            writer.write(&buffer[..n]);
        }
        writer.finish().await.map_err(blob_error)?;
        Ok(())
    }

    /// Copies the artifact `from` to `to` inside the object store (no bytes pass through
    /// this process), replacing any artifact at `to`.
    pub async fn copy_artifact(&self, from: &str, to: &str) -> StoreResult<()> {
        self.inner
            .copy(
                &self.prefixed(from.to_owned()),
                &self.prefixed(to.to_owned()),
            )
            .await
            .map_err(blob_error)
    }

    /// The bytes of the artifact `key`.
    pub async fn get_artifact(&self, key: &str) -> StoreResult<Bytes> {
        let result = self
            .inner
            .get(&self.prefixed(key.to_owned()))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => StoreError::NotFound {
                    resource: "artifact",
                    id: key.to_owned(),
                },
                other => blob_error(other),
            })?;
        result.bytes().await.map_err(blob_error)
    }

    /// Stores `bytes` under their hash, unless already there, and returns the hash.
    pub async fn put(&self, bytes: Bytes) -> StoreResult<String> {
        let hash = content_hash(&bytes);
        let path = self.path_of(&hash);
        match self.inner.head(&path).await {
            Ok(_) => return Ok(hash),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(blob_error(e)),
        }
        self.inner
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map_err(blob_error)?;
        Ok(hash)
    }

    /// The bytes stored under `hash`.
    pub async fn get(&self, hash: &str) -> StoreResult<Bytes> {
        let result = self
            .inner
            .get(&self.path_of(hash))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => StoreError::NotFound {
                    resource: "blob",
                    id: hash.to_owned(),
                },
                other => blob_error(other),
            })?;
        result.bytes().await.map_err(blob_error)
    }
}
