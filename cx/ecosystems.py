"""The 14 industrial ecosystems of the EU industrial strategy, and the scheme's activities.

Each ecosystem carries a small vocabulary of its technologies and value chains; the demo writes
organisation profiles from it, and people recognise their own field in it when they filter.
Other names of the ecosystems and of the organisation kinds (those EU documents use) are data:
`data/rules/aliases.csv`, with the source of each.
"""

from functools import lru_cache

import pandas as pd

from cx import DATA_DIR

ALIASES_FILE = DATA_DIR / "rules" / "aliases.csv"

ECOSYSTEMS: dict[str, list[str]] = {
    "Aerospace & Defence": [
        "aircraft components", "satellite data services", "drones", "composite materials",
        "avionics", "space technologies", "maintenance repair and overhaul", "additive manufacturing",
    ],
    "Agri-food": [
        "precision farming", "food processing", "dairy", "aquaculture", "wine making",
        "short supply chains", "food safety", "alternative proteins", "agricultural machinery",
    ],
    "Construction": [
        "energy-efficient buildings", "building information modelling", "timber construction",
        "renovation wave", "prefabrication", "smart buildings", "sustainable building materials",
    ],
    "Cultural & Creative Industries": [
        "design", "video games", "audiovisual production", "fashion design", "architecture",
        "music industry", "immersive media", "crafts",
    ],
    "Digital": [
        "artificial intelligence", "cybersecurity", "cloud computing", "data analytics",
        "internet of things", "digital twins", "software development", "blockchain", "high performance computing",
    ],
    "Electronics": [
        "microelectronics", "semiconductors", "photonics", "sensors", "printed electronics",
        "embedded systems", "power electronics",
    ],
    "Energy-Intensive Industries": [
        "steel", "chemicals", "ceramics", "glass", "cement", "pulp and paper", "industrial decarbonisation",
        "plastics recycling",
    ],
    "Energy – Renewables": [
        "solar photovoltaics", "wind energy", "hydrogen", "energy storage", "biomass", "geothermal",
        "smart grids", "heat pumps",
    ],
    "Health": [
        "medical devices", "biotechnology", "pharmaceuticals", "digital health", "diagnostics",
        "active and healthy ageing", "life sciences",
    ],
    "Mobility – Transport – Automotive": [
        "electric vehicles", "battery systems", "automotive suppliers", "logistics", "rail",
        "maritime transport", "connected and automated driving", "charging infrastructure",
    ],
    "Proximity, Social Economy & Civil Security": [
        "social enterprises", "civil protection", "local services", "cooperatives",
        "security technologies", "community energy",
    ],
    "Retail": [
        "e-commerce", "omnichannel retail", "retail logistics", "customer experience", "circular retail",
    ],
    "Textile": [
        "technical textiles", "smart textiles", "textile recycling", "sustainable fashion",
        "leather and footwear", "functional fabrics",
    ],
    "Tourism": [
        "sustainable tourism", "hospitality", "cultural heritage", "outdoor and nature tourism",
        "health and wellness tourism", "digital tourism services",
    ],
}

ACTIVITIES = (
    "capacity building",
    "sharing knowledge, experience and information",
    "project development, innovation and R&D",
    "market research",
    "networking, finding partners and business opportunities",
)

# What visitors come to do: the scheme's objectives, in the words profiles are written in.
OBJECTIVES = (
    "learn from another cluster's management practice",
    "explore new markets",
    "adopt digital technologies",
    "adopt green and low-carbon technologies",
    "build strategic interregional collaboration",
    "consolidate European value chains",
    "find partners for joint projects",
)


@lru_cache(maxsize=None)
def aliases(field: str) -> dict[str, str]:
    """Other names of the ecosystems (`field="ecosystem"`) or organisation kinds (`"kind"`), each
    with the name cx stores it under."""
    table = pd.read_csv(ALIASES_FILE, dtype=str)
    table = table[table["field"] == field]
    return dict(zip(table["alias"], table["canonical"]))
