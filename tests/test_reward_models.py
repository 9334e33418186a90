"""Reward models on a tiny randomly initialised BERT (fast), the registry, plugins and bad input."""

import math
import re
import shutil

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

import reward_models
from happybot_env.tokenizer import load_tokenizer, uncut_ids
from reward_models import RewardModelError, make, register, registered
from reward_models import registry, training
from reward_models.registry import ARTIFACTS
from reward_models.inputs import pad_token_lists


USERS = ["I failed my driving test again.", "", "Mon chat est malade 😿", "word " * 400]
RESPONSES = ["Oh no, I'm sorry. You'll get it next time!", "", "🎉🎉🎉 félicitations", "ok " * 300]


@pytest.mark.parametrize("input", ["response", "pair"])
def test_text_path_and_token_id_path_agree(tiny_bert, input):
    model = make(tiny_bert, input=input, device="cpu")
    assert model.accepts_token_ids
    from_text = model(USERS, RESPONSES)
    tokenizer = load_tokenizer()
    # not cut beforehand: score_token_ids must cut them by the same rule as the text path
    from_ids = model.score_token_ids(
        pad_token_lists(uncut_ids(USERS, tokenizer), tokenizer.pad_token_id),
        pad_token_lists(uncut_ids(RESPONSES, tokenizer), tokenizer.pad_token_id),
    )
    assert from_text.shape == (4,) and from_text.dtype == torch.float32
    assert ((from_text >= 0) & (from_text <= 1)).all()
    torch.testing.assert_close(from_text, from_ids)


def test_scoring_keeps_cudnn_attention_off_and_restores_it(tiny_bert, monkeypatch):
    # cuDNN attention builds a graph per new batch shape, and the env's batches change every step
    seen = []
    attention = torch.nn.functional.scaled_dot_product_attention

    def recording(*args, **kwargs):
        seen.append(torch.backends.cuda.cudnn_sdp_enabled())
        return attention(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", recording)
    model = make(tiny_bert, input="pair", device="cpu")
    tokenizer = load_tokenizer()
    model(USERS, RESPONSES)
    model.score_token_ids(
        pad_token_lists(uncut_ids(USERS, tokenizer), tokenizer.pad_token_id),
        pad_token_lists(uncut_ids(RESPONSES, tokenizer), tokenizer.pad_token_id),
    )
    assert seen and not any(seen)  # one call per layer and per path, each without cuDNN
    assert torch.backends.cuda.cudnn_sdp_enabled()  # the rest of the program keeps PyTorch's default


def test_batch_order_and_batch_size_do_not_change_scores(tiny_bert):
    model = make(tiny_bert, input="pair", device="cpu", batch_size=2)
    together = model(USERS, RESPONSES)
    one_by_one = torch.cat([model([u], [r]) for u, r in zip(USERS, RESPONSES)])
    torch.testing.assert_close(together, one_by_one)
    assert len(set(together.tolist())) > 1  # the inputs are told apart


def test_pair_model_reads_the_user_turn_and_response_model_does_not(tiny_bert):
    pair, single = make(tiny_bert, input="pair", device="cpu"), make(tiny_bert, input="response", device="cpu")
    users, responses = ["I got the job!", "My dog died."], ["Tell me more.", "Tell me more."]
    assert pair(users, responses)[0] != pair(users, responses)[1]
    assert single(users, responses)[0] == single(users, responses)[1]


def test_long_user_turn_is_truncated_from_the_left(tiny_bert):
    model = make(tiny_bert, input="pair", device="cpu", max_length=32)
    tail = " and then my car broke down on the way home" * 3  # 30 tokens: more than fit
    a = model(["I had a lovely breakfast." * 20 + tail], ["That sounds awful."])
    b = model(["My cat was sick all night." * 20 + tail], ["That sounds awful."])
    c = model(["My cat was sick all night." * 20 + " but then everyone sang happy birthday"], ["That sounds awful."])
    assert a == b  # only the beginning differs, and it was cut
    assert b != c


OWN_WORDS = "one two three four five six first second third fourth fifth sixth seventh eighth ninth".split()
NINE = "first second third fourth fifth sixth seventh eighth ninth"


@pytest.fixture(scope="module")
def own_vocabulary_bert(tmp_path_factory):
    """A tiny BERT classifier whose tokenizer is not the shared one: it scores through text only."""
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *OWN_WORDS])})
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    folder = tmp_path_factory.mktemp("own-vocabulary-bert")
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _inputs_seen(model, users, responses):
    """Score the pairs and return the batch that the classifier was given."""
    seen = {}
    hook = model.model.register_forward_pre_hook(lambda module, args, kwargs: seen.update(kwargs), with_kwargs=True)
    try:
        model(users, responses)
    finally:
        hook.remove()
    return seen


