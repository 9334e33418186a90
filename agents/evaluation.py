"""Evaluation of the four systems of the paper's Table 2 on held-out contexts.

Each system answers every context greedily. The figures: BLEU (sacrebleu, against the gold
responses), distinct-1 and distinct-2 (distinct n-grams over all n-grams of all responses), average
length in words, the share of responses that repeat an earlier one word for word
(``repeated_responses``: 1 - distinct responses / responses, so 4 identical responses give 0.75)
and the most frequent responses, which together expose a policy that games its reward with one
generic phrase, and the mean ``current``, ``lookahead`` and VADER scores.

One more figure exposes a policy that games the look-ahead reward with cheer:
``positive_to_negative``, the share of replies that the ``current`` classifier scores positive among
the contexts whose user turn it scores negative. The gold replies set the reference: a listener
answers most sad news in kind ("i'm sorry to hear that"), not with "congratulations!".
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import sacrebleu
import torch

import reward_models
from happybot_env.atomic import atomic_file, write_json
from happybot_env.tokenizer import load_tokenizer, uncut_ids

from .policy_data import PolicyData
from .seq2seq import Seq2SeqPolicy

SYSTEMS = {"seq2seq": "Seq2Seq", "multiseq": "MultiSeq", "rl_current": "RL Current", "rl_lookahead": "RL Look-ahead"}


def respond(policy: Seq2SeqPolicy, context: torch.Tensor, max_tokens: int, batch_size: int = 256) -> list[str]:
    """Greedy responses, decoded to text."""
    device = next(policy.parameters()).device
    policy.eval()
    tokens = []
    with torch.no_grad():
        for start in range(0, len(context), batch_size):
            tokens.append(policy.generate(context[start : start + batch_size].to(device), max_tokens, greedy=True).tokens.cpu())
    return load_tokenizer().batch_decode(torch.cat(tokens), skip_special_tokens=True) if tokens else []


def as_written_by_a_policy(texts: list[str]) -> list[str]:
    """Texts as a policy would write them: tokenised and decoded in the shared vocabulary, which
    lowercases, strips accents, drops unknown characters and spaces some punctuation (``well - known``).

    BLEU and distinct-n read every text this way, gold responses included, so that a policy that
    writes exactly the gold tokens scores BLEU 100 and the Gold row counts what the systems count.
    """
    return load_tokenizer().batch_decode(uncut_ids(texts), skip_special_tokens=True)


def distinct(responses: list[str], n: int) -> float:
    ngrams = [tuple(words[i : i + n]) for words in (r.split() for r in responses) for i in range(len(words) - n + 1)]
    return len(set(ngrams)) / len(ngrams) if ngrams else 0.0


def text_metrics(responses: list[str], references: list[str]) -> dict:
    counts = Counter(responses)
    return {
        "bleu": round(sacrebleu.corpus_bleu(responses, [references]).score, 2),
        "distinct_1": round(distinct(responses, 1), 4),
        "distinct_2": round(distinct(responses, 2), 4),
        "average_length": round(sum(len(r.split()) for r in responses) / max(len(responses), 1), 2),
        "repeated_responses": round(1 - len(counts) / max(len(responses), 1), 4),
        "most_frequent": [[text, n] for text, n in counts.most_common(3)],
    }


def reward_scores(users: list[str], responses: list[str], scorers: dict[str, reward_models.RewardModel]) -> dict[str, torch.Tensor]:
    return {name: model(users, responses).float().cpu() for name, model in scorers.items()}


def reward_metrics(scores: dict[str, torch.Tensor]) -> dict:
    return {f"mean_{name}": round(float(values.mean()), 4) for name, values in scores.items()}


def positive_to_negative(user_positive: torch.Tensor, reply_positive: torch.Tensor) -> float | None:
    """The share of replies scored positive (above 0.5) among the contexts whose user turn is scored
    negative; None when no user turn is."""
    negative = user_positive < 0.5
    if not negative.any():
        return None
    return round(float((reply_positive[negative] > 0.5).float().mean()), 4)


def evaluate(run: Path, data: PolicyData, max_tokens: int, scorers: dict[str, reward_models.RewardModel], device: torch.device) -> dict:
    """Metrics and responses of every system found in ``run``, and of the gold responses.

    Each context's ``lookahead`` score is kept too (``lookahead_scores``), so that differences
    between systems can be set against their paired standard error.
    """
    references = as_written_by_a_policy(data.responses)
    results = {"examples": len(data), "systems": {}, "responses": {"gold": data.responses}, "users": data.users,
               "lookahead_scores": {}}
    # the classifier reads a text alone, so the user turns are scored as texts of their own
    user_positive = scorers["current"]([""] * len(data), data.users).float().cpu() if "current" in scorers else None

    def add(name: str, responses: list[str]) -> None:
        scores = reward_scores(data.users, responses, scorers)  # as written: VADER reads capitals as emphasis
        results["systems"][name] = {**text_metrics(as_written_by_a_policy(responses), references), **reward_metrics(scores)}
        if user_positive is not None:
            results["systems"][name]["positive_to_negative"] = positive_to_negative(user_positive, scores["current"])
        if "lookahead" in scores:
            results["lookahead_scores"][name] = [round(float(x), 4) for x in scores["lookahead"]]

    add("Gold", data.responses)
    for folder, name in SYSTEMS.items():
        if not (run / folder / "policy").is_dir():
            continue
        policy = Seq2SeqPolicy.load(run / folder / "policy").to(device)
        responses = respond(policy, data.context, max_tokens)
        results["responses"][name] = responses
        add(name, responses)
    return results


COLUMNS = (
    ("bleu", "BLEU"), ("distinct_1", "dist-1"), ("distinct_2", "dist-2"), ("average_length", "avg len"),
    ("repeated_responses", "repeated"), ("positive_to_negative", "positive to negative"), ("mean_current", "current"),
    ("mean_lookahead", "lookahead"), ("mean_vader", "VADER"),
)


def best_rival(systems: dict[str, dict]) -> str:
    """The system other than RL Look-ahead with the highest mean ``lookahead`` reward (Gold is no system)."""
    return max((name for name in SYSTEMS.values() if name != "RL Look-ahead"), key=lambda name: systems[name]["mean_lookahead"])


def expected_outcome(systems: dict[str, dict], lookahead_scores: dict[str, list[float]] | None = None) -> list[tuple[str, str, bool]]:
    """The paper's claims about RL Look-ahead, checked against Table 2: ``(claim, figures, holds)``.

    It should get the highest mean ``lookahead`` reward of the four systems, while its BLEU stays
    within 10% of Seq2Seq's and its distinct-2 does not fall below Seq2Seq's (a policy that games
    the reward with one phrase fails the last two). Empty when a system is missing. Given each
    context's ``lookahead`` score, the figures add RL Look-ahead's difference from the best other
    system and its paired standard error over the contexts: a difference within about two of
    them could be the choice of contexts alone.
    """
    names = [name for name in SYSTEMS.values() if name in systems]
    if len(names) < len(SYSTEMS):
        return []
    lookahead, seq2seq = systems["RL Look-ahead"], systems["Seq2Seq"]
    rewards = {name: systems[name]["mean_lookahead"] for name in names}
    best = max(rewards, key=rewards.get)
    rival = best_rival(systems)
    figures = f"RL Look-ahead {rewards['RL Look-ahead']}; best {best} {rewards[best]}"
    if lookahead_scores and {"RL Look-ahead", rival} <= set(lookahead_scores) and len(lookahead_scores[rival]) > 1:
        difference = torch.tensor(lookahead_scores["RL Look-ahead"]) - torch.tensor(lookahead_scores[rival])
        error = difference.std() / len(difference) ** 0.5
        figures += f"; against {rival} {difference.mean():+.4f} ± {error:.4f} (paired standard error)"
    return [
        ("highest mean lookahead reward of the four systems", figures, best == "RL Look-ahead"),
        ("BLEU within 10% of Seq2Seq's", f"{lookahead['bleu']} against {seq2seq['bleu']}",
         lookahead["bleu"] >= 0.9 * seq2seq["bleu"]),
        ("distinct-2 not below Seq2Seq's", f"{lookahead['distinct_2']} against {seq2seq['distinct_2']}",
         lookahead["distinct_2"] >= seq2seq["distinct_2"]),
    ]


def write_report(results: dict, run: Path, reward_history: dict[str, list], record: dict | None = None, samples: int = 5) -> None:
    """``results.json``, ``results.md`` (Table 2, Table 3-style samples) and ``rewards.png``.

    ``record`` (from ``train.py pipeline``) adds how the results were made: command, commit,
    hardware, seed, sizes and the wall time of every stage, and any later ``train.py evaluate``.
    """
    write_json(run / "results.json", results)
    lines = [f"# HappyBot results ({results['examples']} held-out contexts)", ""]
    if record:
        lines += run_record_lines(record)
    lines += ["## Automatic metrics (Table 2)", ""]
    lines.append("| system | " + " | ".join(title for _, title in COLUMNS) + " |")
    lines.append("|---" * (len(COLUMNS) + 1) + "|")
    for name, metrics in results["systems"].items():
        lines.append(f"| {name} | " + " | ".join("" if metrics.get(key) is None else str(metrics[key]) for key, _ in COLUMNS) + " |")
    lines += ["", "\"positive to negative\": the share of replies that `current` scores positive, among the contexts "
              "whose user turn it scores negative. A system far above Gold answers sad news with cheer."]
    claims = expected_outcome(results["systems"], results.get("lookahead_scores"))
    if claims:
        lines += ["", "## The paper's expected outcome for RL Look-ahead", "", "| claim | figures | holds |", "|---|---|---|"]
        lines += [f"| {claim} | {figures} | {'yes' if holds else '**no**'} |" for claim, figures, holds in claims]
    lines += ["", "Most frequent responses:", ""]
    for name, metrics in results["systems"].items():
        if name != "Gold":
            frequent = "; ".join(f"\"{text}\" ({n})" for text, n in metrics["most_frequent"])
            lines.append(f"- {name}: {frequent}")
    lines += ["", "## Sample responses (Table 3)", ""]
    systems = [s for s in results["responses"] if s != "gold"] + ["gold"]
    for i in range(min(samples, results["examples"])):
        lines.append(f"**User:** {results['users'][i]}")
        lines.append("")
        for system in systems:
            lines.append(f"- {'Gold' if system == 'gold' else system}: {results['responses'][system][i]}")
        lines.append("")
    lines.append("Reward curves of the RL systems: `rewards.png`.")
    plot_rewards(reward_history, run / "rewards.png")
    with atomic_file(run / "results.md") as f:  # last: the pipeline reads the report as the stage's end
        f.write(("\n".join(lines) + "\n").encode())


def run_record_lines(record: dict) -> list[str]:
    lines = [
        "## Run",
        "",
        f"- command: `{record['command']}`",
        f"- commit: {record['commit']}; finished {record['date']}",
        f"- hardware: {record['hardware']}",
        f"- seed: {record['seed']}; preset `{record['preset']}`: "
        + ", ".join(f"{k}={v}" for k, v in record["sizes"].items()),
    ]
    for stage, sizes in record.get("stage_sizes", {}).items():  # records written before HappyBot kept them have none
        if other := {k: v for k, v in sizes.items() if record["sizes"].get(k) != v}:
            lines.append(f"- {stage} was trained with other sizes: " + ", ".join(f"{k}={v}" for k, v in other.items()))
    lines += [
        f"- data: {record['data_dir'] or 'the built-in corpus'}",
        "",
        "| stage | wall time (s) |",
        "|---|---|",
    ]
    lines += [f"| {stage} | {seconds} |" for stage, seconds in record["wall_seconds"].items()]
    untimed = record.get("untimed_stages", [])  # records written before HappyBot kept them have none
    lines += [f"| {stage} | not timed: run before the pipeline |" for stage in untimed]
    lines += [f"| total{' of the timed stages' if untimed else ''} | {record['total_seconds']} |", ""]
    if "evaluated_again" in record:
        again = record["evaluated_again"]
        lines += [f"Evaluated again by `{again['command']}` (commit {again['commit']}, {again['date']}); "
                  "the figures below are from that evaluation.", ""]
    return lines


def plot_rewards(history: dict[str, list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name, points in history.items():
        if points:
            steps, rewards = zip(*points)
            axes.plot(steps, rewards, label=name)
    axes.set_xlabel("update")
    axes.set_ylabel("mean reward of the batch")
    axes.set_title("REINFORCE reward curves")
    if history:
        axes.legend()
    figure.tight_layout()
    with atomic_file(path) as f:
        figure.savefig(f, format="png", dpi=100)
    plt.close(figure)
