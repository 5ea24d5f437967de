//! Cluster executions (`engine_cluster_build` tasks): k-means over the documents of a
//! cluster's input collections, streamed in keyset batches.
//!
//! The run makes bounded-memory passes over the stream:
//! 1. sample: a seeded reservoir sample (at most `sample_size`, default
//!    [`DEFAULT_TRAINING_SAMPLE`] vectors) and the count of documents with the feature;
//! 2. train: k-means++ and Lloyd's algorithm on the sample, `n_init` times, best inertia wins;
//!    when the sample did not hold every vector, multi-pass Lloyd over the full stream
//!    refines those centroids (each pass keeps only k × dim sums);
//! 3. assign: each document gets `cluster_id` (`cl_N`) written among its fields, and a row in
//!    the Parquet artifact (`document_id`, `collection_id`, `cluster_id`, `distance`), written
//!    one row group per batch to a temporary file and then uploaded in parts.
//!
//! A run that dies is started again from the first pass by whichever worker takes the lease;
//! every pass is deterministic for a given seed and set of documents, and writing `cluster_id`
//! twice writes the same value.

use std::fs::File;
use std::sync::Arc;

use ferry_store::clusters::{ExecutionOutcome, RUN_COMPLETED, RUN_FAILED};
use ferry_store::{DocumentRecord, LeaseRenewal, NamespaceKey, StoreError, Task};
use ferry_wire::cluster::{KMeansParams, VectorBasedConfig};
use ferry_wire::task::TaskStatusEnum;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::kmeans::{self, LloydStep};
use crate::worker::{Pipeline, PipelineError};

/// Task type of a cluster execution, as the SDK's `TaskType` names it.
pub const CLUSTER_TASK: &str = "engine_cluster_build";

/// Vectors held in memory to train on when the cluster names no `sample_size`.
pub const DEFAULT_TRAINING_SAMPLE: usize = 10_000;

/// Schema of the assignments artifact.
const ASSIGNMENTS_SCHEMA: &str = "message assignments {
    REQUIRED BYTE_ARRAY document_id (UTF8);
    REQUIRED BYTE_ARRAY collection_id (UTF8);
    REQUIRED BYTE_ARRAY cluster_id (UTF8);
    REQUIRED DOUBLE distance;
}";

/// One input collection and the stored vector names that make up the clustered feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanCollection {
    pub collection_id: String,
    /// Concatenated in this order.
    pub vector_names: Vec<String>,
}

/// Everything an execution needs, resolved by the API when it is queued (the task's inputs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterPlan {
    pub cluster_id: String,
    /// Set by the store when the run is created.
    #[serde(default)]
    pub run_id: String,
    pub namespace_id: String,
    pub collections: Vec<PlanCollection>,
    pub n_clusters: usize,
    pub max_iter: usize,
    pub random_state: i64,
    pub n_init: usize,
    pub tol: f64,
    /// k-means++ seeding (else uniform random).
    pub plus_plus: bool,
    pub sample_size: Option<usize>,
    /// L2-normalize each feature block when several are concatenated.
    pub normalize_features: bool,
}

/// The configuration a cluster is stored with (the `definition` column).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterDefinition {
    pub vector_config: VectorBasedConfig,
    /// The k-means parameters executions run with (`kmeans_parameters` merged with
    /// `algorithm_params`).
    pub kmeans: KMeansParams,
    pub llm_labeling: Option<Value>,
    pub enrich_source_collection: bool,
    pub source_enrichment_config: Option<Value>,
    pub auto_execute_on_batch: bool,
    pub auto_execute_min_documents: Option<i64>,
    pub auto_execute_cooldown_seconds: Option<i64>,
}

impl ClusterDefinition {
    /// The plan of a full run over `collections` (resolved to stored vector names);
    /// `sample_size` overrides the definition's.
    pub fn plan(
        &self,
        cluster_id: &str,
        namespace_id: &str,
        collections: Vec<PlanCollection>,
        sample_size: Option<usize>,
    ) -> ClusterPlan {
        ClusterPlan {
            cluster_id: cluster_id.to_owned(),
            run_id: String::new(),
            namespace_id: namespace_id.to_owned(),
            collections,
            n_clusters: self.kmeans.n_clusters as usize,
            max_iter: self.kmeans.max_iter as usize,
            random_state: self.kmeans.random_state,
            n_init: self.kmeans.n_init as usize,
            tol: self.kmeans.tol,
            plus_plus: self.kmeans.init == "k-means++",
            sample_size: sample_size.or(self.vector_config.sample_size.map(|s| s as usize)),
            normalize_features: self.vector_config.normalize_features,
        }
    }
}

