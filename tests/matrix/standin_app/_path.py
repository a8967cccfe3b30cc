"""The suite's checkout on the import path: the scripts run from anywhere, like a user's own."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
