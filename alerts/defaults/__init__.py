"""Shipped defaults: targets.yaml, rules.yaml and the rule pack's tests (package data)."""
