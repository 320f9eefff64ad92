"""The naive baseline of benchmarks/serve.py: the same web framework calling
``transformers.pipeline`` once per request, as one would write it by hand.

    python benchmarks/naive_server.py MODEL_DIR PORT
"""

import sys

import uvicorn
from fastapi import FastAPI
from transformers import pipeline

STUDIES = ()  # the budget settings varied on purpose: none (tests/test_benchmarks.py)

model, port = sys.argv[1], int(sys.argv[2])
classify = pipeline("text-classification", model=model, tokenizer=model, top_k=None, truncation=True, device=-1)
app = FastAPI()


@app.post("/predict")
def predict(body: dict):  # a plain def: FastAPI runs it in its thread pool
    inputs = body["inputs"]
    rows = classify([inputs] if isinstance(inputs, str) else inputs)
    return [sorted(row, key=lambda d: -d["score"]) for row in rows]


@app.get("/health")
def health():
    return {"status": "ok"}


if __name__ == "__main__":
    print(f"naive server on http://127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
