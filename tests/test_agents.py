"""The Seq2Seq / MultiSeq policy and the REINFORCE agent, on tiny models."""

from types import SimpleNamespace

import gymnasium as gym
import pytest
import torch
import torch.nn.functional as F

from agents import ReinforceAgent, ReinforceConfig, Seq2SeqConfig, Seq2SeqPolicy, act
from agents.seq2seq import pretrained_embeddings, sample
from happybot_env.env import HappyBotEnv
from happybot_env.vector import HappyBotVectorEnv

USERS = ["I failed my exam today.", "We adopted a puppy!", "My flight got cancelled."]
TOY = Seq2SeqConfig(vocab_size=8, embedding_dim=16, hidden_size=16, dropout=0.0, pad_id=0, start_id=2, end_id=1, mask_id=None)


class ToyEnvs:
    """A synthetic vector env with 8 tokens: the reward is the share of response tokens equal to 5."""

    def __init__(self, num_envs: int = 64, max_response_tokens: int = 4, reward=None) -> None:
        self.num_envs, self.max_response_tokens = num_envs, max_response_tokens
        self.single_action_space = gym.spaces.Discrete(8)
        self.device = torch.device("cpu")
        self.reward = reward or (lambda tokens: (tokens == 5).float().mean(1))
        self.generator = torch.Generator().manual_seed(0)
        self.batch = SimpleNamespace(sep_id=TOY.end_id, pad_id=TOY.pad_id)  # as HappyBotVectorEnv's episode batch

    def reset(self):
        self.context = torch.randint(3, 8, (self.num_envs, 5), generator=self.generator)
        self.responses = torch.zeros((self.num_envs, 0), dtype=torch.long)
        self.done = torch.zeros(self.num_envs, dtype=torch.bool)
        return {"context": self.context}, {}

    def gold_responses(self):
        gold = torch.full((self.num_envs, self.max_response_tokens), 3)
        gold[:, -1] = 1
        return gold, torch.ones(self.num_envs, dtype=torch.bool)

    def step(self, actions):
        self.responses = torch.cat([self.responses, actions.unsqueeze(1)], 1)
        ending = ~self.done & ((actions == 1) | (self.responses.shape[1] == self.max_response_tokens))
        rewards = torch.where(ending, self.reward(self.responses), torch.zeros(self.num_envs))
        self.done |= ending
        return None, rewards, ending, ending, {}


def toy_agent(**config) -> ReinforceAgent:
    torch.manual_seed(0)
    return ReinforceAgent(Seq2SeqPolicy(TOY), ToyEnvs(), ReinforceConfig(**config))


def test_output_layer_is_the_embedding_and_starts_pretrained():
    policy = Seq2SeqPolicy.pretrained(Seq2SeqConfig(hidden_size=16))
    assert torch.equal(policy.embedding.weight, pretrained_embeddings())
    assert not any(p.shape == (30522, 384) for name, p in policy.named_parameters() if name != "embedding.weight")
    # V is the embedding itself: the logits are equation 5 written with it, and follow a change to it
    policy.eval()  # no dropout
    m_star = torch.randn(2, policy.embedding.weight.shape[1])
    expected = F.linear(m_star / 0.4, policy.embedding.weight, policy.output_bias / 0.4)
    torch.testing.assert_close(policy.output_logits(m_star), expected.masked_fill(policy.unwritable, float("-inf")))
    with torch.no_grad():
        policy.embedding.weight[1000].zero_()
    assert torch.equal(policy.output_logits(m_star)[:, 1000], policy.output_bias[1000].expand(2) / 0.4)


def test_temperature_divides_the_logits():
    torch.manual_seed(0)
    hot = Seq2SeqPolicy(TOY)
    cold = Seq2SeqPolicy(Seq2SeqConfig(**{**TOY.__dict__, "temperature": 1.0}))
    cold.load_state_dict(hot.state_dict())
    context = torch.tensor([[3, 4, 5, 0]])
    h, mask, m = hot.encode(context)
    token = torch.tensor([TOY.start_id])
    torch.testing.assert_close(hot.decode_step(token, m, h, mask)[0] * 0.4, cold.decode_step(token, m, h, mask)[0])


def test_attention_ignores_padding():
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY)
    short, padded = torch.tensor([[3, 4, 5]]), torch.tensor([[3, 4, 5, 0, 0, 0]])
    h1, mask1, m1 = policy.encode(short)
    h2, mask2, m2 = policy.encode(padded)
    start = torch.tensor([TOY.start_id])
    torch.testing.assert_close(policy.decode_step(start, m1, h1, mask1)[0], policy.decode_step(start, m2, h2, mask2)[0])


def test_mle_loss_falls_on_a_tiny_corpus():
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY)
    context = torch.tensor([[3, 4, 0], [5, 6, 7], [7, 7, 3]])
    response = torch.tensor([[4, 3, 1, 0], [6, 6, 7, 1], [3, 1, 0, 0]])
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    start = policy.mle_loss(context, response).item()
    for _ in range(60):
        optimizer.zero_grad()
        policy.mle_loss(context, response).backward()
        optimizer.step()
    assert policy.mle_loss(context, response).item() < 0.2 * start


def test_a_policy_saved_with_the_gru_cell_decoder_loads_unchanged(tmp_path):
    """The decoder was an nn.GRUCell: the same four tensors as today's nn.GRU, named without ``_l0``."""
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY).eval()
    policy.save(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    save_file({k.removesuffix("_l0") if k.startswith("decoder.") else k: v for k, v in weights.items()}, tmp_path / "model.safetensors")
    assert "decoder.weight_ih" in load_file(tmp_path / "model.safetensors")
    loaded = Seq2SeqPolicy.load(tmp_path)
    for name, tensor in policy.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)


