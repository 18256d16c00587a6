from .free_points_months_compute import CRMFreePointsMonthsCompute
from .paid_points_issue import CRMPaidPointsIssue
from .points_adjust import CRMPointsAdjust
from .points_redeem import CRMPointsRedeem
from .rank_pin import CRMRankPin
from .rank_settings_save import CRMRankSettingsSave

__all__ = [
    "CRMFreePointsMonthsCompute",
    "CRMPaidPointsIssue",
    "CRMPointsAdjust",
    "CRMPointsRedeem",
    "CRMRankPin",
    "CRMRankSettingsSave",
]
