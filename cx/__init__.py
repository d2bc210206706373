"""cx: analytics and matchmaking for ClusterXchange, the EU scheme that pays short stays of
cluster actors at a host organisation in another eligible European country."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
