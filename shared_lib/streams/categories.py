"""The fixed list of stream categories: slug (what the API takes) and name (what people read)."""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "just-chatting": "Just Chatting",
    "gaming": "Gaming",
    "music": "Music",
    "art": "Art",
    "science-technology": "Science & Technology",
    "software-development": "Software Development",
    "education": "Education",
    "sports": "Sports",
    "food-drink": "Food & Drink",
    "travel-outdoors": "Travel & Outdoors",
    "talk-shows": "Talk Shows & Podcasts",
    "special-events": "Special Events",
}


def category_name(slug: str | None) -> str | None:
    return CATEGORIES.get(slug) if slug else None
