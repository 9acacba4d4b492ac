"""Step-by-step forms (forms/*.yml) and their loader (`section`)."""
