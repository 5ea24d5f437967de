-- Evaluation sets (Ferry's extension): judged queries owned by a retriever. `queries` is the
-- JSON array of queries (inputs and graded relevant documents or objects) as the API validated
-- it; the counts are kept beside it so a list needs no JSON. A retriever's deletion takes its
-- sets with it.
CREATE TABLE retriever_evaluations (
    ns_key BIGINT NOT NULL,
    retriever_id TEXT NOT NULL,
    evaluation_id TEXT NOT NULL,
    evaluation_name TEXT NOT NULL,
    description TEXT,
    queries TEXT NOT NULL,
    query_count BIGINT NOT NULL,
    judgment_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, evaluation_id),
    UNIQUE (ns_key, retriever_id, evaluation_name),
    FOREIGN KEY (ns_key, retriever_id) REFERENCES retrievers (ns_key, retriever_id)
        ON DELETE CASCADE
);
CREATE INDEX retriever_evaluations_by_created
    ON retriever_evaluations (ns_key, retriever_id, created_at, evaluation_id);
