import graphene
from django.utils import timezone

from ....conf import ConfigError
from ....host import MANAGE_PLUGINS
from ....loyalty.membership import RankInputError, save_rank_settings
from ...core.errors import require_permission
from ..types import CRMLoyaltyError, CRMRankSettings
from ..utils import SETTING_ARGUMENTS


class CRMRankSettingsSave(graphene.Mutation):
    """Save the rank table (the plugin's rank settings) after previewing it with crmRankPreview;
    every customer's rank is then reviewed under it in the background (MANAGE_PLUGINS, as
    Saleor's plugin settings; audited)."""

    rank_settings = graphene.Field(CRMRankSettings)
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        ranks = graphene.String(required=True, description="The ranks setting, one rank a line.")
        window = graphene.String(description="The window setting (default: keep it).")
        inactive_months = graphene.Int(description="The rank-down setting (default: keep it).")
        version = graphene.String(
            required=True,
            description="crmRankSettings.version when the draft was previewed: a table saved "
            "by someone else since is not overwritten (CONFLICT).",
        )

    @staticmethod
    def mutate(_root, info, ranks, version, window=None, inactive_months=None):
        requester = require_permission(info, MANAGE_PLUGINS)
        host = info.context.host
        try:
            config = save_rank_settings(
                host,
                ranks=ranks,
                window=window,
                inactive_months=inactive_months,
                version=version,
                actor=requester.actor,
                now=timezone.now(),
            )
        except ConfigError as error:
            return CRMRankSettingsSave(
                rank_settings=None,
                errors=[
                    CRMLoyaltyError(
                        field=SETTING_ARGUMENTS[error.field], message=error.message, code="invalid"
                    )
                ],
            )
        except RankInputError as error:
            return CRMRankSettingsSave(
                rank_settings=None,
                errors=[CRMLoyaltyError(field=error.field, message=error.message, code="conflict")],
            )
        return CRMRankSettingsSave(rank_settings=config, errors=[])
