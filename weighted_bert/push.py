"""``weighted-bert push``: a trained model folder to the Hugging Face Hub.

The folder is a plain transformers model with its model card (``README.md``), label map
and calibration folded into its weights, so what is published answers as ``predict`` does.
The token comes from the usual places (``HF_TOKEN``, ``huggingface-cli login``); nothing
hidden (names starting with a dot) is uploaded.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .log import get_logger
from .run_folder import MODEL, MODEL_CARD

log = get_logger(__name__)


def push(model_dir, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
    """Create ``repo_id`` (if needed) and upload the model folder; returns the commit's URL."""
    from huggingface_hub import HfApi

    folder = Path(model_dir)
    if not (folder / "config.json").is_file() and (folder / MODEL / "config.json").is_file():
        folder = folder / MODEL
    if not (folder / "config.json").is_file():
        raise UserError(f"{model_dir}: not a model folder (no config.json); expected the output folder of "
                        "`weighted-bert train` or its model/")
    if not (folder / MODEL_CARD).is_file():
        from .model_card import write_model_card

        write_model_card(folder)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, ignore_patterns=[".*", "*/.*"],
                                   commit_message="Upload a weighted-bert model")
    except Exception as err:  # network, authentication and Hub errors all end the same way for the user
        if not _hub_error(err):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"push to {repo_id}: {first} (is the Hub reachable, and a token set with HF_TOKEN or "
                        "`hf auth login`?)") from None
    url = getattr(commit, "commit_url", None) or str(commit)
    log.info(f"pushed {folder} to {repo_id}")
    return url


def _hub_error(err: Exception) -> bool:
    """An error of the Hub client or of the HTTP stack under it (whose package name differs
    between huggingface_hub versions: requests, httpx, httpx2), or of the network."""
    package = type(err).__module__.split(".")[0]
    return isinstance(err, OSError) or package in ("huggingface_hub", "httpx", "httpx2", "requests", "urllib3")