def _assert_same_inputs(seen, expected):
    assert set(seen) == set(expected)
    for key in expected:
        assert torch.equal(seen[key], expected[key]), key


def test_own_vocabulary_response_keeps_its_first_tokens(own_vocabulary_bert):
    model = make(own_vocabulary_bert, input="response", max_length=8, device="cpu")
    assert not model.accepts_token_ids
    seen = _inputs_seen(model, ["", "one two three"], [NINE, "first"])
    # [CLS] + 6 tokens + [SEP]: the first six words of the response
    expected = model.tokenizer(["first second third fourth fifth sixth", "first"], padding=True, return_tensors="pt")
    _assert_same_inputs(seen, expected)


def test_own_vocabulary_pair_is_cut_by_the_shared_rule(own_vocabulary_bert):
    model = make(own_vocabulary_bert, input="pair", max_length=8, device="cpu")
    seen = _inputs_seen(model, ["one two three four five six", "one", "", "one two"], [NINE, NINE, "first", "first"])
    # 5 tokens of room: a long response gets half (2) when the user needs the rest, the user keeps its end
    expected = model.tokenizer(
        ["four five six", "one", "", "one two"],
        ["first second", "first second third fourth", "first", "first"],
        padding=True,
        return_tensors="pt",
    )
    _assert_same_inputs(seen, expected)


@pytest.mark.parametrize("folder", ["tiny_bert", "own_vocabulary_bert"])
def test_special_tokens_written_in_a_text_are_scored_as_text(request, folder):
    """A written [PAD] as id 0 would be read as padding and hide "second" from the classifier, and on
    the shared vocabulary the text path and the environment's token ids would score it apart."""
    model = make(request.getfixturevalue(folder), input="pair", device="cpu")
    seen = _inputs_seen(model, ["one [SEP] two"], ["first [PAD] second"])
    vocab = model.tokenizer.get_vocab()
    input_ids = seen["input_ids"][0].tolist()
    assert [input_ids.count(vocab[t]) for t in ("[CLS]", "[SEP]", "[PAD]")] == [1, 2, 0]
    assert model(["one [SEP] two"], ["first [PAD] second"]) == model(["one [ sep ] two"], ["first [ pad ] second"])


@pytest.mark.parametrize("input", ["response", "pair"])
def test_own_vocabulary_scores_empty_long_and_unknown_text(own_vocabulary_bert, input):
    scores = make(own_vocabulary_bert, input=input, device="cpu")(USERS, RESPONSES)
    assert scores.shape == (4,) and ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.parametrize("input", ["response", "pair"])
def test_own_vocabulary_reads_emoji_and_non_english_words_as_unknown_tokens(own_vocabulary_bert, input):
    model = make(own_vocabulary_bert, input=input, device="cpu")
    vocab = model.tokenizer.get_vocab()
    unk, cls, sep = vocab["[UNK]"], vocab["[CLS]"], vocab["[SEP]"]
    users, responses = ["Mon chat est malade 😿 one"], ["🎉 first félicitations second"]
    user_ids = [unk] * 5 + [vocab["one"]]  # four French words and an emoji, none in the vocabulary
    response_ids = [unk, vocab["first"], unk, vocab["second"]]
    expected = [cls] + (user_ids + [sep] if input == "pair" else []) + response_ids + [sep]
    assert _inputs_seen(model, users, responses)["input_ids"].tolist() == [expected]
    # the unknown tokens reach the classifier: the pair does not score as its known words alone do
    assert model(users, responses) != model(["one"], ["first second"])


