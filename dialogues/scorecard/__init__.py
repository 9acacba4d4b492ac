"""The community scorecard: the citizen's survey in chat (`survey`), the CAF's rounds in chat
(`rounds_chat`), storage that protects respondents (`store`, `models`), scoring rounds and the
summaries sent when one closes (`rounds`), result computations shared with the dashboard
(`results`), exports (`export`, `xlsform`). The `isafbot rounds|results|facilities` commands
are bot/cli/scorecard.py; the content is `content/surveys/section.py`.
"""
