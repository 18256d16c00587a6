from .subscription_add_once import CRMSubscriptionAddOnce
from .subscription_cancel import CRMSubscriptionCancel
from .subscription_change_interval import CRMSubscriptionChangeInterval
from .subscription_create import CRMSubscriptionCreate
from .subscription_move_next import CRMSubscriptionMoveNext
from .subscription_pause import CRMSubscriptionPause
from .subscription_resume import CRMSubscriptionResume
from .subscription_retry_renewal import CRMSubscriptionRetryRenewal
from .subscription_set_address import CRMSubscriptionSetAddress
from .subscription_set_preferences import CRMSubscriptionSetPreferences
from .subscription_set_quantity import CRMSubscriptionSetQuantity
from .subscription_skip import CRMSubscriptionSkip
from .subscription_skip_failed import CRMSubscriptionSkipFailed
from .subscription_swap import CRMSubscriptionSwap
from .subscription_unskip import CRMSubscriptionUnskip

__all__ = [
    "CRMSubscriptionAddOnce",
    "CRMSubscriptionCancel",
    "CRMSubscriptionChangeInterval",
    "CRMSubscriptionCreate",
    "CRMSubscriptionMoveNext",
    "CRMSubscriptionPause",
    "CRMSubscriptionResume",
    "CRMSubscriptionRetryRenewal",
    "CRMSubscriptionSetAddress",
    "CRMSubscriptionSetPreferences",
    "CRMSubscriptionSetQuantity",
    "CRMSubscriptionSkip",
    "CRMSubscriptionSkipFailed",
    "CRMSubscriptionSwap",
    "CRMSubscriptionUnskip",
]