def test_mle_loss_reuses_the_encoding_it_is_given():
    """Given another context's encoding, the loss is that context's: the one passed in is not encoded again."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY).eval()
    context, other = torch.tensor([[3, 4, 0], [5, 6, 7]]), torch.tensor([[7, 7, 5], [3, 0, 0]])
    response = torch.tensor([[4, 3, 1], [6, 1, 0]])
    reused = policy.mle_loss(context, response, policy.encode(other))
    torch.testing.assert_close(reused, policy.mle_loss(other, response))
    assert not torch.allclose(reused, policy.mle_loss(context, response))


def test_mle_loss_is_equation_6_step_by_step():
    """The batched teacher-forced loss equals decoding one gold token at a time, pads left out."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY).eval()
    context, response = torch.tensor([[3, 4, 0], [5, 6, 7]]), torch.tensor([[4, 3, 1], [6, 1, 0]])
    h, mask, m = policy.encode(context)
    token, per_response = torch.full((2,), TOY.start_id), []
    for t in range(3):
        logits, m = policy.decode_step(token, m, h, mask)
        per_response.append(-F.log_softmax(logits, -1).gather(1, response[:, t : t + 1]).squeeze(1))
        token = response[:, t]
    steps = torch.stack(per_response, 1)
    expected = (steps[0].mean() + steps[1, :2].mean()) / 2
    torch.testing.assert_close(policy.mle_loss(context, response), expected)


def test_policy_never_writes_pad_start_or_mask_even_where_they_are_likeliest():
    """[PAD], [CLS] (the start token) and [MASK] cannot be part of a response: a written [PAD] would
    make the next observation look like a new episode. Kept: the end token and every other one."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(Seq2SeqConfig(**{**TOY.__dict__, "mask_id": 7})).eval()
    unwritable = torch.tensor([TOY.pad_id, TOY.start_id, 7])
    with torch.no_grad():
        policy.output_bias[unwritable] = 100.0  # without the mask, they would be all that is ever written
    context = torch.randint(3, 7, (64, 5))
    for greedy in (False, True):
        decoded = policy.generate(context, 4, greedy=greedy)
        assert not torch.isin(decoded.tokens[decoded.mask], unwritable).any()
        assert torch.isfinite(decoded.log_probs).all() and torch.isfinite(decoded.entropy).all()
        observation = {"context": context, "response": torch.zeros(64, 4, dtype=torch.long)}
        assert not torch.isin(act(policy, observation, greedy=greedy)[0], unwritable).any()
    h, mask, m = policy.encode(context)
    log_p = policy.decode_step(torch.full((64,), TOY.start_id), m, h, mask)[0].log_softmax(-1)
    assert (log_p[:, unwritable] == float("-inf")).all() and torch.isfinite(log_p[:, [1, 3, 4, 5, 6]]).all()


def test_mle_loss_leaves_out_gold_tokens_the_policy_cannot_write():
    """Padding and [MASK] have probability 0: left out, not inf * 0 = NaN."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(Seq2SeqConfig(**{**TOY.__dict__, "mask_id": 7})).eval()
    context = torch.tensor([[3, 4, 0], [5, 6, 7]])
    loss = policy.mle_loss(context, torch.tensor([[4, 7, 1], [6, 1, 0]]))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in policy.parameters() if p.grad is not None)
    h, mask, m = policy.encode(context)
    token, per_response = torch.full((2,), TOY.start_id), []
    for t, gold in enumerate(([4, 6], [7, 1], [1, 0])):
        logits, m = policy.decode_step(token, m, h, mask)
        per_response.append(-F.log_softmax(logits, -1).gather(1, torch.tensor(gold).unsqueeze(1)).squeeze(1))
        token = torch.tensor(gold)
    steps = torch.stack(per_response, 1)
    torch.testing.assert_close(loss, (steps[0, [0, 2]].mean() + steps[1, :2].mean()) / 2)


def test_mle_loss_projects_only_the_scored_tokens_onto_the_vocabulary():
    """The vocabulary-wide logits are most of an MLE step's work, and a third of a batch of gold
    responses is padding: equation 5 runs on the scored tokens alone. (That the loss is equation 6
    over them is tested above, step by step, with padding and [MASK].)"""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY).eval()
    context = torch.randint(3, 8, (4, 5))
    response = torch.tensor([[4, 1, 0, 0], [6, 5, 3, 1], [1, 0, 0, 0], [7, 7, 1, 0]])
    rows, project = [], policy.output_logits
    policy.output_logits = lambda m_star: rows.append(m_star.shape[:-1].numel()) or project(m_star)
    policy.mle_loss(context, response)
    assert rows == [10]  # the written tokens, not the 16 positions


def test_special_token_ids_outside_the_vocabulary_or_an_unwritable_end_are_refused():
    with pytest.raises(ValueError, match="mask_id=103 outside the vocabulary of 8 tokens"):
        Seq2SeqConfig(**{**TOY.__dict__, "mask_id": 103})
    with pytest.raises(ValueError, match="end_id 103 is also pad_id, start_id or mask_id, which the policy never writes"):
        Seq2SeqConfig(end_id=103)


def test_held_out_mle_loss_is_the_mean_over_examples_whatever_the_batch_size():
    from agents.loops import _mean_mle_loss
    from agents.policy_data import PolicyData

    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY)
    context, gold = torch.randint(3, 8, (7, 5)), torch.randint(3, 8, (7, 4))
    gold[:, -1], gold[0, 1:] = 1, 0  # responses of different lengths
    data = PolicyData(context, gold, torch.zeros(7, dtype=torch.long), [""] * 7, [""] * 7)
    whole = policy.eval().mle_loss(context, gold).item()
    assert _mean_mle_loss(policy, data, batch_size=3) == pytest.approx(whole, rel=1e-6)
    assert _mean_mle_loss(policy, data.head(0), batch_size=3) is None


def test_sample_draws_tokens_at_their_probabilities():
    torch.manual_seed(0)
    probabilities = torch.tensor([[0.5, 0.0, 0.3, 0.2], [0.0, 0.0, 0.0, 1.0]])
    tokens = sample(probabilities.expand(20_000, 2, 4).reshape(-1, 4)).view(20_000, 2)
    frequencies = F.one_hot(tokens, 4).float().mean(0)
    torch.testing.assert_close(frequencies, probabilities, atol=0.015, rtol=0)
    assert (tokens[:, 0] != 1).all() and (tokens[:, 1] == 3).all()  # never a token of probability 0


