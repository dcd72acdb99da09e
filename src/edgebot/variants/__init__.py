"""Variants: named prompt templates and models with a traffic split, shadow runs and promotion."""

from edgebot.variants.store import DEFAULT, Variant, VariantStore, assign

__all__ = ["DEFAULT", "Variant", "VariantStore", "assign"]
