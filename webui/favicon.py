"""The app's favicon, drawn here: a material or emoji icon would make the browser fetch it from the internet."""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw

SIZE = 64
BACKGROUND = (21, 101, 192, 255)  # the timeline's failover blue: recshelf's colour
FOREGROUND = (255, 255, 255, 255)


@functools.cache
def favicon() -> Image.Image:
    """A rounded square with a play triangle (served by Streamlit itself, like any st.image)."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((2, 2, SIZE - 3, SIZE - 3), radius=12, fill=BACKGROUND)
    draw.polygon([(24, 16), (24, 48), (48, 32)], fill=FOREGROUND)
    return image