def test_multiseq_mle_training_learns_the_emotion_of_each_context(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from agents.loops import LoopConfig, train_mle
    from agents.policy_data import IGNORE, PolicyData

    torch.manual_seed(0)
    policy = Seq2SeqPolicy(Seq2SeqConfig(**{**TOY.__dict__, "num_emotions": 3}))
    context = torch.tensor([[3, 4, 0], [5, 6, 0], [7, 7, 3], [4, 4, 4]])
    emotion = torch.tensor([0, 1, 2, IGNORE])  # the last example has no label
    data = PolicyData(context, torch.tensor([[4, 1], [6, 1], [3, 1], [4, 1]]), emotion, [""] * 4, [""] * 4)

    def emotion_loss() -> float:
        with torch.no_grad():
            return F.cross_entropy(policy.emotion_logits(policy.encode(context[:3])[2]), emotion[:3]).item()

    start = emotion_loss()
    with SummaryWriter(tmp_path / "tb") as writer:
        config = LoopConfig(steps=60, batch_size=4, learning_rate=1e-2)
        train_mle(policy, data, data.head(0), config, tmp_path, writer, "mle", quiet=True)
    assert emotion_loss() < 0.2 * start


def test_context_of_only_padding_is_refused():
    policy = Seq2SeqPolicy(TOY)
    context = torch.tensor([[3, 4, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"context rows \[1\] hold only \[PAD\]"):
        policy.generate(context, 3)
    with pytest.raises(ValueError, match=r"context rows \[1\] hold only \[PAD\]"):
        act(policy, {"context": context, "response": torch.zeros(2, 3, dtype=torch.long)})


def test_multiseq_has_an_emotion_head_and_seq2seq_does_not():
    multiseq = Seq2SeqPolicy(Seq2SeqConfig(**{**TOY.__dict__, "num_emotions": 39}))
    _, _, final = multiseq.encode(torch.tensor([[3, 4, 5]]))
    assert multiseq.emotion_logits(final).shape == (1, 39)
    with pytest.raises(ValueError, match="no emotion head"):
        Seq2SeqPolicy(TOY).emotion_logits(final)


def test_sampled_log_probs_are_log_softmax_of_the_scaled_logits_of_the_sampled_tokens():
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY)
    context = torch.randint(3, 8, (6, 5))
    decoded = policy.generate(context, 4)
    h, mask, m = policy.encode(context)
    token = torch.full((6,), TOY.start_id)
    for t in range(4):
        logits, m = policy.decode_step(token, m, h, mask)
        expected = F.log_softmax(logits, -1).gather(1, decoded.tokens[:, t].unsqueeze(1)).squeeze(1)
        alive = decoded.mask[:, t]
        torch.testing.assert_close(decoded.log_probs[alive, t], expected[alive])
        token = decoded.tokens[:, t]
    assert (decoded.log_probs <= 0).all()


def test_generate_keeps_one_vocabulary_sized_tensor_per_step_for_backward():
    """Only the log-softmax needs a gradient: the probabilities that sampling and the (logged)
    entropy read are detached, or each step would keep two more (B, V) tensors until backward."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=8, hidden_size=8))
    batch, steps, vocab = 4, 3, policy.config.vocab_size
    saved = set()

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.shape == (batch, vocab):
            saved.add(tensor.untyped_storage().data_ptr())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        decoded = policy.generate(torch.randint(1000, 2000, (batch, 6)), steps)
    assert len(saved) == steps
    assert decoded.log_probs.requires_grad and not decoded.entropy.requires_grad


def test_losses_are_equations_8_9_10_written_out_per_episode_and_step():
    """losses() against the paper's formulas, one episode and one step at a time: each step t of a
    response has its own baseline R_hat_t read from its own detached state m_t, the mean runs over the
    response's own T steps only, and lambda (here neither 0 nor 1) weighs both halves of equation 10.
    Gradients are compared too: an MLE half that carried no gradient would keep the values."""
    agent = toy_agent(rl_weight=0.3)
    context, gold, has_gold, decoded, rewards = agent.rollout()
    lengths = decoded.mask.sum(1)
    # responses that end early, so that the mask and the per-response T matter
    assert lengths.min() < decoded.mask.shape[1] and (lengths == decoded.mask.shape[1]).any() and has_gold.all()
    losses = agent.losses(context, gold, has_gold, decoded, rewards)

    baseline_losses, rl_losses = [], []
    for i, reward in enumerate(rewards):
        steps = [t for t in range(decoded.mask.shape[1]) if decoded.mask[i, t]]
        r_hat = {t: agent.baseline(decoded.states[i, t].detach()).squeeze() for t in steps}  # (7)
        baseline_losses.append(sum((reward - r_hat[t]) ** 2 for t in steps) / len(steps))  # (8)
        rl_losses.append(-sum((reward - r_hat[t]).detach() * decoded.log_probs[i, t] for t in steps) / len(steps))  # (9)
    baseline_loss, rl_loss = torch.stack(baseline_losses).mean(), torch.stack(rl_losses).mean()
    mle_loss = agent.policy.mle_loss(context, gold)  # equation 6, tested step by step above
    mixed = 0.3 * rl_loss + 0.7 * mle_loss  # (10)
    for name, expected in (("baseline", baseline_loss), ("rl", rl_loss), ("mle", mle_loss), ("mixed", mixed)):
        torch.testing.assert_close(losses[name], expected, msg=lambda m: f"{name}: {m}")

    def gradients(loss: torch.Tensor, parameters: list[torch.nn.Parameter]) -> list[torch.Tensor]:
        grads = torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, parameters)]

    for name, expected, parameters in (("mixed", mixed, agent.policy.parameters()), ("baseline", baseline_loss, agent.baseline.parameters())):
        parameters = list(parameters)
        for got, want in zip(gradients(losses[name], parameters), gradients(expected, parameters)):
            torch.testing.assert_close(got, want, msg=lambda m: f"gradient of {name}: {m}")


def test_reinforce_raises_the_reward():
    agent = toy_agent(rl_weight=1.0, learning_rate=3e-3)
    rewards = [agent.update().reward for _ in range(40)]
    start, end = rewards[0], sum(rewards[-5:]) / 5
    assert start < 0.2 and end > 0.8, (start, end)


def test_baseline_tracks_the_mean_reward_within_tens_of_updates():
    """With the policy at the low learning rate that RL from a pretrained policy uses, the baseline
    still learns a constant reward quickly, so that advantages are centred from early on.
    Equation 8 itself is checked by test_losses_are_equations_8_9_10_written_out_per_episode_and_step."""
    torch.manual_seed(0)
    agent = ReinforceAgent(Seq2SeqPolicy(TOY), ToyEnvs(reward=lambda tokens: torch.full((len(tokens),), 0.7)),
                           ReinforceConfig(learning_rate=1e-4))
    # a baseline that starts at 0, not wherever its random initialisation happens to put it, so that
    # the first error is 0.7² whatever the seed and the test measures the learning alone
    torch.nn.init.zeros_(agent.baseline.weight)
    torch.nn.init.zeros_(agent.baseline.bias)
    errors = [agent.update().baseline_loss for _ in range(40)]
    # a tenth of the start: Adam's steps of 1e-2 on 17 weights leave a noise floor of 0.01 to 0.03
    # (seeds 0 to 5); at the policy's rate of 1e-4 the error would still be near 0.49
    assert errors[0] == pytest.approx(0.49) and max(errors[-5:]) < 0.049, (errors[0], errors[-5:])


def test_baseline_loss_reaches_only_the_baseline():
    agent = toy_agent()
    losses = agent.losses(*agent.rollout())
    losses["baseline"].backward(retain_graph=True)
    assert all(p.grad is None or not p.grad.any() for p in agent.policy.parameters())
    assert agent.baseline.weight.grad.abs().sum() > 0
    agent.baseline.zero_grad()
    losses["mixed"].backward()
    assert agent.baseline.weight.grad is None or not agent.baseline.weight.grad.any()
    assert any(p.grad is not None and p.grad.any() for p in agent.policy.parameters())


def test_each_update_steps_the_optimizer_once():
    agent = toy_agent()
    steps = []
    original = agent.optimizer.step
    agent.optimizer.step = lambda *a, **k: (steps.append(1), original(*a, **k))[1]
    agent.update()
    agent.update()
    assert len(steps) == 2
    assert all(state["step"] == 2 for state in agent.optimizer.state.values())


def test_non_finite_loss_stops_without_touching_the_weights():
    agent = ReinforceAgent(Seq2SeqPolicy(TOY), ToyEnvs(reward=lambda t: torch.full((t.shape[0],), float("nan"))))
    modules = {"policy": agent.policy, "baseline": agent.baseline}
    before = {name: {k: v.clone() for k, v in m.state_dict().items()} for name, m in modules.items()}
    with pytest.raises(FloatingPointError, match="non-finite loss"):
        agent.update()
    for name, module in modules.items():
        assert all(torch.equal(before[name][k], v) for k, v in module.state_dict().items()), name


def poison_gradient(parameter: torch.nn.Parameter, at_backward: int) -> None:
    """Make ``parameter``'s gradient infinite on its ``at_backward``-th backward pass, the loss staying finite."""
    calls = []

    def hook(grad: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return torch.full_like(grad, float("inf")) if len(calls) == at_backward else grad

    parameter.register_hook(hook)


def assert_checkpoint_is_finite_at(path, step: int, *parts: str) -> None:
    payload = torch.load(path, weights_only=True)
    assert payload["step"] == step
    assert all(torch.isfinite(v).all() for part in parts for v in payload[part].values())


def toy_policy_data():
    """Six random examples in TOY's vocabulary, for the training loops."""
    from agents.policy_data import PolicyData

    context, gold = torch.randint(3, 8, (6, 4)), torch.randint(3, 8, (6, 3))
    return PolicyData(context, gold, torch.zeros(6, dtype=torch.long), [""] * 6, [""] * 6)


def test_infinite_gradient_stops_mle_training_and_keeps_the_last_good_checkpoint(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from agents.loops import LoopConfig, train_mle

    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY)
    data = toy_policy_data()
    poison_gradient(policy.output_bias, at_backward=4)
    with SummaryWriter(tmp_path / "tb") as writer, pytest.raises(FloatingPointError) as raised:
        train_mle(policy, data, data.head(0), LoopConfig(steps=6, batch_size=4, checkpoint_every=2), tmp_path, writer, "mle", quiet=True)
    assert_checkpoint_is_finite_at(tmp_path / "checkpoint.pt", 2, "model")
    assert all(torch.isfinite(p).all() for p in policy.parameters())
    assert raised.match("non-finite gradient norm .* at step 4; the weights were not updated")


def test_reinforce_runs_of_neighbouring_seeds_sample_different_episodes(tmp_path):
    """Runs of seeds 0, 1, 2 are how results get their spread: they must not replay each other's contexts."""
    from torch.utils.tensorboard import SummaryWriter

    from agents.loops import LoopConfig, train_reinforce

    keys = []
    for seed in (0, 1):
        envs = HappyBotVectorEnv(4, reward_model="vader", corpus=USERS, max_response_tokens=5, device="cpu")
        agent = ReinforceAgent(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)), envs)
        with SummaryWriter(tmp_path / "tb") as writer:
            train_reinforce(agent, LoopConfig(steps=1, batch_size=4, seed=seed), tmp_path / str(seed), writer, "rl", quiet=True)
        keys.append(set(envs.batch.key.tolist()))
    assert len(keys[0]) == len(keys[1]) == 4 and not keys[0] & keys[1]


@pytest.mark.parametrize("poisoned", ["policy", "baseline"])
def test_infinite_gradient_stops_reinforce_training_and_keeps_the_last_good_checkpoint(tmp_path, poisoned):
    from torch.utils.tensorboard import SummaryWriter

    from agents.loops import LoopConfig, train_reinforce

    torch.manual_seed(0)
    envs = HappyBotVectorEnv(4, reward_model="vader", corpus=USERS, max_response_tokens=5, device="cpu")
    agent = ReinforceAgent(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)), envs)
    poison_gradient(agent.policy.output_bias if poisoned == "policy" else agent.baseline.bias, at_backward=4)
    with SummaryWriter(tmp_path / "tb") as writer, pytest.raises(FloatingPointError) as raised:
        train_reinforce(agent, LoopConfig(steps=6, batch_size=4, checkpoint_every=2), tmp_path, writer, "rl", quiet=True)
    assert_checkpoint_is_finite_at(tmp_path / "checkpoint.pt", 2, "model", "baseline")
    assert all(torch.isfinite(p).all() for p in [*agent.policy.parameters(), *agent.baseline.parameters()])
    assert raised.match(f"update 4: non-finite gradient norm .*{poisoned} inf.*: the weights were not updated")


