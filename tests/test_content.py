"""The sandbox content carries emotion signal in text and image: informative, noisy, complementary.

Measured here with the project's own ``color_stats`` features and scikit-learn logistic
regression on bag-of-words (quick stand-ins for the benchmark's models): each modality alone is
well above chance but far from perfect, and combining them beats both.
"""

import io
import random

import numpy as np
import pytest
from PIL import Image
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from emofuse.benchmark.features import color_statistics
from emofuse.crawlers.sandbox import content
from emofuse.schema import FLICKR_CLASSES, REDDIT_CLASSES


def _posts(classes: list[str], per_class: int, seed: int):
    """Texts, color_stats vectors of the JPEG-compressed images, and labels."""
    rng = random.Random(seed)
    texts, vectors, labels = [], [], []
    for label in classes * per_class:
        texts.append(content.make_text(label, rng))
        image = content.make_image(label, random.Random(rng.getrandbits(32)))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)  # what the crawler stores
        vectors.append(color_statistics(np.asarray(Image.open(buffer).convert("RGB"))))
        labels.append(classes.index(label))
    return texts, np.array(vectors), np.array(labels)


def _accuracies(classes: list[str], per_class: int, seed: int) -> dict[str, float]:
    texts, vectors, labels = _posts(classes, per_class, seed)
    order = np.random.default_rng(seed).permutation(len(labels))
    test, train = order[: len(order) // 4], order[len(order) // 4 :]
    scaled = StandardScaler().fit(vectors[train]).transform(vectors)
    words = CountVectorizer().fit([texts[i] for i in train])
    bags = words.transform(texts)
    image = LogisticRegression(max_iter=3000).fit(scaled[train], labels[train])
    text = LogisticRegression(max_iter=3000).fit(bags[train], labels[train])
    p_image = image.predict_proba(scaled[test])
    p_text = text.predict_proba(bags[test])

    def accuracy(probs: np.ndarray) -> float:
        return float((probs.argmax(1) == labels[test]).mean())

    return {
        "image": accuracy(p_image),
        "text": accuracy(p_text),
        "late_fusion": accuracy(p_image * p_text),
        "chance": 1 / len(classes),
    }


@pytest.mark.parametrize(
    "classes, per_class", [(REDDIT_CLASSES, 250), (FLICKR_CLASSES, 90)], ids=["reddit", "flickr"]
)
def test_each_modality_is_informative_but_not_perfect_and_fusion_helps(classes, per_class):
    scores = _accuracies(classes, per_class, seed=3)
    for modality in ("image", "text"):
        assert scores[modality] > scores["chance"] + 0.2, scores
        assert scores[modality] < 0.9, scores
    # complementary confusions: fusion gains a lot (13 to 15 points at seeds 3 and 4), not a
    # little
    assert scores["late_fusion"] > max(scores["image"], scores["text"]) + 0.08, scores


def test_deterministic_given_the_rng():
    first = (
        content.make_text("fear", random.Random(5)),
        content.make_image("fear", random.Random(5)),
    )
    again = (
        content.make_text("fear", random.Random(5)),
        content.make_image("fear", random.Random(5)),
    )
    assert first[0] == again[0]
    assert first[1].tobytes() == again[1].tobytes()


@pytest.mark.parametrize("label", sorted(set(REDDIT_CLASSES) | set(FLICKR_CLASSES)))
def test_every_class_has_text_and_images(label):
    rng = random.Random(label)
    texts = [content.make_text(label, rng) for _ in range(200)]
    assert all(text.strip() for text in texts)
    own_words = set(content.CLASS_WORDS[label])
    with_own_word = sum(any(w.strip(",") in own_words for w in t.lower().split()) for t in texts)
    # most titles use the class's words; some say nothing or speak of another class
    assert 0.5 < with_own_word / len(texts) < 0.95
    image = content.make_image(label, rng, size=(100, 80))
    assert image.mode == "RGB" and image.size == (100, 80)


def test_some_posts_disagree_or_say_nothing():
    """Uninformative texts and images exist: the cases where the other modality must decide."""
    rng = random.Random(11)
    texts = [content.make_text("joy", rng) for _ in range(400)]
    all_class_words = {w for words in content.CLASS_WORDS.values() for w in words}
    silent = [
        t for t in texts if not any(w.strip(",") in all_class_words for w in t.lower().split())
    ]
    assert 0.05 < len(silent) / len(texts) < 0.25
    other = set(content.CLASS_WORDS["anger"]) | set(content.CLASS_WORDS["fear"])
    assert any(any(w in other for w in t.lower().split()) for t in texts)


def test_images_are_not_near_duplicates():
    """Curation drops near-duplicate images (pHash distance <= 6): generated ones must differ."""
    import imagehash

    rng = random.Random(2)
    hashes = [
        imagehash.phash(content.make_image(label, random.Random(rng.getrandbits(32))))
        for label in REDDIT_CLASSES * 40
    ]
    bits = np.array([h.hash.ravel() for h in hashes])
    distances = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    np.fill_diagonal(distances, 64)
    assert distances.min() > 6


def test_flickr_descriptions_follow_their_knob(monkeypatch):
    rng = random.Random(4)
    class_words = {w for words in content.CLASS_WORDS.values() for w in words}

    def share_with_class_words() -> float:
        texts = [content.make_description("awe", rng) for _ in range(200)]
        return sum(any(w.strip(",") in class_words for w in t.lower().split()) for t in texts) / 200

    monkeypatch.setattr(content, "DESCRIPTION_INFORMATIVE", 0.0)
    assert share_with_class_words() == 0.0
    monkeypatch.setattr(content, "DESCRIPTION_INFORMATIVE", 1.0)
    assert share_with_class_words() > 0.8


def test_text_and_image_confuse_different_pairs():
    """Where the title confuses two emotions the picture tells them apart, and vice versa."""
    text_pairs = {frozenset((a, b)) for a, bs in content.TEXT_PARTNERS.items() for b in bs}
    image_pairs = {frozenset((a, b)) for a, bs in content.IMAGE_PARTNERS.items() for b in bs}
    assert text_pairs and image_pairs and not text_pairs & image_pairs
    for label in content.ALL_CLASSES:
        assert label in content.TEXT_PARTNERS and label in content.IMAGE_PARTNERS


def test_a_partner_look_is_the_partners_own():
    """A picture confused with its image partner has that partner's colour statistics: the
    image alone cannot tell the pair apart, which is what the text is for."""
    rng = random.Random(9)

    def mean_hue_features(label: str, knob: str, value: float) -> np.ndarray:
        saved = getattr(content, knob)
        setattr(content, knob, value)
        try:
            images = [content.make_image(label, rng, (80, 60)) for _ in range(30)]
        finally:
            setattr(content, knob, saved)
        return np.mean([color_statistics(np.asarray(image)) for image in images], axis=0)

    joy_as_partner = mean_hue_features("joy", "IMAGE_PARTNER", 1.0)
    disgust = mean_hue_features("disgust", "IMAGE_PARTNER", 0.0)
    joy = mean_hue_features("joy", "IMAGE_PARTNER", 0.0)
    assert np.linalg.norm(joy_as_partner - disgust) < np.linalg.norm(joy_as_partner - joy)
