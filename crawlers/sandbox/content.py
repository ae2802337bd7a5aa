"""What the sandbox's posts say and show: texts and images that carry emotion signal, noisily.

Interface used by ``world.py`` and ``flickr_world.py`` (keep it stable):

  ``make_text(label, rng) -> str``                  a title for a post of that emotion
  ``make_image(label, rng, size) -> PIL.Image``     an RGB picture for a post of that emotion
  ``make_description(label, rng) -> str``           a Flickr description (``flickr_world.py``)

Both are deterministic given the ``random.Random`` they receive, and cover every class of
``REDDIT_CLASSES`` and ``FLICKR_CLASSES``.

Why the noise. The demo must show, measured and not asserted, what the paper reports: fusion
beats either modality alone, and common space fusion holds up better than joint fusion when a
modality is missing. That needs two modalities that are each informative but unreliable, and
unreliable *independently*, so that one often rescues the other:

- A text is a social-media title from templates, with class words (``CLASS_WORDS``) among
  neutral ones (``NEUTRAL_WORDS``). Some titles say nothing (``TEXT_UNINFORMATIVE``), some
  read like the class's text partner (``TEXT_PARTNER``, ``TEXT_MIXED``: "creepy doll as a
  birthday present", ``WORD_SLIP``), a few are about any other class (``TEXT_OTHER_CLASS``).
- An image has the class's palette, brightness, saturation, texture and shapes
  (``IMAGE_PROFILES``, in the spirit of Machajdik and Hanbury 2010, so that the
  ``color_stats`` features see them), jittered per image; some images look like the class's
  image partner or halfway to it (``IMAGE_PARTNER``, ``IMAGE_BLEND``), a few like any other
  class (``IMAGE_OTHER_CLASS``), and some carry no emotion at all (``IMAGE_UNINFORMATIVE``: a
  screenshot of text).
- Text and image partners differ (``TEXT_PARTNERS``, ``IMAGE_PARTNERS``): the pairs of
  emotions one modality confuses, the other tells apart. That is what makes fusion gain 10 to
  20 points over either modality in the demo.

The text and the image of a post draw their noise from the same ``rng`` but independently, so
image and text disagree on some posts. ``docs/demo-data.md`` has the accuracies these settings
give with the six real models (``benchmarks/demo_signal.py``); ``tests/test_content.py`` checks
that each modality is informative but not perfect and that combining them helps.
"""

from __future__ import annotations

import colorsys
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from emofuse.schema import FLICKR_CLASSES, REDDIT_CLASSES

ALL_CLASSES = sorted(set(REDDIT_CLASSES) | set(FLICKR_CLASSES))

# -- text ------------------------------------------------------------------------------------