def test_nan_loss_stops_mle_training_at_its_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """The loop's own loss check, not the gradient-norm check behind it, names the loss and its step."""
    from torch.utils.tensorboard import SummaryWriter

    from agents.loops import LoopConfig, train_mle

    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY)
    data = toy_policy_data()
    mle_loss, calls = Seq2SeqPolicy.mle_loss, []

    def nan_at_the_fourth_step(self, *args):
        calls.append(1)
        loss = mle_loss(self, *args)
        return loss * float("nan") if len(calls) == 4 else loss  # still in the graph, as a real NaN would be

    monkeypatch.setattr(Seq2SeqPolicy, "mle_loss", nan_at_the_fourth_step)
    with SummaryWriter(tmp_path / "tb") as writer, pytest.raises(FloatingPointError) as raised:
        train_mle(policy, data, data.head(0), LoopConfig(steps=6, batch_size=4, checkpoint_every=2), tmp_path, writer, "mle", quiet=True)
    assert_checkpoint_is_finite_at(tmp_path / "checkpoint.pt", 2, "model")
    assert all(torch.isfinite(p).all() for p in policy.parameters())
    assert raised.match(r"non-finite loss \(nan\) at step 4; the weights were not updated and .*checkpoint.pt holds the last good state")


def test_a_non_finite_held_out_loss_is_an_error_not_a_result(tmp_path, monkeypatch):
    """Finite training losses do not make usable weights: a NaN on held-out contexts must not pass
    as ``valid_mle_loss: NaN`` beside a saved policy."""
    from torch.utils.tensorboard import SummaryWriter

    from agents import loops

    monkeypatch.setattr(loops, "_mean_mle_loss", lambda *args: float("nan"))
    data = toy_policy_data()
    with SummaryWriter(tmp_path / "tb") as writer, pytest.raises(FloatingPointError, match=r"non-finite held-out loss \(nan\) after step 2: the policy was not saved"):
        loops.train_mle(Seq2SeqPolicy(TOY), data, data.head(2), loops.LoopConfig(steps=2, batch_size=4), tmp_path, writer, "mle", quiet=True)


