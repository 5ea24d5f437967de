//! The dependency graph of a namespace's resources: which resources a migration
//! takes, in which tier, and in which order the target receives them.
//!
//! An edge A → B means "B must exist in the target before A". `tier` is 0 without
//! dependencies, else 1 + the highest tier of its dependencies. The execution order is
//! topological and deterministic: by tier, then type (bucket, collection, retriever, taxonomy,
//! cluster), then creation time, then id. Collection `taxonomy_applications` and
//! `cluster_applications` are attachments, applied after the fact, and never edges.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

/// Resource types, in the order the execution order ranks them within a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    Bucket,
    Collection,
    Retriever,
    Taxonomy,
    Cluster,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Bucket => "bucket",
            ResourceKind::Collection => "collection",
            ResourceKind::Retriever => "retriever",
            ResourceKind::Taxonomy => "taxonomy",
            ResourceKind::Cluster => "cluster",
        }
    }
}

/// One resource and what it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: ResourceKind,
    pub id: String,
    pub created_at: i64,
    pub dependencies: Vec<String>,
}

/// A node placed in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub node: Node,
    pub tier: i64,
}

/// The selected resources with their tiers, and the order the target receives them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    pub nodes: Vec<Placed>,
    pub execution_order: Vec<String>,
}

impl Graph {
    pub fn get(&self, id: &str) -> Option<&Placed> {
        self.nodes.iter().find(|p| p.node.id == id)
    }
}

/// Why a selection cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// `resource` depends on `missing`, which is not selected (and dependencies are not
    /// pulled in automatically) or does not exist in the source.
    MissingDependency {
        resource: String,
        kind: ResourceKind,
        missing: String,
    },
    /// A selected id that is not a resource of the source namespace.
    UnknownResource { kind: ResourceKind, id: String },
    /// The ids of a dependency cycle, in order, first repeated at the end.
    Cycle(Vec<String>),
}

/// What a migration's filters select.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `None` selects everything.
    pub explicit: Option<Vec<(ResourceKind, String)>>,
    pub auto_include_dependencies: bool,
}

/// Chooses the nodes a selection takes, then places them. With an explicit selection, the
/// dependencies of selected nodes are added (when `auto_include_dependencies`) or reported
/// missing; every error is reported, not only the first.
pub fn plan(all: &[Node], selection: &Selection) -> Result<Graph, Vec<GraphError>> {
    let by_id: HashMap<&str, &Node> = all.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut errors = Vec::new();
    let mut chosen: BTreeSet<&str> = BTreeSet::new();
    match &selection.explicit {
        None => chosen.extend(by_id.keys().copied()),
        Some(ids) => {
            let mut stack: Vec<&str> = Vec::new();
            for (kind, id) in ids {
                match by_id.get(id.as_str()) {
                    Some(n) if n.kind == *kind => stack.push(n.id.as_str()),
                    _ => errors.push(GraphError::UnknownResource {
                        kind: *kind,
                        id: id.clone(),
                    }),
                }
            }
            let explicit: BTreeSet<&str> = stack.iter().copied().collect();
            while let Some(id) = stack.pop() {
                if !chosen.insert(id) {
                    continue;
                }
                for dep in &by_id[id].dependencies {
                    let known = by_id.contains_key(dep.as_str());
                    if known
                        && (selection.auto_include_dependencies || explicit.contains(dep.as_str()))
                    {
                        stack.push(by_id[dep.as_str()].id.as_str());
                    } else if !explicit.contains(dep.as_str()) {
                        errors.push(GraphError::MissingDependency {
                            resource: id.to_owned(),
                            kind: by_id[id].kind,
                            missing: dep.clone(),
                        });
                    }
                }
            }
        }
    }
    // Dependencies on resources outside the source are missing whatever the selection.
    if selection.explicit.is_none() {
        for node in all {
            for dep in &node.dependencies {
                if !by_id.contains_key(dep.as_str()) {
                    errors.push(GraphError::MissingDependency {
                        resource: node.id.clone(),
                        kind: node.kind,
                        missing: dep.clone(),
                    });
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let selected: Vec<&Node> = chosen.iter().map(|id| by_id[id]).collect();
    place(&selected).map_err(|cycle| vec![GraphError::Cycle(cycle)])
}

/// Tiers by depth-first search; a node met again while still on the path closes a cycle.
fn place(nodes: &[&Node]) -> Result<Graph, Vec<String>> {
    let by_id: HashMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), *n)).collect();
    let mut tiers: HashMap<&str, i64> = HashMap::new();
    let mut path: Vec<&str> = Vec::new();

    fn visit<'a>(
        id: &'a str,
        by_id: &HashMap<&'a str, &'a Node>,
        tiers: &mut HashMap<&'a str, i64>,
        path: &mut Vec<&'a str>,
    ) -> Result<i64, Vec<String>> {
        if let Some(t) = tiers.get(id) {
            return Ok(*t);
        }
        if let Some(start) = path.iter().position(|p| *p == id) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(id.to_owned());
            return Err(cycle);
        }
        path.push(id);
        let mut tier = 0;
        for dep in &by_id[id].dependencies {
            if let Some(dep_node) = by_id.get(dep.as_str()) {
                tier = tier.max(1 + visit(dep_node.id.as_str(), by_id, tiers, path)?);
            }
        }
        path.pop();
        tiers.insert(id, tier);
        Ok(tier)
    }

    let mut ordered: Vec<&Node> = nodes.to_vec();
    ordered.sort_by(|a, b| a.id.cmp(&b.id));
    for node in &ordered {
        visit(node.id.as_str(), &by_id, &mut tiers, &mut path)?;
    }
    let mut placed: Vec<Placed> = ordered
        .iter()
        .map(|n| Placed {
            node: (*n).clone(),
            tier: tiers[n.id.as_str()],
        })
        .collect();
    placed.sort_by(|a, b| {
        (a.tier, a.node.kind, a.node.created_at, &a.node.id).cmp(&(
            b.tier,
            b.node.kind,
            b.node.created_at,
            &b.node.id,
        ))
    });
    let execution_order = placed.iter().map(|p| p.node.id.clone()).collect();
    Ok(Graph {
        nodes: placed,
        execution_order,
    })
}

