"""plan-metrics: measures of success of a school district's strategic plan, computed per school year."""

__version__ = "0.1.0"
