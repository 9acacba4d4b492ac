"""The scorecard cycle around a round (issue 16): issues proposed by citizens before scoring,
custom indicators, the discussion of each indicator after close, and the Joint Accountability
Action Plan (JAAP) followed to done."""
