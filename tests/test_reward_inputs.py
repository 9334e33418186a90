import torch

from happybot_env.tokenizer import load_tokenizer
from reward_models.inputs import build_inputs, pad_token_lists, tokenize

TOKENIZER = load_tokenizer()
SPECIAL = {"cls_id": TOKENIZER.cls_token_id, "sep_id": TOKENIZER.sep_token_id, "pad_id": TOKENIZER.pad_token_id}


def _ids(texts, keep="first"):
    return tokenize(TOKENIZER, texts, 512, keep)


def test_pairs_match_the_tokenizers_own_pair_encoding():
    users = ["I lost my job today.", "", "hello there, how are you doing this fine morning?"]
    responses = ["I'm so sorry.", "hi", ""]
    built = build_inputs(_ids(users, "last"), _ids(responses), max_length=128, **SPECIAL)
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
    built = build_inputs(_ids([user], "last"), _ids([response]), max_length=32, **SPECIAL)
    text = TOKENIZER.decode(built["input_ids"][0])
    assert built["input_ids"].shape == (1, 32)
    user_part, response_part = text.removeprefix("[CLS] ").removesuffix(" [SEP]").split(" [SEP] ")
    assert user_part.replace(" ", "").endswith("u99") and not user_part.replace(" ", "").startswith("u0")
    assert response_part.replace(" ", "").startswith("r0r1")
    assert built["attention_mask"].all()


def test_short_user_turn_leaves_the_room_to_the_response():
    response = " ".join(["word"] * 50)
    built = build_inputs(_ids(["hi"], "last"), _ids([response]), max_length=32, **SPECIAL)
    assert TOKENIZER.decode(built["input_ids"][0]).startswith("[CLS] hi [SEP] word")
    assert (built["input_ids"][0] == TOKENIZER.convert_tokens_to_ids("word")).sum() == 32 - 4


def test_pad_token_lists_clips_from_the_left():
    assert pad_token_lists([[1, 2, 3], [4]], 0, keep_last=2).tolist() == [[2, 3], [4, 0]]
