"""The spin-out stages, in the order an organisation goes through them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    EXPLORING = "exploring"
    OPTIONS_APPRAISAL = "options-appraisal"
    BUSINESS_CASE = "business-case"
    PARENT_BODY_APPROVAL = "parent-body-approval"
    LEGAL_SET_UP = "legal-set-up"
    TUPE_PENSIONS = "tupe-pensions"
    GO_LIVE = "go-live"
    FIRST_RE_TENDER = "first-re-tender"
    GROWING = "growing"


@dataclass(frozen=True)
class StageInfo:
    stage: Stage
    label: str
    question: str  # what a newcomer at this stage is asking

    @property
    def slug(self) -> str:
        return self.stage.value


STAGES: tuple[StageInfo, ...] = (
    StageInfo(Stage.EXPLORING, "Exploring",
              "Is a mutual right for our service, and who do we need on side?"),
    StageInfo(Stage.OPTIONS_APPRAISAL, "Options appraisal",
              "Which delivery models are really open to us, and how do we compare them fairly?"),
    StageInfo(Stage.BUSINESS_CASE, "Business case",
              "Can the mutual stand on its own feet, and how do we show it?"),
    StageInfo(Stage.PARENT_BODY_APPROVAL, "Parent-body approval",
              "How do we get councillors, the trust board and senior officers to say yes?"),
    StageInfo(Stage.LEGAL_SET_UP, "Legal set-up",
              "Which legal form, what governance, and what goes in the contract?"),
    StageInfo(Stage.TUPE_PENSIONS, "TUPE & pensions",
              "How do staff move across with their terms and pensions protected?"),
    StageInfo(Stage.GO_LIVE, "Go-live",
              "What has to be in place on day one, from payroll to insurance?"),
    StageInfo(Stage.FIRST_RE_TENDER, "First re-tender",
              "How do we win the contract again when it goes out to the market?"),
    StageInfo(Stage.GROWING, "Growing",
              "How do we win new work and stop depending on one contract?"),
)
STAGE_LABELS: dict[str, str] = {info.slug: info.label for info in STAGES}
STAGE_ORDER: dict[str, int] = {info.slug: position for position, info in enumerate(STAGES)}
