"""HappyBot-v0, the single environment: spaces, episodes, rewards, rendering, conformance, bad input."""

import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import reward_models
from happybot_env.episodes import episode_index
from happybot_env.env import HappyBotEnv
from happybot_env.tokenizer import load_tokenizer
from reward_models import RewardModelError

from .conftest import RaisesWhileScoring

TOKENIZER = load_tokenizer()
SEP = TOKENIZER.sep_token_id
USERS = ["I failed my exam today.", "We adopted a puppy!", "My flight got cancelled."]


def ids(text: str) -> list[int]:
    return TOKENIZER(text, add_special_tokens=False)["input_ids"]


def make_env(**kwargs) -> HappyBotEnv:
    return HappyBotEnv(**{"reward_model": "vader", "corpus": USERS, **kwargs})


def test_registered_and_reachable_without_a_prior_import():
    code = "import gymnasium as gym; env = gym.make('happybot_env:HappyBot-v0', reward_model='vader', corpus=['hi']); print(env.action_space)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Discrete(30522)"


def test_spaces():
    env = make_env(max_context_tokens=32, max_response_tokens=8)
    assert env.action_space == gym.spaces.Discrete(30522)
    assert env.observation_space["context"].shape == (32,) and env.observation_space["response"].shape == (8,)
    assert env.observation_space["context"].dtype == np.int64


def test_docstring_has_the_classic_control_sections():
    for section in ("Description", "Action Space", "Observation Space", "Rewards", "Starting State", "Episode End", "Arguments"):
        assert f"## {section}" in HappyBotEnv.__doc__


def test_an_episode_ends_at_sep_and_is_paid_by_the_reward_model():
    env = make_env()
    obs, info = env.reset(seed=0)
    assert info["user"] in USERS and info["gold_response"] is None
    context = [t for t in obs["context"] if t]
    assert context == ids(info["user"])
    response = ids("i am so happy for you!")
    for token in response:
        obs, reward, terminated, truncated, _ = env.step(token)
        assert (reward, terminated, truncated) == (0.0, False, False)
    assert list(obs["response"][: len(response)]) == response
    obs, reward, terminated, truncated, info = env.step(SEP)
    assert terminated and not truncated
    assert info["response_text"] == "i am so happy for you!"
    expected = reward_models.make("vader")([info["user"]], ["i am so happy for you!"])
    assert reward == pytest.approx(float(expected[0]))
    assert reward > 0.5


def test_truncated_at_max_response_tokens():
    env = make_env(max_response_tokens=3)
    env.reset(seed=1)
    outcomes = [env.step(ids("great")[0])[1:4] for _ in range(3)]
    assert outcomes[:2] == [(0.0, False, False)] * 2
    reward, terminated, truncated = outcomes[2]
    assert truncated and not terminated and reward > 0.5


def test_context_from_options_and_left_truncation():
    env = make_env(max_context_tokens=6)
    obs, info = env.reset(options={"previous_system": "How was your day?", "user": "Terrible, my boss yelled at me all morning."})
    assert info["context_truncated"] is True
    assert TOKENIZER.decode([t for t in obs["context"] if t]) == "yelled at me all morning."
    obs, info = env.reset(options={"user": "hi"})
    assert info["context_truncated"] is False and [t for t in obs["context"] if t] == ids("hi")


def test_an_episode_given_in_options_does_not_move_the_seeds_stream():
    seeded = make_env()
    stream = [seeded.reset(seed=0)[1]["user"]] + [seeded.reset()[1]["user"] for _ in range(2)]
    given = make_env()
    given.reset(seed=0, options={"user": "I got the job!"})
    assert [given.reset()[1]["user"] for _ in range(3)] == stream


@pytest.mark.parametrize(
    "options, message",
    [({"previous_system": "How was your day?"}, "option 'previous_system' needs option 'user'"), ({"usr": "hi"}, "unknown: \\['usr'\\]")],
)
def test_reset_options_that_would_be_ignored_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        make_env().reset(seed=0, options=options)


@pytest.mark.parametrize(
    "options, kind",
    [({"user": None}, "NoneType"), ({"user": 5}, "int"), ({"user": ["I am", "sad"]}, "list"),
     ({"user": "I am sad", "previous_system": None}, "NoneType")],
)
def test_reset_options_that_are_not_texts_are_refused_naming_the_option(options, kind):
    """A list of words read as a pre-tokenised turn, and None or a number failed in the tokenizer
    without naming the option."""
    name = "previous_system" if "previous_system" in options else "user"
    with pytest.raises(ValueError, match=f"^reset option '{name}' must be a text \\(str\\), got {kind}$"):
        make_env().reset(seed=0, options=options)


@pytest.mark.parametrize("user", ["", "   ", "\u200b"])
def test_a_user_turn_without_tokens_is_refused_in_options(user):
    with pytest.raises(ValueError, match="reset option 'user' .* has no tokens"):
        make_env().reset(seed=0, options={"previous_system": "How are you?", "user": user})