CLASS_WORDS: dict[str, list[str]] = {
    "joy": "happy smiling sunny wonderful celebrating delighted grateful laughing blessed "
    "finally love proud hugs birthday wedding puppy cheerful best smile sunshine".split(),
    "fear": "creepy dark scary haunted shadow terrifying abandoned eerie nightmare chills "
    "ghost lurking basement whisper alone midnight footsteps stared doll fog".split(),
    "anger": "furious annoying rage unbelievable stupid angry hate ruined idiot worst "
    "scream sick tired broken refund parking neighbour blocked liar unacceptable".split(),
    "disgust": "gross rotten disgusting nasty infected wound vile maggots mold sewage "
    "pus vomit slimy stench decay festering bloody fungus cockroach greasy".split(),
    "amusement": "funny hilarious lol silly goofy joke prank derp clown giggle "
    "ridiculous meme cartoon costume pun comedy wacky laughs tickle".split(),
    "awe": "majestic breathtaking vast towering epic stunning galaxy cathedral canyon "
    "sublime immense glacier aurora cliffs summit starry infinite grand".split(),
    "contentment": "peaceful calm cozy relaxing quiet gentle garden tea afternoon "
    "serene meadow lazy warm blanket slow stroll pond content".split(),
    "excitement": "amazing thrilling wow race fireworks concert adrenaline fast "
    "festival jump crowd victory rollercoaster speed wild neon party".split(),
    "sadness": "sad lonely grief miss tears rainy goodbye lost empty funeral "
    "memorial heartbroken grey farewell sorrow mourning wilted".split(),
}
# Words that say nothing about the emotion: they dilute every text.
NEUTRAL_WORDS = (
    "photo picture today yesterday this that my our the old new little big first last "
    "day night street city house car dog cat friend family trip weekend morning evening "
    "view window road park beach winter summer spring autumn shot camera phone".split()
)
# Social-media title shapes: {c} is a class word, {n} a neutral word.
TEMPLATES = [
    "{c} {n} I saw {n}",
    "My {n} was so {c}",
    "This {n} is {c}",
    "{c} {c} {n}",
    "When your {n} gets {c}",
    "Found this {c} {n} on my {n}",
    "[OC] {c} {n} from {n}",
    "So {c} right now",
    "The most {c} {n} ever",
    "Just a {c} {n}",
    "Took this {n}, {c} and {c}",
    "{n} {n} {c}",
    "Our {n} this {n} was {c}",
    "{c} {n} at the {n}",
]
MIXED_TEMPLATES = [t for t in TEMPLATES if t.count("{c}") >= 2]
UNINFORMATIVE_TITLES = [
    "Title says it all",
    "Saw this today",
    "[OC]",
    "No words",
    "This",
    "Thoughts?",
    "Just leaving this here",
    "Taken with my phone",
]
# Complementary confusions. Each emotion's title may read like its text partner's
# (``TEXT_PARTNERS``: close in how people write about them, or sarcasm), and its picture may
# look like its image partner's (``IMAGE_PARTNERS``: close in colour and texture). No two
# emotions are partners in both, so where one modality confuses a pair the other separates it:
# that is what lets fusion beat either modality by a wide margin, as in the paper.
# A partner outside the post's dataset (fear -> sadness on Reddit) acts as plain noise there.
TEXT_PARTNERS: dict[str, list[str]] = {
    "joy": ["anger"],  # sarcasm: "so happy they towed my car"
    "anger": ["disgust", "joy"],
    "disgust": ["fear", "anger"],
    "fear": ["disgust", "sadness"],
    "sadness": ["fear"],
    "awe": ["excitement"],
    "excitement": ["awe"],
    "amusement": ["contentment"],
    "contentment": ["amusement"],
}
IMAGE_PARTNERS: dict[str, list[str]] = {
    "joy": ["disgust"],  # warm yellow and olive
    "disgust": ["joy", "contentment"],
    "contentment": ["disgust"],
    "fear": ["anger"],  # dark and grainy
    "anger": ["fear"],
    "awe": ["sadness"],  # blue
    "sadness": ["awe"],
    "amusement": ["excitement"],  # bright pink and red
    "excitement": ["amusement"],
}

TEXT_UNINFORMATIVE = 0.10  # no class word at all
TEXT_OTHER_CLASS = 0.04  # about another class altogether (any class)
TEXT_PARTNER = 0.12  # every class word from the text partner
TEXT_MIXED = 0.12  # one class word from the text partner
WORD_SLIP = 0.05  # any class word from the text partner


def make_text(label: str, rng: random.Random) -> str:
    """A social-media title for a post labelled ``label``: informative, but not always."""
    roll = rng.random()
    if roll < TEXT_UNINFORMATIVE:
        if rng.random() < 0.5:
            return rng.choice(UNINFORMATIVE_TITLES)
        words = [rng.choice(NEUTRAL_WORDS) for _ in range(rng.randint(3, 7))]
        return _sentence(words)
    roll -= TEXT_UNINFORMATIVE
    other = None
    if roll < TEXT_OTHER_CLASS:
        label = _other_class(label, rng)
    elif roll < TEXT_OTHER_CLASS + TEXT_PARTNER:
        label = _partner(label, TEXT_PARTNERS, rng)
    elif roll < TEXT_OTHER_CLASS + TEXT_PARTNER + TEXT_MIXED:
        other = _partner(label, TEXT_PARTNERS, rng)
    template = rng.choice(MIXED_TEMPLATES if other else TEMPLATES)
    class_words_used = 0
    words = []
    for piece in template.split(" "):
        while "{c}" in piece:
            source = other if other and class_words_used == 1 else label
            if rng.random() < WORD_SLIP:
                source = _partner(source, TEXT_PARTNERS, rng)
            piece = piece.replace("{c}", rng.choice(_words_of(source)), 1)
            class_words_used += 1
        while "{n}" in piece:
            piece = piece.replace("{n}", rng.choice(NEUTRAL_WORDS), 1)
        words.append(piece)
    return _sentence(words)


