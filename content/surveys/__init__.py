"""Scorecard surveys and facilities (surveys/*.yml, surveys/facilities/) and their loader
(`section`)."""