def test_nan_reward_stops_reinforce_training_at_its_update_and_keeps_the_last_good_checkpoint(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from agents.loops import LoopConfig, train_reinforce

    torch.manual_seed(0)
    envs = HappyBotVectorEnv(4, reward_model="vader", corpus=USERS, max_response_tokens=5, device="cpu")
    agent = ReinforceAgent(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)), envs)
    rollout, calls = agent.rollout, []

    def nan_rewards_at_the_fourth_update():
        calls.append(1)
        *collected, rewards = rollout()
        return *collected, rewards * float("nan") if len(calls) == 4 else rewards

    agent.rollout = nan_rewards_at_the_fourth_update
    with SummaryWriter(tmp_path / "tb") as writer, pytest.raises(FloatingPointError) as raised:
        train_reinforce(agent, LoopConfig(steps=6, batch_size=4, checkpoint_every=2), tmp_path, writer, "rl", quiet=True)
    assert_checkpoint_is_finite_at(tmp_path / "checkpoint.pt", 2, "model", "baseline")
    assert all(torch.isfinite(p).all() for p in [*agent.policy.parameters(), *agent.baseline.parameters()])
    assert raised.match(r"update 4: non-finite loss mixed=nan, .*: the weights were not updated; .*checkpoint.pt holds the last good state")


def test_a_reward_model_failing_mid_training_names_the_update_and_the_last_good_checkpoint(tmp_path):
    """The environment refuses a NaN score (RewardModelError) before the loss sees it: the loop says
    where it stopped and where to resume from, as it does for a non-finite loss."""
    from torch.utils.tensorboard import SummaryWriter

    from agents.loops import LoopConfig, train_reinforce
    from reward_models import RewardModelError

    calls = []

    def nan_at_the_fourth_update(users, responses):
        return [float("nan") if len(calls) == 4 else 0.5] * len(users)

    torch.manual_seed(0)
    envs = HappyBotVectorEnv(4, reward_model=nan_at_the_fourth_update, corpus=USERS, max_response_tokens=5, device="cpu")
    agent = ReinforceAgent(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)), envs)
    rollout = agent.rollout
    agent.rollout = lambda: calls.append(1) or rollout()
    with SummaryWriter(tmp_path / "tb") as writer, pytest.raises(RewardModelError) as raised:
        train_reinforce(agent, LoopConfig(steps=6, batch_size=4, checkpoint_every=2), tmp_path, writer, "rl", quiet=True)
    assert raised.match(r"^update 4: reward model 'nan_at_the_fourth_update' returned NaN .*; .*checkpoint.pt holds the last good state$")
    assert_checkpoint_is_finite_at(tmp_path / "checkpoint.pt", 2, "model", "baseline")


class LoggedSteps:
    """A stand-in for the loops' SummaryWriter that keeps the steps each scalar was logged at."""

    def __init__(self) -> None:
        self.steps: dict[str, list[int]] = {}

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.steps.setdefault(tag, []).append(step)

    def add_text(self, tag: str, text: str, step: int) -> None:
        pass


def test_mle_without_held_out_data_logs_no_held_out_loss(tmp_path):
    from agents.loops import LoopConfig, train_mle

    data, writer = toy_policy_data(), LoggedSteps()
    metrics = train_mle(Seq2SeqPolicy(TOY), data, data.head(0), LoopConfig(steps=2, batch_size=4), tmp_path, writer, "mle", quiet=True)
    assert metrics["valid_mle_loss"] is None and "mle/valid_mle_loss" not in writer.steps
    train_mle(Seq2SeqPolicy(TOY), data, data.head(2), LoopConfig(steps=2, batch_size=4), tmp_path / "held_out", writer, "mle2", quiet=True)
    assert writer.steps["mle2/valid_mle_loss"] == [2]


