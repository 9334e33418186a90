"""The trained artifacts shipped inside the package: ``current`` and ``lookahead`` work offline,
out of the box, and rank obvious cases the right way round."""

import json

import pytest

import reward_models
from reward_models.registry import ARTIFACTS


@pytest.fixture(autouse=True)
def offline(hub_offline):
    """Every test here runs with the Hub unreachable: the artifacts must load from the package alone."""


def test_current_scores_congratulations_above_despair():
    current = reward_models.make("current", device="cpu")
    happy, sad = current(["", ""], ["I am so happy for you, congratulations!", "This is the worst day of my life."])
    assert happy > 0.5 > sad


def test_lookahead_prefers_a_warm_relevant_reply_to_a_sad_user():
    lookahead = reward_models.make("lookahead", device="cpu")
    user = "My grandmother passed away last night and I can't stop crying."
    warm = "I'm so sorry for your loss. She must have meant the world to you. I'm here if you want to talk."
    dismissive = "Whatever, that happens. Anyway, what did you eat for lunch?"
    warm_score, dismissive_score = lookahead([user, user], [warm, dismissive])
    assert warm_score > dismissive_score


@pytest.mark.parametrize("name", ["current", "lookahead"])
def test_artifacts_are_small_safetensors_with_their_provenance(name):
    folder = ARTIFACTS / name
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 5_000_000
    assert (folder / "adapter_model.safetensors").is_file()
    metadata = json.loads((folder / "happybot.json").read_text())
    assert metadata["input"] == ("response" if name == "current" else "pair")
    assert metadata["accuracy"] and metadata["data"]["train"] and metadata["licences"]


def test_lookahead_carries_the_licences_of_the_classifier_whose_labels_it_learned():
    # its labels came from the fully fine-tuned classifier, trained on the data `current` was
    current, lookahead = (reward_models.make(name, device="cpu") for name in ("current", "lookahead"))
    assert "SST-2: no licence stated by its authors" in lookahead.licences
    assert set(current.licences) <= set(lookahead.licences)
