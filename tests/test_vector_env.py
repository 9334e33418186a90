"""HappyBotVectorEnv: the same episodes as N single environments, on tensors, with Gymnasium's autoreset."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import ArrayConversion

import reward_models
from happybot_env.env import HappyBotEnv
from happybot_env.tokenizer import load_tokenizer, uncut_ids
from happybot_env.vector import HappyBotVectorEnv
from reward_models.inputs import pad_token_lists

from .conftest import RaisesWhileScoring

TOKENIZER = load_tokenizer()
SEP = TOKENIZER.sep_token_id
OTHER_SPECIALS = torch.tensor([i for i in TOKENIZER.all_special_ids if i != SEP])
USERS = ["I failed my exam today.", "We adopted a puppy!", "My flight got cancelled.", "I start a new job on Monday."]


def random_actions(generator: torch.Generator, n: int) -> torch.Tensor:
    """Word ids, with [SEP] often enough that episodes end at different steps, and now and then
    another special token ([PAD], [UNK], [CLS], [MASK]) that the reward must not see."""
    words = torch.randint(2000, 8000, (n,), generator=generator)
    specials = OTHER_SPECIALS[torch.randint(len(OTHER_SPECIALS), (n,), generator=generator)]
    draw = torch.rand(n, generator=generator)
    return torch.where(draw < 0.25, SEP, torch.where(draw < 0.4, specials, words))


@pytest.mark.parametrize("corpus, reward", [("users", "vader"), ("fixtures", "vader"), ("fixtures", "tiny_bert")])
def test_vector_env_equals_single_envs_with_the_same_seeds_and_actions(corpus, reward, fixtures, tiny_bert):
    corpus = USERS if corpus == "users" else fixtures
    if reward == "tiny_bert":  # the token-id fast path, whose batches differ in size between the two
        reward = reward_models.make(tiny_bert, input="pair", device="cpu")
        assert reward.accepts_token_ids
    n, seed, max_response = 6, 11, 6
    vector = HappyBotVectorEnv(n, reward_model=reward, corpus=corpus, max_response_tokens=max_response, device="cpu")
    singles = [HappyBotEnv(reward_model=reward, corpus=corpus, max_response_tokens=max_response) for _ in range(n)]

    obs, _ = vector.reset(seed=seed)
    single_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    ended = [False] * n
    generator = torch.Generator().manual_seed(0)
    endings = 0
    for _ in range(40):
        for key in ("context", "response"):
            assert np.array_equal(obs[key].numpy(), np.stack([o[key] for o in single_obs])), key
        actions = random_actions(generator, n)
        obs, rewards, terminated, truncated, _ = vector.step(actions)
        for i, env in enumerate(singles):
            if ended[i]:  # next-step autoreset: the vector env restarts this one and ignores its action
                single_obs[i], _ = env.reset()
                expected = (0.0, False, False)
            else:
                single_obs[i], *expected, info = env.step(int(actions[i]))
                if expected[1] or expected[2]:
                    # both envs score through the same EpisodeBatch and model, so agreeing proves
                    # nothing about the scoring: check it against a reference built without them
                    assert float(rewards[i]) == pytest.approx(reference_reward(vector.reward_model, single_obs[i], info), abs=1e-6)
            assert (float(rewards[i]), bool(terminated[i]), bool(truncated[i])) == pytest.approx(tuple(expected), abs=1e-6)
            ended[i] = bool(terminated[i] or truncated[i])
        endings += sum(ended)
    assert endings > 10 and truncated.dtype == torch.bool


def reference_reward(model: reward_models.RewardModel, obs: dict, info: dict) -> float:
    """The score of an ended episode, from its observation and info alone.

    A model in the shared vocabulary gets the whole user turn and the response ids less special
    tokens (it cuts them itself); not their text, since random WordPiece ids do not survive
    decoding and re-tokenising. A text-only model (VADER) gets the texts.
    """
    if not model.accepts_token_ids:
        return float(model([info["user"]], [info["response_text"]])[0])
    kept = [t for t in obs["response"].tolist() if t not in TOKENIZER.all_special_ids]
    user = pad_token_lists(uncut_ids([info["user"]]), TOKENIZER.pad_token_id)
    return float(model.score_token_ids(user, pad_token_lists([kept], TOKENIZER.pad_token_id))[0])


def test_make_vec_returns_the_native_vector_env():
    envs = gym.make_vec("HappyBot-v0", num_envs=3, vectorization_mode="vector_entry_point", device="cpu", reward_model="vader", corpus=USERS)
    assert isinstance(envs.unwrapped, HappyBotVectorEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, _ = envs.reset(seed=0)
    assert obs["context"].shape == (3, 64) and obs["response"].shape == (3, 20)
    assert envs.observation_space["context"].shape == (3, 64)


def test_a_reward_model_made_by_name_scores_on_the_envs_device(monkeypatch):
    built = []

    def factory(device):
        built.append(device)
        return reward_models.make(lambda users, responses: [0.5] * len(responses))

    monkeypatch.setitem(reward_models.registry._registry, "spy", factory)
    HappyBotVectorEnv(2, reward_model="spy", corpus=USERS, device="cpu")
    assert built == [torch.device("cpu")]  # not "auto", which is CUDA wherever there is a GPU


def test_every_ended_episode_is_scored_in_one_call():
    calls = []

    def reward(users, responses):
        calls.append(len(responses))
        return [0.5] * len(responses)

    envs = HappyBotVectorEnv(4, reward_model=reward, corpus=USERS, device="cpu")
    envs.reset(seed=0)
    envs.step(torch.tensor([SEP, 2204, SEP, SEP]))
    assert calls == [3]


def test_numpy_consumers_get_numpy_arrays():
    envs = ArrayConversion(HappyBotVectorEnv(2, reward_model="vader", corpus=USERS, device="cpu"), env_xp=torch, target_xp=np)
    obs, _ = envs.reset(seed=0)
    obs, rewards, terminated, truncated, _ = envs.step(np.array([SEP, 2204]))
    assert isinstance(obs["context"], np.ndarray) and isinstance(rewards, np.ndarray)
    assert terminated.tolist() == [True, False]


def test_info_says_which_new_contexts_were_truncated():
    envs = HappyBotVectorEnv(4, reward_model="vader", corpus=["hi", "so sad " * 20], max_context_tokens=8, device="cpu")
    _, info = envs.reset(seed=3)
    assert info["_context_truncated"].tolist() == [True] * 4
    assert info["context_truncated"].tolist() == [True, False, True, False]
    _, _, _, _, info = envs.step(torch.tensor([SEP, SEP, 2204, 2204]))
    assert info == {}  # no episode started on this step
    _, _, _, _, info = envs.step(torch.tensor([2204] * 4))  # envs 0 and 1 restart, on their other context
    assert info["_context_truncated"].tolist() == [True, True, False, False]
    assert info["context_truncated"].tolist() == [False, True, False, False]
    assert [envs.episode_texts(i)["context_truncated"] for i in (0, 1)] == [False, True]


@pytest.mark.parametrize("max_response, width", [(6, 6), (80, 64)])
def test_gold_responses_are_as_wide_as_documented(fixtures, max_response, width):
    envs = HappyBotVectorEnv(3, reward_model="vader", corpus=fixtures, max_response_tokens=max_response, device="cpu")
    envs.reset(seed=0)
    gold, known = envs.gold_responses()
    assert gold.shape == (3, width) and known.all()
    texts = [envs.episode_texts(i)["gold_response"] for i in range(3)]
    expected = [(TOKENIZER(t, add_special_tokens=False)["input_ids"] + [SEP])[:width] for t in texts]
    assert [[t for t in row if t] for row in gold.tolist()] == expected


@pytest.mark.parametrize("token_ids", [False, True], ids=["text", "token_ids"])
def test_a_reward_model_that_raises_is_named_and_keeps_the_original_as_cause(token_ids):
    envs = HappyBotVectorEnv(2, reward_model=RaisesWhileScoring(token_ids), corpus=USERS, device="cpu")
    envs.reset(seed=0)
    with pytest.raises(reward_models.RewardModelError, match="^reward model 'on fire' failed: RuntimeError: GPU on fire$") as raised:
        envs.step(torch.tensor([SEP, 2204]))
    assert type(raised.value.__cause__) is RuntimeError and str(raised.value.__cause__) == "GPU on fire"


def test_a_loaded_sampling_state_still_needs_a_reset_which_then_draws_the_same_contexts():
    """Loading a checkpoint's sampling state on a fresh vector env once counted as a reset: a step then
    played into all-padding contexts and scored them against a user turn no agent had seen."""
    saved = HappyBotVectorEnv(3, reward_model="vader", corpus=USERS, device="cpu")
    saved.reset(seed=5)
    state = saved.sampling_state()
    loaded = HappyBotVectorEnv(3, reward_model="vader", corpus=USERS, device="cpu")
    loaded.load_sampling_state(state)
    with pytest.raises(RuntimeError, match="call reset"):
        loaded.step(torch.tensor([SEP] * 3))
    assert torch.equal(loaded.reset()[0]["context"], saved.reset()[0]["context"])


def test_bad_input():
    envs = HappyBotVectorEnv(2, reward_model="vader", corpus=USERS, device="cpu")
    with pytest.raises(RuntimeError, match="reset"):
        envs.step(torch.tensor([1, 2]))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="expected 2 actions"):
        envs.step(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="action 30522 for env 1 is outside the vocabulary"):
        envs.step(torch.tensor([1, 30522]))
    with pytest.raises(ValueError, match="actions must be token ids"):
        envs.step(np.array([2000.9, 1.5]))  # not silently the tokens 2000 and 1
    with pytest.raises(ValueError, match=r"a sampling state for \(1,\) envs \(key\), this vector env has 2"):
        envs.load_sampling_state(HappyBotVectorEnv(1, reward_model="vader", corpus=USERS, device="cpu").sampling_state())
    with pytest.raises(ValueError, match="3 seeds for 2 environments"):
        envs.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="num_envs must be at least 1"):
        HappyBotVectorEnv(0, reward_model="vader", corpus=USERS)
