import torch

from happybot_env.tokenizer import load_tokenizer, uncut_ids
from reward_models.inputs import build_inputs, cut_ids, pad_token_lists

TOKENIZER = load_tokenizer()
SPECIAL = {"cls_id": TOKENIZER.cls_token_id, "sep_id": TOKENIZER.sep_token_id, "pad_id": TOKENIZER.pad_token_id}


def _ids(texts):
    return pad_token_lists(uncut_ids(texts, TOKENIZER), TOKENIZER.pad_token_id)


def test_pairs_match_the_tokenizers_own_pair_encoding():
    users = ["I lost my job today.", "", "hello there, how are you doing this fine morning?"]
    responses = ["I'm so sorry.", "hi", ""]
    built = build_inputs(_ids(users), _ids(responses), max_length=128, **SPECIAL)
    reference = TOKENIZER(users, responses, padding=True, return_tensors="pt")
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert torch.equal(built[key], reference[key]), key


def test_single_texts_match_the_tokenizer():
    texts = ["What a lovely day!", "ok", ""]
    built = build_inputs(None, _ids(texts), max_length=128, **SPECIAL)
    reference = TOKENIZER(texts, padding=True, return_tensors="pt")
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert torch.equal(built[key], reference[key]), key


def test_long_user_turn_keeps_its_end_and_the_response_keeps_its_start():
    user = " ".join(f"u{i}" for i in range(100))
    response = " ".join(f"r{i}" for i in range(100))
    built = build_inputs(_ids([user]), _ids([response]), max_length=32, **SPECIAL)
    text = TOKENIZER.decode(built["input_ids"][0])
    assert built["input_ids"].shape == (1, 32)
    user_part, response_part = text.removeprefix("[CLS] ").removesuffix(" [SEP]").split(" [SEP] ")
    assert user_part.replace(" ", "").endswith("u99") and not user_part.replace(" ", "").startswith("u0")
    assert response_part.replace(" ", "").startswith("r0r1")
    assert built["attention_mask"].all()


def test_short_user_turn_leaves_the_room_to_the_response():
    response = " ".join(["word"] * 50)
    built = build_inputs(_ids(["hi"]), _ids([response]), max_length=32, **SPECIAL)
    assert TOKENIZER.decode(built["input_ids"][0]).startswith("[CLS] hi [SEP] word")
    assert (built["input_ids"][0] == TOKENIZER.convert_tokens_to_ids("word")).sum() == 32 - 4


def test_cut_ids_cuts_as_build_inputs_does():
    users = [list(range(100, 100 + n)) for n in (0, 3, 20, 40, 7)]
    responses = [list(range(200, 200 + n)) for n in (50, 0, 4, 40, 9)]
    cut_users, cut_responses = cut_ids(users, responses, 32 - 3)
    assert cut_users[2] == users[2][-20:] and cut_responses[2] == responses[2]  # short response: the user takes the rest
    assert cut_users[3] == users[3][-15:] and cut_responses[3] == responses[3][:14]  # both long: the response gets half
    assert cut_users[0] == [] and cut_responses[0] == responses[0][:29]
    expected = build_inputs(pad_token_lists(users, 0), pad_token_lists(responses, 0), max_length=32, cls_id=1, sep_id=2, pad_id=0)
    already_cut = build_inputs(
        pad_token_lists(cut_users, 0), pad_token_lists(cut_responses, 0), max_length=32, cls_id=1, sep_id=2, pad_id=0
    )
    for key in expected:
        assert torch.equal(expected[key], already_cut[key]), key


def test_cut_ids_without_user_turns_keeps_the_first_ids_of_each_text():
    users, texts = cut_ids(None, [list(range(10)), [7]], 4)
    assert users == [[], []] and texts == [[0, 1, 2, 3], [7]]
