#!/usr/bin/env python3
"""Writes the reference embeddings the neural extractor is checked against.

The reference implementation is sentence-transformers itself, run on the same local snapshot
Ferry loads. Run it once in a throwaway virtualenv outside the repository:

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install sentence-transformers
    scripts/fetch-models
    /tmp/refvenv/bin/python scripts/reference_vectors.py \
        "$HOME/.cache/ferry/models/all-MiniLM-L6-v2" \
        crates/ferry-extract/tests/fixtures/all-MiniLM-L6-v2.reference.json

The sentences vary in length from one word to several times the model's maximum sequence
length, so truncation is checked as well as pooling and normalisation. Vectors are rounded to
six decimals to keep the fixture small; the test's cosine bound (0.999) is far looser.
"""
import json
import sys

from sentence_transformers import SentenceTransformer

SHORT = [
    "Hello",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "How do I migrate a namespace to a new embedding model?",
    "Ünïcödé façade naïve café — résumé, coöperate; 東京 and Zürich!",
    "Numbers like 3.14159, 2,718 and 1e-9 appear in scientific text.",
    "e-mail: someone@example.com, url: https://example.com/path?q=1",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
]

PARAGRAPH = (
    "Retrieval warehouses store documents together with dense vectors computed by a feature "
    "extractor. When a better model becomes available, every document has to be embedded "
    "again, and the queries that search the collection must use the same model, otherwise "
    "the scores compare vectors from two different spaces and mean nothing. "
)


def long_texts():
    # About 60 word-pieces per paragraph: 2, 5, 9 and 20 copies straddle and exceed 256.
    texts = [PARAGRAPH * n for n in (2, 5, 9, 20)]
    words = " ".join(f"token{i} alpha{i % 7} beta" for i in range(400))
    texts.append(words)
    texts.append("supercalifragilisticexpialidocious " * 300)
    return texts


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    model = SentenceTransformer(model_dir, device="cpu")
    sentences = SHORT + long_texts()
    tokenizer = model.tokenizer
    vectors = model.encode(sentences, batch_size=8, normalize_embeddings=False)
    items = []
    for text, vector in zip(sentences, vectors):
        pieces = len(tokenizer(text, truncation=False)["input_ids"])
        items.append(
            {
                "text": text,
                "word_pieces": pieces,
                "vector": [round(float(x), 6) for x in vector],
            }
        )
    fixture = {
        "model": model_dir.rstrip("/").split("/")[-1],
        "max_seq_length": model.max_seq_length,
        "reference": "sentence-transformers "
        + __import__("sentence_transformers").__version__,
        "items": items,
    }
    with open(out, "w") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"{len(items)} sentences, max_seq_length {model.max_seq_length}, "
          f"longest {max(i['word_pieces'] for i in items)} word-pieces -> {out}")


if __name__ == "__main__":
    main()
