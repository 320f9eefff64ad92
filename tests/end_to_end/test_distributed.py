"""Two processes on the CPU (torchrun, gloo) train the same model as one process with the
same global batch; only process 0 writes, and dev metrics count each example once. Two
nodes (two torchrun agents meeting on this host) do too, and resume after one is killed."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from helpers import SLOW_TRAIN

from weighted_bert.cli import main
from weighted_bert.training.resume import complete_checkpoints

LAUNCHERS = {
    "torchrun": ["-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port={port}"],
    # accelerate's --multi_gpu launcher is torchrun underneath; without GPUs we train with gloo.
    "accelerate": ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes=2", "--num_machines=1",
                   "--mixed_precision=no", "--dynamo_backend=no", "--main_process_port={port}"],
}

# fp32: in bf16 a batch of 8 and a batch of 16 round differently (dev loss 1e-3 apart), which
# would hide what this test checks.
FLAGS = ["--epochs", "4", "--learning-rate", "3e-3", "--no-progress", "--seed", "5", "--logging-steps", "1",
         "--sampling", "class_balanced", "--precision", "fp32"]


@pytest.fixture
def no_dropout_bert(tiny_bert, tmp_path):
    """The tiny BERT without dropout: dropout masks are drawn per process, so with them two
    processes and one process would not compute the same steps."""
    folder = tmp_path / "bert"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture
def data_dir(toy_data_dir, tmp_path):
    """The toy task with 128 training lines: 8 full global batches of 16 an epoch (a ragged
    last batch is filled up differently by two processes, by design of accelerate)."""
    folder = tmp_path / "data"
    folder.mkdir()
    lines = (toy_data_dir / "train_data.txt").read_text().splitlines(keepends=True)
    (folder / "train_data.txt").write_text("".join(lines[:128]))
    for name in ("dev_data.txt", "test_data.txt"):
        shutil.copy(toy_data_dir / name, folder / name)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_two_processes_match_one_with_the_same_global_batch(tmp_path, no_dropout_bert, data_dir, launcher):
    common = ["train", "--model", str(no_dropout_bert), "--data-dir", str(data_dir), *FLAGS]
    assert main([*common, "--output-dir", str(tmp_path / "one"), "--batch-size", "16"]) == 0

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, *(a.format(port=free_port()) for a in LAUNCHERS[launcher]), "-m", "weighted_bert",
         *common, "--output-dir", str(tmp_path / "two"), "--batch-size", "8"],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stderr.count("[weighted-bert] dev:") == 1  # process 1 neither evaluates nor writes

    one, two = (json.loads((tmp_path / name / "eval_results.json").read_text()) for name in ("one", "two"))
    assert two["global_step"] == one["global_step"] == 32
    assert two["eval_num_examples"] == one["eval_num_examples"] == 30  # no padding duplicates counted
    for name in ("eval_accuracy", "eval_macro_f1"):
        assert two[name] == one[name]
    assert two["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-5)  # measured: 6e-8 apart
    weights = [json.loads((tmp_path / name / "class_weights.json").read_text()) for name in ("one", "two")]
    assert weights[0] == weights[1]
    lines = (tmp_path / "two" / "test_results.tsv").read_text().splitlines()
    assert len(lines) == len((data_dir / "test_data.txt").read_text().splitlines())


# Two "nodes" on this host: a torchrun agent each (--nnodes 2, one process a node), meeting at a
# static rendezvous on 127.0.0.1, as they would on two machines sharing the output folder.
def node_command(rank: int, port: int, script: list[str], args: list[str]) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1", f"--node-rank={rank}",
            "--master-addr=127.0.0.1", f"--master-port={port}", *script, *args]


def start_nodes(script: list[str], args: list[str]) -> list[subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return [subprocess.Popen(node_command(rank, port, script, args), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=env, start_new_session=True) for rank in (0, 1)]


def wait_all(nodes, timeout: float = 600) -> list[str]:
    errors = []
    for node in nodes:
        try:
            errors.append(node.communicate(timeout=timeout)[1])
        finally:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
    return errors


def test_two_nodes_match_one_process_and_resume_after_one_is_killed(tmp_path, no_dropout_bert, data_dir):
    common = ["train", "--model", str(no_dropout_bert), "--data-dir", str(data_dir), *FLAGS, "--save-steps", "4"]
    assert main([*common, "--output-dir", str(tmp_path / "one"), "--batch-size", "16"]) == 0
    two = ["-m", "weighted_bert", *common, "--output-dir", str(tmp_path / "two"), "--batch-size", "8"]
    nodes = start_nodes([], two)
    errors = wait_all(nodes)
    assert [n.returncode for n in nodes] == [0, 0], errors[0][-3000:] + errors[1][-3000:]
    assert sum(e.count("[weighted-bert] dev:") for e in errors) == 1  # node 1 neither evaluates nor writes
    one, both = (json.loads((tmp_path / name / "eval_results.json").read_text()) for name in ("one", "two"))
    assert both["global_step"] == one["global_step"] == 32 and both["eval_num_examples"] == 30
    assert both["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-5)

    # node 1 killed (agent and worker) after a checkpoint on the shared folder; node 0 then waits in
    # a collective until the process group's timeout, and is ended as a scheduler ends a failed job;
    # the same two commands again resume from the checkpoint and end where one process ends
    slow = tmp_path / "slow_train.py"
    slow.write_text(SLOW_TRAIN)
    killed = tmp_path / "killed"
    args = [*common, "--output-dir", str(killed), "--batch-size", "8"]
    nodes = start_nodes([str(slow)], args)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and all(n.poll() is None for n in nodes):
        done = complete_checkpoints(killed / "checkpoints")
        if done and int(done[-1].name.split("-")[1]) >= 8:
            os.killpg(nodes[1].pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    time.sleep(5)
    os.killpg(nodes[0].pid, signal.SIGTERM)
    errors = wait_all(nodes, timeout=60)
    assert nodes[1].returncode == -signal.SIGKILL and nodes[0].returncode != 0, errors[0][-3000:]
    assert not (killed / "eval_results.json").exists()
    nodes = start_nodes(["-m", "weighted_bert"], args)
    errors = wait_all(nodes)
    assert [n.returncode for n in nodes] == [0, 0], errors[0][-3000:] + errors[1][-3000:]
    assert f"resuming from {killed / 'checkpoints'}" in errors[0]
    resumed = json.loads((killed / "eval_results.json").read_text())
    assert resumed["global_step"] == 32
    assert resumed["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-5)
