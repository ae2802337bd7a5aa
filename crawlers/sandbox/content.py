"""What the sandbox's posts say and show, per emotion label (a simple first version).

Interface used by ``world.py`` (keep it stable):
  ``make_text(label, rng) -> str`` a post title for that emotion
  ``make_image(label, rng, size) -> PIL.Image.Image`` an RGB picture for that emotion
Both are deterministic given the ``random.Random`` they receive.
"""

import random

from PIL import Image, ImageDraw

_WORDS: dict[str, list[str]] = {
    "joy": ["happy", "smiling", "sunny", "wonderful", "celebrating", "delighted", "friends"],
    "fear": ["creepy", "dark", "scary", "haunted", "shadow", "terrifying", "abandoned"],
    "anger": ["furious", "annoying", "rage", "unbelievable", "stupid", "broken", "angry"],
    "disgust": ["gross", "rotten", "disgusting", "nasty", "infected", "wound", "vile"],
}
_FILLER = ["this", "is", "the", "most", "picture", "I", "have", "ever", "seen", "today", "my"]
# A base colour per label so images differ by class (later versions carry a real signal).
_COLOURS: dict[str, tuple[int, int, int]] = {
    "joy": (240, 200, 60),
    "fear": (30, 30, 60),
    "anger": (200, 40, 30),
    "disgust": (90, 120, 40),
}


def make_text(label: str, rng: random.Random) -> str:
    """A short English title (6 to 12 words) mixing the label's words with filler."""
    words = _WORDS.get(label, _FILLER)
    count = rng.randint(6, 12)
    picked = [
        rng.choice(words) if rng.random() < 0.4 else rng.choice(_FILLER) for _ in range(count)
    ]
    return " ".join(picked).capitalize()


def make_image(label: str, rng: random.Random, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """An RGB image: the label's base colour with a few random shapes on it."""
    base = _COLOURS.get(label, (128, 128, 128))
    jitter = tuple(max(0, min(255, c + rng.randint(-30, 30))) for c in base)
    image = Image.new("RGB", size, jitter)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 6)):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randint(5, size[0] // 2), y0 + rng.randint(5, size[1] // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x0, y0, x1, y1), fill=colour)
    return image