def test_resumed_mle_training_runs_only_the_steps_after_the_checkpoint(tmp_path, monkeypatch):
    """Runs are deterministic, so a resume that read the checkpoint and then quietly trained from step 0
    would end in the very weights of a resumed run: only the work done tells them apart."""
    from agents.loops import LoopConfig, train_mle

    data = toy_policy_data()
    mle_loss, trained = Seq2SeqPolicy.mle_loss, []
    monkeypatch.setattr(Seq2SeqPolicy, "mle_loss", lambda self, *args: (trained.append(1), mle_loss(self, *args))[1])

    def run(steps: int, resume: bool) -> list[int]:
        writer = LoggedSteps()
        train_mle(Seq2SeqPolicy(TOY), data, data.head(0), LoopConfig(steps=steps, batch_size=4, checkpoint_every=2), tmp_path,
                  writer, "mle", resume=resume, quiet=True)
        return writer.steps["mle/mle_loss"]

    assert run(2, resume=False) == [1, 2] and len(trained) == 2
    trained.clear()
    assert run(5, resume=True) == [3, 4, 5] and len(trained) == 3  # no held-out data: every call is a training step


def test_a_checkpoint_counts_the_seconds_of_every_run_that_led_to_it(tmp_path):
    import time

    from happybot_env.checkpoint import checkpoint_seconds
    from agents.loops import LoopConfig, train_mle

    data = toy_policy_data()

    def run(steps: int, resume: bool) -> float:
        began = time.perf_counter()
        train_mle(Seq2SeqPolicy(TOY), data, data.head(0), LoopConfig(steps=steps, batch_size=4, checkpoint_every=2), tmp_path,
                  LoggedSteps(), "mle", resume=resume, quiet=True)
        return time.perf_counter() - began

    took = run(2, resume=False)
    checkpoint = tmp_path / "checkpoint.pt"
    assert 0 < checkpoint_seconds(checkpoint) <= took
    payload = torch.load(checkpoint, weights_only=True)
    torch.save(payload | {"seconds": 1000.0}, checkpoint)  # as if the first run had been that slow
    took = run(4, resume=True)
    assert 1000 < checkpoint_seconds(checkpoint) <= 1000 + took


def test_resumed_reinforce_training_runs_only_the_updates_after_the_checkpoint(tmp_path):
    from agents.loops import LoopConfig, train_reinforce

    def run(steps: int, resume: bool) -> tuple[int, list[int]]:
        envs = HappyBotVectorEnv(4, reward_model="vader", corpus=USERS, max_response_tokens=5, device="cpu")
        agent = ReinforceAgent(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)), envs)
        update, updates = agent.update, []
        agent.update = lambda: (updates.append(1), update())[1]
        writer = LoggedSteps()
        train_reinforce(agent, LoopConfig(steps=steps, batch_size=4, checkpoint_every=2), tmp_path, writer, "rl", resume=resume, quiet=True)
        return len(updates), writer.steps["rl/reward"]

    assert run(2, resume=False) == (2, [1, 2])
    assert run(5, resume=True) == (3, [3, 4, 5])


def test_reinforce_checkpoint_is_tied_to_the_agent_settings_not_the_unused_loop_ones(tmp_path):
    """train_reinforce takes its learning rates and clipping from ReinforceConfig: the loop's
    learning_rate and max_grad_norm (MLE's) do not decide whether a checkpoint can be resumed."""
    from torch.utils.tensorboard import SummaryWriter

    from happybot_env.checkpoint import CheckpointError
    from agents.loops import LoopConfig, train_reinforce

    def run(loop: LoopConfig, agent_config: ReinforceConfig, resume: bool) -> dict:
        envs = HappyBotVectorEnv(4, reward_model="vader", corpus=USERS, max_response_tokens=5, device="cpu")
        agent = ReinforceAgent(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)), envs, agent_config)
        with SummaryWriter(tmp_path / "tb") as writer:
            return train_reinforce(agent, loop, tmp_path, writer, "rl", resume=resume, quiet=True)

    torch.manual_seed(0)
    run(LoopConfig(steps=2, batch_size=4), ReinforceConfig(), resume=False)
    other_loop = LoopConfig(steps=3, batch_size=4, learning_rate=0.5, max_grad_norm=9.0)
    with pytest.raises(CheckpointError, match=r"other settings \(agent\)"):
        run(other_loop, ReinforceConfig(learning_rate=1e-3), resume=True)
    assert [step for step, _ in run(other_loop, ReinforceConfig(), resume=True)["reward_history"]] == [1, 2, 3]


@pytest.mark.parametrize(
    "changed, envs_kwargs, reward",
    [
        ("reward", {"reward_model": lambda users, responses: [0.5] * len(users)}, None),
        ("reward", {}, "/elsewhere/vader"),  # a folder sharing the first model's name
        ("shapes", {"max_response_tokens": 6}, None),
        ("shapes", {"max_context_tokens": 32}, None),
        ("contexts", {"corpus": USERS[:-1]}, None),
    ],
)
def test_reinforce_checkpoint_is_refused_against_another_reward_or_episode_shape(tmp_path, changed, envs_kwargs, reward):
    """The updates already made were rewarded by one model on episodes of one shape: resuming them
    against another would silently mix two runs in one policy."""
    from happybot_env.checkpoint import CheckpointError
    from agents.loops import LoopConfig, train_reinforce

    def run(resume: bool, reward: str | None = None, **kwargs) -> None:
        envs = HappyBotVectorEnv(4, **{"reward_model": "vader", "corpus": USERS, "max_response_tokens": 5, "device": "cpu", **kwargs})
        agent = ReinforceAgent(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)), envs)
        train_reinforce(agent, LoopConfig(steps=2, batch_size=4), tmp_path, LoggedSteps(), "rl", resume=resume, quiet=True, reward=reward)

    run(resume=False)
    with pytest.raises(CheckpointError, match=rf"other settings \({changed}\)"):
        run(resume=True, reward=reward, **envs_kwargs)
    run(resume=True)  # the same settings still resume


