"""The brake on ``kubeuser apply --prune``: a prune that would revoke many users at once is refused.

A users file that lost most of its users (a bad merge, a templating bug, the wrong file) plus
``--prune`` would otherwise revoke everyone who is missing. So a prune that would revoke more than
half of the active users in the registry — or more than ``--max-prune N`` when given — is refused
(exit 2, nothing changed) unless ``--allow-mass-prune`` confirms it. ``--max-prune`` only tightens
the limit; ``--allow-mass-prune`` is the one way past it. (An empty users file is refused earlier,
by :mod:`kubeuser.usersfile`.)
"""

from __future__ import annotations

from dataclasses import dataclass

from kubeuser.errors import UsageError

CONFIRM_FLAG = "--allow-mass-prune"
LIMIT_FLAG = "--max-prune"


@dataclass(frozen=True)
class PruneCheck:
    revoke: int  # users the prune would revoke
    active: int  # active users in the registry (the ones a prune could revoke, and the ones it keeps)
    max_prune: int | None = None
    confirmed: bool = False

    @property
    def limit(self) -> int:
        """The most users a prune may revoke without confirmation."""
        half = self.active // 2  # "more than half" is refused: 2 of 4 passes, 3 of 4 and 3 of 5 do not
        return half if self.max_prune is None else min(half, self.max_prune)

    @property
    def over_limit(self) -> bool:
        return self.revoke > self.limit

    @property
    def refused(self) -> bool:
        return self.over_limit and not self.confirmed

    def why(self) -> str:
        """``more than half`` / ``more than --max-prune 2``: the limits crossed."""
        crossed = []
        if self.revoke > self.active // 2:
            crossed.append("more than half")
        if self.max_prune is not None and self.revoke > self.max_prune:
            crossed.append(f"more than {LIMIT_FLAG} {self.max_prune}")
        return " and ".join(crossed) or "within the limit"

    def summary(self) -> str:
        return f"--prune would revoke {self.revoke} of {self.active} active user(s), {self.why()}"

    def error(self, file: str) -> UsageError:
        return UsageError(
            f"{self.summary()}: refused, nothing was changed",
            hint=f"check that {file} declares everyone who keeps access (`--dry-run` lists who would be revoked); "
            f"to revoke them anyway, pass {CONFIRM_FLAG}",
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "revoke": self.revoke,
            "active": self.active,
            "limit": self.limit,
            "maxPrune": self.max_prune,
            "confirmed": self.confirmed,
            "refused": self.refused,
        }


def check(revoke: int, active: int, *, max_prune: int | None = None, confirmed: bool = False) -> PruneCheck:
    if max_prune is not None and max_prune < 0:
        raise UsageError(f"{LIMIT_FLAG} must not be negative, got {max_prune}", hint=f"e.g. {LIMIT_FLAG} 5")
    return PruneCheck(revoke, active, max_prune, confirmed)
