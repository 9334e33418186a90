"""Every benchmark in one command, then the wall time of the whole pipeline; one JSON object.

    python bench/run_all.py [--data-dir DATA] [--run runs/bench] [--device auto]

Runs ``env_throughput.py``, ``train_throughput.py`` and ``reward_throughput.py`` with their defaults
for the device (4,096 environments on a GPU, 64 on the CPU; ``env_throughput.py`` on the CPU too
when the device is a GPU, as its targets are for both), then ``train.py pipeline`` into
``--run``. With ``--data-dir`` the environments sample the real corpora's contexts and the pipeline
runs the ``paper`` preset on them; without it, the built-in corpus and the ``small`` preset. The
pipeline's wall time is the sum of its stages as its run folder records them, so a pipeline that
was stopped and is run again with the same ``--run`` resumes and still reports every stage. The
run folder's ``results.md`` holds the table of results.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

from arguments import data_folder, device_name
from happybot_env.atomic import read_json_object
from happybot_env.provenance import hardware, source_commit
from reward_models.bert import resolve_device

BENCH = Path(__file__).resolve().parent
SCRIPTS = ("env_throughput", "train_throughput", "reward_throughput")


def json_objects(text: str) -> list:
    """The JSON objects a script printed, one per line or indented, in order."""
    decoder, objects, position = json.JSONDecoder(), [], 0
    while (position := text.find("{", position)) != -1:
        found, position = decoder.raw_decode(text, position)
        objects.append(found)
    return objects


def run(command: list[str]) -> str:
    print("bench: " + " ".join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"bench: {' '.join(command)} failed with exit code {result.returncode}:\n{result.stderr[-4000:]}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=data_folder, default=None, help="real corpora for the paper pipeline (default: built-in corpus)")
    parser.add_argument("--run", type=Path, default=Path("runs/bench"), help="run folder of the timed pipeline (default: runs/bench)")
    parser.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    args = parser.parse_args()

    device = resolve_device(args.device)
    figures: dict = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": source_commit(),
        "hardware": hardware(device),
    }
    on_gpu = device.type == "cuda"
    for script in SCRIPTS:
        samples_contexts = script != "reward_throughput"  # which scores random ids, not a corpus
        extra = ["--corpus", str(args.data_dir)] if args.data_dir and samples_contexts else []
        devices = ["cpu", args.device] if script == "env_throughput" and on_gpu else [args.device]
        objects = [
            found
            for bench_device in devices
            for found in json_objects(run([sys.executable, str(BENCH / f"{script}.py"), "--device", bench_device, *extra]))
        ]
        figures[script] = objects if len(objects) > 1 else objects[0]

    data = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    run([sys.executable, str(BENCH.parent / "train.py"), "pipeline", *data, "--run", str(args.run), "--device", args.device,
         "--resume", "--quiet"])
    record = read_json_object(args.run / "metrics.json")["pipeline"]
    # the record's commit and date: a finished run in --run is not trained again, and keeps its own
    figures["pipeline"] = {key: record[key] for key in ("preset", "data_dir", "total_seconds", "wall_seconds", "commit", "date")}
    figures["pipeline"]["untimed_stages"] = record.get("untimed_stages", [])
    figures["pipeline"]["results"] = str(args.run / "results.md")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
