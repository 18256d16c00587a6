import os

from hypothesis import settings

settings.register_profile("default", max_examples=60)
settings.register_profile("thorough", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
