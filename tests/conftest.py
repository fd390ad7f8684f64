import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON_DIR = os.path.join(ROOT, "addon")
ADDON = os.path.join(ADDON_DIR, "cors_creds.py")
sys.path.insert(0, ADDON_DIR)