def test_a_folder_that_is_not_a_classifier_is_refused(tmp_path):
    BertModel(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=1, intermediate_size=16)).save_pretrained(tmp_path / "encoder")
    with pytest.raises(ValueError, match="holds BertModel, not a sequence-classification model"):
        make(tmp_path / "encoder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a Hugging Face model folder"):
        make(tmp_path / "empty")


def _save_classifier(folder, **config):
    BertForSequenceClassification(
        BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=1, intermediate_size=16, **config)
    ).save_pretrained(folder)
    return folder


def test_a_tokenizer_that_does_not_fit_the_embeddings_is_refused(tmp_path, own_vocabulary_bert):
    for size in (100, 50265):  # no tokenizer files: the shared one, 30,522 ids, fits neither (50,265 is RoBERTa's)
        folder = _save_classifier(tmp_path / f"vocab-{size}", vocab_size=size)
        with pytest.raises(ValueError, match=rf"vocab-{size}: the folder has no tokenizer files, .* 30522 token ids where .* have {size}"):
            make(folder, device="cpu")
    _save_classifier(tmp_path / "own", vocab_size=10)
    AutoTokenizer.from_pretrained(own_vocabulary_bert).save_pretrained(tmp_path / "own")
    with pytest.raises(ValueError, match=r"own: its tokenizer has 20 token ids but the model's embeddings only 10"):
        make(tmp_path / "own", device="cpu")


def test_max_length_is_capped_by_the_position_embeddings(tmp_path):
    folder = _save_classifier(tmp_path / "short", vocab_size=30522, max_position_embeddings=16)
    model = make(folder, input="pair", device="cpu")
    assert model.max_length == 16
    assert model(USERS, RESPONSES).shape == (4,)
    with pytest.raises(ValueError, match=r"short: max_length=32 is more than the model's 16 positions"):
        make(folder, max_length=32, device="cpu")


@pytest.mark.parametrize("input, max_length", [("response", 2), ("pair", 3)])
def test_a_max_length_with_no_room_for_the_response_is_refused(tiny_bert, input, max_length):
    # it would score [CLS] [SEP] alone: one constant for every response
    with pytest.raises(ValueError, match=f"max_length={max_length} leaves no room for the text .*: give at least {max_length + 1}"):
        make(tiny_bert, input=input, max_length=max_length, device="cpu")
    assert make(tiny_bert, input=input, max_length=max_length + 1, device="cpu").max_length == max_length + 1


def test_a_slow_tokenizer_of_another_vocabulary_is_refused(own_vocabulary_bert, tmp_path):
    from transformers.models import bert

    from reward_models.bert import SequenceClassifierReward

    fast = AutoTokenizer.from_pretrained(own_vocabulary_bert)
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(f"{word}\n" for word, _ in sorted(fast.get_vocab().items(), key=lambda item: item[1])))
    slow_class = getattr(bert, "BertTokenizerLegacy", BertTokenizer)  # the pure-Python one, in transformers 5 and 4
    slow = slow_class(vocab_file=str(vocab))
    assert not slow.is_fast
    model = BertForSequenceClassification.from_pretrained(own_vocabulary_bert)
    with pytest.raises(ValueError, match=f"own: a reward model with its own vocabulary needs a fast tokenizer, not {slow_class.__name__}"):
        SequenceClassifierReward(model, slow, name="own", device="cpu")
    assert SequenceClassifierReward(model, fast, name="own", device="cpu").score(["hi"], ["hi"]).shape == (1,)


