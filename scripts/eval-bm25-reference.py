#!/usr/bin/env python3
"""Reference BM25 over an evaluation set, to cross-check Ferry's lexical leg.

    python3 scripts/eval-bm25-reference.py "$(scripts/eval-corpus)"
    python3 scripts/eval-bm25-reference.py DOCS.jsonl QUERIES.jsonl [--run run.tsv]

Reads documents.jsonl ({"id", "title", "text"}) and queries.jsonl ({"id", "text",
"relevant": {doc id: grade}}), ranks every document for every query with Okapi BM25 over the
document text only (k1=1.2, b=0.75), and prints recall@10, MRR@10 and NDCG@10 averaged over
all queries, plus a difficulty indicator: how often every query term occurs in a relevant
document. --run writes the top 10 per query as TSV (query id, rank, doc id, score).

Analysis mirrors tantivy's default text analyzer (SimpleTokenizer, RemoveLongFilter(40),
LowerCaser): split on every character that is not alphanumeric, drop tokens of 40 or more
UTF-8 bytes, lowercase; no stemming, no stop words. Python's str.isalnum and Rust's
char::is_alphanumeric agree on ASCII; they can differ on a few non-ASCII characters, which are
rare in this text. Scoring: idf = ln(1 + (N - n + 0.5) / (n + 0.5)), term weight
idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)), with exact document lengths
(tantivy quantises lengths to one byte, so its scores differ slightly and ties may break
differently) and each distinct query term counted once. Ties are broken by document id.
Standard library only.
"""
import argparse
import json
import math
import os
import sys
from collections import Counter, defaultdict

K1, B = 1.2, 0.75
MAX_TOKEN_BYTES = 40
K = 10


def tokenize(text):
    tokens, cur = [], []
    for ch in text:
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            tokens.append("".join(cur))
            cur = []
    if cur:
        tokens.append("".join(cur))
    return [t.lower() for t in tokens if len(t.encode("utf-8")) < MAX_TOKEN_BYTES]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class BM25:
    def __init__(self, docs):
        self.ids = [d["id"] for d in docs]
        self.lengths = []
        self.postings = defaultdict(list)  # term -> [(doc index, tf)]
        for i, d in enumerate(docs):
            tf = Counter(tokenize(d["text"]))
            self.lengths.append(sum(tf.values()))
            for term, n in tf.items():
                self.postings[term].append((i, n))
        self.n = len(docs)
        self.avgdl = sum(self.lengths) / self.n

    def idf(self, term):
        df = len(self.postings.get(term, ()))
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def search(self, query, k=K):
        scores = defaultdict(float)
        for term in sorted(set(tokenize(query))):
            idf = self.idf(term)
            for i, tf in self.postings.get(term, ()):
                norm = K1 * (1 - B + B * self.lengths[i] / self.avgdl)
                scores[i] += idf * tf * (K1 + 1) / (tf + norm)
        ranked = sorted(scores.items(), key=lambda s: (-s[1], self.ids[s[0]]))
        return [(self.ids[i], s) for i, s in ranked[:k]]


def metrics(ranked, relevant, k=K):
    top = ranked[:k]
    hits = [doc for doc in top if relevant.get(doc, 0) > 0]
    recall = len(hits) / sum(1 for g in relevant.values() if g > 0)
    rr = next((1 / (r + 1) for r, doc in enumerate(top) if relevant.get(doc, 0) > 0), 0.0)
    dcg = sum((2 ** relevant.get(doc, 0) - 1) / math.log2(r + 2) for r, doc in enumerate(top))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(r + 2) for r, g in enumerate(ideal))
    return recall, rr, (dcg / idcg if idcg else 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help="the eval directory, or documents.jsonl queries.jsonl")
    ap.add_argument("--run", help="write the top 10 per query here as TSV")
    args = ap.parse_args()
    if len(args.paths) == 1:
        docs_path = os.path.join(args.paths[0], "documents.jsonl")
        queries_path = os.path.join(args.paths[0], "queries.jsonl")
    elif len(args.paths) == 2:
        docs_path, queries_path = args.paths
    else:
        ap.error("give the eval directory, or documents.jsonl and queries.jsonl")

    docs = read_jsonl(docs_path)
    queries = read_jsonl(queries_path)
    index = BM25(docs)
    doc_terms = {d["id"]: set(tokenize(d["text"])) for d in docs}

    totals = [0.0, 0.0, 0.0]
    all_terms = 0
    run = open(args.run, "w", encoding="utf-8") if args.run else None
    for q in queries:
        ranked = index.search(q["text"])
        for t, m in enumerate(metrics([doc for doc, _ in ranked], q["relevant"])):
            totals[t] += m
        qterms = set(tokenize(q["text"]))
        if any(qterms <= doc_terms.get(doc, set()) for doc, g in q["relevant"].items() if g > 0):
            all_terms += 1
        if run:
            for r, (doc, score) in enumerate(ranked):
                run.write(f"{q['id']}\t{r + 1}\t{doc}\t{score:.6f}\n")
    if run:
        run.close()

    nq = len(queries)
    print(f"documents {len(docs)}  queries {nq}  avg doc length {index.avgdl:.1f} tokens")
    print(f"BM25 (k1={K1}, b={B})  recall@10 {totals[0] / nq:.4f}  "
          f"MRR@10 {totals[1] / nq:.4f}  NDCG@10 {totals[2] / nq:.4f}")
    print(f"queries whose terms all occur in a relevant document: {all_terms}/{nq} "
          f"({all_terms / nq:.1%})")


if __name__ == "__main__":
    sys.exit(main())
