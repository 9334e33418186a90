"""HappyBot from the command line: one subcommand per stage of the paper's experiment.

    python train.py                     the whole pipeline on the built-in corpus (= pipeline)
    python train.py data                corpus statistics as JSON
    python train.py classifier          sentiment classifier on SST-2 + ED situations (--data-dir)
    python train.py label               label every user turn (VADER on the built-in corpus)
    python train.py predictor           look-ahead predictor: [u_i; s_i] -> sentiment of u_i+1
    python train.py mle --model M       MLE pretraining of seq2seq or multiseq
    python train.py rl --reward R       REINFORCE from seq2seq with reward current, lookahead or any name
    python train.py evaluate            results.md, results.json and rewards.png
    python train.py chat                talk to a trained policy
    python train.py sb3                 stable-baselines3 PPO in HappyBot-v0
    python train.py pipeline            all of the above, in order, skipping what is done
    python train.py compare RUN RUN...  runs of other seeds side by side: mean ± s.d. and the claims

Every stage reads and writes one run folder (``--run``, default ``runs/default``): TensorBoard
event files, a folder per stage under ``tensorboard/`` (``tensorboard --logdir runs/default``),
models in safetensors, ``metrics.json``.
Training stages checkpoint atomically; ``--resume`` continues a killed run where it stopped, or a
finished one given more steps.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from happybot_env.atomic import atomic_directory, read_json_object, write_json
from happybot_env.data import CorpusFormatError, corpus_statistics, default_corpora, find_corpora

VERSION = "0.1.0"  # of the run folder layout; a run from another version is refused


@dataclass(frozen=True)
class Preset:
    """Sizes of a whole experiment; a flag given on the command line overrides its field."""

    max_context_tokens: int = 64
    """Context tokens the policy reads."""
    max_response_tokens: int = 20
    """Tokens the policy may write (the environment truncates there)."""
    hidden_size: int = 300
    """GRU width of the policy (the paper's 300)."""
    mle_steps: int = 2000
    """Optimizer steps of MLE pretraining, for Seq2Seq and for MultiSeq."""
    rl_updates: int = 500
    """REINFORCE updates, for RL Current and for RL Look-ahead."""
    batch_size: int = 64
    """Examples per MLE step."""
    rl_envs: int = 256
    """Environments (episodes) per REINFORCE update."""
    mle_learning_rate: float = 1e-3
    rl_learning_rate: float = 1e-4
    """The paper searches [1e-4, 1e-3]; RL from a pretrained policy wants the low end."""
    rl_weight: float = 0.25
    """lambda of equation 10, the weight of the REINFORCE loss against MLE (the paper's 0.25)."""
    checkpoint_every: int = 50
    eval_examples: int = 500
    """Held-out contexts that evaluation answers."""
    sb3_timesteps: int = 2048
    train_reward_models: bool = False
    """Train classifier, labels and predictor in the run; otherwise RL uses the shipped models."""


PRESETS = {
    # the default: the built-in corpus on a 2-core CPU in about 4 to 8 minutes (223 s at commit ed4f6f2
    # on an Intel Xeon, 320 to 464 s on an AMD EPYC)
    "small": Preset(max_response_tokens=16, hidden_size=128, mle_steps=150, rl_updates=30, batch_size=32,
                    rl_envs=32, checkpoint_every=25, eval_examples=100, sb3_timesteps=512),
    # seconds, for tests
    "tiny": Preset(max_context_tokens=24, max_response_tokens=5, hidden_size=16, mle_steps=4, rl_updates=2, batch_size=4,
                   rl_envs=4, checkpoint_every=2, eval_examples=6, sb3_timesteps=64),
    # the paper's setting on the real corpora (a GPU)
    "paper": Preset(train_reward_models=True),
}
RL_REWARDS = ("current", "lookahead")
LABELS = "labels.jsonl"  # the label stage writes it into a run; its labeller's licences go in that run's metrics


# -- run folder ---------------------------------------------------------------------------------


def remember_run(args: argparse.Namespace) -> None:
    """Fill in what the command left out from the run folder's ``run.json``: its data folder and preset.

    Run before a stage reads either, so that ``train.py evaluate --run R`` works on a run made with
    ``--data-dir`` and ``--preset``; what the command does give is checked by ``open_run``.
    """
    made = read_run(args.run)
    if args.data_dir is None and made.get("data_dir"):
        # even when the folder is gone: chat reads no corpus, and a stage that does names the missing folder
        args.data_dir = Path(made["data_dir"])
    if "preset" in vars(args) and args.preset is None:
        args.preset = made.get("preset")
    if args.seed is None:
        args.seed = made.get("seed", 0)


def open_run(args: argparse.Namespace) -> Path:
    """The run folder, created with a ``run.json`` on first use; a folder of another version, or of a
    run on other data, of another preset or of another seed, is refused (its finished stages would be
    mixed into this one, and its record would name a seed that trained only some of them).
    """
    run: Path = args.run
    marker = run / "run.json"
    data_dir = str(args.data_dir.resolve()) if args.data_dir else None
    made = read_run(run)
    if not made:
        if args.data_dir:
            find_corpora(args.data_dir)  # a folder without corpora must not claim a run folder it cannot fill
        made = {"version": VERSION, "data_dir": data_dir}
    if made.get("version") != VERSION:
        raise ValueError(f"{run} was made by HappyBot run format {made.get('version')}, this is {VERSION}: use another --run")
    if made.get("data_dir") != data_dir:
        raise ValueError(f"{run} holds a run on {made.get('data_dir') or 'the built-in corpus'}: use another --run")
    if "preset" in vars(args):  # the stages that take sizes
        if made.setdefault("preset", preset_name(args)) != preset_name(args):
            raise ValueError(f"{run} holds a run of the {made['preset']} preset: drop --preset {args.preset}, or use another --run")
    if made.setdefault("seed", args.seed) != args.seed:
        raise ValueError(f"{run} holds a run with seed {made['seed']}: drop --seed {args.seed}, or use another --run")
    run.mkdir(parents=True, exist_ok=True)
    write_json(marker, made)
    return run


def read_run(run: Path) -> dict:
    """The folder's ``run.json``: format version, data directory, preset and seed; empty for a new folder."""
    marker = run / "run.json"
    return read_json_object(marker) if marker.is_file() else {}


def update_metrics(run: Path, stage: str, metrics: dict) -> None:
    """Merge one stage's figures into ``<run>/metrics.json`` (atomically)."""
    everything = read_metrics(run)
    everything[stage] = metrics
    write_json(run / "metrics.json", everything)


def read_metrics(run: Path) -> dict:
    path = run / "metrics.json"
    return read_json_object(path) if path.is_file() else {}


def preset_name(args: argparse.Namespace) -> str:
    """The preset asked for; by default ``paper`` on real corpora and ``small`` on the built-in one."""
    return getattr(args, "preset", None) or ("paper" if args.data_dir else "small")


def preset_of(args: argparse.Namespace) -> Preset:
    overrides = {f.name: getattr(args, f.name) for f in fields(Preset) if getattr(args, f.name, None) is not None}
    return replace(PRESETS[preset_name(args)], **overrides)


def corpus_of(args: argparse.Namespace) -> str | Path:
    return args.data_dir or "default"


def device_of(args: argparse.Namespace):
    from reward_models.bert import resolve_device

    return resolve_device(args.device)


class StageWriter:
    """A TensorBoard ``SummaryWriter`` into ``<run>/tensorboard/<stage>``, opened on its first use.

    A folder per stage, so that a stage can purge what a stopped run of it logged past where this
    one starts (TensorBoard drops a folder's events from ``purge_step`` on) and draw each step once:
    a resumed stage starts after its checkpoint, a new one from the start. Opening it purges, so it
    opens only when the stage logs, after the stage has checked its checkpoint: a resume refused for
    other settings leaves the stopped run's curves whole.
    """

    def __init__(self, folder: Path, purge_step: int, hyperparameters: dict):
        self.folder, self.purge_step, self.hyperparameters = folder, purge_step, hyperparameters
        self._writer = None

    def add_scalar(self, tag: str, value: float, global_step: int) -> None:
        self._opened().add_scalar(tag, value, global_step)

    def add_text(self, tag: str, text: str, global_step: int) -> None:
        self._opened().add_text(tag, text, global_step)

    def _opened(self):
        from torch.utils.tensorboard import SummaryWriter

        if self._writer is None:
            self._writer = SummaryWriter(self.folder, purge_step=self.purge_step)
            table = "\n".join(f"|{k}|{v}|" for k, v in self.hyperparameters.items())
            self._writer.add_text(f"{self.folder.name}/hyperparameters", f"|param|value|\n|-|-|\n{table}", global_step=self.purge_step)
        return self._writer

    def __enter__(self) -> "StageWriter":
        return self

    def __exit__(self, *exception) -> None:
        if self._writer is not None:
            self._writer.close()


def writer_for(run: Path, stage: str, hyperparameters: dict, checkpoint: Path, resume: bool) -> StageWriter:
    """The stage's writer; what the stage would refuse before reading its checkpoint is refused here."""
    from happybot_env.checkpoint import checkpoint_step, refuse_to_overwrite

    if resume:
        purge_step = checkpoint_step(checkpoint) + 1  # a missing or damaged checkpoint raises, naming it
    else:
        refuse_to_overwrite(checkpoint)
        purge_step = 0
    return StageWriter(run / "tensorboard" / stage, purge_step, hyperparameters)


def reward_spec(name: str, run: Path, preset: Preset) -> str | Path:
    """``current``/``lookahead`` are the run's own classifier/predictor when the preset trains them."""
    own = {"current": run / "classifier", "lookahead": run / "predictor"}
    if preset.train_reward_models and name in own:
        if not own[name].is_dir():
            raise FileNotFoundError(f"{own[name]} does not exist: run the {own[name].name} stage first")
        return own[name]
    return name


def reward_identity(name: str) -> str:
    """What an RL checkpoint records as its reward: a registered name as itself (``current`` is the
    run's own classifier when the preset trains one), a folder by its absolute path, since two
    folders can share a name (``current`` and ``/x/current`` both train into ``rl_current``)."""
    import reward_models

    return name if name in reward_models.registered() else str(Path(name).resolve())


def log(args: argparse.Namespace, message: str) -> None:
    print(message, flush=True)


# -- data and reward-model stages -----------------------------------------------------------------


def sources_for(args: argparse.Namespace):
    return find_corpora(args.data_dir) if args.data_dir else default_corpora()


def run_data(args: argparse.Namespace) -> int:
    """Print, for each corpus split, what was read, what it yields and what was skipped."""
    report = {"data_dir": str(args.data_dir) if args.data_dir else None, "corpora": corpus_statistics(sources_for(args))}
    print(json.dumps(report, indent=2))
    return 0


def fine_tune_config(args: argparse.Namespace, input: str):
    from reward_models.training import FineTuneConfig

    names = {f.name for f in fields(FineTuneConfig)} - {"input"}
    return FineTuneConfig(input=input, **{k: v for k, v in vars(args).items() if k in names})


def fine_tune_checkpoint(run: Path, stage: str) -> Path:
    """Where the classifier or predictor stage checkpoints: beside its model folder, not in it, since
    that folder's existence means the model is trained (to the pipeline, and to ``label``)."""
    return run / f"{stage}.checkpoint.pt"


def refuse_a_trained(model: Path) -> None:
    """Checked before a stage reads its data: a saved model is never replaced by a new run of its stage.

    The fine-tunes delete their checkpoint once the model is saved, the sb3 stage has none, and a
    policy stage's checkpoint (over 100 MB) may have been deleted by hand: none of them would
    otherwise notice the model.
    """
    if model.exists():
        raise FileExistsError(f"{model} exists: it is trained; delete that folder to train it again, or choose another --run")


def train_reward_model(args: argparse.Namespace, stage: str, train, valid, data: dict, licences: list[str]) -> int:
    from reward_models.training import fine_tune, majority_rate, metadata_for, save

    run = open_run(args)
    config = fine_tune_config(args, "response" if stage == "classifier" else "pair")
    checkpoint = fine_tune_checkpoint(run, stage)
    with writer_for(run, stage, asdict(config), checkpoint, args.resume) as writer:
        model, accuracies = fine_tune(
            train, valid, config, writer=writer, tag=stage, quiet=args.quiet, checkpoint=checkpoint, resume=args.resume
        )
    majority = {name: majority_rate(examples) for name, examples in valid.items()}
    update_metrics(run, stage, {"accuracy": accuracies, "majority_class_rate": majority, "data": data})
    # the model last: the pipeline skips a stage once its model exists
    save(model, run / stage, metadata_for(stage, config, accuracies, majority, data, licences))
    checkpoint.unlink(missing_ok=True)  # the saved model supersedes it
    print(json.dumps({"saved": str(run / stage), "accuracy": accuracies, "majority_class_rate": majority}, indent=2))
    return 0


def run_classifier(args: argparse.Namespace) -> int:
    """Fine-tune the pretrained encoder into a sentiment classifier (the paper's BERT classifier)."""
    from reward_models.examples import LICENCES, classifier_data

    refuse_a_trained(args.run / "classifier")
    if not args.data_dir:
        raise FileNotFoundError(
            "the classifier trains on SST-2 and EmpatheticDialogues: give --data-dir "
            "(on the built-in corpus, user turns are labelled with VADER instead)"
        )
    train, valid, data = classifier_data(find_corpora(args.data_dir))
    return train_reward_model(args, "classifier", train, valid, data, [LICENCES["sst2"], LICENCES["empatheticdialogues"]])


def run_label(args: argparse.Namespace) -> int:
    """Label every user turn of the dialogue corpora with the classifier (VADER on the default corpus)."""
    import reward_models
    from happybot_env.data import dialogue_sources, held_out_sources, training_sources
    from reward_models.labelling import label_user_turns

    run = open_run(args)
    if (run / "predictor").exists():  # its metadata and metrics name these labels: they must stay the ones it learned
        raise FileExistsError(f"{run / 'predictor'} was trained on {run / LABELS}: delete the predictor to label again, or use another --run")
    spec = args.classifier or ("vader" if not args.data_dir else run / "classifier" if (run / "classifier").is_dir() else "current")
    classifier = reward_models.make(spec, **({} if spec == "vader" else {"device": args.device}))
    dialogues = dialogue_sources(sources_for(args))  # what the predictor reads: test splits never are
    counts = label_user_turns(training_sources(dialogues) + held_out_sources(dialogues), classifier, run / LABELS, quiet=args.quiet)
    # the predictor learns from these labels, so it inherits the licences of the model that made them
    update_metrics(run, "label", {"classifier": str(spec), "licences": list(classifier.licences), "user_turns": counts})
    print(json.dumps({"saved": str(run / LABELS), "classifier": str(spec), "user_turns": counts}, indent=2))
    return 0


def run_predictor(args: argparse.Namespace) -> int:
    """Fine-tune the look-ahead predictor: [u_i; s_i] -> the sentiment label of u_i+1."""
    from happybot_env.data import dialogue_sources
    from reward_models.examples import LICENCES, predictor_data, user_turn_labels

    refuse_a_trained(args.run / "predictor")
    labels_path = Path(args.labels or args.run / LABELS)
    if not labels_path.is_file():
        raise FileNotFoundError(f"no labels at {labels_path}: run `train.py label` first, or pass --labels")
    sources = dialogue_sources(sources_for(args))
    train, valid, data = predictor_data(sources, user_turn_labels(labels_path))
    data["labels"] = str(labels_path)
    licences = {LICENCES[s.corpus] for s in sources}
    if labels_path.name == LABELS:  # a label stage's, this run's or another's: it recorded whose licences they carry
        licences |= set(read_metrics(labels_path.parent).get("label", {}).get("licences", []))
    return train_reward_model(args, "predictor", train, valid, data, sorted(licences))


# -- policy stages ------------------------------------------------------------------------------------


def run_mle(args: argparse.Namespace) -> int:
    """MLE pretraining (equation 6) of Seq2Seq, or of MultiSeq with its emotion head."""
    import torch

    from agents import Seq2SeqConfig, Seq2SeqPolicy
    from agents.loops import CHECKPOINT, LoopConfig, train_mle
    from agents.policy_data import EMOTION_CLASSES, load_policy_data

    run, preset, device = open_run(args), preset_of(args), device_of(args)
    if not args.resume:  # a resume may extend a finished stage
        refuse_a_trained(run / args.model / "policy")
    elif args.model == "seq2seq" and (started := [f for f in ("rl_current", "rl_lookahead") if (run / f).is_dir()]):
        # as the label stage keeps a trained predictor's labels: those policies would stand on one Seq2Seq, the report on another
        raise FileExistsError(f"{', '.join(str(run / f) for f in started)} started from {run / 'seq2seq' / 'policy'}: "
                              "extend Seq2Seq in another --run, or delete them to train them again from the longer one")
    torch.manual_seed(args.seed)
    data = load_policy_data(corpus_of(args), "train", preset.max_context_tokens, preset.max_response_tokens)
    valid = load_policy_data(corpus_of(args), "validation", preset.max_context_tokens, preset.max_response_tokens)
    valid = valid.head(preset.eval_examples)
    config = Seq2SeqConfig(hidden_size=preset.hidden_size, num_emotions=len(EMOTION_CLASSES) if args.model == "multiseq" else 0)
    policy = Seq2SeqPolicy.pretrained(config).to(device)
    loop = LoopConfig(preset.mle_steps, preset.batch_size, preset.mle_learning_rate, checkpoint_every=preset.checkpoint_every, seed=args.seed)
    with writer_for(run, f"mle_{args.model}", {**asdict(loop), **asdict(config)}, run / args.model / CHECKPOINT, args.resume) as writer:
        metrics = train_mle(policy, data, valid, loop, run / args.model, writer, f"mle_{args.model}", args.resume, args.quiet)
    update_metrics(run, args.model, {**metrics, "train_examples": len(data), "sizes": sizes_read(preset, MLE_READS)})
    policy.save(run / args.model / "policy")  # last: the pipeline skips a stage once its model exists
    log(args, f"{args.model}: saved {run / args.model / 'policy'} ({json.dumps(metrics)})")
    note_a_stale_report(args, run)
    return 0


def run_rl(args: argparse.Namespace) -> int:
    """REINFORCE with MLE mixing (equation 10) from the Seq2Seq policy, against --reward."""
    import torch

    from agents import ReinforceAgent, ReinforceConfig, Seq2SeqPolicy
    from agents.loops import CHECKPOINT, LoopConfig, train_reinforce
    from happybot_env.vector import HappyBotVectorEnv

    run, preset, device = open_run(args), preset_of(args), device_of(args)
    torch.manual_seed(args.seed)
    start = run / "seq2seq" / "policy"
    if not start.is_dir():
        raise FileNotFoundError(f"{start} does not exist: RL starts from the MLE policy; run `train.py mle --model seq2seq` first")
    name = "rl_" + "".join(c if c.isalnum() else "_" for c in Path(args.reward).name)
    if not args.resume:
        refuse_a_trained(run / name / "policy")
    envs = HappyBotVectorEnv(
        preset.rl_envs, reward_model=reward_spec(args.reward, run, preset), corpus=corpus_of(args),
        max_context_tokens=preset.max_context_tokens, max_response_tokens=preset.max_response_tokens, device=device,
    )
    agent = ReinforceAgent(Seq2SeqPolicy.load(start, expected_vocab_size=envs.single_action_space.n), envs,
                           ReinforceConfig(learning_rate=preset.rl_learning_rate, rl_weight=preset.rl_weight))
    loop = LoopConfig(preset.rl_updates, preset.rl_envs, checkpoint_every=preset.checkpoint_every, seed=args.seed)
    # the agent's config holds REINFORCE's learning rates and clipping; the loop's own are MLE's
    hyperparameters = {"updates": loop.steps, "envs": loop.batch_size, "seed": loop.seed, **asdict(agent.config)}
    with writer_for(run, name, {**hyperparameters, "reward": args.reward}, run / name / CHECKPOINT, args.resume) as writer:
        metrics = train_reinforce(agent, loop, run / name, writer, name, args.resume, args.quiet, reward=reward_identity(args.reward))
    update_metrics(run, name, {**metrics, "reward_model": str(args.reward), "learning_rate": agent.config.learning_rate,
                               "rl_weight": agent.config.rl_weight, "sizes": sizes_read(preset, RL_READS)})
    agent.policy.save(run / name / "policy")  # last: the pipeline skips a stage once its model exists
    log(args, f"{name}: saved {run / name / 'policy'} (mean reward of the last updates {metrics['final_reward']:.3f})")
    note_a_stale_report(args, run)
    return 0


def policies_newer_than(report: Path) -> list[Path]:
    """The evaluated systems' policies saved after ``report`` was written, which it does not describe."""
    from agents.evaluation import SYSTEMS

    written = report.stat().st_mtime
    return [report.parent / s / "policy" for s in SYSTEMS if (report.parent / s / "policy").is_dir()
            and (report.parent / s / "policy").stat().st_mtime > written]


def note_a_stale_report(args: argparse.Namespace, run: Path) -> None:
    """A policy extended with --resume after the run was evaluated: say that the report now lags it."""
    if (run / "results.md").is_file() and policies_newer_than(run / "results.md"):
        log(args, f"{run / 'results.md'} predates this policy: `train.py evaluate` (or the pipeline) reports it again")


def run_evaluate(args: argparse.Namespace) -> int:
    """Answer held-out contexts with every trained system; write results.md, results.json, rewards.png."""
    import reward_models
    from agents.evaluation import evaluate, write_report
    from agents.policy_data import load_policy_data

    run, preset, device = open_run(args), preset_of(args), device_of(args)
    data = load_policy_data(corpus_of(args), "validation", preset.max_context_tokens, preset.max_response_tokens)
    data = data.head(preset.eval_examples)
    scorers = {name: reward_models.make(reward_spec(name, run, preset), device=device) for name in RL_REWARDS}
    scorers["vader"] = reward_models.make("vader")
    results = evaluate(run, data, preset.max_response_tokens, scorers, device)
    if len(results["systems"]) == 1:
        raise FileNotFoundError(f"no trained policy in {run}: run the mle and rl stages first")
    record = read_metrics(run).get("pipeline", {})
    # a finished pipeline evaluated again keeps how it was made, and says what changed; a running one writes its own
    record = {**record, "evaluated_again": provenance(), "stage_sizes": stage_sizes(run)} if "command" in record else None
    write_report(results, run, reward_histories(run), record)
    update_metrics(run, "evaluate", results["systems"])
    log(args, f"evaluate: wrote {run / 'results.md'}, results.json and rewards.png")
    return 0


def reward_histories(run: Path) -> dict[str, list]:
    return {name: m["reward_history"] for name, m in read_metrics(run).items() if "reward_history" in m}


def run_chat(args: argparse.Namespace) -> int:
    """Talk to a trained policy; it shows the predicted sentiment of your next turn. Ctrl-D or Ctrl-C ends."""
    import reward_models
    from agents import Seq2SeqPolicy
    from agents.evaluation import respond
    from happybot_env.episodes import encode_contexts
    from happybot_env.tokenizer import uncut_ids

    folder = args.run / args.model / "policy"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist: train it first (or choose --model)")
    run, preset = open_run(args), preset_of(args)  # another --preset than the run's is refused
    policy = Seq2SeqPolicy.load(folder)
    lookahead = reward_models.make(reward_spec("lookahead", run, preset), device=device_of(args))
    print(f"HappyBot ({args.model}). Say something; Ctrl-D or Ctrl-C to leave.")
    previous = ""
    try:
        while True:
            user = input("you> ").strip()
            if not uncut_ids([user])[0]:  # nothing the vocabulary can read: a zero-width space, say
                continue
            context, _, _ = encode_contexts([previous], [user], preset.max_context_tokens)
            previous = respond(policy, context, preset.max_response_tokens)[0]
            happiness = float(lookahead([user], [previous])[0])
            print(f"bot> {previous}\n     (predicted: your next turn is positive with probability {happiness:.2f})")
    except (EOFError, KeyboardInterrupt):
        print()
    return 0


def run_sb3(args: argparse.Namespace) -> int:
    """Train stable-baselines3 PPO in HappyBot-v0 (the features extractor of agents.sb3)."""
    import gymnasium as gym
    from safetensors.torch import save_model
    from stable_baselines3 import PPO

    import happybot_env  # noqa: F401 - registers HappyBot-v0
    from agents.sb3 import HAPPYBOT_POLICY_KWARGS

    run, preset, device = open_run(args), preset_of(args), device_of(args)
    refuse_a_trained(run / "sb3" / "policy")
    env = gym.make("HappyBot-v0", reward_model=reward_spec(args.reward, run, preset), corpus=corpus_of(args),
                   max_context_tokens=preset.max_context_tokens, max_response_tokens=preset.max_response_tokens, device=device)
    model = PPO("MultiInputPolicy", env, policy_kwargs=HAPPYBOT_POLICY_KWARGS, n_steps=min(512, preset.sb3_timesteps),
                batch_size=64, seed=args.seed, device=device, tensorboard_log=str(run / "sb3"), verbose=0)
    model.learn(total_timesteps=preset.sb3_timesteps, progress_bar=False)
    with atomic_directory(run / "sb3" / "policy") as tmp:  # weights only: SB3's own zip would be unpickled to load
        save_model(model.policy, str(tmp / "model.safetensors"))  # handles the extractors' shared embedding
    update_metrics(run, "sb3", {"timesteps": model.num_timesteps, "reward_model": args.reward})
    log(args, f"sb3: {model.num_timesteps} timesteps of PPO, weights in {run / 'sb3' / 'policy'}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Print, as Markdown, the evaluated runs side by side: Table 2 as mean ± s.d. and the paper's claims run by run."""
    from agents.comparison import compare, load_run

    runs, folders, seeds = {}, [], {}
    for given in args.runs:
        folder, results, seed = load_run(given)
        if folder.resolve() in folders:  # counted twice it would narrow the spread and pass for two seeds
            raise ValueError(f"{folder} is given twice: give each run once")
        if seed is not None and seed in seeds:  # a copy, or a rerun: the same numbers again, not another sample
            raise ValueError(f"{seeds[seed]} and {folder} are both runs with seed {seed}: compare runs of different seeds")
        folders.append(folder.resolve())
        seeds[seed] = folder
        runs[f"{folder}" + (f" (seed {seed})" if seed is not None else "")] = results
    print(compare(runs), end="")
    return 0


def pipeline_stages(args: argparse.Namespace) -> list[tuple[str, list[str], Path, Path | None]]:
    """``(label, argv, output, checkpoint)`` of each stage, in order; a stage whose output exists is
    skipped, and one whose checkpoint exists is resumed (with ``--resume``)."""
    from agents.loops import CHECKPOINT

    run, preset = args.run, preset_of(args)
    common = ["--run", str(run), "--device", args.device, "--seed", str(args.seed)] + (["--quiet"] if args.quiet else [])
    data = ["--data-dir", str(args.data_dir)] if args.data_dir else []

    def sizes(names: tuple[str, ...]) -> list[str]:
        """The preset, and the pipeline's own overrides of the sizes a stage reads."""
        given = [(name, getattr(args, name)) for name in names if getattr(args, name) is not None]
        return ["--preset", preset_name(args), *(part for name, value in given for part in (f"--{name.replace('_', '-')}", str(value)))]

    stages = []
    if preset.train_reward_models:
        stages += [
            ("classifier", ["classifier", *data, *common], run / "classifier", fine_tune_checkpoint(run, "classifier")),
            ("label", ["label", *data, *common], run / LABELS, None),
            ("predictor", ["predictor", *data, *common], run / "predictor", fine_tune_checkpoint(run, "predictor")),
        ]
    for label, argv, folder, names in (
        ("mle seq2seq", ["mle", "--model", "seq2seq"], "seq2seq", MLE_SIZES),
        ("mle multiseq", ["mle", "--model", "multiseq"], "multiseq", MLE_SIZES),
        ("rl current", ["rl", "--reward", "current"], "rl_current", RL_SIZES),
        ("rl lookahead", ["rl", "--reward", "lookahead"], "rl_lookahead", RL_SIZES),
    ):
        stages.append((label, [*argv, *sizes(names), *data, *common], run / folder / "policy", run / folder / CHECKPOINT))
    stages.append(("evaluate", ["evaluate", *sizes(EVALUATE_SIZES), *data, *common], run / "results.md", None))
    return stages


def run_pipeline(args: argparse.Namespace) -> int:
    """Every stage in order: reward models (paper preset), MLE, RL Current, RL Look-ahead, evaluation."""
    from happybot_env.checkpoint import checkpoint_seconds
    from agents.evaluation import write_report

    run = open_run(args)
    parser = build_parser()
    # kept across resumed invocations, so that the record covers every stage however often it stopped
    record = read_metrics(run).get("pipeline", {})
    wall_seconds = record.get("wall_seconds", {})
    ran, untimed = False, []
    for label, argv, output, checkpoint in pipeline_stages(args):
        if label == "evaluate" and output.exists() and (newer := policies_newer_than(output)):
            log(args, f"pipeline: {output} predates {', '.join(map(str, newer))}: evaluating again")
        elif output.exists():
            log(args, f"pipeline: {label} done already ({output}), skipped")
            if label not in wall_seconds:  # made by its own command, outside every pipeline: its time is unknown
                untimed.append(label)
            continue
        ran = True
        log(args, f"pipeline: {label}")
        stage_args = parser.parse_args(argv)
        if args.resume and checkpoint:
            stage_args.resume = checkpoint.is_file()
        # a stage resumed after a kill also took the seconds its checkpoint records: the work redone
        # since that checkpoint is counted once, as a run that was never stopped would have spent it
        earlier = checkpoint_seconds(checkpoint) if getattr(stage_args, "resume", False) else 0.0
        start = time.perf_counter()
        code = stage_args.run_stage(stage_args)
        if code:
            return code
        wall_seconds[label] = round(earlier + time.perf_counter() - start, 1)
        update_metrics(run, "pipeline", {"wall_seconds": wall_seconds})
    if not ran and "command" in record:
        # the record says how the stages were made: this command made none of them
        log(args, f"pipeline: nothing to train; {run / 'results.md'} and its record are unchanged")
        if given := [f"--{name.replace('_', '-')}" for name in SIZE_FLAGS if getattr(args, name) is not None]:
            log(args, f"pipeline: {' '.join(given)} changed nothing: a finished stage is extended by its own command "
                      "with --resume (`train.py rl --reward lookahead --resume --rl-updates N`), then the pipeline reports it")
        return 0
    record = run_record(args, wall_seconds, untimed)
    update_metrics(run, "pipeline", record)
    write_report(read_json_object(run / "results.json"), run, reward_histories(run), record)
    not_counted = f" (not counting {', '.join(untimed)}, run before the pipeline)" if untimed else ""
    log(args, f"pipeline: done in {record['total_seconds']} s{not_counted}. Results in {run / 'results.md'}; curves: tensorboard --logdir {run}")
    return 0


def run_record(args: argparse.Namespace, wall_seconds: dict[str, float], untimed: list[str]) -> dict:
    """How a pipeline's results were made, for ``results.md``: enough to reproduce and compare them.

    ``untimed`` are the stages that their own commands made before the pipeline ran: the total
    leaves them out, and says so.
    """
    from happybot_env.provenance import hardware

    return {
        **provenance(),
        "hardware": hardware(device_of(args)),
        "seed": args.seed,
        "preset": preset_name(args),
        "sizes": asdict(preset_of(args)),
        "stage_sizes": stage_sizes(args.run),
        "data_dir": str(args.data_dir) if args.data_dir else None,
        "wall_seconds": wall_seconds,
        "untimed_stages": untimed,
        "total_seconds": round(sum(wall_seconds.values()), 1),
    }


def stage_sizes(run: Path) -> dict[str, dict]:
    """The sizes each policy stage of ``run`` was trained with, which differ from the pipeline's
    last invocation where a stage ran, or was extended, with other size flags."""
    return {stage: m["sizes"] for stage, m in read_metrics(run).items() if stage != "pipeline" and "sizes" in m}


def provenance() -> dict[str, str]:
    """The command, commit and time of this invocation."""
    from happybot_env.provenance import source_commit

    return {
        "command": " ".join(["python", *sys.argv]),
        "commit": source_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# -- command line ---------------------------------------------------------------------------------------


def existing_folder(text: str) -> Path:
    """``--data-dir``: refused by the parser if it is not a folder, before a run folder is made."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"data directory {text} does not exist" if not path.exists() else f"{text} is not a folder")
    return path


def run_folder(text: str) -> Path:
    """``--run``: a folder, or a path where one can be made; a file, or a path below one, is refused by the parser."""
    path = Path(text)
    existing = next(p for p in (path, *path.parents) if p.exists())  # "." at worst
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a run folder" + ("" if existing == path else f", so {text} cannot be made"))
    return path


def add_data_dir(parser: argparse.ArgumentParser, in_a_run: bool = True) -> None:
    default = "the run's, else the built-in chit-chat corpus" if in_a_run else "the built-in chit-chat corpus"
    parser.add_argument("--data-dir", type=existing_folder, default=None,
                        help=f"folder holding the real corpora (see README); default: {default}")


def add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=run_folder, default=Path("runs/default"), help="the run folder (default: runs/default)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--seed", type=seed, default=None,
                        help="makes a run reproducible on the same device (default: the run's, else 0)")
    parser.add_argument("--quiet", action="store_true", help="plain logs, no progress bars")


def seed(text: str) -> int:
    """``--seed``: in [0, 2**32), what numpy, Gymnasium and torch all accept; outside it they fail
    deep in a stage, without naming the flag."""
    value = _int_at_least(text, 0)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {value}")
    return value


def positive_int(text: str) -> int:
    """Sizes and intervals (steps, batch sizes, ``--checkpoint-every``): refused below 1 by the parser,
    where 0 would fail deep in a stage (a modulo by zero, an empty batch) or, for RL, save the MLE
    policy as if trained and report a mean reward of 0 over no updates."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """``--lora-rank``, where 0 means no adapter."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, minimum: int) -> int:
    value = int(text)
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def max_length(text: str) -> int:
    """``--max-length``: a pair needs ``[CLS] user [SEP] text [SEP]``, so below 4 nothing is left to read."""
    return _int_at_least(text, 4)


def reward_model(text: str) -> str:
    """``--classifier`` and ``--reward``: a registered name or a model folder, checked before the run
    folder is claimed (a run made by a command that then failed would hold its seed)."""
    import reward_models

    try:
        return reward_models.check_spec(text)
    except reward_models.UnknownRewardModel as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive_float(text: str) -> float:
    """``--epochs``: a finite number above 0, where 0 or a negative number would silently train one
    step and ``nan`` would fail deep in the stage."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def learning_rate(text: str) -> float:
    """Learning rates: in (0, 1]. Adam and AdamW move every weight by about the learning rate on each
    step whatever the gradient's scale, so above 1 the first step wrecks the pretrained weights (and
    above ~3e37 Adam's step overflows with a bare ``RuntimeError``)."""
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"a learning rate must lie in (0, 1], got {text}")
    return value


def unit_interval(text: str) -> float:
    """``--rl-weight``: refused outside [0, 1] by the parser, before any data or model loads."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"lambda of equation 10 must lie in [0, 1], got {value}")
    return value


# The preset fields a flag can override, with its type and what it means.
SIZE_FLAGS = {
    "mle_steps": (positive_int, "MLE steps"),
    "rl_updates": (positive_int, "REINFORCE updates"),
    "batch_size": (positive_int, "MLE batch size"),
    "rl_envs": (positive_int, "environments per update"),
    "mle_learning_rate": (learning_rate, "MLE learning rate"),
    "rl_learning_rate": (learning_rate, "REINFORCE learning rate"),
    "rl_weight": (unit_interval, "lambda of equation 10"),
    "checkpoint_every": (positive_int, "checkpoint interval"),
    "eval_examples": (positive_int, "held-out contexts"),
}
# Those each stage reads; the pipeline takes all of them and hands each stage its own.
MLE_SIZES = ("mle_steps", "batch_size", "mle_learning_rate", "checkpoint_every", "eval_examples")
RL_SIZES = ("rl_updates", "rl_envs", "rl_learning_rate", "rl_weight", "checkpoint_every")
EVALUATE_SIZES = ("eval_examples",)
# the preset fields that shape what each policy stage trains, recorded with its metrics (``stage_sizes``);
# not checkpoint_every, since a resume is exact
MLE_READS = ("max_context_tokens", "max_response_tokens", "hidden_size", *(n for n in MLE_SIZES if n != "checkpoint_every"))
RL_READS = ("max_context_tokens", "max_response_tokens", "train_reward_models", *(n for n in RL_SIZES if n != "checkpoint_every"))


def sizes_read(preset: Preset, names: tuple[str, ...]) -> dict:
    return {name: getattr(preset, name) for name in names}


def add_preset(parser: argparse.ArgumentParser, sizes: tuple[str, ...] = (), resume: bool = True) -> None:
    """``--preset``, the flags that override the ``sizes`` this stage reads, and ``--resume``."""
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help="experiment sizes (default: paper with --data-dir, small without)")
    for name in sizes:
        kind, meaning = SIZE_FLAGS[name]
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=f"override the preset's {meaning}")
    if resume:
        parser.add_argument("--resume", action="store_true", help="continue from the stage's last checkpoint")


def add_fine_tune(parser: argparse.ArgumentParser, lr: float) -> None:
    parser.add_argument("--lora-rank", type=non_negative_int, default=0, help="0: fine-tune every weight; >0: a LoRA adapter of this rank")
    parser.add_argument("--epochs", type=positive_float, default=1.0, help="passes over the training set (default: 1)")
    parser.add_argument("--learning-rate", type=learning_rate, default=lr, help=f"peak AdamW learning rate (default: {lr})")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="examples per step (default: 32)")
    parser.add_argument("--max-length", type=max_length, default=128, help="tokens per input, special tokens included (default: 128)")
    parser.add_argument("--eval-every", type=positive_int, default=1000, help="steps between evaluations (default: 1000)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=500, help="steps between checkpoints (default: 500)")
    parser.add_argument("--resume", action="store_true", help="continue from the stage's last checkpoint")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stages = parser.add_subparsers(dest="stage", metavar="STAGE")

    def stage(name: str, function, help: str) -> argparse.ArgumentParser:
        sub = stages.add_parser(name, help=help, description=function.__doc__)
        add_data_dir(sub)
        add_run(sub)
        sub.set_defaults(run_stage=function)
        return sub

    data = stages.add_parser("data", help="corpus statistics as JSON", description=run_data.__doc__)
    add_data_dir(data, in_a_run=False)  # reads corpora only: no run folder, device or seed
    data.set_defaults(run_stage=run_data)
    add_fine_tune(stage("classifier", run_classifier, "train the sentiment classifier"), lr=5e-5)
    stage("label", run_label, "label the user turns").add_argument(
        "--classifier", type=reward_model, default=None,
        help="reward model name or folder (default: vader on the built-in corpus, else <run>/classifier or current)")
    predictor = stage("predictor", run_predictor, "train the look-ahead predictor")
    add_fine_tune(predictor, lr=5e-5)
    predictor.add_argument("--labels", type=Path, default=None, help=f"labels file (default: <run>/{LABELS})")
    mle = stage("mle", run_mle, "MLE pretraining of a policy")
    mle.add_argument("--model", choices=("seq2seq", "multiseq"), default="seq2seq",
                     help="seq2seq, or multiseq with its emotion head (default: seq2seq)")
    add_preset(mle, MLE_SIZES)
    rl = stage("rl", run_rl, "REINFORCE from the Seq2Seq policy")
    rl.add_argument("--reward", type=reward_model, default="lookahead", help="current, lookahead, or any registered name or model folder")
    add_preset(rl, RL_SIZES)
    add_preset(stage("evaluate", run_evaluate, "evaluate every trained system"), EVALUATE_SIZES, resume=False)
    chat = stage("chat", run_chat, "talk to a trained policy")
    chat.add_argument("--model", default="rl_lookahead", help="which policy of the run (default: rl_lookahead)")
    add_preset(chat, resume=False)
    sb3 = stage("sb3", run_sb3, "stable-baselines3 PPO in HappyBot-v0")
    sb3.add_argument("--reward", type=reward_model, default="lookahead", help="any registered name or model folder (default: lookahead)")
    add_preset(sb3, resume=False)
    add_preset(stage("pipeline", run_pipeline, "every stage in order (the default)"), tuple(SIZE_FLAGS))
    compare = stages.add_parser("compare", help="compare evaluated runs (seeds)", description=run_compare.__doc__)
    compare.add_argument("runs", type=Path, nargs="+", help="run folders holding results.json")
    compare.set_defaults(run_stage=run_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["pipeline", *argv]  # no stage named: the whole pipeline, with the flags given
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # its bar for loading weights, on every reward model
    from happybot_env.checkpoint import CheckpointError
    from reward_models import RewardModelError, UnknownRewardModel

    try:
        if "device" in vars(args):
            device_of(args)  # a device that is not here is refused before the run folder is claimed
        if "run" in vars(args):
            remember_run(args)
        return args.run_stage(args)
    except (CorpusFormatError, CheckpointError, UnknownRewardModel, RewardModelError, FileNotFoundError, FileExistsError, ValueError,
            FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
