"""What Saleor Dashboard is told about the CRM pages: one App and its extensions (pure data).

The host creates them (`Host.ensure_dashboard_app`): inside Saleor an App of type THIRDPARTY
whose `app_url` is our dashboard path, with `AppExtension` rows (Dashboard wants `mount` and
`target` in lower case). A page's URL is relative to `app_url`; a widget's and a popup's are
absolute.
"""

from dataclasses import dataclass, field
from urllib.parse import urlparse

from ..host import MANAGE_ORDERS, MANAGE_PLUGINS, MANAGE_USERS
from .views import PAGES, POPUPS

APP_IDENTIFIER = "saleor.crm.dashboard"
# Not "CRM": Dashboard lists the App beside the plugin (whose settings are "CRM") under
# Extensions > Installed, and two entries of one name leave admins guessing which is which.
APP_NAME = "CRM pages"
DASHBOARD_PATH = "/plugins/global/saleor.crm/dashboard"


@dataclass(frozen=True)
class Extension:
    identifier: str
    label: str
    mount: str
    target: str
    url: str  # relative to the app's URL for pages, absolute for widgets and popups
    permissions: tuple[str, ...] = (MANAGE_USERS,)
    settings: dict = field(default_factory=dict)


def app_url(base_url: str) -> str:
    """The App's URL from the store's public address (`https://shop.example.com`)."""
    parsed = urlparse(str(base_url or "").strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"'{base_url}' is not the store's address, e.g. https://shop.example.com")
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path.rstrip('/')}{DASHBOARD_PATH}"


def extensions(url: str) -> list[Extension]:
    """The navigation pages under Customers, the widget on every customer's page, the popup
    in a customer's "more actions" menu, and the package inserts widget on every order's
    page."""
    found = [
        Extension(
            f"crm-{page}",
            f"CRM · {page.capitalize()}",
            "navigation_customers",
            "app_page",
            f"/{page}",
            # saving the rank table writes the plugin's settings, as Saleor's form does
            (MANAGE_USERS, MANAGE_PLUGINS) if page == "loyalty" else (MANAGE_USERS,),
        )
        for page in PAGES
    ]
    found.append(
        Extension(
            "crm-customer-widget",
            "CRM",
            "customer_details_widgets",
            "widget",
            f"{url}/widget/customer",
            settings={"widgetTarget": {"method": "POST"}},
        )
    )
    found.extend(
        Extension(
            f"crm-customer-{popup}",
            "CRM: adjust points or pin a rank",
            "customer_details_more_actions",
            "popup",
            # absolute, as the widget's: Saleor joins a popup's relative URL to the App's path
            # with urljoin, which drops its last segment (`/actions` became
            # `…/saleor.crm/actions`, found in Dashboard 3.23.27)
            f"{url}/{popup}",
        )
        for popup in POPUPS
    )
    found.append(
        Extension(
            "crm-order-widget",
            "CRM: package inserts",
            "order_details_widgets",
            "widget",
            f"{url}/widget/order",
            (MANAGE_ORDERS,),
            settings={"widgetTarget": {"method": "POST"}},
        )
    )
    return found
