from happybot_env.tokenizer import encoder_path, load_tokenizer


def test_shared_wordpiece_vocabulary_loads_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    load_tokenizer.cache_clear()
    tokenizer = load_tokenizer()
    assert tokenizer.vocab_size == 30522
    assert (tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id) == (0, 101, 102)
    ids = tokenizer("I am SO happy for you!")["input_ids"]
    assert ids[0] == 101 and ids[-1] == 102
    assert tokenizer.decode(ids[1:-1]) == "i am so happy for you!"  # uncased
    assert load_tokenizer() is tokenizer  # one instance shared by every part of the product
    assert tokenizer.decode(tokenizer("I'm fine, don't worry.", add_special_tokens=False)["input_ids"]) == "i'm fine, don't worry."


def test_encoder_folder_holds_weights_and_vocabulary():
    folder = encoder_path()
    assert (folder / "vocab.txt").is_file() and (folder / "model.safetensors").is_file()