/// The id a centroid gets, and the value its members carry in `cluster_id`.
pub fn centroid_label(index: usize) -> String {
    format!("cl_{index}")
}

/// The clustered feature of a document: its named vectors concatenated, or `None` when one is
/// missing.
fn feature(doc: &DocumentRecord, names: &[String], normalize: bool) -> Option<Vec<f32>> {
    let mut out = Vec::new();
    for name in names {
        let (_, values) = doc.vectors.iter().find(|(n, _)| n == name)?;
        if normalize && names.len() > 1 {
            let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
            let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
            out.extend(values.iter().map(|v| v * scale));
        } else {
            out.extend_from_slice(values);
        }
    }
    Some(out)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Per-centroid statistics gathered while assigning.
#[derive(Debug, Clone, Default)]
struct Members {
    count: i64,
    distance_sum: f64,
    squared_sum: f64,
    cosine_sum: f64,
    cosine_min: f64,
}

fn parquet_error(e: parquet::errors::ParquetError) -> PipelineError {
    PipelineError::Artifact(e.to_string())
}

impl Pipeline {
    /// Streams every document of the plan's collections through `visit`, batch by batch,
    /// renewing the task's lease after each batch.
    async fn each_batch(
        &self,
        ns: NamespaceKey,
        plan: &ClusterPlan,
        lease: &mut LeaseRenewal<'_>,
        mut visit: impl FnMut(&PlanCollection, &[DocumentRecord]),
    ) -> Result<(), PipelineError> {
        for collection in &plan.collections {
            let mut pages = self.document_pages(ns, &collection.collection_id);
            while let Some(batch) = pages.next().await? {
                visit(collection, &batch);
                lease.lease_until = self.lease_deadline();
                self.store().renew_task_lease(lease).await?;
            }
        }
        Ok(())
    }

    /// Fits centroids to the in-memory sample on a blocking thread (it is CPU-bound, and would
    /// stall the runtime's other tasks), renewing the lease meanwhile so a long fit is not
    /// mistaken for a dead worker.
    async fn fit_keeping_lease(
        &self,
        lease: &mut LeaseRenewal<'_>,
        plan: &ClusterPlan,
        sample: Vec<Vec<f32>>,
        mut rng: StdRng,
        tol_abs: f64,
    ) -> Result<Vec<Vec<f32>>, PipelineError> {
        let (k, n_init, max_iter, plus_plus) =
            (plan.n_clusters, plan.n_init, plan.max_iter, plan.plus_plus);
        let fit = tokio::task::spawn_blocking(move || {
            kmeans::fit(&sample, k, n_init, max_iter, tol_abs, plus_plus, &mut rng)
        });
        tokio::pin!(fit);
        let renew_every = self.config().lease / 3;
        loop {
            tokio::select! {
                fitted = &mut fit => {
                    return fitted.map_err(|e| PipelineError::Config(format!("k-means fit: {e}")));
                }
                _ = tokio::time::sleep(renew_every) => {
                    lease.lease_until = self.lease_deadline();
                    self.store().renew_task_lease(lease).await?;
                }
            }
        }
    }

    /// Runs one claimed cluster execution to its end.
    pub(crate) async fn run_cluster_task(&self, task: Task) -> Result<(), PipelineError> {
        let ns = task
            .namespace
            .ok_or_else(|| PipelineError::Config("cluster task without a namespace".into()))?;
        let plan: ClusterPlan = serde_json::from_value(task.inputs.clone())
            .map_err(|e| PipelineError::Config(format!("cluster task inputs: {e}")))?;
        self.store()
            .mark_cluster_execution_processing(ns, &plan.cluster_id, &plan.run_id)
            .await?;
        let mut total = 0;
        for c in &plan.collections {
            match self.store().get_collection(ns, &c.collection_id).await {
                Ok(collection) => total += collection.document_count,
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.store()
            .set_task_total(&task.task_id, self.worker_id(), total)
            .await?;
        match self.execute_plan(ns, &task, &plan).await {
            Ok(outcome) => {
                self.store()
                    .finish_cluster_execution(ns, &plan.cluster_id, &plan.run_id, &outcome)
                    .await?;
                let outputs = json!({
                    "cluster_id": plan.cluster_id,
                    "run_id": plan.run_id,
                    "num_clusters": outcome.num_clusters,
                    "num_points": outcome.num_points,
                    "artifact_key": outcome.artifact_key,
                });
                self.end_task(&task.task_id, TaskStatusEnum::Completed, &outputs)
                    .await?;
                Ok(())
            }
            // Another worker owns the run now; it records the outcome.
            Err(PipelineError::Store(StoreError::LeaseLost(message))) => {
                Err(StoreError::LeaseLost(message).into())
            }
            Err(e) => {
                let message = e.to_string();
                let failed = ExecutionOutcome {
                    status: RUN_FAILED,
                    num_clusters: 0,
                    num_points: 0,
                    centroids: None,
                    metrics: None,
                    artifact_key: None,
                    error_message: Some(message.clone()),
                };
                self.store()
                    .finish_cluster_execution(ns, &plan.cluster_id, &plan.run_id, &failed)
                    .await?;
                self.fail_task(&task.task_id, &message).await?;
                tracing::warn!(task_id = task.task_id, error = %message, "cluster execution failed");
                Ok(())
            }
        }
    }

    async fn execute_plan(
        &self,
        ns: NamespaceKey,
        task: &Task,
        plan: &ClusterPlan,
    ) -> Result<ExecutionOutcome, PipelineError> {
        let k = plan.n_clusters;
        let mut lease = LeaseRenewal {
            task_id: &task.task_id,
            owner: self.worker_id(),
            lease_until: self.lease_deadline(),
            processed: 0,
            resume_cursor: None,
        };
        let mut rng = StdRng::seed_from_u64(plan.random_state as u64);

        // Pass 1: reservoir sample and counts.
        let capacity = plan.sample_size.unwrap_or(DEFAULT_TRAINING_SAMPLE).max(k);
        let mut sample: Vec<Vec<f32>> = Vec::new();
        let mut source_documents = 0i64;
        let mut with_feature = 0usize;
        let mut dim: Option<usize> = None;
        let mut mismatch: Option<String> = None;
        self.each_batch(ns, plan, &mut lease, |collection, batch| {
            source_documents += batch.len() as i64;
            for doc in batch {
                let Some(v) = feature(doc, &collection.vector_names, plan.normalize_features)
                else {
                    continue;
                };
                match dim {
                    None => dim = Some(v.len()),
                    Some(d) if d != v.len() => {
                        mismatch.get_or_insert_with(|| {
                            format!(
                                "document {} has a {}-dimensional feature, others {d}",
                                doc.document_id,
                                v.len()
                            )
                        });
                        continue;
                    }
                    Some(_) => {}
                }
                with_feature += 1;
                if sample.len() < capacity {
                    sample.push(v);
                } else {
                    let slot = rng.gen_range(0..with_feature);
                    if slot < capacity {
                        sample[slot] = v;
                    }
                }
            }
        })
        .await?;
        if let Some(message) = mismatch {
            return Err(PipelineError::Config(message));
        }
        let dim = dim.unwrap_or(0);
        if with_feature < k {
            return Err(PipelineError::Config(format!(
                "{with_feature} document(s) carry the clustered feature; k-means with \
                 n_clusters={k} needs at least {k}"
            )));
        }

        // Pass 2: fit on the sample, then refine over the whole stream if it was a sample.
        let tol_abs = plan.tol * kmeans::mean_variance(&sample);
        let sampled_everything = sample.len() == with_feature;
        let mut centroids = self
            .fit_keeping_lease(&mut lease, plan, sample, rng, tol_abs)
            .await?;
        if !sampled_everything {
            for _ in 0..plan.max_iter {
                let mut step = LloydStep::new(k, dim);
                self.each_batch(ns, plan, &mut lease, |collection, batch| {
                    for doc in batch {
                        if let Some(v) =
                            feature(doc, &collection.vector_names, plan.normalize_features)
                                .filter(|v| v.len() == dim)
                        {
                            step.add(&centroids, &v);
                        }
                    }
                })
                .await?;
                let (next, shift) = step.finish(&centroids);
                centroids = next;
                if shift <= tol_abs {
                    break;
                }
            }
        }

        // Pass 3: assign, write `cluster_id` onto documents, and the Parquet artifact.
        let artifact = tempfile::NamedTempFile::new()
            .map_err(|e| PipelineError::Artifact(format!("temporary file: {e}")))?;
        let schema = Arc::new(parse_message_type(ASSIGNMENTS_SCHEMA).map_err(parquet_error)?);
        let mut writer = SerializedFileWriter::new(
            artifact
                .reopen()
                .map_err(|e| PipelineError::Artifact(e.to_string()))?,
            schema,
            Arc::new(WriterProperties::builder().build()),
        )
        .map_err(parquet_error)?;
        let mut members = vec![
            Members {
                cosine_min: f64::INFINITY,
                ..Members::default()
            };
            k
        ];
        let mut assigned = 0i64;
        for collection in &plan.collections {
            let mut pages = self.document_pages(ns, &collection.collection_id);
            while let Some(batch) = pages.next().await? {
                let mut updates = Vec::with_capacity(batch.len());
                let mut rows = AssignmentRows::default();
                for doc in &batch {
                    let Some(v) = feature(doc, &collection.vector_names, plan.normalize_features)
                        .filter(|v| v.len() == dim)
                    else {
                        continue;
                    };
                    let (index, squared) = kmeans::nearest(&centroids, &v);
                    let distance = squared.sqrt();
                    let m = &mut members[index];
                    let cos = cosine(&v, &centroids[index]);
                    m.count += 1;
                    m.distance_sum += distance;
                    m.squared_sum += squared;
                    m.cosine_sum += cos;
                    m.cosine_min = m.cosine_min.min(cos);
                    let label = centroid_label(index);
                    rows.push(
                        &doc.document_id,
                        &collection.collection_id,
                        &label,
                        distance,
                    );
                    updates.push((doc.document_id.clone(), Value::String(label)));
                }
                assigned += updates.len() as i64;
                rows.write(&mut writer)?;
                lease.processed = assigned;
                lease.lease_until = self.lease_deadline();
                crate::through_freeze(|| {
                    self.store().set_document_field(
                        ns,
                        &collection.collection_id,
                        "cluster_id",
                        &updates,
                        &lease,
                    )
                })
                .await?;
            }
        }
        writer.close().map_err(parquet_error)?;
        let artifact_key = format!(
            "artifacts/clusters/{}/{}/{}/assignments.parquet",
            plan.namespace_id, plan.cluster_id, plan.run_id
        );
        self.blobs()
            .put_artifact_file(&artifact_key, artifact.path())
            .await?;

        let (centroids_json, mut metrics) = summarize(&centroids, &members, assigned);
        // Input reconciliation counts travel with the metrics; the API reports them beside.
        metrics["source_documents"] = source_documents.into();
        metrics["vectors_retrieved"] = with_feature.into();
        Ok(ExecutionOutcome {
            status: RUN_COMPLETED,
            num_clusters: members.iter().filter(|m| m.count > 0).count() as i64,
            num_points: assigned,
            centroids: Some(centroids_json),
            metrics: Some(metrics),
            artifact_key: Some(artifact_key),
            error_message: None,
        })
    }
}

/// One batch of assignment rows, column by column, as Parquet writes them.
#[derive(Default)]
struct AssignmentRows {
    document_ids: Vec<ByteArray>,
    collection_ids: Vec<ByteArray>,
    cluster_ids: Vec<ByteArray>,
    distances: Vec<f64>,
}

impl AssignmentRows {
    fn push(&mut self, document_id: &str, collection_id: &str, cluster_id: &str, distance: f64) {
        self.document_ids.push(ByteArray::from(document_id));
        self.collection_ids.push(ByteArray::from(collection_id));
        self.cluster_ids.push(ByteArray::from(cluster_id));
        self.distances.push(distance);
    }

    /// Writes the rows as one row group (none when the batch assigned nothing).
    fn write(self, writer: &mut SerializedFileWriter<File>) -> Result<(), PipelineError> {
        if self.distances.is_empty() {
            return Ok(());
        }
        let mut group = writer.next_row_group().map_err(parquet_error)?;
        let text_columns = [self.document_ids, self.collection_ids, self.cluster_ids];
        for values in &text_columns {
            let Some(mut column) = group.next_column().map_err(parquet_error)? else {
                return Err(PipelineError::Artifact(
                    "assignment schema lost a column".into(),
                ));
            };
            column
                .typed::<ByteArrayType>()
                .write_batch(values, None, None)
                .map_err(parquet_error)?;
            column.close().map_err(parquet_error)?;
        }
        let Some(mut column) = group.next_column().map_err(parquet_error)? else {
            return Err(PipelineError::Artifact(
                "assignment schema lost a column".into(),
            ));
        };
        column
            .typed::<DoubleType>()
            .write_batch(&self.distances, None, None)
            .map_err(parquet_error)?;
        column.close().map_err(parquet_error)?;
        group.close().map_err(parquet_error)?;
        Ok(())
    }
}

/// Centroids as stored with the execution (with their vectors), and the run's quality
/// metrics: Davies–Bouldin and Calinski–Harabasz follow from per-cluster sums, so they need no
/// pairwise pass over the documents.
fn summarize(centroids: &[Vec<f32>], members: &[Members], assigned: i64) -> (Value, Value) {
    let k = centroids.len();
    let centroid_json: Vec<Value> = centroids
        .iter()
        .zip(members)
        .enumerate()
        .map(|(i, (c, m))| {
            json!({
                "cluster_id": centroid_label(i),
                "num_members": m.count,
                "label": format!("Cluster {i}"),
                "mean_cosine_similarity": (m.count > 0).then(|| m.cosine_sum / m.count as f64),
                "min_cosine_similarity": (m.count > 0).then_some(m.cosine_min),
                "centroid_vector": c,
            })
        })
        .collect();
    let n = assigned as f64;
    let populated: Vec<usize> = (0..k).filter(|&i| members[i].count > 0).collect();
    let inertia: f64 = members.iter().map(|m| m.squared_sum).sum();
    let scatter: Vec<f64> = members
        .iter()
        .map(|m| {
            if m.count > 0 {
                m.distance_sum / m.count as f64
            } else {
                0.0
            }
        })
        .collect();
    let davies_bouldin = (populated.len() > 1).then(|| {
        populated
            .iter()
            .map(|&i| {
                populated
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| {
                        let d = kmeans::squared_distance(&centroids[i], &centroids[j]).sqrt();
                        if d > 0.0 {
                            (scatter[i] + scatter[j]) / d
                        } else {
                            0.0
                        }
                    })
                    .fold(0.0, f64::max)
            })
            .sum::<f64>()
            / populated.len() as f64
    });
    let dim = centroids.first().map_or(0, Vec::len);
    let mut overall = vec![0.0f64; dim];
    for &i in &populated {
        for (o, c) in overall.iter_mut().zip(&centroids[i]) {
            *o += f64::from(*c) * members[i].count as f64 / n;
        }
    }
    let between: f64 = populated
        .iter()
        .map(|&i| {
            members[i].count as f64
                * centroids[i]
                    .iter()
                    .zip(&overall)
                    .map(|(c, o)| (f64::from(*c) - o).powi(2))
                    .sum::<f64>()
        })
        .sum();
    let kp = populated.len() as f64;
    let calinski_harabasz = (populated.len() > 1 && n > kp && inertia > 0.0)
        .then(|| (between / (kp - 1.0)) / (inertia / (n - kp)));
    let entropy: f64 = populated
        .iter()
        .map(|&i| {
            let p = members[i].count as f64 / n;
            -p * p.ln()
        })
        .sum();
    let cosine_total: f64 = members.iter().map(|m| m.cosine_sum).sum();
    let cosine_min = members
        .iter()
        .filter(|m| m.count > 0)
        .map(|m| m.cosine_min)
        .fold(f64::INFINITY, f64::min);
    let metrics = json!({
        "silhouette_score": null,
        "davies_bouldin_index": davies_bouldin,
        "calinski_harabasz_score": calinski_harabasz,
        "avg_cluster_size": if kp > 0.0 { n / kp } else { 0.0 },
        "noise_ratio": 0.0,
        "cluster_size_entropy": entropy,
        "mean_cosine_to_centroid": (n > 0.0).then(|| cosine_total / n),
        "min_cosine_to_centroid": cosine_min.is_finite().then_some(cosine_min),
        "inertia": inertia,
    });
    (Value::Array(centroid_json), metrics)
}
