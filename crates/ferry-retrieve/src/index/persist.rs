//! Saving an index to its directory and loading it back, refusing anything it cannot trust.
//!
//! Layout under the index root: `{ns_key}/{collection_id}/{vector_name}/` holds
//! `graph-{n}.usearch`, `keys-{n}.bin` and `meta.json`. A save writes a new generation `n`
//! next to the old one, then replaces `meta.json` (write, fsync, rename) to point at it, then
//! removes the old generation; a crash at any point leaves a `meta.json` naming files that
//! were complete when it was written. `meta.json` carries both files' lengths and CRC-32s, the
//! settings and the watermark; [`load`] checks them all before the graph is used.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ferry_extract::Metric;
use ferry_wire::collection::VectorDataType;
use serde::{Deserialize, Serialize};

use super::ann::Ann;
use super::collection::{CollectionIndex, IndexId, IndexSettings};
use super::keys::KeyMap;

/// 2: graphs of M 32 (format 1 held M 16 ones, which a load rebuilds).
const FORMAT: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format: u32,
    generation: u64,
    collection_id: String,
    vector_name: String,
    dimensions: usize,
    metric: String,
    /// The graph's `datatype` (named `storage` since the first format).
    storage: VectorDataType,
    watermark: i64,
    count: usize,
    /// Documents with a vector the graph cannot hold (searched exactly).
    unindexed: Vec<String>,
    graph: FileCheck,
    keys: FileCheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileCheck {
    bytes: u64,
    crc32: u32,
}

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Cosine => "cosine",
        Metric::Dot => "dot",
        Metric::Euclidean => "euclidean",
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// The directory of one index under `root`. Collection ids and vector names are generated
/// identifiers (letters, digits, `_`), but anything else is hex-escaped so no name can
/// leave the root.
pub fn index_dir(root: &Path, id: &IndexId) -> PathBuf {
    fn safe(name: &str) -> String {
        name.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' => (b as char).to_string(),
                other => format!("%{other:02x}"),
            })
            .collect()
    }
    root.join(id.ns.number().to_string())
        .join(safe(&id.collection_id))
        .join(safe(&id.vector_name))
}

fn check(path: &Path) -> io::Result<FileCheck> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut hasher = crc32fast::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(FileCheck {
        bytes,
        crc32: hasher.finalize(),
    })
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn read_meta(dir: &Path) -> io::Result<Meta> {
    let text = fs::read_to_string(dir.join("meta.json"))?;
    serde_json::from_str(&text).map_err(|e| invalid(format!("meta.json: {e}")))
}

/// Saves `index` under `root`; returns the watermark saved.
pub fn save(root: &Path, index: &CollectionIndex) -> io::Result<i64> {
    let dir = index_dir(root, &index.id);
    fs::create_dir_all(&dir)?;
    let previous = read_meta(&dir).ok().map(|m| m.generation);
    let generation = previous.map_or(1, |g| g + 1);
    let graph_path = dir.join(format!("graph-{generation}.usearch"));
    let keys_path = dir.join(format!("keys-{generation}.bin"));
    let (watermark, count, unindexed) = index.snapshot(|graph, keys, unindexed, watermark| {
        graph
            .save(&graph_path)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut out = BufWriter::new(File::create(&keys_path)?);
        keys.write_to(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        let mut unindexed: Vec<String> = unindexed.iter().cloned().collect();
        unindexed.sort();
        Ok((watermark, keys.len(), unindexed))
    })?;
    File::open(&graph_path)?.sync_all()?;
    let meta = Meta {
        format: FORMAT,
        generation,
        collection_id: index.id.collection_id.clone(),
        vector_name: index.id.vector_name.clone(),
        dimensions: index.settings.dimensions,
        metric: metric_name(index.settings.metric).to_owned(),
        storage: index.settings.storage.datatype,
        watermark,
        count,
        unindexed,
        graph: check(&graph_path)?,
        keys: check(&keys_path)?,
    };
    let temporary = dir.join("meta.json.tmp");
    {
        let mut file = File::create(&temporary)?;
        file.write_all(&serde_json::to_vec_pretty(&meta).map_err(io::Error::other)?)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, dir.join("meta.json"))?;
    sync_dir(&dir)?;
    if let Some(old) = previous {
        let _ = fs::remove_file(dir.join(format!("graph-{old}.usearch")));
        let _ = fs::remove_file(dir.join(format!("keys-{old}.bin")));
    }
    Ok(watermark)
}

/// Loads the index saved for `id` if there is one and every check passes: format, settings,
/// file lengths and CRC-32s, and graph size against the key table. The graph is read into
/// memory, or mapped from its file when `mapped`. `Ok(None)` when nothing was saved; an
/// error names what failed (the caller rebuilds).
pub fn load(
    root: &Path,
    id: &IndexId,
    settings: IndexSettings,
    mapped: bool,
) -> io::Result<Option<CollectionIndex>> {
    let dir = index_dir(root, id);
    let meta = match read_meta(&dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if meta.format != FORMAT
        || meta.collection_id != id.collection_id
        || meta.vector_name != id.vector_name
        || meta.dimensions != settings.dimensions
        || meta.metric != metric_name(settings.metric)
        || meta.storage != settings.storage.datatype
    {
        return Err(invalid("saved index has other settings"));
    }
    let graph_path = dir.join(format!("graph-{}.usearch", meta.generation));
    let keys_path = dir.join(format!("keys-{}.bin", meta.generation));
    if check(&graph_path)? != meta.graph {
        return Err(invalid("graph file fails its checksum"));
    }
    if check(&keys_path)? != meta.keys {
        return Err(invalid("key table fails its checksum"));
    }
    let graph = Ann::open(
        &graph_path,
        settings.dimensions,
        settings.metric,
        settings.storage.datatype,
        mapped,
    )
    .map_err(|e| invalid(e.to_string()))?;
    let keys = KeyMap::read_from(&mut BufReader::new(File::open(&keys_path)?))?;
    if graph.size() != keys.len() || keys.len() != meta.count {
        return Err(invalid(format!(
            "graph holds {} vectors, key table {}, meta.json {}",
            graph.size(),
            keys.len(),
            meta.count
        )));
    }
    Ok(Some(CollectionIndex::from_parts(
        id.clone(),
        settings,
        (graph, keys, meta.unindexed.into_iter().collect()),
        Some(meta.watermark),
        mapped,
    )))
}

/// Removes everything saved for `id` (its collection is gone).
pub fn remove(root: &Path, id: &IndexId) -> io::Result<()> {
    match fs::remove_dir_all(index_dir(root, id)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