def test_corpus_user_turns_without_tokens_are_never_sampled():
    env = make_env(corpus=["\u200b", "hi", ""])
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        assert info["user"] == "hi" and [t for t in obs["context"] if t] == ids("hi")
    with pytest.raises(ValueError, match="every user turn of the corpus is empty"):
        make_env(corpus=["", "\u200b"])


def test_previous_system_turn_comes_before_the_user_turn(fixtures):
    env = HappyBotEnv(reward_model="vader", corpus=fixtures)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        if info["previous_system"]:
            expected = ids(info["previous_system"]) + [SEP] + ids(info["user"])
            assert [t for t in obs["context"] if t] == expected[-64:]
            assert info["gold_response"]
            return
    pytest.fail("no sampled context had a previous system turn")


def test_seeded_resets_repeat():
    env = make_env()
    first = [env.reset(seed=7)[1]["user"]] + [env.reset()[1]["user"] for _ in range(5)]
    again = [env.reset(seed=7)[1]["user"]] + [env.reset()[1]["user"] for _ in range(5)]
    assert first == again and len(set(first)) > 1


def test_render_modes(capsys):
    env = make_env(render_mode="ansi")
    env.reset(options={"user": "I got the job!"})
    for token in ids("congratulations!") + [SEP]:
        env.step(token)
    text = env.render()
    assert "USER:   I got the job!" in text and "AGENT:  congratulations!" in text and "reward (vader):" in text
    human = make_env(render_mode="human")
    human.reset(options={"user": "I got the job!"})
    assert "USER:   I got the job!" in capsys.readouterr().out
    with pytest.raises(ValueError, match="render_mode must be one of"):
        make_env(render_mode="rgb_array")


def test_render_without_a_render_mode_warns_and_returns_nothing():
    env = make_env()
    env.reset(options={"user": "I got the job!"})
    with pytest.warns(UserWarning, match="without a render mode"):
        assert env.render() is None


def test_render_before_reset():
    with pytest.raises(ResetNeeded, match=r"call reset\(\) before render\(\)"):
        make_env(render_mode="ansi").render()


def test_gymnasium_and_stable_baselines3_checkers_pass():
    env = gym.make("HappyBot-v0", reward_model="vader", corpus=USERS, render_mode="ansi")
    check_env(env.unwrapped, skip_render_check=False)
    sb3_check_env(make_env(), warn=True)


