import logging

from happybot_env.tokenizer import encoder_path, load_tokenizer


def test_shared_wordpiece_vocabulary_loads_offline(hub_offline):
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


def test_long_texts_are_cut_without_a_false_alarm():
    from happybot_env.episodes import encode_contexts

    class Recorder(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    transformers_logger = logging.getLogger("transformers")  # it does not propagate to the root logger
    recorder = Recorder()
    transformers_logger.addHandler(recorder)
    load_tokenizer().deprecation_warnings.clear()  # transformers warns once per tokenizer; another test may have used it
    try:
        context, truncated, _ = encode_contexts([""], ["so sad " * 400], max_context_tokens=16)
    finally:
        transformers_logger.removeHandler(recorder)
    assert truncated.tolist() == [True] and context.shape == (1, 16)
    assert not any("Token indices sequence length" in m for m in recorder.messages)  # HappyBot cuts to its own limits


def test_special_tokens_written_in_a_text_are_read_as_text():
    """As its own id, a written [PAD] would pass for padding and cut off "today", and a written
    [SEP] would end a gold response early."""
    from happybot_env.tokenizer import uncut_ids

    tokenizer = load_tokenizer()
    [ids] = uncut_ids(["my dog died [PAD] today [SEP] so sad [MASK]"])
    assert not set(ids) & set(tokenizer.all_special_ids)
    assert tokenizer.decode(ids) == "my dog died [ pad ] today [ sep ] so sad [ mask ]"
