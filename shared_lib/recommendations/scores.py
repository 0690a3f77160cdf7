"""What a recommendation is worth: the weights both the recompute and the ranking use."""

from __future__ import annotations

TOP_K = 20  # suggestions kept per user and kind

# The order the product wants: followed channels, then the categories you watch, then
# co-viewing, then what is popular.
SCORES = {"follow": 1000.0, "category": 300.0, "coview": 100.0, "fof": 25.0, "popular": 10.0,
          "similar": 1000.0}
