"""push: the model folder goes to the Hub through huggingface_hub; offline, or refused by the
server, it is one clear line. Tested against a mocked client and a local stand-in server,
never the network."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from weighted_bert.cli import main


class FakeApi:
    calls = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, private=False, exist_ok=False):
        FakeApi.calls.append(("create_repo", repo_id, private, exist_ok))

    def upload_folder(self, folder_path, repo_id, ignore_patterns=None, commit_message=None):
        FakeApi.calls.append(("upload_folder", folder_path, repo_id, sorted(os.listdir(folder_path))))

        class Commit:
            commit_url = f"https://huggingface.co/{repo_id}/commit/abc"
        return Commit()


def test_push_uploads_the_model_folder(trained_run, monkeypatch, capsys):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    FakeApi.calls.clear()
    assert main(["push", str(trained_run), "--repo-id", "me/intents", "--private"]) == 0
    assert capsys.readouterr().out.strip() == "https://huggingface.co/me/intents/commit/abc"
    create, upload = FakeApi.calls
    assert create == ("create_repo", "me/intents", True, True)
    assert upload[1] == str(trained_run / "model") and upload[2] == "me/intents"
    assert {"README.md", "config.json", "model.safetensors", "label_map.json", "weighted_bert.json"} <= set(upload[3])


class Refuses(BaseHTTPRequestHandler):
    def _answer(self):
        body = json.dumps({"error": "Invalid credentials in Authorization header"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, *args):
        pass


def push_in_a_process(run, env):
    return subprocess.run([sys.executable, "-m", "weighted_bert", "push", str(run), "--repo-id", "me/intents"],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_a_refusing_hub_is_one_line(trained_run):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = push_in_a_process(trained_run, {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
                                                 "HF_TOKEN": "hf_not_a_real_token"})
    finally:
        server.shutdown()
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: push to me/intents: ") and "HF_TOKEN" in last and "Traceback" not in result.stderr


def test_offline_is_one_line(trained_run):
    result = push_in_a_process(trained_run, {"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: push to me/intents: ")