/// Nodes per resource type, for `estimated_resources`.
pub fn counts(graph: &Graph) -> BTreeMap<ResourceKind, i64> {
    let mut counts = BTreeMap::new();
    for p in &graph.nodes {
        *counts.entry(p.node.kind).or_insert(0) += 1;
    }
    counts
}

/// The collection ids a collection's `source` reads from, or its bucket ids.
pub fn source_ids(source: &Value) -> Vec<String> {
    let list = |key: &str| -> Vec<String> {
        source
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut ids = list("bucket_ids");
    ids.extend(list("collection_ids"));
    if let Some(id) = source.get("collection_id").and_then(Value::as_str) {
        ids.push(id.to_owned());
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: ResourceKind, id: &str, created_at: i64, deps: &[&str]) -> Node {
        Node {
            kind,
            id: id.into(),
            created_at,
            dependencies: deps.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn namespace() -> Vec<Node> {
        use ResourceKind::*;
        vec![
            node(Cluster, "clust_a", 1, &["col_b"]),
            node(Taxonomy, "tax_a", 2, &["ret_a", "col_a"]),
            node(Retriever, "ret_a", 3, &["col_a", "col_b"]),
            node(Collection, "col_b", 4, &["col_a"]),
            node(Collection, "col_a", 5, &["bkt_a"]),
            node(Bucket, "bkt_b", 6, &[]),
            node(Bucket, "bkt_a", 7, &[]),
        ]
    }

    #[test]
    fn tiers_and_a_deterministic_order() {
        let graph = plan(&namespace(), &Selection::default()).unwrap();
        let tier = |id: &str| graph.get(id).unwrap().tier;
        assert_eq!(
            [
                tier("bkt_a"),
                tier("col_a"),
                tier("col_b"),
                tier("ret_a"),
                tier("tax_a")
            ],
            [0, 1, 2, 3, 4]
        );
        assert_eq!(tier("clust_a"), 3);
        assert_eq!(
            graph.execution_order,
            ["bkt_b", "bkt_a", "col_a", "col_b", "ret_a", "clust_a", "tax_a"]
        );
        let mut shuffled = namespace();
        shuffled.reverse();
        assert_eq!(plan(&shuffled, &Selection::default()).unwrap(), graph);
    }

    #[test]
    fn dependencies_are_pulled_in_or_reported() {
        let select = |auto| Selection {
            explicit: Some(vec![(ResourceKind::Retriever, "ret_a".into())]),
            auto_include_dependencies: auto,
        };
        let graph = plan(&namespace(), &select(true)).unwrap();
        assert_eq!(graph.execution_order, ["bkt_a", "col_a", "col_b", "ret_a"]);
        let errors = plan(&namespace(), &select(false)).unwrap_err();
        assert!(errors.contains(&GraphError::MissingDependency {
            resource: "ret_a".into(),
            kind: ResourceKind::Retriever,
            missing: "col_a".into(),
        }));
        let unknown = plan(
            &namespace(),
            &Selection {
                explicit: Some(vec![(ResourceKind::Collection, "ret_a".into())]),
                auto_include_dependencies: true,
            },
        )
        .unwrap_err();
        assert_eq!(
            unknown,
            vec![GraphError::UnknownResource {
                kind: ResourceKind::Collection,
                id: "ret_a".into()
            }]
        );
    }

    #[test]
    fn a_cycle_is_named() {
        use ResourceKind::*;
        let nodes = vec![
            node(Collection, "col_a", 1, &["col_b"]),
            node(Collection, "col_b", 2, &["col_a"]),
        ];
        let errors = plan(&nodes, &Selection::default()).unwrap_err();
        assert_eq!(
            errors,
            vec![GraphError::Cycle(vec![
                "col_a".into(),
                "col_b".into(),
                "col_a".into()
            ])]
        );
    }
}