def test_max_length_allows_for_roberta_position_offset(tmp_path):
    from transformers import RobertaConfig, RobertaForSequenceClassification

    # RoBERTa numbers positions from padding_idx + 1: 18 embeddings with padding id 0 place 17 tokens
    RobertaForSequenceClassification(RobertaConfig(
        vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=1, intermediate_size=16,
        max_position_embeddings=18, pad_token_id=0,
    )).save_pretrained(tmp_path / "roberta")
    model = make(tmp_path / "roberta", input="pair", device="cpu")
    assert model.max_length == 17
    long = " ".join(["wonderful"] * 40)
    assert model([long], [long]).shape == (1,)  # 18 tokens would index past the table
    with pytest.raises(ValueError, match=r"max_length=18 is more than the model's 17 positions .*less the 1 its position ids start at"):
        make(tmp_path / "roberta", max_length=18, device="cpu")


def test_an_adapter_without_a_classification_head_is_refused(tmp_path):
    """Saved without modules_to_save, an adapter leaves the head as peft starts it: random, and other
    at every load."""
    from safetensors.torch import load_file, save_file

    folder = shutil.copytree(ARTIFACTS / "current", tmp_path / "headless")
    weights = load_file(str(folder / "adapter_model.safetensors"))
    save_file({k: v for k, v in weights.items() if ".classifier." not in k}, str(folder / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match="adapter_model.safetensors holds no classification head: save the adapter with modules_to_save"):
        make(folder, device="cpu")


def test_an_adapter_folder_without_safetensors_weights_is_refused(tmp_path):
    # a LoRA adapter saved as a pickle (adapter_model.bin) or copied without its weights
    folder = tmp_path / "adapter"
    folder.mkdir()
    shutil.copyfile(ARTIFACTS / "current" / "adapter_config.json", folder / "adapter_config.json")
    (folder / "adapter_model.bin").write_bytes(b"not loaded: pickles can run code")
    with pytest.raises(ValueError, match=f"^{re.escape(str(folder))}: adapter weights must be in adapter_model.safetensors$"):
        make(folder, device="cpu")


def test_labels_none_of_which_means_positive_are_refused(tmp_path):
    # with two labels index 1 is taken as positive; with three or more a name must say which
    emotions = {0: "anger", 1: "joy", 2: "sadness"}
    folder = _save_classifier(tmp_path / "emotions", vocab_size=30522, num_labels=3, id2label=emotions)
    with pytest.raises(ValueError, match=re.escape(f"{folder}: cannot tell which of the labels ['anger', 'joy', 'sadness'] means positive")):
        make(folder, device="cpu")
    sentiment = {0: "negative", 1: "neutral", 2: "Positive"}
    folder = _save_classifier(tmp_path / "sentiment", vocab_size=30522, num_labels=3, id2label=sentiment)
    assert make(folder, device="cpu").positive == [2]


def test_a_scale_with_several_positive_labels_scores_their_total_probability(tmp_path):
    """On a five-point scale "Very Positive" is positive too: scored by "Positive" alone, a text the
    model calls very positive got a reward near 0."""
    scale = {0: "Very Negative", 1: "Negative", 2: "Neutral", 3: "Positive", 4: "Very Positive"}
    folder = _save_classifier(tmp_path / "five", vocab_size=30522, num_labels=5, id2label=scale)
    model = make(folder, device="cpu")
    assert model.positive == [3, 4]
    with torch.no_grad():
        model.model.classifier.weight.zero_()
        model.model.classifier.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 20.0]))  # always "Very Positive"
    assert model(["hi"], ["what a day"]).item() > 0.99
    for labels in ({0: "not positive", 1: "positive"}, {0: "pos", 1: "positive"}):  # a negation; every label
        folder = _save_classifier(tmp_path / str(len(labels)) / labels[0].replace(" ", "_"), vocab_size=30522, id2label=labels)
        if labels[0] == "pos":
            with pytest.raises(ValueError, match="cannot tell which of the labels"):
                make(folder, device="cpu")
        else:
            assert make(folder, device="cpu").positive == [1]


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(KeyError, match="registered names are current, lookahead, vader") as error:
        make("lookahaed")
    assert str(error.value).startswith("unknown reward model 'lookahaed':")  # no quotes around the whole message