# Flickr descriptions talk about the place and the camera; this share also speaks of the
# emotion. Raising it makes the Flickr text stronger, as in the paper (text 30 points above the
# image there); measured in a demo run (docs/demo-data.md), at 0.7 joint and common space
# fusion no longer beat the text alone on color_stats features, so the title carries it alone.
DESCRIPTION_INFORMATIVE = 0.0
DESCRIPTION_SHAPES = [
    "Shot on my {n} during a {n} {n}",
    "Taken from the {n} on a {n} {n}",
    "One of many from our {n} {n}",
    "Edited on my {n}, more from this {n} soon",
]


def make_description(label: str, rng: random.Random) -> str:
    """A Flickr-style description: of the place and camera, or (``DESCRIPTION_INFORMATIVE``)
    of the emotion, like a title (``make_text``)."""
    if rng.random() < DESCRIPTION_INFORMATIVE:
        return make_text(label, rng)
    shape = rng.choice(DESCRIPTION_SHAPES)
    while "{n}" in shape:
        shape = shape.replace("{n}", rng.choice(NEUTRAL_WORDS), 1)
    return shape


def _sentence(words: list[str]) -> str:
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _words_of(label: str) -> list[str]:
    return CLASS_WORDS.get(label, NEUTRAL_WORDS)


def _partner(label: str, partners: dict[str, list[str]], rng: random.Random) -> str:
    """The emotion ``label`` is confused with in one modality (itself if it has none)."""
    return rng.choice(partners.get(label, [label]))


def _other_class(label: str, rng: random.Random) -> str:
    """Another emotion of the same dataset (both datasets' for the classes they share)."""
    if label in REDDIT_CLASSES and label not in FLICKR_CLASSES:
        pool = REDDIT_CLASSES
    elif label in FLICKR_CLASSES and label not in REDDIT_CLASSES:
        pool = FLICKR_CLASSES
    else:
        pool = ALL_CLASSES
    return rng.choice([name for name in pool if name != label])


# -- images ----------------------------------------------------------------------------------

# hue (0-1), saturation, value (brightness), noise (texture, in grey levels), shapes
IMAGE_PROFILES: dict[str, dict] = {
    "joy": {"hue": 0.13, "sat": 0.75, "val": 0.85, "noise": 8, "shapes": "circles"},
    "amusement": {"hue": 0.88, "sat": 0.70, "val": 0.85, "noise": 10, "shapes": "dots"},
    "excitement": {"hue": 0.02, "sat": 0.85, "val": 0.75, "noise": 20, "shapes": "rays"},
    "contentment": {"hue": 0.30, "sat": 0.45, "val": 0.70, "noise": 6, "shapes": "circles"},
    "awe": {"hue": 0.62, "sat": 0.60, "val": 0.55, "noise": 8, "shapes": "skyline"},
    "sadness": {"hue": 0.58, "sat": 0.20, "val": 0.45, "noise": 6, "shapes": "rain"},
    "fear": {"hue": 0.50, "sat": 0.25, "val": 0.20, "noise": 22, "shapes": "rings"},
    "anger": {"hue": 0.99, "sat": 0.80, "val": 0.45, "noise": 24, "shapes": "shards"},
    "disgust": {"hue": 0.18, "sat": 0.55, "val": 0.40, "noise": 18, "shapes": "blotches"},
}
NEUTRAL_PROFILE = {"hue": 0.0, "sat": 0.0, "val": 0.9, "noise": 4, "shapes": "text"}
BLURRED_SHAPES = {"blotches", "rings", "skyline"}

IMAGE_UNINFORMATIVE = 0.05  # a screenshot of text: no emotion in the picture
IMAGE_OTHER_CLASS = 0.04  # shows another class (any class)
IMAGE_PARTNER = 0.12  # shows its image partner's look
IMAGE_BLEND = 0.25  # halfway between the class and its image partner
HUE_JITTER = 0.09
SV_JITTER = 0.16  # saturation and brightness jitter


