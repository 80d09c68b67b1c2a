"""The Gradio web UI of policy-rag (``rag ui``): layout in ``ui.app``, plain handlers in ``ui.handlers``.

Importing ``ui`` switches Gradio's analytics off (``GRADIO_ANALYTICS_ENABLED=False``) before any
module of this package imports gradio, so that no request leaves the machine. ``rag`` itself never
imports this package or gradio.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