def test_a_missing_model_folder_is_named_as_a_folder(tmp_path):
    with pytest.raises(reward_models.UnknownRewardModel, match=re.escape(f"no reward model folder at {tmp_path / 'predictor'}:")):
        make(tmp_path / "predictor")
    with pytest.raises(reward_models.UnknownRewardModel, match="no reward model folder at runs/nope/predictor:"):
        make("runs/nope/predictor")


def test_vader_prefers_warm_words():
    vader = make("vader")
    happy, sad = vader(["", ""], ["I am so happy for you, congratulations!", "This is the worst day of my life."])
    assert 0.5 < happy <= 1 and 0 <= sad < 0.5


def test_vader_reads_emoji_and_scores_non_english_text_as_neutral():
    vader = make("vader")
    happy_faces, sad_faces = ["😀", "🎉", "😀 see you soon"], ["😢", "😿", "😢 see you soon"]
    happy, sad = vader([""] * 3, happy_faces), vader([""] * 3, sad_faces)
    # VADER looks emoji up by their English names ("grinning face", "crying face")
    assert (happy > 0.5).all() and (sad < 0.5).all()
    # its lexicon is English only: other languages find no word in it and score as empty text
    foreign = ["Mon chat est malade", "Je suis très heureux", "Ich bin so glücklich", "我很高兴"]
    assert vader([""] * 5, foreign + [""]).tolist() == [0.5] * 5


def test_plain_callable_registers_and_scores():
    register("length", lambda users, responses: [len(r) / 100 for r in responses], overwrite=True)
    assert "length" in registered()
    assert make("length")(["", ""], ["abc", ""]).tolist() == pytest.approx([0.03, 0.0])
    with pytest.raises(ValueError, match="already registered"):
        register("length", lambda users, responses: [0.0] * len(responses))


def test_what_would_only_fail_at_the_first_score_is_refused_when_registered_or_made(monkeypatch, tmp_path):
    from reward_models.vader import VaderReward

    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    with pytest.raises(TypeError, match=r"^register\('alias', \.\.\.\) was given str 'current': give a RewardModel or a callable"):
        register("alias", "current")
    for call in (lambda: register("v", VaderReward), lambda: make(VaderReward)):
        with pytest.raises(TypeError, match=r"was given the class VaderReward: give an instance, VaderReward\(\), or factory=VaderReward$"):
            call()
    assert "alias" not in registered() and "v" not in registered()
    register("v", factory=VaderReward)  # what the message offers works
    assert make("v")([""], ["great!"]).item() > 0.5
    monkeypatch.chdir(tmp_path)  # as a path "" is the working directory, which must not be loaded as a model
    for blank in ("", "  "):
        with pytest.raises(reward_models.UnknownRewardModel, match="^an empty reward model name: registered names are"):
            make(blank)


def test_every_reward_model_accepts_a_device_and_refuses_other_keywords(tiny_bert, monkeypatch):
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))  # forget the registrations below afterwards

    def mine(users, responses):
        return [0.5] * len(responses)

    instance = make(mine)
    devices = []

    def on_device(device="auto"):
        devices.append(device)
        return instance

    register("mine", mine)
    register("on_device", factory=on_device)
    for spec in ("vader", "mine", mine, instance, tiny_bert):
        assert make(spec, device="cpu")([""], ["good"]).shape == (1,)
    assert make(instance, device="cpu") is instance
    assert make("on_device", device="cpu") is instance and devices == ["cpu"]

    named = {"vader": "vader", "mine": "mine", mine: "mine", "current": "current", tiny_bert: str(tiny_bert)}
    for spec, name in named.items():
        with pytest.raises(TypeError, match=rf"reward model '{re.escape(name)}' takes no keyword colour; it takes: "):
            make(spec, device="cpu", colour="blue")
    with pytest.raises(TypeError, match=r"takes no keyword colour; it takes: batch_size, device, input, max_length, name"):
        make("current", colour="blue")


