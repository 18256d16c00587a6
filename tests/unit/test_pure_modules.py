"""The pure cores import no Django: each is loaded in a fresh interpreter and checked."""

import subprocess
import sys

import pytest

PURE = [
    "saleor_crm_plugin.analytics.clv",
    "saleor_crm_plugin.analytics.lifetime",
    "saleor_crm_plugin.analytics.reports",
    "saleor_crm_plugin.analytics.baskets",
    "saleor_crm_plugin.analytics.recommend",
    "saleor_crm_plugin.segments.rfm",
    "saleor_crm_plugin.segments.bins",
    "saleor_crm_plugin.campaigns.control",
    "saleor_crm_plugin.campaigns.schedule",
    "saleor_crm_plugin.campaigns.flows",
    "saleor_crm_plugin.campaigns.signing",
    "saleor_crm_plugin.campaigns.inserts",
    "saleor_crm_plugin.loyalty.point_reports",
    "saleor_crm_plugin.customers.duplicates",
    "saleor_crm_plugin.customers.merging",
    "saleor_crm_plugin.history.replay",
    "saleor_crm_plugin.imports.files",
]


@pytest.mark.parametrize("module", PURE, ids=[name.rsplit(".", 1)[1] for name in PURE])
def test_a_pure_core_imports_no_django(module):
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, our code)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
