"""The unsubscribe page a campaign email links to (`campaigns/unsubscribe/<token>`).

GET shows the customer what the link does and a button (link scanners and mail previews
fetch links, so a GET never unsubscribes); POST unsubscribes. A POST whose body is
`List-Unsubscribe=One-Click` is the RFC 8058 one-click request a mail client sends for the
`List-Unsubscribe-Post` header; both are recorded as the customer's consent change.
"""

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from ..host import get_host
from .services import CampaignError, read_token, unsubscribe

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.5rem 1rem}}</style></head><body><h1>{title}</h1>{body}</body></html>
"""


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(
        _PAGE.format(title=escape(title), body=body),
        status=status,
        content_type="text/html; charset=utf-8",
    )


@csrf_exempt
def unsubscribe_view(request, token: str):
    host = get_host()
    with host.database_access():
        try:
            read_token(token)
        except CampaignError as error:
            return _page("Unsubscribe", f"<p>{escape(error.message)}</p>", status=400)
        if request.method == "GET":
            return _page(
                "Unsubscribe",
                '<p>Stop receiving marketing messages from this store?</p><form method="post">'
                '<button type="submit" name="confirm" value="1">Unsubscribe</button></form>',
            )
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        try:
            unsubscribe(
                token, "one_click" if one_click else "link", timezone.now(), host.config(), host
            )
        except CampaignError as error:
            return HttpResponseBadRequest(error.message)
    return _page("Unsubscribed", "<p>You will receive no more marketing messages from us.</p>")
