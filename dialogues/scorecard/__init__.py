"""The community scorecard: storage that protects respondents (`store`), scoring rounds and the
summaries sent when one closes (`rounds`), result computations shared with the dashboard
(`results`), exports (`export`) and the `isafbot rounds|results|facilities` commands (`cli`).

The chat side is `dialogues/survey.py`; the content is `content/sections/surveys.py`.
"""