def test_mle_checkpoint_is_refused_for_data_of_another_shape_or_another_emotion_weight(tmp_path):
    from happybot_env.checkpoint import CheckpointError
    from agents.loops import LoopConfig, train_mle
    from agents.policy_data import PolicyData

    data = toy_policy_data()
    loop = LoopConfig(steps=2, batch_size=4)
    train_mle(Seq2SeqPolicy(TOY), data, data.head(0), loop, tmp_path, LoggedSteps(), "mle", quiet=True)
    shorter = PolicyData(data.context, data.gold[:, :-1], data.emotion, data.users, data.responses)
    with pytest.raises(CheckpointError, match=r"other settings \(shapes\)"):
        train_mle(Seq2SeqPolicy(TOY), shorter, shorter.head(0), loop, tmp_path, LoggedSteps(), "mle", resume=True, quiet=True)
    with pytest.raises(CheckpointError, match=r"other settings \(emotion_weight\)"):
        train_mle(Seq2SeqPolicy(TOY), data, data.head(0), loop, tmp_path, LoggedSteps(), "mle", resume=True, quiet=True, emotion_weight=0.5)


def test_reinforce_in_the_real_vector_env_pays_each_episode_the_score_of_its_own_response():
    """The rollout plays the sampled tokens into the real vector env and collects each episode's reward,
    whichever step it ends on: reward i must be VADER's score of response i."""
    from happybot_env.tokenizer import load_tokenizer
    from reward_models import make

    torch.manual_seed(0)
    tokenizer = load_tokenizer()
    envs = HappyBotVectorEnv(8, reward_model="vader", corpus=USERS, max_response_tokens=5, device="cpu")
    policy = Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16))
    with torch.no_grad():
        # mostly a positive and a negative word, or the end: random wordpieces are nearly all
        # neutral to VADER, and equal rewards could be swapped between episodes unseen
        policy.output_bias[tokenizer.convert_tokens_to_ids(["great", "awful"])] = 10.0
        policy.output_bias[policy.config.end_id] = 10.5
    agent = ReinforceAgent(policy, envs)
    envs.reset(seed=0)  # the contexts, on which the responses depend, as train_reinforce draws them
    rollout, rollouts = agent.rollout, []
    agent.rollout = lambda: rollouts.append(rollout()) or rollouts[-1]
    stats = agent.update()

    _, _, _, decoded, rewards = rollouts[0]
    lengths = decoded.mask.sum(1)
    # rewards that differ, from episodes that end on different steps, or a mix-up could not show
    assert len(set(rewards.tolist())) >= 3 and lengths.min() < 5 and lengths.max() == 5
    responses = [tokenizer.decode(tokens[kept], skip_special_tokens=True) for tokens, kept in zip(decoded.tokens, decoded.mask)]
    torch.testing.assert_close(rewards, make("vader")([""] * 8, responses))  # VADER reads the response alone
    assert stats.episodes == 8 and stats.reward == pytest.approx(rewards.mean().item())
    assert stats.response_length == pytest.approx(lengths.float().mean().item())
    assert stats.mle_loss == 0.0  # plain user turns have no gold response


def test_greedy_acting_writes_what_greedy_generation_writes_in_single_and_vector_envs():
    """act() carries the recurrent state across steps and starts afresh on each new episode, so that
    token by token it writes the responses generate(greedy=True) writes for the same contexts."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=16, hidden_size=16)).eval()

    def generated(contexts: list[torch.Tensor], max_tokens: int) -> list[list[int]]:
        decoded = policy.generate(torch.stack(contexts), max_tokens, greedy=True)
        return [row[keep].tolist() for row, keep in zip(decoded.tokens, decoded.mask)]

    env = HappyBotEnv(reward_model="vader", corpus=USERS, max_response_tokens=5)
    obs, _ = env.reset(seed=0)
    context, written, state, done = torch.as_tensor(obs["context"]), [], None, False
    while not done:
        action, state = act(policy, obs, state, greedy=True)
        written.append(int(action[0]))
        obs, _, terminated, truncated, _ = env.step(written[-1])
        done = terminated or truncated
    assert written == generated([context], 5)[0]

    envs = HappyBotVectorEnv(4, reward_model="vader", corpus=USERS, max_response_tokens=3, device="cpu")
    obs, _ = envs.reset(seed=0)
    episodes = [[(obs["context"][i], [])] for i in range(4)]  # per env: (context, tokens written)
    ended, state = torch.zeros(4, dtype=torch.bool), None
    for _ in range(9):  # at least two episodes per env, with next-step autoresets between them
        actions, state = act(policy, obs, state, greedy=True)
        for i in range(4):
            if not ended[i]:  # on the step after an episode ends, the env ignores the action
                episodes[i][-1][1].append(int(actions[i]))
        obs, _, terminated, truncated, _ = envs.step(actions)
        for i in torch.nonzero(ended).flatten().tolist():
            episodes[i].append((obs["context"][i], []))
        ended = terminated | truncated
    finished = [episode for per_env in episodes for episode in per_env[:-1]]
    assert len(finished) >= 8
    assert [tokens for _, tokens in finished] == generated([context for context, _ in finished], 3)


def test_acting_follows_the_tokens_the_env_was_given_and_refuses_a_skipped_or_repeated_observation():
    """An env stepped with another token than act() chose (exploration, a forced prefix): the decoder
    reads the observed token, as teacher forcing would."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY).eval()
    context = torch.randint(3, 8, (2, 5))
    response = torch.zeros((2, 3), dtype=torch.long)
    actions, state = act(policy, {"context": context, "response": response}, greedy=True)
    response[:, 0] = forced = (actions + 1 - 3) % 5 + 3  # another writable token than each chose
    actions, state = act(policy, {"context": context, "response": response}, state, greedy=True)
    h, mask, m = policy.encode(context)
    inputs = torch.stack([torch.full((2,), TOY.start_id), forced], 1)
    m_star, states = policy.decode(policy.embedding(inputs), m, h, mask)
    torch.testing.assert_close(state.m, states[:, -1])  # the decoder's state after reading the forced tokens
    assert torch.equal(actions, policy.output_logits(m_star[:, -1]).argmax(-1))

    with pytest.raises(ValueError, match="env 0's response holds 1 tokens where its state expects 2: give act"):
        act(policy, {"context": context, "response": response}, state)  # the same observation again
    response[:, 1:] = 4
    with pytest.raises(ValueError, match="env 0's response holds 3 tokens where its state expects 2"):
        act(policy, {"context": context, "response": response}, state)  # a step skipped
    with pytest.raises(ValueError, match="env 0's response already holds 3 tokens: act.. starts with no state"):
        act(policy, {"context": context, "response": response})
    with pytest.raises(ValueError, match="the state is for 2 envs with 5 context tokens, the observation has 1 with 5"):
        act(policy, {"context": context[:1], "response": torch.zeros((1, 3), dtype=torch.long)}, state)


