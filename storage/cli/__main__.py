"""`python -m storage.cli`: the same app as the `recshelf` console script."""

from storage.cli import app

app()
