"""The six models: shapes, which posts each can score, max-pooling fusion, the auxiliary loss of
eqs. 13-14 against hand-computed values, late fusion as a product of probabilities."""

import math

import pytest
import torch

from emofuse.models import (
    MODELS,
    PAPER_DEFAULTS,
    CommonSpace,
    JointFusion,
    LateFusion,
    common_space_aux_loss,
    defaults_for,
)
from emofuse.models.fusion import TextEncoder, masked_pool, sample_negatives

N_CLASSES, IMAGE_DIM, VOCAB, TEXT_DIM = 4, 12, 30, 8


def make(name: str, **kwargs):
    torch.manual_seed(0)
    options = dict(vocab_size=VOCAB, text_dim=TEXT_DIM, hidden_dim=6, dropout=0.0) | kwargs
    return MODELS[name](N_CLASSES, IMAGE_DIM, **options).eval()


def batch(size: int = 5):
    generator = torch.Generator().manual_seed(1)
    image = torch.randn(size, IMAGE_DIM, generator=generator)
    text = torch.randint(1, VOCAB, (size, 7), generator=generator)
    text[0, 3:] = 0  # a shorter text, padded
    return image, text


def test_registry_names_match_the_contract():
    assert list(MODELS) == [
        "image",
        "text",
        "late_fusion",
        "early_fusion",
        "joint_fusion",
        "common_space",
    ]


def test_paper_table3_defaults():
    for name, g in (("reddit", 3), ("flickr", 4)):
        values = PAPER_DEFAULTS[name]
        assert values["embedding_dim"] == 200
        assert values["hidden_dim"] == 100
        assert values["negatives"] == g
        assert values["main_weight"] == 3
        assert values["aggregation"] == "max" and values["fusion"] == "max"
        assert values["dropout"] == 0.25 and values["lr"] == 0.01
    assert defaults_for("flickr-2024")["negatives"] == 4
    assert defaults_for("some-new-source")["negatives"] == 3


@pytest.mark.parametrize("name", list(MODELS))
def test_output_shape_with_word_ids_and_dense_text(name):
    image, text = batch()
    assert make(name)(image, text).shape == (5, N_CLASSES)
    dense = make(name, vocab_size=None, text_dim=16)
    assert dense(image, torch.randn(5, 16)).shape == (5, N_CLASSES)


def test_can_score_follows_the_modalities_each_model_needs():
    has_image = torch.tensor([True, True, False, False])
    has_text = torch.tensor([True, False, True, False])
    expected = {
        "image": [True, True, False, False],
        "text": [True, False, True, False],
        "late_fusion": [True, False, False, False],
        "early_fusion": [True, False, False, False],
        "joint_fusion": [True, True, True, False],
        "common_space": [True, True, True, False],
    }
    for name, row in expected.items():
        assert MODELS[name].can_score(has_image, has_text).tolist() == row, name


def test_text_encoder_max_and_mean_ignore_padding():
    encoder = TextEncoder(5, 2, aggregation="max", dropout=0.0)
    with torch.no_grad():
        encoder.embedding.weight.copy_(
            torch.tensor([[0.0, 0.0], [1.0, -5.0], [-2.0, 3.0], [9.0, 9.0], [0.5, 0.5]])
        )
    ids = torch.tensor([[1, 2, 0], [0, 0, 0]])
    # padding (id 0) would otherwise win the max in the second component: [1, 3] not [1, 3]/0
    assert encoder(ids).tolist() == [[1.0, 3.0], [0.0, 0.0]]
    encoder.aggregation = "mean"
    assert encoder(ids).tolist() == [[-0.5, -1.0], [0.0, 0.0]]


def _transparent_joint(fusion: str = "max") -> JointFusion:
    """A joint model whose layers after the fusion are the identity, to read the fused vector."""
    model = JointFusion(3, 2, vocab_size=4, text_dim=3, hidden_dim=3, dropout=0.0, fusion=fusion)
    with torch.no_grad():
        model.image_projection.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        model.image_projection.bias.zero_()
        model.text_encoder.embedding.weight.copy_(
            torch.tensor([[0, 0, 0], [5.0, -1.0, 0.0], [0.0, 0.0, 7.0], [0.0, 0.0, 0.0]])
        )
        for layer in (model.hidden, model.classifier):
            layer.weight.copy_(torch.eye(3))
            layer.bias.zero_()
    return model.eval()