def test_the_grus_run_in_float32_outside_autocast_whatever_autocast_is_on():
    """Under any autocast PyTorch runs cuDNN's GRUs in float16, unscaled: at a batch of thousands most
    of their weight gradients would underflow to 0. CPU autocast leaves GRUs alone, so the hooks
    check what the policy asks for, which is what CUDA would obey."""
    torch.manual_seed(0)
    policy = Seq2SeqPolicy(TOY).eval()
    seen = []

    def record(module, args):  # the input (a PackedSequence for the encoder) and the decoder's first state
        seen.append((torch.is_autocast_enabled("cpu"), *(getattr(a, "data", a).dtype for a in args)))

    for gru in (policy.encoder, policy.decoder):
        gru.register_forward_pre_hook(record)
    context = torch.randint(3, 8, (2, 5))
    response = torch.zeros((2, 3), dtype=torch.long)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        policy.generate(context, 3)
        policy.mle_loss(context, torch.randint(3, 8, (2, 4)))
        actions, state = act(policy, {"context": context, "response": response})
        response[:, 0] = actions
        response[1] = 0  # env 1 starts a new episode: its context is encoded into the state
        act(policy, {"context": context, "response": response}, state)
    assert len(seen) >= 6 and {(autocast, *set(dtypes)) for autocast, *dtypes in seen} == {(False, torch.float32)}
    assert state.h.dtype == state.m.dtype == torch.float32


@pytest.mark.parametrize(
    "observation, message",
    [
        ({"context": [[1, 2]]}, "a dict with 'context' and 'response'"),
        ({"context": [[[1]]], "response": [[1]]}, r"observation shapes context \(1, 1, 1\) and response \(1, 1\)"),
        ({"context": [1.5, 2.0], "response": [0, 0]}, "integer token ids"),
        ({"context": [1, 40000], "response": [0, 0]}, r"token ids must lie in \[0, 30522\)"),
    ],
)
def test_wrong_observations_are_refused(observation, message):
    with pytest.raises(ValueError, match=message):
        act(Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=8, hidden_size=8)), observation)


def test_checkpoint_round_trip_and_mismatches(tmp_path):
    policy = Seq2SeqPolicy(TOY)
    policy.save(tmp_path / "policy")
    loaded = Seq2SeqPolicy.load(tmp_path / "policy", expected_vocab_size=8)
    assert all(torch.equal(a, b) for a, b in zip(policy.state_dict().values(), loaded.state_dict().values()))
    assert not any(module.training for module in loaded.modules())  # greedy decoding without dropout
    with pytest.raises(ValueError, match="vocabulary of 8 tokens, the environment 30522"):
        Seq2SeqPolicy.load(tmp_path / "policy", expected_vocab_size=30522)
    config = (tmp_path / "policy" / "config.json").read_text().replace('"hidden_size": 16', '"hidden_size": 32')
    (tmp_path / "policy" / "config.json").write_text(config)
    with pytest.raises(ValueError, match="does not fit its config.json"):
        Seq2SeqPolicy.load(tmp_path / "policy")
    with pytest.raises(ValueError, match="does not match the environment"):
        ReinforceAgent(Seq2SeqPolicy(TOY), HappyBotVectorEnv(2, reward_model="vader", corpus=USERS, device="cpu"))


@pytest.mark.parametrize(
    "ids, message",
    [
        ({"end_id": 1}, r"end_id 1, the environment's \[SEP\] is 102$"),
        ({"pad_id": 100}, r"pad_id 100, the environment's \[PAD\] is 0$"),
        ({"end_id": 5, "pad_id": 1}, r"end_id 5, .*\[SEP\] is 102; pad_id 1, .*\[PAD\] is 0$"),
    ],
)
def test_policy_with_other_end_or_pad_token_than_the_environment_is_refused(ids, message):
    policy = Seq2SeqPolicy(Seq2SeqConfig(embedding_dim=8, hidden_size=8, **ids))
    with pytest.raises(ValueError, match="the policy's special tokens do not match the environment's tokenizer: " + message):
        ReinforceAgent(policy, HappyBotVectorEnv(2, reward_model="vader", corpus=USERS, device="cpu"))


@pytest.mark.parametrize("rl_weight", [-0.1, 1.5])
def test_rl_weight_outside_zero_one_is_refused(rl_weight):
    with pytest.raises(ValueError, match=rf"rl_weight \(lambda of equation 10\) must lie in \[0, 1\], got {rl_weight}"):
        ReinforceConfig(rl_weight=rl_weight)


def test_multiseq_labels_are_the_user_turns_emotion_of_each_corpus(fixtures):
    """ED's emotion of the conversation, DailyDialog's of the user turn, none for PersonaChat."""
    from agents.policy_data import EMOTION_CLASSES, IGNORE, load_policy_data

    data = load_policy_data(fixtures, "train", 64, 20)
    labels = [EMOTION_CLASSES[e] if e != IGNORE else None for e in data.emotion.tolist()]
    assert list(zip((u.split()[0] for u in data.users), labels)) == [
        ("My", "proud"), ("I", "proud"), ("I", "lonely"),
        ("Hi", "dailydialog:no_emotion"), ("Come", "dailydialog:happiness"), ("I", "dailydialog:sadness"),
        ("What", "dailydialog:happiness"), ("hi", None), ("that", None), ("yes", None),
    ]
