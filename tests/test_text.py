"""Text: the social-media tokenizer, the train-only vocabulary, GloVe (the real 25-d Twitter
subset) and the frozen MiniLM sentence encoder (the real bundled model)."""

import numpy as np
import pytest
import torch

from emofuse.benchmark.text import MiniLMEncoder, TextVectorizer, load_glove, tokenize
from emofuse.errors import UserError


def glove_path(shared_data):
    return shared_data / "glove" / "glove.twitter.27B.25d.top12k.txt"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("SO Happy today", ["so", "happy", "today"]),
        ("look https://i.imgur.com/abc.jpg now", ["look", "<url>", "now"]),
        ("see www.example.com", ["see", "<url>"]),
        ("thanks @Bob_99 and u/some-one", ["thanks", "<user>", "and", "<user>"]),
        ("mail me at a@b.com", ["mail", "me", "at", "a", "b", "com"]),
        ("#Blessed #TBT day", ["#blessed", "#tbt", "day"]),
        ("I 😂😂 it ❤️", ["i", "😂", "😂", "it", "❤"]),
        ("flag 🇫🇷 ok", ["flag", "🇫🇷", "ok"]),
        ("why?!?!?! no...", ["why", "?!?", "no"]),
        ("nice :) or :-( <3", ["nice", ":)", "or", ":-(", "<3"]),
        ("don’t can't", ["don't", "can't"]),
        ("", []),
        (None, []),
    ],
)
def test_tokenize_social_media(text, tokens):
    assert tokenize(text) == tokens


def test_vocabulary_comes_from_the_training_texts_only():
    vectorizer = TextVectorizer().fit(["happy happy day", "sad day"])
    assert vectorizer.vocabulary_ == {"<pad>": 0, "day": 1, "happy": 2, "sad": 3}
    ids, lengths, has_text = vectorizer.transform(["sad unseen day", "unseen", "", "happy"])
    # unseen words are dropped; a text of unseen words is an all-padding row but still a text
    assert ids.tolist() == [[3, 1], [0, 0], [0, 0], [2, 0]]
    assert ids.dtype == torch.long
    assert lengths.tolist() == [2, 0, 0, 1]
    assert has_text.tolist() == [True, True, False, True]


def test_min_count_max_len_and_bigrams():
    vectorizer = TextVectorizer(min_count=2).fit(["a b", "a c", "a b"])
    assert set(vectorizer.vocabulary_) == {"<pad>", "a", "b"}
    short = TextVectorizer(max_len=2).fit(["one two three four"])
    ids, lengths, _ = short.transform(["one two three four"])
    assert lengths.tolist() == [2]
    bigrams = TextVectorizer(ngrams=2).fit(["so very happy"])
    assert {"so very", "very happy"} <= set(bigrams.vocabulary_)
    ids, lengths, _ = bigrams.transform(["very happy"])
    assert lengths.tolist() == [3]  # two words and their bigram
    with pytest.raises(UserError):
        TextVectorizer(ngrams=3).fit(["x"])


def test_load_glove_real_twitter_vectors(shared_data):
    path = glove_path(shared_data)
    vocabulary = {"<pad>": 0, "happy": 1, "#sad": 2, "zzqxj-not-a-word": 3, "the": 4}
    matrix, found = load_glove(path, vocabulary)
    assert matrix.shape == (5, 25) and matrix.dtype == np.float32
    assert found == 3  # happy, the, and #sad through 'sad'
    lines = {
        line.split(" ", 1)[0]: line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.split(" ", 1)[0] in ("happy", "sad", "the")
    }
    for token, row in (("happy", 1), ("sad", 2), ("the", 4)):
        expected = np.asarray(lines[token].split(" ")[1:], dtype=np.float32)
        assert np.array_equal(matrix[row], expected)
    assert not matrix[0].any()  # padding
    assert 0 < np.abs(matrix[3]).max() <= 0.1  # small random init for an unknown word


def test_load_glove_bad_input(tmp_path):
    with pytest.raises(UserError, match="GloVe file not found"):
        load_glove(tmp_path / "missing.txt", {"<pad>": 0})
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("a 0.1 0.2\nb 0.3\n", encoding="utf-8")
    with pytest.raises(UserError, match="expected 2"):
        load_glove(ragged, {"<pad>": 0, "b": 1})
    words = tmp_path / "words.txt"
    words.write_text("a x y\n", encoding="utf-8")
    with pytest.raises(UserError, match="not a GloVe line"):
        load_glove(words, {"<pad>": 0, "a": 1})


@pytest.fixture(scope="module")
def minilm():
    return MiniLMEncoder(device="cpu")


def test_minilm_sentence_vectors(minilm):
    texts = ["I am so happy today", "what a joyful wonderful day", "this is terrifying", ""]
    vectors = minilm.encode(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-4)
    assert not vectors[3].any()  # an empty text is masked by the caller, never encoded
    happy, joyful, scary = vectors[:3]
    assert happy @ joyful > happy @ scary
    # the same text alone (no batch padding) gives the same vector up to float rounding
    assert np.allclose(minilm.encode(["I am so happy today"])[0], happy, atol=1e-5)


def test_minilm_vectors_are_cached_per_text(tmp_path, minilm):
    cache = tmp_path / "minilm"
    texts = ["so happy", "so scared", "so happy", ""]
    first = MiniLMEncoder(cache_dir=cache)
    first._model = minilm._load()  # the same loaded model: loading it twice only costs time
    vectors = first.encode(texts)
    shards = list(cache.glob("shard-*.npz"))
    assert len(shards) == 1
    assert np.array_equal(vectors[0], vectors[2]) and not vectors[3].any()
    assert np.allclose(vectors[:2], minilm.encode(texts[:2]), atol=1e-5)
    # a second run reads the cache: nothing new is encoded, so no new shard is written
    again = MiniLMEncoder(cache_dir=cache).encode(texts)
    assert np.array_equal(again, vectors)
    assert len(list(cache.glob("shard-*.npz"))) == 1
