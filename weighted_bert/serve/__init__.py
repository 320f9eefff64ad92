"""``weighted-bert serve``: a trained model folder behind HTTP.

The request and response shapes are those of Hugging Face's Inference API and Text
Embeddings Inference for text classification (``POST /predict`` with ``{"inputs": ...}``),
so their clients work unchanged. Concurrent requests are batched (:mod:`.batcher`), the
model runs off the event loop, and ``SIGTERM`` drains: requests in flight finish, new ones
get 503, the process exits 0 (:mod:`.runner`). Needs the ``serve`` extra.
"""

from .runner import serve

__all__ = ["serve"]
