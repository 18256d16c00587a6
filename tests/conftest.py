import os

try:
    from hypothesis import settings
except ImportError:  # the real-Saleor run (tests/saleor) does not need hypothesis
    settings = None

if settings is not None:
    settings.register_profile("default", max_examples=60)
    settings.register_profile("thorough", max_examples=1000)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