def make_image(label: str, rng: random.Random, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """An RGB picture for a post labelled ``label``: its class's look, jittered and blended."""
    profile = _image_profile(label, rng)
    width, height = size
    hue = profile["hue"] + rng.gauss(0, HUE_JITTER)
    sat = profile["sat"] + rng.gauss(0, SV_JITTER)
    val = profile["val"] + rng.gauss(0, SV_JITTER)
    # background: a vertical gradient from the class colour to a darker or lighter variant
    top = np.array(_rgb(hue, sat, val), dtype=np.float32)
    bottom = np.array(
        _rgb(hue + rng.gauss(0, 0.05), sat * 0.8, val * rng.uniform(0.6, 1.1)), dtype=np.float32
    )
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = np.broadcast_to((1 - ramp) * top + ramp * bottom, (height, width, 3))
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    _draw_shapes(ImageDraw.Draw(image), profile["shapes"], hue, sat, val, size, rng)
    if profile["shapes"] in BLURRED_SHAPES:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    # texture: grey-level noise, stronger for the agitated classes
    noise_rng = np.random.default_rng(rng.getrandbits(32))
    amplitude = profile["noise"] * rng.uniform(0.5, 1.5)
    noisy = np.asarray(image, dtype=np.float32)
    noisy = noisy + noise_rng.normal(0.0, amplitude, (height, width, 1)).astype(np.float32)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8), "RGB")


def _image_profile(label: str, rng: random.Random) -> dict:
    """The look of this image: its class's, another class's, a blend of two, or none."""
    profile = dict(IMAGE_PROFILES.get(label, NEUTRAL_PROFILE))
    roll = rng.random()
    if roll < IMAGE_UNINFORMATIVE:
        return dict(NEUTRAL_PROFILE)
    roll -= IMAGE_UNINFORMATIVE
    if roll < IMAGE_OTHER_CLASS:
        return dict(IMAGE_PROFILES[_other_class(label, rng)])
    roll -= IMAGE_OTHER_CLASS
    if roll < IMAGE_PARTNER:
        return dict(IMAGE_PROFILES[_partner(label, IMAGE_PARTNERS, rng)])
    if roll < IMAGE_PARTNER + IMAGE_BLEND:
        other = IMAGE_PROFILES[_partner(label, IMAGE_PARTNERS, rng)]
        weight = rng.uniform(0.35, 0.65)
        for key in ("hue", "sat", "val", "noise"):
            profile[key] = (1 - weight) * profile[key] + weight * other[key]
        if rng.random() < weight:
            profile["shapes"] = other["shapes"]
    return profile


def _draw_shapes(
    draw: ImageDraw.ImageDraw,
    kind: str,
    hue: float,
    sat: float,
    val: float,
    size: tuple[int, int],
    rng: random.Random,
) -> None:
    width, height = size
    if kind == "text":  # lines of "text" on a plain background: a screenshot
        for row in range(10, height - 10, 12):
            draw.rectangle((10, row, rng.randint(width // 3, width - 10), row + 5), fill=(40,) * 3)
        return
    for _ in range(rng.randint(3, 8)):
        colour = _rgb(hue + rng.gauss(0, 0.12), sat + rng.gauss(0, 0.2), val + rng.gauss(0, 0.25))
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randint(5, width // 4)
        if kind == "circles":
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
        elif kind == "dots":
            r = max(3, radius // 3)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif kind == "rays":
            draw.line((width // 2, height // 2, x, y), fill=colour, width=rng.randint(2, 6))
        elif kind == "rain":
            draw.line((x, 0, x + rng.randint(-10, 10), height), fill=colour, width=1)
        elif kind == "shards":
            corners = [(rng.randrange(width), rng.randrange(height)) for _ in range(3)]
            draw.polygon(corners, fill=colour)
        elif kind == "blotches":
            draw.ellipse((x - radius, y - radius // 2, x + radius, y + radius // 2), fill=colour)
        elif kind == "skyline":
            draw.rectangle((x, height - radius, x + radius // 2, height), fill=colour)
        elif kind == "rings":
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=2)


def _rgb(hue: float, sat: float, val: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(
        hue % 1.0, min(max(sat, 0.0), 1.0), min(max(val, 0.0), 1.0)
    )
    return int(red * 255), int(green * 255), int(blue * 255)
