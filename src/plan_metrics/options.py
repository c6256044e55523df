"""Run options that change numbers (the analyst's parameters), with the design's defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import PlanMetricsError


@dataclass(frozen=True)
class Options:
    """min_n: primary suppression under this many people; protection: the narrowest range, in
    people, an attacker may narrow a hidden count to (DESIGN.md section 6); cell_size / n_size: the risk-ratio
    minimum event count and enrollment (34 CFR 300.647); chronic_threshold: the chronic-absence
    share; rr_flag_high/low and gap_flag_points: equity-review flags."""
    min_n: int = 10
    protection: int = 5
    cell_size: int = 10
    n_size: int = 30
    chronic_threshold: float = 0.10
    rr_flag_high: float = 2.0
    rr_flag_low: float = 0.5
    gap_flag_points: float = 10.0

    def __post_init__(self):
        for name in ("min_n", "protection", "cell_size", "n_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise PlanMetricsError(f"Parameter {name} must be a whole number of at least 1, "
                                       f"not {v!r}", f"parameter {name}",
                                       f"set {name} to e.g. {getattr(Options, name)}")
        if not 0 < self.chronic_threshold < 1:
            raise PlanMetricsError(f"chronic_threshold must be a share between 0 and 1, not "
                                   f"{self.chronic_threshold!r}", "parameter chronic_threshold",
                                   "use e.g. 0.10 for 10%")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> "Options":
        """Options from a parameter dict, ignoring keys that are not options."""
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in params.items() if k in fields and v is not None})
