"""sml: a workbench for social meta-learning (teacher/student sessions with enforced visibility)."""

import os

__version__ = "0.1.0"

# litellm downloads its price map at import time unless told otherwise; this machine (and many
# research clusters) have no internet, so the bundled map is the default. Users can still opt out.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