def test_joint_fusion_max_pools_projected_image_and_text_component_wise():
    model = _transparent_joint("max")
    image = torch.tensor([[1.0, 2.0]])  # projected: [1, 2, 3]
    text = torch.tensor([[1]])  # psi: [5, -1, 0]
    assert model(image, text).tolist() == [[5.0, 2.0, 3.0]]
    # either modality may be absent: the pooled vector is then the other one
    assert model(image, None).tolist() == [[1.0, 2.0, 3.0]]
    assert model(None, text).tolist() == [[5.0, -1.0, 0.0]]
    masked = model(image, text, image_mask=torch.tensor([False]))
    assert masked.tolist() == [[5.0, -1.0, 0.0]]
    mean = _transparent_joint("mean")
    assert mean(image, text).tolist() == [[3.0, 0.5, 1.5]]


def test_masked_pool_of_nothing_is_zero_not_minus_infinity():
    vectors = torch.randn(2, 2, 3)
    mask = torch.tensor([[False, False], [True, False]])
    pooled = masked_pool(vectors, mask, "max")
    assert pooled[0].tolist() == [0.0, 0.0, 0.0]
    assert torch.equal(pooled[1], vectors[1, 0])


def test_auxiliary_loss_equals_eq13_by_hand():
    image = torch.tensor([[0.0, 0.0]])
    positive = torch.tensor([[3.0, 4.0]])  # d+ = 5
    negatives = torch.tensor([[[0.0, 1.0], [6.0, 8.0]]])  # d- = 1 and 10
    # eq. 13: -sum_j log(e^-d+ / (e^-d+ + e^-d-_j))
    by_hand = -math.log(math.exp(-5) / (math.exp(-5) + math.exp(-1))) - math.log(
        math.exp(-5) / (math.exp(-5) + math.exp(-10))
    )
    assert by_hand == pytest.approx(4.0248653, abs=1e-6)
    loss = common_space_aux_loss(image, positive, negatives)
    assert loss.item() == pytest.approx(by_hand, abs=1e-5)


def test_common_space_loss_is_lambda_nll_plus_auxiliary_eq14():
    model = CommonSpace(
        2, 2, vocab_size=3, text_dim=2, hidden_dim=2, dropout=0.0, negatives=2, main_weight=3.0
    )
    with torch.no_grad():
        model.image_projection.weight.copy_(torch.eye(2))
        model.image_projection.bias.zero_()
        model.text_encoder.embedding.weight.copy_(torch.tensor([[0.0, 0.0], [3.0, 4.0], [0, 1]]))
        for layer in (model.hidden, model.classifier):
            layer.weight.copy_(torch.eye(2))
            layer.bias.zero_()
    model.eval()
    image = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    text = torch.tensor([[1], [2]])  # psi: [3, 4] and [0, 1]
    labels = torch.tensor([0, 1])
    # with two posts of different classes, each one's negatives (g = 2) are the other's text
    loss = model.loss(image, text, labels, generator=torch.Generator().manual_seed(0))
    pooled = torch.tensor([[3.0, 4.0], [0.0, 1.0]])  # max(0, psi)
    nll = (
        -(
            math.log(math.exp(3) / (math.exp(3) + math.exp(4)))
            + math.log(math.exp(1) / (math.exp(0) + math.exp(1)))
        )
        / 2
    )
    assert float(torch.nn.functional.cross_entropy(pooled, labels)) == pytest.approx(nll)
    # post 0: d+ = 5, d- = 1 (twice); post 1: d+ = 1, d- = 5 (twice)
    aux = (2 * math.log(1 + math.exp(5 - 1)) + 2 * math.log(1 + math.exp(1 - 5))) / 2
    assert loss.item() == pytest.approx(3.0 * nll + aux, abs=1e-5)