def test_reward_from_the_token_id_fast_path_matches_text_scoring(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    model = reward_models.make(tmp_path, input="pair", device="cpu")
    env = make_env(reward_model=model)
    _, info = env.reset(seed=3)
    for token in ids("that sounds hard, i am sorry") + [SEP]:
        _, reward, terminated, _, info = env.step(token)
    assert terminated
    assert reward == pytest.approx(float(model([info["user"]], [info["response_text"]])[0]), abs=1e-6)


@pytest.mark.parametrize("special", ["[UNK]", "[CLS]", "[MASK]", "[PAD]"])
def test_special_tokens_the_agent_writes_are_not_scored_through_token_ids(tiny_bert, special):
    model = reward_models.make(tiny_bert, input="pair", device="cpu")
    assert model.accepts_token_ids
    env = make_env(reward_model=model)
    env.reset(seed=0)
    for token in [TOKENIZER.convert_tokens_to_ids(special)] + ids("great") + [SEP]:
        _, reward, terminated, _, info = env.step(token)
    assert terminated and info["response_text"] == "great"
    assert reward == pytest.approx(float(model([info["user"]], ["great"])[0]), abs=1e-6)


@pytest.mark.parametrize("max_length", [512, 128])
def test_the_fast_path_reads_as_much_of_a_long_user_turn_as_the_reward_model_does(tiny_bert, max_length):
    # the env cuts the user turn it hands the fast path itself (encode_contexts): a 400-token turn is
    # kept whole for a model that reads 512 tokens, and loses its start, as cut_ids does, at 128
    model = reward_models.make(tiny_bert, input="pair", max_length=max_length, device="cpu")
    user = " ".join(f"word{i}" for i in range(157))
    assert len(ids(user)) == 400
    env = make_env(reward_model=model, corpus=[user])
    env.reset(seed=0)
    for token in ids("great") + [SEP]:
        _, reward, terminated, _, _ = env.step(token)
    assert terminated
    assert reward == pytest.approx(float(model([user], ["great"])[0]), abs=1e-6)
    if max_length < 400:  # and the cut is seen: the start of the turn alone would score otherwise
        start = TOKENIZER.decode(ids(user)[:120])
        assert reward != pytest.approx(float(model([start], ["great"])[0]), abs=1e-6)


@pytest.mark.parametrize("action, message", [(30522, "outside the vocabulary"), (-1, "outside the vocabulary"), (1.5, "one token id"), ([5, 6], "one token id")])
def test_bad_actions(action, message):
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_step_before_reset_and_after_the_end():
    # one message for both cases, and it says what to do in each
    message = r"call reset\(\) before step\(\), and again after the episode ends"
    env = make_env()
    with pytest.raises(ResetNeeded, match=message):
        env.step(5)
    env.reset(seed=0)
    env.step(SEP)
    with pytest.raises(ResetNeeded, match=message):
        env.step(5)


def test_unknown_reward_model_name():
    with pytest.raises(KeyError, match="registered names are"):
        make_env(reward_model="happiness")


def test_a_reward_model_folder_scores_on_the_device_given(tiny_bert):
    env = gym.make("HappyBot-v0", reward_model=str(tiny_bert), device="cpu")
    assert env.unwrapped.reward_model.device == torch.device("cpu")
    with pytest.raises(ValueError, match="device 'cuda:99': no such CUDA device here"):
        gym.make("HappyBot-v0", reward_model=str(tiny_bert), device="cuda:99")


@pytest.mark.parametrize("size", ["max_context_tokens", "max_response_tokens"])
def test_sizes_below_one_token_are_refused(size):
    with pytest.raises(ValueError, match=f"{size} must be at least 1, got 0"):
        make_env(**{size: 0})


class NaNOnTokenIds(reward_models.RewardModel):
    name = "nan on token ids"
    accepts_token_ids = True

    def score(self, users, responses):
        return torch.full((len(responses),), 0.5)

    def score_token_ids(self, user_ids, response_ids):
        return torch.full((len(response_ids),), float("nan"))


def gloomy_scorer(users, responses):
    return [float("nan")] * len(responses)


@pytest.mark.parametrize("model, name", [(gloomy_scorer, "gloomy_scorer"), (NaNOnTokenIds(), "nan on token ids")])
def test_failing_reward_model_is_named(model, name):
    env = make_env(reward_model=model)
    env.reset(seed=0)
    with pytest.raises(RewardModelError, match=f"reward model '{name}' returned NaN or infinite"):
        env.step(SEP)


@pytest.mark.parametrize("token_ids", [False, True], ids=["text", "token_ids"])
def test_a_reward_model_that_raises_is_named_and_keeps_the_original_as_cause(token_ids):
    env = make_env(reward_model=RaisesWhileScoring(token_ids))
    env.reset(seed=0)
    with pytest.raises(RewardModelError, match="^reward model 'on fire' failed: RuntimeError: GPU on fire$") as raised:
        env.step(SEP)
    # the original is not swallowed: its type, message and traceback stay reachable
    assert type(raised.value.__cause__) is RuntimeError and str(raised.value.__cause__) == "GPU on fire"


class TwoColumnsOnTokenIds(NaNOnTokenIds):
    name = "two columns"

    def score_token_ids(self, user_ids, response_ids):
        return torch.full((len(response_ids), 2), 0.5)  # both softmax columns, not P(positive)


def test_token_id_scores_of_the_wrong_shape_are_refused_naming_the_model():
    env = make_env(reward_model=TwoColumnsOnTokenIds())
    env.reset(seed=0)
    with pytest.raises(RewardModelError, match=r"reward model 'two columns' returned shape \(1, 2\) for 1 pairs, expected \(1,\)"):
        env.step(SEP)


def test_corpus_without_the_split(fixtures):
    with pytest.raises(ValueError, match="no dialogue corpus with split 'test'"):
        HappyBotEnv(reward_model="vader", corpus=fixtures, split="test")


def test_a_validation_split_that_trains_is_not_offered_as_held_out(fixtures, tmp_path):
    """PersonaChat alone, with its valid file only: that file is its training data, so asking for
    'valid' was refused by a message that listed 'valid' as available."""
    (tmp_path / "personachat").mkdir()
    shutil.copyfile(fixtures / "personachat" / "valid_self_original_no_cands.txt", tmp_path / "personachat" / "valid_self_original_no_cands.txt")
    with pytest.raises(ValueError, match="^no held-out dialogue split in .*: its validation splits belong to corpora without a train split"):
        HappyBotEnv(reward_model="vader", corpus=tmp_path, split="valid")
    assert HappyBotEnv(reward_model="vader", corpus=tmp_path, split="train").reset(seed=0)[1]["user"]


@pytest.mark.parametrize("size", [1, 2, 10, 1000, 62074])
def test_each_env_draws_every_context_once_per_pass_over_the_corpus(size):
    counters = torch.arange(size)
    for key in (0, 12345, 2**31 - 2):
        drawn = episode_index(torch.full((size,), key), counters, size)
        assert sorted(drawn.tolist()) == list(range(size))
    if size > 2:  # consecutive episodes are not neighbouring turns of one dialogue
        assert abs(int(drawn[1]) - int(drawn[0])) > 1