@pytest.mark.parametrize(
    "output, message",
    [
        ([math.nan, 0.5], r"'broken' returned NaN or infinite scores \(first at pairs \[0\]\)"),
        ([0.5, math.inf], r"'broken' returned NaN or infinite scores \(first at pairs \[1\]\)"),
        ([0.5], r"'broken' returned shape \(1,\) for 2 pairs"),
        ([[0.5, 0.5]], r"'broken' returned shape \(1, 2\) for 2 pairs"),
        (["good", "bad"], r"'broken' returned list of str, not numbers"),
        (["0.5", "1e3"], r"'broken' returned list of str, not numbers"),
        ([0.5, "1"], r"'broken' returned list of str, not numbers"),
        ([0.5, None], r"'broken' returned list of NoneType, float, not numbers"),
        ([[0.5], [0.5, 0.2]], r"'broken' returned list, not numbers: setting an array element with a sequence"),
    ],
)
def test_bad_plugin_output_names_the_plugin(output, message):
    def broken(users, responses):
        return output

    with pytest.raises(RewardModelError, match=message):
        make(broken)(["", ""], ["a", "b"])


def test_failing_plugin_is_named():
    def crashes(users, responses):
        raise RuntimeError("GPU on fire")

    with pytest.raises(RewardModelError, match="'crashes' failed: RuntimeError: GPU on fire"):
        make(crashes)(["a"], ["b"])


def test_mismatched_batch_is_refused():
    with pytest.raises(ValueError, match="2 user turns but 1 responses"):
        make("vader")(["a", "b"], ["c"])


def test_package_exports():
    assert set(reward_models.__all__) >= {"make", "register", "registered", "RewardModel"}


def test_fine_tuning_starts_from_full_precision_weights_of_a_half_precision_encoder(tiny_bert, tmp_path, monkeypatch):
    half = tmp_path / "half"
    BertForSequenceClassification.from_pretrained(tiny_bert).half().save_pretrained(half)
    monkeypatch.setattr(training, "encoder_path", lambda: half)
    assert {p.dtype for p in training.new_model(lora_rank=0).parameters()} == {torch.float32}
    assert {p.dtype for p in training.new_model(lora_rank=2).parameters()} == {torch.float32}


def test_quieting_transformers_for_a_load_leaves_its_progress_bars_as_they_were():
    from transformers.utils import logging as hf_logging

    from reward_models.bert import quiet_transformers

    try:
        for enabled in (False, True):  # off: train.py --quiet, whose bars must stay off after each model load
            (hf_logging.enable_progress_bar if enabled else hf_logging.disable_progress_bar)()
            with quiet_transformers():
                assert not hf_logging.is_progress_bar_enabled()
            assert hf_logging.is_progress_bar_enabled() == enabled
    finally:
        hf_logging.enable_progress_bar()


def test_scores_that_carry_a_graph_are_detached():
    """A plugin wrapping a torch module without no_grad: its graph would reach the agent's rewards, and
    Gymnasium's ArrayConversion (numpy for the vector env) cannot export such a tensor."""
    weight = torch.ones(1, requires_grad=True)
    scores = make(lambda users, responses: weight * torch.full((len(users),), 0.5))(["hi"], ["hello"])
    assert not scores.requires_grad and scores.tolist() == [0.5]


def test_check_spec_accepts_what_make_builds_by_name_or_folder_and_refuses_the_rest(tiny_bert):
    assert reward_models.check_spec("vader") == "vader" and reward_models.check_spec(str(tiny_bert)) == str(tiny_bert)
    with pytest.raises(reward_models.UnknownRewardModel, match="unknown reward model 'nosuch': registered names are .*lookahead"):
        reward_models.check_spec("nosuch")
    with pytest.raises(reward_models.UnknownRewardModel, match="an empty reward model name"):
        reward_models.check_spec(" ")  # as a path, it would be the working directory