def test_negative_samples_come_from_other_classes_with_text():
    labels = torch.tensor([0, 0, 1, 2, 1])
    has_text = torch.tensor([True, True, True, False, True])
    anchors = torch.arange(5)
    rows, picks = sample_negatives(labels, has_text, anchors, 6, torch.Generator().manual_seed(0))
    assert rows.tolist() == [0, 1, 2, 3, 4]
    assert picks.shape == (5, 6)
    for row, chosen in zip(rows.tolist(), picks.tolist(), strict=True):
        for other in chosen:
            assert labels[other] != labels[row] and has_text[other]


def test_late_fusion_is_the_product_of_the_two_classifiers_probabilities():
    model = make("late_fusion")
    assert isinstance(model, LateFusion)
    image, text = batch()
    p_image = torch.softmax(model.image_model(image), dim=1)
    p_text = torch.softmax(model.text_model(None, text), dim=1)
    product = p_image * p_text
    fused = torch.softmax(model(image, text), dim=1)
    assert torch.allclose(fused, product / product.sum(dim=1, keepdim=True), atol=1e-6)
    assert torch.equal(fused.argmax(dim=1), product.argmax(dim=1))


def test_single_modality_models_ignore_the_other_modality():
    image, text = batch()
    image_model, text_model = make("image"), make("text")
    assert torch.equal(image_model(image, text), image_model(image, None))
    assert torch.equal(text_model(image, text), text_model(None, text))
    with pytest.raises(ValueError):
        image_model(None, text)


def test_early_fusion_concatenates_then_two_linear_layers():
    model = make("early_fusion")
    assert model.hidden.in_features == IMAGE_DIM + TEXT_DIM
    assert model.hidden.out_features == 6 and model.classifier.out_features == N_CLASSES
    image, text = batch()
    psi = model.text_encoder(text)
    expected = model.classifier(model.hidden(torch.cat([image, psi], dim=1)))
    assert torch.allclose(model(image, text), expected)


def test_pretrained_embeddings_initialise_the_lookup():
    matrix = torch.randn(VOCAB, TEXT_DIM)
    matrix[0] = 0
    model = make("joint_fusion", embeddings=matrix)
    assert torch.equal(model.text_encoder.embedding.weight.detach(), matrix)
    with pytest.raises(ValueError):
        make("joint_fusion", embeddings=torch.randn(VOCAB, TEXT_DIM + 1))


def test_text_encoder_pools_words_like_a_padded_masked_pool():
    torch.manual_seed(0)
    encoder = TextEncoder(50, 6, dropout=0.0)
    ids = torch.randint(1, 50, (9, 7))
    ids[torch.rand(9, 7) < 0.4] = 0  # ragged texts, one maybe empty
    ids[3] = 0
    padded = encoder.embedding(ids)
    for how in ("max", "mean"):
        encoder.aggregation = how
        assert torch.allclose(encoder(ids), masked_pool(padded, ids != 0, how), atol=1e-6)
    assert not encoder(ids)[3].any()


def test_fast_dropout_is_inverted_dropout():
    from emofuse.models.fusion import FastDropout

    layer = FastDropout(0.25)
    x = torch.ones(200, 50)
    torch.manual_seed(0)
    out = layer(x)
    kept = out != 0
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / 0.75))
    assert 0.70 < kept.float().mean() < 0.80  # 10,000 draws: 0.75 with a std of 0.004
    assert torch.equal(layer.eval()(x), x)
    with pytest.raises(ValueError):
        FastDropout(1.0)


def test_text_encoder_max_pool_passes_the_gradient_to_the_padded_pools_words():
    """segment_reduce pooling: the same gradient as a padded masked max, empty texts zero."""
    torch.manual_seed(1)
    encoder = TextEncoder(40, 5, aggregation="max", dropout=0.0)
    ids = torch.randint(1, 40, (8, 6))
    ids[torch.rand(8, 6) < 0.3] = 0
    ids[2] = 0
    encoder(ids).pow(2).sum().backward()
    segment_grad = encoder.embedding.weight.grad.clone()
    encoder.embedding.weight.grad = None
    masked_pool(encoder.embedding(ids), ids != 0, "max").pow(2).sum().backward()
    assert torch.allclose(segment_grad, encoder.embedding.weight.grad, atol=1e-6)
    assert segment_grad[ids[ids != 0]].abs().sum() > 0
