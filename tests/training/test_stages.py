import subprocess
import sys
import time

from weighted_bert.training.stages import Stages, process_age


def test_a_stage_entered_twice_adds_up_and_carving_moves_seconds_out():
    stages = Stages()
    stages.add("training", 10.0)
    stages.add("data", 1.0)
    stages.add("training", 2.0)
    stages.carve("training", {"evaluation": 3.0, "checkpoints": 0.5, "nothing": 0.0})
    assert stages.seconds == {"training": 8.5, "data": 1.0, "evaluation": 3.0, "checkpoints": 0.5}
    assert sum(stages.seconds.values()) == 13.0  # carving keeps the total
    assert stages.text().startswith("training 8.5 s (65%), data 1.0 s (8%)")


def test_the_stopwatch_times_a_block():
    stages = Stages()
    with stages("sleep"):
        time.sleep(0.05)
    assert 0.04 < stages.seconds["sleep"] < 1.0


def test_process_age_is_the_time_since_the_process_started():
    age = process_age()
    assert age is not None and age > 0
    started = time.time()
    out = subprocess.run([sys.executable, "-c", "import time; time.sleep(0.3); "
                          "from weighted_bert.training.stages import process_age; print(process_age())"],
                         capture_output=True, text=True, check=True).stdout
    assert 0.25 < float(out) < time.time() - started + 0.05
